//! The command line: argument parsing (clap) and one place that turns every error into one
//! clear message and a distinct exit code. Each command is a call to an operation in
//! [`crate::ops`] and the printing of what it returns.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::env::Options;
use crate::launch;
use crate::ops::{self, lock_state, Failure};
use crate::project::{Project, Selection};

#[derive(Parser)]
#[command(
    name = "kbuild",
    version,
    about = "An incremental build companion for JVM and Clojure projects"
)]
struct Cli {
    /// Run as if started in DIR.
    #[arg(short = 'C', long = "directory", global = true, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Print one JSON object per line on stdout instead of human output.
    #[arg(long, global = true)]
    json: bool,
    /// When another kbuild is using this checkout, fail at once (exit 3) instead of waiting.
    #[arg(long = "no-wait", global = true)]
    no_wait: bool,
    /// How many tools (javac, commands) may run at once; default: the number of cores.
    #[arg(short = 'j', long = "jobs", global = true, value_name = "N")]
    jobs: Option<usize>,
    /// Run every javac as its own process, not in the warm javac worker.
    #[arg(long = "no-worker", global = true)]
    no_worker: bool,
    /// Resolve Maven artifacts from the local repository only.
    #[arg(long, global = true)]
    offline: bool,
    /// Check the repositories' metadata (snapshots, version ranges) now, whatever their
    /// update policies, as mvn's -U.
    #[arg(short = 'U', long = "update-snapshots", global = true)]
    update_snapshots: bool,
    /// The local Maven repository (default: settings.xml's localRepository, else ~/.m2/repository).
    #[arg(long = "local-repo", global = true, value_name = "DIR")]
    local_repo: Option<PathBuf>,
    /// Leiningen profiles for a project.clj, as `lein with-profile` takes them: `+p` adds to
    /// the task's defaults, `-p` removes, a bare name replaces them (repeatable, or p1,p2).
    #[arg(
        long = "profile",
        global = true,
        value_name = "P",
        value_delimiter = ',',
        allow_hyphen_values = true
    )]
    profiles: Vec<String>,
    /// Aliases for a deps.edn, like the Clojure CLI's `-A:dev:test`.
    #[arg(short = 'A', global = true, value_name = "ALIASES")]
    aliases: Option<String>,
    /// Aliases whose `:main-opts` `kbuild run` uses, like the Clojure CLI's `-M:test`.
    #[arg(short = 'M', global = true, value_name = "ALIASES")]
    main_aliases: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Bring targets up to date (all targets when none are named).
    Build { targets: Vec<String> },
    /// Build a target and print its output files, one per line.
    Outputs { target: String },
    /// Print the digest of files under a hasher: `<hex>  <file>`.
    Hash {
        /// sha512, java, java-lines, clojure or clojure-lines; default: the build file's choice, else sha512.
        #[arg(long)]
        hasher: Option<String>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Say why a target was last rebuilt, restored, or found up to date.
    Explain { target: String },
    /// Remove kbuild's state (.kbuild/) and outputs (target/kbuild/).
    Clean,
    /// Print the target graph in DOT.
    Graph,
    /// Run the `:test` targets' clojure.test namespaces (all, or those named or matching a
    /// regex); a passing run is cached until something it depends on changes.
    Test {
        selectors: Vec<String>,
        /// Run even when a cached outcome matches.
        #[arg(long)]
        force: bool,
        /// Spread the namespaces to run over N JVMs, balanced by their last durations.
        #[arg(long, value_name = "N", default_value_t = 1)]
        jvms: usize,
        /// Write a JUnit XML report per namespace and test class (`TEST-<name>.xml`, as Maven
        /// Surefire does) into DIR, for cached outcomes too.
        #[arg(long = "junit-xml", value_name = "DIR")]
        junit_xml: Option<PathBuf>,
        /// Neither take a spare JVM nor leave one for the next run.
        #[arg(long = "no-warm")]
        no_warm: bool,
    },
    /// Build the project's jar: for a project.clj, `target/<name>-<version>.jar` as `lein jar`
    /// makes it; for a kbuild.edn, every `:jar` target.
    Jar,
    /// Build the standalone jar: `target/<name>-<version>-standalone.jar`, or every `:uberjar` target.
    Uberjar,
    /// For a project.clj: put what Leiningen's default prep tasks (javac, compile) make into
    /// its :compile-path, from kbuild's cache, so `lein test` and `lein repl` can run with
    /// `:prep-tasks ^:replace []`.
    Prep,
    /// Build, then print the classpath of the named targets (all when none are named).
    Classpath { targets: Vec<String> },
    /// Build, then start a REPL on the project's classpath: an nREPL server (its port in
    /// .nrepl-port) with a plain REPL attached, or a clojure.main REPL when nREPL is not to be had.
    Repl {
        /// Only the nREPL server.
        #[arg(long)]
        headless: bool,
    },
    /// Build, then run a namespace's -main on the project's classpath: NS, else the
    /// aliases' `:main-opts` (deps.edn), else `:main` (project.clj).
    Run {
        #[arg(short = 'm', long = "main", value_name = "NS")]
        main: Option<String>,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Resolve Maven coordinates (group:artifact:version or group:artifact:type:classifier:version)
    /// as the direct dependencies of an empty project, printed like `mvn dependency:list`.
    Resolve {
        /// A repository URL (repeatable); default: Maven Central.
        #[arg(long = "repo", value_name = "URL")]
        repos: Vec<String>,
        /// The scope given to the coordinates.
        #[arg(long, default_value = "compile")]
        scope: String,
        /// Print the tree, like `mvn dependency:tree`.
        #[arg(long)]
        tree: bool,
        /// Permit plain http:// repositories (refused by default, as by Maven 3.8+).
        #[arg(long)]
        allow_http: bool,
        /// A dependencyManagement entry, written like a coordinate (repeatable); a BOM is
        /// `g:a:pom:v scope=import`.
        #[arg(long = "managed", value_name = "COORD")]
        managed: Vec<String>,
        /// `group:artifact:version` or `group:artifact:type:classifier:version`, optionally
        /// followed by words `scope=S`, `optional`, `excl=g:a,g:*` (quote it), or `g:a`
        /// alone when --managed gives its version.
        #[arg(required = true)]
        coords: Vec<String>,
    },
    /// Resolve every `:maven` target and pin what it resolved to (versions and sha256s) in
    /// kbuild.lock; builds then fail when a resolution no longer matches.
    Lock,
    /// Run a command (build, test, run, jar, uberjar, classpath or prep) and again whenever a
    /// file under the project changes, until Ctrl-C: `kbuild watch test`, `kbuild watch run -m
    /// app.main` (the program is ended and started again).
    Watch {
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            required = true,
            value_name = "COMMAND"
        )]
        command: Vec<String>,
    },
    /// Print what `:maven` targets resolve to (all of them when none is named), like `mvn
    /// dependency:list`.
    ///
    /// Examples: `kbuild deps --tree` draws the tree with the versions that lost
    /// (`\- org.slf4j:slf4j-api:jar:2.0.9 (omitted: 1.7.36 chosen, nearest)`) and, as `lein
    /// deps :tree` does, the exclusions that would silence each confusing conflict;
    /// `kbuild deps --why org.slf4j/slf4j-api` prints every path to it.
    Deps {
        /// One `:maven` target (default: every one).
        target: Option<String>,
        /// Draw the tree, mark conflicts (requested and chosen versions, and why) and suggest exclusions.
        #[arg(long, conflicts_with = "why")]
        tree: bool,
        /// Every path from a direct dependency to GROUP/ARTIFACT, chosen or overridden.
        #[arg(long, value_name = "GROUP/ARTIFACT")]
        why: Option<String>,
    },
    /// List the direct dependencies of the `:maven` targets that have a newer version in the
    /// repositories' maven-metadata.xml (releases only, unless --pre); with --upgrade, write
    /// those versions into kbuild.edn, project.clj and deps.edn, changing nothing else.
    ///
    /// Example: `kbuild outdated` prints `org.clojure/clojure 1.11.1 -> 1.12.0 (deps)`.
    Outdated {
        /// Rewrite the versions in the build files, keeping their layout and comments.
        #[arg(long)]
        upgrade: bool,
        /// Also SNAPSHOTs and pre-releases (alpha, beta, milestones, release candidates).
        #[arg(long)]
        pre: bool,
    },
    /// Write the pom: a project.clj's at its root, as `lein pom` writes it; for kbuild.edn's
    /// `:publish {:lib group/name :version "1.0" :jar target}`, target/kbuild/<jar>.pom.xml.
    ///
    /// Example: `kbuild pom` prints `wrote /path/to/project/pom.xml`.
    Pom,
    /// Build the jar and put it and its pom into the local Maven repository, as `lein
    /// install` does (a project.clj's, or kbuild.edn's `:publish`); lein, mvn and kbuild then
    /// resolve it offline.
    ///
    /// Example: `kbuild install` prints each file written, e.g.
    /// `~/.m2/repository/my/app/1.0.0/app-1.0.0.jar`.
    Install,
    /// Build the jar and upload it and its pom, with .md5/.sha1/.sha256/.sha512 checksums and
    /// maven-metadata.xml, to a Maven repository, as `lein deploy` does (a project.clj's, or
    /// kbuild.edn's `:publish`).
    ///
    /// REPO is an id from :deploy-repositories (or a project.clj's :repositories), or a URL; by default
    /// `snapshots` or `releases`, as the version is a SNAPSHOT or not. Credentials: the
    /// repository's :username and :password (a string, :env or :env/VAR), else the
    /// <server> with its id in ~/.m2/settings.xml.
    ///
    /// Example: `kbuild deploy https://repo.example.org/maven/` prints each URL uploaded.
    Deploy {
        /// A repository id from project.clj, or a URL.
        repo: Option<String>,
        /// Permit a plain http:// repository that is not on this machine (127.0.0.1).
        #[arg(long)]
        allow_http: bool,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Watch { command } = &cli.command {
        return watch(command.len());
    }
    match run(cli, None, false) {
        Ok(_) => ExitCode::SUCCESS,
        Err(f) => report(f),
    }
}

/// Prints a failure's message and returns its exit code.
fn report(f: Failure) -> ExitCode {
    let (code, msg) = match f {
        Failure::Build(m) => (1, m),
        Failure::Usage(m) => (2, m),
        Failure::Env(m) => (3, m),
        Failure::Resolve(m) => (4, m),
    };
    if !msg.is_empty() {
        eprintln!("error: {msg}");
    }
    ExitCode::from(code)
}

/// `kbuild watch COMMAND...`: the command line without `watch` (the last `inner` arguments
/// are the command's), run now and after every change, until Ctrl-C (exit 0). A failing run
/// is reported and waited on like any other.
fn watch(inner: usize) -> ExitCode {
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    argv.remove(argv.len() - inner - 1);
    let parse = || Cli::try_parse_from(&argv).unwrap_or_else(|e| e.exit());
    let first = parse();
    if !matches!(
        first.command,
        Command::Build { .. }
            | Command::Test { .. }
            | Command::Run { .. }
            | Command::Jar
            | Command::Uberjar
            | Command::Classpath { .. }
            | Command::Prep
    ) {
        return report(Failure::Usage(
            "kbuild watch runs build, test, run, jar, uberjar, classpath or prep".into(),
        ));
    }
    let dir = match start_dir(&first) {
        Ok(dir) => dir,
        Err(f) => return report(f),
    };
    let Some(root) = crate::project::root_above(&dir) else {
        // Discovery says what is missing.
        return match run(first, None, true) {
            Ok(_) => ExitCode::SUCCESS,
            Err(f) => report(f),
        };
    };
    let watch = match crate::watch::Watch::new(root) {
        Ok(w) => w,
        Err(e) => return report(Failure::Env(e)),
    };
    let watched = Arc::new(kbuild_engine::Watched::new(root));
    let mut cli = Some(first);
    loop {
        let started = std::time::Instant::now();
        watch.sync(&watched);
        let ran = run(cli.take().unwrap_or_else(parse), Some(&watched), true);
        let took = match started.elapsed().as_secs_f64() {
            s if s < 1.0 => format!("{} ms", (s * 1000.0).round()),
            s => format!("{s:.1} s"),
        };
        let mut program = match ran {
            Ok(program) => {
                let what = if program.is_some() { "started" } else { "done" };
                let (known, taken) = watched.counts();
                eprintln!(
                    "watch: {what} in {took} ({known} stats known from the watcher, \
                     {taken} taken); waiting for changes (Ctrl-C stops)"
                );
                program
            }
            Err(f) => {
                report(f);
                eprintln!("watch: failed in {took}; waiting for changes (Ctrl-C stops)");
                None
            }
        };
        let wake = watch.next(program.as_mut(), &watched);
        if let Some(child) = program.as_mut() {
            crate::watch::end(child);
        }
        match wake {
            crate::watch::Wake::Stop => {
                eprintln!("watch: stopped");
                return ExitCode::SUCCESS;
            }
            crate::watch::Wake::Changed(paths) => {
                let first = paths[0].display();
                match paths.len() {
                    1 => eprintln!("watch: {first} changed"),
                    n => eprintln!("watch: {first} and {} more changed", n - 1),
                }
            }
        }
    }
}

/// A finished command's session: closed for the exit, or freed in the background under
/// `kbuild watch`, whose process goes on.
fn end(session: crate::session::Session, watching: bool) {
    if watching {
        session.close_in_background();
    } else {
        session.close_at_exit();
    }
}

/// Where the command starts: the current directory, or `-C DIR` from it.
fn start_dir(cli: &Cli) -> Result<PathBuf, Failure> {
    let cwd =
        std::env::current_dir().map_err(|e| Failure::Env(format!("current directory: {e}")))?;
    Ok(match &cli.dir {
        Some(d) => cwd.join(d),
        None => cwd,
    })
}

/// Runs one command. `watching`: under `kbuild watch`, where `run` starts its program as a
/// child (returned) instead of becoming it, and `watched` holds the stats its watcher vouches
/// for.
fn run(
    cli: Cli,
    watched: Option<&Arc<kbuild_engine::Watched>>,
    watching: bool,
) -> Result<Option<std::process::Child>, Failure> {
    let dir = start_dir(&cli)?;
    let jobs = cli.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    // Every command that opens the checkout's state holds its lock from before it reads the
    // project to its end (the others take it only to export git libraries: `ops::read`).
    let uses_state = !matches!(
        cli.command,
        Command::Hash { .. }
            | Command::Graph
            | Command::Resolve { .. }
            | Command::Deps { .. }
            | Command::Pom
    );
    let lock = if uses_state {
        lock_state(&dir, cli.no_wait)?
    } else {
        None
    };
    let mut options = Options {
        jobs,
        offline: cli.offline,
        update_snapshots: cli.update_snapshots,
        local_repo: cli.local_repo.as_ref().map(|d| dir.join(d)),
        relock: matches!(cli.command, Command::Lock),
        force: matches!(cli.command, Command::Test { force: true, .. }),
        test_jvms: match &cli.command {
            Command::Test { jvms, .. } => (*jvms).max(1),
            _ => 1,
        },
        warm: matches!(cli.command, Command::Test { no_warm: false, .. }),
        junit_xml: match &cli.command {
            Command::Test { junit_xml, .. } => junit_xml.as_ref().map(|d| dir.join(d)),
            _ => None,
        },
        lock,
        javac_worker: !cli.no_worker
            && !matches!(
                std::env::var("KBUILD_JAVAC_WORKER").as_deref(),
                Ok("off" | "false" | "0" | "no")
            ),
        watched: watched.cloned(),
    };
    let task = match &cli.command {
        Command::Test { .. } => "test",
        Command::Repl { .. } => "repl",
        Command::Jar | Command::Install | Command::Deploy { .. } => "jar",
        Command::Uberjar => "uberjar",
        _ => "classpath",
    };
    let selection = Selection {
        task: task.to_string(),
        profiles: cli.profiles.clone(),
        aliases: [cli.aliases.as_deref(), cli.main_aliases.as_deref()]
            .into_iter()
            .flatten()
            .flat_map(|a| a.split(':'))
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect(),
    };
    // The project with its git libraries exported (a build step); `kbuild clean` only reads.
    let discover = |dir: &Path| ops::read(dir, &selection, cli.json, cli.no_wait, &options);
    let done = match cli.command {
        Command::Hash { hasher, files } => {
            for (line, warning) in ops::inspect::hash(&dir, hasher.as_deref(), &files)? {
                if let Some(w) = warning {
                    eprintln!("warning: {w}");
                }
                println!("{line}");
            }
            Ok(())
        }
        Command::Build { targets } => {
            let project = Arc::new(discover(&dir)?);
            let session = ops::build(&project, &targets, cli.json, &options)?;
            end(session, watching);
            Ok(())
        }
        Command::Outputs { target } => {
            let project = Arc::new(discover(&dir)?);
            for path in ops::inspect::outputs(&project, &target, cli.json, &options)? {
                println!("{}", path.display());
            }
            Ok(())
        }
        Command::Explain { target } => {
            let project = Arc::new(discover(&dir)?);
            println!(
                "{}",
                ops::inspect::explain(project, &target, cli.json, options)?
            );
            Ok(())
        }
        Command::Clean => ops::clean::clean(&Project::discover_for(&dir, &selection)?),
        Command::Graph => {
            print!("{}", ops::inspect::graph(&discover(&dir)?));
            Ok(())
        }
        Command::Resolve {
            repos,
            scope,
            tree,
            allow_http,
            managed,
            coords,
        } => {
            let request = ops::resolve::Request {
                repos,
                scope,
                tree,
                allow_http,
                managed,
                coords,
            };
            print!(
                "{}",
                ops::resolve::coordinates(&request, cli.json, &options)?
            );
            Ok(())
        }
        Command::Test { selectors, .. } => {
            let project = discover(&dir)?;
            for (n, report) in
                ops::test::test(project, &selectors, &selection.aliases, cli.json, &options)?
            {
                eprintln!("{n}: nothing the tests depend on changed; the last run's outcome:");
                eprint!("{report}");
            }
            Ok(())
        }
        Command::Classpath { targets } => {
            let project = Arc::new(discover(&dir)?);
            let (session, cp) = ops::classpath(&project, targets, cli.json, &options)?;
            println!("{}", cp.join(":"));
            end(session, watching);
            Ok(())
        }
        Command::Repl { headless } => {
            let project = Arc::new(discover(&dir)?);
            let (java, cp) = ops::jvm(&project, cli.json, &options)?;
            // The REPL runs as long as its user likes: builds in this checkout go on meanwhile.
            options.lock = None;
            launch::repl(&project, &java, cp, headless, &options).map_err(Failure::Env)
        }
        Command::Run { main, args } => {
            let project = Arc::new(discover(&dir)?);
            let Some(main_opts) = launch::main_opts(&project, main.as_deref()) else {
                return Err(Failure::Usage(
                    "nothing to run: give -m NS, an alias with :main-opts (-M:alias), or :main in project.clj".into(),
                ));
            };
            let (java, cp) = ops::jvm(&project, cli.json, &options)?;
            // The program may run for long (a server): builds in this checkout go on meanwhile.
            options.lock = None;
            if watching {
                let child = launch::spawn_run(&project, &java, &cp, main_opts, &args);
                return child.map(Some).map_err(Failure::Env);
            }
            launch::run(&project, &java, &cp, main_opts, &args).map_err(Failure::Env)
        }
        Command::Jar | Command::Uberjar => {
            let uber = matches!(cli.command, Command::Uberjar);
            let project = Arc::new(discover(&dir)?);
            for path in ops::package::jars(&project, uber, cli.json, &options)? {
                println!("{}", path.display());
            }
            Ok(())
        }
        Command::Prep => {
            let project = Arc::new(discover(&dir)?);
            let (compile_path, written) = ops::prep::prep(&project, cli.json, &options)?;
            eprintln!("prep: {compile_path} is up to date ({written} files written)");
            Ok(())
        }
        Command::Lock => {
            let project = Arc::new(discover(&dir)?);
            let pinned = ops::lock::lock(&project, cli.json, &options)?;
            eprintln!(
                "wrote {} ({pinned} targets)",
                crate::rules::maven::LOCK_FILE
            );
            Ok(())
        }
        Command::Outdated { upgrade, pre } => {
            let project = discover(&dir)?;
            let found = ops::outdated::outdated(&project, pre, upgrade, &options)?;
            for o in &found {
                if cli.json {
                    println!("{}", o.to_json());
                    continue;
                }
                let place = if o.upgraded_in.is_empty() {
                    String::new()
                } else {
                    format!(", upgraded in {}", o.upgraded_in.join(", "))
                };
                println!(
                    "{} {} -> {} ({}{place})",
                    o.name(),
                    o.current,
                    o.latest,
                    o.targets.join(", ")
                );
                if upgrade && o.upgraded_in.is_empty() {
                    eprintln!(
                        "warning: {} {}: no build file here writes that version (a profile elsewhere?); not upgraded",
                        o.name(),
                        o.current
                    );
                }
            }
            if found.is_empty() && !cli.json {
                eprintln!(
                    "{}: every dependency is at its newest version",
                    project.file
                );
            }
            Ok(())
        }
        Command::Pom => {
            let project = discover(&dir)?;
            let path = ops::publish::pom(&project)?;
            if cli.json {
                println!("{}", serde_json::json!({"event": "pom", "file": path}));
            } else {
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        Command::Install => {
            let project = Arc::new(discover(&dir)?);
            let files = ops::publish::install(&project, cli.json, &options)?;
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({"event": "install", "files": files})
                );
            } else {
                for f in files {
                    println!("{}", f.display());
                }
            }
            Ok(())
        }
        Command::Deploy { repo, allow_http } => {
            let project = Arc::new(discover(&dir)?);
            let done =
                ops::publish::deploy(&project, repo.as_deref(), allow_http, cli.json, &options)?;
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({"event": "deploy", "repository": done.repository,
                        "version": done.version, "uploaded": done.uploaded})
                );
            } else {
                for u in &done.uploaded {
                    println!("{u}");
                }
                eprintln!(
                    "deployed {} to {} ({} files)",
                    done.version,
                    done.repository,
                    done.uploaded.len()
                );
            }
            Ok(())
        }
        Command::Deps { target, tree, why } => {
            let project = discover(&dir)?;
            let view = match (why, tree) {
                (Some(ga), _) => ops::resolve::DepsView::Why(ga),
                (None, true) => ops::resolve::DepsView::Tree,
                (None, false) => ops::resolve::DepsView::List,
            };
            print!(
                "{}",
                ops::resolve::deps(&project, target, &view, cli.json, &options)?
            );
            Ok(())
        }
        Command::Watch { .. } => Err(Failure::Usage("kbuild watch does not watch itself".into())),
    };
    done.map(|()| None)
}
