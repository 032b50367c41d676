//! Leiningen's `project.clj`, read as Leiningen 2.10 sees it with profiles merged: the
//! `defproject` form ([`value`]), `meta-merge` ([`merge`]), dependency vectors
//! ([`dependencies`]), profiles ([`profiles`]), and the merged map's keys ([`fields`]).

mod dependencies;
mod fields;
mod merge;
mod profiles;
mod value;

use super::clojure::{invalid, read_error, ClojureProject, R};
use super::PROJECT_CLJ;
use crate::edn::{self, Form, Pos, Value};
use dependencies::sym_parts;
use fields::{clean_path, opt_string};
use merge::{empty_default, meta_merge, normalize_values, setup_key};
use profiles::Profiles;
use value::{expected, to_node, Node, V};

pub(super) use profiles::default_profiles;

fn find_defproject(forms: &[Form]) -> Option<&Form> {
    forms.iter().find(|f| match &f.value {
        Value::List(items) => matches!(
            items.first().map(|i| &i.value),
            Some(Value::Symbol(s)) if s == "defproject" || s == "leiningen.core.project/defproject"
        ),
        _ => false,
    })
}

/// Reads `project.clj` as Leiningen 2.10 sees it with `profiles` merged (see
/// [`default_profiles`]; names with or without `:`, `default` allowed, `name?` for
/// "if defined"), and the profiles of other files too: `(file name, text)` pairs, each a map
/// of profile keyword to profile, as `~/.lein/profiles.clj` and a `profiles.clj` beside the
/// project hold them. Later files win by name, and the project's `:profiles` over all, as in
/// Leiningen's `read-profiles`. System profiles (`/etc/leiningen`) are not read.
pub(super) fn read_project_clj(
    text: &str,
    profiles: &[&str],
    profile_files: &[(&'static str, &str)],
) -> R<ClojureProject> {
    let mut extra: Vec<(String, Node)> = Vec::new();
    for (file, text) in profile_files {
        let form = edn::read_one(text).map_err(|e| read_error(file, e))?;
        let node = to_node(&form);
        let V::Map(entries) = node.v else {
            return Err(expected(file, &node, "a map of profiles"));
        };
        for (k, v) in entries {
            let V::Kw(name) = &k.v else {
                return Err(expected(file, &k, "a profile keyword"));
            };
            extra.retain(|(n, _)| n != name);
            extra.push((name.clone(), v));
        }
    }
    read_project(text, profiles, extra)
}

fn read_project(text: &str, profiles: &[&str], extra: Vec<(String, Node)>) -> R<ClojureProject> {
    let forms = edn::read_all(text).map_err(|e| read_error(PROJECT_CLJ, e))?;
    let Some(def) = find_defproject(&forms) else {
        return Err(invalid(
            PROJECT_CLJ,
            forms
                .first()
                .map(|f| f.pos)
                .unwrap_or(Pos { line: 1, column: 1 }),
            "no (defproject name \"version\" ...) form",
        ));
    };
    let def_pos = def.pos;
    let items = def.as_seq().expect("a list");
    if items.len() < 3 {
        return Err(invalid(
            PROJECT_CLJ,
            def_pos,
            "defproject needs a name and a version: (defproject group/name \"version\" ...)",
        ));
    }
    let name_node = to_node(&items[1]);
    let (group, name) = match &name_node.v {
        V::Sym(_) => sym_parts(PROJECT_CLJ, &name_node, "a project name")?,
        _ => {
            return Err(expected(
                PROJECT_CLJ,
                &name_node,
                "a project name symbol like group/name",
            ))
        }
    };
    let version_node = to_node(&items[2]);
    let version = match &version_node.v {
        V::Str(s) => s.clone(),
        _ => return Err(expected(PROJECT_CLJ, &version_node, "a version string")),
    };
    let args = &items[3..];
    if args.len() % 2 == 1 {
        return Err(invalid(
            PROJECT_CLJ,
            args[args.len() - 1].pos,
            "defproject: a key without a value",
        ));
    }
    let mut raw: Vec<(Node, Node)> = Vec::new();
    for kv in args.chunks(2) {
        let key = to_node(&kv[0]);
        if !matches!(key.v, V::Kw(_)) {
            return Err(expected(PROJECT_CLJ, &key, "a keyword"));
        }
        if let Some((first, _)) = raw.iter().find(|(k, _)| k.same(&key)) {
            return Err(invalid(
                PROJECT_CLJ,
                key.pos,
                format!(
                    "duplicate key {} in defproject (first at {}:{})",
                    kv[0], first.pos.line, first.pos.column
                ),
            ));
        }
        raw.push((key, to_node(&kv[1])));
    }
    let mut project = Node::new(V::Map(raw), def_pos);

    // `make`: old key names, normalization, the defaults, the annotated empty values.
    if project.get("jvm-opts").is_none() {
        if let Some(j) = project.remove("java-opts") {
            project.set("jvm-opts", j);
        }
    }
    let raw_profiles = project.remove("profiles");
    normalize_values(&mut project)?;
    let mut defaults = Node::new(V::Map(Vec::new()), def_pos);
    for (key, dir) in [
        ("source-paths", "src"),
        ("resource-paths", "resources"),
        ("test-paths", "test"),
    ] {
        let mut paths = Node::vector(vec![Node::string(dir, def_pos)], def_pos);
        paths.m.top_displace = true;
        defaults.set(key, paths);
    }
    // Leiningen's own default, `^:top-displace` so that a project's vector replaces it.
    let mut prep = Node::vector(
        vec![
            Node::string("javac", def_pos),
            Node::string("compile", def_pos),
        ],
        def_pos,
    );
    prep.m.top_displace = true;
    defaults.set("prep-tasks", prep);
    defaults.set("compile-path", Node::string("%s/classes", def_pos));
    defaults.set("target-path", Node::string("target", def_pos));
    let mut project = meta_merge(defaults, project)?;
    for key in [
        "dependencies",
        "repositories",
        "source-paths",
        "resource-paths",
        "test-paths",
    ] {
        let mut empty = empty_default(key, def_pos).expect("a key with a default");
        if key == "repositories" {
            // Leiningen's defaults; central serves no snapshots.
            let repo = |id: &str, url: &str| {
                let mut settings = vec![(Node::kw("url", def_pos), Node::string(url, def_pos))];
                if id == "central" {
                    settings.push((
                        Node::kw("snapshots", def_pos),
                        Node::new(V::Bool(false), def_pos),
                    ));
                }
                Node::vector(
                    vec![
                        Node::string(id, def_pos),
                        Node::new(V::Map(settings), def_pos),
                    ],
                    def_pos,
                )
            };
            empty = Node::vector(
                vec![
                    repo("central", "https://repo1.maven.org/maven2/"),
                    repo("clojars", "https://repo.clojars.org/"),
                ],
                def_pos,
            )
            .with_meta(empty.m.clone());
        }
        let merged = match project.remove(key) {
            Some(value) => setup_key(empty, value)?,
            None => empty,
        };
        project.set(key, merged);
    }

    // The profiles, merged into the project map.
    let all = Profiles::new(def_pos, raw_profiles, extra)?;
    let (project, merged) = all.merge_into(project, profiles, def_pos)?;

    // `profile-scope-target-path` and `target-path-subdirs`.
    let target_raw = opt_string(&project, "target-path")?.unwrap_or_default();
    let target_path = clean_path(&target_raw.replacen("%s", &all.target_path_name(&merged), 1));
    let compile_raw = opt_string(&project, "compile-path")?.unwrap_or_default();
    let compile_path = clean_path(&compile_raw.replacen("%s", &target_path, 1));

    Ok(ClojureProject {
        group,
        name,
        version,
        compile_path,
        target_path,
        ..fields::read(&project)?
    })
}

/// `text` read with `profiles` (for tests).
#[cfg(test)]
fn lein(text: &str, profiles: &[&str]) -> ClojureProject {
    read_project_clj(text, profiles, &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// The error of reading `text` with `profiles` (for tests).
#[cfg(test)]
fn lein_err(text: &str, profiles: &[&str]) -> String {
    match read_project_clj(text, profiles, &[]) {
        Ok(p) => panic!("expected an error, got {p:?}"),
        Err(e) => e.to_string(),
    }
}

/// What `lein classpath` merges (for tests).
#[cfg(test)]
fn classpath_profiles() -> Vec<&'static str> {
    default_profiles("classpath")
}

#[cfg(test)]
mod tests;
