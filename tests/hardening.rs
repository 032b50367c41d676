//! Faults, end to end with the real binary: concurrent kbuilds in one checkout, a damaged
//! database, a damaged content store, exit codes, and paths that would leave their directory.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use common::{outputs, set, Build, Project};

/// `sh -c` text for the `gen` command of the `mixed` fixture that touches `marker` when it
/// starts and then takes `secs` seconds.
fn slow_gen(p: &Project, marker: &Path, secs: u32) {
    p.edit(
        "kbuild.edn",
        "tr a-z A-Z < gen/input.txt",
        &format!(
            "touch '{}'; sleep {secs}; tr a-z A-Z < gen/input.txt",
            marker.display()
        ),
    );
}

fn wait_for(path: &Path, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !path.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the build ended ({status}) before {}", path.display());
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn(p: &Project, args: &[&str]) -> Child {
    p.command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// The `mixed` fixture built from scratch elsewhere: what every build below must equal.
fn reference() -> std::collections::BTreeMap<String, Vec<u8>> {
    let r = Project::new("mixed");
    r.build(&[]);
    outputs(r.dir.path())
}

#[test]
fn four_builds_started_at_once_in_one_checkout_all_succeed_with_the_same_outputs() {
    let want = reference();
    let p = Project::new("mixed");
    let children: Vec<Child> = (0..4).map(|_| spawn(&p, &["--json", "build"])).collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let mut waited = 0;
    for out in &outs {
        let b = Build::from(out.clone());
        assert!(b.ok(), "exit {:?}:\n{}", b.code, b.stderr);
        assert_eq!(b.failed(), set(&[]));
        assert_eq!(b.summary()["tasks"], 5, "{}", b.stdout);
        assert!(!b.stderr.contains("database"), "{}", b.stderr);
        waited += b.stderr.matches("waiting for another kbuild in").count();
    }
    assert!(waited >= 1, "someone waited");
    assert_eq!(outputs(p.dir.path()), want);
    assert!(p.build(&[]).executed().is_empty());
}

#[test]
fn a_second_kbuild_waits_or_fails_fast_and_clean_waits_even_without_rocksdbs_lock_file() {
    let marker_dir = tempfile::tempdir().unwrap();
    let p = Project::new("mixed");
    let marker = marker_dir.path().join("started");
    slow_gen(&p, &marker, 4);
    let mut first = spawn(&p, &["--json", "build"]);
    wait_for(&marker, &mut first);

    // Failing fast: exit 3 and the one clean message, naming the checkout's state.
    let out = p.run(&["--no-wait", "build"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let want = format!(
        "error: another kbuild is using {} (its lock is held)\n",
        p.path(".kbuild").display()
    );
    assert_eq!(text(&out.stderr), want);
    let out = p.run(&["--no-wait", "explain", "dist"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let out = p.run(&["--no-wait", "clean"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));

    // RocksDB's own LOCK file is no lock of kbuild's: with it deleted, a second build still
    // waits for the first, then builds.
    fs::remove_file(p.path(".kbuild/db/LOCK")).unwrap();
    let out = p.run(&["--no-wait", "build"]);
    assert_eq!(text(&out.stderr), want);
    let second = spawn(&p, &["--json", "build"]);
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    // And `kbuild clean` waits for both.
    let clean = p.run(&["clean"]);
    let cleaned_after = started.elapsed();
    let first = first.wait_with_output().unwrap();
    let second = Build::from(second.wait_with_output().unwrap());
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(second.ok(), "{}", second.stderr);
    assert!(
        second.stderr.contains(&format!(
            "waiting for another kbuild in {}...",
            p.dir.path().display()
        )),
        "{}",
        second.stderr
    );
    assert_eq!(second.failed(), set(&[]));
    assert_eq!(
        second.summary()["executed"],
        0,
        "the second build found the first's results: {}",
        second.stdout
    );
    assert!(clean.status.success(), "{}", text(&clean.stderr));
    assert_eq!(
        text(&clean.stderr)
            .matches("waiting for another kbuild in")
            .count(),
        1,
        "{}",
        text(&clean.stderr)
    );
    assert!(
        cleaned_after > Duration::from_secs(1),
        "clean waited for the build ({cleaned_after:?})"
    );
    assert!(!p.path(".kbuild").exists() && !p.path("target/kbuild").exists());
    // After a clean, the next build takes a new lock and restores everything.
    assert!(p.build(&[]).executed().is_empty());
}

/// The project copied into a directory named `clock-app` under a fresh temporary directory;
/// kbuild runs there with `-C`.
struct Clock {
    p: Project,
}

impl Clock {
    fn new() -> Clock {
        let p = Project::new("mixed");
        let inner = p.path("clock-app");
        fs::create_dir(&inner).unwrap();
        for e in fs::read_dir(p.dir.path()).unwrap() {
            let e = e.unwrap();
            if e.file_name() != "clock-app" {
                fs::rename(e.path(), inner.join(e.file_name())).unwrap();
            }
        }
        Clock { p }
    }

    fn build(&self) -> Build {
        Build::from(self.p.run(&["-C", "clock-app", "--json", "build"]))
    }

    fn db(&self) -> PathBuf {
        self.p.path("clock-app/.kbuild/db")
    }

    fn files(&self, pred: impl Fn(&str) -> bool) -> Vec<PathBuf> {
        fs::read_dir(self.db())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| pred(&p.file_name().unwrap().to_string_lossy()))
            .collect()
    }
}

#[test]
fn a_damaged_database_is_moved_aside_and_the_build_equals_a_clean_one() {
    let want = reference();
    type Damage = fn(&Clock);
    let cases: &[(&str, Damage)] = &[
        ("garbled CURRENT", |c| {
            fs::write(c.db().join("CURRENT"), "MANIFEST-\u{1}\u{2}\n").unwrap()
        }),
        ("garbled MANIFEST", |c| {
            for f in c.files(|n| n.starts_with("MANIFEST-")) {
                let n = fs::read(&f).unwrap().len();
                fs::write(&f, vec![0x5a; n]).unwrap();
            }
        }),
        ("deleted MANIFEST", |c| {
            for f in c.files(|n| n.starts_with("MANIFEST-")) {
                fs::remove_file(f).unwrap();
            }
        }),
        ("truncated tables", |c| {
            for f in c.files(|n| n.ends_with(".sst")) {
                let b = fs::read(&f).unwrap();
                fs::write(&f, &b[..b.len() / 2]).unwrap();
            }
        }),
        ("garbled tables", |c| {
            for f in c.files(|n| n.ends_with(".sst")) {
                let mut b = fs::read(&f).unwrap();
                let end = b.len().min(4000);
                for x in &mut b[8..end] {
                    *x ^= 0xa5;
                }
                fs::write(&f, &b).unwrap();
            }
        }),
    ];
    for (what, damage) in cases {
        let c = Clock::new();
        assert!(c.build().ok());
        assert!(
            !c.files(|n| n.ends_with(".sst")).is_empty(),
            "{what}: a build leaves a table"
        );
        damage(&c);
        let b = c.build();
        assert!(b.ok(), "{what}: exit {:?}\n{}", b.code, b.stderr);
        assert!(!b.stderr.contains("another kbuild"), "{what}: {}", b.stderr);
        let warnings: Vec<&str> = b
            .stderr
            .lines()
            .filter(|l| l.starts_with("warning:"))
            .collect();
        assert_eq!(warnings.len(), 1, "{what}: {}", b.stderr);
        let aside = c.p.path("clock-app/.kbuild/db.corrupt-1");
        assert!(
            warnings[0].contains("was damaged")
                && warnings[0].contains(&aside.display().to_string()),
            "{what}: {}",
            warnings[0]
        );
        assert!(aside.is_dir(), "{what}");
        // Only history was lost: everything came back from the machine-wide cache.
        assert!(b.executed().is_empty(), "{what}: ran {:?}", b.executed());
        assert_eq!(outputs(&c.p.path("clock-app")), want, "{what}");
        let again = c.build();
        assert!(
            again.ok() && !again.stderr.contains("warning"),
            "{what}: {}",
            again.stderr
        );
        assert!(again.executed().is_empty(), "{what}");
    }
}

/// Every blob of the content store (the machine-wide one), except those named in `keep`.
fn blobs(p: &Project) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for shard in fs::read_dir(p.cache.path().join("cas")).unwrap() {
        let shard = shard.unwrap().path();
        if shard.ends_with("tmp") {
            continue;
        }
        for blob in fs::read_dir(&shard).unwrap() {
            out.push(blob.unwrap().path());
        }
    }
    out
}

fn is_product(blob: &Path) -> bool {
    serde_json::from_slice::<serde_json::Value>(&fs::read(blob).unwrap())
        .is_ok_and(|v| v.get("files").is_some_and(|f| f.is_object()))
}

#[test]
fn corrupt_blobs_of_up_to_date_targets_do_not_wedge_the_jar() {
    let p = Project::new("mixed");
    p.build(&[]);
    let edited = |p: &Project| {
        let r = Project::new("mixed");
        r.edit("resources/greeting.txt", "travel", "ride");
        r.build(&[]);
        assert_eq!(
            p.bytes("target/kbuild/dist/dist.jar"),
            r.bytes("target/kbuild/dist/dist.jar")
        );
        assert_eq!(outputs(p.dir.path()), outputs(r.dir.path()));
    };
    // The products' files, each corrupt in the store; the products themselves intact, so
    // util, app and gen are up to date and the jar reads their files.
    let files: Vec<PathBuf> = blobs(&p).into_iter().filter(|b| !is_product(b)).collect();
    assert!(files.len() >= 6, "{files:?}");
    for f in &files {
        fs::write(f, "not what it was").unwrap();
    }
    p.edit("resources/greeting.txt", "travel", "ride");
    let b = p.build(&[]);
    assert_eq!(b.executed(), set(&["res", "dist"]), "{}", b.stderr);
    edited(&p);
    assert!(p.build(&[]).executed().is_empty());

    // Every blob, products too: the targets whose product is unreadable run again.
    for f in blobs(&p) {
        fs::write(f, "not what it was").unwrap();
    }
    p.edit("resources/greeting.txt", "ride", "travel");
    let b = p.build(&[]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(b.executed().contains("dist"));
    let r = Project::new("mixed");
    r.build(&[]);
    assert_eq!(outputs(p.dir.path()), outputs(r.dir.path()));
    assert!(p.build(&[]).executed().is_empty());
}

/// A kbuild.edn with a `:maven` target that cannot resolve offline from an empty local
/// repository, a java-library using it, and a test target over it.
fn unresolvable() -> (Project, tempfile::TempDir) {
    let p = Project::new("mixed");
    p.edit(
        "kbuild.edn",
        " :targets {",
        " :targets {nope {:rule :maven :coords [[org.example/nope \"1.0\"]]}\n\
         \x20          uses {:rule :java-library :srcs [\"src/util/**/*.java\"] :deps [nope]}\n\
         \x20          uber {:rule :uberjar :deps [uses]}\n\
         \x20          tests {:rule :test :paths [\"test\"] :deps [uses]}\n\
         \x20          broken {:rule :command :outs [\"x\"] :cmd [\"sh\" \"-c\" \"exit 7\"]}\n\
         \x20          ",
    );
    p.write("test/t_test.clj", "(ns t-test)\n");
    (p, tempfile::tempdir().unwrap())
}

#[test]
fn exit_codes_are_the_readmes_for_every_command() {
    let (p, local) = unresolvable();
    let repo = local.path().to_str().unwrap();
    let code = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["--offline", "--local-repo", repo];
        all.extend_from_slice(args);
        let mut c = p.command(&all);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        (out.status.code(), text(&out.stderr))
    };
    let no_jdk = tempfile::tempdir().unwrap();
    let no_jdk = no_jdk.path().to_str().unwrap();
    // (arguments, environment, exit code, words in the message)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], i32, &'a str);
    let cases: &[Case] = &[
        // 4: resolution failed, for the target itself and for what depends on it.
        (&["build", "nope"], &[], 4, "org.example:nope:jar:1.0"),
        (&["build", "uses"], &[], 4, "org.example:nope"),
        (&["build"], &[], 4, "offline"),
        (&["outputs", "uses"], &[], 4, "org.example:nope"),
        (&["classpath", "uses"], &[], 4, "org.example:nope"),
        (&["test"], &[], 4, "org.example:nope"),
        (&["uberjar"], &[], 4, "org.example:nope"),
        (&["lock"], &[], 4, "org.example:nope"),
        (&["run", "-m", "x"], &[], 4, "org.example:nope"),
        (&["repl", "--headless"], &[], 4, "org.example:nope"),
        (&["deps", "nope"], &[], 4, "org.example:nope"),
        (
            &["resolve", "org.example:nope:1.0"],
            &[],
            4,
            "org.example:nope",
        ),
        // 3: the environment.
        (
            &["build", "util"],
            &[("JAVA_HOME", no_jdk)],
            3,
            "no javac at",
        ),
        (&["hash", "missing.txt"], &[], 3, "missing.txt"),
        // 2: the command line or the build file.
        (&["build", "missing"], &[], 2, "no target named missing"),
        (&["explain", "missing"], &[], 2, "no target named missing"),
        (&["outputs", "missing"], &[], 2, "no target named missing"),
        (
            &["hash", "--hasher", "nope", "x"],
            &[],
            2,
            "unknown hasher nope",
        ),
        (&["prep"], &[], 2, "kbuild prep is for project.clj projects"),
        (&["resolve", "not-a-coordinate"], &[], 2, ""),
        (&["deps", "missing"], &[], 2, "no target named missing"),
        (&["frobnicate"], &[], 2, ""),
        // 1: a build failed.
        (
            &["build", "broken"],
            &[],
            1,
            "target broken: sh failed (exit status 7)",
        ),
        (
            &["build", "broken", "util"],
            &[("JAVA_HOME", no_jdk)],
            3,
            "no javac at",
        ),
    ];
    for (args, env, want, says) in cases {
        let (got, stderr) = code(args, env);
        assert_eq!(got, Some(*want), "kbuild {args:?}:\n{stderr}");
        assert!(
            stderr.contains(says),
            "kbuild {args:?} should say {says:?}:\n{stderr}"
        );
    }
    // The lock's code: 3 for every command that opens the state.
    let marker_dir = tempfile::tempdir().unwrap();
    let marker = marker_dir.path().join("started");
    slow_gen(&p, &marker, 3);
    let mut busy = p
        .command(&["build", "gen"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&marker, &mut busy);
    for args in [
        &["build", "gen"][..],
        &["clean"],
        &["explain", "gen"],
        &["outputs", "gen"],
    ] {
        let mut all = vec!["--no-wait"];
        all.extend_from_slice(args);
        let (got, stderr) = code(&all, &[]);
        assert_eq!(got, Some(3), "kbuild {all:?}:\n{stderr}");
        assert!(stderr.contains("another kbuild is using"), "{stderr}");
    }
    assert!(busy.wait().unwrap().success());
}

#[test]
fn outs_that_leave_out_or_are_links_are_errors_naming_the_target() {
    // A path that is not a plain relative one is the build file's error (exit 2, with its
    // line); a link that the command made is the rule's (exit 1).
    let cases: &[(&str, &str, &str, i32)] = &[
        ("\"\"", "echo x > \"$OUT/generated.txt\"", "\"\"", 2),
        ("\".\"", "echo x > \"$OUT/generated.txt\"", "\".\"", 2),
        ("\"..\"", "echo x > \"$OUT/generated.txt\"", "\"..\"", 2),
        ("\"/tmp\"", "echo x > \"$OUT/generated.txt\"", "\"/tmp\"", 2),
        (
            "\"d/\"",
            "mkdir \"$OUT/d\"; echo x > \"$OUT/d/x\"",
            "\"d/\"",
            2,
        ),
        (
            "\"d/./x\"",
            "mkdir \"$OUT/d\"; echo x > \"$OUT/d/x\"",
            "\"d/./x\"",
            2,
        ),
        ("\"d/../x\"", "echo x > \"$OUT/x\"", "\"d/../x\"", 2),
        (
            "\"link\"",
            "ln -s /etc/hostname \"$OUT/link\"",
            "link in $OUT is a symbolic link (to /etc/hostname)",
            1,
        ),
        (
            "\"d/x\"",
            "mkdir \"$OUT/real\"; echo x > \"$OUT/real/x\"; ln -s real \"$OUT/d\"",
            "d in $OUT is a symbolic link",
            1,
        ),
        (
            "\"d\"",
            "mkdir \"$OUT/d\"; echo x > \"$OUT/d/x\"; ln -s /etc \"$OUT/d/etc\"",
            "d/etc in $OUT is a symbolic link",
            1,
        ),
    ];
    for (outs, script, says, code) in cases {
        let p = Project::new("mixed");
        p.write(
            "kbuild.edn",
            &format!(
                "{{:targets {{gen {{:rule :command :outs [{outs}] :cmd [\"sh\" \"-c\" {script:?}]}}}}}}"
            ),
        );
        let b = p.build_raw(&["gen"]);
        assert_eq!(b.code, Some(*code), ":outs [{outs}]\n{}", b.stderr);
        assert!(
            b.stderr.contains("target gen: ") && b.stderr.contains(says),
            ":outs [{outs}] should say {says:?}:\n{}",
            b.stderr
        );
        if *code == 2 {
            assert!(b.stderr.contains("kbuild.edn:1:"), "{}", b.stderr);
        } else {
            assert!(b.failed().contains("gen"), "{}", b.stdout);
        }
    }
    // A plain directory out is fine, and only what was declared is kept.
    let p = Project::new("mixed");
    p.write(
        "kbuild.edn",
        r#"{:targets {gen {:rule :command :outs ["d"] :cmd ["sh" "-c" "mkdir -p \"$OUT/d/e\"; echo x > \"$OUT/d/e/x\"; echo y > \"$OUT/other\""]}}}"#,
    );
    let b = p.build(&["gen"]);
    assert_eq!(b.executed(), set(&["gen"]));
    assert_eq!(p.read("target/kbuild/gen/d/e/x"), "x\n");
    assert!(!p.path("target/kbuild/gen/other").exists());
}

/// A jar whose entries name `entries` (name, content), written with the zip crate.
fn jar_with(path: &Path, entries: &[(&str, &str)]) {
    use std::io::Write;
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    for (name, text) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn an_uberjar_leaves_out_entries_whose_names_leave_the_jar() {
    let local = tempfile::tempdir().unwrap();
    let dir = local.path().join("org/evil/evil/1.0");
    jar_with(
        &dir.join("evil-1.0.jar"),
        &[
            ("ok/fine.txt", "fine"),
            ("../escaped.txt", "out"),
            ("/etc/absolute.txt", "out"),
            ("a/../../up.txt", "out"),
        ],
    );
    fs::write(
        dir.join("evil-1.0.pom"),
        "<project><modelVersion>4.0.0</modelVersion><groupId>org.evil</groupId>\
         <artifactId>evil</artifactId><version>1.0</version></project>",
    )
    .unwrap();
    let p = Project::new("mixed");
    p.write(
        "kbuild.edn",
        r#"{:targets {evil {:rule :maven :coords [[org.evil/evil "1.0"]]}
                     uber {:rule :uberjar :deps [evil]}}}"#,
    );
    let repo = local.path().to_str().unwrap();
    let b = p.build(&["--offline", "--local-repo", repo]);
    assert!(
        b.stderr
            .contains("\"../escaped.txt\", which leaves the jar's root"),
        "{}",
        b.stderr
    );
    let jar = p.path("target/kbuild/uber/uber.jar");
    let mut z = zip::ZipArchive::new(fs::File::open(&jar).unwrap()).unwrap();
    let names: Vec<String> = (0..z.len())
        .map(|i| z.by_index(i).unwrap().name().to_string())
        .filter(|n| !n.ends_with('/'))
        .collect();
    assert_eq!(names, ["META-INF/MANIFEST.MF", "ok/fine.txt"]);
}

/// `kbuild build`'s exit code when a `:maven` target fails, also through the lowering of a
/// deps.edn (its `deps` target), and what it prints.
#[test]
fn a_maven_target_that_fails_to_resolve_exits_4() {
    let (p, local) = unresolvable();
    let b = p.build_raw(&[
        "--offline",
        "--local-repo",
        local.path().to_str().unwrap(),
        "uses",
    ]);
    assert_eq!(b.code, Some(4), "{}", b.stderr);
    assert!(
        b.stderr
            .contains("error: target nope: offline: artifact org.example:nope:jar:1.0"),
        "{}",
        b.stderr
    );
    assert_eq!(b.failed(), set(&["nope", "uses"]));
    // A compile failure beside it: still 4, resolution being what failed first.
    p.edit("src/util/u/Util.java", "return", "retur");
    let b = p.build_raw(&[
        "--offline",
        "--local-repo",
        local.path().to_str().unwrap(),
        "uses",
        "util",
    ]);
    assert_eq!(b.code, Some(4), "{}", b.stderr);
    let b = p.build_raw(&[
        "--offline",
        "--local-repo",
        local.path().to_str().unwrap(),
        "util",
    ]);
    assert_eq!(b.code, Some(1), "{}", b.stderr);

    let d = Project::new("mixed");
    fs::remove_file(d.path("kbuild.edn")).unwrap();
    d.write(
        "deps.edn",
        "{:paths [\"src\"] :deps {org.example/nope {:mvn/version \"1.0\"}}}",
    );
    let out = d
        .command(&[
            "--offline",
            "--local-repo",
            local.path().to_str().unwrap(),
            "build",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
}

#[test]
fn a_file_name_that_is_not_utf8_is_named_and_renaming_it_recovers() {
    use std::os::unix::ffi::OsStrExt;
    let p = Project::new("mixed");
    p.write(
        "kbuild.edn",
        r#"{:targets {res {:rule :resources :root "res" :srcs ["res/**"]}}}"#,
    );
    fs::create_dir_all(p.path("res")).unwrap();
    p.write("res/a.txt", "a");
    let odd = p
        .path("res")
        .join(std::ffi::OsStr::from_bytes(b"b\xffc.txt"));
    fs::write(&odd, "b").unwrap();
    let b = p.build_raw(&["res"]);
    assert_eq!(b.code, Some(1), "{}", b.stderr);
    assert!(
        b.stderr
            .contains(r#""res/b\xFFc.txt": the file name is not valid UTF-8"#),
        "{}",
        b.stderr
    );
    assert!(b.failed().contains("res"), "{}", b.stdout);
    // Nothing was lost: with the file renamed, the build goes on and holds both files.
    fs::rename(&odd, p.path("res/bc.txt")).unwrap();
    let b = p.build(&["res"]);
    assert!(b.executed().contains("res"), "{}", b.stdout);
    assert_eq!(p.read("target/kbuild/res/bc.txt"), "b");
    assert_eq!(p.read("target/kbuild/res/a.txt"), "a");
}

#[test]
fn a_command_output_whose_name_is_not_utf8_fails_that_target() {
    let p = Project::new("mixed");
    p.write(
        "kbuild.edn",
        r#"{:targets {gen {:rule :command :outs ["o"] :cmd ["sh" "-c" "mkdir \"$OUT/o\"; printf x > \"$OUT/o/$(printf 'n\\377')\""]}}}"#,
    );
    let b = p.build_raw(&["gen"]);
    assert_eq!(b.code, Some(1), "{}", b.stderr);
    assert!(
        b.stderr
            .contains(r#""o/n\xFF": the file name is not valid UTF-8"#),
        "{}",
        b.stderr
    );
    assert!(b.failed().contains("gen"), "{}", b.stdout);
}
