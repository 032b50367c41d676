//! The neutral description of a Leiningen `project.clj` or Clojure CLI `deps.edn`
//! ([`ClojureProject`]), so that a project without a `kbuild.edn` builds unchanged, and the
//! errors of reading one.
//!
//! Neither file is evaluated. `project.clj` is code, but almost every real one is a literal
//! `defproject`; [`super::leiningen`] reproduces what Leiningen 2.10 does with it (its
//! `meta-merge` of profiles, `^:replace`/`^:displace`, dependency de-duplication, the
//! implicit `:base` profile, target-path naming) and refuses, with the form's position, the
//! parts that would need evaluation (`~x`, `#=(...)`). [`super::deps_edn`] follows
//! tools.deps: root defaults, alias argument merging, `:replace-*`, path aliases.
//!
//! Paths are returned as written (relative to the project root), never absolutized: task
//! keys must not hold absolute paths.

use kbuild_resolvers::Dependency;

use crate::edn::{self, Pos};

/// Which tool's file the project came from; it decides version mediation (Maven's
/// nearest-wins for Leiningen, tools.deps' newest-wins for the CLI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tool {
    Lein,
    Cli,
}

/// One dependency a project.clj or deps.edn declares: a Maven artifact, or a deps.edn
/// library from a directory or a git repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Dep {
    /// The Maven dependency, with the tool's defaults filled in: type `jar`, scope `compile`
    /// unless given (Leiningen gives the deps of `:dev`/`:test` profiles scope `test` and
    /// those of `:provided` `provided`: its `:pom-scope`). Exclusions keep `*` wildcards;
    /// Leiningen's per-exclusion `:classifier`/`:extension` are dropped (Maven exclusions
    /// ignore them too). For a library only its name and exclusions count, and its
    /// version is empty.
    pub(super) maven: Dependency,
    /// Where a deps.edn library is; `None` for a Maven artifact.
    pub(super) source: Option<Source>,
}

impl From<Dependency> for Dep {
    fn from(maven: Dependency) -> Dep {
        Dep {
            maven,
            source: None,
        }
    }
}

/// Where a deps.edn library that is not a Maven artifact comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Source {
    /// `:local/root`, relative to the project as written: a directory or a jar.
    Local(String),
    /// A git repository's tree at a commit.
    Git(GitCoord),
}

/// A deps.edn git coordinate: `:git/url` (inferred from an `io.github.*`-style lib name when
/// absent), `:git/sha` (a prefix is enough with `:git/tag`), `:git/tag`, `:deps/root`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GitCoord {
    pub url: String,
    pub sha: String,
    pub tag: Option<String>,
    /// The library's directory inside the repository.
    pub deps_root: Option<String>,
}

/// What to AOT-compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Aot {
    None,
    /// `:aot :all`: every namespace in the source paths.
    All,
    /// Namespace names, and regexes written as `#"pattern"` (see [`aot_regex`]). Leiningen
    /// keeps every namespace of the source paths that a regex matches with `re-find`
    /// (unanchored). Leiningen also AOTs `:main` implicitly when building jars; that is
    /// left to the caller.
    Namespaces(Vec<String>),
}

/// The pattern of an [`Aot::Namespaces`] entry that is a regex (`#"foo\..*"` → `foo\..*`).
/// Namespace names cannot start with `#`, so the spelling is unambiguous.
pub(crate) fn aot_regex(entry: &str) -> Option<&str> {
    entry.strip_prefix("#\"")?.strip_suffix('"')
}

/// The neutral description of a project; see the module comment.
///
/// The classpath the tools print is `test_paths ++ source_paths ++ resource_paths ++
/// [compile_path] (Leiningen only) ++ resolved dependencies`, in that order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClojureProject {
    pub(super) tool: Tool,
    /// deps.edn has no coordinates: group, name and version are empty for [`Tool::Cli`];
    /// the caller names the project (after its directory, say).
    pub(super) group: String,
    pub name: String,
    pub version: String,
    /// In declaration order (profiles' additions after the project's own), de-duplicated
    /// the way Leiningen does: same group/artifact/classifier/extension merge into the first.
    /// A project.clj dependency without a version has its managed one.
    pub(super) dependencies: Vec<Dep>,
    /// `:managed-dependencies` (Maven dependencyManagement), or deps.edn `:override-deps`
    /// (which tools.deps forces everywhere in the graph; already applied to direct deps).
    /// The version is empty for an entry without one (and for a library).
    pub(super) managed: Vec<Dependency>,
    /// `(id, url)`, the tool's defaults first (central, clojars).
    pub(super) repositories: Vec<kbuild_resolvers::RemoteRepository>,
    /// For deps.edn: the (flattened) `:paths`.
    pub(super) source_paths: Vec<String>,
    pub(super) java_source_paths: Vec<String>,
    pub(super) resource_paths: Vec<String>,
    /// For deps.edn: the aliases' `:extra-paths`, which the CLI puts before `:paths`
    /// (so the classpath formula above holds); they are not necessarily tests.
    pub(super) test_paths: Vec<String>,
    pub(super) javac_options: Vec<String>,
    /// Leiningen `:main`; for deps.edn, the namespace after `-m`/`--main` in `main_opts`.
    pub main: Option<String>,
    pub(super) aot: Aot,
    /// Leiningen's, with the profile-named `%s` filled in (`"target/classes"` by default).
    /// For deps.edn, kbuild's convention `"target/classes"`: `clojure -Spath` has no
    /// such entry.
    pub compile_path: String,
    pub target_path: String,
    /// deps.edn alias `:main-opts` (the last alias that has them wins).
    pub main_opts: Vec<String>,
    /// Leiningen: with the `:base` profile's `-XX:-OmitStackTraceInFastThrow` unless the
    /// project sets its own. deps.edn: the aliases' `:jvm-opts`, concatenated.
    pub(super) jvm_opts: Vec<String>,
    /// Leiningen's `:test-selectors`: each keyword's name (without `:`) and the selector as
    /// Clojure source, evaluated in the test JVM as `lein test` does.
    pub(super) test_selectors: Vec<(String, String)>,
    /// Clojure forms Leiningen evaluates in the project's JVM before anything else:
    /// `(set! var value)` for each `:global-vars` entry, then the `:injections`.
    pub(super) prelude: Vec<String>,
    /// What `lein pom` writes besides the above (empty for deps.edn).
    pub(super) pom: PomInfo,
    /// Leiningen's `:prep-tasks`, in order (`["javac" "compile"]` unless set; empty for
    /// deps.edn).
    pub(super) prep_tasks: Vec<PrepTask>,
    /// Leiningen's `:checkout-deps-shares`, de-duplicated: which keys of each checkout go on
    /// the classpath, in order (`source-paths`, `test-paths`, `resource-paths`,
    /// `java-source-paths`, `compile-path`).
    /// An entry kbuild cannot read (a function) is this error, raised only when there are
    /// checkouts: lein too calls the shares only then.
    pub(super) checkout_shares: Result<Vec<String>, String>,
    /// What reading left aside, for a warning each (`project.clj:LINE: ...`).
    pub notes: Vec<String>,
}

/// One `:prep-tasks` entry, with the `project.clj` line it is written on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum PrepTask {
    /// `"javac"`: kbuild's `java` target.
    Javac,
    /// `"compile"`: kbuild's `main` target (its `:aot`).
    Compile,
    /// `["run" "-m" NS ARGS...]`: `clojure.main -m NS ARGS...` on the project's classpath,
    /// writing the `:kbuild/outputs` paths (none: it runs every build).
    Run {
        args: Vec<String>,
        outputs: Vec<String>,
        line: u32,
    },
    /// Any other task, run as `lein TASK ARGS...`.
    Lein { args: Vec<String>, line: u32 },
}

/// A project.clj's keys that only its pom.xml uses, as written (`lein pom` writes them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PomInfo {
    pub description: Option<String>,
    pub url: Option<String>,
    /// `:pom-location`: the directory, under the root, that `lein pom` writes pom.xml into.
    pub pom_location: Option<String>,
    pub packaging: Option<String>,
    pub classifier: Option<String>,
    /// Each license's (tag, text) pairs: name, url, distribution, comments.
    pub licenses: Vec<Vec<(String, String)>>,
    /// `:scm`'s `:name` (`git` merges what .git says), `:dir`, and its url, connection,
    /// tag, developerConnection entries in that order.
    pub scm_name: Option<String>,
    pub scm_dir: Option<String>,
    pub scm: Vec<(String, String)>,
    pub repositories: Vec<PomRepository>,
    /// `group/artifact` of the dependencies declared without a version (it stays out of the pom).
    pub versionless: Vec<String>,
    /// An exclusion's `:classifier` and `:extension` (which Maven's exclusions ignore but
    /// `lein pom` writes): (dependency `group/artifact`, exclusion `group/artifact`,
    /// classifier, extension).
    pub exclusion_extras: Vec<(String, String, Option<String>, Option<String>)>,
    /// `:deploy-repositories` then `:repositories`, with their credentials, for `kbuild deploy`.
    pub deploy: Vec<DeployRepository>,
    /// Why these keys could not be read (a `~(...)` description, say): an error for
    /// `kbuild pom`, not for the commands that never read them.
    pub error: Option<String>,
    /// Keys `lein pom` reads that kbuild does not write (`:parent`, `:pom-addition`...).
    pub unsupported: Vec<String>,
}

/// A repository one may deploy to, as project.clj names it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DeployRepository {
    pub id: String,
    pub url: String,
    pub username: Option<Secret>,
    pub password: Option<Secret>,
}

/// A credential as project.clj writes it: the text, or the environment variable holding it
/// (`:env/NAME`; `:env` is `LEIN_USERNAME` / `LEIN_PASSWORD`), the one type resolving and
/// deploying read.
pub(crate) use kbuild_resolvers::Secret;

/// A repository with the policies `lein pom` writes for it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PomRepository {
    pub id: String,
    pub url: String,
    /// `(enabled, update, checksum)` for snapshots and for releases.
    pub snapshots: (bool, Option<String>, Option<String>),
    pub releases: (bool, Option<String>, Option<String>),
}

#[derive(Debug, thiserror::Error)]
pub(super) enum ClojureError {
    /// The file is not even readable as Clojure/EDN.
    #[error("{file}:{line}:{column}: {message}")]
    Read {
        file: &'static str,
        line: u32,
        column: u32,
        message: String,
        #[source]
        source: edn::ReadError,
    },
    /// `~x`, `~@x`, `#=(...)`, syntax-quote: Leiningen would run them, kbuild cannot.
    #[error(
        "{file}:{line}:{column}: cannot evaluate {form}: kbuild reads {file} without running it"
    )]
    Unevaluable {
        file: &'static str,
        line: u32,
        column: u32,
        form: String,
    },
    /// A value of the wrong shape, a missing or duplicate key, and the like.
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: &'static str,
        line: u32,
        column: u32,
        message: String,
    },
    /// A requested profile that exists nowhere (and is not one of those Leiningen expects
    /// to be optional, like `:user` or `:test`). Leiningen only warns; for kbuild a
    /// mistyped `--profile` is better stopped. Profiles named inside composite profiles
    /// may be missing, as in Leiningen. The position is the `:profiles` map's (or the
    /// `defproject` form's).
    #[error("{file}:{line}:{column}: profile :{name} is not defined (defined: {defined})")]
    UnknownProfile {
        file: &'static str,
        line: u32,
        column: u32,
        name: String,
        defined: String,
    },
    /// A requested alias that neither deps.edn nor the CLI's root deps.edn defines; the
    /// position is the `:aliases` map's (or the top-level map's).
    #[error("{file}:{line}:{column}: alias :{name} is not defined (defined: {defined})")]
    UnknownAlias {
        file: &'static str,
        line: u32,
        column: u32,
        name: String,
        defined: String,
    },
}

pub(super) type R<T> = Result<T, ClojureError>;

pub(super) fn invalid(file: &'static str, pos: Pos, message: impl Into<String>) -> ClojureError {
    ClojureError::Invalid {
        file,
        line: pos.line,
        column: pos.column,
        message: message.into(),
    }
}

/// A file that is not even readable as Clojure/EDN.
pub(super) fn read_error(file: &'static str, e: edn::ReadError) -> ClojureError {
    let pos = e.pos();
    let text = e.to_string();
    let message = text
        .strip_prefix(&format!("{pos}: "))
        .unwrap_or(&text)
        .to_string();
    ClojureError::Read {
        file,
        line: pos.line,
        column: pos.column,
        message,
        source: e,
    }
}

/// Dependencies as tests compare them: `group/artifact version :classifier c ...`.
#[cfg(test)]
pub(super) fn coords(deps: &[Dep]) -> Vec<String> {
    deps.iter().map(|d| coord(&d.maven)).collect()
}

/// [`coords`] of Maven dependencies.
#[cfg(test)]
pub(super) fn maven_coords(deps: &[Dependency]) -> Vec<String> {
    deps.iter().map(coord).collect()
}

#[cfg(test)]
fn coord(d: &Dependency) -> String {
    let c = &d.coord;
    let mut s = format!("{}/{}", c.group, c.artifact);
    if !c.version.is_empty() {
        s += &format!(" {}", c.version);
    }
    if !c.classifier.is_empty() {
        s += &format!(" :classifier {}", c.classifier);
    }
    if d.type_ != "jar" {
        s += &format!(" :extension {}", d.type_);
    }
    if d.scope != kbuild_resolvers::Scope::Compile {
        s += &format!(" :scope {}", d.scope);
    }
    if d.optional {
        s += " :optional";
    }
    s
}

/// A dependency's exclusions as tests compare them: `group/artifact`.
#[cfg(test)]
pub(super) fn excl(d: &Dep) -> Vec<String> {
    d.maven
        .exclusions
        .iter()
        .map(|e| format!("{}/{}", e.group, e.artifact))
        .collect()
}
