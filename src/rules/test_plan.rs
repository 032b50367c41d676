//! What each test namespace can observe, as one digest: its key in the cache of per-namespace
//! outcomes. That is the Clojure sources in its transitive `require`/`use`/`import` closure
//! (read from the `ns` forms, [`super::ns_deps`]; a file that loads code otherwise sees every
//! source), and everything else the JVM sees whichever namespace runs: the classpath's other
//! entries (Java products, AOT classes, resources, jars), the JVM options, the `:injections`,
//! the JDK and the selectors.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use kbuild_engine::{BuildError, Computed, Ctx, Hash};

use super::info::Info;
use super::ns_deps::{self, NsDeps};
use crate::env::Env;
use crate::inputs::glob_key;
use crate::project::Jvm;

/// One Clojure source under a classpath root.
struct Source {
    path: String,
    digest: Hash,
    deps: NsDeps,
}

pub struct Plan {
    sources: Vec<Source>,
    /// Path relative to its root → the sources there (several roots may hold one).
    by_rel: BTreeMap<String, Vec<usize>>,
    /// The test roots' namespaces, each with its files.
    pub tests: BTreeMap<String, Vec<usize>>,
    /// What every namespace sees.
    common: Hash,
    /// The injections load code: every namespace sees every source.
    prelude_open: bool,
    prelude_uses: Vec<String>,
    /// A root holds a `user.clj`, which Clojure loads as it starts (and which may load
    /// project namespaces then).
    pub loads_user: bool,
}

/// The files a root holds, as `(path, digest)`.
pub type Files = Vec<(String, Computed)>;

fn is_clojure(path: &str) -> bool {
    path.ends_with(".clj") || path.ends_with(".cljc")
}

/// Files Clojure itself loads from a root's top on start (`user.clj`) or for every read
/// (`data_readers.clj`): every namespace sees them.
fn loaded_by_clojure(rel: &str) -> bool {
    matches!(
        rel,
        "user.clj" | "user.cljc" | "data_readers.clj" | "data_readers.cljc"
    )
}

/// Appends length-prefixed parts, so that no two lists of parts make the same bytes.
pub fn put(bytes: &mut Vec<u8>, part: &[u8]) {
    bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
    bytes.extend_from_slice(part);
}

/// What every namespace sees besides the Clojure sources: the JDK, how the JVM starts, the
/// test roots, and every target of the closure (in classpath order) except a Clojure
/// library's sources, which [`Plan`] takes file by file: of those, its place on the
/// classpath and its AOT classes.
pub fn common(jdk: Hash, jvm: &Jvm, paths: &[String], closure: &[(String, Computed)]) -> Vec<u8> {
    fn json<T: serde::Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap_or_default()
    }
    let mut out = Vec::new();
    put(&mut out, &jdk.0);
    put(&mut out, json(&jvm.opts).as_bytes());
    put(&mut out, json(&jvm.prelude).as_bytes());
    put(&mut out, json(&paths).as_bytes());
    for (name, c) in closure {
        put(&mut out, name.as_bytes());
        let info = Info::of(c);
        if info.node.kind == "clojure-library" {
            put(&mut out, json(&info.node).as_bytes());
            let files = c.product().map(|p| p.files.clone()).unwrap_or_default();
            put(&mut out, json(&files).as_bytes());
        } else {
            put(&mut out, &c.hash.0);
        }
    }
    out
}

/// The source roots of the Clojure libraries in `closure`, with their files, fetched (as the
/// libraries themselves fetched them: the same keys, so no second read).
pub async fn library_files(
    env: &Env,
    ctx: &Ctx,
    closure: &[(String, Computed)],
) -> Result<Vec<(String, Files)>, BuildError> {
    let roots: Vec<String> = closure
        .iter()
        .map(|(_, c)| Info::of(c).node)
        .filter(|n| n.kind == "clojure-library")
        .flat_map(|n| n.roots)
        .collect();
    let globs = ctx
        .fetch_all(
            roots
                .iter()
                .map(|r| glob_key(&super::clojure::source_globs(std::slice::from_ref(r))))
                .collect(),
        )
        .await?;
    let mut out = Vec::new();
    for (root, glob) in roots.into_iter().zip(globs) {
        let files = glob.files().to_vec();
        let values = super::fetch_files(env, ctx, &files, false).await?;
        out.push((root, files.into_iter().zip(values).collect()));
    }
    Ok(out)
}

impl Plan {
    /// `roots`: the test roots first, then the libraries', in classpath order. `common`: the
    /// digest of what else the JVM sees (besides these roots' other files, added here).
    pub fn new(
        env: &Env,
        test_roots: usize,
        roots: &[(String, Files)],
        common: &[u8],
        prelude: &[String],
    ) -> Result<Plan, BuildError> {
        let mut sources: Vec<Source> = Vec::new();
        let mut by_rel: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut tests: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut all = common.to_vec();
        let mut loads_user = false;
        for (i, (root, files)) in roots.iter().enumerate() {
            for (path, value) in files {
                let rel = path.strip_prefix(&format!("{root}/"));
                loads_user |= matches!(rel, Some("user.clj" | "user.cljc"));
                let Some(rel) = rel.filter(|r| is_clojure(r) && !loaded_by_clojure(r)) else {
                    put(&mut all, path.as_bytes());
                    put(&mut all, &value.hash.0);
                    continue;
                };
                let text = fs::read_to_string(env.root().join(path))
                    .map_err(|e| BuildError::io(path, e))?;
                let mut deps = ns_deps::read(&text);
                if deps.name.is_none() {
                    deps.name = super::clojure::namespace_of(&text);
                }
                let at = sources.len();
                if i < test_roots {
                    if let Some(n) = &deps.name {
                        tests.entry(n.clone()).or_default().push(at);
                    }
                }
                by_rel.entry(rel.to_string()).or_default().push(at);
                sources.push(Source {
                    path: path.clone(),
                    digest: value.hash,
                    deps,
                });
            }
        }
        let injected = ns_deps::read(&format!("(ns user) {}", prelude.join(" ")));
        Ok(Plan {
            sources,
            by_rel,
            tests,
            common: Hash::of(&all),
            prelude_open: injected.open,
            prelude_uses: injected.uses,
            loads_user,
        })
    }

    /// The sources a namespace's files can see, or None when that is all of them.
    fn closure(&self, start: &[usize]) -> Option<BTreeSet<usize>> {
        if self.prelude_open {
            return None;
        }
        let mut seen: BTreeSet<usize> = BTreeSet::new();
        let mut todo: Vec<usize> = start.to_vec();
        let found = |ns: &String| -> Vec<usize> {
            ns_deps::source_paths(ns)
                .into_iter()
                .flat_map(|p| self.by_rel.get(&p).cloned().unwrap_or_default())
                .collect()
        };
        todo.extend(self.prelude_uses.iter().flat_map(&found));
        while let Some(i) = todo.pop() {
            if !seen.insert(i) {
                continue;
            }
            let deps = &self.sources[i].deps;
            if deps.open {
                return None;
            }
            todo.extend(deps.uses.iter().flat_map(&found));
        }
        Some(seen)
    }

    /// Test namespace `ns`'s key under `selectors` (the forms that pick its tests).
    pub fn key(&self, ns: &str, selectors: &[String]) -> Hash {
        let start = self.tests.get(ns).cloned().unwrap_or_default();
        let seen = self
            .closure(&start)
            .unwrap_or_else(|| (0..self.sources.len()).collect());
        let mut bytes = Vec::new();
        put(&mut bytes, ns.as_bytes());
        put(&mut bytes, &self.common.0);
        for s in selectors {
            put(&mut bytes, s.as_bytes());
        }
        let mut files: Vec<&Source> = seen.iter().map(|i| &self.sources[*i]).collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        for f in files {
            put(&mut bytes, f.path.as_bytes());
            put(&mut bytes, &f.digest.0);
        }
        Hash::of(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(files: &[(&str, &str)], prelude: &[&str]) -> Plan {
        let mut sources = Vec::new();
        let mut by_rel: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut tests: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, (path, text)) in files.iter().enumerate() {
            let deps = ns_deps::read(text);
            let (root, rel) = path.split_once('/').unwrap();
            if root == "test" {
                tests.entry(deps.name.clone().unwrap()).or_default().push(i);
            }
            by_rel.entry(rel.to_string()).or_default().push(i);
            sources.push(Source {
                path: path.to_string(),
                digest: Hash::of(text.as_bytes()),
                deps,
            });
        }
        let injected = ns_deps::read(&format!("(ns user) {}", prelude.join(" ")));
        Plan {
            sources,
            by_rel,
            tests,
            common: Hash::of(b""),
            prelude_open: injected.open,
            prelude_uses: injected.uses,
            loads_user: false,
        }
    }

    const FILES: [(&str, &str); 5] = [
        ("src/a/core.clj", "(ns a.core (:require [a.util :as u]))"),
        ("src/a/util.clj", "(ns a.util)"),
        ("src/a/other.clj", "(ns a.other)"),
        (
            "test/a/core_test.clj",
            "(ns a.core-test (:require [a.core]))",
        ),
        ("test/a/other_test.clj", "(ns a.other-test (:use a.other))"),
    ];

    #[test]
    fn a_namespace_sees_its_transitive_requires_only() {
        let p = plan(&FILES, &[]);
        let names = |ns: &str| -> Vec<&str> {
            let start = p.tests[ns].clone();
            p.closure(&start)
                .unwrap()
                .iter()
                .map(|i| p.sources[*i].path.as_str())
                .collect()
        };
        assert_eq!(
            names("a.core-test"),
            ["src/a/core.clj", "src/a/util.clj", "test/a/core_test.clj"]
        );
        assert_eq!(
            names("a.other-test"),
            ["src/a/other.clj", "test/a/other_test.clj"]
        );
        // An edit to a.util changes a.core-test's key only.
        let mut edited = FILES;
        edited[1].1 = "(ns a.util) (def x 1)";
        let q = plan(&edited, &[]);
        assert_ne!(p.key("a.core-test", &[]), q.key("a.core-test", &[]));
        assert_eq!(p.key("a.other-test", &[]), q.key("a.other-test", &[]));
        // Selectors are part of the key.
        assert_ne!(
            p.key("a.other-test", &[]),
            p.key("a.other-test", &["[:x '()]".into()])
        );
    }

    #[test]
    fn an_open_file_or_loading_injections_see_everything() {
        let mut files = FILES;
        files[2].1 = "(ns a.other) (load \"more\")";
        let p = plan(&files, &[]);
        assert!(p.closure(&p.tests["a.other-test"].clone()).is_none());
        assert!(p.closure(&p.tests["a.core-test"].clone()).is_some());
        let p = plan(&FILES, &["(require 'a.other)"]);
        assert!(p.closure(&p.tests["a.core-test"].clone()).is_none());
        // Injections that name a namespace make it seen by all.
        let p = plan(&FILES, &["(a.other/setup!)"]);
        let seen = p.closure(&p.tests["a.core-test"].clone()).unwrap();
        assert!(seen.contains(&2));
    }
}
