//! The built-in rule kinds, one file each, registered in [`registry`]. A rule fetches what it
//! needs through its `Ctx` (which records the trace), writes its outputs into the stage
//! directory, and returns its providers ([`info::Info`]); the engine takes the stage into the
//! content store and moves it into place.

mod clojure;
pub use clojure::{junit_from_product, REPORT as TEST_REPORT};
mod command;
mod git_lib;
pub mod info;
mod jar;
mod java;
pub mod maven;
mod ns_deps;
mod prep;
mod resources;
mod test_plan;
mod test_results;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use kbuild_engine::{BuildError, Computed, Ctx, Db, Product, Rule};

use crate::env::Env;
use crate::inputs::{file_key, glob_key};

/// Every rule kind, by the name build files use, with its version: bumped when the rule's
/// output for the same inputs changes, which invalidates that kind's traces only.
/// (2: products carry providers. 3, command: `:outs` that leave `$OUT` or are links are errors,
/// they made empty products; 3, uberjar: entries whose names leave the jar's root are left out;
/// 3, test: per-namespace outcomes, kept in the product and the part cache.)
pub fn registry(env: &Arc<Env>) -> BTreeMap<&'static str, Arc<dyn Rule>> {
    let all = [
        Kind::new("java-library", 2, |e, c| java::run(e, c).boxed()),
        Kind::new("resources", 2, |e, c| resources::run(e, c).boxed()),
        Kind::new("command", 3, |e, c| command::run(e, c).boxed()),
        Kind::new("jar", 2, |e, c| jar::run(e, c, false).boxed()),
        Kind::new("uberjar", 3, |e, c| jar::run(e, c, true).boxed()),
        Kind::new("maven", 2, |e, c| maven::run(e, c).boxed()).checking(maven::check_restore),
        Kind::new("clojure-library", 2, |e, c| clojure::library(e, c).boxed()),
        Kind::new("test", 3, |e, c| clojure::test(e, c).boxed()),
        Kind::new("git-lib", 1, |e, c| git_lib::run(e, c).boxed()),
        Kind::new("prep-run", 1, |e, c| prep::generator(e, c).boxed())
            .checking(prep::check_outputs),
        Kind::new("lein-task", 1, |e, c| prep::lein(e, c).boxed()),
    ];
    all.into_iter()
        .map(|k| {
            let rule: Arc<dyn Rule> = Arc::new(Bound(k, env.clone()));
            (k.name, rule)
        })
        .collect()
}

type RunFn = for<'a> fn(&'a Env, &'a Ctx) -> BoxFuture<'a, Result<serde_json::Value, BuildError>>;
type CheckFn = fn(&Env, &Product, &Db) -> Result<(), String>;

/// A rule kind: its name, version, and the functions that run it.
#[derive(Clone, Copy)]
struct Kind {
    name: &'static str,
    version: u32,
    run: RunFn,
    check_restore: Option<CheckFn>,
}

impl Kind {
    fn new(name: &'static str, version: u32, run: RunFn) -> Kind {
        Kind {
            name,
            version,
            run,
            check_restore: None,
        }
    }

    fn checking(self, check: CheckFn) -> Kind {
        Kind {
            check_restore: Some(check),
            ..self
        }
    }
}

/// A kind with the invocation's shared state, as the engine takes it.
struct Bound(Kind, Arc<Env>);

impl Rule for Bound {
    fn name(&self) -> &'static str {
        self.0.name
    }

    fn version(&self) -> u32 {
        self.0.version
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<serde_json::Value, BuildError>> {
        (self.0.run)(&self.1, ctx)
    }

    fn check_restore(&self, product: &Computed, db: &Db) -> Result<(), String> {
        let Some(check) = self.0.check_restore else {
            return Ok(());
        };
        let product = product
            .product()
            .ok_or("the stored product cannot be read")?;
        check(&self.1, product, db)
    }
}

/// Fetches the files matching `globs` as one batch, then their contents as another: with
/// the build file's hashers, or raw for rules that copy bytes (design rule 2).
async fn fetch_sources(
    env: &Env,
    ctx: &Ctx,
    globs: &[String],
    raw: bool,
) -> Result<Vec<String>, BuildError> {
    let files = ctx.fetch(glob_key(globs)).await?.files().to_vec();
    check_literals(ctx, globs, &files)?;
    fetch_files(env, ctx, &files, raw).await?;
    Ok(files)
}

async fn fetch_files(
    env: &Env,
    ctx: &Ctx,
    files: &[String],
    raw: bool,
) -> Result<Vec<Computed>, BuildError> {
    let sha512 = kbuild_hashers::by_name("sha512").expect("sha512 is built in");
    let keys = files
        .iter()
        .map(|f| file_key(f, if raw { sha512 } else { env.hasher_for(f) }))
        .collect();
    Ok(ctx.fetch_all(keys).await?)
}

/// A source named literally (no glob syntax) that does not exist is a mistake worth an error.
fn check_literals(ctx: &Ctx, globs: &[String], files: &[String]) -> Result<(), BuildError> {
    for g in globs {
        if !g.contains(['*', '?', '[', '{'])
            && !files
                .iter()
                .any(|f| f == g || f.starts_with(&format!("{g}/")))
        {
            return Err(ctx.fail(format!("source {g} does not exist")));
        }
    }
    Ok(())
}

/// Runs an external tool within the `-j` limit, in the project root, and shows its output.
pub(crate) async fn run_tool(
    ctx: &Ctx,
    program: &Path,
    args: &[String],
    env: &[(&str, &Path)],
) -> Result<std::process::Output, BuildError> {
    let out = run_tool_quiet(ctx, program, args, env).await?;
    show(ctx, &out);
    Ok(out)
}

/// [`run_tool`], leaving it to the caller to [`show`] the output or not.
pub(crate) async fn run_tool_quiet(
    ctx: &Ctx,
    program: &Path,
    args: &[String],
    env: &[(&str, &Path)],
) -> Result<std::process::Output, BuildError> {
    let _slot = ctx.job_slot().await;
    ctx.reporter().running(ctx.target());
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .current_dir(ctx.root())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .await
        .map_err(|e| ctx.fail(format!("cannot run {}: {e}", program.display())))?;
    Ok(out)
}

/// Shows a tool's output as the target's.
fn show(ctx: &Ctx, out: &std::process::Output) {
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    ctx.reporter().tool_output(ctx.target(), &text);
}

/// How a tool ended, from its exit code (None: a signal ended it).
pub(crate) fn exit_text(code: Option<i32>) -> String {
    match code {
        Some(c) => format!("exit status {c}"),
        None => "killed by a signal".to_string(),
    }
}

/// Where a relative path leads under a directory, followed part by part.
enum Walked {
    Found(std::path::PathBuf),
    Missing,
    /// This part of the way is a symbolic link, which could lead out of the directory.
    Link(std::path::PathBuf),
}

/// Follows `rel` (`/`-separated) from `base` without going through a symbolic link: `a/b`
/// with `a` a link to elsewhere is not a `b` under `base`.
fn walk_without_links(base: &Path, rel: &str) -> Walked {
    let mut at = base.to_path_buf();
    for part in rel.split('/') {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Err(_) => return Walked::Missing,
            Ok(m) if m.file_type().is_symlink() => return Walked::Link(at),
            Ok(_) => {}
        }
    }
    Walked::Found(at)
}
