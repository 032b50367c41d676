//! The machine's shared cache (the design's local "action cache + CAS" layer): the content
//! store and a second home for constructive traces, in one directory that every checkout on
//! the machine uses. A target built in one checkout or worktree is then restored, not
//! rebuilt, in another.
//!
//! Traces are filed under the target's key *and the digest of its definition*, so only a
//! target defined the same way ever sees them, and they are verified exactly like the
//! checkout's own (every recorded input fetched and compared). Keys hold no absolute paths,
//! so the same project anywhere on the machine matches. Each trace is a file named by its own
//! digest, written under a temporary name and renamed, so concurrent builds and killed ones
//! never leave a partial trace; the newest few per directory are kept.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::db::Trace;
use crate::key::Key;
use crate::store::Hash;

/// Traces kept per (target, definition).
const MAX_SHARED_TRACES: usize = 8;

pub struct Shared {
    root: PathBuf,
}

impl Shared {
    pub fn open(root: &Path) -> io::Result<Shared> {
        fs::create_dir_all(root.join("traces"))?;
        Ok(Shared {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the content store lives.
    pub fn cas_dir(&self) -> PathBuf {
        self.root.join("cas")
    }

    fn dir(&self, key: &Key, definition: Hash) -> PathBuf {
        self.root
            .join("traces")
            .join(trace_id(key, definition).to_hex())
    }

    /// The traces recorded for `key` under this definition, most recent first. Unreadable
    /// ones are skipped: the cache only ever offers candidates.
    pub fn traces(&self, key: &Key, definition: Hash) -> Vec<Trace> {
        newest_first(&self.dir(key, definition))
            .iter()
            .filter_map(|path| Trace::from_bytes(&fs::read(path).ok()?))
            .collect()
    }

    /// Files `trace` (again, if it is there already: it becomes the most recent) and drops
    /// the oldest beyond the bound.
    pub fn add_trace(&self, key: &Key, definition: Hash, trace: &Trace) -> io::Result<()> {
        let dir = self.dir(key, definition);
        fs::create_dir_all(&dir)?;
        let bytes = trace.to_bytes();
        let name = format!("{}.trace", Hash::of(&bytes).to_hex());
        let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
        io::Write::write_all(&mut tmp, &bytes)?;
        tmp.persist(dir.join(name)).map_err(|e| e.error)?;
        for old in newest_first(&dir).into_iter().skip(MAX_SHARED_TRACES) {
            let _ = fs::remove_file(old);
        }
        Ok(())
    }
}

/// Where traces of `key` under this definition are filed, here and on a remote cache.
pub fn trace_id(key: &Key, definition: Hash) -> Hash {
    Hash::of(format!("{key}\n{definition}").as_bytes())
}

/// The trace files in `dir`, most recently written first.
fn newest_first(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".trace"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    found.sort_by_key(|e| std::cmp::Reverse(e.0));
    found.into_iter().map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_are_filed_by_key_and_definition_newest_first_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let shared = Shared::open(dir.path()).unwrap();
        let key = Key::Target("app".into());
        let def = Hash([7; 32]);
        let t = |i: u8| Trace {
            batches: vec![vec![(Key::Def("app".into()), def)]],
            result: Hash([i; 32]),
        };
        for i in 0..12 {
            shared.add_trace(&key, def, &t(i)).unwrap();
            // mtimes order the traces; keep them apart on coarse clocks.
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let got = shared.traces(&key, def);
        assert_eq!(got.len(), MAX_SHARED_TRACES);
        assert_eq!(got[0], t(11));
        assert!(shared.traces(&key, Hash([8; 32])).is_empty());
        assert!(shared.traces(&Key::Target("other".into()), def).is_empty());
    }
}
