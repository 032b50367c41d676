//! `kbuild outdated [--upgrade]`: the direct dependencies of every `:maven` target for which
//! the repositories' `maven-metadata.xml` lists a newer version (releases only, unless asked),
//! and, with `--upgrade`, those versions written into the build files in place: only the
//! version strings change, so the layout and comments stay as they were.

use std::collections::BTreeMap;

use kbuild_resolvers::version::Version;
use serde_json::json;

use super::{runtime, Failure};
use crate::edn::{self, Form, Value};
use crate::env::Options;
use crate::project::{Project, Rule};
use crate::rules::maven;

/// The files whose dependency versions `--upgrade` rewrites, where they exist.
const BUILD_FILES: [&str; 3] = ["kbuild.edn", "project.clj", "deps.edn"];

/// A direct dependency with a newer version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outdated {
    pub targets: Vec<String>,
    pub group: String,
    pub artifact: String,
    pub current: String,
    pub latest: String,
    /// The files it was upgraded in (with `--upgrade`).
    pub upgraded_in: Vec<String>,
}

impl Outdated {
    /// `group/artifact`, as the build files write it.
    pub fn name(&self) -> String {
        format!("{}/{}", self.group, self.artifact)
    }

    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "event": "outdated",
            "artifact": self.name(),
            "current": self.current,
            "latest": self.latest,
            "targets": self.targets,
            "upgraded_in": self.upgraded_in,
        })
    }
}

/// A SNAPSHOT, or a version whose qualifier marks a pre-release (alpha, beta, milestone,
/// release candidate, preview, early access), as lein-ancient and antq skip them.
fn is_pre_release(version: &str) -> bool {
    let lower = version.to_lowercase();
    if lower.ends_with("snapshot") {
        return true;
    }
    lower
        .split(['.', '-', '_'])
        .filter(|t| !t.is_empty())
        .any(|t| {
            let word: String = t.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
            let rest = &t[word.len()..];
            let numbered = rest.is_empty() || rest.chars().all(|c| c.is_ascii_digit());
            match word.as_str() {
                "alpha" | "beta" | "rc" | "cr" | "milestone" | "preview" | "ea" | "pre" | "dev" => {
                    numbered
                }
                // `M1`, `a2`, `b3`: a letter and a number; not `jre`, `android`...
                "m" | "a" | "b" => !rest.is_empty() && numbered,
                _ => false,
            }
        })
}

/// The newest of `available` above `current` (releases only unless `pre`).
fn newest_above(current: &str, available: &[String], pre: bool) -> Option<String> {
    let now = Version::parse(current);
    available
        .iter()
        .filter(|v| pre || !is_pre_release(v))
        .map(|v| (Version::parse(v), v))
        .filter(|(v, _)| *v > now)
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, s)| s.clone())
}

/// The outdated direct dependencies of the project's `:maven` targets; with `upgrade`,
/// rewritten in the build files.
pub fn outdated(
    project: &Project,
    pre: bool,
    upgrade: bool,
    options: &Options,
) -> Result<Vec<Outdated>, Failure> {
    // (group, artifact, version) -> the targets declaring it, and how to ask about it.
    let mut wanted: BTreeMap<
        (String, String, String),
        (Vec<String>, kbuild_resolvers::ResolverConfig),
    > = BTreeMap::new();
    let mut any = false;
    for name in &project.order {
        let Rule::Maven {
            coords,
            managed,
            repositories,
            allow_http,
            ..
        } = &project.targets[name].rule
        else {
            continue;
        };
        any = true;
        // dependencyManagement entries (and BOMs) pin versions as much as declarations do.
        for c in coords.iter().chain(managed) {
            let v = &c.coord.version;
            // Ranges and Maven's LATEST/RELEASE already float.
            if v.is_empty() || v.starts_with(['[', '(']) || v == "LATEST" || v == "RELEASE" {
                continue;
            }
            let entry = wanted
                .entry((c.coord.group.clone(), c.coord.artifact.clone(), v.clone()))
                .or_insert_with(|| {
                    (
                        Vec::new(),
                        maven::config(repositories, *allow_http, options),
                    )
                });
            if !entry.0.contains(name) {
                entry.0.push(name.clone());
            }
        }
    }
    if !any {
        return Err(Failure::Usage(format!(
            "{}: no :maven target whose dependencies to check",
            project.file
        )));
    }
    let rt = runtime(options.jobs)?;
    let listed = rt.block_on(futures::future::join_all(wanted.iter().map(
        |((g, a, _), (_, config))| kbuild_resolvers::available_versions(config, g, a),
    )));
    let mut out = Vec::new();
    for (((group, artifact, current), (targets, _)), versions) in wanted.into_iter().zip(listed) {
        let versions = versions.map_err(|e| {
            Failure::Resolve(format!(
                "{}: {group}/{artifact} {current} (target {}): {e}",
                project.file,
                targets.join(", ")
            ))
        })?;
        if let Some(latest) = newest_above(&current, &versions, pre) {
            out.push(Outdated {
                targets,
                group,
                artifact,
                current,
                latest,
                upgraded_in: Vec::new(),
            });
        }
    }
    if upgrade && !out.is_empty() {
        for file in BUILD_FILES {
            let path = project.root.join(file);
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let (new_text, hits) =
                rewrite(&text, &out).map_err(|e| Failure::Usage(format!("{file}: {e}")))?;
            if hits.iter().any(|&h| h) {
                super::publish::write_atomic(&path, new_text.as_bytes())?;
                for (o, hit) in out.iter_mut().zip(hits) {
                    if hit {
                        o.upgraded_in.push(file.to_string());
                    }
                }
            }
        }
    }
    Ok(out)
}

/// `sym` as a library's (group, artifact): `g/a`, or `a` alone for `a/a`.
fn lib_of(sym: &str) -> (&str, &str) {
    sym.split_once('/').unwrap_or((sym, sym))
}

/// The version string literals in `forms` that declare one of `deps` at its current version:
/// `[group/artifact "version" ...]` (project.clj, kbuild.edn) and
/// `group/artifact {:mvn/version "version"}` (deps.edn), anywhere in the file.
fn find(forms: &[Form], deps: &[Outdated], hits: &mut Vec<(edn::Pos, usize)>) {
    let matching = |sym: &str, version: &str| {
        let (g, a) = lib_of(sym);
        deps.iter()
            .position(|d| d.group == g && d.artifact == a && d.current == version)
    };
    for f in forms {
        match &f.value {
            Value::Vector(items) | Value::List(items) => {
                if let [first, second, ..] = items.as_slice() {
                    if let (Some(sym), Some(v)) = (first.as_symbol(), second.as_str()) {
                        if let Some(i) = matching(sym, v) {
                            hits.push((second.pos, i));
                        }
                    }
                }
                find(items, deps, hits);
            }
            Value::Map(entries) => {
                for (k, v) in entries {
                    if let (Some(sym), Some(version)) = (k.as_symbol(), v.get("mvn/version")) {
                        if let Some(s) = version.as_str() {
                            if let Some(i) = matching(sym, s) {
                                hits.push((version.pos, i));
                            }
                        }
                    }
                    find(std::slice::from_ref(k), deps, hits);
                    find(std::slice::from_ref(v), deps, hits);
                }
            }
            Value::Set(items) | Value::AnonFn(items) => find(items, deps, hits),
            Value::Tagged(_, inner)
            | Value::Quote(inner)
            | Value::Deref(inner)
            | Value::SyntaxQuote(inner)
            | Value::Unquote(inner)
            | Value::UnquoteSplicing(inner)
            | Value::ReaderEval(inner) => find(std::slice::from_ref(inner), deps, hits),
            _ => {}
        }
    }
}

/// The byte offset of a 1-based (line, column in characters) position.
fn offset(text: &str, pos: edn::Pos) -> Option<usize> {
    let mut start = 0;
    for _ in 1..pos.line {
        start += text[start..].find('\n')? + 1;
    }
    let (i, _) = text[start..].char_indices().nth(pos.column as usize - 1)?;
    Some(start + i)
}

/// `text` with each of `deps`' current version literals replaced by its latest, and which
/// of `deps` were found. Nothing else in the text changes.
fn rewrite(text: &str, deps: &[Outdated]) -> Result<(String, Vec<bool>), String> {
    let forms = edn::read_all(text).map_err(|e| e.to_string())?;
    let mut hits = Vec::new();
    find(&forms, deps, &mut hits);
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut found = vec![false; deps.len()];
    for (pos, i) in hits {
        let at = offset(text, pos).ok_or_else(|| format!("no position {pos}"))?;
        let literal = format!("\"{}\"", deps[i].current);
        if !text[at..].starts_with(&literal) {
            // Written with escapes: leave it rather than guess.
            continue;
        }
        edits.push((at, literal.len(), format!("\"{}\"", deps[i].latest)));
        found[i] = true;
    }
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    edits.dedup_by_key(|e| e.0);
    let mut out = text.to_string();
    for (at, len, with) in edits {
        out.replace_range(at..at + len, &with);
    }
    Ok((out, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(g: &str, a: &str, from: &str, to: &str) -> Outdated {
        Outdated {
            targets: vec![],
            group: g.into(),
            artifact: a.into(),
            current: from.into(),
            latest: to.into(),
            upgraded_in: vec![],
        }
    }

    #[test]
    fn pre_releases_are_told_from_releases() {
        for v in [
            "1.0-SNAPSHOT",
            "2.0.0-alpha1",
            "1.12.0-beta2",
            "3.0-RC1",
            "5.0.0-M2",
            "1.0.b3",
            "2.0-rc",
        ] {
            assert!(is_pre_release(v), "{v}");
        }
        for v in [
            "1.0",
            "31.1-jre",
            "1.2.3-android",
            "1.0.Final",
            "2.0-GA",
            "1.11.1",
        ] {
            assert!(!is_pre_release(v), "{v}");
        }
        let listed: Vec<String> = ["1.0", "1.1", "1.2-beta1", "0.9"]
            .map(String::from)
            .to_vec();
        assert_eq!(newest_above("1.0", &listed, false).as_deref(), Some("1.1"));
        assert_eq!(
            newest_above("1.0", &listed, true).as_deref(),
            Some("1.2-beta1")
        );
        assert_eq!(newest_above("1.1", &listed, false), None);
    }

    #[test]
    fn only_the_version_strings_change() {
        let text = "; deps\n{:deps {a/b {:mvn/version \"1.0\"} ; keep\n        c {:mvn/version \"2.0\"}}\n :aliases {:x {:extra-deps {a/b {:mvn/version \"0.5\"}}}}}\n";
        let (out, found) = rewrite(
            text,
            &[
                dep("a", "b", "1.0", "1.1"),
                dep("c", "c", "2.0", "2.1"),
                dep("z", "z", "1", "2"),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            text.replace("\"1.0\"", "\"1.1\"")
                .replace("\"2.0\"", "\"2.1\"")
        );
        assert_eq!(found, [true, true, false]);
        let clj = "(defproject x \"1.0\"\n  :dependencies [[a/b \"1.0\"]  ;; ☃ comment\n                 [x \"1.0\"]])";
        let (out, _) = rewrite(clj, &[dep("a", "b", "1.0", "2.0")]).unwrap();
        assert_eq!(out, clj.replacen("[a/b \"1.0\"]", "[a/b \"2.0\"]", 1));
    }
}
