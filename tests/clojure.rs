//! Clojure targets end to end: Debian's real Clojure jars served over HTTP on 127.0.0.1,
//! resolved by the real kbuild binary, a Java class compiled by real javac, and clojure.test
//! run by real java.

mod common;

use std::path::Path;
use std::process::Command;

use common::{clojure_repo, set, Build, Project, Server};

struct Setup {
    p: Project,
    server: Server,
    local: tempfile::TempDir,
    _repo: tempfile::TempDir,
}

fn setup() -> Setup {
    let p = Project::new("clj-app");
    let repo = tempfile::tempdir().unwrap();
    clojure_repo(repo.path());
    let server = Server::serve(repo.path());
    p.edit("kbuild.edn", "REPO_URL", &server.url);
    Setup {
        p,
        server,
        local: tempfile::tempdir().unwrap(),
        _repo: repo,
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
    // The failing namespace runs again every time; the passing ones come from the cache the
    // second time.
    for totals in [
        "Ran 4 tests containing 5 assertions.\n1 failures, 0 errors.",
        "Ran 4 tests containing 5 assertions (3 from cache).\n1 failures, 0 errors.",
    ] {
        let b = s.run(&["--json", "test"]);
        assert_eq!(b.code, Some(1), "{}", b.stderr);
        assert!(
            b.stderr.contains("FAIL in (wrong) (broken_test.clj:5)"),
            "{}",
            b.stderr
        );
        assert!(b.stderr.contains(totals), "{}", b.stderr);
        assert!(b.failed().contains("unit"));
        assert!(
            b.stderr.contains("kbuild test :only app.broken-test/wrong"),
            "{}",
            b.stderr
        );
    }
    // Which reruns just that test.
    let b = s.run(&["test", ":only", "app.broken-test/wrong"]);
    assert_eq!(b.code, Some(1));
    assert!(
        b.stderr
            .contains("Ran 1 tests containing 1 assertions.\n1 failures, 0 errors."),
        "{}",
        b.stderr
    );
    // Selecting only passing namespaces passes.
    let b = s.run(&["test", "app.core-test", "app\\.more.*"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(
        b.stderr.contains("Ran 3 tests containing 4 assertions"),
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

/// The namespaces a `kbuild test` ran in a JVM and those it reported from the cache.
fn ran_and_cached(
    stderr: &str,
) -> (
    std::collections::BTreeSet<String>,
    std::collections::BTreeSet<String>,
) {
    let (mut ran, mut cached) = (
        std::collections::BTreeSet::new(),
        std::collections::BTreeSet::new(),
    );
    for line in stderr.lines() {
        if let Some(ns) = line.strip_prefix("Testing ") {
            match ns.strip_suffix(" (cached)") {
                Some(ns) => cached.insert(ns.to_string()),
                None => ran.insert(ns.to_string()),
            };
        }
    }
    (ran, cached)
}

/// Two more source namespaces, a leaf and one that requires it, with a test each; and a jar
/// of resources on the library's paths.
fn add_leaf_and_mid(s: &Setup) {
    s.p.write(
        "src/clj/app/leaf.clj",
        "(ns app.leaf)\n\n(defn twice [x] (* 2 x))\n",
    );
    s.p.write(
        "src/clj/app/mid.clj",
        "(ns app.mid\n  (:require [app.leaf :as leaf]))\n\n(defn quad [x] (leaf/twice (leaf/twice x)))\n",
    );
    s.p.write(
        "test/app/leaf_test.clj",
        "(ns app.leaf-test\n  (:require [clojure.test :refer [deftest is]] [app.leaf :as leaf]))\n\n(deftest twice (is (= 4 (leaf/twice 2))))\n",
    );
    s.p.write(
        "test/app/mid_test.clj",
        "(ns app.mid-test\n  (:require [clojure.test :refer [deftest is]] [app.mid :as mid]))\n\n(deftest quad (is (= 8 (mid/quad 2))))\n",
    );
    write_jar(&s.p.path("lib/extra.jar"), "extra.txt", b"one");
    s.p.edit(
        "kbuild.edn",
        ":paths [\"src/clj\" \"resources\"]",
        ":paths [\"src/clj\" \"resources\" \"lib/extra.jar\"]",
    );
}

fn write_jar(path: &Path, entry: &str, bytes: &[u8]) {
    use std::io::Write;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    zip.start_file(entry, zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(bytes).unwrap();
    zip.finish().unwrap();
}

fn names(list: &[&str]) -> std::collections::BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn an_edit_reruns_exactly_the_test_namespaces_that_can_see_it() {
    let s = setup();
    add_leaf_and_mid(&s);
    let all = [
        "app.core-test",
        "app.leaf-test",
        "app.mid-test",
        "app.more-test",
    ];
    let b = s.run(&["test"]);
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(ran_and_cached(&b.stderr), (names(&all), names(&[])));
    assert!(
        b.stderr
            .contains("Ran 5 tests containing 6 assertions.\n0 failures, 0 errors."),
        "{}",
        b.stderr
    );

    // The leaf: its own test and the one that requires it through app.mid.
    s.p.edit("src/clj/app/leaf.clj", "(* 2 x)", "(+ x x)");
    let b = s.run(&["test"]);
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(
        ran_and_cached(&b.stderr),
        (
            names(&["app.leaf-test", "app.mid-test"]),
            names(&["app.core-test", "app.more-test"])
        )
    );
    assert!(
        b.stderr
            .contains("Ran 5 tests containing 6 assertions (3 from cache).\n0 failures, 0 errors."),
        "{}",
        b.stderr
    );

    // The middle one: its test only.
    s.p.edit(
        "src/clj/app/mid.clj",
        "(leaf/twice (leaf/twice x))",
        "(* 2 (leaf/twice x))",
    );
    let b = s.run(&["test"]);
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(ran_and_cached(&b.stderr).0, names(&["app.mid-test"]));
    assert!(b.stderr.contains("(4 from cache)"), "{}", b.stderr);

    // A new resource, a changed jar, a Java edit, a JVM option: every namespace may see those.
    s.p.write("resources/other.txt", "x");
    let b = s.run(&["test"]);
    assert_eq!(
        ran_and_cached(&b.stderr),
        (names(&all), names(&[])),
        "{}",
        b.stderr
    );
    assert!(!b.stderr.contains("from cache"), "{}", b.stderr);
    write_jar(&s.p.path("lib/extra.jar"), "extra.txt", b"two");
    let b = s.run(&["test"]);
    assert_eq!(
        ran_and_cached(&b.stderr),
        (names(&all), names(&[])),
        "{}",
        b.stderr
    );
    s.p.edit("src/java/fast/Adder.java", "return a + b;", "return b + a;");
    let b = s.run(&["test"]);
    assert_eq!(
        ran_and_cached(&b.stderr),
        (names(&all), names(&[])),
        "{}",
        b.stderr
    );

    // A namespace that requires outside its ns form sees every source.
    s.p.write(
        "test/app/dynamic_test.clj",
        "(ns app.dynamic-test\n  (:require [clojure.test :refer [deftest is]]))\n\n(require 'app.leaf)\n\n(deftest dyn (is (= 2 ((resolve 'app.leaf/twice) 1))))\n",
    );
    assert!(s.run(&["test"]).ok());
    s.p.edit(
        "src/clj/app/mid.clj",
        "(* 2 (leaf/twice x))",
        "(leaf/twice (* 2 x))",
    );
    let b = s.run(&["test"]);
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(
        ran_and_cached(&b.stderr).0,
        names(&["app.dynamic-test", "app.mid-test"])
    );

    // --force runs them all; so does a comment edit not (under the :clojure hasher).
    let b = s.run(&["test", "--force"]);
    assert_eq!(ran_and_cached(&b.stderr).1, names(&[]), "{}", b.stderr);
    s.p.edit(
        "src/clj/app/leaf.clj",
        "(defn twice",
        ";; doubles\n(defn twice",
    );
    let b = s.run(&["--json", "test"]);
    assert!(b.executed().is_empty(), "{:?}", b.executed());
}

#[test]
fn junit_xml_reports_validate_against_surefire_schema_and_count_what_was_printed() {
    let s = setup();
    add_leaf_and_mid(&s);
    s.p.write(
        "test/app/broken_test.clj",
        "(ns app.broken-test\n  (:require [clojure.test :refer [deftest is]]))\n\n(deftest wrong\n  (is (= 5 (+ 2 2)) \"arithmetic <&> \\\"quoted\\\"\"))\n\n(deftest throws\n  (is (= 1 (throw (IllegalStateException. \"boom\")))))\n",
    );
    let reports = tempfile::tempdir().unwrap();
    let dir = reports.path().to_str().unwrap();
    // Each file is valid and the suites' counts are the printed totals.
    let check = |b: &Build, want_files: usize| {
        let (files, tests, failures, errors) = common::junit_reports(reports.path());
        assert_eq!(files, want_files);
        let totals = format!("Ran {tests} tests containing");
        assert!(b.stderr.contains(&totals), "{totals}\n{}", b.stderr);
        let problems = format!("{failures} failures, {errors} errors.");
        assert!(b.stderr.contains(&problems), "{problems}\n{}", b.stderr);
    };
    let b = s.run(&["test", "--junit-xml", dir]);
    assert_eq!(b.code, Some(1), "{}", b.stderr);
    assert!(b.stderr.contains("1 failures, 1 errors."), "{}", b.stderr);
    check(&b, 5);
    let broken = std::fs::read_to_string(reports.path().join("TEST-app.broken-test.xml")).unwrap();
    assert!(
        broken.contains("type=\"java.lang.IllegalStateException\"")
            && broken.contains("message=\"boom\"")
            && broken.contains("at app.broken_test"),
        "{broken}"
    );

    // Cached outcomes are reported too, and so is a run with nothing to do.
    std::fs::remove_file(s.p.path("test/app/broken_test.clj")).unwrap();
    std::fs::remove_dir_all(reports.path()).unwrap();
    let b = s.run(&["test", "--junit-xml", dir]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(b.stderr.contains("(5 from cache)"), "{}", b.stderr);
    check(&b, 4);
    std::fs::remove_dir_all(reports.path()).unwrap();
    let b = s.run(&["test", "--junit-xml", dir]);
    assert!(b.ok(), "{}", b.stderr);
    check(&b, 4);
}

#[test]
fn two_jvms_give_the_totals_of_one() {
    let s = setup();
    add_leaf_and_mid(&s);
    let one = s.run(&["test", "--force"]);
    assert!(one.ok(), "{}", one.stderr);
    let two = s.run(&["test", "--force", "--jvms", "2"]);
    assert!(two.ok(), "{}", two.stderr);
    let totals = "Ran 5 tests containing 6 assertions.\n0 failures, 0 errors.";
    assert!(one.stderr.contains(totals), "{}", one.stderr);
    assert!(two.stderr.contains(totals), "{}", two.stderr);
    // Grouped per namespace, in name order, as one JVM prints them.
    let order = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("Testing "))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(order(&one.stderr), order(&two.stderr));
    assert_eq!(order(&two.stderr).len(), 4);
}

/// Waits up to a minute for `cond`.
fn eventually(what: &str, cond: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !cond() {
        assert!(started.elapsed().as_secs() < 60, "{what} after a minute");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

fn spares(s: &Setup) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(s.p.path(".kbuild/warm"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sock"))
        .collect()
}

#[test]
fn a_spare_jvm_is_taken_once_replaced_and_expires() {
    let s = setup();
    let run = |args: &[&str], idle: &str| {
        let mut all = vec!["--local-repo", s.local.path().to_str().unwrap()];
        all.extend_from_slice(args);
        Build::from(
            s.p.command(&all)
                .env("KBUILD_WARM_IDLE", idle)
                .output()
                .unwrap(),
        )
    };
    let b = run(&["test"], "600");
    assert!(b.ok(), "{}", b.stderr);
    assert!(!b.stderr.contains("a warm JVM"), "{}", b.stderr);
    eventually("a spare JVM waiting", || spares(&s).len() == 1);
    let first = spares(&s)[0].clone();
    // Only its owner may reach it.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(s.p.path(".kbuild/warm"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "{mode:o}");

    // The next run takes it (its results are the same), and leaves a new one.
    s.p.edit("src/clj/app/core.clj", "(Adder/add a b)", "(Adder/add b a)");
    let b = run(&["test"], "600");
    assert!(b.ok(), "{}", b.stderr);
    assert!(
        b.stderr
            .contains("(a warm JVM ran app.core-test app.more-test)"),
        "{}",
        b.stderr
    );
    assert!(b.stderr.contains(TOTALS), "{}", b.stderr);
    eventually("a new spare", || spares(&s).len() == 1);
    assert_eq!(spares(&s)[0], first, "same key, same socket, a new JVM");

    // A failing test in a warm JVM fails as in a cold one.
    s.p.edit(
        "src/clj/app/core.clj",
        "(Adder/add b a)",
        "(inc (Adder/add b a))",
    );
    let b = run(&["test"], "600");
    assert_eq!(b.code, Some(1), "{}", b.stderr);
    assert!(b.stderr.contains("a warm JVM"), "{}", b.stderr);
    assert!(
        b.stderr.contains("FAIL in (adds-with-java)"),
        "{}",
        b.stderr
    );

    // --no-warm neither takes nor leaves one.
    eventually("a new spare", || spares(&s).len() == 1);
    s.p.edit(
        "src/clj/app/core.clj",
        "(inc (Adder/add b a))",
        "(Adder/add a b)",
    );
    let b = run(&["test", "--no-warm"], "600");
    assert!(b.ok() && !b.stderr.contains("a warm JVM"), "{}", b.stderr);

    // A user.clj, which Clojure loads as it starts, keeps spares away.
    s.p.write("test/user.clj", "(ns user (:require [app.core]))\n");
    let b = run(&["test"], "600");
    assert!(b.ok() && !b.stderr.contains("a warm JVM"), "{}", b.stderr);
    std::thread::sleep(std::time::Duration::from_secs(5));
    assert_eq!(spares(&s).len(), 1, "only the one from before");
    std::fs::remove_file(s.p.path("test/user.clj")).unwrap();

    // kbuild clean ends the spares; one started with a short idle time ends by itself.
    assert!(s.p.run(&["clean"]).status.success());
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert!(spares(&s).is_empty());
    let b = run(&["test", "--force"], "2");
    assert!(b.ok(), "{}", b.stderr);
    eventually("a spare JVM waiting", || spares(&s).len() == 1);
    eventually("the idle spare gone", || spares(&s).is_empty());
    let b = run(&["test", "--force"], "600");
    assert!(!b.stderr.contains("a warm JVM"), "{}", b.stderr);
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

#[test]
fn kbuild_repl_through_a_pipe_evaluates_forms_that_use_compiled_java() {
    let s = setup();
    let mut child =
        s.p.command(&["--local-repo", s.local.path().to_str().unwrap(), "repl"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"(fast.Adder/add 40 2)\n(require 'app.core)\n(app.core/greeting)\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("nREPL server started on port "),
        "{stdout}\n{stderr}"
    );
    assert!(stdout.contains("user=> 42\n"), "{stdout}");
    assert!(stdout.contains("\"hello from a resource\""), "{stdout}");
    assert!(
        !s.p.path(".nrepl-port").exists(),
        "the port file goes with the server"
    );
}

/// One nREPL `eval` over a real socket, in bencode; returns the raw response bytes up to "done".
fn nrepl_eval(port: u16, code: &str) -> String {
    use std::io::{Read, Write};
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let msg = format!("d2:op4:eval4:code{}:{}2:id1:1e", code.len(), code);
    sock.write_all(msg.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("4:done") {
        let n = sock.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "nREPL closed the connection: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn kbuild_repl_headless_serves_nrepl_on_the_port_in_dot_nrepl_port() {
    let s = setup();
    let mut child =
        s.p.command(&[
            "--local-repo",
            s.local.path().to_str().unwrap(),
            "repl",
            "--headless",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let port_file = s.p.path(".nrepl-port");
    let started = std::time::Instant::now();
    while !port_file.exists() {
        assert!(
            started.elapsed().as_secs() < 120,
            "no .nrepl-port after two minutes"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "kbuild repl --headless exited"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let port: u16 = std::fs::read_to_string(&port_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let reply = nrepl_eval(port, "(fast.Adder/add 20 22)");
    // The REPL's JVM does not hold kbuild's database: builds go on while it runs.
    let b = s.run(&["--json", "build"]);
    assert!(b.ok(), "a build beside a running REPL: {}", b.stderr);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(reply.contains("5:value2:42"), "{reply}");
}

#[test]
fn kbuild_run_runs_a_main_namespace_with_its_exit_code() {
    let s = setup();
    s.p.write(
        "src/clj/app/main.clj",
        "(ns app.main (:require [app.core :as core]))\n(defn -main [& args]\n  (println (core/add 1 2) (core/greeting) (vec args))\n  (System/exit (count args)))\n",
    );
    let out = s.p.run(&[
        "--local-repo",
        s.local.path().to_str().unwrap(),
        "run",
        "-m",
        "app.main",
        "x",
        "--y",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "3 hello from a resource [x --y]\n"
    );
}

#[test]
fn an_uberjar_with_aot_main_runs_with_java_jar_and_is_reproducible() {
    let s = setup();
    s.p.write(
        "src/clj/app/main.clj",
        "(ns app.main (:require [app.core :as core]) (:gen-class))\n(defn -main [& args]\n  (println (core/add 40 2) (core/greeting) (vec args)))\n",
    );
    s.p.write(
        "resources/META-INF/services/app.Plugin",
        "app.FirstPlugin\n",
    );
    s.p.edit(
        "kbuild.edn",
        ":deps [native clojure]}",
        ":deps [native clojure] :aot [app.main]}",
    );
    s.p.edit(
        "kbuild.edn",
        "unit    {:rule :test",
        "standalone {:rule :uberjar :deps [app] :main-class \"app.main\"}\n           unit    {:rule :test",
    );
    let b = s.run(&["build"]);
    assert!(b.ok(), "{}", b.stderr);
    let jar = s.p.path("target/kbuild/standalone/standalone.jar");
    let out = Command::new("java")
        .arg("-jar")
        .arg(&jar)
        .args(["a", "b"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "42 hello from a resource [a b]\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut zip = zip::ZipArchive::new(std::fs::File::open(&jar).unwrap()).unwrap();
    for name in [
        "clojure/core__init.class",
        "app/core.clj",
        "app/main.class",
        "fast/Adder.class",
        "greeting.txt",
        "META-INF/services/app.Plugin",
    ] {
        assert!(zip.by_name(name).is_ok(), "{name} is in the uberjar");
    }
    let first = std::fs::read(&jar).unwrap();

    // A comment edit in a Clojure source changes the packaged bytes (raw digests).
    s.p.edit(
        "src/clj/app/core.clj",
        "(defn greeting []",
        ";; packaged as written\n(defn greeting []",
    );
    let b = s.run(&["--json", "build", "standalone"]);
    assert!(b.executed().contains("standalone"), "{:?}", b.executed());
    assert_ne!(std::fs::read(&jar).unwrap(), first);
    // And a clean build of the same sources gives the same bytes again.
    s.p.edit(
        "src/clj/app/core.clj",
        ";; packaged as written\n(defn greeting []",
        "(defn greeting []",
    );
    assert!(s.p.run(&["clean"]).status.success());
    assert!(s.run(&["build", "standalone"]).ok());
    assert_eq!(std::fs::read(&jar).unwrap(), first);
}
