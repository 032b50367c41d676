//! Clojure targets end to end: Debian's real Clojure jars served over HTTP on 127.0.0.1,
//! resolved by the real kbuild binary, a Java class compiled by real javac, and clojure.test
//! run by real java.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use common::{set, Build, Project, Server};

/// Debian's org/clojure artifacts, dereferenced (its jars are relative symlinks).
fn clojure_repo() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("kbuild-clojure-repo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("org")).unwrap();
        let ok = Command::new("cp")
            .arg("-rL")
            .arg("/usr/share/maven-repo/org/clojure")
            .arg(dir.join("org"))
            .status()
            .unwrap();
        assert!(
            ok.success(),
            "Debian's libclojure-java is installed (.ci/run installs leiningen, which needs it)"
        );
        dir
    })
}

struct Setup {
    p: Project,
    server: Server,
    local: tempfile::TempDir,
}

fn setup() -> Setup {
    let p = Project::new("clj-app");
    let server = Server::serve(clojure_repo());
    p.edit("kbuild.edn", "REPO_URL", &server.url);
    Setup {
        p,
        server,
        local: tempfile::tempdir().unwrap(),
    }
}

impl Setup {
    fn run(&self, args: &[&str]) -> Build {
        let mut all = vec!["--local-repo", self.local.path().to_str().unwrap()];
        all.extend_from_slice(args);
        Build::from(self.p.run(&all))
    }
}

const TOTALS: &str = "Ran 3 tests containing 4 assertions.\n0 failures, 0 errors.";

#[test]
fn kbuild_test_runs_clojure_tests_once_and_then_reports_the_cached_outcome() {
    let s = setup();
    let b = s.run(&["test"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(
        b.stderr.contains("Testing app.core-test") && b.stderr.contains("Testing app.more-test"),
        "{}",
        b.stderr
    );
    assert!(b.stderr.contains(TOTALS), "{}", b.stderr);

    let b = s.run(&["--json", "test"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(
        b.executed().is_empty(),
        "nothing changed, no JVM: ran {:?}",
        b.executed()
    );
    assert!(
        b.stderr.contains("nothing the tests depend on changed") && b.stderr.contains(TOTALS),
        "{}",
        b.stderr
    );

    // A comment and whitespace edit under the :clojure hasher changes nothing.
    s.p.edit(
        "src/clj/app/core.clj",
        "  [a b]\n",
        "  ;; why: Java does the arithmetic\n  [a   b]\n",
    );
    assert!(s.run(&["--json", "test"]).executed().is_empty());

    // A real change runs the tests again.
    s.p.edit("src/clj/app/core.clj", "(Adder/add a b)", "(Adder/add b a)");
    let b = s.run(&["--json", "test"]);
    assert_eq!(b.executed(), set(&["app", "unit"]));
    // So does a change to the Java class the tests use through the library (the library
    // itself is looked at again, a cheap step without a JVM, and cuts off).
    s.p.edit("src/java/fast/Adder.java", "return a + b;", "return b + a;");
    assert_eq!(
        s.run(&["--json", "test"]).executed(),
        set(&["native", "app", "unit"])
    );
    // And --force runs them whatever the cache says.
    assert_eq!(
        s.run(&["--json", "test", "--force"]).executed(),
        set(&["unit"])
    );
}

#[test]
fn failing_tests_fail_with_file_and_line_and_are_never_cached() {
    let s = setup();
    s.p.write(
        "test/app/broken_test.clj",
        "(ns app.broken-test\n  (:require [clojure.test :refer [deftest is]]))\n\n(deftest wrong\n  (is (= 5 (+ 2 2))))\n",
    );
    for _ in 0..2 {
        let b = s.run(&["--json", "test"]);
        assert_eq!(b.code, Some(1), "{}", b.stderr);
        assert!(
            b.stderr.contains("FAIL in (wrong) (broken_test.clj:5)"),
            "{}",
            b.stderr
        );
        assert!(
            b.stderr
                .contains("Ran 4 tests containing 5 assertions.\n1 failures, 0 errors."),
            "{}",
            b.stderr
        );
        assert!(b.failed().contains("unit"));
    }
    // Selecting only passing namespaces passes.
    let b = s.run(&["test", "app.core-test", "app\\.more.*"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(
        b.stderr.contains("Ran 3 tests containing 4 assertions."),
        "{}",
        b.stderr
    );
    let b = s.run(&["test", "nothing.here"]);
    assert_eq!(b.code, Some(1));
    assert!(
        b.stderr
            .contains("no test namespace matches \"nothing.here\""),
        "{}",
        b.stderr
    );
}

#[test]
fn aot_compiles_namespaces_and_classpath_lists_test_source_resource_and_compiled_paths_first() {
    let s = setup();
    s.p.edit(
        "kbuild.edn",
        ":deps [native clojure]}",
        ":deps [native clojure] :aot [app.core]}",
    );
    let b = s.run(&["test"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(s.p.path("target/kbuild/app/app/core__init.class").is_file());
    assert!(s.p.path("target/kbuild/app/app/core$add.class").is_file());

    let b = s.run(&["classpath", "unit"]);
    assert!(b.ok(), "{}", b.stderr);
    let root = s.p.dir.path();
    let entries: Vec<&str> = b.stdout.trim().split(':').collect();
    let local = s.local.path();
    let want = [
        root.join("test"),
        root.join("src/clj"),
        root.join("resources"),
        root.join("target/kbuild/app"),
        root.join("target/kbuild/native"),
        local.join("org/clojure/clojure/1.11.1/clojure-1.11.1.jar"),
    ];
    let want: Vec<String> = want
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        &entries[..want.len()],
        want.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
    );
    assert!(
        entries[want.len()..]
            .iter()
            .all(|e| e.contains("org/clojure/") && e.ends_with(".jar")),
        "{entries:?}"
    );
    let _ = &s.server;
}
