//! `kbuild.edn`: the build file read into targets, checked key by key, with errors that
//! name the line, column and target. It may stand alone or add to (and replace) the
//! targets a project.clj or deps.edn beside it implies.
//!
//! [`rules`] reads one target's map into its rule; [`coords`] reads Maven coordinates and
//! repositories.

mod coords;
mod publish;
mod rules;

use std::collections::BTreeMap;
use std::path::Path;

use globset::Glob;

use super::{Project, SettingsError, Target, BUILD_FILE};
use crate::edn::{self, Form};

/// Project-level settings that targets inherit.
#[derive(Default)]
struct Shared {
    hashers_text: String,
    repositories: Vec<kbuild_resolvers::RemoteRepository>,
    allow_http: bool,
}

/// Reads kbuild.edn, on top of the targets a project.clj or deps.edn implies, if any.
pub(super) fn read(root: &Path, base: Option<Project>) -> Result<Project, SettingsError> {
    let path = root.join(BUILD_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| SettingsError::File {
        file: BUILD_FILE.into(),
        message: e.to_string(),
    })?;
    parse(root, &text, base)
}

fn parse(root: &Path, text: &str, base: Option<Project>) -> Result<Project, SettingsError> {
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
    project(root, &form, base)
}

/// Turns the read form into a project, checking every key and value on the way.
fn project(root: &Path, form: &Form, base: Option<Project>) -> Result<Project, SettingsError> {
    let entries = form.as_map().ok_or_else(|| {
        at(
            form,
            format!(
                "expected a map at the top level, found {}",
                article(form.describe())
            ),
        )
    })?;
    let mut publish = None;
    let mut hashers = Vec::new();
    let mut shared = Shared::default();
    let mut targets_form = None;
    let mut javac_worker = None;
    for (k, v) in entries {
        match k.as_keyword() {
            Some("publish") => publish = Some((publish::publish(v)?, v)),
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
            Some("repositories") => shared.repositories = coords::repositories(v)?,
            Some("allow-http") => shared.allow_http = boolean(v, ":allow-http")?,
            Some("javac-worker") => javac_worker = Some(boolean(v, ":javac-worker")?),
            _ => {
                return Err(at(
                    k,
                    format!(
                    "unknown key {k} (expected :targets, :hashers, :repositories, :allow-http, :javac-worker or :publish)"
                ),
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
    // Looked up once per target: a list would make a 1,000-target file quadratic.
    let mut ordered: std::collections::HashSet<String> = order.iter().cloned().collect();
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
        let target = rules::target(&name, v, &shared)?;
        if ordered.insert(name.clone()) {
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
    // The jar to publish: the one named, else the only one.
    let publish = match publish {
        None => None,
        Some((mut p, form)) => {
            let jars: Vec<&String> = order
                .iter()
                .filter(|n| matches!(targets[*n].rule, super::Rule::Jar(_)))
                .collect();
            match &p.jar {
                Some(j) if jars.contains(&j) => {}
                Some(j) => return Err(at(form, format!(":publish :jar {j} is not a :jar target"))),
                None if jars.len() == 1 => p.jar = Some(jars[0].clone()),
                None => {
                    return Err(at(
                        form,
                        format!(
                            ":publish needs :jar naming one of the :jar targets ({})",
                            jars.iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ))
                }
            }
            Some(p)
        }
    };
    Ok(Project {
        publish,
        clojure,
        root: root.to_path_buf(),
        file: BUILD_FILE.into(),
        targets,
        order,
        hashers,
        hashers_text: shared.hashers_text,
        javac_worker,
        git_pending: Vec::new(),
    })
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

fn at(form: &Form, message: impl Into<String>) -> SettingsError {
    SettingsError::At {
        file: BUILD_FILE.into(),
        line: form.pos.line,
        column: form.pos.column,
        message: message.into(),
    }
}

fn boolean(form: &Form, what: &str) -> Result<bool, SettingsError> {
    match &form.value {
        crate::edn::Value::Bool(b) => Ok(*b),
        _ => Err(at(form, format!("{what} must be true or false"))),
    }
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
    use crate::project::Rule;

    fn err(text: &str) -> String {
        match parse(Path::new("/p"), text, None) {
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
        let p = parse(Path::new("/p"), GOOD, None).unwrap();
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
        let a = parse(Path::new("/p"), GOOD, None).unwrap();
        let b = parse(Path::new("/q"), &GOOD.replace("\"17\"", "\"11\""), None).unwrap();
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
