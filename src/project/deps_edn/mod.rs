//! The Clojure CLI's `deps.edn`, read as tools.deps sees it with aliases selected: root
//! defaults, alias argument merging ([`aliases`]), `:replace-*`, path aliases; lib
//! coordinates in [`coord`].

mod aliases;
mod coord;

use super::clojure::{invalid, read_error, Aot, ClojureError, ClojureProject, Tool, R};
use super::DEPS_EDN;
use crate::edn::{self, Form, Pos, Value};
use aliases::Aliases;
use coord::{dep, deps_map, merge_dep};
use kbuild_resolvers::RemoteRepository;

fn expected(form: &Form, what: &str) -> ClojureError {
    invalid(
        DEPS_EDN,
        form.pos,
        format!("expected {what}, found {}", form.describe()),
    )
}

fn strings(form: &Form, what: &str) -> R<Vec<String>> {
    let items = form
        .as_seq()
        .ok_or_else(|| expected(form, &format!("a vector of strings for {what}")))?;
    items
        .iter()
        .map(|i| {
            i.as_str()
                .map(str::to_string)
                .ok_or_else(|| expected(i, "a string"))
        })
        .collect()
}

/// A path entry: a directory, or a keyword naming an alias that holds more entries.
#[derive(Clone, Debug)]
enum PathEntry {
    Dir(String),
    Alias(String, Pos),
}

fn path_entries(form: &Form, what: &str) -> R<Vec<PathEntry>> {
    let items = form
        .as_seq()
        .ok_or_else(|| expected(form, &format!("a vector of paths for {what}")))?;
    items
        .iter()
        .map(|i| match &i.value {
            Value::Str(s) => Ok(PathEntry::Dir(s.clone())),
            Value::Keyword(k) => Ok(PathEntry::Alias(k.clone(), i.pos)),
            _ => Err(expected(i, "a path string or an alias keyword")),
        })
        .collect()
}

/// Whether `deps.edn` defines the alias `name` (false for a file that does not read: reading
/// it for real reports that).
pub(super) fn defines_alias(text: &str, name: &str) -> bool {
    let Ok(forms) = edn::read_all(text) else {
        return false;
    };
    let aliases = forms.first().and_then(|top| top.get("aliases"));
    aliases
        .and_then(Form::as_map)
        .is_some_and(|m| m.iter().any(|(k, _)| k.as_keyword() == Some(name)))
}

/// Reads `deps.edn` as the Clojure CLI sees it with the `selected` aliases in order (what
/// `-A:dev:test` / `-M:dev:test` pass: `["dev", "test"]`, with or without `:`). The root
/// deps.edn's `:paths`, `:mvn/repos` and `:test` alias are applied; its
/// `org.clojure/clojure` dependency is not (the caller adds it). A user-level
/// `~/.clojure/deps.edn` is not read.
pub(super) fn read_deps_edn(text: &str, selected: &[&str]) -> R<ClojureProject> {
    let forms = edn::read_all(text).map_err(|e| read_error(DEPS_EDN, e))?;
    let top = match forms.as_slice() {
        [] => None,
        [one] => Some(one),
        [_, second, ..] => {
            return Err(invalid(
                DEPS_EDN,
                second.pos,
                "expected a single map, found another form",
            ))
        }
    };
    let origin = Pos { line: 1, column: 1 };
    let empty = Form {
        value: Value::Map(Vec::new()),
        pos: origin,
        meta: None,
    };
    let top = top.unwrap_or(&empty);
    if top.as_map().is_none() && !matches!(top.value, Value::Nil) {
        return Err(expected(top, "a map"));
    }
    let get = |k: &str| top.get(k).filter(|f| !matches!(f.value, Value::Nil));

    let mut paths = match get("paths") {
        Some(p) => path_entries(p, ":paths")?,
        None => vec![PathEntry::Dir("src".into())],
    };
    let mut deps = match get("deps") {
        Some(d) => deps_map(d, ":deps")?,
        None => Vec::new(),
    };

    let aliases = Aliases::new(get("aliases"), top.pos)?;
    let mut args = aliases.args(selected)?;

    // tools.deps' `tool`: :replace-deps / :replace-paths take the project's place.
    if let Some(replace) = args.replace_deps.take() {
        deps = replace;
    }
    if let Some(replace) = args.replace_paths.take() {
        paths = replace;
    }
    for e in args.extra_deps.take().unwrap_or_default() {
        merge_dep(&mut deps, e);
    }

    let test_paths = aliases.flatten(&args.extra_paths.take().unwrap_or_default())?;
    let source_paths = aliases.flatten(&paths)?;

    let mut dependencies = Vec::new();
    for (lib, lib_form, coord) in &deps {
        let coord = if matches!(coord.value, Value::Nil) {
            match args.default_deps.iter().find(|(l, ..)| l == lib) {
                Some((_, _, c)) => c,
                None => return Err(expected(coord, &format!("a coordinate map for {lib}"))),
            }
        } else {
            coord
        };
        let coord = match args.override_deps.iter().find(|(l, ..)| l == lib) {
            Some((_, _, c)) => c,
            None => coord,
        };
        dependencies.push(dep(lib_form, coord)?);
    }
    let managed = args
        .override_deps
        .iter()
        .map(|(_, l, c)| dep(l, c).map(|d| d.maven))
        .collect::<R<Vec<_>>>()?;

    let repositories = repositories(get("mvn/repos"))?;

    let main_opts = args.main_opts.unwrap_or_default();
    let main = main_opts
        .iter()
        .position(|o| o == "-m" || o == "--main")
        .and_then(|i| main_opts.get(i + 1).cloned());
    Ok(ClojureProject {
        tool: Tool::Cli,
        group: String::new(),
        name: String::new(),
        version: String::new(),
        dependencies,
        managed,
        repositories,
        source_paths,
        java_source_paths: Vec::new(),
        resource_paths: Vec::new(),
        test_paths,
        javac_options: Vec::new(),
        main,
        aot: Aot::None,
        compile_path: "target/classes".into(),
        target_path: "target".into(),
        main_opts,
        jvm_opts: args.jvm_opts,
        test_selectors: Vec::new(),
        prelude: Vec::new(),
        pom: Default::default(),
        prep_tasks: Vec::new(),
        checkout_shares: Ok(Vec::new()),
        notes: Vec::new(),
    })
}

/// `:mvn/repos` over the CLI's defaults (central, clojars).
fn repositories(repos: Option<&Form>) -> R<Vec<RemoteRepository>> {
    let mut repositories = vec![
        RemoteRepository::new("central", "https://repo1.maven.org/maven2/"),
        RemoteRepository::new("clojars", "https://repo.clojars.org/"),
    ];
    if let Some(repos) = repos {
        let entries = repos
            .as_map()
            .ok_or_else(|| expected(repos, "a map of repositories"))?;
        for (k, v) in entries {
            let id = k
                .as_str()
                .ok_or_else(|| expected(k, "a repository id string"))?
                .to_string();
            if matches!(v.value, Value::Nil) {
                // tools.deps lets a nil entry remove a repository
                repositories.retain(|r| r.id != id);
                continue;
            }
            let url = v
                .get("url")
                .and_then(Form::as_str)
                .ok_or_else(|| {
                    invalid(
                        DEPS_EDN,
                        v.pos,
                        format!("repository {id:?} needs {{:url \"...\"}}"),
                    )
                })?
                .to_string();
            match repositories.iter_mut().find(|r| r.id == id) {
                Some(slot) => slot.url = url,
                None => repositories.push(RemoteRepository::new(id, url)),
            }
        }
    }
    Ok(repositories)
}

/// A deps.edn to test with.
#[cfg(test)]
const DEPS: &str = r#"
{:paths ["src" "resources"]
 :deps {org.clojure/clojure {:mvn/version "1.11.1"}
        cheshire {:mvn/version "5.11.0" :exclusions [com.fasterxml.jackson.core/jackson-core tigris]}
        org.lwjgl/lwjgl$natives-linux {:mvn/version "3.3.1"}
        my/local {:local/root "../local"}}
 :mvn/repos {"internal" {:url "https://repo.example.com/"}}
 :aliases {:dev {:extra-paths ["dev"]
                 :extra-deps {nrepl/nrepl {:mvn/version "1.0.0"}
                              cheshire/cheshire {:mvn/version "5.12.0"}}
                 :jvm-opts ["-Ddev"]
                 :main-opts ["-m" "nrepl.cmdline"]}
           :test {:extra-deps {io.github.cognitect-labs/test-runner {:mvn/version "0.5.1"}}
                  :jvm-opts ["-Dtest"]
                  :main-opts ["-m" "cognitect.test-runner"]}
           :build {:replace-deps {io.github.clojure/tools.build {:mvn/version "0.9.4"}}
                   :replace-paths ["build"]}
           :tool {:deps {a/tool {:mvn/version "1"}}}
           :pin {:override-deps {org.clojure/clojure {:mvn/version "1.10.3"}}}
           :clj-paths ["src/clj" :more-paths]
           :more-paths ["src/cljc"]
           :layout {:extra-paths [:clj-paths]}}}
"#;

/// `text` read with `aliases` (for tests).
#[cfg(test)]
fn deps(text: &str, aliases: &[&str]) -> ClojureProject {
    read_deps_edn(text, aliases).unwrap_or_else(|e| panic!("{e}"))
}

/// The error of reading `text` with `aliases` (for tests).
#[cfg(test)]
fn deps_err(text: &str, aliases: &[&str]) -> String {
    match read_deps_edn(text, aliases) {
        Ok(p) => panic!("expected an error, got {p:?}"),
        Err(e) => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::clojure::{coords, excl, Source};

    #[test]
    fn tells_which_aliases_are_defined() {
        let text = "{:paths [\"src\"] :aliases {:test {:extra-paths [\"test\"]}}}";
        assert!(defines_alias(text, "test"));
        assert!(!defines_alias(text, "dev"));
        assert!(!defines_alias("{:paths [\"src\"]}", "test"));
        assert!(!defines_alias("{:aliases", "test"));
    }

    #[test]
    fn deps_edn_without_aliases() {
        let p = deps(DEPS, &[]);
        assert_eq!(p.tool, Tool::Cli);
        assert_eq!(p.source_paths, ["src", "resources"]);
        assert!(p.test_paths.is_empty());
        assert_eq!(
            coords(&p.dependencies),
            [
                "org.clojure/clojure 1.11.1",
                "cheshire/cheshire 5.11.0",
                "org.lwjgl/lwjgl 3.3.1 :classifier natives-linux",
                "my/local",
            ]
        );
        assert_eq!(
            excl(&p.dependencies[1]),
            ["com.fasterxml.jackson.core/jackson-core", "tigris/tigris"]
        );
        assert_eq!(
            p.dependencies[3].source,
            Some(Source::Local("../local".into()))
        );
        assert_eq!(p.dependencies[3].maven.coord.version, "");
        assert_eq!(
            p.repositories
                .iter()
                .map(|r| (r.id.clone(), r.url.clone()))
                .collect::<Vec<_>>(),
            [
                (
                    "central".to_string(),
                    "https://repo1.maven.org/maven2/".to_string()
                ),
                (
                    "clojars".to_string(),
                    "https://repo.clojars.org/".to_string()
                ),
                (
                    "internal".to_string(),
                    "https://repo.example.com/".to_string()
                ),
            ]
        );
        assert!(p.main_opts.is_empty() && p.jvm_opts.is_empty() && p.main.is_none());
        assert_eq!(p.aot, Aot::None);
        assert_eq!(p.compile_path, "target/classes");
    }

    #[test]
    fn deps_edn_defaults() {
        let p = deps("", &[]);
        assert_eq!(p.source_paths, ["src"]);
        assert!(p.dependencies.is_empty());
        assert_eq!(p.repositories.len(), 2);
        let p = deps("{}", &["test"]);
        assert_eq!(p.test_paths, ["test"]);
        let p = deps(
            r#"{:mvn/repos {"clojars" nil "central" {:url "https://mirror/"}}}"#,
            &[],
        );
        assert_eq!(
            p.repositories
                .iter()
                .map(|r| (r.id.clone(), r.url.clone()))
                .collect::<Vec<_>>(),
            [("central".to_string(), "https://mirror/".to_string())]
        );
    }

    #[test]
    fn deps_edn_errors() {
        assert_eq!(
            deps_err("{:aliases {:dev {}}}", &["dev", "nope"]),
            "deps.edn:1:11: alias :nope is not defined (defined: :test, :dev)"
        );
        assert_eq!(
            deps_err("{:paths \"src\"}", &[]),
            "deps.edn:1:9: expected a vector of paths for :paths, found string"
        );
        assert_eq!(
            deps_err("{:paths [\"src\"]", &[]),
            "deps.edn:1:1: `{` is never closed"
        );
        assert_eq!(
            deps_err("{} {}", &[]),
            "deps.edn:1:4: expected a single map, found another form"
        );
        assert_eq!(
            deps_err("{:paths [:nope]}", &[]),
            "deps.edn:1:10: path alias :nope is not defined"
        );
    }

    #[test]
    fn fixture_deps_alias() {
        let text = include_str!("../../../fixtures/deps-alias/deps.edn");
        let p = deps(text, &[]);
        assert_eq!(p.source_paths, ["src", "resources"]);
        assert!(p.test_paths.is_empty());
        let p = deps(text, &["test"]);
        assert_eq!(p.test_paths, ["test"]);
        assert_eq!(p.main.as_deref(), Some("greet.test-runner"));
        assert_eq!(coords(&p.dependencies), ["org.clojure/clojure 1.11.1"]);
        let p = deps(text, &["dev"]);
        assert_eq!(
            coords(&p.dependencies),
            ["org.clojure/clojure 1.11.1", "nrepl/nrepl 1.0.0"]
        );
        assert_eq!(p.test_paths, ["dev"]);
    }
}
