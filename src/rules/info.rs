//! Providers: what a target's product tells its dependents, as Bazel's `JavaInfo` does. A rule
//! fetches its direct dependencies only; their products carry the rest of the graph below them
//! (each target's kind, direct dependencies and place on a classpath), so a `:deps` edit
//! anywhere upstream changes a value that every downstream trace recorded. The graph carries
//! names and paths, never content, so an unchanged upstream still cuts off.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kbuild_engine::{BuildError, Computed, Ctx, Hash, Key};
use serde::{Deserialize, Serialize};

use crate::env::Env;
use crate::project::{Rule, Target};

/// One place on a classpath.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CpEntry {
    /// A target's output directory.
    Out(String),
    /// The jar a `jar` or `uberjar` target made.
    Jar(String),
    /// A directory or file of the project, relative to its root.
    Path(String),
    /// A file relative to the Maven local repository (absolute when outside it).
    Repo(String),
}

/// A resolved Maven artifact that a product refers to where it is, with the digest it had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// `group:artifact:type[:classifier]:version:scope`, as `mvn dependency:list` prints it.
    pub id: String,
    /// Relative to the Maven local repository (absolute for a file outside it), so the
    /// product is the same on every machine.
    pub file: String,
    pub sha256: Hash,
}

/// A target as the targets above it see it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Its rule kind (`java-library`).
    pub kind: String,
    pub deps: Vec<String>,
    pub entries: Vec<CpEntry>,
    /// A Clojure library's source roots, which a jar packages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roots: Vec<String>,
}

/// A product's `info`. Each field is a facet a dependent can fetch alone
/// ([`kbuild_engine::Key::Facet`]): javac consumers take `node`, `below` and `abi` only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    pub node: Node,
    /// Every target below this one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub below: BTreeMap<String, Node>,
    /// A `maven` target's resolution, in classpath order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<Artifact>,
    /// What else the product stands for when its files do not show it: a Clojure library
    /// used from source is its sources' digests, so its users see them change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Hash>,
    /// A `java-library`'s classes as a compiler that uses them sees them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abi: Option<Hash>,
    /// A `git-lib`'s tree: which commit, and where it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<Export>,
}

/// A git library's exported tree: the commit's full SHA and the directory holding the tree,
/// relative to the project root (the deps.edn lowering reads the library's own deps.edn
/// there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    pub sha: String,
    pub dir: String,
}

impl Info {
    pub fn of(c: &Computed) -> Info {
        c.product()
            .and_then(|p| serde_json::from_value(p.info.clone()).ok())
            .unwrap_or_default()
    }

    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("providers serialize")
    }
}

/// A target's own place on a classpath, from its definition (a `maven` target's is its
/// resolution, known only once resolved).
pub fn entries_of(name: &str, target: &Target) -> Vec<CpEntry> {
    match &target.rule {
        Rule::Jar(_) | Rule::Uberjar(_) => vec![CpEntry::Jar(name.to_string())],
        // A git library is on the classpath through the library target made of its tree.
        Rule::Maven { .. } | Rule::GitLib { .. } => Vec::new(),
        // A prep task's effect is on the project's own paths, already on the classpath.
        Rule::PrepRun { .. } | Rule::LeinTask { .. } => Vec::new(),
        Rule::ClojureLibrary { paths, aot, .. } => {
            let mut out: Vec<CpEntry> = paths.iter().cloned().map(CpEntry::Path).collect();
            if !aot.is_empty() {
                out.push(CpEntry::Out(name.to_string()));
            }
            out
        }
        Rule::Test { paths, .. } => paths.iter().cloned().map(CpEntry::Path).collect(),
        _ => vec![CpEntry::Out(name.to_string())],
    }
}

/// A `maven` target's place on a classpath: its jars.
pub fn artifact_entries(artifacts: &[Artifact]) -> Vec<CpEntry> {
    artifacts
        .iter()
        .filter(|a| a.file.ends_with(".jar"))
        .map(|a| CpEntry::Repo(a.file.clone()))
        .collect()
}

/// The direct dependencies of the running target, fetched as one batch, with what their
/// products say of the graph below them.
pub struct Deps {
    pub names: Vec<String>,
    pub values: Vec<Computed>,
    pub infos: Vec<Info>,
    /// Every target below: the direct dependencies' nodes and theirs.
    below: BTreeMap<String, Node>,
}

impl Deps {
    pub async fn fetch(ctx: &Ctx) -> Result<Deps, BuildError> {
        let names = ctx.spec::<Target>().deps.clone();
        let values = ctx
            .fetch_all(names.iter().map(|n| Key::Target(n.clone())).collect())
            .await?;
        let infos = values.iter().map(Info::of).collect();
        Ok(Deps::new(names, values, infos))
    }

    /// The direct dependencies as a compiler sees them: their place in the graph (the `node`
    /// and `below` facets), not their content, which [`Deps::fetch_compiled`] takes as ABI.
    pub async fn fetch_shapes(ctx: &Ctx) -> Result<Deps, BuildError> {
        let names = ctx.spec::<Target>().deps.clone();
        let facet = |n: &String, name: &str| Key::Facet {
            target: n.clone(),
            name: name.to_string(),
        };
        let keys = names
            .iter()
            .flat_map(|n| [facet(n, "node"), facet(n, "below")])
            .collect();
        let got = ctx.fetch_all(keys).await?;
        let mut infos = Vec::new();
        for pair in got.chunks(2) {
            let field = |c: &Computed| match &*c.value {
                kbuild_engine::Value::Text(t) => serde_json::from_str(t).unwrap_or_default(),
                _ => serde_json::Value::Null,
            };
            infos.push(Info {
                node: serde_json::from_value(field(&pair[0])).unwrap_or_default(),
                below: serde_json::from_value(field(&pair[1])).unwrap_or_default(),
                ..Info::default()
            });
        }
        Ok(Deps::new(names, Vec::new(), infos))
    }

    /// What a compiler reads of everything below: a `java-library`'s ABI (so that a body edit
    /// there cuts off here), anything else whole. Fetched as one batch.
    pub async fn fetch_compiled(&self, ctx: &Ctx) -> Result<(), BuildError> {
        let below = &self.below;
        let keys = self
            .closure()
            .into_iter()
            .map(|n| match below.get(&n).map(|b| b.kind.as_str()) {
                Some("java-library") => Key::Facet {
                    target: n,
                    name: "abi".into(),
                },
                _ => Key::Target(n),
            })
            .collect();
        ctx.fetch_all(keys).await?;
        Ok(())
    }

    /// The classpath of the closure's own entries, in closure order.
    pub fn classpath(&self, env: &Env) -> Vec<String> {
        let below = &self.below;
        let closure = self.closure();
        classpath(
            env,
            closure
                .iter()
                .filter_map(|n| below.get(n))
                .flat_map(|node| &node.entries),
        )
    }

    /// Merges the direct dependencies' graphs once, for every question asked of them.
    fn new(names: Vec<String>, values: Vec<Computed>, infos: Vec<Info>) -> Deps {
        let mut below = BTreeMap::new();
        for (name, info) in names.iter().zip(&infos) {
            below.extend(info.below.clone());
            below.insert(name.clone(), info.node.clone());
        }
        Deps {
            names,
            values,
            infos,
            below,
        }
    }

    /// The direct dependencies and everything below them, each once, nearest first (breadth
    /// first, as the build file's graph orders them).
    pub fn closure(&self) -> Vec<String> {
        closure(&self.names, &self.below)
    }

    /// Fetches, as one batch, the targets below the direct dependencies; returns the whole
    /// closure in order with each target's value.
    pub async fn fetch_closure(&self, ctx: &Ctx) -> Result<Vec<(String, Computed)>, BuildError> {
        let all = self.closure();
        let rest: Vec<&String> = all.iter().filter(|n| !self.names.contains(n)).collect();
        let fetched = ctx
            .fetch_all(rest.iter().map(|n| Key::Target((*n).clone())).collect())
            .await?;
        let mut by_name: BTreeMap<&String, Computed> = rest.into_iter().zip(fetched).collect();
        for (n, v) in self.names.iter().zip(&self.values) {
            by_name.insert(n, v.clone());
        }
        Ok(all
            .iter()
            .map(|n| (n.clone(), by_name[n].clone()))
            .collect())
    }

    /// The running target's providers.
    pub fn info(&self, name: &str, target: &Target) -> Info {
        let roots = match &target.rule {
            Rule::ClojureLibrary { paths, .. } => paths.clone(),
            _ => Vec::new(),
        };
        Info {
            node: Node {
                kind: target.rule.kind().to_string(),
                deps: self.names.clone(),
                entries: entries_of(name, target),
                roots,
            },
            below: self.below.clone(),
            ..Info::default()
        }
    }
}

/// Breadth first from `start` through `graph`, each name once.
pub fn closure(start: &[String], graph: &BTreeMap<String, Node>) -> Vec<String> {
    crate::project::breadth_first(start, |d| graph.get(d).map(|n| n.deps.as_slice()))
}

/// The classpath that entries make, in order, each once.
pub fn classpath<'a>(env: &Env, entries: impl IntoIterator<Item = &'a CpEntry>) -> Vec<String> {
    let mut cp: Vec<String> = Vec::new();
    for entry in entries {
        let Some(path) = resolve(env, entry) else {
            continue;
        };
        let path = path.to_string_lossy().into_owned();
        if !cp.contains(&path) {
            cp.push(path);
        }
    }
    cp
}

/// Where an entry is on this machine.
pub fn resolve(env: &Env, entry: &CpEntry) -> Option<PathBuf> {
    Some(match entry {
        CpEntry::Out(t) => env.out_dir(t),
        CpEntry::Jar(t) => env.out_dir(t).join(format!("{t}.jar")),
        CpEntry::Path(p) => env.root().join(p),
        CpEntry::Repo(f) => env.local_repo().ok()?.join(f),
    })
}

/// The classpath of the closure's entries, in closure order.
pub fn closure_classpath(env: &Env, closure: &[(String, Computed)]) -> Vec<String> {
    let infos: Vec<Info> = closure.iter().map(|(_, c)| Info::of(c)).collect();
    classpath(env, infos.iter().flat_map(|i| &i.node.entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closure_is_breadth_first_each_once() {
        let node = |deps: &[&str]| Node {
            deps: deps.iter().map(|d| d.to_string()).collect(),
            ..Node::default()
        };
        let graph: BTreeMap<String, Node> = [
            ("a", node(&["c"])),
            ("b", node(&["c", "d"])),
            ("c", node(&["e"])),
            ("d", node(&[])),
            ("e", node(&[])),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(
            closure(&["a".into(), "b".into()], &graph),
            vec!["a", "b", "c", "d", "e"]
        );
    }
}
