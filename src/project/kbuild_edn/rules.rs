//! One target's map read into its [`Rule`]: the keys each rule kind takes, and their values.

use std::collections::BTreeMap;

use super::{article, at, boolean, coords, target_name, Shared};
use crate::edn::Form;
use crate::project::{Jvm, Package, Rule, SettingsError, Target};

/// The keys a target of rule `kind` may have; `None` for an unknown rule.
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

/// The target `name` that `form` (its map in `:targets`) declares.
pub(super) fn target(name: &str, form: &Form, shared: &Shared) -> Result<Target, SettingsError> {
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
    let allowed = keys(kind).ok_or_else(|| at(rule_form, format!("target {name}: unknown rule :{kind} (known: :java-library, :clojure-library, :resources, :command, :jar, :uberjar, :maven, :test)")))?;
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
            if let Some(bad) = outs.iter().find(|o| !kbuild_engine::is_contained(o)) {
                return Err(at(
                    form.get("outs").unwrap_or(form),
                    format!(
                        "target {name}: :outs names {bad:?}, which is not a plain relative path \
                         inside $OUT (no empty, `.` or `..` part, not absolute)"
                    ),
                ));
            }
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
                                format!("target {name}: :aot is :all or a vector of namespaces"),
                            )
                        })?;
                        seq.iter()
                            .map(|n| {
                                n.as_symbol().map(str::to_string).ok_or_else(|| {
                                    at(n, format!("target {name}: :aot holds namespace symbols"))
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
                .map(|c| coords::maven_dep(name, c))
                .collect::<Result<_, _>>()?;
            let mut repositories = shared.repositories.clone();
            if let Some(r) = form.get("repositories") {
                for repo in coords::repositories(r)? {
                    repositories.retain(|r| r.id != repo.id);
                    repositories.push(repo);
                }
            }
            let allow_http = match form.get("allow-http") {
                Some(v) => boolean(v, ":allow-http")?,
                None => shared.allow_http,
            };
            if !allow_http {
                if let Some(kbuild_resolvers::RemoteRepository { id, url, .. }) =
                    repositories.iter().find(|r| r.url.starts_with("http://"))
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
        _ => unreachable!("checked by keys"),
    };
    Ok(Target::new(rule, deps, &shared.hashers_text, form.pos.line))
}
