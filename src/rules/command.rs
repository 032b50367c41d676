//! `command`: runs a program in the project root with `$OUT` set to an empty directory;
//! the declared `:outs` in it become the product, anything else it wrote is dropped. Each out
//! is a plain relative path inside `$OUT` ([`is_contained`]), and what the command wrote
//! there is files and directories only: a symbolic link (which could point anywhere) is an
//! error, never a silently empty product.

use std::fs;
use std::path::Path;

use kbuild_engine::{is_contained, BuildError, Ctx};

use super::info::Deps;
use super::{exit_text, fetch_sources, run_tool, walk_without_links, Walked};
use crate::env::Env;
use crate::inputs::tool_key;
use crate::project::{self, Target};

pub async fn run(env: &Env, ctx: &Ctx) -> Result<serde_json::Value, BuildError> {
    let target = ctx.spec::<Target>();
    let project::Rule::Command { srcs, outs, cmd } = &target.rule else {
        return Err(ctx.fail("not a command target"));
    };
    let stage = ctx.stage();
    if let Some(bad) = outs.iter().find(|o| !is_contained(o)) {
        return Err(ctx.fail(format!(
            ":outs names {bad:?}, which is not a plain relative path inside $OUT \
             (no empty, `.` or `..` part, not absolute)"
        )));
    }
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
        return Err(ctx.fail(format!(
            "{} failed ({})",
            cmd[0],
            exit_text(out.status.code())
        )));
    }
    for o in outs {
        match walk_without_links(stage, o) {
            Walked::Found(_) => {}
            Walked::Missing => {
                return Err(ctx.fail(format!("the command did not create {o} in $OUT")))
            }
            Walked::Link(at) => {
                let to = fs::read_link(&at)
                    .map(|t| format!(" (to {})", t.display()))
                    .unwrap_or_default();
                return Err(ctx.fail(format!(
                    "{} in $OUT is a symbolic link{to}; :outs must be files or \
                     directories the command wrote",
                    at.strip_prefix(stage).unwrap_or(&at).display()
                )));
            }
        }
    }
    // Keep only what was declared, so the product is exactly what the build file promises.
    for entry in walkdir::WalkDir::new(stage).contents_first(true) {
        let entry = entry.map_err(|e| ctx.fail(format!("reading $OUT: {e}")))?;
        let rel = entry.path().strip_prefix(stage).unwrap_or(entry.path());
        let rel = kbuild_engine::utf8_path(rel)
            .map_err(|e| ctx.fail(format!("$OUT: {e}")))?
            .to_string();
        if rel.is_empty() {
            continue;
        }
        let declared = outs
            .iter()
            .any(|o| rel == *o || rel.starts_with(&format!("{o}/")));
        let kind = entry.file_type();
        if declared && !kind.is_file() && !kind.is_dir() {
            return Err(ctx.fail(format!(
                "{rel} in $OUT is {}; :outs must be files or directories the command wrote",
                if kind.is_symlink() {
                    "a symbolic link"
                } else {
                    "not a regular file"
                }
            )));
        }
        if !declared && !kind.is_dir() {
            fs::remove_file(entry.path()).map_err(|e| BuildError::io(entry.path().display(), e))?;
        }
    }
    Ok(deps.info(ctx.target(), target).to_value())
}
