//! `command`: runs a program in the project root with `$OUT` set to an empty directory;
//! the declared `:outs` in it become the product, anything else it wrote is dropped.

use std::fs;
use std::path::Path;

use kbuild_engine::{BuildError, Ctx};

use super::info::Deps;
use super::{exit_text, fetch_sources, run_tool};
use crate::env::Env;
use crate::inputs::tool_key;
use crate::project::{self, Target};

pub async fn run(env: &Env, ctx: &Ctx) -> Result<serde_json::Value, BuildError> {
    let target = ctx.spec::<Target>();
    let project::Rule::Command { srcs, outs, cmd } = &target.rule else {
        return Err(ctx.fail("not a command target"));
    };
    let stage = ctx.stage();
    let deps = Deps::fetch(ctx).await?;
    fetch_sources(env, ctx, srcs, true).await?;
    // The program is an input too: a script in the project by its content, a program
    // found on PATH by its file's.
    if cmd[0].contains('/') {
        let script = cmd[0].trim_start_matches("./");
        if Path::new(script).is_relative() {
            fetch_sources(env, ctx, &[script.to_string()], true).await?;
        }
    } else {
        ctx.fetch(tool_key(&cmd[0])).await?;
    }
    let out = run_tool(ctx, Path::new(&cmd[0]), &cmd[1..], &[("OUT", stage)]).await?;
    if !out.status.success() {
        return Err(ctx.fail(format!("{} failed ({})", cmd[0], exit_text(out.status))));
    }
    for o in outs {
        if fs::symlink_metadata(stage.join(o)).is_err() {
            return Err(ctx.fail(format!("the command did not create {o} in $OUT")));
        }
    }
    // Keep only what was declared, so the product is exactly what the build file promises.
    for entry in walkdir::WalkDir::new(stage).contents_first(true) {
        let entry = entry.map_err(|e| ctx.fail(format!("reading $OUT: {e}")))?;
        let rel = entry
            .path()
            .strip_prefix(stage)
            .unwrap_or(entry.path())
            .to_string_lossy()
            .into_owned();
        if rel.is_empty() || entry.file_type().is_dir() {
            continue;
        }
        let declared = outs
            .iter()
            .any(|o| rel == *o || rel.starts_with(&format!("{o}/")));
        if !declared {
            fs::remove_file(entry.path()).map_err(|e| BuildError::io(entry.path().display(), e))?;
        }
    }
    Ok(deps.info(ctx.target(), target).to_value())
}
