//! End to end: the real kbuild binary, real javac and java, on the `mixed` fixture project
//! (two java-libraries, resources, a command, a jar with a Main-Class).

mod common;

use std::process::Command;

use common::{git, set, Project};

fn java_jar(p: &Project) -> String {
    let out = Command::new("java")
        .arg("-jar")
        .arg(p.path("target/kbuild/dist/dist.jar"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "java -jar failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const ALL: &[&str] = &["util", "app", "res", "gen", "dist"];

#[test]
fn clean_build_makes_a_runnable_jar_and_the_next_build_runs_nothing() {
    let p = Project::new("mixed");
    let b = p.build(&[]);
    assert_eq!(b.executed(), set(ALL));
    assert_eq!(b.summary()["tasks"], 5);
    let out = java_jar(&p);
    assert_eq!(
        out,
        "Hello, kbuild!\ngreeting.txt: resources travel with the jar\nconfig: mode=production\ngenerated: MADE BY A COMMAND\n"
    );
    let jar = p.bytes("target/kbuild/dist/dist.jar");

    let again = p.build(&[]);
    assert!(
        again.executed().is_empty(),
        "no-op build ran {:?}",
        again.executed()
    );
    assert_eq!(again.cached(), set(ALL));
    assert_eq!(again.summary()["executed"], 0);
    assert_eq!(p.bytes("target/kbuild/dist/dist.jar"), jar);

    // Human output: one summary line.
    let human = p.run(&["build"]);
    assert!(human.status.success());
    let stderr = String::from_utf8_lossy(&human.stderr);
    assert!(stderr.contains("5 tasks: 0 run, 5 up to date"), "{stderr}");
}

#[test]
fn whitespace_and_comment_edits_under_the_java_hasher_run_nothing() {
    let p = Project::new("mixed");
    p.build(&[]);
    p.edit(
        "src/util/u/Util.java",
        "return \"Hello, \" + name + \"!\";",
        "return   \"Hello, \"+name+   \"!\"  ;",
    );
    p.edit(
        "src/util/u/Util.java",
        "// The one greeting we make.",
        "// The only greeting we make, reworded.",
    );
    p.edit(
        "src/app/a/Main.java",
        "public class Main {",
        "public class Main\n{ // opening brace moved, a comment added",
    );
    let b = p.build(&[]);
    assert!(b.executed().is_empty(), "ran {:?}", b.executed());
}

#[test]
fn the_same_edit_under_sha512_runs_javac_and_cuts_off_downstream() {
    let p = Project::new("mixed");
    p.edit(
        "kbuild.edn",
        "{:hashers {\"**/*.java\" :java}",
        "{:hashers {}",
    );
    p.build(&[]);
    p.edit(
        "src/util/u/Util.java",
        "return \"Hello, \" + name + \"!\";",
        "return   \"Hello, \"+name+   \"!\"  ;",
    );
    let b = p.build(&[]);
    assert_eq!(
        b.executed(),
        set(&["util"]),
        "javac reruns, nothing after it (early cutoff)"
    );
    assert_eq!(b.cached(), set(&["app", "res", "gen", "dist"]));
}

#[test]
fn edit_build_revert_build_runs_nothing_and_gives_the_same_jar() {
    let p = Project::new("mixed");
    p.build(&[]);
    let first = p.bytes("target/kbuild/dist/dist.jar");
    let original = p.read("src/util/u/Util.java");
    p.edit("src/util/u/Util.java", "\"Hello, \"", "\"Howdy, \"");
    let b = p.build(&[]);
    // A body edit keeps util's ABI: app is not compiled again, the jar packages the new bytes.
    assert_eq!(b.executed(), set(&["util", "dist"]));
    assert!(java_jar(&p).starts_with("Howdy, kbuild!"));
    assert_ne!(p.bytes("target/kbuild/dist/dist.jar"), first);

    p.write("src/util/u/Util.java", &original);
    let b = p.build(&[]);
    assert!(b.executed().is_empty(), "revert ran {:?}", b.executed());
    assert_eq!(
        p.bytes("target/kbuild/dist/dist.jar"),
        first,
        "restored jar is byte-identical"
    );
    assert!(java_jar(&p).starts_with("Hello, kbuild!"));
    let explain = p.run(&["explain", "dist"]);
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(text.contains("restored"), "{text}");
}

#[test]
fn two_clean_builds_in_two_directories_give_identical_jars() {
    let a = Project::new("mixed");
    let b = Project::new("mixed");
    a.build(&[]);
    b.build(&["dist"]);
    assert_eq!(
        a.bytes("target/kbuild/dist/dist.jar"),
        b.bytes("target/kbuild/dist/dist.jar")
    );
    // And a rebuild after `clean` in the same directory too.
    let jar = a.bytes("target/kbuild/dist/dist.jar");
    assert!(a.run(&["clean"]).status.success());
    assert!(!a.path(".kbuild").exists() && !a.path("target/kbuild").exists());
    // Built again for real: not restored from the machine-wide cache.
    let out = a
        .command(&["--json", "build"])
        .env("KBUILD_CACHE", "off")
        .output()
        .unwrap();
    assert_eq!(common::Build::from(out).executed(), set(ALL));
    assert_eq!(a.bytes("target/kbuild/dist/dist.jar"), jar);
}

#[test]
fn changes_rebuild_exactly_the_affected_targets() {
    let p = Project::new("mixed");
    p.build(&[]);

    p.edit(
        "kbuild.edn",
        "[\"--release\" \"17\"]",
        "[\"--release\" \"11\"]",
    );
    assert_eq!(
        p.build(&[]).executed(),
        set(&["app", "dist"]),
        "javac options of app"
    );

    p.edit("src/util/u/Util.java", "\"!\"", "\"!!\"");
    // app compiles against util's ABI, which a body edit keeps, so it does not run; dist
    // packages util's bytes, so it does.
    assert_eq!(
        p.build(&[]).executed(),
        set(&["util", "dist"]),
        "a dependency's method body"
    );

    p.edit(
        "kbuild.edn",
        "tr a-z A-Z < gen/input.txt",
        "tr a-z A-Z < gen/input.txt | rev",
    );
    assert_eq!(
        p.build(&[]).executed(),
        set(&["gen", "dist"]),
        "a command's definition"
    );
    assert!(java_jar(&p).contains("generated: DNAMMOC A YB EDAM"));

    p.edit("resources/greeting.txt", "travel", "ride");
    assert_eq!(p.build(&[]).executed(), set(&["res", "dist"]), "a resource");

    p.write(
        "src/util/u/Extra.java",
        "package u; public class Extra {}\n",
    );
    assert_eq!(
        p.build(&[]).executed(),
        set(&["util", "app", "dist"]),
        "a new source file"
    );
}

#[test]
fn deleted_or_modified_outputs_are_restored_from_the_store() {
    outputs_tampered_with_are_restored(false);
}

/// As above, once the outputs' stats are old enough to be trusted: a build then checks them
/// by their recorded stats alone, without its products.
#[test]
fn outputs_tampered_with_after_their_stats_were_trusted_are_restored() {
    outputs_tampered_with_are_restored(true);
}

fn outputs_tampered_with_are_restored(aged: bool) {
    let p = Project::new("mixed");
    p.build(&[]);
    if aged {
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert!(p.build(&[]).executed().is_empty());
    }
    let jar = p.bytes("target/kbuild/dist/dist.jar");
    let class = p.bytes("target/kbuild/util/u/Util.class");
    std::fs::remove_file(p.path("target/kbuild/dist/dist.jar")).unwrap();
    p.write("target/kbuild/util/u/Util.class", "garbage");
    p.write("target/kbuild/util/u/Stray.class", "stray");
    let b = p.build(&[]);
    assert!(
        b.executed().is_empty(),
        "restoring is not running: {:?}",
        b.executed()
    );
    assert_eq!(b.summary()["restored"], 2);
    assert_eq!(p.bytes("target/kbuild/dist/dist.jar"), jar);
    assert_eq!(p.bytes("target/kbuild/util/u/Util.class"), class);
    assert!(!p.path("target/kbuild/util/u/Stray.class").exists());
}

#[test]
fn outputs_hash_graph_and_explain() {
    let p = Project::new("mixed");
    let out = p.run(&["outputs", "dist"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(
        text.trim().ends_with("target/kbuild/dist/dist.jar"),
        "{text}"
    );
    assert!(std::path::Path::new(text.trim()).is_file());

    let out = String::from_utf8(p.run(&["outputs", "util"]).stdout).unwrap();
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].ends_with("util/u/Text.class") && lines[1].ends_with("util/u/Util.class"),
        "{out}"
    );

    let graph = String::from_utf8(p.run(&["graph"]).stdout).unwrap();
    assert!(graph.starts_with("digraph"));
    for edge in [
        "\"app\" -> \"util\"",
        "\"dist\" -> \"app\"",
        "\"dist\" -> \"gen\"",
    ] {
        assert!(graph.contains(edge), "{graph}");
    }

    p.write("A.java", "class A { int x = 1; }\n");
    p.write("B.java", "class A {\n  // same tokens\n  int x=1;\n}\n");
    let out = String::from_utf8(
        p.run(&["hash", "--hasher", "java", "A.java", "B.java"])
            .stdout,
    )
    .unwrap();
    let digests: Vec<&str> = out.lines().map(|l| l.split("  ").next().unwrap()).collect();
    assert_eq!(digests.len(), 2);
    assert_eq!(digests[0], digests[1]);
    assert_eq!(digests[0].len(), 128);
    assert!(out.lines().next().unwrap().ends_with("  A.java"));
    // Without --hasher, the build file's choice (:java for **/*.java).
    let out = String::from_utf8(p.run(&["hash", "A.java", "B.java"]).stdout).unwrap();
    let chosen: Vec<&str> = out.lines().map(|l| l.split("  ").next().unwrap()).collect();
    assert_eq!(chosen, digests);
    let out = String::from_utf8(
        p.run(&["hash", "--hasher", "sha512", "A.java", "B.java"])
            .stdout,
    )
    .unwrap();
    let raw: Vec<&str> = out.lines().map(|l| l.split("  ").next().unwrap()).collect();
    assert_ne!(raw[0], raw[1]);
    let sha = Command::new("sha512sum")
        .arg(p.path("A.java"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&sha.stdout)
            .split(' ')
            .next()
            .unwrap(),
        raw[0]
    );

    p.edit("src/app/a/Main.java", "kbuild", "explain");
    p.build(&[]);
    let text = String::from_utf8(p.run(&["explain", "app"]).stdout).unwrap();
    assert!(text.contains("app (java-library): executed"), "{text}");
    assert!(text.contains("src/app/a/Main.java"), "{text}");
    let text = String::from_utf8(p.run(&["explain", "util"]).stdout).unwrap();
    assert!(text.contains("up to date"), "{text}");
}

#[test]
fn javac_failure_fails_the_build_and_the_next_build_retries() {
    let p = Project::new("mixed");
    p.edit(
        "src/util/u/Util.java",
        "return \"Hello, \" + name + \"!\";",
        "return \"Hello, \" + nam;",
    );
    let b = p.build_raw(&[]);
    assert_eq!(b.code, Some(1));
    assert!(
        b.stderr.contains("Util.java:9: error: cannot find symbol"),
        "{}",
        b.stderr
    );
    assert!(
        b.failed().contains("util") && b.failed().contains("app") && b.failed().contains("dist")
    );
    assert_eq!(b.executed(), set(&["res", "gen"]));
    // Still failing without a change: no trace was recorded for the failure.
    let b = p.build_raw(&[]);
    assert_eq!(b.code, Some(1));
    assert!(b.stderr.contains("cannot find symbol"));
    p.edit("src/util/u/Util.java", "+ nam;", "+ name;");
    let b = p.build(&[]);
    assert_eq!(b.executed(), set(&["util", "app", "dist"]));
    assert!(java_jar(&p).starts_with("Hello, kbuild"));
}

#[test]
fn failing_commands_and_missing_outputs_are_errors() {
    let p = Project::new("mixed");
    p.edit(
        "kbuild.edn",
        "\"generated.txt\"]",
        "\"generated.txt\" \"other.txt\"]",
    );
    let b = p.build_raw(&["gen"]);
    assert_eq!(b.code, Some(1));
    assert!(
        b.stderr
            .contains("target gen: the command did not create other.txt in $OUT"),
        "{}",
        b.stderr
    );
    let p = Project::new("mixed");
    p.edit("kbuild.edn", "tr a-z A-Z <", "exit 7; tr a-z A-Z <");
    let b = p.build_raw(&["gen"]);
    assert_eq!(b.code, Some(1));
    assert!(
        b.stderr.contains("target gen: sh failed (exit status 7)"),
        "{}",
        b.stderr
    );
    let p = Project::new("mixed");
    p.edit("kbuild.edn", "[\"gen/input.txt\"]", "[\"gen/missing.txt\"]");
    let b = p.build_raw(&["gen"]);
    assert_eq!(b.code, Some(1));
    assert!(
        b.stderr.contains("source gen/missing.txt does not exist"),
        "{}",
        b.stderr
    );
}

#[test]
fn build_file_errors_name_the_file_line_column_and_target() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "util {:rule :java-library",
            "util {:rule :java-library :srcz [\"x\"]",
            "kbuild.edn:2:38: target util: unknown key :srcz",
        ),
        (
            ":rule :jar",
            ":rule :war",
            "kbuild.edn:8:24: target dist: unknown rule :war",
        ),
        (
            ":java}",
            ":javaa}",
            "kbuild.edn:1:24: unknown hasher :javaa",
        ),
        (
            ":deps [app util res gen]",
            ":deps [app util res gen lib]",
            "kbuild.edn:8:53: target dist: unknown target lib in :deps",
        ),
        (
            ":srcs [\"src/util/**/*.java\"]}",
            ":srcs [\"src/util/**/*.java\"] :deps [dist]}",
            "kbuild.edn:2:1: dependency cycle: util -> dist -> app -> util",
        ),
        ("\"17\"]}", "\"17\"]", "kbuild.edn:1:1: `{` is never closed"),
    ];
    for (from, to, want) in cases {
        let p = Project::new("mixed");
        p.edit("kbuild.edn", from, to);
        let out = p.run(&["build"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(want), "want {want:?} in:\n{stderr}");
    }
    let p = Project::new("mixed");
    let out = p.run(&["build", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no target named nope"));
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kbuild"))
        .arg("build")
        .current_dir(empty.path())
        .env("KBUILD_CACHE", "off")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no kbuild.edn, project.clj or deps.edn in")
    );
}

#[test]
fn java_lines_recompiles_when_lines_move_but_not_for_same_line_edits() {
    let p = Project::new("mixed");
    p.edit(
        "kbuild.edn",
        "{:hashers {\"**/*.java\" :java}",
        "{:hashers {\"**/*.java\" :java-lines}",
    );
    p.build(&[]);
    p.edit(
        "src/util/u/Util.java",
        "return \"Hello, \" + name + \"!\";",
        "return   \"Hello, \"+name+\"!\" ;",
    );
    p.edit(
        "src/util/u/Util.java",
        "// The one greeting we make.",
        "// The greeting, reworded on its own line.",
    );
    assert!(
        p.build(&[]).executed().is_empty(),
        "same-line edits cut off"
    );
    p.edit(
        "src/util/u/Util.java",
        "    private Util() {}\n",
        "\n    private Util() {}\n",
    );
    let b = p.build(&[]);
    assert!(
        b.executed().contains("util"),
        "a moved line recompiles, so line tables stay exact"
    );
    // The line table changed, so the classes did: the jar follows. Line tables are not part
    // of util's ABI, so app is not compiled again.
    assert_eq!(b.executed(), set(&["util", "dist"]));
}

#[test]
fn switching_git_branches_and_back_rebuilds_nothing() {
    let p = Project::new("mixed");
    p.write(".gitignore", ".kbuild/\ntarget/\n");
    git(p.dir.path(), &["init", "-q"]);
    git(p.dir.path(), &["add", "-A"]);
    git(p.dir.path(), &["commit", "-qm", "main"]);
    p.build(&[]);
    let main_jar = p.bytes("target/kbuild/dist/dist.jar");
    git(p.dir.path(), &["checkout", "-qb", "feature"]);
    p.edit("src/util/u/Util.java", "\"Hello, \"", "\"Hi, \"");
    p.edit("resources/greeting.txt", "travel", "fly");
    git(p.dir.path(), &["commit", "-qam", "feature"]);
    assert_eq!(p.build(&[]).executed(), set(&["util", "res", "dist"]));
    let feature_jar = p.bytes("target/kbuild/dist/dist.jar");

    git(p.dir.path(), &["checkout", "-q", "main"]);
    let b = p.build(&[]);
    assert!(
        b.executed().is_empty(),
        "back on main ran {:?}",
        b.executed()
    );
    assert_eq!(p.bytes("target/kbuild/dist/dist.jar"), main_jar);
    git(p.dir.path(), &["checkout", "-q", "feature"]);
    let b = p.build(&[]);
    assert!(
        b.executed().is_empty(),
        "back on feature ran {:?}",
        b.executed()
    );
    assert_eq!(p.bytes("target/kbuild/dist/dist.jar"), feature_jar);
}

#[test]
fn a_corrupted_store_is_detected_and_the_task_runs_again() {
    let p = Project::new("mixed");
    p.build(&[]);
    let jar = p.bytes("target/kbuild/dist/dist.jar");
    let mut corrupted = 0;
    // The store is the machine-wide one (this test's own, see common::Project).
    for shard in std::fs::read_dir(p.cache.path().join("cas")).unwrap() {
        let shard = shard.unwrap().path();
        if shard.ends_with("tmp") {
            continue;
        }
        for blob in std::fs::read_dir(&shard).unwrap() {
            std::fs::write(blob.unwrap().path(), "not what it was").unwrap();
            corrupted += 1;
        }
    }
    assert!(corrupted > 8);
    std::fs::remove_dir_all(p.path("target/kbuild")).unwrap();
    let b = p.build(&[]);
    assert_eq!(
        b.executed(),
        set(ALL),
        "nothing can be restored from a corrupted store"
    );
    assert!(b.stderr.contains("corrupted"), "{}", b.stderr);
    assert_eq!(p.bytes("target/kbuild/dist/dist.jar"), jar);
    assert!(p.build(&[]).executed().is_empty());
}

#[test]
fn a_trace_naming_a_target_since_removed_does_not_match_and_the_build_goes_on() {
    let p = Project::new("mixed");
    p.write("src/b/b/B.java", "package b; public class B {}\n");
    p.write("src/c/c/C.java", "package c; public class C {}\n");
    p.write(
        "kbuild.edn",
        r#"{:targets {a {:rule :java-library :srcs ["src/util/**/*.java"]}
                     b {:rule :java-library :srcs ["src/b/**/*.java"] :deps [a]}
                     c {:rule :java-library :srcs ["src/c/**/*.java"] :deps [b]}}}"#,
    );
    assert_eq!(p.build(&[]).executed(), set(&["a", "b", "c"]));
    // c's trace names a (a dependency of its dependency); a goes away.
    p.write(
        "kbuild.edn",
        r#"{:targets {b {:rule :java-library :srcs ["src/b/**/*.java"]}
                     c {:rule :java-library :srcs ["src/c/**/*.java"] :deps [b]}}}"#,
    );
    let b = p.build(&[]);
    assert_eq!(b.executed(), set(&["b", "c"]));
    assert!(p.build(&[]).executed().is_empty());
}

/// A command's program is one of its inputs: a script in the project by its content, a
/// program found on PATH by its file's.
#[test]
fn a_commands_program_is_an_input() {
    let p = Project::new("mixed");
    p.write(
        "tools/gen.sh",
        "#!/bin/sh\necho one > \"$OUT/generated.txt\"\n",
    );
    let bin = tempfile::tempdir().unwrap();
    let kbgen = bin.path().join("kbgen");
    let tool = |text: &str| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(
            &kbgen,
            format!("#!/bin/sh\necho {text} > \"$OUT/tool.txt\"\n"),
        )
        .unwrap();
        std::fs::set_permissions(&kbgen, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    tool("v1");
    std::fs::set_permissions(
        p.path("tools/gen.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    p.edit(
        "kbuild.edn",
        "dist {:rule :jar",
        "script {:rule :command :outs [\"generated.txt\"] :cmd [\"./tools/gen.sh\"]}\n\
         \x20          tool {:rule :command :outs [\"tool.txt\"] :cmd [\"kbgen\"]}\n\
         \x20          dist {:rule :jar",
    );
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    let build = || {
        let b = common::Build::from(
            p.command(&["--json", "build", "script", "tool"])
                .env("PATH", &path)
                .output()
                .unwrap(),
        );
        assert!(b.ok(), "{}", b.stderr);
        b
    };
    assert_eq!(build().executed(), set(&["script", "tool"]));
    assert_eq!(build().executed(), set(&[]));

    p.edit("tools/gen.sh", "echo one", "echo two");
    assert_eq!(build().executed(), set(&["script"]));
    assert_eq!(p.read("target/kbuild/script/generated.txt"), "two\n");

    // Let the stat cache see a different file (a size change is enough for certain).
    tool("version-2");
    assert_eq!(build().executed(), set(&["tool"]));
    assert_eq!(p.read("target/kbuild/tool/tool.txt"), "version-2\n");
}

/// A second checkout of the same project (elsewhere on the machine) restores every target
/// from the machine-wide cache instead of building it, byte for byte; what one checkout
/// builds after an edit, the other restores after the same edit; `KBUILD_CACHE=off` keeps a
/// checkout to itself.
#[test]
fn a_second_checkout_restores_what_the_first_built() {
    let p = Project::new("mixed");
    let all = p.build(&[]).executed();
    assert!(all.contains("dist") && all.len() >= 4, "{all:?}");

    let q = p.second_checkout();
    let b = q.build(&[]);
    assert!(b.executed().is_empty(), "ran {:?}", b.executed());
    assert_eq!(b.cached(), all);
    let jar = "target/kbuild/dist/dist.jar";
    assert_eq!(p.bytes(jar), q.bytes(jar));
    assert!(java_jar(&q).contains("generated: MADE BY A COMMAND"));
    let explain = q.run(&["explain", "dist"]);
    assert!(
        String::from_utf8_lossy(&explain.stdout).contains("elsewhere on this machine"),
        "{}",
        String::from_utf8_lossy(&explain.stdout)
    );

    q.edit("resources/greeting.txt", "travel", "ride");
    assert_eq!(q.build(&[]).executed(), set(&["res", "dist"]));
    p.edit("resources/greeting.txt", "travel", "ride");
    let b = p.build(&[]);
    assert!(b.executed().is_empty(), "ran {:?}", b.executed());
    assert_eq!(p.bytes(jar), q.bytes(jar));

    let r = p.second_checkout();
    let out = r
        .command(&["--json", "build"])
        .env("KBUILD_CACHE", "off")
        .output()
        .unwrap();
    assert_eq!(common::Build::from(out).executed(), all);
}

/// The remote cache (Bazel's HTTP cache protocol, served here by a real HTTP server): a
/// checkout on "another machine" (its own machine-wide cache) restores what the first
/// uploaded; corrupted blobs on the server are caught; a server that is down is a warning.
#[test]
fn a_remote_cache_serves_another_machine() {
    let served = tempfile::tempdir().unwrap();
    let server = common::Server::cache(served.path());
    let build = |p: &Project, remote: &str| {
        let out = p
            .command(&["--json", "build"])
            .env("KBUILD_REMOTE_CACHE", remote)
            .output()
            .unwrap();
        common::Build::from(out)
    };
    let p = Project::new("mixed");
    let b = build(&p, &server.url);
    assert!(b.ok(), "{}", b.stderr);
    let all = b.executed();
    assert!(served.path().join("ac").read_dir().unwrap().count() >= all.len());

    // Another machine: a copy of the project with a machine-wide cache of its own.
    let elsewhere = || {
        let q = Project::new("mixed");
        assert!(q.cache.path().read_dir().unwrap().next().is_none());
        q
    };
    let q = elsewhere();
    let b = build(&q, &server.url);
    assert!(b.ok(), "{}", b.stderr);
    assert!(b.executed().is_empty(), "ran {:?}", b.executed());
    let jar = "target/kbuild/dist/dist.jar";
    assert_eq!(p.bytes(jar), q.bytes(jar));
    let explain = q.run(&["explain", "dist"]);
    assert!(String::from_utf8_lossy(&explain.stdout).contains("remote cache"));

    // Every blob on the server corrupted: detected, and built instead.
    for blob in served.path().join("cas").read_dir().unwrap() {
        std::fs::write(blob.unwrap().path(), "garbage").unwrap();
    }
    let r = elsewhere();
    let b = build(&r, &server.url);
    assert!(b.ok(), "{}", b.stderr);
    assert!(b.stderr.contains("corrupted on the server"), "{}", b.stderr);
    assert_eq!(b.executed(), all);
    assert_eq!(p.bytes(jar), r.bytes(jar));

    // A server that is not there: one warning, and a normal build.
    drop(server);
    let r = elsewhere();
    let b = build(&r, "http://127.0.0.1:9/");
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(b.executed(), all);
    assert_eq!(
        b.stderr.matches("remote cache http://127.0.0.1:9").count(),
        1,
        "{}",
        b.stderr
    );
}
