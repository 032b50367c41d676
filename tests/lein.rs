//! Existing Leiningen and Clojure CLI projects, unchanged, compared with Debian's real
//! `lein` running offline against a local repository made from /usr/share/maven-repo.

mod common;
#[path = "../resolvers/tests/support/mod.rs"]
mod support;

use std::process::Command;

use common::lein::{debian_m2, kbuild, lein, totals};
use common::{git, Build, Project};

/// `lein classpath` of `p` (`args` are lein's before the task: `with-profile +test`), with
/// lein's `target/classes` as kbuild's compiled products stand in for it.
fn lein_classpath(p: &Project, m2: &std::path::Path, args: &[&str]) -> String {
    let out = lein(p, m2, &[args, &["classpath"]].concat());
    assert!(
        out.status.success(),
        "lein classpath: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = p.dir.path().display().to_string();
    let theirs = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        theirs.contains(&format!("{root}/target/classes")),
        "{theirs}"
    );
    theirs.replace(
        &format!("{root}/target/classes"),
        &format!("{root}/target/kbuild/main:{root}/target/kbuild/java"),
    )
}

#[test]
fn kbuild_classpath_equals_lein_classpath_with_compiled_products_for_target_classes() {
    let m2 = debian_m2();
    let p = Project::new("lein-mixed");
    let want = lein_classpath(&p, &m2, &[]);
    let b = kbuild(&p, &m2, &["classpath"]);
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(b.stdout.trim(), want);

    // The same with a profile added, as `lein with-profile +test classpath`.
    let theirs = lein_classpath(&p, &m2, &["with-profile", "+test"]);
    let b = kbuild(&p, &m2, &["--profile", "+test", "classpath"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(theirs.contains("test-resources"));
    assert_eq!(b.stdout.trim(), theirs);
}

/// `:repositories` as a map, the form real projects write as often as a vector of pairs, with
/// a URL string and an option map: both readers take it and agree on the classpath.
#[test]
fn repositories_written_as_a_map_read_as_lein_reads_them() {
    let m2 = debian_m2();
    let p = Project::new("lein-mixed");
    p.edit(
        "project.clj",
        ":java-source-paths",
        ":repositories {\"mirror\" \"https://repo.example.invalid/maven2/\"\n                 \"snapshots\" {:url \"https://snapshots.example.invalid/\" :releases false}}\n  :java-source-paths",
    );
    let theirs = lein_classpath(&p, &m2, &[]);
    let b = kbuild(&p, &m2, &["classpath"]);
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(b.stdout.trim(), theirs);
}

/// `:plugin-repositories` serves lein's plugins: kbuild reads past it with a warning naming
/// its line, and the classpath is lein's.
#[test]
fn plugin_repositories_are_ignored_with_a_note() {
    let m2 = debian_m2();
    let p = Project::new("lein-mixed");
    p.edit(
        "project.clj",
        ":java-source-paths",
        ":plugin-repositories [[\"plugins\" {:url \"https://plugins.example.invalid/\" :update :never}]]\n  :java-source-paths",
    );
    let line = p
        .read("project.clj")
        .lines()
        .position(|l| l.contains(":plugin-repositories"))
        .unwrap()
        + 1;
    let theirs = lein_classpath(&p, &m2, &[]);
    let b = kbuild(&p, &m2, &["classpath"]);
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(b.stdout.trim(), theirs);
    assert!(
        b.stderr.contains(&format!(
            "project.clj:{line}: :plugin-repositories is ignored"
        )),
        "{}",
        b.stderr
    );
}

#[test]
fn kbuild_test_on_a_leiningen_project_counts_what_lein_test_counts() {
    let m2 = debian_m2();
    let p = Project::new("lein-mixed");
    let out = lein(&p, &m2, &["test"]);
    let lein_out = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "lein test: {lein_out}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let totals = lein_out
        .lines()
        .find(|l| l.starts_with("Ran "))
        .expect("lein's totals")
        .to_string();

    let p = Project::new("lein-mixed");
    let b = kbuild(&p, &m2, &["test"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(
        b.stderr.contains(&totals),
        "lein said {totals:?}; kbuild said:\n{}",
        b.stderr
    );
    assert!(b.stderr.contains("0 failures, 0 errors."));
    // Cached the second time.
    let b = kbuild(&p, &m2, &["--json", "test"]);
    assert!(b.ok() && b.executed().is_empty(), "ran {:?}", b.executed());
}

#[test]
fn kbuild_prep_lets_lein_test_run_with_its_prep_tasks_replaced() {
    let m2 = debian_m2();
    let p = Project::new("lein-mixed");
    p.edit(
        "project.clj",
        "  :aot [mixed.core]",
        "  :aot [mixed.core]\n  :prep-tasks ^:replace []",
    );
    // Without prep, lein has no compiled Java class to load.
    let out = lein(&p, &m2, &["test"]);
    assert!(!out.status.success(), "lein test passed without prep?");
    let b = kbuild(&p, &m2, &["prep"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(p.path("target/classes/mixed/Greeter.class").is_file());
    assert!(
        p.path("target/classes/mixed/core__init.class").is_file(),
        "AOT classes too"
    );
    let out = lein(&p, &m2, &["test"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("0 failures, 0 errors."), "{text}");
    // A second prep writes nothing.
    let b = kbuild(&p, &m2, &["prep"]);
    assert!(b.stderr.contains("(0 files written)"), "{}", b.stderr);
}

#[test]
fn a_deps_edn_project_with_an_alias() {
    let m2 = debian_m2();
    let p = Project::new("deps-alias");
    let b = kbuild(&p, &m2, &["-A:test", "classpath"]);
    assert!(b.ok(), "{}", b.stderr);
    let root = p.dir.path().display().to_string();
    let entries: Vec<&str> = b.stdout.trim().split(':').collect();
    assert_eq!(
        &entries[..3],
        &[
            format!("{root}/test"),
            format!("{root}/src"),
            format!("{root}/resources")
        ]
    );
    assert!(
        entries[3].ends_with("org/clojure/clojure/1.11.1/clojure-1.11.1.jar"),
        "{entries:?}"
    );
    let b = kbuild(&p, &m2, &["-A:dev", "classpath"]);
    assert!(
        b.stdout.contains(&format!("{root}/dev:")) && b.stdout.contains("nrepl-1.0.0.jar"),
        "{}",
        b.stdout
    );
    let b = kbuild(&p, &m2, &["-A:test", "test"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(b.stderr.contains("0 failures, 0 errors."), "{}", b.stderr);
    // Without -A, `kbuild test` applies the :test alias, as `lein test` the :test profile.
    let b = kbuild(&p, &m2, &["test"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(
        b.stderr.contains("Testing greet.core-test") && b.stderr.contains("0 failures, 0 errors."),
        "{}",
        b.stderr
    );
    // -A still chooses; a project with no test paths is told what to pass.
    let b = kbuild(&p, &m2, &["-A:dev", "test"]);
    assert!(
        !b.stderr.contains("Testing greet.core-test"),
        "{}",
        b.stderr
    );
    let b = kbuild(&p, &m2, &["-A:nope", "classpath"]);
    assert_eq!(b.code, Some(2));
    assert!(b.stderr.contains("nope"), "{}", b.stderr);

    // `-M:test run` is `clojure -M:test`: the alias's :main-opts, its exit code.
    let b = kbuild(&p, &m2, &["-M:test", "run"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(
        b.stdout.contains("Ran 2 tests containing 2 assertions."),
        "{}",
        b.stdout
    );
    p.edit("src/greet/core.clj", "\", \" name", "\"; \" name");
    let b = kbuild(&p, &m2, &["-M:test", "run"]);
    assert_eq!(b.code, Some(1), "{}", b.stdout);
    let b = kbuild(&p, &m2, &["run"]);
    assert_eq!(b.code, Some(2));
    assert!(b.stderr.contains("nothing to run"), "{}", b.stderr);

    p.write("deps.edn", "{:paths [\"src\" \"resources\"]}\n");
    let b = kbuild(&p, &m2, &["test"]);
    assert_eq!(b.code, Some(2), "{}", b.stderr);
    assert!(
        b.stderr.contains("no test paths") && b.stderr.contains("-A:test"),
        "{}",
        b.stderr
    );
}

/// `kbuild run` without `-m` runs a project.clj's `:main`, as `lein run` does.
#[test]
fn kbuild_run_runs_the_project_clj_main() {
    let m2 = debian_m2();
    let p = Project::new("lein-mixed");
    let out = lein(&p, &m2, &["run", "kbuild"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b = kbuild(&p, &m2, &["run", "kbuild"]);
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(b.stdout, String::from_utf8_lossy(&out.stdout));
    assert_eq!(b.stdout, "Hello, kbuild!\n");
}

#[test]
fn forms_kbuild_cannot_evaluate_are_errors_with_their_line() {
    let p = Project::new("lein-mixed");
    p.edit(
        "project.clj",
        ":javac-options [\"--release\" \"11\"]",
        ":javac-options [\"--release\" ~(str 11)]",
    );
    let out = p.run(&["classpath"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("project.clj:8:") && err.contains("cannot evaluate"),
        "{err}"
    );
}

#[test]
fn kbuild_jar_and_uberjar_make_what_lein_makes_where_lein_puts_it() {
    let m2 = debian_m2();
    let p = Project::new("lein-mixed");
    let b = kbuild(&p, &m2, &["uberjar"]);
    assert!(b.ok(), "{}", b.stderr);
    let uber = p.path("target/lein-mixed-0.1.0-SNAPSHOT-standalone.jar");
    assert_eq!(b.stdout.trim(), uber.display().to_string());
    let out = Command::new("java")
        .arg("-jar")
        .arg(&uber)
        .arg("kbuild")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hello, kbuild!\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let b = kbuild(&p, &m2, &["jar"]);
    assert!(b.ok(), "{}", b.stderr);
    let jar = p.path("target/lein-mixed-0.1.0-SNAPSHOT.jar");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&jar).unwrap()).unwrap();
    let mut read = |name: &str| {
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut zip
                .by_name(name)
                .unwrap_or_else(|_| panic!("{name} in the jar")),
            &mut text,
        )
        .unwrap();
        text
    };
    assert!(read("META-INF/MANIFEST.MF").contains("Main-Class: mixed.core\r\n"));
    let pom = read("META-INF/maven/kbuild.fixtures/lein-mixed/pom.xml");
    assert!(
        pom.contains("<groupId>kbuild.fixtures</groupId>")
            && pom.contains("<artifactId>clojure</artifactId>"),
        "{pom}"
    );
    assert_eq!(
        read("META-INF/maven/kbuild.fixtures/lein-mixed/pom.properties"),
        "groupId=kbuild.fixtures\nartifactId=lein-mixed\nversion=0.1.0-SNAPSHOT\n"
    );
    for name in [
        "mixed/Greeter.class",
        "mixed/core__init.class",
        "mixed/core.clj",
        "mixed/greeting.txt",
    ] {
        assert!(zip.by_name(name).is_ok(), "{name} in the jar");
    }
    assert!(
        zip.by_name("clojure/core__init.class").is_err(),
        "dependencies only in the uberjar"
    );
}

#[test]
fn deps_edn_resolves_with_the_clojure_cli_rule_and_project_clj_with_mavens() {
    // a -> b -> c 2.0 (newer, deeper) and d -> c 1.0 (nearer): Maven keeps 1.0, tools.deps 2.0.
    let repo = common::fixture("maven/nearest-wins/repo");
    let p = Project::new("deps-alias");
    p.write("deps.edn", "{:paths [\"src\"] :deps {kbt.nearest/a {:mvn/version \"1.0\"} kbt.nearest/d {:mvn/version \"1.0\"}}}\n");
    let b = kbuild(&p, &repo, &["classpath"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(
        b.stdout.contains("kbt/nearest/c/2.0/c-2.0.jar") && !b.stdout.contains("c-1.0.jar"),
        "{}",
        b.stdout
    );

    let p = Project::new("lein-mixed");
    p.write(
        "project.clj",
        "(defproject x/y \"1\" :dependencies [[kbt.nearest/a \"1.0\"] [kbt.nearest/d \"1.0\"]])\n",
    );
    let b = kbuild(&p, &repo, &["--profile", "-base", "classpath"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(
        b.stdout.contains("kbt/nearest/c/1.0/c-1.0.jar") && !b.stdout.contains("c-2.0.jar"),
        "{}",
        b.stdout
    );
}

#[test]
fn kbuild_repl_on_a_leiningen_project_starts_in_its_main_namespace() {
    let m2 = debian_m2();
    let p = Project::new("lein-mixed");
    let mut child = p
        .command(&["--offline", "--local-repo", m2.to_str().unwrap(), "repl"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"(greet \"repl\")\n").unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // nREPL from lein's base profile is on the classpath: the server starts, its port is written.
    assert!(stdout.contains("nREPL server started on port"), "{stdout}");
    assert!(stdout.contains("mixed.core=> \"Hello, repl!\""), "{stdout}");
}

#[test]
fn deps_edn_local_roots_are_libraries_on_the_classpath_with_their_own_deps() {
    let m2 = debian_m2();
    let p = Project::new("deps-alias");
    // A library beside the project, with its own deps.edn.
    let lib = format!("kbuild-local-lib-{}", std::process::id());
    p.write(
        &format!("../{lib}/deps.edn"),
        "{:paths [\"src\"] :deps {org.clojure/clojure {:mvn/version \"1.11.1\"}}}\n",
    );
    p.write(&format!("../{lib}/src/shout/core.clj"), "(ns shout.core (:require [clojure.string :as str]))\n(defn shout [s] (str/upper-case s))\n");
    p.write(
        "deps.edn",
        &format!(
            "{{:paths [\"src\" \"resources\"]\n :deps {{org.clojure/clojure {{:mvn/version \"1.11.1\"}} my/shout {{:local/root \"../{lib}\"}}}}\n :aliases {{:test {{:extra-paths [\"test\"]}}}}}}\n"
        ),
    );
    p.write(
        "test/greet/shout_test.clj",
        "(ns greet.shout-test (:require [clojure.test :refer [deftest is]] [shout.core :refer [shout]]))\n(deftest shouts (is (= \"HI\" (shout \"hi\"))))\n",
    );
    let lib_src = p.dir.path().join(format!("../{lib}/src"));
    let b = kbuild(&p, &m2, &["-A:test", "--json", "test"]);
    let _ = std::fs::remove_dir_all(p.dir.path().join(format!("../{lib}")));
    assert!(b.ok(), "{}", b.stderr);
    assert!(b.executed().contains("local-shout"), "{:?}", b.executed());
    assert!(
        b.stderr.contains("Testing greet.shout-test"),
        "{}",
        b.stderr
    );
    assert!(b.stderr.contains("0 failures, 0 errors."), "{}", b.stderr);
    assert!(!lib_src.exists());
}

/// A jar with a `vendor.greet` namespace and, like a deployed library, its pom.xml.
fn vendored_jar(path: &std::path::Path, greeting: &str) {
    use std::io::Write;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    z.start_file("vendor/greet.clj", opts).unwrap();
    write!(
        z,
        "(ns vendor.greet (:import (org.apache.commons.io FilenameUtils)))\n\
         (defn greet [f] (str \"{greeting}, \" (FilenameUtils/getBaseName f)))\n"
    )
    .unwrap();
    z.start_file("META-INF/maven/vendor/greet/pom.xml", opts)
        .unwrap();
    z.write_all(
        b"<project><modelVersion>4.0.0</modelVersion><groupId>vendor</groupId>\
          <artifactId>greet</artifactId><version>1.0</version><dependencies>\
          <dependency><groupId>commons-io</groupId><artifactId>commons-io</artifactId>\
          <version>2.11.0</version></dependency>\
          <dependency><groupId>junit</groupId><artifactId>junit</artifactId>\
          <version>4.13.2</version><scope>test</scope></dependency></dependencies></project>",
    )
    .unwrap();
    z.finish().unwrap();
}

/// A deps.edn `:local/root` that is a jar: on the classpath as it is, with the dependencies
/// of the pom.xml inside it, and an input like any source.
#[test]
fn deps_edn_local_root_jars_bring_their_pom_dependencies() {
    let m2 = debian_m2();
    let p = Project::new("deps-alias");
    vendored_jar(&p.path("vendor/greet.jar"), "Hello");
    p.write(
        "deps.edn",
        "{:paths [\"src\" \"resources\"]\n :deps {org.clojure/clojure {:mvn/version \"1.11.1\"}\n        vendor/greet {:local/root \"vendor/greet.jar\"}}\n :aliases {:test {:extra-paths [\"test\"]}}}\n",
    );
    p.write(
        "test/app/greet_test.clj",
        "(ns app.greet-test (:require [clojure.test :refer [deftest is]] [vendor.greet :refer [greet]]))\n\
         (deftest greets (is (= \"Hello, notes\" (greet \"/tmp/notes.txt\"))))\n",
    );
    let b = kbuild(&p, &m2, &["classpath"]);
    assert!(b.ok(), "{}", b.stderr);
    let cp: Vec<&str> = b.stdout.trim().split(':').collect();
    assert!(
        cp.contains(&p.path("vendor/greet.jar").to_str().unwrap()),
        "{cp:?}"
    );
    assert!(
        cp.iter().any(|e| e.ends_with("commons-io-2.11.0.jar")),
        "{cp:?}"
    );
    assert!(
        !cp.iter().any(|e| e.contains("junit")),
        "test scope stays out: {cp:?}"
    );

    let b = kbuild(&p, &m2, &["-A:test", "--json", "test"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(b.stderr.contains("0 failures, 0 errors."), "{}", b.stderr);
    // Unchanged: cached. A new jar: the tests run again (and now fail).
    let b = kbuild(&p, &m2, &["-A:test", "--json", "test"]);
    assert!(b.ok() && b.executed().is_empty(), "{:?}", b.executed());
    vendored_jar(&p.path("vendor/greet.jar"), "Bye");
    let b = kbuild(&p, &m2, &["-A:test", "--json", "test"]);
    assert!(!b.ok(), "{}", b.stderr);
    assert!(b.stderr.contains("1 failures, 0 errors."), "{}", b.stderr);

    std::fs::write(p.path("vendor/greet.jar"), "not a zip").unwrap();
    let b = kbuild(&p, &m2, &["classpath"]);
    assert_eq!(b.code, Some(2), "{}", b.stderr);
    assert!(
        b.stderr.contains("vendor/greet.jar is not a jar"),
        "{}",
        b.stderr
    );
}

#[test]
fn user_and_project_profiles_clj_are_merged_as_lein_merges_them() {
    let m2 = debian_m2();
    let p = Project::new("lein-mixed");
    // A user profile adds a resource path; a profiles.clj beside the project adds another.
    p.write(
        ".lein-home/profiles.clj",
        "{:user {:resource-paths [\"user-res\"]}}\n",
    );
    p.write("profiles.clj", "{:dev {:source-paths [\"dev-src\"]}}\n");
    let theirs = lein_classpath(&p, &m2, &[]);
    assert!(
        theirs.contains("user-res") && theirs.contains("dev-src"),
        "{theirs}"
    );
    let b = kbuild(&p, &m2, &["classpath"]);
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(b.stdout.trim(), theirs);
}

#[test]
fn a_kbuild_edn_beside_a_project_clj_builds_on_its_targets() {
    let m2 = debian_m2();
    let p = Project::new("lein-mixed");
    p.write(
        "kbuild.edn",
        r#"{:targets {banner {:rule :command :outs ["banner.txt"]
                             :cmd ["sh" "-c" "echo made by kbuild.edn > \"$OUT/banner.txt\""]}
                     app    {:rule :uberjar :deps [main banner] :main-class "mixed.core"}}}"#,
    );
    let b = kbuild(&p, &m2, &["--json", "build", "app"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(
        b.executed()
            .is_superset(&common::set(&["deps", "java", "main", "banner", "app"])),
        "{:?}",
        b.executed()
    );
    let jar = p.path("target/kbuild/app/app.jar");
    let out = Command::new("java")
        .arg("-jar")
        .arg(&jar)
        .arg("edn")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hello, edn!\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&jar).unwrap()).unwrap();
    assert!(zip.by_name("banner.txt").is_ok() && zip.by_name("clojure/core__init.class").is_ok());
    // The project.clj's own targets still work as before.
    let b = kbuild(&p, &m2, &["test"]);
    assert!(
        b.ok() && b.stderr.contains("0 failures, 0 errors."),
        "{}",
        b.stderr
    );
}

/// `:test-selectors` (the `:default` one, named ones, lein's `:all` and `:only`),
/// `:global-vars`, `:injections` and `:jvm-opts` reach the test JVM as under `lein test`.
#[test]
fn test_selectors_and_the_project_jvm_settings_work_as_under_lein_test() {
    let m2 = debian_m2();
    let p = Project::new("lein-mixed");
    p.edit(
        "project.clj",
        "  :main mixed.core",
        "  :test-selectors {:default (complement :slow)\n\
         \x20                  :slow :slow\n\
         \x20                  :extra-ns [#(= 'mixed.extra-test %) (constantly true)]}\n\
         \x20 :global-vars {*print-length* 3 *warn-on-reflection* true}\n\
         \x20 :injections [(System/setProperty \"kbuild.injected\" \"yes\")]\n\
         \x20 :jvm-opts [\"-Dkbuild.jvm-opt=on\"]\n\
         \x20 :main mixed.core",
    );
    p.write(
        "test/mixed/extra_test.clj",
        "(ns mixed.extra-test (:require [clojure.test :refer [deftest is]]))\n\
         (deftest ^:slow slow-one (is (= 1 1)) (is true))\n\
         (deftest setup\n\
         \x20 (is (= \"on\" (System/getProperty \"kbuild.jvm-opt\")))\n\
         \x20 (is (= \"yes\" (System/getProperty \"kbuild.injected\")))\n\
         \x20 (is (= \"(0 1 2 ...)\" (pr-str (range 10)))))\n",
    );
    // A reflective call in the AOT-compiled namespace: the compile sees :global-vars too.
    p.write(
        "src/mixed/core.clj",
        &(p.read("src/mixed/core.clj") + "\n(defn len [s] (.length s))\n"),
    );
    let mut seen = Vec::new();
    for args in [
        &[][..],
        &[":slow"],
        &[":all"],
        &[":only", "mixed.extra-test/setup"],
        &[":extra-ns"],
        &["mixed.core-test", ":all"],
    ] {
        let mut lein_args = vec!["test"];
        lein_args.extend_from_slice(args);
        let out = lein(&p, &m2, &lein_args);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "lein {lein_args:?}: {text}");
        let theirs = totals(&text).expect("lein's totals");

        let mut ours_args = vec!["test"];
        ours_args.extend_from_slice(args);
        let b = kbuild(&p, &m2, &ours_args);
        assert!(b.ok(), "kbuild {ours_args:?}: {}", b.stderr);
        assert_eq!(
            totals(&b.stderr).as_deref(),
            Some(theirs.as_str()),
            "kbuild {ours_args:?}:\n{}",
            b.stderr
        );
        if seen.is_empty() {
            assert!(
                b.stderr.contains("Reflection warning, mixed/core.clj"),
                "{}",
                b.stderr
            );
        }
        seen.push(theirs);
    }
    // The selections really differ (the default leaves out the slow test).
    assert_ne!(seen[0], seen[2]);
    assert_ne!(seen[1], seen[3]);

    let b = kbuild(&p, &m2, &["test", ":fast"]);
    assert!(!b.ok());
    assert!(
        b.stderr.contains("unknown test selector :fast"),
        "{}",
        b.stderr
    );
}

/// deps.edn git dependencies: fetched from a real git repository (file://), by full SHA or by
/// tag and SHA prefix, with `:deps/root`, their own deps.edn dependencies, and offline use of
/// what was fetched.
#[test]
fn deps_edn_git_dependencies() {
    let m2 = debian_m2();
    let upstream = tempfile::tempdir().unwrap();
    let repo = upstream.path();
    git(repo, &["init", "--quiet"]);
    let write = |rel: &str, text: &str| {
        let p = repo.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "deps.edn",
        "{:paths [\"src\"] :deps {commons-io/commons-io {:mvn/version \"2.11.0\"}}}\n",
    );
    write(
        "src/shout/core.clj",
        "(ns shout.core (:import (org.apache.commons.io FilenameUtils)))\n\
         (defn shout [f] (str (FilenameUtils/getBaseName f) \"!\"))\n",
    );
    write("extra/deps.edn", "{:paths [\"src\"]}\n");
    write(
        "extra/src/shout/extra.clj",
        "(ns shout.extra)\n(def volume 11)\n",
    );
    git(repo, &["add", "."]);
    git(repo, &["commit", "--quiet", "-m", "one"]);
    let one = git(repo, &["rev-parse", "HEAD"]);
    write(
        "src/shout/core.clj",
        "(ns shout.core (:import (org.apache.commons.io FilenameUtils)))\n\
         (defn shout [f] (str (FilenameUtils/getBaseName f) \"!!\"))\n",
    );
    git(repo, &["commit", "--quiet", "-am", "two"]);
    git(repo, &["tag", "v2"]);
    let two = git(repo, &["rev-parse", "HEAD"]);
    let url = format!("file://{}", repo.display());

    let gitlibs = tempfile::tempdir().unwrap();
    let p = Project::new("deps-alias");
    let project = |coord: &str, expected: &str| {
        p.write(
            "deps.edn",
            &format!(
                "{{:paths [\"src\" \"resources\"]\n :deps {{org.clojure/clojure {{:mvn/version \"1.11.1\"}}\n        my/shout {coord}\n        my/extra {{:git/url \"{url}\" :git/sha \"{one}\" :deps/root \"extra\"}}}}\n :aliases {{:test {{:extra-paths [\"test\"]}}}}}}\n"
            ),
        );
        p.write(
            "test/app/shout_test.clj",
            &format!(
                "(ns app.shout-test (:require [clojure.test :refer [deftest is]] [shout.core :refer [shout]] [shout.extra :refer [volume]]))\n\
                 (deftest shouts (is (= \"{expected}\" (shout \"/a/notes.txt\"))) (is (= 11 volume)))\n"
            ),
        );
    };
    let run = |args: &[&str]| {
        let mut all = vec!["--local-repo", m2.to_str().unwrap()];
        all.extend_from_slice(args);
        common::Build::from(
            p.command(&all)
                .env("GITLIBS", gitlibs.path())
                .output()
                .unwrap(),
        )
    };

    project(
        &format!("{{:git/url \"{url}\" :git/sha \"{one}\"}}"),
        "notes!",
    );
    let b = run(&["--offline", "-A:test", "test"]);
    assert_eq!(b.code, Some(4), "nothing fetched yet: {}", b.stderr);
    assert!(b.stderr.contains("has never been fetched"), "{}", b.stderr);
    let b = run(&["-A:test", "test"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(b.stderr.contains("0 failures, 0 errors."), "{}", b.stderr);
    let b = run(&["classpath"]);
    let cp = b.stdout.trim().to_string();
    let root = p.dir.path().display().to_string();
    assert!(
        cp.contains(&format!("{root}/.kbuild/gitlibs/my/shout/{one}/src")),
        "{cp}"
    );
    assert!(
        cp.contains(&format!("{root}/.kbuild/gitlibs/my/extra/{one}/extra/src")),
        "{cp}"
    );
    assert!(
        cp.contains("commons-io-2.11.0.jar"),
        "the library's own deps: {cp}"
    );

    // By tag and SHA prefix, offline only once fetched.
    project(
        &format!(
            "{{:git/url \"{url}\" :git/tag \"v2\" :git/sha \"{}\"}}",
            &two[..7]
        ),
        "notes!!",
    );
    let b = run(&["-A:test", "--json", "test"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(b.executed().contains("test"), "{:?}", b.executed());
    // What was fetched is used without the cache or the network.
    std::fs::remove_dir_all(gitlibs.path()).unwrap();
    let b = run(&["--offline", "-A:test", "--json", "test"]);
    assert!(
        b.ok() && b.executed().is_empty(),
        "{} {:?}",
        b.stderr,
        b.executed()
    );

    // A tag that is not the given commit, and a commit that does not exist.
    project(
        &format!(
            "{{:git/url \"{url}\" :git/tag \"v2\" :git/sha \"{}\"}}",
            &one[..7]
        ),
        "",
    );
    let b = run(&["classpath"]);
    assert_eq!(b.code, Some(4), "{}", b.stderr);
    assert!(
        b.stderr
            .contains(&format!("tag v2 of {url} is commit {two}")),
        "{}",
        b.stderr
    );
    project(
        &format!("{{:git/url \"{url}\" :git/sha \"{}\"}}", "0".repeat(40)),
        "",
    );
    let b = run(&["classpath"]);
    assert_eq!(b.code, Some(4), "{}", b.stderr);
    assert!(
        b.stderr.contains(&format!("is not in {url}")),
        "{}",
        b.stderr
    );
}

/// `lein ARGS` online (its repositories are `file:` ones here), with its local repository
/// at `m2` and the project's own LEIN_HOME.
fn lein_online(p: &Project, m2: &std::path::Path, args: &[&str]) -> std::process::Output {
    let m2 = format!("\"{}\"", m2.display());
    Command::new("lein")
        .args(["update-in", ":", "assoc", ":local-repo", &m2, "--"])
        .args(args)
        .current_dir(p.dir.path())
        .env("LEIN_HOME", p.path(".lein-home"))
        .output()
        .expect("lein is installed")
}

/// The marker of a jar that `support::publish` wrote: which repository served it.
fn marker(jar: &std::path::Path) -> String {
    let mut z = zip::ZipArchive::new(std::fs::File::open(jar).unwrap()).unwrap();
    std::io::read_to_string(z.by_name("marker.txt").unwrap()).unwrap()
}

/// `:releases false` on a repository listed first that holds a different `a-1.0` (with a
/// dependency of its own): lein never takes a release from it, and neither does kbuild; its
/// snapshot is still used. Both classpaths and the jars they downloaded are compared.
#[test]
fn a_repository_with_releases_false_is_not_asked_for_releases_as_in_lein() {
    releases_setting_as_in_lein(":releases false", "releases repository");
}

/// A map there is a policy (`:update`, `:checksum`) with releases left on: pomegranate takes
/// `{:enabled false}` as on too, so the first repository's `a-1.0` and its dependency win.
#[test]
fn a_releases_map_leaves_releases_on_as_in_lein() {
    releases_setting_as_in_lein(":releases {:enabled false}", "snapshots repository");
}

fn releases_setting_as_in_lein(setting: &str, a_from: &str) {
    let (snap, rel) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let evil = "<dependencies><dependency><groupId>kbt.policy</groupId><artifactId>evil</artifactId><version>1.0</version></dependency></dependencies>";
    support::publish(
        snap.path(),
        "kbt.policy:a:1.0",
        evil,
        "snapshots repository",
    );
    support::publish(snap.path(), "kbt.policy:evil:1.0", "", "evil");
    support::publish(snap.path(), "kbt.policy:s:1.0-SNAPSHOT", "", "snapshot");
    support::publish(rel.path(), "kbt.policy:a:1.0", "", "releases repository");
    let p = Project::new("lein-mixed");
    p.write(
        "project.clj",
        &format!(
            "(defproject kbt/policy \"1\"\n  \
               :dependencies [[kbt.policy/a \"1.0\"] [kbt.policy/s \"1.0-SNAPSHOT\"]]\n  \
               :repositories ^:replace [[\"snap\" {{:url \"file://{}\" {}}}]\n                           \
                                        [\"rel\" \"file://{}\"]])\n",
            snap.path().display(),
            setting,
            rel.path().display()
        ),
    );
    let profiles = "-base,-dev,-user";
    let work = tempfile::tempdir().unwrap();
    let (lein_m2, our_m2) = (work.path().join("lein-m2"), work.path().join("kbuild-m2"));
    let out = lein_online(&p, &lein_m2, &["with-profile", profiles, "classpath"]);
    assert!(
        out.status.success(),
        "lein classpath: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nothing is compiled, so kbuild's classpath has no entry for lein's target/classes.
    let theirs = String::from_utf8_lossy(&out.stdout)
        .trim()
        .replace(&format!("{}/target/classes:", p.dir.path().display()), "")
        .replace(
            &lein_m2.display().to_string(),
            &our_m2.display().to_string(),
        );
    assert_eq!(
        theirs.contains("evil"),
        a_from != "releases repository",
        "{theirs}"
    );
    let b = Build::from(
        p.command(&[
            "--local-repo",
            our_m2.to_str().unwrap(),
            "--profile",
            profiles,
            "classpath",
        ])
        .env("LEIN_HOME", p.path(".lein-home"))
        .output()
        .unwrap(),
    );
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(b.stdout.trim(), theirs);
    for m2 in [&lein_m2, &our_m2] {
        assert_eq!(marker(&m2.join("kbt/policy/a/1.0/a-1.0.jar")), a_from);
        assert_eq!(
            marker(&m2.join("kbt/policy/s/1.0-SNAPSHOT/s-1.0-SNAPSHOT.jar")),
            "snapshot"
        );
    }
}

/// `:mirrors` keyed by a regex: it must match the whole repository id (pomegranate's
/// `re-matches`), and then the mirror replaces the repository. Compared with lein for a
/// key that matches and one that only matches part of the id.
#[test]
fn mirrors_replace_the_repositories_whose_whole_id_they_match_as_in_lein() {
    let mirror = tempfile::tempdir().unwrap();
    support::publish(mirror.path(), "kbt.mirror:a:1.0", "", "mirror");
    for (key, mirrored) in [("#\"sn.p\"", true), ("\"snap\"", true), ("#\"na\"", false)] {
        let p = Project::new("lein-mixed");
        p.write(
            "project.clj",
            &format!(
                "(defproject kbt/mirror \"1\"\n  :dependencies [[kbt.mirror/a \"1.0\"]]\n  \
                 :repositories ^:replace [[\"snap\" \"file:///nonexistent/kbuild-test-repo\"]]\n  \
                 :mirrors {{{key} {{:name \"inside\" :url \"file://{}\"}}}})\n",
                mirror.path().display()
            ),
        );
        let profiles = "-base,-dev,-user";
        let work = tempfile::tempdir().unwrap();
        let (lein_m2, our_m2) = (work.path().join("lein-m2"), work.path().join("kbuild-m2"));
        let out = lein_online(&p, &lein_m2, &["with-profile", profiles, "classpath"]);
        assert_eq!(
            out.status.success(),
            mirrored,
            "{key}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let b = Build::from(
            p.command(&[
                "--local-repo",
                our_m2.to_str().unwrap(),
                "--profile",
                profiles,
                "classpath",
            ])
            .env("LEIN_HOME", p.path(".lein-home"))
            .output()
            .unwrap(),
        );
        assert_eq!(b.ok(), mirrored, "{key}: {}", b.stderr);
        if mirrored {
            let theirs = String::from_utf8_lossy(&out.stdout)
                .trim()
                .replace(&format!("{}/target/classes:", p.dir.path().display()), "")
                .replace(
                    &lein_m2.display().to_string(),
                    &our_m2.display().to_string(),
                );
            assert_eq!(b.stdout.trim(), theirs, "{key}");
        } else {
            assert!(b.stderr.contains("kbt.mirror:a"), "{}", b.stderr);
        }
    }
}

/// A `.sha1` that does not match: with `:checksum :fail` (Leiningen's default) lein and
/// kbuild both refuse the jar; with `:checksum :warn` both take it, with the same classpath.
#[test]
fn checksum_policy_fail_and_warn_as_in_lein() {
    let repo = tempfile::tempdir().unwrap();
    let jar = support::publish(repo.path(), "kbt.sum:a:1.0", "", "a");
    std::fs::write(jar.with_extension("jar.sha1"), "0".repeat(40)).unwrap();
    for (setting, ok) in [("", false), (":checksum :warn", true)] {
        let p = Project::new("lein-mixed");
        p.write(
            "project.clj",
            &format!(
                "(defproject kbt/sums \"1\"\n  :dependencies [[kbt.sum/a \"1.0\"]]\n  \
                 :repositories ^:replace [[\"sums\" {{:url \"file://{}\" {setting}}}]])\n",
                repo.path().display()
            ),
        );
        let profiles = "-base,-dev,-user";
        let work = tempfile::tempdir().unwrap();
        let (lein_m2, our_m2) = (work.path().join("lein-m2"), work.path().join("kbuild-m2"));
        let out = lein_online(&p, &lein_m2, &["with-profile", profiles, "classpath"]);
        assert_eq!(
            out.status.success(),
            ok,
            "{setting:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let b = Build::from(
            p.command(&[
                "--local-repo",
                our_m2.to_str().unwrap(),
                "--profile",
                profiles,
                "classpath",
            ])
            .env("LEIN_HOME", p.path(".lein-home"))
            .output()
            .unwrap(),
        );
        assert_eq!(b.ok(), ok, "{setting:?}: {}", b.stderr);
        if ok {
            let theirs = String::from_utf8_lossy(&out.stdout)
                .trim()
                .replace(&format!("{}/target/classes:", p.dir.path().display()), "")
                .replace(
                    &lein_m2.display().to_string(),
                    &our_m2.display().to_string(),
                );
            assert_eq!(b.stdout.trim(), theirs);
            assert!(b.stderr.contains("checksum mismatch"), "{}", b.stderr);
        } else {
            assert!(b.stderr.contains("checksum mismatch"), "{}", b.stderr);
        }
    }
}
