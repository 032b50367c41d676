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
    /// regex); a passing run is cached until something it depends on changes.
    Test {
        selectors: Vec<String>,
        /// Run even when a cached outcome matches.
        #[arg(long)]
        force: bool,
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
            ops::build(&project, &targets, cli.json, &options).map(|_| ())
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
        Command::Clean => ops::clean::clean(&discover(&dir)?),
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
            for (n, report) in ops::test::test(project, &selectors, cli.json, &options)? {
                eprintln!("{n}: nothing the tests depend on changed; the last run's outcome:");
                eprint!("{report}");
            }
            Ok(())
        }
        Command::Classpath { targets } => {
            let project = Arc::new(discover(&dir)?);
            let (_, cp) = ops::classpath(&project, targets, cli.json, &options)?;
            println!("{}", cp.join(":"));
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
        Command::Deps { target, tree } => {
            let project = discover(&dir)?;
            print!(
                "{}",
                ops::resolve::deps(&project, target, tree, cli.json, &options)?
            );
            Ok(())
        }
    }
}
