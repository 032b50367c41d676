//! A [`ClojureProject`] lowered to targets: `deps` (its Maven dependencies), `java` (its Java
//! sources), `main` (source and resource paths, AOT), a library target for each deps.edn
//! library ([`libraries`]), `test`, and for a project.clj `jar` and `uberjar` (with the
//! metadata `lein jar` adds: [`jar_metadata`]).

mod jar_metadata;
mod libraries;

use std::collections::BTreeMap;
use std::path::Path;

use globset::Glob;

use super::clojure::{Aot, ClojureProject, Tool};
use super::{Jvm, Package, Project, Rule, Selection, SettingsError, Target};
use jar_metadata::{leiningen_metadata, maven_metadata};

/// The targets `cp` (read from `file` in `root`) implies for `selection`.
pub(super) fn project(
    root: &Path,
    file: &str,
    cp: ClojureProject,
    selection: &Selection,
) -> Result<Project, SettingsError> {
    let task = selection.task.as_str();
    let (locals, coords) = libraries::walk(root, file, &cp.dependencies, selection.offline)?;
    if let Some(d) = coords.iter().find(|d| d.coord.version.is_empty()) {
        return Err(SettingsError::File {
            file: file.into(),
            message: format!("{}/{} has no version", d.coord.group, d.coord.artifact),
        });
    }
    let managed = cp
        .managed
        .iter()
        .filter(|d| !d.coord.version.is_empty())
        .cloned()
        .collect();
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
        order.push(name.to_string());
        targets.insert(name.to_string(), Target::new(rule, deps, &hashers_text, 1));
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
        publish: None,
        hashers,
        hashers_text,
        clojure: Some(cp),
        javac_worker: None,
    })
}
