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

/// At most this many directory handles are open at once (well under the usual limit of
/// 1,024 files per process).
const MAX_OPEN: usize = 256;

/// What a stat says of a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    pub stat: Stat,
    pub is_file: bool,
    pub executable: bool,
}

pub struct Dirs {
    root: PathBuf,
    open: RwLock<HashMap<String, Arc<OwnedFd>>>,
}

impl Dirs {
    pub fn new(root: &Path) -> Dirs {
        Dirs {
            root: root.to_path_buf(),
            open: RwLock::new(HashMap::new()),
        }
    }

    /// The stat of `rel` (a `/`-separated path under the root), following a final symlink
    /// when `follow`; `None` when there is nothing there.
    pub fn stat(&self, rel: &str, follow: bool) -> io::Result<Option<Found>> {
        let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let Some(handle) = self.dir(dir)? else {
            return Ok(None);
        };
        let flags = if follow {
            AtFlags::empty()
        } else {
            AtFlags::SYMLINK_NOFOLLOW
        };
        match rustix::fs::statat(&*handle, name, flags) {
            Ok(st) => {
                let mode = st.st_mode;
                Ok(Some(Found {
                    stat: Stat {
                        size: st.st_size as u64,
                        mtime_ns: st.st_mtime * 1_000_000_000 + st.st_mtime_nsec as i64,
                        ctime_ns: st.st_ctime * 1_000_000_000 + st.st_ctime_nsec as i64,
                        ino: st.st_ino,
                    },
                    is_file: mode & 0o170000 == 0o100000,
                    executable: mode & 0o111 != 0,
                }))
            }
            Err(e) if missing(e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The handle of directory `rel` (the root when empty), or `None` when it is not there.
    fn dir(&self, rel: &str) -> io::Result<Option<Arc<OwnedFd>>> {
        if let Some(fd) = self.open.read().expect("dirs lock").get(rel) {
            return Ok(Some(fd.clone()));
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
        let mut open = self.open.write().expect("dirs lock");
        if open.len() >= MAX_OPEN {
            open.clear();
        }
        open.insert(rel.to_string(), fd.clone());
        Ok(Some(fd))
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
