//! Compile avoidance: a `java-library` compiles against its dependencies' ABI (what javac can
//! observe of their classes), so an edit that keeps the ABI runs no javac downstream, while
//! anything that packages or runs the classes still sees every byte.

mod common;

use common::{set, Project};

const EDN: &str = r#"{:targets {p0 {:rule :java-library :srcs ["src/p0/**/*.java"]}
           p1 {:rule :java-library :srcs ["src/p1/**/*.java"] :deps [p0]}
           p2 {:rule :java-library :srcs ["src/p2/**/*.java"] :deps [p1]}
           all {:rule :jar :deps [p0 p1 p2]}}}"#;

const P0: &str = "package p0;\n\npublic class A {\n    public static final int K = 1;\n\n    public static int f(int x) {\n        return x + 1;\n    }\n}\n";

fn chain() -> Project {
    let p = Project::new("mixed");
    p.write("src/p0/p0/A.java", P0);
    p.write(
        "src/p1/p1/B.java",
        "package p1;\n\npublic class B {\n    public static int g(int x) {\n        return p0.A.f(x) + p0.A.K;\n    }\n}\n",
    );
    p.write(
        "src/p2/p2/C.java",
        "package p2;\n\npublic class C {\n    public static int h(int x) {\n        return p1.B.g(x) * 2;\n    }\n}\n",
    );
    p.write("kbuild.edn", EDN);
    p
}

fn javac_ran(b: &common::Build) -> std::collections::BTreeSet<String> {
    b.executed().into_iter().filter(|t| t != "all").collect()
}

#[test]
fn a_body_edit_compiles_one_target_and_the_jar_still_sees_it() {
    let p = chain();
    assert_eq!(p.build(&[]).executed(), set(&["p0", "p1", "p2", "all"]));
    let jar = p.bytes("target/kbuild/all/all.jar");

    p.edit("src/p0/p0/A.java", "return x + 1;", "return x + 2;");
    let b = p.build(&[]);
    assert_eq!(javac_ran(&b), set(&["p0"]), "{}", b.stderr);
    assert!(
        b.executed().contains("all"),
        "the jar packages the new bytes"
    );
    assert_ne!(p.bytes("target/kbuild/all/all.jar"), jar);

    // A private member is not part of the ABI either.
    p.edit(
        "src/p0/p0/A.java",
        "public static int f",
        "private static int unused() {\n        return 7;\n    }\n\n    public static int f",
    );
    assert_eq!(javac_ran(&p.build(&[])), set(&["p0"]));
}

#[test]
fn a_constant_or_signature_change_recompiles_the_dependents_that_see_it() {
    let p = chain();
    p.build(&[]);
    // javac inlines static final constants into B: B must be compiled again.
    p.edit("src/p0/p0/A.java", "K = 1;", "K = 2;");
    let b = p.build(&[]);
    assert!(
        javac_ran(&b).is_superset(&set(&["p0", "p1"])),
        "{:?}",
        b.executed()
    );
    // A new public method changes the ABI.
    p.edit(
        "src/p0/p0/A.java",
        "public static int f",
        "public static int extra() {\n        return 0;\n    }\n\n    public static int f",
    );
    let b = p.build(&[]);
    assert!(javac_ran(&b).is_superset(&set(&["p0", "p1"])));
    // And the result equals a clean build's.
    let clean = p.second_checkout();
    let cb = clean.build(&[]);
    assert!(cb.ok());
    assert_eq!(
        p.bytes("target/kbuild/all/all.jar"),
        clean.bytes("target/kbuild/all/all.jar")
    );
}
