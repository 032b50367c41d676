//! `kbuild watch`: waits for a change under the project and says which file changed, so that
//! the command can run again. What a rerun does is the engine's business: its traces find what
//! the change reaches, so this only has to wake up for any file a build could read. It knows
//! nothing of commands; the CLI runs them.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kbuild_engine::Watched;
use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RemoveKind};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

/// Quiet time after a change before the command runs again: an editor's save is several
/// events (a temporary file, a rename), and `git checkout` is many.
const SETTLE: Duration = Duration::from_millis(100);
/// The longest a rerun waits for the changes to settle.
const SETTLE_AT_MOST: Duration = Duration::from_secs(2);
/// How often a wait looks at Ctrl-C and at a running program.
const POLL: Duration = Duration::from_millis(50);
/// The longest [`Watch::sync`] waits for the watcher to report its own file.
const SYNC_AT_MOST: Duration = Duration::from_secs(2);

/// Directories at the project root that hold what tools write, never what a build reads.
const IGNORED_DIRS: &[&str] = &[
    ".git",
    ".kbuild",
    "target",
    ".cpcache",
    ".lsp",
    ".clj-kondo",
    ".idea",
    ".calva",
];

/// Why a wait ended.
pub enum Wake {
    /// These files changed (at least one; relative to the root where they are under it).
    Changed(Vec<PathBuf>),
    /// Ctrl-C (or SIGTERM): stop watching.
    Stop,
}

/// A recursive watch of a project root, and Ctrl-C caught: the first stops the watch once
/// the command running finishes, a second one ends kbuild at once.
pub struct Watch {
    root: PathBuf,
    /// Directories by the name events give them, and their real path where a symbolic link
    /// led to them: a directory reached by two names has one watch, and its events carry only
    /// one of the names.
    aliases: std::cell::RefCell<std::collections::HashMap<PathBuf, Option<PathBuf>>>,
    /// False once the watcher failed to report a cookie (`.kbuild` on a filesystem it cannot
    /// watch, say): from then on every build takes its stats afresh, without the wait.
    cookies: std::cell::Cell<bool>,
    events: Receiver<notify::Result<notify::Event>>,
    _watcher: RecommendedWatcher,
    stop: Arc<AtomicBool>,
}

impl Watch {
    pub fn new(root: &Path) -> Result<Watch, String> {
        let stop = Arc::new(AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // The order matters: the second press finds the flag set and exits (130, as a
            // shell reports a Ctrl-C).
            signal_hook::flag::register_conditional_shutdown(signal, 130, stop.clone())
                .and_then(|_| signal_hook::flag::register(signal, stop.clone()))
                .map_err(|e| format!("catching Ctrl-C: {e}"))?;
        }
        let (tx, events) = channel();
        let mut watcher = notify::recommended_watcher(tx)
            .map_err(|e| format!("watching {}: {e}", root.display()))?;
        watcher
            .watch(root, RecursiveMode::Recursive)
            .map_err(|e| format!("watching {}: {e}", root.display()))?;
        Ok(Watch {
            root: root.to_path_buf(),
            aliases: Default::default(),
            cookies: std::cell::Cell::new(true),
            events,
            _watcher: watcher,
            stop,
        })
    }

    /// Whether Ctrl-C was pressed.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Before a build: makes `watched` hold every change made until now, then settles it.
    /// The watcher is asked to see a file written here (a cookie, as watchman calls it):
    /// events arrive in order, so once its event is in, every earlier change's is too.
    pub fn sync(&self, watched: &Watched) {
        let cookie = self
            .root
            .join(".kbuild")
            .join(format!("watch-sync-{}", std::process::id()));
        if !self.cookies.get() || std::fs::write(&cookie, b"").is_err() {
            // No state directory yet (nothing remembered either) or an unwritable one.
            watched.lost();
        } else {
            let deadline = Instant::now() + SYNC_AT_MOST;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match self.events.recv_timeout(left) {
                    Ok(Ok(event)) => {
                        self.tell(watched, &event);
                        if event.paths.contains(&cookie) {
                            break;
                        }
                    }
                    Ok(Err(_)) => watched.lost(),
                    Err(_) => {
                        watched.lost();
                        self.cookies.set(false);
                        break;
                    }
                }
            }
            let _ = std::fs::remove_file(&cookie);
        }
        watched.settle();
        // What a directory is may change by the next build.
        self.aliases.borrow_mut().clear();
    }

    /// Waits for a change that matters, settled, or for Ctrl-C, telling `watched` of every
    /// change meanwhile. `program` is a program the command left running (`watch run`): its
    /// exit is reported once, and it goes on running until the change.
    pub fn next(&self, mut program: Option<&mut Child>, watched: &Watched) -> Wake {
        let mut changed: Vec<PathBuf> = Vec::new();
        let mut first: Option<Instant> = None;
        let mut last = Instant::now();
        loop {
            if self.stopped() {
                return Wake::Stop;
            }
            if let Some(child) = program.as_deref_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    eprintln!(
                        "watch: the program ended ({}); waiting for changes",
                        crate::rules::exit_text(status.code())
                    );
                    program = None;
                }
            }
            if let Some(start) = first {
                if last.elapsed() >= SETTLE || start.elapsed() >= SETTLE_AT_MOST {
                    return Wake::Changed(changed);
                }
            }
            let (lost, paths) = match self.events.recv_timeout(POLL) {
                Ok(Ok(event)) => {
                    self.tell(watched, &event);
                    let read = matches!(event.kind, EventKind::Access(_));
                    (
                        event.need_rescan(),
                        if read { Vec::new() } else { event.paths },
                    )
                }
                Ok(Err(_)) => {
                    watched.lost();
                    (true, Vec::new())
                }
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return Wake::Stop,
            };
            // The watcher lost events (its queue overflowed): anything may have changed.
            if lost {
                first.get_or_insert_with(Instant::now);
                last = Instant::now();
                if changed.is_empty() {
                    changed.push(PathBuf::from("."));
                }
            }
            for path in paths {
                if let Some(rel) = self.matters(&path) {
                    if !changed.contains(&rel) {
                        changed.push(rel);
                    }
                    first.get_or_insert_with(Instant::now);
                    last = Instant::now();
                }
            }
        }
    }

    /// Tells `watched` what an event changed: a file's content or stat, or a whole tree (a
    /// directory created, removed or renamed, and any event this does not know).
    fn tell(&self, watched: &Watched, event: &notify::Event) {
        if event.need_rescan() {
            watched.lost();
            return;
        }
        let tree = match event.kind {
            // Opened or read: nothing changed.
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => false,
            EventKind::Access(_) => return,
            EventKind::Create(CreateKind::File) => {
                // A second name for a file: a write through either makes an event for that name
                // only, so no remembered stat can be trusted.
                use std::os::unix::fs::MetadataExt;
                let linked = event.paths.iter().any(|p| {
                    std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file() && m.nlink() > 1)
                });
                if linked {
                    watched.lost();
                }
                false
            }
            EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Metadata(_))
            | EventKind::Remove(RemoveKind::File) => false,
            _ => true,
        };
        for path in &event.paths {
            watched.changed(path, tree);
            if let Some(real) = self.real_path(path) {
                watched.changed(&real, tree);
            }
        }
    }

    /// `path` by its real directory, when a symbolic link leads to the one it is in.
    fn real_path(&self, path: &Path) -> Option<PathBuf> {
        let (dir, name) = (path.parent()?, path.file_name()?);
        let mut aliases = self.aliases.borrow_mut();
        let real = aliases
            .entry(dir.to_path_buf())
            .or_insert_with(|| std::fs::canonicalize(dir).ok().filter(|real| real != dir));
        real.as_ref().map(|real| real.join(name))
    }

    /// The path relative to the root when a change to it may matter to a build; None for
    /// what tools write (kbuild's own state and outputs, a VCS, editors' backup files).
    fn matters(&self, path: &Path) -> Option<PathBuf> {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        if let Some(top) = rel.components().next() {
            if path.starts_with(&self.root) && IGNORED_DIRS.iter().any(|d| top.as_os_str() == *d) {
                return None;
            }
        }
        let name = rel.file_name()?.to_string_lossy();
        let scratch = name.ends_with('~')
            || name.starts_with(".#")
            || name.ends_with(".swp")
            || name.ends_with(".swx")
            || name == "4913";
        (!scratch).then(|| rel.to_path_buf())
    }
}

/// Ends a program the command left running before the command runs again: SIGTERM, and
/// SIGKILL if it has not gone within five seconds.
pub fn end(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    // SAFETY: kill(2) with a pid and a signal number has no memory-safety preconditions.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(POLL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_tools_write_does_not_matter() {
        let root = tempfile::tempdir().unwrap();
        let w = Watch::new(root.path()).unwrap();
        let at = |p: &str| w.matters(&root.path().join(p));
        assert_eq!(at("src/a/core.clj"), Some(PathBuf::from("src/a/core.clj")));
        assert_eq!(at("project.clj"), Some(PathBuf::from("project.clj")));
        // A directory named target below the root may be a source package.
        assert!(at("src/target/x.clj").is_some());
        for ignored in [
            ".kbuild/db/000001.log",
            "target/kbuild/out/a.class",
            ".git/index",
            "src/a/.#core.clj",
            "src/a/core.clj~",
            "src/a/.core.clj.swp",
        ] {
            assert_eq!(at(ignored), None, "{ignored}");
        }
    }
}
