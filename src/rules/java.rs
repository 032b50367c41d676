//! `java-library`: javac over source globs, with the classes of every dependency (and
//! theirs) on the classpath.

use std::path::Path;

use super::{exit_text, fetch_files, run_tool};
use crate::engine::{BuildError, Ctx, Key};

pub async fn run(
    ctx: &Ctx,
    srcs: &[String],
    javac_opts: &[String],
    stage: &Path,
) -> Result<(), BuildError> {
    // All transitive deps, not only direct ones: javac reads them, so a change in any of
    // them may change these classes even when the direct deps' classes cut off.
    let deps = ctx.project().transitive_deps(&ctx.target);
    let mut keys = vec![Key::Tool("javac".into()), Key::Glob(srcs.to_vec())];
    keys.extend(deps.iter().map(|d| Key::Target(d.clone())));
    let got = ctx.fetch_all(keys).await?;
    let files = got[1].files().to_vec();
    if files.is_empty() {
        return Err(ctx.fail(format!("no Java sources match {}", srcs.join(", "))));
    }
    super::check_literals(ctx, srcs, &files)?;
    fetch_files(ctx, &files, false).await?;

    let engine = &ctx.engine;
    let jdk = engine.jdk().await?;
    let classpath = super::classpath(engine, &deps, &got[2..]);
    // Sources go through an argument file: a large library overflows a command line.
    let argfile = tempfile::NamedTempFile::new_in(stage.parent().unwrap_or(stage))
        .map_err(|e| BuildError::io("javac argument file", e))?;
    let quoted: Vec<String> = files
        .iter()
        .map(|f| format!("\"{}\"", f.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    std::fs::write(argfile.path(), quoted.join("\n"))
        .map_err(|e| BuildError::io(argfile.path().display(), e))?;

    let mut args: Vec<String> = javac_opts.to_vec();
    args.extend([
        "-d".into(),
        stage.to_string_lossy().into_owned(),
        "-implicit:none".into(),
    ]);
    // An empty -sourcepath keeps javac from compiling stray sources found on the classpath.
    args.extend(["-sourcepath".into(), String::new()]);
    if !classpath.is_empty() {
        args.extend(["-classpath".into(), classpath.join(":")]);
    }
    args.push(format!("@{}", argfile.path().display()));
    let out = run_tool(ctx, &jdk.javac, &args, &[]).await?;
    if !out.status.success() {
        return Err(ctx.fail(format!("javac failed ({})", exit_text(out.status))));
    }
    Ok(())
}
