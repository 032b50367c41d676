//! The project: what a `kbuild.edn`, a Leiningen `project.clj` or a Clojure CLI `deps.edn`
//! describes, read into targets and rules, with errors that name the file, line and column.
//!
//! - [`target`]: a target, its [`Rule`] and the canonical definition that keys it;
//! - [`kbuild_edn`]: the build file, checked key by key, on top of the targets a
//!   project.clj or deps.edn implies;
//! - [`clojure`]: the neutral description ([`ClojureProject`]) that the readers of the
//!   other two files produce: [`leiningen`] (project.clj and its profiles) and [`deps_edn`]
//!   (deps.edn and its aliases);
//! - [`lower`]: a [`ClojureProject`] lowered to targets.
//!
//! Discovery (below) finds the nearest of these files and reads them as the command line
//! selects ([`Selection`]: a Leiningen task and profiles, deps.edn aliases). Reading runs
//! nothing and writes nothing: a deps.edn git library is a `git-lib` target, and its own
//! deps.edn is read only from a tree a build exported ([`Project::read`], `ops::read`).

mod clojure;
mod deps_edn;
mod kbuild_edn;
mod leiningen;
mod lower;
mod pom;
mod target;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::GlobMatcher;
use kbuild_hashers::Hasher;

use clojure::Tool;
pub(crate) use clojure::{aot_regex, ClojureProject, DeployRepository, GitCoord, Secret};
pub(crate) use pom::{kbuild_pom, lein_pom, LeinPom, PomCoords, Publish};
pub(crate) use target::{Jvm, Package, Rule, Target};

const BUILD_FILE: &str = "kbuild.edn";
const PROJECT_CLJ: &str = "project.clj";
const DEPS_EDN: &str = "deps.edn";

/// The project's root: the nearest directory from `start` up that holds a build file.
pub fn root_above(start: &Path) -> Option<&Path> {
    start.ancestors().find(|d| {
        [BUILD_FILE, PROJECT_CLJ, DEPS_EDN]
            .iter()
            .any(|f| d.join(f).is_file())
    })
}

/// Why a project cannot be read: each names the file, and where it can the line and column.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SettingsError {
    #[error("{file}:{line}:{column}: {message}")]
    At {
        file: String,
        line: u32,
        column: u32,
        message: String,
    },
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("no {BUILD_FILE}, project.clj or deps.edn in {0} or any directory above it")]
    NotFound(String),
    #[error("{0}")]
    Clojure(String),
}

/// A project's targets, and what they were read from.
pub(crate) struct Project {
    pub root: PathBuf,
    pub file: String,
    pub targets: BTreeMap<String, Target>,
    /// Target names in the order the build file declares them.
    pub order: Vec<String>,
    /// kbuild.edn's `:publish`, with its `:jar` checked (or found).
    pub publish: Option<Publish>,
    hashers: Vec<(GlobMatcher, &'static dyn Hasher)>,
    /// The hashers as they enter definitions (`glob=id@version;...`).
    hashers_text: String,
    /// The project.clj or deps.edn the targets were derived from.
    pub clojure: Option<ClojureProject>,
    /// kbuild.edn's `:javac-worker`: false keeps javac out of the warm worker.
    pub javac_worker: Option<bool>,
    /// The `git-lib` targets (deps.edn git dependencies) whose trees were not given to the
    /// reading ([`Project::read`]): until a build exports them, their libraries and what
    /// those depend on are missing from the targets.
    pub git_pending: Vec<String>,
}

/// The trees of git libraries that a build exported: each `git-lib` target's name, with the
/// directory its product is in (relative to the root).
pub(crate) type Exports = BTreeMap<String, String>;

/// What the command line selects in a project.clj or deps.edn.
#[derive(Default, Clone, Debug)]
pub(crate) struct Selection {
    /// The Leiningen task whose default profiles apply (`test`, `repl`, `classpath`...).
    pub task: String,
    /// `--profile` values, as `lein with-profile` takes them: `+p` adds to the task's
    /// defaults, `-p` removes, a bare name replaces them.
    pub profiles: Vec<String>,
    /// `-A` aliases for deps.edn.
    pub aliases: Vec<String>,
}

impl Selection {
    fn lein_profiles(&self) -> Vec<String> {
        let defaults: Vec<String> = leiningen::default_profiles(&self.task)
            .iter()
            .map(|s| s.to_string())
            .collect();
        let replacing: Vec<&String> = self
            .profiles
            .iter()
            .filter(|p| !p.starts_with(['+', '-']))
            .collect();
        let mut out = if replacing.is_empty() {
            defaults
        } else {
            replacing.into_iter().cloned().collect()
        };
        for p in &self.profiles {
            if let Some(add) = p.strip_prefix('+') {
                out.push(add.to_string());
            } else if let Some(remove) = p.strip_prefix('-') {
                out.retain(|x| x.trim_start_matches(':') != remove.trim_start_matches(':'));
            }
        }
        out
    }
}

impl Project {
    /// Finds the build file in `start` or the nearest directory above it.
    pub fn discover(start: &Path) -> Result<Project, SettingsError> {
        Project::discover_for(start, &Selection::default())
    }

    /// Finds the nearest `kbuild.edn`, else `project.clj`, else `deps.edn`, in `start` or
    /// above it. The latter two are read as their tools would for `selection`. Reading has
    /// no side effects: git libraries are left pending ([`Project::read`]).
    pub fn discover_for(start: &Path, selection: &Selection) -> Result<Project, SettingsError> {
        Project::read(start, selection, &Exports::new())
    }

    /// [`Project::discover_for`], with the git libraries' trees that a build exported: each
    /// one's own deps.edn is read from there, and what it depends on joins the targets (a git
    /// library it names in turn may be pending).
    pub fn read(
        start: &Path,
        selection: &Selection,
        exports: &Exports,
    ) -> Result<Project, SettingsError> {
        let d = root_above(start)
            .ok_or_else(|| SettingsError::NotFound(start.display().to_string()))?;
        // A project.clj or deps.edn implies targets; a kbuild.edn beside it may add to them.
        let mut derived = None;
        for (file, tool) in [(PROJECT_CLJ, Tool::Lein), (DEPS_EDN, Tool::Cli)] {
            if d.join(file).is_file() {
                derived = Some(read_clojure(d, file, tool, selection, exports)?);
                break;
            }
        }
        match derived {
            Some(p) if !d.join(BUILD_FILE).is_file() => Ok(p),
            Some(p) => {
                let pending = p.git_pending.clone();
                let mut project = kbuild_edn::read(d, Some(p))?;
                project.git_pending = pending;
                Ok(project)
            }
            None => kbuild_edn::read(d, None),
        }
    }

    pub fn out_root(&self) -> PathBuf {
        self.root.join("target").join("kbuild")
    }

    /// The hasher for a source file: the first `:hashers` glob that matches, else sha512.
    pub fn hasher_for(&self, rel: &str) -> &'static dyn Hasher {
        self.hashers
            .iter()
            .find(|(g, _)| g.is_match(rel))
            .map(|(_, h)| *h)
            .unwrap_or_else(|| kbuild_hashers::by_name("sha512").expect("sha512 is built in"))
    }

    /// The targets whose rule `keep` accepts, in declaration order.
    pub fn targets_where(&self, keep: impl Fn(&Rule) -> bool) -> Vec<String> {
        self.order
            .iter()
            .filter(|n| keep(&self.targets[*n].rule))
            .cloned()
            .collect()
    }

    /// `name`'s dependencies and theirs, each once, nearest first.
    pub fn transitive_deps(&self, name: &str) -> Vec<String> {
        let start = self
            .targets
            .get(name)
            .map(|t| t.deps.as_slice())
            .unwrap_or_default();
        breadth_first(start, |d| self.targets.get(d).map(|t| t.deps.as_slice()))
    }
}

/// A project.clj or deps.edn read as its tool would for `selection`, and lowered to targets.
fn read_clojure(
    d: &Path,
    file: &str,
    tool: Tool,
    selection: &Selection,
    exports: &Exports,
) -> Result<Project, SettingsError> {
    let path = d.join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| SettingsError::File {
        file: file.into(),
        message: e.to_string(),
    })?;
    let cp = match tool {
        Tool::Lein => {
            let profiles = selection.lein_profiles();
            let refs: Vec<&str> = profiles.iter().map(String::as_str).collect();
            // The user's profiles ($LEIN_HOME, else ~/.lein) and a
            // profiles.clj beside the project, as Leiningen reads them.
            let lein_home = std::env::var_os("LEIN_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".lein")));
            let user = lein_home.and_then(|h| std::fs::read_to_string(h.join("profiles.clj")).ok());
            let local = std::fs::read_to_string(d.join("profiles.clj")).ok();
            let mut files: Vec<(&'static str, &str)> = Vec::new();
            if let Some(t) = &user {
                files.push(("~/.lein/profiles.clj", t));
            }
            if let Some(t) = &local {
                files.push(("profiles.clj", t));
            }
            leiningen::read_project_clj(&text, &refs, &files)
        }
        Tool::Cli => {
            let mut refs: Vec<&str> = selection.aliases.iter().map(String::as_str).collect();
            // As `lein test` applies the :test profile; `-A` (or `-M`) chooses instead.
            if selection.task == "test" && refs.is_empty() && deps_edn::defines_alias(&text, "test")
            {
                refs.push("test");
            }
            deps_edn::read_deps_edn(&text, &refs)
        }
    }
    .map_err(|e| SettingsError::Clojure(e.to_string()))?;
    lower::project(d, file, cp, selection, exports)
}

/// Breadth first from `start` through the graph `deps_of` gives, each name once: the order
/// in which the build file's graph and the providers' graph both list what is below a target.
pub fn breadth_first<'a>(
    start: &[String],
    deps_of: impl Fn(&str) -> Option<&'a [String]>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut queue: Vec<String> = start.to_vec();
    let mut i = 0;
    while i < queue.len() {
        let d = queue[i].clone();
        i += 1;
        if out.contains(&d) {
            continue;
        }
        if let Some(deps) = deps_of(&d) {
            queue.extend(deps.iter().cloned());
        }
        out.push(d);
    }
    out
}
