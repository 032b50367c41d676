//! The command line: argument parsing (clap), one place that turns every error into one
//! clear message and a distinct exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Parser, Subcommand};

use kbuild_engine::{BuildError, Cause, StateLock};

use crate::env::Options;
use crate::launch;
use crate::printer::Printer;
use crate::project::{Project, Rule, Selection, SettingsError};
use crate::rules::maven;
use crate::session::Session;

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
    /// Resolve Maven artifacts from the local repository only.
    #[arg(long, global = true)]
    offline: bool,
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
    /// regex); each namespace's passing outcome is cached until something it can see changes.
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
    /// Print what `:maven` targets resolve to (all of them when none is named).
    Deps {
        target: Option<String>,
        #[arg(long)]
        tree: bool,
    },
}

/// Exit codes: 1 a build failed, 2 the command line or build file is wrong, 3 the
/// environment is (missing tools, unreadable files, a locked database), 4 dependency
/// resolution failed.
enum Failure {
    Build(String),
    Usage(String),
    Env(String),
    Resolve(String),
}

impl From<SettingsError> for Failure {
    fn from(e: SettingsError) -> Failure {
        match e {
            SettingsError::Fetch { .. } => Failure::Resolve(e.to_string()),
            _ => Failure::Usage(e.to_string()),
        }
    }
}

impl From<BuildError> for Failure {
    fn from(e: BuildError) -> Failure {
        Failure::Env(e.to_string())
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
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
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let cwd =
        std::env::current_dir().map_err(|e| Failure::Env(format!("current directory: {e}")))?;
    let dir = match &cli.dir {
        Some(d) => cwd.join(d),
        None => cwd,
    };
    let jobs = cli.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    // Every command that opens the checkout's state holds its lock from before it reads the
    // project (which may export git libraries into .kbuild) to its end.
    let uses_state = !matches!(
        cli.command,
        Command::Hash { .. } | Command::Graph | Command::Resolve { .. } | Command::Deps { .. }
    );
    let lock = if uses_state {
        lock_state(&dir, cli.no_wait)?
    } else {
        None
    };
    let mut options = Options {
        jobs,
        offline: cli.offline,
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
    };
    let task = match &cli.command {
        Command::Test { .. } => "test",
        Command::Repl { .. } => "repl",
        Command::Jar => "jar",
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
        offline: cli.offline,
    };
    let discover = |dir: &Path| Project::discover_for(dir, &selection);
    match cli.command {
        Command::Hash { hasher, files } => hash(&dir, hasher.as_deref(), &files),
        Command::Build { targets } => {
            let project = Arc::new(discover(&dir)?);
            build(&project, &targets, cli.json, &options).map(|_| ())
        }
        Command::Outputs { target } => {
            let project = Arc::new(discover(&dir)?);
            let session = build(&project, std::slice::from_ref(&target), cli.json, &options)?;
            let out = session.engine.out_dir(&target);
            for path in session
                .product(&target)
                .map(|p| p.files)
                .unwrap_or_default()
                .keys()
            {
                println!("{}", out.join(path).display());
            }
            Ok(())
        }
        Command::Explain { target } => {
            let project = Arc::new(discover(&dir)?);
            known_targets(&project, std::slice::from_ref(&target))?;
            let session = Session::open(project, Arc::new(Printer::new(cli.json)), options)?;
            match session.engine.note(&target)? {
                None => println!("{target} has not been built yet"),
                Some(n) => println!(
                    "{target} ({}): {}\n  because {}",
                    n.rule, n.status, n.reason
                ),
            }
            Ok(())
        }
        Command::Clean => {
            let project = discover(&dir)?;
            let state = project.root.join(".kbuild");
            let remove = |d: &Path| {
                let removed = match std::fs::symlink_metadata(d) {
                    Ok(m) if m.is_dir() => std::fs::remove_dir_all(d),
                    Ok(_) => std::fs::remove_file(d),
                    Err(e) => Err(e),
                };
                match removed {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(Failure::Env(format!("removing {}: {e}", d.display()))),
                }
            };
            // The lock file goes last: a kbuild that starts meanwhile waits on it until there
            // is nothing left to remove.
            remove(&project.out_root())?;
            let lock_file = state.join(kbuild_engine::LOCK_FILE);
            for entry in std::fs::read_dir(&state).into_iter().flatten().flatten() {
                if entry.path() != lock_file {
                    remove(&entry.path())?;
                }
            }
            remove(&lock_file)?;
            // Not empty when another kbuild has taken a new lock meanwhile.
            let _ = std::fs::remove_dir(&state);
            Ok(())
        }
        Command::Graph => {
            let project = discover(&dir)?;
            print!("{}", graph(&project));
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
            let repositories: Vec<(String, String)> = repos
                .iter()
                .enumerate()
                .map(|(i, url)| (format!("repo{}", i + 1), url.clone()))
                .collect();
            let parse = |line: &String| {
                kbuild_resolvers::Dependency::parse_line(line)
                    .map_err(|e| Failure::Usage(e.to_string()))
            };
            let mut roots = Vec::new();
            for c in &coords {
                let dep = parse(c)?;
                // --scope is the default; a coordinate's own scope= wins.
                roots.push(if c.contains("scope=") {
                    dep
                } else {
                    dep.with_scope(kbuild_resolvers::Scope::parse(&scope))
                });
            }
            let managed = managed.iter().map(parse).collect::<Result<Vec<_>, _>>()?;
            let mut config = maven::config(&repositories, allow_http, &options);
            config.progress = Some(maven::progress(&Arc::new(Printer::new(cli.json))));
            print_resolution(&config, &roots, &managed, tree, jobs)
        }
        Command::Test { selectors, .. } => {
            let mut project = discover(&dir)?;
            let names = project.targets_where(|r| matches!(r, Rule::Test { .. }));
            if names.is_empty() {
                return Err(Failure::Usage(no_tests(&project.file, &selection.aliases)));
            }
            for n in &names {
                project
                    .targets
                    .get_mut(n)
                    .expect("listed")
                    .select(&selectors);
            }
            let project = Arc::new(project);
            let result = build(&project, &names, cli.json, &options);
            if let Ok(session) = &result {
                for n in &names {
                    if session.engine.status(n) == Some(crate::printer::Status::Executed) {
                        continue;
                    }
                    let out = session.engine.out_dir(n);
                    let text = std::fs::read_to_string(out.join(crate::rules::TEST_REPORT))
                        .unwrap_or_default();
                    eprintln!("{n}: nothing the tests depend on changed; the last run's outcome:");
                    eprint!("{text}");
                    if let Some(dir) = &options.junit_xml {
                        crate::rules::junit_from_product(&out, dir).map_err(Failure::Env)?;
                    }
                }
            }
            result.map(|_| ())
        }
        Command::Classpath { targets } => {
            let project = Arc::new(discover(&dir)?);
            let (_, cp) = prep(&project, targets, cli.json, &options)?;
            println!("{}", cp.join(":"));
            Ok(())
        }
        Command::Repl { headless } => {
            let project = Arc::new(discover(&dir)?);
            let (java, cp) = prep_jvm(&project, cli.json, &options)?;
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
            let (java, cp) = prep_jvm(&project, cli.json, &options)?;
            // The program may run for long (a server): builds in this checkout go on meanwhile.
            options.lock = None;
            launch::run(&project, &java, &cp, main_opts, &args).map_err(Failure::Env)
        }
        Command::Jar | Command::Uberjar => {
            let uber = matches!(cli.command, Command::Uberjar);
            let project = Arc::new(discover(&dir)?);
            let names = project.targets_where(|r| match r {
                Rule::Jar(_) => !uber,
                Rule::Uberjar(_) => uber,
                _ => false,
            });
            if names.is_empty() {
                let kind = if uber { ":uberjar" } else { ":jar" };
                return Err(Failure::Usage(format!(
                    "{}: no {kind} target",
                    project.file
                )));
            }
            let session = build(&project, &names, cli.json, &options)?;
            for n in &names {
                let built = session.engine.out_dir(n).join(format!("{n}.jar"));
                // A Leiningen project's jar goes where `lein jar` puts it.
                let path = match &project.clojure {
                    Some(cp) => {
                        let suffix = if uber { "-standalone" } else { "" };
                        let dest = project
                            .root
                            .join(&cp.target_path)
                            .join(format!("{}-{}{suffix}.jar", cp.name, cp.version));
                        let copied = dest
                            .parent()
                            .map(std::fs::create_dir_all)
                            .transpose()
                            .and_then(|_| std::fs::copy(&built, &dest));
                        copied.map_err(|e| {
                            Failure::Env(format!("writing {}: {e}", dest.display()))
                        })?;
                        dest
                    }
                    None => built,
                };
                println!("{}", path.display());
            }
            Ok(())
        }
        Command::Prep => {
            let project = Arc::new(discover(&dir)?);
            let Some(cp) = project.clojure.clone() else {
                return Err(Failure::Usage(format!(
                    "{}: kbuild prep is for project.clj projects",
                    project.file
                )));
            };
            let names: Vec<String> = ["java", "main"]
                .iter()
                .filter(|n| project.targets.contains_key(**n))
                .map(|n| n.to_string())
                .collect();
            let session = build(&project, &names, cli.json, &options)?;
            let dest = project.root.join(&cp.compile_path);
            let mut written = 0;
            for n in &names {
                let from = session.engine.out_dir(n);
                for path in session
                    .product(n)
                    .map(|p| p.files)
                    .unwrap_or_default()
                    .keys()
                {
                    let (src, dst) = (from.join(path), dest.join(path));
                    if std::fs::read(&dst).ok() == std::fs::read(&src).ok() {
                        continue;
                    }
                    let copied = dst
                        .parent()
                        .map(std::fs::create_dir_all)
                        .transpose()
                        .and_then(|_| std::fs::copy(&src, &dst));
                    copied.map_err(|e| Failure::Env(format!("writing {}: {e}", dst.display())))?;
                    written += 1;
                }
            }
            eprintln!(
                "prep: {} is up to date ({written} files written)",
                cp.compile_path
            );
            Ok(())
        }
        Command::Lock => {
            let project = Arc::new(discover(&dir)?);
            let names = project.targets_where(|r| matches!(r, Rule::Maven { .. }));
            if names.is_empty() {
                return Err(Failure::Usage(format!(
                    "{}: no :maven target to lock",
                    project.file
                )));
            }
            let session = build(&project, &names, cli.json, &options)?;
            let pins: Vec<(String, Vec<crate::rules::info::Artifact>)> = names
                .iter()
                .map(|n| {
                    (
                        n.clone(),
                        session.info(n).map(|i| i.artifacts).unwrap_or_default(),
                    )
                })
                .collect();
            let path = project.root.join(maven::LOCK_FILE);
            // Written to a temporary file and renamed: a killed `kbuild lock` leaves the old lock.
            let write = || -> std::io::Result<()> {
                let mut tmp = tempfile::NamedTempFile::new_in(&project.root)?;
                std::io::Write::write_all(&mut tmp, maven::write_lock(&pins).as_bytes())?;
                use std::os::unix::fs::PermissionsExt;
                tmp.as_file()
                    .set_permissions(std::fs::Permissions::from_mode(0o644))?;
                tmp.persist(&path).map(|_| ()).map_err(|e| e.error)
            };
            write().map_err(|e| Failure::Env(format!("writing {}: {e}", path.display())))?;
            eprintln!("wrote {} ({} targets)", maven::LOCK_FILE, pins.len());
            Ok(())
        }
        Command::Deps { target, tree } => {
            let project = discover(&dir)?;
            let names: Vec<String> = match target {
                Some(t) => {
                    known_targets(&project, std::slice::from_ref(&t))?;
                    vec![t]
                }
                None => project.order.clone(),
            };
            let mut any = false;
            for name in names {
                let Rule::Maven {
                    coords,
                    managed,
                    repositories,
                    allow_http,
                    newest,
                    ..
                } = &project.targets[&name].rule
                else {
                    continue;
                };
                if any {
                    println!();
                }
                println!("{name}:");
                any = true;
                let mut config = maven::config(repositories, *allow_http, &options);
                if *newest {
                    config.mediation = kbuild_resolvers::Mediation::Newest;
                }
                print_resolution(&config, coords, managed, tree, jobs)?;
            }
            if !any {
                return Err(Failure::Usage(format!(
                    "{}: no :maven target to resolve",
                    project.file
                )));
            }
            Ok(())
        }
    }
}

/// Builds what the named targets need (all targets when none are named; a test target's
/// dependencies, not its tests) and returns their classpath.
fn prep(
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
fn prep_jvm(
    project: &Arc<Project>,
    json: bool,
    options: &Options,
) -> Result<(PathBuf, Vec<String>), Failure> {
    let (session, cp) = prep(project, Vec::new(), json, options)?;
    let jdk = session.env.jdk().map_err(|e| Failure::Env(e.to_string()))?;
    Ok((jdk.java.clone(), cp))
}

fn print_resolution(
    config: &kbuild_resolvers::ResolverConfig,
    roots: &[kbuild_resolvers::Dependency],
    managed: &[kbuild_resolvers::Dependency],
    tree: bool,
    jobs: usize,
) -> Result<(), Failure> {
    let resolution = runtime(jobs)?
        .block_on(kbuild_resolvers::resolve(config, roots, managed))
        .map_err(|e| Failure::Resolve(e.to_string()))?;
    if tree {
        print!("{}", kbuild_resolvers::to_tree_string(&resolution));
    } else {
        let mut lines = kbuild_resolvers::to_list_lines(&resolution);
        lines.sort();
        for l in lines {
            println!("{l}");
        }
    }
    Ok(())
}

/// Takes the lock on the state (`.kbuild/lock`) of the project that discovery finds from `dir`
/// (the nearest directory above it with a build file), waiting for another kbuild unless
/// `no_wait`. None when there is no project: discovery then says so.
fn lock_state(dir: &Path, no_wait: bool) -> Result<Option<Arc<StateLock>>, Failure> {
    let Some(root) = crate::project::root_above(dir) else {
        return Ok(None);
    };
    let lock = StateLock::acquire(&root.join(".kbuild"), !no_wait, &|| {
        eprintln!("waiting for another kbuild in {}...", root.display())
    })?;
    Ok(Some(Arc::new(lock)))
}

fn known_targets(project: &Project, names: &[String]) -> Result<(), Failure> {
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

fn runtime(jobs: usize) -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(jobs.clamp(2, 64))
        .enable_all()
        .build()
        .map_err(|e| Failure::Env(format!("starting the runtime: {e}")))
}

fn build(
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
    let session = Session::open(project.clone(), printer.clone(), options.clone())?;
    let rt = runtime(options.jobs)?;
    let results = rt.block_on(session.build(&targets));
    printer.summary(started.elapsed().as_millis() as u64);
    let failed: Vec<&str> = results
        .iter()
        .filter(|(_, r)| r.is_err())
        .map(|(t, _)| t.as_str())
        .collect();
    if failed.is_empty() {
        return Ok(session);
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
    Err(match cause {
        Cause::Build => Failure::Build(message),
        Cause::Resolution => Failure::Resolve(message),
        Cause::Environment => Failure::Env(message),
    })
}

fn hash(dir: &Path, hasher: Option<&str>, files: &[PathBuf]) -> Result<(), Failure> {
    let forced = match hasher {
        Some(name) => Some(kbuild_hashers::by_name(name).ok_or_else(|| {
            Failure::Usage(format!(
                "unknown hasher {name} (known: {})",
                kbuild_hashers::names().join(", ")
            ))
        })?),
        None => None,
    };
    // Without --hasher, a file inside a project gets the hasher its build file chooses.
    let project = Project::discover(dir).ok();
    for f in files {
        let abs = dir.join(f);
        let bytes =
            std::fs::read(&abs).map_err(|e| Failure::Env(format!("{}: {e}", f.display())))?;
        let h = forced.unwrap_or_else(|| {
            let rel = project.as_ref().and_then(|p| {
                let abs = std::fs::canonicalize(&abs).ok()?;
                let root = std::fs::canonicalize(&p.root).ok()?;
                Some((
                    p,
                    abs.strip_prefix(root).ok()?.to_string_lossy().into_owned(),
                ))
            });
            match rel {
                Some((p, rel)) => p.hasher_for(&rel),
                None => kbuild_hashers::by_name("sha512").expect("sha512 is built in"),
            }
        });
        let (digest, err) = kbuild_hashers::digest_or_raw(h, &bytes);
        if let Some(e) = err {
            eprintln!(
                "warning: {}: does not parse as {} ({e}); printing its raw digest",
                f.display(),
                h.id()
            );
        }
        println!("{}  {}", digest.to_hex(), f.display());
    }
    Ok(())
}

fn graph(project: &Project) -> String {
    let mut out = String::from("digraph kbuild {\n  rankdir=LR;\n  node [shape=box];\n");
    for name in &project.order {
        let t = &project.targets[name];
        let kind = t.rule.kind();
        let shape = if matches!(t.rule, Rule::Jar(_) | Rule::Uberjar(_)) {
            ", shape=box3d"
        } else {
            ""
        };
        out.push_str(&format!(
            "  \"{name}\" [label=\"{name}\\n{kind}\"{shape}];\n"
        ));
    }
    for name in &project.order {
        for d in &project.targets[name].deps {
            out.push_str(&format!("  \"{name}\" -> \"{d}\";\n"));
        }
    }
    out.push_str("}\n");
    out
}

/// What to pass when a project has nothing for `kbuild test` to run.
fn no_tests(file: &str, aliases: &[String]) -> String {
    if file.ends_with("deps.edn") {
        let chosen = match aliases {
            [] => "it has no :test alias".to_string(),
            a => format!("the aliases chosen (:{}) add none", a.join(" :")),
        };
        format!(
            "{file}: no test paths: {chosen}. Pass -A with an alias whose :extra-paths hold \
             the tests (kbuild -A:test test), or add one: :aliases {{:test {{:extra-paths [\"test\"]}}}}"
        )
    } else {
        format!("{file}: no target with :rule :test; add one, e.g. {{:rule :test :paths [\"test\"] :deps [...]}}")
    }
}
