//! Running the project's JVM in the foreground: `kbuild repl` and `kbuild run`.

use std::path::Path;
use std::process::Command;

use crate::env::Options;
use crate::project::{Jvm, Project, Rule};
use crate::rules::maven;

/// The nREPL that Leiningen 2.10's base profile puts on a REPL's classpath.
pub const NREPL: &str = "nrepl:nrepl:1.0.0";

fn has_nrepl(cp: &[String]) -> bool {
    cp.iter().any(|e| {
        Path::new(e)
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("nrepl-"))
    })
}

/// nREPL's jars, resolved from the repositories the project's :maven targets use.
fn resolve_nrepl(project: &Project, options: &Options) -> Result<Vec<String>, String> {
    let (repos, allow_http) = project
        .targets
        .values()
        .find_map(|t| match &t.rule {
            Rule::Maven {
                repositories,
                allow_http,
                ..
            } => Some((repositories.clone(), *allow_http)),
            _ => None,
        })
        .unwrap_or_default();
    let config = maven::config(&repos, allow_http, options);
    let root = kbuild_resolvers::Dependency::parse(NREPL).map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let resolution = rt
        .block_on(kbuild_resolvers::resolve(&config, &[root], &[]))
        .map_err(|e| e.to_string())?;
    Ok(resolution
        .artifacts
        .iter()
        .map(|a| a.file.to_string_lossy().into_owned())
        .collect())
}

/// The project.clj's `:jvm-opts`, `:global-vars` and `:injections`, as `lein repl` and
/// `lein run` use them.
fn jvm(project: &Project) -> Jvm {
    project.clojure.as_ref().map(Jvm::of).unwrap_or_default()
}

/// Replaces this process by the JVM: signals reach it directly, its exit code is ours, and
/// nothing is left running when it is killed.
fn exec_java(project: &Project, java: &Path, cp: &[String], args: &[String]) -> String {
    use std::os::unix::process::CommandExt;
    let err = java_command(project, java, cp, args).exec();
    format!("cannot run {}: {err}", java.display())
}

fn java_command(project: &Project, java: &Path, cp: &[String], args: &[String]) -> Command {
    let mut cmd = Command::new(java);
    cmd.args(&jvm(project).opts)
        .arg("-cp")
        .arg(cp.join(":"))
        .args(args)
        .current_dir(&project.root);
    cmd
}

pub fn repl(
    project: &Project,
    java_bin: &Path,
    mut cp: Vec<String>,
    headless: bool,
    options: &Options,
) -> Result<(), String> {
    let mut nrepl = has_nrepl(&cp);
    if !nrepl {
        match resolve_nrepl(project, options) {
            Ok(jars) => {
                cp.extend(jars);
                nrepl = true;
            }
            Err(e) if headless => {
                return Err(format!(
                    "--headless needs nREPL, which could not be resolved: {e}"
                ))
            }
            Err(e) => eprintln!("warning: no nREPL ({e}); starting a plain clojure.main REPL"),
        }
    }
    // Like `lein repl`, start in the project's :main namespace when it has one.
    let init = match project.clojure.as_ref().and_then(|c| c.main.as_ref()) {
        Some(ns) => format!(
            "(fn [] (try (require '{ns}) (in-ns '{ns}) \
             (catch Throwable e (println \"could not load {ns}:\" (.getMessage e)) (in-ns 'user))))"
        ),
        None => "(fn [] (in-ns 'user))".to_string(),
    };
    let prelude = jvm(project).prelude_form();
    let script = if nrepl {
        let attach = if headless {
            "@(promise)".to_string()
        } else {
            format!("(clojure.main/repl :init {init}) (System/exit 0)")
        };
        format!(
            "{prelude} (require 'nrepl.server) \
             (let [server (nrepl.server/start-server :bind \"127.0.0.1\") \
                   port (:port server) \
                   port-file (java.io.File. \".nrepl-port\")] \
               (spit port-file port) \
               (.deleteOnExit port-file) \
               (println (str \"nREPL server started on port \" port \" on host 127.0.0.1 - nrepl://127.0.0.1:\" port)) \
               (flush) \
               {attach})"
        )
    } else {
        format!("{prelude} (clojure.main/repl :init {init})")
    };
    Err(exec_java(
        project,
        java_bin,
        &cp,
        &["clojure.main".into(), "-e".into(), script],
    ))
}

/// What `clojure.main` runs: `-m NS` when given, or else what the project names: a deps.edn's
/// `:main-opts` (as `clojure -M:alias` does) or a project.clj's `:main` (as `lein run`).
/// `None` when there is nothing to run.
pub fn main_opts(project: &Project, main: Option<&str>) -> Option<Vec<String>> {
    let by_name = |ns: &str| vec!["-m".to_string(), ns.to_string()];
    if let Some(ns) = main {
        return Some(by_name(ns));
    }
    let c = project.clojure.as_ref()?;
    if c.main_opts.is_empty() {
        c.main.as_deref().map(by_name)
    } else {
        Some(c.main_opts.clone())
    }
}

/// Runs `clojure.main` with `main_opts` (from [`main_opts`]) and `args`; the program's exit
/// code becomes kbuild's.
pub fn run(
    project: &Project,
    java_bin: &Path,
    cp: &[String],
    main_opts: Vec<String>,
    args: &[String],
) -> Result<(), String> {
    Err(exec_java(
        project,
        java_bin,
        cp,
        &run_args(project, main_opts, args),
    ))
}

/// [`run`] as a child process, for `kbuild watch run`, which ends it when a file changes.
pub fn spawn_run(
    project: &Project,
    java_bin: &Path,
    cp: &[String],
    main_opts: Vec<String>,
    args: &[String],
) -> Result<std::process::Child, String> {
    java_command(project, java_bin, cp, &run_args(project, main_opts, args))
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", java_bin.display()))
}

fn run_args(project: &Project, main_opts: Vec<String>, args: &[String]) -> Vec<String> {
    let mut all = vec!["clojure.main".to_string()];
    let prelude = jvm(project).prelude_form();
    if !prelude.is_empty() {
        all.extend(["-e".to_string(), prelude]);
    }
    all.extend(main_opts);
    all.extend_from_slice(args);
    all
}
