//! A target: its rule kind with the rule's arguments, its dependencies, and the canonical
//! definition the engine keys it by.

use std::collections::BTreeMap;

use kbuild_resolvers::Dependency;
use serde::Serialize;

use super::ClojureProject;

/// A rule kind with its arguments. Serialized (canonically) into the target's definition,
/// so any change to a rule's arguments changes its `Def` key's value.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub(crate) enum Rule {
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
        /// The direct dependencies, as the resolver takes them.
        coords: Vec<Dependency>,
        /// dependencyManagement (Leiningen's :managed-dependencies).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        managed: Vec<Dependency>,
        /// In the order they are tried; the project's, then the target's own.
        repositories: Vec<kbuild_resolvers::RemoteRepository>,
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
    /// A `:prep-tasks` entry `["run" "-m" NS ARGS...]`: `clojure.main -m NS ARGS...` run in
    /// the project root on the project's classpath. Only project.clj lowering makes these.
    PrepRun {
        /// `NS ARGS...`.
        args: Vec<String>,
        /// The source and resource paths: on its classpath, and its inputs.
        paths: Vec<String>,
        /// What it writes into the project (`:kbuild/outputs`); none: it runs every build.
        outputs: Vec<String>,
        #[serde(skip_serializing_if = "Jvm::is_empty")]
        jvm: Jvm,
    },
    /// Any other `:prep-tasks` entry: `lein ARGS...` in the project root, every build.
    LeinTask {
        args: Vec<String>,
    },
    /// A deps.edn git dependency's tree at a commit, exported into `dir` (relative to the
    /// project root). Only deps.edn lowering makes these: build files do not name them.
    GitLib {
        url: String,
        /// As deps.edn writes it: the full SHA, or with a tag a prefix of it.
        sha: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        tag: Option<String>,
        dir: String,
    },
}

/// What a `jar` or `uberjar` puts in besides its dependencies' products.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Package {
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
pub(crate) struct Jvm {
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
            Rule::GitLib { .. } => "git-lib",
            Rule::PrepRun { .. } => "prep-run",
            Rule::LeinTask { .. } => "lein-task",
        }
    }

    /// Why a rule runs every time, if it does: its result may change with nothing in the
    /// build having changed (version ranges, snapshots), or kbuild cannot know what it
    /// reads and writes. Early cutoff still spares its dependents.
    pub fn always_runs(&self) -> Option<&'static str> {
        match self {
            Rule::Maven { coords, .. } if coords.iter().any(is_dynamic) => {
                Some("its versions are ranges or snapshots, checked every build (the repositories' metadata as their update policies say)")
            }
            Rule::PrepRun { outputs, .. } if outputs.is_empty() => {
                Some("the prep task declares no :kbuild/outputs, so it runs every build")
            }
            Rule::LeinTask { .. } => Some("a prep task run through lein runs every build"),
            _ => None,
        }
    }

    /// Whether the rule hashes sources with the project's `:hashers` map, which then enters
    /// its definition.
    fn uses_hashers(&self) -> bool {
        matches!(
            self,
            Rule::JavaLibrary { .. }
                | Rule::ClojureLibrary { .. }
                | Rule::Test { .. }
                | Rule::PrepRun { .. }
        )
    }
}

/// A version that can resolve differently tomorrow: a range or a snapshot.
fn is_dynamic(dep: &Dependency) -> bool {
    let version = &dep.coord.version;
    version.starts_with(['[', '(']) || version.ends_with("SNAPSHOT")
}

#[derive(Debug, Clone)]
pub(crate) struct Target {
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
    /// A target of `rule` declared at `line`; `hashers_text` (the project's `:hashers` map
    /// as text) enters its definition when the rule hashes sources with it.
    pub(super) fn new(rule: Rule, deps: Vec<String>, hashers_text: &str, line: u32) -> Target {
        let hashers = if rule.uses_hashers() {
            hashers_text.to_string()
        } else {
            String::new()
        };
        let definition = definition(&rule, &deps, &hashers);
        Target {
            rule,
            deps,
            definition,
            hashers,
            line,
        }
    }

    /// Where the product goes when not under `target/kbuild/<name>` (relative to the root).
    pub fn place(&self) -> Option<String> {
        match &self.rule {
            Rule::GitLib { dir, .. } => Some(dir.clone()),
            _ => None,
        }
    }

    /// Narrows a `:test` target to some namespaces; the selection is part of its definition,
    /// so each selection has its own cached outcome.
    pub fn select(&mut self, selectors: &[String]) {
        if let Rule::Test { select, .. } = &mut self.rule {
            *select = selectors.to_vec();
            self.definition = definition(&self.rule, &self.deps, &self.hashers);
        }
    }

    /// Re-derives the definition under another `:hashers` map, for the rules that use it.
    pub(super) fn rehash(&mut self, hashers_text: &str) {
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
