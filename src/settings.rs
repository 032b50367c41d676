//! The build description: `kbuild.edn` read into targets and rules, validated with errors
//! that name the file, line, column and target.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};
use kbuild_hashers::Hasher;
use serde::Serialize;

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
    #[error("no {BUILD_FILE} in {0} or any directory above it")]
    NotFound(String),
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
    Jar {
        main_class: Option<String>,
        manifest: BTreeMap<String, String>,
    },
}

impl Rule {
    pub fn kind(&self) -> &'static str {
        match self {
            Rule::JavaLibrary { .. } => "java-library",
            Rule::Resources { .. } => "resources",
            Rule::Command { .. } => "command",
            Rule::Jar { .. } => "jar",
        }
    }

    /// Bumped when a rule's implementation changes what it produces, so old traces stop matching.
    pub fn version(&self) -> u32 {
        1
    }

    fn keys(kind: &str) -> Option<&'static [&'static str]> {
        Some(match kind {
            "java-library" => &["rule", "deps", "srcs", "javac-opts", "doc"],
            "resources" => &["rule", "deps", "root", "srcs", "doc"],
            "command" => &["rule", "deps", "srcs", "outs", "cmd", "doc"],
            "jar" => &["rule", "deps", "main-class", "manifest", "doc"],
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub rule: Rule,
    pub deps: Vec<String>,
    /// Canonical text of everything that defines this target's task: the value of its
    /// `Def` key.
    pub definition: String,
    pub line: u32,
}

pub struct Project {
    pub root: PathBuf,
    pub file: String,
    pub targets: BTreeMap<String, Target>,
    /// Target names in the order the build file declares them.
    pub order: Vec<String>,
    hashers: Vec<(GlobMatcher, &'static dyn Hasher)>,
}

impl Project {
    /// Finds the build file in `start` or the nearest directory above it.
    pub fn discover(start: &Path) -> Result<Project, SettingsError> {
        let mut dir = Some(start);
        while let Some(d) = dir {
            if d.join(BUILD_FILE).is_file() {
                return Project::load(d);
            }
            dir = d.parent();
        }
        Err(SettingsError::NotFound(start.display().to_string()))
    }

    pub fn load(root: &Path) -> Result<Project, SettingsError> {
        let path = root.join(BUILD_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| SettingsError::File {
            file: BUILD_FILE.into(),
            message: e.to_string(),
        })?;
        Project::parse(root, &text)
    }

    pub fn parse(root: &Path, text: &str) -> Result<Project, SettingsError> {
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
        Reader.project(root, &form)
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
    fn project(&self, root: &Path, form: &Form) -> Result<Project, SettingsError> {
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
        let mut hashers_text = String::new();
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
                        hashers_text.push_str(&format!(
                            "{glob}={}@{};",
                            hasher.id(),
                            hasher.version()
                        ));
                        hashers.push((matcher, hasher));
                    }
                }
                Some("targets") => targets_form = Some(v),
                Some("repositories") => {}
                _ => {
                    return Err(at(
                        k,
                        format!("unknown key {k} (expected :targets, :hashers or :repositories)"),
                    ))
                }
            }
        }
        let targets_form = targets_form.ok_or_else(|| at(form, "no :targets in the build file"))?;
        let tmap = targets_form
            .as_map()
            .ok_or_else(|| at(targets_form, ":targets must be a map of name to target"))?;
        let mut targets = BTreeMap::new();
        let mut order = Vec::new();
        for (k, v) in tmap {
            let name = k
                .as_symbol()
                .or_else(|| k.as_keyword())
                .or_else(|| k.as_str())
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
            if targets.contains_key(&name) {
                return Err(at(k, format!("target {name} is defined twice")));
            }
            let target = self.target(&name, v, &hashers_text)?;
            order.push(name.clone());
            targets.insert(name, target);
        }
        for (k, v) in tmap {
            let name = k
                .as_symbol()
                .or_else(|| k.as_keyword())
                .or_else(|| k.as_str())
                .unwrap_or_default();
            for (dep, dep_form) in targets[name]
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
            root: root.to_path_buf(),
            file: BUILD_FILE.into(),
            targets,
            order,
            hashers,
        })
    }

    fn target(&self, name: &str, form: &Form, hashers_text: &str) -> Result<Target, SettingsError> {
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
        let allowed = Rule::keys(kind).ok_or_else(|| at(rule_form, format!("target {name}: unknown rule :{kind} (known: :java-library, :resources, :command, :jar)")))?;
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
                        d.as_symbol()
                            .or_else(|| d.as_keyword())
                            .or_else(|| d.as_str())
                            .map(str::to_string)
                            .ok_or_else(|| {
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
            "jar" => {
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
                Rule::Jar {
                    main_class: string("main-class")?,
                    manifest,
                }
            }
            _ => unreachable!("checked by Rule::keys"),
        };
        #[derive(Serialize)]
        struct Definition<'a> {
            version: u32,
            #[serde(flatten)]
            rule: &'a Rule,
            deps: &'a [String],
            #[serde(skip_serializing_if = "str::is_empty")]
            hashers: &'a str,
        }
        // Only rules that hash sources with the :hashers map depend on it.
        let hashers = if matches!(rule, Rule::JavaLibrary { .. }) {
            hashers_text
        } else {
            ""
        };
        let definition = serde_json::to_string(&Definition {
            version: rule.version(),
            rule: &rule,
            deps: &deps,
            hashers,
        })
        .expect("definitions serialize");
        Ok(Target {
            name: name.to_string(),
            rule,
            deps,
            definition,
            line: form.pos.line,
        })
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
