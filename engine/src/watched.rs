//! Stats a file watcher vouches for, under `kbuild watch`: a stat taken in an earlier build of
//! the same process stays true until the watcher reports a change to the path, so a no-op
//! while watching stats nothing (Bazel and Buck2 keep a watcher for the same reason).
//!
//! What makes a remembered stat as good as a fresh one:
//! - every event is applied before the next build starts ([`Watched::settle`], called once
//!   the caller has synchronised with its watcher), and a lost event forgets everything;
//! - only what a watch can see is remembered: paths reached from the root without a symbolic
//!   link, files with one link (a write through another name outside the tree makes no event
//!   here), nothing under a directory created since the last settle (the watcher may not
//!   watch it yet);
//! - once a build writes into the tree (a rule runs, a product is put in place), it takes its
//!   stats afresh and remembers none: what it wrote reaches the watcher only later.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use rustc_hash::{FxHashMap, FxHashSet};

use crate::dirs::Found;

pub struct Watched {
    root: PathBuf,
    /// The root with every symbolic link resolved (`None` when it cannot be resolved): a
    /// directory whose resolved path is not the root's joined with its own name was reached
    /// through a link.
    real_root: Option<PathBuf>,
    /// Root-relative path → what `lstat` said (`None`: nothing there), in shards by the
    /// path's hash: both cores look paths up at once, and one lock would be one cache line
    /// that each lookup takes from the other core.
    seen: [RwLock<Shard>; SHARDS],
    state: Mutex<State>,
    /// Set once the current build wrote into the tree.
    wrote: AtomicBool,
    /// This build's stats: remembered ones used, and ones taken.
    recalled: AtomicU64,
    taken: AtomicU64,
}

const SHARDS: usize = 16;
type Shard = FxHashMap<Box<[u8]>, Option<Found>>;

#[derive(Default)]
struct State {
    /// Changes reported since the last settle: the path, and whether a whole tree below it
    /// may have changed (a directory created, removed or renamed).
    changed: Vec<(Box<[u8]>, bool)>,
    /// The watcher lost events since the last settle.
    lost: bool,
    /// Directories created or moved in before this build: nothing below them is remembered.
    young: FxHashSet<Box<[u8]>>,
    /// Every directory something remembered is below: a changed tree outside them (kbuild's
    /// own state, a stage) forgets nothing, without a look at every entry.
    holding: FxHashSet<Box<[u8]>>,
}

impl fmt::Debug for Watched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watched").field("root", &self.root).finish()
    }
}

impl Watched {
    /// An empty memory for the tree at `root`, as the watcher names it in its events.
    pub fn new(root: &Path) -> Watched {
        Watched {
            root: root.to_path_buf(),
            real_root: std::fs::canonicalize(root).ok(),
            seen: Default::default(),
            state: Mutex::new(State::default()),
            wrote: AtomicBool::new(false),
            recalled: AtomicU64::new(0),
            taken: AtomicU64::new(0),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The watcher reports a change to `path` (absolute, under the root as the watcher names
    /// it or as links resolve it, or relative to the root); `tree`: anything below it may
    /// have changed too. Applied at the next settle.
    pub fn changed(&self, path: &Path, tree: bool) {
        let rel = if path.is_relative() {
            Some(path)
        } else {
            path.strip_prefix(&self.root)
                .ok()
                .or_else(|| path.strip_prefix(self.real_root.as_ref()?).ok())
        };
        let mut state = self.state.lock().expect("watched lock");
        match rel {
            Some(rel) => {
                let rel = rel.as_os_str().as_encoded_bytes().into();
                state.changed.push((rel, tree));
            }
            // Outside the root: not a path anything here remembers, but a sign the watcher's
            // view is not what this expects.
            None => state.lost = true,
        }
    }

    /// The watcher lost events (its queue overflowed): anything may have changed.
    pub fn lost(&self) {
        self.state.lock().expect("watched lock").lost = true;
    }

    /// Starts a build: applies the changes reported since the last one. The caller has made
    /// sure the watcher delivered every event of a change made before this call.
    pub fn settle(&self) {
        self.wrote.store(false, Ordering::SeqCst);
        self.recalled.store(0, Ordering::Relaxed);
        self.taken.store(0, Ordering::Relaxed);
        let mut state = self.state.lock().expect("watched lock");
        let state = &mut *state;
        state.young.clear();
        if std::mem::take(&mut state.lost) {
            for shard in &self.seen {
                shard.write().expect("watched lock").clear();
            }
            state.holding.clear();
            state.changed.clear();
            return;
        }
        let mut trees = FxHashSet::default();
        for (path, tree) in std::mem::take(&mut state.changed) {
            self.shard(&path)
                .write()
                .expect("watched lock")
                .remove(&path);
            // Adding, removing or renaming an entry changes its directory's stat.
            let dir = parent(&path);
            self.shard(dir).write().expect("watched lock").remove(dir);
            if tree {
                state.young.insert(path.clone());
                if state.holding.contains(&path) {
                    trees.insert(path);
                }
            }
        }
        if !trees.is_empty() {
            for shard in &self.seen {
                let mut shard = shard.write().expect("watched lock");
                shard.retain(|path, _| !under_any(path, &trees));
            }
        }
    }

    /// How many stats of the tree this build had from memory, and how many it took.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.recalled.load(Ordering::Relaxed),
            self.taken.load(Ordering::Relaxed),
        )
    }

    /// The current build writes into the tree: from now on, no remembered stat is used.
    pub(crate) fn writes(&self) {
        self.wrote.store(true, Ordering::SeqCst);
    }

    /// What a stat of root-relative `rel` said, when it still holds; `Some(None)` when
    /// nothing was there.
    pub(crate) fn recall(&self, rel: &[u8]) -> Option<Option<Found>> {
        let found = if self.wrote.load(Ordering::Relaxed) {
            None
        } else {
            let shard = self.shard(rel).read().expect("watched lock");
            shard.get(rel).copied()
        };
        let counter = if found.is_some() {
            &self.recalled
        } else {
            &self.taken
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps what `lstat` of `rel` said, when the watcher would report its change: `links`
    /// is the file's link count, and `real` says the directory holding it was reached
    /// without a symbolic link.
    pub(crate) fn remember(&self, rel: &[u8], found: Option<Found>, links: u64, real: bool) {
        let one_name = found.is_none_or(|f| !f.is_file || links <= 1);
        if !real || !one_name || self.wrote.load(Ordering::Relaxed) {
            return;
        }
        let mut state = self.state.lock().expect("watched lock");
        if !state.young.is_empty() && under_any(rel, &state.young) {
            return;
        }
        let mut dir = parent(rel);
        while !state.holding.contains(dir) {
            state.holding.insert(dir.into());
            if dir.is_empty() {
                break;
            }
            dir = parent(dir);
        }
        let mut shard = self.shard(rel).write().expect("watched lock");
        shard.insert(rel.into(), found);
    }

    fn shard(&self, rel: &[u8]) -> &RwLock<Shard> {
        use std::hash::BuildHasher;
        let hash = rustc_hash::FxBuildHasher.hash_one(rel);
        // Bits that neither the table's bucket index (low) nor its tags (high) use.
        &self.seen[(hash >> 32) as usize % SHARDS]
    }

    /// Whether directory `abs`, named `rel` from the root, is reached without a symbolic
    /// link (one `realpath`; [`crate::Dirs`] asks once per directory it opens).
    pub(crate) fn is_real_dir(&self, abs: &Path, rel: &str) -> bool {
        let Some(real_root) = &self.real_root else {
            return false;
        };
        let expected = if rel.is_empty() {
            real_root.clone()
        } else {
            real_root.join(rel)
        };
        std::fs::canonicalize(abs).is_ok_and(|real| real == expected)
    }
}

/// The directory part of a root-relative path (empty for an entry of the root).
fn parent(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => &path[..i],
        None => b"",
    }
}

/// Whether `path` is one of `trees` or below one of them.
fn under_any(path: &[u8], trees: &FxHashSet<Box<[u8]>>) -> bool {
    if trees.contains(path) || trees.contains(&b""[..]) {
        return true;
    }
    path.iter()
        .enumerate()
        .filter(|(_, &b)| b == b'/')
        .any(|(i, _)| trees.contains(&path[..i]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Stat;

    fn found(size: u64) -> Option<Found> {
        Some(Found {
            stat: Stat {
                size,
                mtime_ns: 1,
                ctime_ns: 1,
                ino: 1,
            },
            is_file: true,
            is_dir: false,
            executable: false,
        })
    }

    #[test]
    fn a_change_forgets_the_path_its_directory_and_a_tree_below_it() {
        let w = Watched::new(Path::new("/p"));
        for path in ["a/b/c.txt", "a/b", "a", "a/bc", "x/y.txt"] {
            w.remember(path.as_bytes(), found(1), 1, true);
        }
        w.changed(Path::new("/p/a/b/c.txt"), false);
        w.settle();
        assert_eq!(w.recall(b"a/b/c.txt"), None);
        assert_eq!(w.recall(b"a/b"), None, "its directory");
        assert_eq!(w.recall(b"a"), Some(found(1)), "not the one above");
        w.remember(b"a/b/c.txt", found(2), 1, true);
        w.changed(Path::new("a/b"), true);
        w.settle();
        assert_eq!(w.recall(b"a/b/c.txt"), None, "below a changed tree");
        assert_eq!(
            w.recall(b"a/bc"),
            Some(found(1)),
            "a sibling with a longer name"
        );
        // Nothing under a directory just created is remembered until the next settle.
        w.remember(b"a/b/d.txt", found(3), 1, true);
        assert_eq!(w.recall(b"a/b/d.txt"), None);
        w.settle();
        w.remember(b"a/b/d.txt", found(3), 1, true);
        assert_eq!(w.recall(b"a/b/d.txt"), Some(found(3)));
    }

    #[test]
    fn only_what_a_watch_sees_is_remembered_and_not_once_the_build_writes() {
        let w = Watched::new(Path::new("/p"));
        w.remember(b"linked.txt", found(1), 2, true);
        w.remember(b"via-link/x.txt", found(1), 1, false);
        assert_eq!(w.recall(b"linked.txt"), None, "a second name");
        assert_eq!(w.recall(b"via-link/x.txt"), None, "reached through a link");
        w.remember(b"gone.txt", None, 0, true);
        assert_eq!(
            w.recall(b"gone.txt"),
            Some(None),
            "missing is remembered too"
        );
        w.writes();
        assert_eq!(w.recall(b"gone.txt"), None, "the build wrote: stat afresh");
        w.settle();
        assert_eq!(w.recall(b"gone.txt"), Some(None));
        w.changed(Path::new("/elsewhere/f"), false);
        w.settle();
        assert_eq!(
            w.recall(b"gone.txt"),
            None,
            "an event from outside forgets everything"
        );
        w.remember(b"f", found(1), 1, true);
        w.lost();
        w.settle();
        assert_eq!(w.recall(b"f"), None, "lost events forget everything");
    }

    #[test]
    fn a_change_named_by_the_real_path_of_a_linked_root_forgets_only_that_path() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let root = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &root).unwrap();
        let w = Watched::new(&root);
        w.remember(b"a.txt", found(1), 1, true);
        w.remember(b"b.txt", found(1), 1, true);
        w.changed(&std::fs::canonicalize(&real).unwrap().join("a.txt"), false);
        w.settle();
        assert_eq!(w.recall(b"a.txt"), None);
        assert_eq!(
            w.recall(b"b.txt"),
            Some(found(1)),
            "not taken for lost events"
        );
    }
}
