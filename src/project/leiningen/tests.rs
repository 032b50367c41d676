//! project.clj files read whole: defaults, names, paths, whole realistic projects (each
//! expectation checked against lein 2.10), and errors.

use super::*;
use crate::project::clojure::{aot_regex, coords, excl, maven_coords, Aot, Tool};

#[test]
fn minimal_project_gets_leiningen_defaults() {
    let p = lein(
        r#"(defproject foo "0.1.0" :dependencies [[org.clojure/clojure "1.11.1"]])"#,
        &classpath_profiles(),
    );
    assert_eq!(p.tool, Tool::Lein);
    assert_eq!(
        (p.group.as_str(), p.name.as_str(), p.version.as_str()),
        ("foo", "foo", "0.1.0")
    );
    // Checked against `lein classpath` 2.10: test:src:dev-resources:resources:target/classes
    assert_eq!(p.test_paths, ["test"]);
    assert_eq!(p.source_paths, ["src"]);
    assert_eq!(p.resource_paths, ["dev-resources", "resources"]);
    assert_eq!(p.compile_path, "target/classes");
    assert_eq!(p.target_path, "target");
    assert!(p.java_source_paths.is_empty());
    assert_eq!(
        coords(&p.dependencies),
        [
            "org.clojure/clojure 1.11.1",
            "nrepl/nrepl 1.0.0",
            "org.nrepl/incomplete 0.1.0"
        ]
    );
    assert_eq!(excl(&p.dependencies[1]), ["org.clojure/clojure"]);
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
        ]
    );
    assert_eq!(p.jvm_opts, ["-XX:-OmitStackTraceInFastThrow"]);
    assert_eq!(p.aot, Aot::None);
    assert_eq!(p.main, None);
    assert!(p.main_opts.is_empty());
}

#[test]
fn group_and_name() {
    let p = lein(r#"(defproject com.example/app "1.0")"#, &[]);
    assert_eq!((p.group.as_str(), p.name.as_str()), ("com.example", "app"));
    // No profiles at all: no :base, so no dev-resources and no nREPL.
    assert_eq!(p.resource_paths, ["resources"]);
    assert!(p.dependencies.is_empty());
    assert!(p.jvm_opts.is_empty());
}

#[test]
fn other_top_level_forms_are_ignored() {
    let p = lein(
        "(ns foo)\n(def x 1)\n(defproject foo \"1\" :main foo.core)\n(println :after)",
        &[],
    );
    assert_eq!(p.main.as_deref(), Some("foo.core"));
}

#[test]
fn project_level_replace_and_top_level_defaults() {
    // An explicit :source-paths replaces the default "src" entirely.
    let p = lein(
        r#"(defproject foo "1" :source-paths ["a" "b"] :test-paths [])"#,
        &[],
    );
    assert_eq!(p.source_paths, ["a", "b"]);
    assert!(p.test_paths.is_empty());
    // ^:replace on :repositories drops central and clojars.
    let p = lein(
        r#"(defproject foo "1" :repositories ^:replace [["mine" "file:///repo"]])"#,
        &[],
    );
    assert_eq!(
        p.repositories
            .iter()
            .map(|r| (r.id.clone(), r.url.clone()))
            .collect::<Vec<_>>(),
        [("mine".to_string(), "file:///repo".to_string())]
    );
    // :java-opts is the old name of :jvm-opts.
    let p = lein(r#"(defproject foo "1" :java-opts ["-Dold"])"#, &[]);
    assert_eq!(p.jvm_opts, ["-Dold"]);
}

#[test]
fn target_and_compile_paths() {
    let p = lein(
        r#"(defproject foo "1" :target-path "out" :compile-path "classes")"#,
        &classpath_profiles(),
    );
    assert_eq!(
        (p.target_path.as_str(), p.compile_path.as_str()),
        ("out", "classes")
    );
    // Checked with `lein jar` / `lein uberjar`: :provided only counts when defined.
    let text = r#"(defproject foo "1" :target-path "out/%s")"#;
    assert_eq!(lein(text, &default_profiles("jar")).target_path, "out");
    assert_eq!(
        lein(text, &default_profiles("uberjar")).target_path,
        "out/uberjar"
    );
    let text = r#"(defproject foo "1" :target-path "out/%s" :profiles {:provided {}})"#;
    let p = lein(text, &default_profiles("jar"));
    assert_eq!(
        (p.target_path.as_str(), p.compile_path.as_str()),
        ("out/provided", "out/provided/classes")
    );
    let p = lein(text, &default_profiles("uberjar"));
    assert_eq!(p.target_path, "out/uberjar+provided");
}

/// A realistic project; every expectation checked against lein 2.10.
const REALISTIC: &str = r#"
(defproject com.example/app "1.2.3"
  :description "realistic"
  :dependencies [[org.clojure/clojure "1.11.1"]
             [org.clojure/spec.alpha]
             [com.example/lib "2.0" :exclusions [org.slf4j/slf4j-api [log4j :classifier "x"]]]
             [com.example/native "1.0" :classifier "linux" :extension "zip"]
             [com.example/opt "1.0" :optional true :scope "provided"]]
  :managed-dependencies [[org.clojure/spec.alpha "0.3.218"]]
  :exclusions [commons-logging]
  :repositories [["internal" "https://repo.example.com/maven/"]
             ["clojars" {:url "https://mirror.example.com/clojars/"}]]
  :source-paths ["src/clj"]
  :java-source-paths ["src/java"]
  :javac-options ["--release" "11" "-Xlint:unchecked"]
  :resource-paths ["resources"]
  :main com.example.app
  :aot [com.example.app #"com\.example\.gen\..*"]
  :jvm-opts ["-Xmx1g"]
  :target-path "target/%s/"
  :profiles {:dev {:source-paths ["dev"]
               :dependencies [[nrepl/nrepl "1.0.0"] [com.example/lib "2.1"]]
               :jvm-opts ["-Ddev=true"]}
         :test {:resource-paths ^:replace ["test-resources"]
                :dependencies [[com.example/test-helpers "0.1"]]
                :java-source-paths ["test/java"]}
         :ci [:test :fast]
         :fast {:jvm-opts ^:replace ["-XX:TieredStopAtLevel=1"]}
         :uberjar {:aot :all}
         :provided {:dependencies [[javax.servlet/servlet-api "2.5"]]}})
"#;

#[test]
fn realistic_project_classpath_profiles() {
    let p = lein(REALISTIC, &classpath_profiles());
    assert_eq!(
        (p.group.as_str(), p.name.as_str(), p.version.as_str()),
        ("com.example", "app", "1.2.3")
    );
    assert_eq!(
        coords(&p.dependencies),
        [
            "org.clojure/clojure 1.11.1",
            // versionless: from :managed-dependencies
            "org.clojure/spec.alpha 0.3.218",
            // the :dev profile's version merges into the first declaration
            "com.example/lib 2.1 :scope test",
            "com.example/native 1.0 :classifier linux :extension zip",
            "com.example/opt 1.0 :scope provided :optional",
            // :dev's nrepl displaces :base's, in :base's place
            "nrepl/nrepl 1.0.0 :scope test",
            "org.nrepl/incomplete 0.1.0",
            "javax.servlet/servlet-api 2.5 :scope provided",
        ]
    );
    // Global :exclusions first (Leiningen `into`s them onto a list).
    assert_eq!(
        excl(&p.dependencies[2]),
        [
            "commons-logging/commons-logging",
            "org.slf4j/slf4j-api",
            "log4j/log4j"
        ]
    );
    assert_eq!(
        excl(&p.dependencies[5]),
        ["commons-logging/commons-logging"]
    );
    assert_eq!(
        excl(&p.dependencies[6]),
        ["commons-logging/commons-logging", "org.clojure/clojure"]
    );
    assert_eq!(maven_coords(&p.managed), ["org.clojure/spec.alpha 0.3.218"]);
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
                "https://mirror.example.com/clojars/".to_string()
            ),
            (
                "internal".to_string(),
                "https://repo.example.com/maven/".to_string()
            ),
        ]
    );
    assert_eq!(p.source_paths, ["dev", "src/clj"]);
    assert_eq!(p.java_source_paths, ["src/java"]);
    assert_eq!(p.resource_paths, ["dev-resources", "resources"]);
    assert_eq!(p.test_paths, ["test"]);
    assert_eq!(p.javac_options, ["--release", "11", "-Xlint:unchecked"]);
    assert_eq!(p.jvm_opts, ["-Xmx1g", "-Ddev=true"]);
    assert_eq!(
        p.aot,
        Aot::Namespaces(vec![
            "com.example.app".into(),
            r#"#"com\.example\.gen\..*""#.into()
        ])
    );
    if let Aot::Namespaces(n) = &p.aot {
        assert_eq!(aot_regex(&n[1]), Some(r"com\.example\.gen\..*"));
        assert_eq!(aot_regex(&n[0]), None);
    }
    assert_eq!(p.main.as_deref(), Some("com.example.app"));
    // "target/%s/" → "target/" → "target//classes", which java.io.File cleans up.
    assert_eq!(p.target_path, "target");
    assert_eq!(p.compile_path, "target/classes");
}

#[test]
fn realistic_project_composite_ci_profile() {
    let mut profiles = classpath_profiles();
    profiles.push("ci");
    let p = lein(REALISTIC, &profiles);
    assert_eq!(
        coords(&p.dependencies).last().map(String::as_str),
        Some("com.example/test-helpers 0.1 :scope test")
    );
    assert_eq!(p.source_paths, ["dev", "src/clj"]);
    // java-source-paths are not prepended: plain concatenation.
    assert_eq!(p.java_source_paths, ["src/java", "test/java"]);
    assert_eq!(p.resource_paths, ["test-resources"]);
    assert_eq!(p.jvm_opts, ["-XX:TieredStopAtLevel=1"]);
    assert_eq!(p.compile_path, "target/ci/classes");
}

#[test]
fn aot_all_replaces_and_is_sticky() {
    let p = lein(REALISTIC, &default_profiles("uberjar"));
    assert_eq!(p.aot, Aot::All);
    // The project's `:aot :all` is ^:replace, so a profile cannot add to it.
    let p = lein(
        r#"(defproject foo "1" :aot :all :profiles {:foo {:aot [foo.core]}})"#,
        &["foo"],
    );
    assert_eq!(p.aot, Aot::All);
    let p = lein(
        r#"(defproject foo "1" :aot [a.b] :profiles {:foo {:aot [c.d]}})"#,
        &["foo"],
    );
    assert_eq!(p.aot, Aot::Namespaces(vec!["a.b".into(), "c.d".into()]));
}

/// Shaped like ring-core's project.clj; checked against lein 2.10.
const UPSTREAM_STYLE: &str = r#"
(defproject ring/ring-core "1.9.6"
  :description "Ring core libraries."
  :url "https://github.com/ring-clojure/ring"
  :scm {:dir ".."}
  :license {:name "The MIT License"
        :url "http://opensource.org/licenses/MIT"}
  :min-lein-version "2.0.0"
  :global-vars {*warn-on-reflection* true}
  :dependencies [[org.clojure/clojure "1.7.0"]
             [ring/ring-codec "1.2.0"]
             [commons-io "2.11.0"]
             [crypto-random "1.2.1"]]
  :plugins [[lein-codox "0.10.8"]]
  :codox {:output-path "codox" :source-uri "https://github.com/ring-clojure/ring/blob/{version}/{filepath}#L{line}"}
  :deploy-repositories [["releases" :clojars]]
  :aliases {"test-all" ["with-profile" "default:+1.8:+1.9" "test"]}
  :profiles
  {:provided {:dependencies [[javax.servlet/servlet-api "2.5"]]}
   :dev [:project/dev :profiles/dev]
   :project/dev {:dependencies [[clj-time "0.15.2"]
                            [javax.servlet/servlet-api "2.5"]]
             :resource-paths ["test/resources"]}
   :1.8 {:dependencies [[org.clojure/clojure "1.8.0"]]}
   :1.9 {:dependencies [[org.clojure/clojure "1.9.0"]]}})
"#;

#[test]
fn upstream_style_project() {
    let p = lein(UPSTREAM_STYLE, &classpath_profiles());
    assert_eq!(
        coords(&p.dependencies),
        [
            "org.clojure/clojure 1.7.0",
            "ring/ring-codec 1.2.0",
            "commons-io/commons-io 2.11.0",
            "crypto-random/crypto-random 1.2.1",
            "nrepl/nrepl 1.0.0",
            "org.nrepl/incomplete 0.1.0",
            // :provided's, then re-scoped by :dev's members, which inherit its scope
            "javax.servlet/servlet-api 2.5 :scope test",
            "clj-time/clj-time 0.15.2 :scope test",
        ]
    );
    assert_eq!(
        p.resource_paths,
        ["test/resources", "dev-resources", "resources"]
    );
    let mut profiles = classpath_profiles();
    profiles.push("1.8");
    let p = lein(UPSTREAM_STYLE, &profiles);
    assert_eq!(coords(&p.dependencies)[0], "org.clojure/clojure 1.8.0");
    assert_eq!(p.compile_path, "target/classes");
}

#[test]
fn unquote_is_an_error_naming_form_and_position() {
    let e = lein_err(
        "(def v \"1\")\n(defproject foo\n  ~(str \"1.\" \"2\"))",
        &[],
    );
    assert_eq!(
        e,
        "project.clj:3:3: cannot evaluate ~(str ...): kbuild reads project.clj without running it"
    );
    let e = lein_err("(defproject foo ~v)", &[]);
    assert!(
        e.starts_with("project.clj:1:17: cannot evaluate ~v:"),
        "{e}"
    );
    let e = lein_err(
        "(defproject foo \"1\"\n  :dependencies [[a/b ~version]])",
        &[],
    );
    assert!(
        e.starts_with("project.clj:2:23: cannot evaluate ~version"),
        "{e}"
    );
    let e = lein_err(
        "(defproject foo \"1\"\n  :source-paths [\"src\" #=(eval (str \"x\"))])",
        &[],
    );
    assert!(
        e.starts_with("project.clj:2:24: cannot evaluate #=(eval ...)"),
        "{e}"
    );
    let e = lein_err("(defproject foo \"1\"\n  :dependencies [~@deps])", &[]);
    assert!(
        e.starts_with("project.clj:2:18: cannot evaluate ~@deps"),
        "{e}"
    );
}

#[test]
fn unevaluable_forms_in_unused_keys_or_inactive_profiles_are_fine() {
    let p = lein(
        r#"(defproject foo "1" :description ~(slurp "README") :plugins [[lein-x ~v]]
             :profiles {:other {:dependencies [[a ~v]]}})"#,
        &classpath_profiles(),
    );
    assert_eq!(p.name, "foo");
    let e = lein_err(
        r#"(defproject foo "1" :profiles {:other ~(profile)})"#,
        &["other"],
    );
    assert!(e.contains("cannot evaluate ~(profile)"), "{e}");
}

#[test]
fn shape_errors_have_positions() {
    assert_eq!(
        lein_err("(ns x)", &[]),
        "project.clj:1:1: no (defproject name \"version\" ...) form"
    );
    assert_eq!(
        lein_err("(defproject foo 1.0)", &[]),
        "project.clj:1:17: expected a version string, found number"
    );
    assert_eq!(
        lein_err("(defproject foo \"1\"\n  :main)", &[]),
        "project.clj:2:3: defproject: a key without a value"
    );
    assert_eq!(
        lein_err("(defproject foo \"1\"\n  :main a\n  :main b)", &[]),
        "project.clj:3:3: duplicate key :main in defproject (first at 2:3)"
    );
    assert_eq!(
        lein_err("(defproject foo \"1\"\n  :source-paths \"src\")", &[]),
        "project.clj:2:17: expected a vector of paths, found string"
    );
    assert_eq!(
        lein_err("(defproject foo \"1\"\n  :dependencies [a/b])", &[]),
        "project.clj:2:18: expected a dependency like [group/name \"version\"], found symbol"
    );
    assert_eq!(
        lein_err(
            "(defproject foo \"1\"\n  :dependencies [[a/b \"1\" :scope]])",
            &[]
        ),
        "project.clj:2:27: a/b: expected keyword/value pairs after the name and version"
    );
    assert_eq!(
        lein_err("(defproject foo \"1\"\n  :main 'foo.core)", &[]),
        "project.clj:2:9: expected a namespace symbol, found quoted form 'foo.core (kbuild reads project.clj without running it)"
    );
    assert_eq!(
        lein_err("(defproject foo \"1\"\n  :dependencies [[a/b \"1\"]]", &[]),
        "project.clj:1:1: `(` is never closed"
    );
}

#[test]
fn fixture_lein_mixed() {
    let text = include_str!("../../../fixtures/lein-mixed/project.clj");
    let p = lein(text, &classpath_profiles());
    // `lein classpath` (2.10, offline): test:src:dev-resources:resources:target/classes:
    // clojure 1.11.1, spec.alpha, core.specs.alpha, nrepl 1.0.0, incomplete 0.1.0
    assert_eq!(p.test_paths, ["test"]);
    assert_eq!(p.source_paths, ["src"]);
    assert_eq!(p.resource_paths, ["dev-resources", "resources"]);
    assert_eq!(p.compile_path, "target/classes");
    assert_eq!(p.java_source_paths, ["java"]);
    assert_eq!(
        coords(&p.dependencies),
        [
            "org.clojure/clojure 1.11.1",
            "nrepl/nrepl 1.0.0",
            "org.nrepl/incomplete 0.1.0"
        ]
    );
    assert_eq!(p.main.as_deref(), Some("mixed.core"));
    assert_eq!(p.aot, Aot::Namespaces(vec!["mixed.core".into()]));
    let p = lein(text, &default_profiles("test"));
    assert_eq!(
        p.resource_paths,
        ["test-resources", "dev-resources", "resources"]
    );
    assert_eq!(p.compile_path, "target/classes");
    let p = lein(text, &default_profiles("uberjar"));
    assert_eq!(p.aot, Aot::All);
}

/// `:prep-tasks` as Leiningen's `run-prep-tasks` takes it: `["javac" "compile"]` unless set
/// (its default is `^:top-displace`, so the project's vector replaces it), a profile's
/// entries appended, `:kbuild/outputs` read from an entry's metadata.
#[test]
fn prep_tasks_are_read_with_their_outputs_and_lines() {
    use crate::project::clojure::PrepTask;
    let p = lein(r#"(defproject foo "0.1.0")"#, &classpath_profiles());
    assert_eq!(p.prep_tasks, [PrepTask::Javac, PrepTask::Compile]);
    let p = lein(
        "(defproject foo \"0.1.0\"\n  :prep-tasks [^{:kbuild/outputs [\"resources/a.edn\"]} [\"run\" \"-m\" \"gen.core\" \"x\"]\n \"javac\" [\"shell\" \"make\" :all] \"compile\"]\n  :profiles {:dev {:prep-tasks [\"version\"]}})",
        &classpath_profiles(),
    );
    assert_eq!(
        p.prep_tasks,
        [
            PrepTask::Run {
                args: vec!["gen.core".into(), "x".into()],
                outputs: vec!["resources/a.edn".into()],
                line: 2
            },
            PrepTask::Javac,
            PrepTask::Lein {
                args: vec!["shell".into(), "make".into(), ":all".into()],
                line: 3
            },
            PrepTask::Compile,
            PrepTask::Lein {
                args: vec!["version".into()],
                line: 4
            },
        ]
    );
    let p = lein(
        "(defproject foo \"0.1.0\" :prep-tasks ^:replace [])",
        &classpath_profiles(),
    );
    assert!(p.prep_tasks.is_empty());
}

#[test]
fn prep_task_outputs_must_stay_in_the_project() {
    for (outputs, why) in [
        ("[\"../x.edn\"]", "not a plain relative path"),
        ("[\"/tmp/x\"]", "not a plain relative path"),
        ("[\"target/kbuild/main/x\"]", "not a plain relative path"),
        ("[\"project.clj\"]", "not a plain relative path"),
        ("\"x.edn\"", "must be a vector of path strings"),
    ] {
        let e = lein_err(
            &format!(
                "(defproject foo \"0.1.0\"\n  :prep-tasks [^{{:kbuild/outputs {outputs}}} [\"run\" \"-m\" \"g\"]])"
            ),
            &classpath_profiles(),
        );
        assert!(
            e.starts_with("project.clj:2:") && e.contains(why),
            "{outputs}: {e}"
        );
    }
    let e = lein_err(
        "(defproject foo \"0.1.0\"\n  :prep-tasks [^{:kbuild/outputs [\"a\"]} [\"shell\" \"make\"]])",
        &classpath_profiles(),
    );
    assert!(
        e.starts_with("project.clj:2:") && e.contains("[\"run\" \"-m\" NS ...] entries only"),
        "{e}"
    );
}
