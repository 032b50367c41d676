//! `java-library`: javac over source globs, with the classes of every dependency (and
//! theirs) on the classpath.

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use kbuild_engine::{BuildError, Ctx, Rule};

use super::info::{closure_classpath, Deps};
use super::{check_literals, exit_text, fetch_files, run_tool};
use crate::env::Env;
use crate::inputs::{glob_key, tool_key};
use crate::project::{self, Target};

pub struct JavaLibrary(pub Arc<Env>);

impl Rule for JavaLibrary {
    fn name(&self) -> &'static str {
        "java-library"
    }

    /// 2: products carry providers.
    fn version(&self) -> u32 {
        2
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<serde_json::Value, BuildError>> {
        run(&self.0, ctx).boxed()
    }
}

async fn run(env: &Env, ctx: &Ctx) -> Result<serde_json::Value, BuildError> {
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
    // of them may change these classes even when the direct deps' classes cut off.
    let deps = Deps::fetch(ctx).await?;
    let closure = deps.fetch_closure(ctx).await?;
    fetch_files(env, ctx, &files, false).await?;

    let jdk = env.jdk()?;
    let classpath = closure_classpath(env, &closure);
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
    let out = run_tool(ctx, &jdk.javac, &args, &[]).await?;
    if !out.status.success() {
        return Err(ctx.fail(format!("javac failed ({})", exit_text(out.status))));
    }
    Ok(deps.info(ctx.target(), target).to_value())
}
