//! `prep-run` and `lein-task`: a project.clj's `:prep-tasks` entries other than javac and
//! compile. A generator (`["run" "-m" NS ARGS...]`) runs in the project root and writes into
//! the project tree, as under Leiningen, so the targets after it see its files on their own
//! paths. Only the paths it declares in `:kbuild/outputs` are its product: they are removed
//! before it runs (never through a symbolic link), copied into the product after, and
//! checked before it counts as up to date ([`check_outputs`]). Any other task runs through
//! `lein`, every build.

use std::fs;
use std::path::{Path, PathBuf};

use kbuild_engine::{output_digest, BuildError, Cause, Ctx, Db, Product};

use super::clojure::{java_classpath, source_globs};
use super::info::Deps;
use super::{exit_text, fetch_files, run_tool, walk_without_links, Walked};
use crate::env::Env;
use crate::inputs::{glob_key, on_path, tool_key};
use crate::project::{self, Target};

pub async fn generator(env: &Env, ctx: &Ctx) -> Result<serde_json::Value, BuildError> {
    let target = ctx.spec::<Target>();
    let project::Rule::PrepRun {
        args,
        paths,
        outputs,
        jvm,
    } = &target.rule
    else {
        return Err(ctx.fail("not a prep-run target"));
    };
    let entry = format!(
        "project.clj:{}: prep task [\"run\" \"-m\" {}]",
        target.line,
        quoted(args)
    );
    let deps = Deps::fetch(ctx).await?;
    let closure = deps.fetch_closure(ctx).await?;
    if outputs.is_empty() {
        // Nothing says what it writes, so nothing can say it is up to date.
        ctx.reporter().warn(&format!(
            "target {}: {entry} declares no :kbuild/outputs, so it runs every build",
            ctx.target()
        ));
    } else {
        // Its classpath's sources but its own outputs, which are read once it ran. The
        // exclusions also keep this list apart from the one later targets take of the
        // same paths, which must include the outputs.
        let mut globs = source_globs(paths);
        for o in outputs {
            globs.extend([format!("!{o}"), format!("!{o}/**")]);
        }
        let got = ctx
            .fetch_all(vec![tool_key("javac"), glob_key(&globs)])
            .await?;
        fetch_files(env, ctx, got[1].files(), false).await?;
        for o in outputs {
            if let Some(at) = in_tree(ctx, o)? {
                let gone = if at.is_dir() {
                    fs::remove_dir_all(&at)
                } else {
                    fs::remove_file(&at)
                };
                gone.map_err(|e| BuildError::io(at.display(), e))?;
            }
        }
    }
    let mut argv = jvm.opts.clone();
    argv.extend([
        "-cp".to_string(),
        java_classpath(env, paths, &closure, &[]),
        "clojure.main".to_string(),
    ]);
    if !jvm.prelude.is_empty() {
        argv.extend(["-e".to_string(), jvm.prelude_form()]);
    }
    argv.push("-m".to_string());
    argv.extend(args.iter().cloned());
    let java = env.jdk()?.java.clone();
    let out = run_tool(ctx, &java, &argv, &[]).await?;
    if !out.status.success() {
        return Err(ctx.fail(format!("{entry} failed ({})", exit_text(out.status.code()))));
    }
    if outputs.is_empty() {
        return Ok(deps.info(ctx.target(), target).to_value());
    }
    let stage = ctx.stage();
    for o in outputs {
        let Some(from) = in_tree(ctx, o)? else {
            return Err(ctx.fail(format!("{entry} did not write {o}, which it declares")));
        };
        copy_out(ctx, &from, &stage.join(o), o)?;
    }
    Ok(deps.info(ctx.target(), target).to_value())
}

/// A generator is up to date only while the files it wrote into the project are still as it
/// wrote them (its product's copies): one deleted or edited there runs it again, as `lein`
/// would. They cannot be its inputs, which are all computed before it runs.
pub fn check_outputs(env: &Env, product: &Product, db: &Db) -> Result<(), String> {
    for (path, entry) in &product.files {
        let found = output_digest(db, &env.root().join(path), path).map_err(|e| e.to_string())?;
        if !matches!(found, Some((h, _)) if h == entry.digest) {
            return Err(format!(
                "{path}, which it wrote into the project, is missing or changed"
            ));
        }
    }
    Ok(())
}

/// The declared output `rel` in the project when it exists; an error when it, or a directory
/// on the way to it, is a symbolic link (which could lead out of the project).
fn in_tree(ctx: &Ctx, rel: &str) -> Result<Option<PathBuf>, BuildError> {
    match walk_without_links(ctx.root(), rel) {
        Walked::Found(at) => Ok(Some(at)),
        Walked::Missing => Ok(None),
        Walked::Link(at) => Err(ctx.fail(format!(
            "{} is a symbolic link; a :kbuild/outputs path must lead to files and \
             directories in the project",
            at.strip_prefix(ctx.root()).unwrap_or(&at).display()
        ))),
    }
}

/// Copies an output (a file, or a directory of files and directories) into the product.
fn copy_out(ctx: &Ctx, from: &Path, to: &Path, rel: &str) -> Result<(), BuildError> {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.map_err(|e| ctx.fail(format!("reading {rel}: {e}")))?;
        let dest = match entry.path().strip_prefix(from) {
            Ok(rest) if !rest.as_os_str().is_empty() => to.join(rest),
            _ => to.to_path_buf(),
        };
        let kind = entry.file_type();
        if kind.is_dir() {
            fs::create_dir_all(&dest).map_err(|e| BuildError::io(dest.display(), e))?;
        } else if kind.is_file() {
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent).map_err(|e| BuildError::io(parent.display(), e))?;
            }
            fs::copy(entry.path(), &dest).map_err(|e| BuildError::io(entry.path().display(), e))?;
        } else {
            return Err(ctx.fail(format!(
                "{} under {rel} is not a regular file or directory",
                entry.path().display()
            )));
        }
    }
    Ok(())
}

pub async fn lein(_env: &Env, ctx: &Ctx) -> Result<serde_json::Value, BuildError> {
    let target = ctx.spec::<Target>();
    let project::Rule::LeinTask { args } = &target.rule else {
        return Err(ctx.fail("not a lein-task target"));
    };
    let entry = format!("project.clj:{}: prep task [{}]", target.line, quoted(args));
    let deps = Deps::fetch(ctx).await?;
    let Some(lein) = on_path("lein") else {
        return Err(ctx.fail_as(
            Cause::Environment,
            format!(
                "{entry} is not one kbuild runs itself (javac, compile, [\"run\" \"-m\" NS ...]) \
                 and lein is not on PATH to run it; install Leiningen or take it out of :prep-tasks"
            ),
        ));
    };
    ctx.reporter().warn(&format!(
        "target {}: {entry} runs through lein, uncached, every build",
        ctx.target()
    ));
    // Leiningen runs a prep task on the project without its :prep-tasks, which also keeps a
    // task that prepares (eval-in-project) from running this one again.
    let mut argv: Vec<String> = ["update-in", ":", "assoc", ":prep-tasks", "[]", "--"]
        .map(String::from)
        .to_vec();
    argv.extend(args.iter().cloned());
    let out = run_tool(ctx, &lein, &argv, &[]).await?;
    if !out.status.success() {
        return Err(ctx.fail(format!(
            "{entry}: lein {} failed ({})",
            args.join(" "),
            exit_text(out.status.code())
        )));
    }
    Ok(deps.info(ctx.target(), target).to_value())
}

fn quoted(args: &[String]) -> String {
    args.iter()
        .map(|a| format!("{a:?}"))
        .collect::<Vec<_>>()
        .join(" ")
}
