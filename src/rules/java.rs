//! `java-library`: javac over source globs, with the classes of every dependency (and
//! theirs) on the classpath.

use std::path::Path;

use kbuild_engine::{BuildError, Ctx, Hash};

use super::info::{Deps, Info};
use super::{check_literals, fetch_files};
use crate::env::Env;
use crate::inputs::{glob_key, tool_key};
use crate::project::{self, Target};

pub async fn run(env: &Env, ctx: &Ctx) -> Result<serde_json::Value, BuildError> {
    let target = ctx.spec::<Target>();
    let project::Rule::JavaLibrary { srcs, javac_opts } = &target.rule else {
        return Err(ctx.fail("not a java-library"));
    };
    let got = ctx
        .fetch_all(vec![tool_key("javac"), glob_key(srcs)])
        .await?;
    let files = got[1].files().to_vec();
    if files.is_empty() {
        return Err(ctx.fail(format!("no Java sources match {}", srcs.join(", "))));
    }
    check_literals(ctx, srcs, &files)?;
    // Every target below, not only the direct ones: javac reads them all, so a change in any
    // of them may change these classes even when the direct deps' classes cut off. Java
    // libraries count by their ABI only: what javac can observe of them.
    let deps = Deps::fetch_shapes(ctx).await?;
    deps.fetch_compiled(ctx).await?;
    fetch_files(env, ctx, &files, false).await?;

    let jdk = env.jdk()?;
    let classpath = deps.classpath(env);
    let stage = ctx.stage();
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
    let out = crate::javac_worker::run(env, ctx, jdk, &args).await?;
    if !out.success() {
        return Err(ctx.fail(format!("javac failed ({})", out.exit_text())));
    }
    let info = Info {
        abi: Some(abi(ctx.stage())?),
        ..deps.info(ctx.target(), target)
    };
    Ok(info.to_value())
}

/// The digest of what a compiler that uses these classes can observe: each class file's ABI
/// (`kbuild_classfile::abi_digest`), any other file whole. An annotation processor among them
/// runs inside its users' javac, so then every file counts whole; so does a class file that
/// does not parse.
fn abi(stage: &Path) -> Result<Hash, BuildError> {
    const PROCESSORS: &str = "META-INF/services/javax.annotation.processing.Processor";
    let whole = stage.join(PROCESSORS).exists();
    let mut all = Vec::new();
    for entry in walkdir::WalkDir::new(stage).sort_by_file_name() {
        let entry = entry.map_err(|e| BuildError::Input(format!("reading classes: {e}")))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(stage).unwrap_or(entry.path());
        let bytes = std::fs::read(entry.path()).map_err(|e| BuildError::io(rel.display(), e))?;
        let is_class = rel.extension().is_some_and(|e| e == "class");
        let digest = match kbuild_classfile::abi_digest(&bytes) {
            Ok(abi) if is_class && !whole => abi,
            _ => Hash::of(&bytes).0,
        };
        all.extend_from_slice(rel.to_string_lossy().as_bytes());
        all.push(0);
        all.extend_from_slice(&digest);
    }
    Ok(Hash::of(&all))
}
