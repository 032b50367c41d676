//! `stat` by directory handle: a file is looked up from an open handle of its directory, so
//! the kernel walks one path component instead of the whole path, which was half the cost
//! of each of the stats a no-op build makes (measured with perf on 100,000 files).
//!
//! Handles are kept for the life of the [`Dirs`], which is one build's: a directory
//! replaced meanwhile is seen as it was when first opened, as a value computed earlier in
//! the same build would be.

use std::collections::HashMap;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustix::fs::{AtFlags, Mode, OFlags};

use crate::bytes::{put_sized, put_u32, Reader};
use crate::db::Stat;
use crate::watched::Watched;

/// At most this many directory handles are open at once (well under the usual limit of
/// 1,024 files per process).
const MAX_OPEN: usize = 256;

/// What a stat says of a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    pub stat: Stat,
    pub is_file: bool,
    pub is_dir: bool,
    pub executable: bool,
}

pub struct Dirs {
    root: PathBuf,
    /// Directory handles by root-relative path, each with whether it was reached without a
    /// symbolic link (asked only when watched).
    open: RwLock<HashMap<String, (Arc<OwnedFd>, bool)>>,
    /// Under `kbuild watch`: the stats the watcher vouches for, and where this root is in
    /// its tree (`""` at its root, else `dir/`).
    watched: Option<(Arc<Watched>, String)>,
}

impl Dirs {
    pub fn new(root: &Path) -> Dirs {
        Dirs {
            root: root.to_path_buf(),
            open: RwLock::new(HashMap::new()),
            watched: None,
        }
    }

    /// Stats of `root` that consult `watched` first and keep what they find there, when
    /// `root` is in its tree.
    pub fn watched(root: &Path, watched: Option<&Arc<Watched>>) -> Dirs {
        let mut dirs = Dirs::new(root);
        dirs.watched = watched.and_then(|w| {
            let rel = root.strip_prefix(w.root()).ok()?.to_str()?;
            let prefix = if rel.is_empty() {
                String::new()
            } else {
                format!("{rel}/")
            };
            Some((w.clone(), prefix))
        });
        dirs
    }

    /// The stat of `rel` (a `/`-separated path under the root, `""` for the root itself),
    /// following a final symlink when `follow`; `None` when there is nothing there.
    pub fn stat(&self, rel: &str, follow: bool) -> io::Result<Option<Found>> {
        let Some((watched, prefix)) = &self.watched else {
            return Ok(self.stat_now(rel, follow)?.and_then(|(found, ..)| found));
        };
        KEY.with_borrow_mut(|key| {
            key.clear();
            key.push_str(prefix);
            key.push_str(rel);
            if rel.is_empty() && !prefix.is_empty() {
                key.pop();
            }
            if let Some(found) = watched.recall(key.as_bytes()) {
                return Ok(found);
            }
            let Some((found, links, real)) = self.stat_now(rel, false)? else {
                // Its directory is missing: the directory's own change is what shows.
                return Ok(None);
            };
            match found {
                // A symbolic link (or a device, a socket): not remembered, and followed
                // afresh, since what it leads to may be outside what the watcher sees.
                Some(f) if !f.is_file && !f.is_dir => {
                    if follow {
                        return Ok(self.stat_now(rel, true)?.and_then(|(f, ..)| f));
                    }
                }
                _ => watched.remember(key.as_bytes(), found, links, real),
            }
            Ok(found)
        })
    }

    /// A stat now: what it found (`None` inside: nothing there), the link count, and whether
    /// the directory holding it was reached without a symbolic link; `None` when that
    /// directory is missing.
    #[allow(clippy::type_complexity)]
    fn stat_now(&self, rel: &str, follow: bool) -> io::Result<Option<(Option<Found>, u64, bool)>> {
        let (dir, name) = match rel.rsplit_once('/') {
            Some((dir, name)) => (dir, name),
            None if rel.is_empty() => {
                let (found, links) = stat_at(rustix::fs::CWD, &self.root, follow)?;
                return Ok(Some((found, links, self.root_is_seen())));
            }
            None => ("", rel),
        };
        let Some((handle, real)) = self.dir(dir)? else {
            return Ok(None);
        };
        let (found, links) = stat_at(&*handle, name, follow)?;
        Ok(Some((found, links, real)))
    }

    /// Whether the watcher sees a change to this root's own stat: it is the watched root
    /// (whose own events it reports), or its directory is inside the watched tree and reached
    /// without a symbolic link.
    fn root_is_seen(&self) -> bool {
        let Some((w, prefix)) = &self.watched else {
            return false;
        };
        let Some(me) = prefix.strip_suffix('/') else {
            return w.is_real_dir(&self.root, "");
        };
        let above = me.rsplit_once('/').map_or("", |(dir, _)| dir);
        self.root
            .parent()
            .is_some_and(|parent| w.is_real_dir(parent, above))
    }

    /// The handle of directory `rel` (the root when empty), or `None` when it is not there.
    fn dir(&self, rel: &str) -> io::Result<Option<(Arc<OwnedFd>, bool)>> {
        if let Some(open) = self.open.read().expect("dirs lock").get(rel) {
            return Ok(Some(open.clone()));
        }
        let path = if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        };
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = match rustix::fs::open(&path, flags, Mode::empty()) {
            Ok(fd) => Arc::new(fd),
            Err(e) if missing(e) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let real = self
            .watched
            .as_ref()
            .is_some_and(|(w, prefix)| w.is_real_dir(&path, &format!("{prefix}{rel}")));
        let mut open = self.open.write().expect("dirs lock");
        if open.len() >= MAX_OPEN {
            open.clear();
        }
        open.insert(rel.to_string(), (fd.clone(), real));
        Ok(Some((fd, real)))
    }
}

thread_local! {
    /// The watched key of a stat, built without an allocation per file.
    static KEY: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// What a stat of `path` from directory `dir` finds (`None`: nothing there), and its link
/// count.
fn stat_at<Fd: std::os::fd::AsFd, P: rustix::path::Arg>(
    dir: Fd,
    path: P,
    follow: bool,
) -> io::Result<(Option<Found>, u64)> {
    let flags = if follow {
        AtFlags::empty()
    } else {
        AtFlags::SYMLINK_NOFOLLOW
    };
    match rustix::fs::statat(dir, path, flags) {
        Ok(st) => Ok((Some(found_of(&st)), st.st_nlink)),
        Err(e) if missing(e) => Ok((None, 0)),
        Err(e) => Err(e.into()),
    }
}

fn found_of(st: &rustix::fs::Stat) -> Found {
    let kind = st.st_mode & 0o170000;
    Found {
        stat: Stat {
            size: st.st_size as u64,
            mtime_ns: st.st_mtime * 1_000_000_000 + st.st_mtime_nsec as i64,
            ctime_ns: st.st_ctime * 1_000_000_000 + st.st_ctime_nsec as i64,
            ino: st.st_ino,
        },
        is_file: kind == 0o100000,
        is_dir: kind == 0o040000,
        executable: st.st_mode & 0o111 != 0,
    }
}

/// The stats of the directories a listing was read from, each taken before its directory was
/// listed: adding or removing an entry changes a directory's stat, so the listing holds while
/// every one of them does. A stat too recent to trust ([`Stat::racy`]) is kept as zeros,
/// which never hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirStamps(Vec<(String, [u8; 32])>);

impl DirStamps {
    /// Adds directory `rel` with its stat (`None`: not there, which never holds).
    pub fn push(&mut self, rel: String, stat: Option<Stat>) {
        let stamp = match stat {
            Some(s) if !s.racy() => s.encode(),
            _ => [0; 32],
        };
        self.0.push((rel, stamp));
    }

    /// Whether there are stamps and every one holds: `now` gives a directory's stat today.
    pub fn hold(&self, mut now: impl FnMut(&str) -> Option<Stat>) -> bool {
        !self.0.is_empty()
            && self.0.iter().all(|(rel, stamp)| {
                *stamp != [0; 32] && now(rel).map(|s| s.encode()) == Some(*stamp)
            })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.0.len());
        for (rel, stamp) in &self.0 {
            put_sized(out, rel.as_bytes());
            out.extend_from_slice(stamp);
        }
    }

    pub fn decode(r: &mut Reader) -> Option<DirStamps> {
        let n = r.u32()?;
        let mut dirs = Vec::with_capacity(r.capacity(n, 36));
        for _ in 0..n {
            dirs.push((r.text()?.to_string(), r.array()?));
        }
        Some(DirStamps(dirs))
    }
}

/// Nothing at the path: it, or a directory on the way, does not exist or is not a directory.
fn missing(e: rustix::io::Errno) -> bool {
    e == rustix::io::Errno::NOENT || e == rustix::io::Errno::NOTDIR
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn stats_equal_std_metadata_and_missing_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        fs::create_dir_all(r.join("a/b")).unwrap();
        fs::write(r.join("a/b/f.txt"), "x").unwrap();
        fs::write(r.join("top.txt"), "yy").unwrap();
        std::os::unix::fs::symlink("b/f.txt", r.join("a/link")).unwrap();
        let dirs = Dirs::new(r);
        for rel in ["a/b/f.txt", "top.txt"] {
            let found = dirs.stat(rel, false).unwrap().unwrap();
            assert_eq!(found.stat, Stat::of(&fs::metadata(r.join(rel)).unwrap()));
            assert!(found.is_file && !found.executable);
        }
        let link = dirs.stat("a/link", false).unwrap().unwrap();
        assert!(!link.is_file, "not followed");
        let followed = dirs.stat("a/link", true).unwrap().unwrap();
        assert_eq!(
            followed.stat,
            Stat::of(&fs::metadata(r.join("a/b/f.txt")).unwrap())
        );
        assert_eq!(dirs.stat("a/b/none", false).unwrap(), None);
        assert_eq!(dirs.stat("nodir/x", false).unwrap(), None);
        assert_eq!(dirs.stat("top.txt/x", false).unwrap(), None);
    }
}
