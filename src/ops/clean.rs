//! `kbuild clean`: removes the checkout's state (.kbuild/) and outputs (target/kbuild/).

use std::path::Path;

use super::Failure;
use crate::project::Project;

/// The caller holds the state's lock; its file goes last, so a kbuild that starts meanwhile
/// waits on it until there is nothing left to remove.
pub fn clean(project: &Project) -> Result<(), Failure> {
    let state = project.root.join(".kbuild");
    remove(&project.out_root())?;
    let lock_file = state.join(kbuild_engine::LOCK_FILE);
    for entry in std::fs::read_dir(&state).into_iter().flatten().flatten() {
        if entry.path() != lock_file {
            remove(&entry.path())?;
        }
    }
    remove(&lock_file)?;
    // Not empty when another kbuild has taken a new lock meanwhile.
    let _ = std::fs::remove_dir(&state);
    Ok(())
}

fn remove(d: &Path) -> Result<(), Failure> {
    let removed = match std::fs::symlink_metadata(d) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(d),
        Ok(_) => std::fs::remove_file(d),
        Err(e) => Err(e),
    };
    match removed {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Failure::Env(format!("removing {}: {e}", d.display()))),
    }
}
