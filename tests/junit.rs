//! JUnit tests under `kbuild test`: JUnit 4 through JUnitCore and JUnit 5 through the console
//! launcher, from Debian's real JUnit jars served over HTTP on 127.0.0.1, with real javac and java.

mod common;

use std::path::Path;
use std::process::Command;

use common::{set, Build, Project, Server};

/// Debian's JUnit 4 and 5 artifacts and what they depend on, dereferenced.
fn junit_repo(dir: &Path) {
    for sub in [
        "junit",
        "org/junit",
        "org/hamcrest",
        "org/opentest4j",
        "org/apiguardian",
        "info/picocli",
        "com/univocity",
    ] {
        let dest = dir.join(sub);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        let ok = Command::new("cp")
            .arg("-rL")
            .arg(format!("/usr/share/maven-repo/{sub}"))
            .arg(&dest)
            .status()
            .unwrap();
        assert!(
            ok.success(),
            "Debian's {sub} is installed (.ci/run installs junit4 and junit5)"
        );
    }
}

struct Setup {
    p: Project,
    _server: Server,
    _repo: tempfile::TempDir,
    local: tempfile::TempDir,
}

fn setup() -> Setup {
    let p = Project::new("junit-app");
    let repo = tempfile::tempdir().unwrap();
    junit_repo(repo.path());
    let server = Server::serve(repo.path());
    p.edit("kbuild.edn", "REPO_URL", &server.url);
    Setup {
        p,
        _server: server,
        _repo: repo,
        local: tempfile::tempdir().unwrap(),
    }
}

impl Setup {
    fn test(&self, extra: &[&str]) -> Build {
        let mut args = vec![
            "--local-repo",
            self.local.path().to_str().unwrap(),
            "--json",
            "test",
        ];
        args.extend_from_slice(extra);
        Build::from(self.p.run(&args))
    }
}

#[test]
fn junit4_classes_run_with_junitcore_and_a_pass_is_cached() {
    let s = setup();
    let reports = tempfile::tempdir().unwrap();
    let b = s.test(&["--junit-xml", reports.path().to_str().unwrap()]);
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(common::junit_reports(reports.path()), (1, 2, 0, 0));
    assert!(
        b.stderr.contains("JUnit version 4.13.2") && b.stderr.contains("OK (2 tests)"),
        "{}",
        b.stderr
    );
    assert_eq!(
        s.test(&[]).executed(),
        set(&[]),
        "nothing changed: cached outcome"
    );

    s.p.edit(
        "src/main/java/calc/Calc.java",
        "return 2 * x;",
        "return x + x + 1;",
    );
    let reports = tempfile::tempdir().unwrap();
    let b = s.test(&["--junit-xml", reports.path().to_str().unwrap()]);
    assert_eq!(b.code, Some(1), "{}", b.stderr);
    assert_eq!(common::junit_reports(reports.path()), (1, 2, 2, 0));
    let xml = std::fs::read_to_string(reports.path().join("TEST-calc.CalcTest.xml")).unwrap();
    assert!(
        xml.contains("type=\"java.lang.AssertionError\"") && xml.contains("at calc.CalcTest"),
        "{xml}"
    );
    assert!(
        b.stderr.contains("Tests run: 2,  Failures: 2"),
        "{}",
        b.stderr
    );
    assert!(
        b.stderr
            .contains("target unit: tests failed: Tests run: 2,  Failures: 2"),
        "{}",
        b.stderr
    );
}

#[test]
fn junit5_classes_run_with_the_console_launcher() {
    let s = setup();
    s.p.edit(
        "kbuild.edn",
        "[[junit/junit \"4.13.2\"]]",
        "[[org.junit.platform/junit-platform-console-standalone \"1.9.1\"]]",
    );
    s.p.write(
        "src/test/java/calc/CalcTest.java",
        "package calc;\n\nimport static org.junit.jupiter.api.Assertions.assertEquals;\n\nimport org.junit.jupiter.api.Test;\n\n\
         class CalcTest {\n    @Test\n    void doubles() {\n        assertEquals(4, Calc.twice(2));\n    }\n\n    \
         @Test\n    void wrong() {\n        assertEquals(5, Calc.twice(2));\n    }\n}\n",
    );
    let reports = tempfile::tempdir().unwrap();
    let b = s.test(&["--junit-xml", reports.path().to_str().unwrap()]);
    assert_eq!(b.code, Some(1), "{}", b.stderr);
    // The failing run is reported too, with the assertion's message.
    assert_eq!(common::junit_reports(reports.path()), (1, 2, 1, 0));
    let xml = std::fs::read_to_string(reports.path().join("TEST-calc.CalcTest.xml")).unwrap();
    assert!(
        xml.contains("message=\"expected: &lt;5&gt; but was: &lt;4&gt;\""),
        "{xml}"
    );
    assert!(
        b.stderr.contains("wrong() ✘ expected: <5> but was: <4>"),
        "{}",
        b.stderr
    );
    assert!(
        b.stderr.contains("tests failed: 1 tests failed"),
        "{}",
        b.stderr
    );
    s.p.edit(
        "src/test/java/calc/CalcTest.java",
        "assertEquals(5,",
        "assertEquals(4,",
    );
    let reports = tempfile::tempdir().unwrap();
    let dir = reports.path().to_str().unwrap();
    let b = s.test(&["--junit-xml", dir]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(b.stderr.contains("2 tests successful"), "{}", b.stderr);
    assert_eq!(common::junit_reports(reports.path()), (1, 2, 0, 0));
    let xml = std::fs::read_to_string(reports.path().join("TEST-calc.CalcTest.xml")).unwrap();
    assert!(xml.contains("name=\"doubles()\""), "{xml}");
    // Selecting a class that does not exist is an error that says so.
    let b = s.test(&["calc.NopeTest"]);
    assert_eq!(b.code, Some(1));
    assert!(
        b.stderr
            .contains("no test namespace matches \"calc.NopeTest\""),
        "{}",
        b.stderr
    );
}
