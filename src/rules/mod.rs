//! The built-in rule kinds. A rule fetches what it needs through its `Ctx` (which records
//! the trace), then writes its outputs into a fresh stage directory; the engine takes the
//! stage into the content store and moves it into place.

mod clojure;
pub use clojure::REPORT as TEST_REPORT;
mod command;
mod jar;
mod java;
pub mod maven;
mod resources;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::engine::{hasher_tag, BuildError, Computed, Ctx, Engine, Key};
use crate::settings::{Rule, Target};

pub async fn run(ctx: &Ctx, target: &Target, stage: &Path) -> Result<(), BuildError> {
    match &target.rule {
        Rule::JavaLibrary { srcs, javac_opts } => java::run(ctx, srcs, javac_opts, stage).await,
        Rule::Resources { root, srcs } => resources::run(ctx, root, srcs, stage).await,
        Rule::Command { srcs, outs, cmd } => command::run(ctx, srcs, outs, cmd, stage).await,
        Rule::Jar(package) => jar::run(ctx, package, false, stage).await,
        Rule::Uberjar(package) => jar::run(ctx, package, true, stage).await,
        Rule::Maven {
            coords,
            managed,
            repositories,
            allow_http,
            newest,
            lein_order,
        } => {
            let order = if *lein_order {
                maven::Order::Leiningen
            } else {
                maven::Order::Resolution
            };
            let mediation = if *newest {
                kbuild_resolvers::Mediation::Newest
            } else {
                kbuild_resolvers::Mediation::Nearest
            };
            maven::run(
                ctx,
                coords,
                managed,
                repositories,
                *allow_http,
                mediation,
                order,
            )
            .await
        }
        Rule::ClojureLibrary { paths, aot, jvm } => {
            clojure::library(ctx, paths, aot, jvm, stage).await
        }
        Rule::Test {
            paths,
            select,
            selectors,
            jvm,
        } => clojure::test(ctx, paths, select, selectors, jvm, stage).await,
    }
}

/// Fetches the files matching `globs` as one batch, then their contents as another: with
/// the build file's hashers, or raw for rules that copy bytes (design rule 2).
async fn fetch_sources(ctx: &Ctx, globs: &[String], raw: bool) -> Result<Vec<String>, BuildError> {
    let files = ctx.fetch(Key::Glob(globs.to_vec())).await?.files().to_vec();
    check_literals(ctx, globs, &files)?;
    fetch_files(ctx, &files, raw).await?;
    Ok(files)
}

async fn fetch_files(ctx: &Ctx, files: &[String], raw: bool) -> Result<Vec<Computed>, BuildError> {
    let sha512 = kbuild_hashers::by_name("sha512").expect("sha512 is built in");
    let keys = files
        .iter()
        .map(|f| {
            let h = if raw {
                sha512
            } else {
                ctx.project().hasher_for(f)
            };
            Key::File {
                path: f.clone(),
                hasher: hasher_tag(h),
            }
        })
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

/// Where a target's product sits on a classpath: its output directory, its jar, or the
/// jars a Maven resolution found.
pub fn classpath_entries(engine: &Engine, name: &str, computed: &Computed) -> Vec<PathBuf> {
    let dir = engine.out_dir(name);
    match engine.project.targets.get(name).map(|t| &t.rule) {
        Some(Rule::Jar(_) | Rule::Uberjar(_)) => vec![dir.join(format!("{name}.jar"))],
        Some(Rule::Maven { .. }) => computed
            .product()
            .map(|p| {
                p.artifacts
                    .iter()
                    .filter(|a| a.file.ends_with(".jar"))
                    .filter_map(|a| engine.artifact_path(a).ok())
                    .collect()
            })
            .unwrap_or_default(),
        Some(Rule::ClojureLibrary { paths, aot, .. }) => {
            let mut out: Vec<PathBuf> = paths.iter().map(|p| engine.project.root.join(p)).collect();
            if !aot.is_empty() {
                out.push(dir);
            }
            out
        }
        Some(Rule::Test { paths, .. }) => {
            paths.iter().map(|p| engine.project.root.join(p)).collect()
        }
        _ => vec![dir],
    }
}

/// The classpath that targets' products make, in order, each entry once.
pub fn classpath(engine: &Engine, names: &[String], computed: &[Computed]) -> Vec<String> {
    let mut cp: Vec<String> = Vec::new();
    for (name, c) in names.iter().zip(computed) {
        for entry in classpath_entries(engine, name, c) {
            let entry = entry.to_string_lossy().into_owned();
            if !cp.contains(&entry) {
                cp.push(entry);
            }
        }
    }
    cp
}

/// Runs an external tool within the `-j` limit, in the project root, and shows its output.
async fn run_tool(
    ctx: &Ctx,
    program: &Path,
    args: &[String],
    env: &[(&str, &Path)],
) -> Result<std::process::Output, BuildError> {
    let _slot = ctx.engine.job_slot().await;
    ctx.engine.printer.running(&ctx.target);
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .current_dir(&ctx.project().root)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .await
        .map_err(|e| ctx.fail(format!("cannot run {}: {e}", program.display())))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    ctx.engine.printer.tool_output(&ctx.target, &text);
    Ok(out)
}

fn exit_text(status: std::process::ExitStatus) -> String {
    match status.code() {
        Some(c) => format!("exit status {c}"),
        None => "killed by a signal".to_string(),
    }
}

/// The products of dependency targets, fetched as one batch.
async fn fetch_targets(ctx: &Ctx, names: &[String]) -> Result<Vec<Computed>, BuildError> {
    Ok(ctx
        .fetch_all(names.iter().map(|n| Key::Target(n.clone())).collect())
        .await?)
}

impl From<std::sync::Arc<BuildError>> for BuildError {
    fn from(e: std::sync::Arc<BuildError>) -> BuildError {
        match std::sync::Arc::try_unwrap(e) {
            Ok(e) => e,
            Err(shared) => match &*shared {
                BuildError::DepFailed { target, dep } => BuildError::DepFailed {
                    target: target.clone(),
                    dep: dep.clone(),
                },
                BuildError::Cycle(p) => BuildError::Cycle(p.clone()),
                other => BuildError::Input(other.to_string()),
            },
        }
    }
}
