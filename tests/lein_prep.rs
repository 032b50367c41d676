//! `:prep-tasks` beyond javac and compile, against Debian's real `lein` offline: a generator
//! (`["run" "-m" NS ...]`) that writes a resource the code, tests and jar use, and a task that
//! only lein knows, run through it.

mod common;

use std::path::Path;

use common::lein::{debian_m2, kbuild, lein, totals};
use common::Project;

const OUTPUTS: &str = "^{:kbuild/outputs [\"resources/generated.edn\"]} ";

fn lein_ok(p: &Project, m2: &Path, args: &[&str]) -> String {
    let out = lein(p, m2, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "lein {args:?}: {text}");
    text
}

/// The generator runs before javac and compile, as under lein; its resource reaches the tests
/// (same counts as `lein test`, same file) and the jar; a second build runs nothing.
#[test]
fn a_generator_prep_task_runs_as_lein_runs_it_and_is_cached() {
    let m2 = debian_m2();
    let theirs = Project::new("lein-prep");
    let lein_out = lein_ok(&theirs, &m2, &["test"]);

    let p = Project::new("lein-prep");
    let b = kbuild(&p, &m2, &["--json", "test"]);
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(totals(&b.stderr), totals(&lein_out), "{}", b.stderr);
    assert!(b.executed().contains("prep-1"), "{:?}", b.executed());
    assert_eq!(
        p.read("resources/generated.edn"),
        theirs.read("resources/generated.edn")
    );
    assert!(
        !b.stderr.contains("declares no :kbuild/outputs"),
        "{}",
        b.stderr
    );

    let again = kbuild(&p, &m2, &["--json", "test"]);
    assert!(
        again.ok() && again.executed().is_empty(),
        "ran {:?}",
        again.executed()
    );
    let build = kbuild(&p, &m2, &["--json", "build"]);
    assert!(
        build.ok() && build.executed().is_empty(),
        "ran {:?}",
        build.executed()
    );

    let jar = kbuild(&p, &m2, &["jar"]);
    assert!(jar.ok(), "{}", jar.stderr);
    let listing = std::process::Command::new("unzip")
        .arg("-l")
        .arg(p.path("target/lein-prep-0.1.0.jar"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&listing.stdout).contains(" generated.edn\n"),
        "{}",
        String::from_utf8_lossy(&listing.stdout)
    );
}

/// An edit of the generator's source runs it again, and what depends on its output; so does
/// its output deleted or edited in the project.
#[test]
fn a_generator_runs_again_when_its_source_or_its_output_changes() {
    let m2 = debian_m2();
    let p = Project::new("lein-prep");
    let b = kbuild(&p, &m2, &["--json", "test"]);
    assert!(b.ok(), "{}", b.stderr);

    p.edit("src/gen/core.clj", "(def version 1)", "(def version 2)");
    p.edit("test/app/core_test.clj", "HELLO V1", "HELLO V2");
    let b = kbuild(&p, &m2, &["--json", "test"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(b.executed().contains("prep-1"), "{:?}", b.executed());
    assert!(p.read("resources/generated.edn").contains(":version 2"));

    std::fs::remove_file(p.path("resources/generated.edn")).unwrap();
    let b = kbuild(&p, &m2, &["--json", "build"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(b.executed().contains("prep-1"), "{:?}", b.executed());
    assert!(p.read("resources/generated.edn").contains(":version 2"));

    p.write("resources/generated.edn", "{:word \"edited\"}");
    let b = kbuild(&p, &m2, &["--json", "test"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(b.executed().contains("prep-1"), "{:?}", b.executed());
    assert!(p.read("resources/generated.edn").contains(":version 2"));
}

/// Without `:kbuild/outputs` nothing says when the generator is up to date: it runs every
/// build, with a note, and the build is still right.
#[test]
fn a_generator_without_declared_outputs_runs_every_build_with_a_note() {
    let m2 = debian_m2();
    let p = Project::new("lein-prep");
    p.edit("project.clj", OUTPUTS, "");
    for _ in 0..2 {
        let b = kbuild(&p, &m2, &["--json", "test"]);
        assert!(b.ok(), "{}", b.stderr);
        assert!(b.executed().contains("prep-1"), "{:?}", b.executed());
        assert!(
            b.stderr.contains(
                "project.clj:7: prep task [\"run\" \"-m\" \"gen.core\" \"hello\"] declares no \
                 :kbuild/outputs, so it runs every build"
            ),
            "{}",
            b.stderr
        );
        assert!(b.stderr.contains("0 failures, 0 errors."), "{}", b.stderr);
    }
}

/// A task kbuild does not run itself (`"pom"`, built into Leiningen) runs through lein, every
/// build, with a note: the pom.xml it writes is the one `lein pom` writes.
#[test]
fn another_prep_task_runs_through_lein_every_build() {
    let m2 = debian_m2();
    let edit = |p: &Project| {
        p.edit(
            "project.clj",
            "\"javac\" \"compile\"",
            "\"pom\" \"javac\" \"compile\"",
        );
    };
    let theirs = Project::new("lein-prep");
    edit(&theirs);
    lein_ok(&theirs, &m2, &["pom"]);

    let p = Project::new("lein-prep");
    edit(&p);
    for _ in 0..2 {
        let b = kbuild(&p, &m2, &["--json", "build"]);
        assert!(b.ok(), "{}", b.stderr);
        assert!(b.executed().contains("prep-2"), "{:?}", b.executed());
        assert!(
            b.stderr
                .contains("project.clj:8: prep task [\"pom\"] runs through lein, uncached"),
            "{}",
            b.stderr
        );
        assert_eq!(p.read("pom.xml"), theirs.read("pom.xml"));
        std::fs::remove_file(p.path("pom.xml")).unwrap();
    }
}

/// Without lein on PATH, such a task is an environment error (exit 3) naming it and its line.
#[test]
fn a_lein_prep_task_without_lein_is_an_error_naming_its_line() {
    let p = Project::new("lein-prep");
    p.edit(
        "project.clj",
        "\"javac\" \"compile\"",
        "[\"shell\" \"make\"] \"javac\" \"compile\"",
    );
    // A PATH with the JDK's programs only.
    let bin = tempfile::tempdir().unwrap();
    for tool in ["java", "javac"] {
        let found = std::fs::canonicalize(
            String::from_utf8(
                std::process::Command::new("sh")
                    .args(["-c", &format!("command -v {tool}")])
                    .output()
                    .unwrap()
                    .stdout,
            )
            .unwrap()
            .trim(),
        )
        .unwrap();
        std::os::unix::fs::symlink(found, bin.path().join(tool)).unwrap();
    }
    let m2 = debian_m2();
    let out = p
        .command(&["--offline", "--local-repo", m2.to_str().unwrap(), "build"])
        .env("PATH", bin.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("project.clj:8: prep task [\"shell\" \"make\"]")
            && stderr.contains("lein is not on PATH"),
        "{stderr}"
    );
}
