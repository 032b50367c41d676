//! A [`ClojureProject`] lowered to targets: `deps` (its Maven dependencies), `java` (its Java
//! sources), `main` (source and resource paths, AOT), a library target for each deps.edn
//! library ([`libraries`]), `test`, and for a project.clj `jar` and `uberjar` (with the
//! metadata `lein jar` adds: [`jar_metadata`]).

mod checkouts;
mod jar_metadata;
mod libraries;

use std::collections::BTreeMap;
use std::path::Path;

use globset::Glob;

use super::clojure::{Aot, ClojureProject, PrepTask, Tool};
use super::{Exports, Jvm, Package, Project, Rule, Selection, SettingsError, Target};
use jar_metadata::{leiningen_metadata, maven_metadata};

/// The targets `cp` (read from `file` in `root`) implies for `selection`, with the git
/// libraries' trees that `exports` names (the others are left pending: see
/// [`Project::git_pending`]).
pub(super) fn project(
    root: &Path,
    file: &str,
    cp: ClojureProject,
    selection: &Selection,
    exports: &Exports,
) -> Result<Project, SettingsError> {
    let task = selection.task.as_str();
    let walked = libraries::walk(root, file, &cp.dependencies, exports)?;
    let coords = walked.maven;
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
    let plan = prep_plan(&cp, !cp.java_source_paths.is_empty());
    for t in &plan.targets {
        add(&t.name, t.rule.clone(), t.deps.clone());
    }
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
    main_deps.extend(plan.before_main.iter().cloned());
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
            [vec!["deps".to_string()], plan.before_java.clone()].concat(),
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
    // After the project's own compiled products and before the jars, as Leiningen's classpath.
    let mut checkout_deps = Vec::new();
    for c in checkouts::read(root, cp.tool, &cp.checkout_shares)? {
        let name = format!("checkout-{}", c.name);
        let mut deps = vec!["deps".to_string()];
        let java = c.java.map(|(srcs, javac_opts)| {
            let java = format!("{name}-java");
            add(&java, Rule::JavaLibrary { srcs, javac_opts }, deps.clone());
            deps.insert(0, java.clone());
            java
        });
        // Each stretch of paths is a library (`checkout-<name>`, then `-2`...), and its
        // classes stand where the shares put its compile path.
        let mut stretches = 0;
        for shared in c.shared {
            match shared {
                checkouts::Shared::Compiled => checkout_deps.extend(java.clone()),
                checkouts::Shared::Paths(paths) => {
                    stretches += 1;
                    let lib = match stretches {
                        1 => name.clone(),
                        n => format!("{name}-{n}"),
                    };
                    let rule = Rule::ClojureLibrary {
                        paths,
                        aot: Vec::new(),
                        jvm: Jvm::default(),
                    };
                    add(&lib, rule, deps.clone());
                    checkout_deps.push(lib);
                }
            }
        }
    }
    let at = main_deps.iter().position(|d| d == "deps").unwrap_or(0);
    main_deps.splice(at..at, checkout_deps);
    for (name, rule) in walked.git {
        add(&name, rule, Vec::new());
    }
    for lib in walked.libraries {
        // A git library's tree is its git-lib target's product: built before it is read.
        let mut deps: Vec<String> = vec!["deps".into()];
        deps.extend(lib.git);
        add(
            &lib.name,
            Rule::ClojureLibrary {
                paths: lib.paths,
                aot: Vec::new(),
                jvm: Jvm::default(),
            },
            deps,
        );
        main_deps.push(lib.name);
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
            [vec!["main".to_string()], plan.after_main.clone()].concat(),
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
        jar_deps.extend(plan.after_main.iter().cloned());
        add("jar", Rule::Jar(package.clone()), jar_deps);
        let uberjar_deps = [vec!["main".to_string()], plan.after_main.clone()].concat();
        add("uberjar", Rule::Uberjar(package), uberjar_deps);
    }
    // Errors name the entry's line in project.clj.
    for t in &plan.targets {
        if let Some(target) = targets.get_mut(&t.name) {
            target.line = t.line;
        }
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
        git_pending: walked.pending,
    })
}

/// The targets of the `:prep-tasks` entries that are not javac or compile, and where they
/// fall among kbuild's own targets.
struct PrepPlan {
    targets: Vec<PrepTarget>,
    /// Those before both `"javac"` and `"compile"`: the `java` target depends on them.
    before_java: Vec<String>,
    /// Those before `"compile"`: the `main` target depends on them.
    before_main: Vec<String>,
    /// Those after `"compile"`: tests and jars depend on them directly.
    after_main: Vec<String>,
}

struct PrepTarget {
    name: String,
    rule: Rule,
    deps: Vec<String>,
    line: u32,
}

/// Leiningen runs prep tasks one after another before the task itself, so each entry's target
/// depends on the ones before it, and kbuild's `java` and `main` targets (which stand for
/// `"javac"` and `"compile"`, wherever those are, or after everything when absent) on the
/// entries before them. `java` counts as placed no later than `"compile"`, since `main`
/// always depends on it. Named `prep-N`, N the entry's place in the vector (from 1).
fn prep_plan(cp: &ClojureProject, has_java: bool) -> PrepPlan {
    let tasks = &cp.prep_tasks;
    let at = |want: &PrepTask| tasks.iter().position(|t| t == want).unwrap_or(tasks.len());
    let compile_at = at(&PrepTask::Compile);
    let javac_at = at(&PrepTask::Javac).min(compile_at);
    let paths: Vec<String> = cp
        .source_paths
        .iter()
        .chain(&cp.resource_paths)
        .map(|p| p.trim_end_matches('/').to_string())
        .collect();
    let mut plan = PrepPlan {
        targets: Vec::new(),
        before_java: Vec::new(),
        before_main: Vec::new(),
        after_main: Vec::new(),
    };
    let mut previous: Option<String> = None;
    for (i, task) in tasks.iter().enumerate() {
        let (rule, line) = match task {
            PrepTask::Javac | PrepTask::Compile => continue,
            PrepTask::Run {
                args,
                outputs,
                line,
            } => (
                Rule::PrepRun {
                    args: args.clone(),
                    paths: paths.clone(),
                    outputs: outputs.clone(),
                    jvm: Jvm::of(cp),
                },
                *line,
            ),
            PrepTask::Lein { args, line } => (Rule::LeinTask { args: args.clone() }, *line),
        };
        let name = format!("prep-{}", i + 1);
        let mut deps = vec!["deps".to_string()];
        if has_java && javac_at < i {
            deps.push("java".into());
        }
        if compile_at < i {
            deps.push("main".into());
        }
        deps.extend(previous.replace(name.clone()));
        if i < javac_at {
            plan.before_java.push(name.clone());
        }
        if i < compile_at {
            plan.before_main.push(name.clone());
        } else {
            plan.after_main.push(name.clone());
        }
        plan.targets.push(PrepTarget {
            name,
            rule,
            deps,
            line,
        });
    }
    plan
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use crate::project::{Exports, Project, Rule, Selection};

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
    const OTHER: &str = "89abcdef0123456789abcdef0123456789abcdef";

    fn tree(dir: &Path) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
            .into_iter()
            .flatten()
            .map(|e| e.path().to_path_buf())
            .collect();
        out.sort();
        out
    }

    fn project_with_a_git_dependency() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("deps.edn"),
            format!(
                "{{:paths [\"src\"]\n :deps {{my/lib {{:git/url \"file:///nonexistent/lib.git\" :git/sha \"{SHA}\" :deps/root \"core\"}}}}}}\n"
            ),
        )
        .unwrap();
        dir
    }

    /// Each prep task's target depends on the one before it and on `java` / `main` when
    /// `"javac"` / `"compile"` come before it; `java`, `main`, tests and jars on those before them.
    #[test]
    fn prep_tasks_become_targets_in_leiningen_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("project.clj"),
            "(defproject foo \"0.1.0\" :java-source-paths [\"java\"]\n  :prep-tasks [^{:kbuild/outputs [\"resources/g.edn\"]} [\"run\" \"-m\" \"gen\"] \"javac\" [\"version\"] \"compile\" \"pom\"])\n",
        )
        .unwrap();
        let p = Project::discover_for(dir.path(), &Selection::default()).unwrap();
        let deps = |t: &str| p.targets[t].deps.join(" ");
        assert_eq!(deps("prep-1"), "deps");
        assert_eq!(deps("prep-3"), "deps java prep-1");
        assert_eq!(deps("prep-5"), "deps java main prep-3");
        assert_eq!(deps("java"), "deps prep-1");
        assert_eq!(deps("main"), "java deps prep-1 prep-3");
        assert_eq!(deps("test"), "main prep-5");
        assert_eq!(deps("jar"), "java main prep-5");
        assert_eq!(p.targets["prep-3"].line, 2);
        assert!(matches!(&p.targets["prep-1"].rule,
            Rule::PrepRun { args, outputs, .. } if *args == ["gen"] && *outputs == ["resources/g.edn"]));
        assert!(p.targets["prep-1"].rule.always_runs().is_none());
        assert!(p.targets["prep-5"].rule.always_runs().is_some());
    }

    /// The repository does not exist: reading succeeds only because it runs no git, and it
    /// leaves the directory as it was.
    #[test]
    fn reading_a_git_dependency_fetches_and_writes_nothing() {
        let dir = project_with_a_git_dependency();
        let before = tree(dir.path());
        let p = Project::discover_for(dir.path(), &Selection::default()).unwrap();
        assert_eq!(tree(dir.path()), before);
        let name = format!("git:my/lib@{SHA}");
        assert_eq!(p.git_pending, vec![name.clone()]);
        let git = &p.targets[&name];
        assert!(
            matches!(&git.rule, Rule::GitLib { url, sha, tag: None, dir }
                if url == "file:///nonexistent/lib.git" && sha == SHA
                    && *dir == format!(".kbuild/gitlibs/my/lib/{SHA}")),
            "{:?}",
            git.rule
        );
        assert_eq!(git.place(), Some(format!(".kbuild/gitlibs/my/lib/{SHA}")));
        // Its library is made once its tree is there.
        assert!(!p.targets.contains_key("local-lib"));
    }

    /// Given the tree a build exported, the library's own deps.edn joins the project: its
    /// paths under `:deps/root`, its Maven dependencies in the one resolution, and a git
    /// library it names in turn, pending.
    #[test]
    fn an_exported_tree_adds_its_library_and_what_it_depends_on() {
        let dir = project_with_a_git_dependency();
        let export = format!(".kbuild/gitlibs/my/lib/{SHA}");
        std::fs::create_dir_all(dir.path().join(&export).join("core")).unwrap();
        std::fs::write(
            dir.path().join(&export).join("core/deps.edn"),
            format!(
                "{{:paths [\"src\"] :deps {{commons-io/commons-io {{:mvn/version \"2.11.0\"}}\n other/lib {{:git/url \"file:///nonexistent/other.git\" :git/sha \"{OTHER}\"}}}}}}\n"
            ),
        )
        .unwrap();
        let name = format!("git:my/lib@{SHA}");
        let exports: Exports = [(name.clone(), export.clone())].into_iter().collect();
        let p = Project::read(dir.path(), &Selection::default(), &exports).unwrap();
        let lib = &p.targets["local-lib"];
        assert_eq!(lib.deps, vec!["deps".to_string(), name]);
        assert!(
            matches!(&lib.rule, Rule::ClojureLibrary { paths, .. } if *paths == vec![format!("{export}/core/src")]),
            "{:?}",
            lib.rule
        );
        let Rule::Maven { coords, .. } = &p.targets["deps"].rule else {
            panic!("deps is a maven target")
        };
        assert!(coords.iter().any(|d| d.coord.artifact == "commons-io"));
        assert_eq!(p.git_pending, vec![format!("git:other/lib@{OTHER}")]);
        assert!(p.targets["main"].deps.contains(&"local-lib".to_string()));
    }
}
