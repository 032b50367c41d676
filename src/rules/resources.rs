//! `resources`: files under `:root`, copied byte for byte to paths relative to that root.

use std::fs;

use kbuild_engine::{BuildError, Ctx};

use super::fetch_sources;
use super::info::Deps;
use crate::env::Env;
use crate::project::{self, Target};

pub async fn run(env: &Env, ctx: &Ctx) -> Result<serde_json::Value, BuildError> {
    let target = ctx.spec::<Target>();
    let project::Rule::Resources { root, srcs } = &target.rule else {
        return Err(ctx.fail("not a resources target"));
    };
    let deps = Deps::fetch(ctx).await?;
    let files = fetch_sources(env, ctx, srcs, true).await?;
    let prefix = if root.is_empty() {
        String::new()
    } else {
        format!("{root}/")
    };
    for f in &files {
        let Some(rel) = f.strip_prefix(&prefix) else {
            return Err(ctx.fail(format!("{f} matches :srcs but is not under :root {root:?}")));
        };
        let dest = ctx.stage().join(rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| BuildError::io(parent.display(), e))?;
        }
        fs::copy(env.root().join(f), &dest).map_err(|e| BuildError::io(f, e))?;
    }
    Ok(deps.info(ctx.target(), target).to_value())
}
