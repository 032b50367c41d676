//! The operations behind the commands: each takes a project (or a directory) and options,
//! does its work through a [`Session`], and returns what the command prints. Errors are
//! [`Failure`]s, whose kind is the exit code the CLI gives.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use kbuild_engine::{BuildError, Cause, StateLock};

use crate::env::Options;
use crate::printer::Printer;
use crate::project::{Exports, Project, Rule, Selection, SettingsError};
use crate::session::Session;

pub mod clean;
pub mod conflicts;
pub mod inspect;
pub mod lock;
pub mod outdated;
pub mod package;
pub mod prep;
pub mod publish;
pub mod resolve;
pub mod test;

/// Exit codes: 1 a build failed, 2 the command line or build file is wrong, 3 the
/// environment is (missing tools, unreadable files, a locked database), 4 dependency
/// resolution failed.
pub enum Failure {
    Build(String),
    Usage(String),
    Env(String),
    Resolve(String),
}

impl From<SettingsError> for Failure {
    fn from(e: SettingsError) -> Failure {
        Failure::Usage(e.to_string())
    }
}

impl From<BuildError> for Failure {
    fn from(e: BuildError) -> Failure {
        Failure::Env(e.to_string())
    }
}

/// Builds what the named targets need (all targets when none are named; a test target's
/// dependencies, not its tests) and returns their classpath.
pub fn classpath(
    project: &Arc<Project>,
    names: Vec<String>,
    json: bool,
    options: &Options,
) -> Result<(Session, Vec<String>), Failure> {
    // Jars are not part of a classpath: by default, everything else.
    let names = if names.is_empty() {
        project.targets_where(|r| !matches!(r, Rule::Jar(_) | Rule::Uberjar(_)))
    } else {
        names
    };
    known_targets(project, &names)?;
    let mut to_build: Vec<String> = Vec::new();
    for n in &names {
        match project.targets[n].rule {
            Rule::Test { .. } => to_build.extend(project.targets[n].deps.iter().cloned()),
            _ => to_build.push(n.clone()),
        }
    }
    to_build.dedup();
    let session = build(project, &to_build, json, options)?;
    let cp = session.classpath(&names);
    Ok((session, cp))
}

/// Builds everything a JVM on the project's classpath needs; returns `java` and the classpath.
pub fn jvm(
    project: &Arc<Project>,
    json: bool,
    options: &Options,
) -> Result<(PathBuf, Vec<String>), Failure> {
    let (session, cp) = classpath(project, Vec::new(), json, options)?;
    let jdk = session.env.jdk().map_err(|e| Failure::Env(e.to_string()))?;
    Ok((jdk.java.clone(), cp))
}

/// Takes the lock on the state (`.kbuild/lock`) of the project that discovery finds from `dir`
/// (the nearest directory above it with a build file), waiting for another kbuild unless
/// `no_wait`. None when there is no project: discovery then says so.
pub fn lock_state(dir: &Path, no_wait: bool) -> Result<Option<Arc<StateLock>>, Failure> {
    let Some(root) = crate::project::root_above(dir) else {
        return Ok(None);
    };
    let lock = StateLock::acquire(&root.join(".kbuild"), !no_wait, &|| {
        eprintln!("waiting for another kbuild in {}...", root.display())
    })?;
    Ok(Some(Arc::new(lock)))
}

pub fn known_targets(project: &Project, names: &[String]) -> Result<(), Failure> {
    for n in names {
        if !project.targets.contains_key(n) {
            let known = project.order.join(", ");
            return Err(Failure::Usage(format!(
                "{}: no target named {n} (targets: {known})",
                project.file
            )));
        }
    }
    Ok(())
}

pub fn runtime(jobs: usize) -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(jobs.clamp(2, 64))
        .enable_all()
        .build()
        .map_err(|e| Failure::Env(format!("starting the runtime: {e}")))
}

/// The project that discovery finds from `dir`, with every git library a deps.edn reaches
/// (its own deps.edn, what that depends on): reading stays free of side effects, and the
/// exports are a step of the build. Each round builds the `git-lib` targets still pending
/// (traced and cached, so a no-op runs no git) and reads the project again with their trees,
/// until no library names a git library not yet exported. The checkout's lock is taken for
/// that if the command does not hold it yet.
pub fn read(
    dir: &Path,
    selection: &Selection,
    json: bool,
    no_wait: bool,
    options: &Options,
) -> Result<Project, Failure> {
    let mut exports = Exports::new();
    let mut options = options.clone();
    loop {
        let project = Project::read(dir, selection, &exports)?;
        if project.git_pending.is_empty() {
            let printer = Printer::new(json);
            for note in project.clojure.iter().flat_map(|c| &c.notes) {
                printer.warn(note);
            }
            return Ok(project);
        }
        if options.lock.is_none() {
            options.lock = lock_state(dir, no_wait)?;
        }
        let project = Arc::new(project);
        let printer = Arc::new(Printer::new(json));
        let (session, failure) = run_build(&project, &project.git_pending, &printer, &options)?;
        if let Some(failure) = failure {
            return Err(failure);
        }
        for name in &project.git_pending {
            let export = session.info(name).and_then(|i| i.export).ok_or_else(|| {
                Failure::Build(format!("target {name}: its product names no export"))
            })?;
            exports.insert(name.clone(), export.dir);
        }
    }
}

pub fn build(
    project: &Arc<Project>,
    targets: &[String],
    json: bool,
    options: &Options,
) -> Result<Session, Failure> {
    let started = Instant::now();
    // Tests run with `kbuild test`, not as part of a plain build, and a project.clj's
    // jars with `kbuild jar` / `kbuild uberjar`.
    let targets = if targets.is_empty() {
        project.targets_where(|r| match r {
            Rule::Test { .. } => false,
            Rule::Jar(_) | Rule::Uberjar(_) => project.clojure.is_none(),
            _ => true,
        })
    } else {
        targets.to_vec()
    };
    known_targets(project, &targets)?;
    let printer = Arc::new(Printer::new(json));
    let (session, failure) = run_build(project, &targets, &printer, options)?;
    printer.summary(started.elapsed().as_millis() as u64);
    match failure {
        None => Ok(session),
        Some(failure) => Err(failure),
    }
}

/// Brings `targets` up to date in a new session: the session, and the failure to report if
/// any of them failed.
fn run_build(
    project: &Arc<Project>,
    targets: &[String],
    printer: &Arc<Printer>,
    options: &Options,
) -> Result<(Session, Option<Failure>), Failure> {
    let session = Session::open(project.clone(), printer.clone(), options.clone())?;
    let rt = runtime(options.jobs)?;
    let results = rt.block_on(session.build(targets));
    session.env.javac.disconnect();
    let failed: Vec<&str> = results
        .iter()
        .filter(|(_, r)| r.is_err())
        .map(|(t, _)| t.as_str())
        .collect();
    if failed.is_empty() {
        return Ok((session, None));
    }
    let c = printer.counts();
    let message = format!(
        "build failed: {} task(s) failed ({} requested target(s) not built: {})",
        c.failed,
        failed.len(),
        failed.join(", ")
    );
    // The exit code says what the failures that caused the others were about.
    let cause = session
        .engine
        .failures()
        .iter()
        .map(|(_, e)| e.cause())
        .max()
        .unwrap_or(Cause::Build);
    let failure = match cause {
        Cause::Build => Failure::Build(message),
        Cause::Resolution => Failure::Resolve(message),
        Cause::Environment => Failure::Env(message),
    };
    Ok((session, Some(failure)))
}
