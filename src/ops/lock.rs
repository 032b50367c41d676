//! `kbuild lock`: resolve every `:maven` target and pin the result in kbuild.lock.

use std::sync::Arc;

use super::{build, Failure};
use crate::env::Options;
use crate::project::{Project, Rule};
use crate::rules::info::Artifact;
use crate::rules::maven;

/// Writes kbuild.lock; returns how many targets it pins. The caller's options say `relock`.
pub fn lock(project: &Arc<Project>, json: bool, options: &Options) -> Result<usize, Failure> {
    let names = project.targets_where(|r| matches!(r, Rule::Maven { .. }));
    if names.is_empty() {
        return Err(Failure::Usage(format!(
            "{}: no :maven target to lock",
            project.file
        )));
    }
    let session = build(project, &names, json, options)?;
    let pins: Vec<(String, Vec<Artifact>)> = names
        .iter()
        .map(|n| {
            (
                n.clone(),
                session.info(n).map(|i| i.artifacts).unwrap_or_default(),
            )
        })
        .collect();
    let path = project.root.join(maven::LOCK_FILE);
    // Written to a temporary file and renamed: a killed `kbuild lock` leaves the old lock.
    let write = || -> std::io::Result<()> {
        let mut tmp = tempfile::NamedTempFile::new_in(&project.root)?;
        std::io::Write::write_all(&mut tmp, maven::write_lock(&pins).as_bytes())?;
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
        tmp.persist(&path).map(|_| ()).map_err(|e| e.error)
    };
    write().map_err(|e| Failure::Env(format!("writing {}: {e}", path.display())))?;
    Ok(pins.len())
}
