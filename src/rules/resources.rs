//! `resources`: files under `:root`, copied byte for byte to paths relative to that root.

use std::fs;
use std::path::Path;

use super::fetch_sources;
use crate::engine::{BuildError, Ctx};

pub async fn run(ctx: &Ctx, root: &str, srcs: &[String], stage: &Path) -> Result<(), BuildError> {
    let files = fetch_sources(ctx, srcs, true).await?;
    let prefix = if root.is_empty() {
        String::new()
    } else {
        format!("{root}/")
    };
    for f in &files {
        let Some(rel) = f.strip_prefix(&prefix) else {
            return Err(ctx.fail(format!("{f} matches :srcs but is not under :root {root:?}")));
        };
        let dest = stage.join(rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| BuildError::io(parent.display(), e))?;
        }
        fs::copy(ctx.project().root.join(f), &dest).map_err(|e| BuildError::io(f, e))?;
    }
    Ok(())
}
