//! The build description: `kbuild.edn` read into targets and rules, validated with errors
//! that name the file, line, column and target.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};
use kbuild_hashers::Hasher;
use serde::Serialize;

use crate::clojure_project::{self, Aot, ClojureProject, Tool};
use crate::edn::{self, Form};

pub const BUILD_FILE: &str = "kbuild.edn";

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
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
    /// A dependency could not be fetched (a deps.edn git dependency).
    #[error("{file}: {message}")]
    Fetch { file: String, message: String },
}

/// A rule kind with its arguments. Serialized (canonically) into the target's definition,
/// so any change to a rule's arguments changes its `Def` key's value.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum Rule {
    JavaLibrary {
        srcs: Vec<String>,
        javac_opts: Vec<String>,
    },
    Resources {
        root: String,
        srcs: Vec<String>,
    },
    Command {
        srcs: Vec<String>,
        outs: Vec<String>,
        cmd: Vec<String>,
    },
    Jar(Package),
    Uberjar(Package),
    Maven {
        coords: Vec<MavenDep>,
        /// dependencyManagement (Leiningen's :managed-dependencies).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        managed: Vec<MavenDep>,
        /// (id, url) in the order they are tried; the project's, then the target's own.
        repositories: Vec<(String, String)>,
        allow_http: bool,
        /// The Clojure CLI's version rule (top-level deps win, else the newest) instead of
        /// Maven's nearest-wins: set for deps.edn projects.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        newest: bool,
        /// List the artifacts in `lein classpath`'s order (set for project.clj projects).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        lein_order: bool,
    },
    ClojureLibrary {
        paths: Vec<String>,
        /// Namespaces compiled ahead of time; `*all*` for every namespace under `paths`.
        aot: Vec<String>,
        /// The JVM that compiles them (`:global-vars` such as `*unchecked-math*` change
        /// the classes).
        #[serde(skip_serializing_if = "Jvm::is_empty")]
        jvm: Jvm,
    },
    Test {
        paths: Vec<String>,
        /// `kbuild test`'s arguments: namespaces (names or regexes), then Leiningen-style
        /// `:selector args...`; empty for the `:default` selector or, without one, all.
        select: Vec<String>,
        /// Leiningen's `:test-selectors`: name (without `:`) and Clojure source.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        selectors: Vec<(String, String)>,
        #[serde(skip_serializing_if = "Jvm::is_empty")]
        jvm: Jvm,
    },
}

/// What a `jar` or `uberjar` puts in besides its dependencies' products.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Package {
    pub main_class: Option<String>,
    pub manifest: BTreeMap<String, String>,
    /// Generated entries (path → text), e.g. the pom.xml of a Leiningen project.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
    /// Directories packaged byte for byte, e.g. a Leiningen project's `:java-source-paths`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

/// How a JVM that runs project code starts (Leiningen's `:jvm-opts`, `:global-vars`,
/// `:injections`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Jvm {
    pub opts: Vec<String>,
    /// Clojure forms evaluated before anything else.
    pub prelude: Vec<String>,
}

impl Jvm {
    pub fn is_empty(&self) -> bool {
        self.opts.is_empty() && self.prelude.is_empty()
    }

    /// The prelude as one form that prints nothing under `clojure.main -e` (a top-level
    /// `do` still evaluates its forms one after another).
    pub fn prelude_form(&self) -> String {
        if self.prelude.is_empty() {
            String::new()
        } else {
            format!("(do {} nil)", self.prelude.join(" "))
        }
    }

    pub fn of(project: &ClojureProject) -> Jvm {
        Jvm {
            opts: project.jvm_opts.clone(),
            prelude: project.prelude.clone(),
        }
    }
}

/// One `[group/artifact "version" :classifier "c" ...]` of a `:maven` target.
#[derive(Debug, Clone, Serialize)]
pub struct MavenDep {
    pub group: String,
    pub artifact: String,
    pub version: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub classifier: String,
    pub scope: String,
    pub optional: bool,
    /// `group:artifact`, either may be `*`.
    pub exclusions: Vec<String>,
}

impl MavenDep {
    /// Versions that can resolve differently tomorrow: ranges and snapshots.
    pub fn is_dynamic(&self) -> bool {
        self.version.starts_with(['[', '(']) || self.version.ends_with("SNAPSHOT")
    }
}

impl Rule {
    pub fn kind(&self) -> &'static str {
        match self {
            Rule::JavaLibrary { .. } => "java-library",
            Rule::Resources { .. } => "resources",
            Rule::Command { .. } => "command",
            Rule::Jar(_) => "jar",
            Rule::Uberjar(_) => "uberjar",
            Rule::Maven { .. } => "maven",
            Rule::ClojureLibrary { .. } => "clojure-library",
            Rule::Test { .. } => "test",
        }
    }

    /// A rule whose result may change with nothing in the build having changed (version
    /// ranges, snapshots) runs every time; early cutoff still spares its dependents.
    pub fn always_runs(&self) -> bool {
        matches!(self, Rule::Maven { coords, .. } if coords.iter().any(MavenDep::is_dynamic))
    }

    fn keys(kind: &str) -> Option<&'static [&'static str]> {
        Some(match kind {
            "java-library" => &["rule", "deps", "srcs", "javac-opts", "doc"],
            "resources" => &["rule", "deps", "root", "srcs", "doc"],
            "command" => &["rule", "deps", "srcs", "outs", "cmd", "doc"],
            "jar" | "uberjar" => &["rule", "deps", "main-class", "manifest", "doc"],
            "maven" => &["rule", "coords", "repositories", "allow-http", "doc"],
            "clojure-library" => &["rule", "deps", "paths", "aot", "doc"],
            "test" => &["rule", "deps", "paths", "jvm-opts", "doc"],
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Target {
    pub rule: Rule,
    pub deps: Vec<String>,
    /// Canonical text of everything that defines this target's task: the value of its
    /// `Def` key.
    pub definition: String,
    /// The `:hashers` map as text, when this rule hashes sources with it.
    hashers: String,
    pub line: u32,
}

impl Target {
    /// Narrows a `:test` target to some namespaces; the selection is part of its definition,
    /// so each selection has its own cached outcome.
    pub fn select(&mut self, selectors: &[String]) {
        if let Rule::Test { select, .. } = &mut self.rule {
            *select = selectors.to_vec();
            self.definition = definition(&self.rule, &self.deps, &self.hashers);
        }
    }
}

impl Target {
    /// Re-derives the definition under another `:hashers` map, for the rules that use it.
    fn rehash(&mut self, hashers_text: &str) {
        if !self.hashers.is_empty() {
            self.hashers = hashers_text.to_string();
            self.definition = definition(&self.rule, &self.deps, &self.hashers);
        }
    }
}

fn definition(rule: &Rule, deps: &[String], hashers: &str) -> String {
    // The rule's version is the engine's to add: it is each rule kind's own.
    #[derive(Serialize)]
    struct Definition<'a> {
        #[serde(flatten)]
        rule: &'a Rule,
        deps: &'a [String],
        #[serde(skip_serializing_if = "str::is_empty")]
        hashers: &'a str,
    }
    serde_json::to_string(&Definition {
        rule,
        deps,
        hashers,
    })
    .expect("definitions serialize")
}

pub struct Project {
    pub root: PathBuf,
    pub file: String,
    pub targets: BTreeMap<String, Target>,
    /// Target names in the order the build file declares them.
    pub order: Vec<String>,
    hashers: Vec<(GlobMatcher, &'static dyn Hasher)>,
    /// The hashers as they enter definitions (`glob=id@version;...`).
    hashers_text: String,
    /// The project.clj or deps.edn the targets were derived from.
    pub clojure: Option<ClojureProject>,
}

pub const PROJECT_CLJ: &str = "project.clj";
pub const DEPS_EDN: &str = "deps.edn";

/// A library directory with its own deps.edn (a `:local/root`, a git dependency's tree): its
/// paths relative to the project root, and its dependencies, each with the directory its
/// own `:local/root`s are relative to.
#[allow(clippy::type_complexity)]
fn local_library(
    root: &Path,
    dir: &str,
) -> Result<(Vec<String>, Vec<(String, clojure_project::Dep)>), String> {
    let lib_file = root.join(dir).join(DEPS_EDN);
    let text = std::fs::read_to_string(&lib_file)
        .map_err(|e| format!("cannot read {}: {e}", lib_file.display()))?;
    let lib = clojure_project::read_deps_edn(&text, &[]).map_err(|e| e.to_string())?;
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let paths = lib
        .source_paths
        .iter()
        .chain(&lib.resource_paths)
        .map(|p| normalize(&format!("{prefix}{p}")))
        .collect();
    let deps = lib
        .dependencies
        .into_iter()
        .map(|x| (prefix.clone(), x))
        .collect();
    Ok((paths, deps))
}

/// The dependencies the `META-INF/maven/*/*/pom.xml` inside a jar declares (none without one).
fn jar_pom_dependencies(jar: &Path) -> Result<Vec<clojure_project::Dep>, String> {
    let file =
        std::fs::File::open(jar).map_err(|e| format!("cannot read {}: {e}", jar.display()))?;
    let mut zip =
        zip::ZipArchive::new(file).map_err(|e| format!("{} is not a jar: {e}", jar.display()))?;
    let mut poms: Vec<String> = zip
        .file_names()
        .filter(|n| {
            let parts: Vec<&str> = n.split('/').collect();
            parts.len() == 5 && n.starts_with("META-INF/maven/") && parts[4] == "pom.xml"
        })
        .map(str::to_string)
        .collect();
    poms.sort();
    let Some(name) = poms.first() else {
        return Ok(Vec::new());
    };
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut zip
            .by_name(name)
            .map_err(|e| format!("{}: {e}", jar.display()))?,
        &mut bytes,
    )
    .map_err(|e| format!("{}: {e}", jar.display()))?;
    let declared = kbuild_resolvers::standalone_pom_dependencies(
        &bytes,
        &format!("{}!/{name}", jar.display()),
    )
    .map_err(|e| e.to_string())?;
    Ok(declared
        .into_iter()
        .map(|d| clojure_project::Dep {
            group: d.coord.group,
            artifact: d.coord.artifact,
            version: Some(d.coord.version),
            classifier: d.coord.classifier,
            extension: d.coord.extension,
            scope: d.scope.as_str().to_string(),
            optional: false,
            exclusions: d
                .exclusions
                .into_iter()
                .map(|x| (x.group, x.artifact))
                .collect(),
            local_root: None,
            git: None,
        })
        .collect())
}

/// What the command line selects in a project.clj or deps.edn.
#[derive(Default, Clone, Debug)]
pub struct Selection {
    /// The Leiningen task whose default profiles apply (`test`, `repl`, `classpath`...).
    pub task: String,
    /// `--profile` values, as `lein with-profile` takes them: `+p` adds to the task's
    /// defaults, `-p` removes, a bare name replaces them.
    pub profiles: Vec<String>,
    /// `-A` aliases for deps.edn.
    pub aliases: Vec<String>,
    /// Fetch nothing (deps.edn git dependencies must be in the cache already).
    pub offline: bool,
}

impl Selection {
    pub fn lein_profiles(&self) -> Vec<String> {
        let defaults: Vec<String> = clojure_project::default_lein_profiles(&self.task)
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

/// Project-level settings that targets inherit.
#[derive(Default)]
struct Shared {
    hashers_text: String,
    repositories: Vec<(String, String)>,
    allow_http: bool,
}

impl Project {
    /// Finds the build file in `start` or the nearest directory above it.
    pub fn discover(start: &Path) -> Result<Project, SettingsError> {
        Project::discover_for(start, &Selection::default())
    }

    /// Finds the nearest `kbuild.edn`, else `project.clj`, else `deps.edn`, in `start` or
    /// above it. The latter two are read as their tools would for `selection`.
    pub fn discover_for(start: &Path, selection: &Selection) -> Result<Project, SettingsError> {
        let mut dir = Some(start);
        while let Some(d) = dir {
            // A project.clj or deps.edn implies targets; a kbuild.edn beside it may add to them.
            let mut derived = None;
            for (file, tool) in [(PROJECT_CLJ, Tool::Lein), (DEPS_EDN, Tool::Cli)] {
                if d.join(file).is_file() {
                    derived = Some(Project::read_clojure(d, file, tool, selection)?);
                    break;
                }
            }
            if d.join(BUILD_FILE).is_file() {
                return Project::load_over(d, derived);
            }
            if let Some(p) = derived {
                return Ok(p);
            }
            dir = d.parent();
        }
        Err(SettingsError::NotFound(start.display().to_string()))
    }

    fn read_clojure(
        d: &Path,
        file: &str,
        tool: Tool,
        selection: &Selection,
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
                let user =
                    lein_home.and_then(|h| std::fs::read_to_string(h.join("profiles.clj")).ok());
                let local = std::fs::read_to_string(d.join("profiles.clj")).ok();
                let mut files: Vec<(&'static str, &str)> = Vec::new();
                if let Some(t) = &user {
                    files.push(("~/.lein/profiles.clj", t));
                }
                if let Some(t) = &local {
                    files.push(("profiles.clj", t));
                }
                clojure_project::read_project_clj_with(&text, &refs, &files)
            }
            Tool::Cli => {
                let refs: Vec<&str> = selection.aliases.iter().map(String::as_str).collect();
                clojure_project::read_deps_edn(&text, &refs)
            }
        }
        .map_err(|e| SettingsError::Clojure(e.to_string()))?;
        Project::from_clojure(d, file, cp, selection)
    }

    /// The targets an existing Clojure project implies: `deps` (its Maven dependencies),
    /// `java` (its Java sources), `main` (source and resource paths, AOT), `test`.
    fn from_clojure(
        root: &Path,
        file: &str,
        cp: ClojureProject,
        selection: &Selection,
    ) -> Result<Project, SettingsError> {
        let task = selection.task.as_str();
        let bad = |m: String| SettingsError::File {
            file: file.into(),
            message: m,
        };
        let dep = |d: &clojure_project::Dep| -> Result<MavenDep, SettingsError> {
            Ok(MavenDep {
                group: d.group.clone(),
                artifact: d.artifact.clone(),
                version: d
                    .version
                    .clone()
                    .ok_or_else(|| bad(format!("{}/{} has no version", d.group, d.artifact)))?,
                type_: d.extension.clone(),
                classifier: d.classifier.clone(),
                scope: d.scope.clone(),
                optional: d.optional,
                exclusions: d
                    .exclusions
                    .iter()
                    .map(|(g, a)| format!("{g}:{a}"))
                    .collect(),
            })
        };
        // deps.edn `:local/root` projects become clojure-library targets of their own, and
        // their Maven dependencies join the project's (declared after its own, so that the
        // project's top-level versions win).
        let mut locals: Vec<(String, Vec<String>)> = Vec::new();
        let mut maven: Vec<clojure_project::Dep> = Vec::new();
        let mut pending: Vec<(String, clojure_project::Dep)> = cp
            .dependencies
            .iter()
            .map(|d| (String::new(), d.clone()))
            .collect();
        let mut seen_roots: Vec<String> = Vec::new();
        while !pending.is_empty() {
            let (base, d) = pending.remove(0);
            // A git dependency's tree or a :local/root is a library target of its own;
            // anything else is a Maven dependency.
            let (dir, coord) = if let Some(git) = &d.git {
                let coord = format!("{}/{} {{:git/url {:?}}}", d.group, d.artifact, git.url);
                let dir =
                    crate::gitlibs::checkout(root, &d.group, &d.artifact, git, selection.offline)
                        .map_err(|e| SettingsError::Fetch {
                        file: file.into(),
                        message: format!("{coord}: {e}"),
                    })?;
                (dir, coord)
            } else if let Some(local) = &d.local_root {
                let coord = format!("{}/{} {{:local/root {local:?}}}", d.group, d.artifact);
                (normalize(&format!("{base}{local}")), coord)
            } else {
                if !maven.iter().any(|m| {
                    m.group == d.group && m.artifact == d.artifact && m.classifier == d.classifier
                }) {
                    maven.push(d);
                }
                continue;
            };
            if seen_roots.contains(&dir) {
                continue;
            }
            seen_roots.push(dir.clone());
            let name = format!("local-{}", d.artifact);
            if dir.ends_with(".jar") {
                // A jar goes on the classpath as it is; the pom.xml inside it, if any, names
                // its dependencies (as tools.deps reads it).
                let declared = jar_pom_dependencies(&root.join(&dir))
                    .map_err(|e| bad(format!("{coord}: {e}")))?;
                locals.push((name, vec![dir]));
                pending.extend(declared.into_iter().map(|x| (String::new(), x)));
            } else {
                let (paths, deps) =
                    local_library(root, &dir).map_err(|e| bad(format!("{coord}: {e}")))?;
                locals.push((name, paths));
                pending.extend(deps);
            }
        }
        let coords = maven.iter().map(dep).collect::<Result<Vec<_>, _>>()?;
        let managed = cp
            .managed
            .iter()
            .filter(|d| d.version.is_some())
            .map(dep)
            .collect::<Result<Vec<_>, _>>()?;
        let hashers = vec![
            (
                Glob::new("**/*.java")
                    .expect("valid glob")
                    .compile_matcher(),
                kbuild_hashers::by_name("java").expect("built in"),
            ),
            (
                Glob::new("**/*.clj*")
                    .expect("valid glob")
                    .compile_matcher(),
                kbuild_hashers::by_name("clojure").expect("built in"),
            ),
        ];
        let hashers_text: String = hashers
            .iter()
            .map(|(g, h)| format!("{}={}@{};", g.glob(), h.id(), h.version()))
            .collect();
        let mut targets = BTreeMap::new();
        let mut order = Vec::new();
        let mut add = |name: &str, rule: Rule, deps: Vec<String>| {
            let uses_hashers = matches!(
                rule,
                Rule::JavaLibrary { .. } | Rule::ClojureLibrary { .. } | Rule::Test { .. }
            );
            let hashers = if uses_hashers {
                hashers_text.clone()
            } else {
                String::new()
            };
            let definition = definition(&rule, &deps, &hashers);
            order.push(name.to_string());
            targets.insert(
                name.to_string(),
                Target {
                    rule,
                    deps,
                    definition,
                    hashers,
                    line: 1,
                },
            );
        };
        add(
            "deps",
            Rule::Maven {
                coords,
                managed,
                repositories: cp.repositories.clone(),
                allow_http: false,
                newest: cp.tool == Tool::Cli,
                lein_order: cp.tool == Tool::Lein,
            },
            vec![],
        );
        let mut main_deps = vec!["deps".to_string()];
        if !cp.java_source_paths.is_empty() {
            let srcs = cp
                .java_source_paths
                .iter()
                .map(|p| format!("{}/**/*.java", p.trim_end_matches('/')))
                .collect();
            add(
                "java",
                Rule::JavaLibrary {
                    srcs,
                    javac_opts: cp.javac_options.clone(),
                },
                vec!["deps".into()],
            );
            main_deps.insert(0, "java".into());
        }
        let mut aot = match &cp.aot {
            Aot::None => Vec::new(),
            Aot::All => vec!["*all*".to_string()],
            Aot::Namespaces(n) => n.clone(),
        };
        // Like `lein jar`, packaging compiles :main so that its Main-Class exists.
        if let (true, Some(main)) = (matches!(task, "jar" | "uberjar"), &cp.main) {
            if !aot.iter().any(|a| a == main || a == "*all*") {
                aot.push(main.clone());
            }
        }
        let paths = cp
            .source_paths
            .iter()
            .chain(&cp.resource_paths)
            .map(|p| p.trim_end_matches('/').to_string())
            .collect();
        for (name, paths) in &locals {
            add(
                name,
                Rule::ClojureLibrary {
                    paths: paths.clone(),
                    aot: Vec::new(),
                    jvm: Jvm::default(),
                },
                vec!["deps".into()],
            );
            main_deps.push(name.clone());
        }
        // Only a compiling library runs project code.
        let jvm = if aot.is_empty() {
            Jvm::default()
        } else {
            Jvm::of(&cp)
        };
        add("main", Rule::ClojureLibrary { paths, aot, jvm }, main_deps);
        if !cp.test_paths.is_empty() {
            let paths = cp
                .test_paths
                .iter()
                .map(|p| p.trim_end_matches('/').to_string())
                .collect();
            add(
                "test",
                Rule::Test {
                    paths,
                    select: Vec::new(),
                    selectors: cp.test_selectors.clone(),
                    jvm: Jvm::of(&cp),
                },
                vec!["main".into()],
            );
        }
        if cp.tool == Tool::Lein {
            let mut files = maven_metadata(&cp);
            files.extend(leiningen_metadata(root, &cp));
            let package = Package {
                main_class: cp.main.as_ref().map(|m| m.replace('-', "_")),
                manifest: BTreeMap::new(),
                files,
                sources: cp
                    .java_source_paths
                    .iter()
                    .map(|p| p.trim_end_matches('/').to_string())
                    .collect(),
            };
            let mut jar_deps: Vec<String> = vec!["main".into()];
            if !cp.java_source_paths.is_empty() {
                jar_deps.insert(0, "java".into());
            }
            add("jar", Rule::Jar(package.clone()), jar_deps);
            add("uberjar", Rule::Uberjar(package), vec!["main".into()]);
        }
        Ok(Project {
            root: root.to_path_buf(),
            file: file.to_string(),
            targets,
            order,
            hashers,
            hashers_text,
            clojure: Some(cp),
        })
    }

    /// Reads kbuild.edn, on top of the targets a project.clj or deps.edn implies, if any.
    fn load_over(root: &Path, base: Option<Project>) -> Result<Project, SettingsError> {
        let path = root.join(BUILD_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| SettingsError::File {
            file: BUILD_FILE.into(),
            message: e.to_string(),
        })?;
        Project::parse_over(root, &text, base)
    }

    #[cfg(test)]
    pub fn parse(root: &Path, text: &str) -> Result<Project, SettingsError> {
        Project::parse_over(root, text, None)
    }

    fn parse_over(
        root: &Path,
        text: &str,
        base: Option<Project>,
    ) -> Result<Project, SettingsError> {
        let form = edn::read_one(text).map_err(|e| {
            let pos = e.pos();
            let full = e.to_string();
            let message = full
                .strip_prefix(&format!("{pos}: "))
                .unwrap_or(&full)
                .to_string();
            SettingsError::At {
                file: BUILD_FILE.into(),
                line: pos.line,
                column: pos.column,
                message,
            }
        })?;
        Reader.project(root, &form, base)
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
        let mut out: Vec<String> = Vec::new();
        let mut queue: Vec<String> = self
            .targets
            .get(name)
            .map(|t| t.deps.clone())
            .unwrap_or_default();
        let mut i = 0;
        while i < queue.len() {
            let d = queue[i].clone();
            i += 1;
            if out.contains(&d) {
                continue;
            }
            if let Some(t) = self.targets.get(&d) {
                queue.extend(t.deps.iter().cloned());
            }
            out.push(d);
        }
        out
    }
}

/// A target's name as the build file writes it: a symbol, a keyword or a string.
fn target_name(form: &Form) -> Option<&str> {
    form.as_symbol()
        .or_else(|| form.as_keyword())
        .or_else(|| form.as_str())
}

/// "a map", "an integer": for messages about what was found instead.
fn article(noun: &str) -> String {
    let an = noun.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {noun}", if an { "an" } else { "a" })
}

/// Turns the read form into a project, checking every key and value on the way.
struct Reader;

fn at(form: &Form, message: impl Into<String>) -> SettingsError {
    SettingsError::At {
        file: BUILD_FILE.into(),
        line: form.pos.line,
        column: form.pos.column,
        message: message.into(),
    }
}

impl Reader {
    fn project(
        &self,
        root: &Path,
        form: &Form,
        base: Option<Project>,
    ) -> Result<Project, SettingsError> {
        let entries = form.as_map().ok_or_else(|| {
            at(
                form,
                format!(
                    "expected a map at the top level, found {}",
                    article(form.describe())
                ),
            )
        })?;
        let mut hashers = Vec::new();
        let mut shared = Shared::default();
        let mut targets_form = None;
        for (k, v) in entries {
            match k.as_keyword() {
                Some("hashers") => {
                    let map = v
                        .as_map()
                        .ok_or_else(|| at(v, ":hashers must be a map of glob to hasher"))?;
                    for (g, h) in map {
                        let glob = g.as_str().ok_or_else(|| {
                            at(
                                g,
                                format!(
                                    ":hashers keys are glob strings, found {}",
                                    article(g.describe())
                                ),
                            )
                        })?;
                        let name = h.as_keyword().ok_or_else(|| {
                            at(
                                h,
                                format!(
                                    ":hashers values are keywords like :java, found {}",
                                    article(h.describe())
                                ),
                            )
                        })?;
                        let hasher = kbuild_hashers::by_name(name).ok_or_else(|| {
                            at(
                                h,
                                format!(
                                    "unknown hasher :{name} (known: {})",
                                    kbuild_hashers::names()
                                        .iter()
                                        .map(|n| format!(":{n}"))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            )
                        })?;
                        let matcher = Glob::new(glob)
                            .map_err(|e| at(g, format!("bad glob {glob:?}: {e}")))?
                            .compile_matcher();
                        shared.hashers_text.push_str(&format!(
                            "{glob}={}@{};",
                            hasher.id(),
                            hasher.version()
                        ));
                        hashers.push((matcher, hasher));
                    }
                }
                Some("targets") => targets_form = Some(v),
                Some("repositories") => shared.repositories = repositories(v)?,
                Some("allow-http") => shared.allow_http = boolean(v, ":allow-http")?,
                _ => {
                    return Err(at(
                        k,
                        format!("unknown key {k} (expected :targets, :hashers, :repositories or :allow-http)"),
                    ))
                }
            }
        }
        let targets_form = targets_form.ok_or_else(|| at(form, "no :targets in the build file"))?;
        let tmap = targets_form
            .as_map()
            .ok_or_else(|| at(targets_form, ":targets must be a map of name to target"))?;
        // Targets a project.clj or deps.edn implies come first; the build file may use them
        // as deps, replace them by name, and re-choose their hashers.
        let (mut targets, mut order, clojure) = match base {
            Some(b) => {
                let mut targets = b.targets;
                if hashers.is_empty() {
                    hashers = b.hashers;
                    shared.hashers_text = b.hashers_text;
                } else {
                    for t in targets.values_mut() {
                        t.rehash(&shared.hashers_text);
                    }
                }
                (targets, b.order, b.clojure)
            }
            None => (BTreeMap::new(), Vec::new(), None),
        };
        let derived: Vec<String> = order.clone();
        let mut defined: Vec<(String, &Form)> = Vec::new();
        for (k, v) in tmap {
            let name = target_name(k)
                .ok_or_else(|| {
                    at(
                        k,
                        format!("target names are symbols, found {}", article(k.describe())),
                    )
                })?
                .to_string();
            if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\']) {
                return Err(at(
                    k,
                    format!("target name {name:?} cannot be used as a directory name"),
                ));
            }
            if targets.contains_key(&name) && !derived.contains(&name) {
                return Err(at(k, format!("target {name} is defined twice")));
            }
            let target = self.target(&name, v, &shared)?;
            if !order.contains(&name) {
                order.push(name.clone());
            }
            targets.insert(name.clone(), target);
            defined.push((name, v));
        }
        for (name, v) in defined {
            for (dep, dep_form) in targets[&name]
                .deps
                .iter()
                .zip(v.get("deps").and_then(Form::as_seq).unwrap_or(&[]))
            {
                if !targets.contains_key(dep) {
                    return Err(at(
                        dep_form,
                        format!("target {name}: unknown target {dep} in :deps"),
                    ));
                }
            }
        }
        if let Some(cycle) = find_cycle(&targets, &order) {
            let first = &cycle[0];
            let line = targets[first].line;
            return Err(SettingsError::At {
                file: BUILD_FILE.into(),
                line,
                column: 1,
                message: format!("dependency cycle: {}", cycle.join(" -> ")),
            });
        }
        Ok(Project {
            clojure,
            root: root.to_path_buf(),
            file: BUILD_FILE.into(),
            targets,
            order,
            hashers,
            hashers_text: shared.hashers_text,
        })
    }

    fn target(&self, name: &str, form: &Form, shared: &Shared) -> Result<Target, SettingsError> {
        let map = form.as_map().ok_or_else(|| {
            at(
                form,
                format!(
                    "target {name}: expected a map, found {}",
                    article(form.describe())
                ),
            )
        })?;
        let rule_form = form
            .get("rule")
            .ok_or_else(|| at(form, format!("target {name}: no :rule")))?;
        let kind = rule_form
            .as_keyword()
            .ok_or_else(|| at(rule_form, format!("target {name}: :rule must be a keyword")))?;
        let allowed = Rule::keys(kind).ok_or_else(|| at(rule_form, format!("target {name}: unknown rule :{kind} (known: :java-library, :clojure-library, :resources, :command, :jar, :uberjar, :maven, :test)")))?;
        for (k, _) in map {
            match k.as_keyword() {
                Some(key) if allowed.contains(&key) => {}
                _ => {
                    let known: Vec<String> = allowed.iter().map(|k| format!(":{k}")).collect();
                    return Err(at(
                        k,
                        format!(
                            "target {name}: unknown key {k} for rule :{kind} (expected {})",
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        let strings = |key: &str, required: bool| -> Result<Vec<String>, SettingsError> {
            match form.get(key) {
                None if required => Err(at(
                    form,
                    format!("target {name}: :{key} is required for rule :{kind}"),
                )),
                None => Ok(Vec::new()),
                Some(v) => {
                    let seq = v.as_seq().ok_or_else(|| {
                        at(
                            v,
                            format!("target {name}: :{key} must be a vector of strings"),
                        )
                    })?;
                    seq.iter()
                        .map(|s| {
                            s.as_str().map(str::to_string).ok_or_else(|| {
                                at(
                                    s,
                                    format!(
                                        "target {name}: :{key} must hold strings, found {}",
                                        article(s.describe())
                                    ),
                                )
                            })
                        })
                        .collect()
                }
            }
        };
        let relative = |key: &str, values: &[String]| -> Result<(), SettingsError> {
            for v in values {
                if v.starts_with('/') || v.split('/').any(|p| p == "..") {
                    let f = form.get(key).unwrap_or(form);
                    return Err(at(
                        f,
                        format!("target {name}: {key} path {v:?} must stay inside the project"),
                    ));
                }
            }
            Ok(())
        };
        let string = |key: &str| -> Result<Option<String>, SettingsError> {
            match form.get(key) {
                None => Ok(None),
                Some(v) => v
                    .as_str()
                    .map(|s| Some(s.to_string()))
                    .ok_or_else(|| at(v, format!("target {name}: :{key} must be a string"))),
            }
        };
        let deps = match form.get("deps") {
            None => Vec::new(),
            Some(v) => {
                let seq = v.as_seq().ok_or_else(|| {
                    at(
                        v,
                        format!("target {name}: :deps must be a vector of target names"),
                    )
                })?;
                seq.iter()
                    .map(|d| {
                        target_name(d).map(str::to_string).ok_or_else(|| {
                            at(
                                d,
                                format!(
                                    "target {name}: :deps holds target names, found {}",
                                    article(d.describe())
                                ),
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?
            }
        };
        let rule = match kind {
            "java-library" => {
                let srcs = strings("srcs", true)?;
                relative("srcs", &srcs)?;
                Rule::JavaLibrary {
                    srcs,
                    javac_opts: strings("javac-opts", false)?,
                }
            }
            "resources" => {
                let srcs = strings("srcs", true)?;
                relative("srcs", &srcs)?;
                let root = string("root")?.unwrap_or_default();
                relative("root", std::slice::from_ref(&root))?;
                Rule::Resources {
                    root: root.trim_end_matches('/').to_string(),
                    srcs,
                }
            }
            "command" => {
                let srcs = strings("srcs", false)?;
                let outs = strings("outs", true)?;
                relative("srcs", &srcs)?;
                relative("outs", &outs)?;
                let cmd = strings("cmd", true)?;
                if cmd.is_empty() {
                    return Err(at(
                        form.get("cmd").unwrap_or(form),
                        format!("target {name}: :cmd is empty"),
                    ));
                }
                Rule::Command { srcs, outs, cmd }
            }
            "jar" | "uberjar" => {
                let mut manifest = BTreeMap::new();
                if let Some(m) = form.get("manifest") {
                    for (k, v) in m.as_map().ok_or_else(|| {
                        at(
                            m,
                            format!("target {name}: :manifest must be a map of strings"),
                        )
                    })? {
                        let (Some(k), Some(v)) = (k.as_str(), v.as_str()) else {
                            return Err(at(
                                k,
                                format!("target {name}: :manifest must be a map of strings"),
                            ));
                        };
                        manifest.insert(k.to_string(), v.to_string());
                    }
                }
                let package = Package {
                    main_class: string("main-class")?,
                    manifest,
                    ..Package::default()
                };
                if kind == "jar" {
                    Rule::Jar(package)
                } else {
                    Rule::Uberjar(package)
                }
            }
            "clojure-library" | "test" => {
                // A test target may hold only JUnit classes (in its java-library deps).
                let paths = strings("paths", kind == "clojure-library")?;
                relative("paths", &paths)?;
                let paths = paths
                    .into_iter()
                    .map(|p| p.trim_end_matches('/').to_string())
                    .collect();
                if kind == "test" {
                    Rule::Test {
                        paths,
                        select: Vec::new(),
                        selectors: Vec::new(),
                        jvm: Jvm {
                            opts: strings("jvm-opts", false)?,
                            prelude: Vec::new(),
                        },
                    }
                } else {
                    let aot = match form.get("aot") {
                        None => Vec::new(),
                        Some(v) if v.as_keyword() == Some("all") => vec!["*all*".to_string()],
                        Some(v) => {
                            let seq = v.as_seq().ok_or_else(|| {
                                at(
                                    v,
                                    format!(
                                        "target {name}: :aot is :all or a vector of namespaces"
                                    ),
                                )
                            })?;
                            seq.iter()
                                .map(|n| {
                                    n.as_symbol().map(str::to_string).ok_or_else(|| {
                                        at(
                                            n,
                                            format!("target {name}: :aot holds namespace symbols"),
                                        )
                                    })
                                })
                                .collect::<Result<_, _>>()?
                        }
                    };
                    Rule::ClojureLibrary {
                        paths,
                        aot,
                        jvm: Jvm::default(),
                    }
                }
            }
            "maven" => {
                let coords_form = form.get("coords").ok_or_else(|| {
                    at(
                        form,
                        format!("target {name}: :coords is required for rule :maven"),
                    )
                })?;
                let seq = coords_form.as_seq().ok_or_else(|| {
                    at(coords_form, format!("target {name}: :coords must be a vector of [group/artifact \"version\"] vectors"))
                })?;
                let coords = seq
                    .iter()
                    .map(|c| maven_dep(name, c))
                    .collect::<Result<_, _>>()?;
                let mut repositories = shared.repositories.clone();
                if let Some(r) = form.get("repositories") {
                    for (id, url) in self::repositories(r)? {
                        repositories.retain(|(i, _)| *i != id);
                        repositories.push((id, url));
                    }
                }
                let allow_http = match form.get("allow-http") {
                    Some(v) => boolean(v, ":allow-http")?,
                    None => shared.allow_http,
                };
                if !allow_http {
                    if let Some((id, url)) =
                        repositories.iter().find(|(_, u)| u.starts_with("http://"))
                    {
                        let f = form.get("repositories").unwrap_or(form);
                        return Err(at(
                            f,
                            format!("target {name}: repository {id} ({url}) is plain http; use https, or set :allow-http true"),
                        ));
                    }
                }
                if !deps.is_empty() {
                    return Err(at(
                        form,
                        format!("target {name}: a :maven target has no :deps"),
                    ));
                }
                Rule::Maven {
                    coords,
                    managed: Vec::new(),
                    repositories,
                    allow_http,
                    newest: false,
                    lein_order: false,
                }
            }
            _ => unreachable!("checked by Rule::keys"),
        };
        // Only rules that hash sources with the :hashers map depend on it.
        let hashers = if matches!(
            rule,
            Rule::JavaLibrary { .. } | Rule::ClojureLibrary { .. } | Rule::Test { .. }
        ) {
            shared.hashers_text.clone()
        } else {
            String::new()
        };
        let definition = definition(&rule, &deps, &hashers);
        Ok(Target {
            rule,
            deps,
            definition,
            hashers,
            line: form.pos.line,
        })
    }
}

/// What `lein jar` adds under `META-INF/leiningen/<group>/<name>/`: the project.clj, and the
/// README and LICENSE files at the root (matched case-insensitively by their start).
fn leiningen_metadata(root: &Path, cp: &ClojureProject) -> BTreeMap<String, String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| {
                    let lower = n.to_lowercase();
                    lower.starts_with("readme") || lower.starts_with("license")
                })
                .collect()
        })
        .unwrap_or_default();
    names.push(PROJECT_CLJ.to_string());
    names
        .into_iter()
        .filter_map(|n| {
            let text = std::fs::read(root.join(&n)).ok()?;
            Some((
                format!("META-INF/leiningen/{}/{}/{n}", cp.group, cp.name),
                String::from_utf8_lossy(&text).into_owned(),
            ))
        })
        .collect()
}

/// `META-INF/maven/<group>/<name>/pom.xml` and `pom.properties`, as `lein jar` writes them
/// (without the timestamp, so jars stay reproducible).
fn maven_metadata(cp: &ClojureProject) -> BTreeMap<String, String> {
    fn esc(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }
    let mut deps = String::new();
    for d in &cp.dependencies {
        deps.push_str("    <dependency>\n");
        deps.push_str(&format!(
            "      <groupId>{}</groupId>\n      <artifactId>{}</artifactId>\n",
            esc(&d.group),
            esc(&d.artifact)
        ));
        if let Some(v) = &d.version {
            deps.push_str(&format!("      <version>{}</version>\n", esc(v)));
        }
        if !d.classifier.is_empty() {
            deps.push_str(&format!(
                "      <classifier>{}</classifier>\n",
                esc(&d.classifier)
            ));
        }
        if d.extension != "jar" {
            deps.push_str(&format!("      <type>{}</type>\n", esc(&d.extension)));
        }
        if d.scope != "compile" {
            deps.push_str(&format!("      <scope>{}</scope>\n", esc(&d.scope)));
        }
        if d.optional {
            deps.push_str("      <optional>true</optional>\n");
        }
        if !d.exclusions.is_empty() {
            deps.push_str("      <exclusions>\n");
            for (g, a) in &d.exclusions {
                deps.push_str(&format!(
                    "        <exclusion>\n          <groupId>{}</groupId>\n          <artifactId>{}</artifactId>\n        </exclusion>\n",
                    esc(g),
                    esc(a)
                ));
            }
            deps.push_str("      </exclusions>\n");
        }
        deps.push_str("    </dependency>\n");
    }
    let pom = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <project xmlns=\"http://maven.apache.org/POM/4.0.0\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:schemaLocation=\"http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd\">\n\
         \x20 <modelVersion>4.0.0</modelVersion>\n\
         \x20 <groupId>{g}</groupId>\n\
         \x20 <artifactId>{a}</artifactId>\n\
         \x20 <packaging>jar</packaging>\n\
         \x20 <version>{v}</version>\n\
         \x20 <name>{a}</name>\n\
         \x20 <dependencies>\n{deps}  </dependencies>\n\
         </project>\n",
        g = esc(&cp.group),
        a = esc(&cp.name),
        v = esc(&cp.version),
    );
    let props = format!(
        "groupId={}\nartifactId={}\nversion={}\n",
        cp.group, cp.name, cp.version
    );
    let dir = format!("META-INF/maven/{}/{}", cp.group, cp.name);
    BTreeMap::from([
        (format!("{dir}/pom.xml"), pom),
        (format!("{dir}/pom.properties"), props),
    ])
}

/// A relative path with `.` and `dir/..` folded away, `/`-separated (`../lib/./src` →
/// `../lib/src`); leading `..` stay, since local roots may sit beside the project.
fn normalize(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if out.last().is_some_and(|p| *p != "..") => {
                out.pop();
            }
            p => out.push(p),
        }
    }
    out.join("/")
}

/// `{"id" "url"}` in source order.
fn repositories(form: &Form) -> Result<Vec<(String, String)>, SettingsError> {
    let map = form
        .as_map()
        .ok_or_else(|| at(form, ":repositories must be a map of id to URL"))?;
    map.iter()
        .map(
            |(k, v)| match (k.as_str().or_else(|| k.as_symbol()), v.as_str()) {
                (Some(id), Some(url)) if url.contains("://") => {
                    Ok((id.to_string(), url.to_string()))
                }
                (Some(_), _) => Err(at(
                    v,
                    "a repository URL must be a string like \"https://repo.example.com/maven2/\"",
                )),
                _ => Err(at(k, "repository ids are strings")),
            },
        )
        .collect()
}

fn boolean(form: &Form, what: &str) -> Result<bool, SettingsError> {
    match &form.value {
        crate::edn::Value::Bool(b) => Ok(*b),
        _ => Err(at(form, format!("{what} must be true or false"))),
    }
}

/// `[group/artifact "version" :classifier "c" :extension "zip" :scope "test" :optional true
/// :exclusions [g/a ...]]`; a bare `artifact` means `artifact/artifact`, as in Leiningen.
fn maven_dep(target: &str, form: &Form) -> Result<MavenDep, SettingsError> {
    let bad = |f: &Form, m: &str| at(f, format!("target {target}: {m}"));
    let items = match &form.value {
        crate::edn::Value::Vector(v) => v,
        _ => {
            return Err(bad(
                form,
                "each coordinate is a vector like [org.clojure/clojure \"1.11.1\"]",
            ))
        }
    };
    let (Some(sym), Some(version)) = (items.first(), items.get(1)) else {
        return Err(bad(form, "a coordinate needs a name and a version"));
    };
    let (group, artifact) = split_name(sym)
        .ok_or_else(|| bad(sym, "a coordinate starts with a symbol like group/artifact"))?;
    let version = version
        .as_str()
        .ok_or_else(|| bad(version, "the version is a string"))?
        .to_string();
    let mut dep = MavenDep {
        group,
        artifact,
        version,
        type_: "jar".into(),
        classifier: String::new(),
        scope: "compile".into(),
        optional: false,
        exclusions: Vec::new(),
    };
    let rest = &items[2..];
    if rest.len() % 2 != 0 {
        return Err(bad(
            form,
            "options after the version come in :key value pairs",
        ));
    }
    for pair in rest.chunks(2) {
        let (k, v) = (&pair[0], &pair[1]);
        let text = || {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| bad(v, "expected a string"))
        };
        match k.as_keyword() {
            Some("classifier") => dep.classifier = text()?,
            Some("extension") | Some("type") => dep.type_ = text()?,
            Some("scope") => {
                let s = text()?;
                if !["compile", "runtime", "provided", "test", "system"].contains(&s.as_str()) {
                    return Err(bad(v, &format!("unknown scope {s:?}")));
                }
                dep.scope = s;
            }
            Some("optional") => dep.optional = boolean(v, ":optional")?,
            Some("exclusions") => {
                let seq = v.as_seq().ok_or_else(|| bad(v, ":exclusions is a vector of group/artifact symbols"))?;
                for e in seq {
                    let e = match &e.value {
                        crate::edn::Value::Vector(inner) => inner.first().unwrap_or(e),
                        _ => e,
                    };
                    let (g, a) = split_name(e).ok_or_else(|| bad(e, "an exclusion is a symbol like group/artifact"))?;
                    dep.exclusions.push(format!("{g}:{a}"));
                }
            }
            _ => return Err(bad(k, &format!("unknown coordinate option {k} (expected :classifier, :extension, :scope, :optional or :exclusions)"))),
        }
    }
    Ok(dep)
}

fn split_name(form: &Form) -> Option<(String, String)> {
    let name = form.as_symbol().or_else(|| form.as_str())?;
    Some(match name.split_once('/') {
        Some((g, a)) => (g.to_string(), a.to_string()),
        None => (name.to_string(), name.to_string()),
    })
}

/// A dependency cycle among targets, as a path that starts and ends at the same target.
fn find_cycle(targets: &BTreeMap<String, Target>, order: &[String]) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit(
        n: &str,
        targets: &BTreeMap<String, Target>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(n).copied().unwrap_or(Mark::New) {
            Mark::Done => return None,
            Mark::Active => {
                let start = path.iter().position(|p| p == n).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(n.to_string());
                return Some(cycle);
            }
            Mark::New => {}
        }
        marks.insert(n.to_string(), Mark::Active);
        path.push(n.to_string());
        for d in targets.get(n).map(|t| t.deps.as_slice()).unwrap_or(&[]) {
            if let Some(c) = visit(d, targets, marks, path) {
                return Some(c);
            }
        }
        path.pop();
        marks.insert(n.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    order
        .iter()
        .find_map(|n| visit(n, targets, &mut marks, &mut Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match Project::parse(Path::new("/p"), text) {
            Ok(_) => panic!("expected an error for {text}"),
            Err(e) => e.to_string(),
        }
    }

    const GOOD: &str = r#"{:hashers {"**/*.java" :java}
 :targets {util {:rule :java-library :srcs ["src/util/**/*.java"]}
           app  {:rule :java-library :srcs ["src/app/**/*.java"] :deps [util]
                 :javac-opts ["--release" "17"]}
           res  {:rule :resources :root "resources" :srcs ["resources/**"]}
           gen  {:rule :command :srcs ["gen/input.txt"] :outs ["generated.txt"]
                 :cmd ["sh" "-c" "tr a-z A-Z < gen/input.txt > \"$OUT/generated.txt\""]}
           dist {:rule :jar :deps [app util res gen] :main-class "a.Main"}}}"#;

    #[test]
    fn the_documented_example_reads() {
        let p = Project::parse(Path::new("/p"), GOOD).unwrap();
        assert_eq!(p.order, vec!["util", "app", "res", "gen", "dist"]);
        assert_eq!(p.hasher_for("src/a/B.java").id(), "java");
        assert_eq!(p.hasher_for("gen/input.txt").id(), "sha512");
        assert_eq!(p.transitive_deps("dist"), vec!["app", "util", "res", "gen"]);
        assert!(
            matches!(&p.targets["app"].rule, Rule::JavaLibrary { javac_opts, .. } if javac_opts == &["--release", "17"])
        );
        assert_eq!(p.targets["app"].line, 3);
    }

    #[test]
    fn definitions_change_with_arguments_only() {
        let a = Project::parse(Path::new("/p"), GOOD).unwrap();
        let b = Project::parse(Path::new("/q"), &GOOD.replace("\"17\"", "\"11\"")).unwrap();
        assert_ne!(a.targets["app"].definition, b.targets["app"].definition);
        assert_eq!(a.targets["util"].definition, b.targets["util"].definition);
        assert!(
            !a.targets["app"].definition.contains("/p"),
            "no absolute paths in keys"
        );
    }

    #[test]
    fn errors_name_file_line_column_and_target() {
        assert_eq!(
            err("{:targets {a {:rule :java-library :srcs [\"x\"]}"),
            "kbuild.edn:1:11: `{` is never closed"
        );
        let e = err("{:targets {a {:rule :java-library\n :srcz [\"x\"]}}}");
        assert!(
            e.starts_with("kbuild.edn:2:2: target a: unknown key :srcz"),
            "{e}"
        );
        let e = err("{:targets {a {:rule :scala-library}}}");
        assert!(
            e.starts_with("kbuild.edn:1:21: target a: unknown rule :scala-library"),
            "{e}"
        );
        let e = err("{:hashers {\"*.java\" :javaa} :targets {}}");
        assert!(e.contains("1:21: unknown hasher :javaa"), "{e}");
        let e = err("{:targets {a {:rule :jar :deps [b]}}}");
        assert!(
            e.contains("1:33: target a: unknown target b in :deps"),
            "{e}"
        );
        let e = err("{:targets {a {:rule :jar :deps [b]}\n b {:rule :jar :deps [a]}}}");
        assert!(e.contains("dependency cycle: a -> b -> a"), "{e}");
        let e = err("{:targets {a {:rule :java-library :srcs [\"../x/*.java\"]}}}");
        assert!(e.contains("must stay inside the project"), "{e}");
    }
}
