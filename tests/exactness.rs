//! An incremental build equals a clean build, whatever happened in between: a `:deps` edit
//! upstream, a source saved while its rule ran.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{set, Project};

const CHAIN: &str = r#"{:targets {c {:rule :java-library :srcs ["src/c/**/*.java"]}
           b {:rule :java-library :srcs ["src/b/**/*.java"] :deps [c]}
           a {:rule :java-library :srcs ["src/a/**/*.java"] :deps [b]}}}"#;

fn chain() -> Project {
    let p = Project::new("mixed");
    p.write(
        "src/c/c/C.java",
        "package c; public class C { public static String hi() { return \"c\"; } }\n",
    );
    p.write(
        "src/b/b/B.java",
        "package b; public class B { public static String hi() { return \"b\"; } }\n",
    );
    p.write(
        "src/a/a/A.java",
        "package a; public class A { public static String hi() { return c.C.hi() + b.B.hi(); } }\n",
    );
    p.write("kbuild.edn", CHAIN);
    p
}

/// `a` compiles against `c` only through `b`'s `:deps`. Dropping that edge must reach `a`:
/// the incremental build fails exactly as a clean one does, and putting it back builds again.
#[test]
fn a_deps_edit_upstream_reaches_the_targets_downstream() {
    let p = chain();
    assert_eq!(p.build(&[]).executed(), set(&["a", "b", "c"]));
    p.edit("kbuild.edn", ":deps [c]", ":deps []");

    let incremental = p.build_raw(&["a"]);
    assert!(
        !incremental.ok(),
        "a built without c:\n{}",
        incremental.stderr
    );
    assert_eq!(incremental.failed(), set(&["a"]), "{}", incremental.stderr);
    assert!(
        incremental.stderr.contains("package c does not exist"),
        "{}",
        incremental.stderr
    );

    let clean = p.second_checkout();
    let clean = clean.build_raw(&["a"]);
    assert!(!clean.ok(), "the clean build succeeded:\n{}", clean.stderr);
    assert_eq!(clean.failed(), set(&["a"]));

    // Back to the original graph: the earlier traces match again, nothing runs.
    p.write("kbuild.edn", CHAIN);
    let back = p.build(&["a"]);
    assert!(back.executed().is_empty(), "{:?}", back.executed());
}

/// Adding an edge upstream makes a failing downstream target build, in the incremental build
/// as in a clean one.
#[test]
fn a_deps_edit_that_adds_an_edge_upstream_builds_downstream() {
    let p = chain();
    p.edit("kbuild.edn", ":deps [c]", ":deps []");
    assert!(!p.build_raw(&[]).ok());
    p.write("kbuild.edn", CHAIN);
    let b = p.build(&["a"]);
    assert!(b.executed().contains("a"), "{:?}", b.executed());
}

const SLOW_COMMAND: &str = r#"{:targets {gen {:rule :command :srcs ["in.txt"] :outs ["out.txt"]
                 :cmd ["sh" "-c" "touch started; sleep 2; cat in.txt > \"$OUT/out.txt\""]}}}"#;

/// A source saved while its rule runs: the result is not recorded (neither in the checkout's
/// traces nor in the machine-wide cache), the build says which file changed, and the next
/// build runs the rule again. Later, the old content back gives the old output, not the one
/// made from the content saved mid-run.
#[test]
fn a_source_saved_while_its_rule_runs_is_never_recorded_under_its_old_digest() {
    let p = Project::new("mixed");
    p.write("kbuild.edn", SLOW_COMMAND);
    p.write("in.txt", "A\n");
    p.build(&[]);
    assert_eq!(p.read("target/kbuild/gen/out.txt"), "A\n");

    p.write("in.txt", "B\n");
    let _ = std::fs::remove_file(p.path("started"));
    let child = p
        .command(&["--json", "build"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !p.path("started").exists() {
        assert!(Instant::now() < deadline, "the command never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    p.write("in.txt", "C\n");
    let during = common::Build::from(child.wait_with_output().unwrap());
    assert_eq!(during.code, Some(1), "{}", during.stderr);
    assert!(
        during.stderr.contains("in.txt") && during.stderr.contains("changed while the rule ran"),
        "{}",
        during.stderr
    );

    let after = p.build(&[]);
    assert_eq!(after.executed(), set(&["gen"]));
    assert_eq!(p.read("target/kbuild/gen/out.txt"), "C\n");

    p.write("in.txt", "B\n");
    p.build(&[]);
    assert_eq!(p.read("target/kbuild/gen/out.txt"), "B\n");

    // Nor did the machine-wide cache keep it: another checkout with B builds B.
    let other = p.second_checkout();
    other.build(&[]);
    assert_eq!(other.read("target/kbuild/gen/out.txt"), "B\n");
}
