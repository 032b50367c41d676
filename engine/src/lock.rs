//! The checkout's lock: an OS file lock (`flock`) on `<state>/lock`, held by every kbuild that
//! opens the state, for as long as it uses it. It is not RocksDB's `LOCK` file (which a user
//! or a tool may delete): a second kbuild waits here, or fails fast, and never meets RocksDB's
//! own error. The kernel drops the lock when its holder dies, so a killed kbuild leaves none.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use fs4::{FileExt, TryLockError};

use crate::db::DbError;
use crate::BuildError;

/// The name of the lock file in the state directory.
pub const LOCK_FILE: &str = "lock";

/// A held lock on a state directory; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct StateLock {
    state: PathBuf,
    _file: File,
    waited: bool,
}

impl StateLock {
    /// Locks `state` (creating it). When another process holds the lock: with `wait`, calls
    /// `on_wait` once and blocks until it is released; without, fails with
    /// [`DbError::Locked`].
    pub fn acquire(state: &Path, wait: bool, on_wait: &dyn Fn()) -> Result<StateLock, BuildError> {
        let path = state.join(LOCK_FILE);
        let shown = state.display().to_string();
        let io_err = |e: io::Error| BuildError::io(format!("locking {}", path.display()), e);
        let mut waited = false;
        let mut vanished = 0;
        loop {
            fs::create_dir_all(state).map_err(io_err)?;
            let file = match OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
            {
                Ok(f) => f,
                // The directory was removed between the two calls (a `kbuild clean` ending).
                Err(e) if e.kind() == io::ErrorKind::NotFound && vanished < 10 => {
                    vanished += 1;
                    continue;
                }
                Err(e) => return Err(io_err(e)),
            };
            match FileExt::try_lock(&file) {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) if wait => {
                    if !waited {
                        on_wait();
                        waited = true;
                    }
                    FileExt::lock(&file).map_err(io_err)?;
                }
                Err(TryLockError::WouldBlock) => return Err(DbError::Locked(shown).into()),
                Err(TryLockError::Error(e)) => return Err(io_err(e)),
            }
            // The holder may have removed the file (`kbuild clean` removes the state) while
            // this one waited on it: a lock on a file no longer at `path` locks nothing, so
            // take the one that is there now.
            if same_file(&file, &path) {
                return Ok(StateLock {
                    state: state.to_path_buf(),
                    _file: file,
                    waited,
                });
            }
        }
    }

    /// The state directory it locks.
    pub fn state(&self) -> &Path {
        &self.state
    }

    /// Whether another kbuild held it first, so that what it did (a `kbuild clean`, say) may
    /// have changed the state since this process looked.
    pub fn waited(&self) -> bool {
        self.waited
    }
}

fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn a_second_holder_fails_fast_or_waits_and_gets_it_after_a_removal() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".kbuild");
        let first = StateLock::acquire(&state, false, &|| panic!("free")).unwrap();
        assert!(!first.waited());
        // Without waiting: the clean "locked" error.
        let err = StateLock::acquire(&state, false, &|| {}).unwrap_err();
        assert!(matches!(err, BuildError::Db(DbError::Locked(_))), "{err}");
        // Waiting: the holder removes the whole state directory (as `kbuild clean` does) and
        // releases; the waiter must hold a lock on the file that is there afterwards.
        let told = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (state, told) = (state.clone(), told.clone());
            std::thread::spawn(move || {
                StateLock::acquire(&state, true, &|| told.store(true, Ordering::SeqCst)).unwrap()
            })
        };
        std::thread::sleep(Duration::from_millis(200));
        assert!(told.load(Ordering::SeqCst), "the waiter said it waits");
        fs::remove_dir_all(&state).unwrap();
        drop(first);
        let second = waiter.join().unwrap();
        assert!(second.waited());
        assert!(same_file(&second._file, &state.join(LOCK_FILE)));
        assert!(StateLock::acquire(&state, false, &|| {}).is_err());
        drop(second);
        StateLock::acquire(&state, false, &|| {}).unwrap();
    }
}
