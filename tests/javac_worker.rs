//! The warm javac worker, with a real JVM: its classes and diagnostics are a javac process's,
//! it outlives the invocation that started it, a worker killed or stopped mid-request still
//! gives a correct build, it exits when idle and on `kbuild clean`, and `--no-worker` (or the
//! build file, or the environment) starts none.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{outputs, Build, Project};

const EDN: &str = r#"{:targets {p0 {:rule :java-library :srcs ["src/p0/**/*.java"]}
           p1 {:rule :java-library :srcs ["src/p1/**/*.java"] :deps [p0]}
           p2 {:rule :java-library :srcs ["src/p2/**/*.java"] :deps [p1]
               :javac-opts ["-Xlint:all" "-g"]}}}"#;

/// Three chained libraries with what javac writes with care: inner, anonymous and local
/// classes, lambdas, generics, constants (non-ASCII ones too), an unchecked note, a
/// deprecation warning.
fn chain() -> Project {
    let p = Project::new("mixed");
    p.write("kbuild.edn", EDN);
    p.write(
        "src/p0/p0/A.java",
        "package p0;\n\nimport java.util.*;\n\npublic class A<T extends Comparable<T>> {\n    public static final String NAME = \"caf\u{e9} \u{2603}\";\n    private final List<T> items = new ArrayList<>();\n\n    public class Inner { public int size() { return items.size(); } }\n\n    @Deprecated public static int old() { return 1; }\n\n    public Optional<T> max() {\n        return items.stream().max(Comparator.naturalOrder());\n    }\n\n    public Runnable r() {\n        return new Runnable() { public void run() { System.out.println(NAME); } };\n    }\n}\n",
    );
    p.write(
        "src/p1/p1/B.java",
        "package p1;\n\nimport java.util.*;\n\npublic class B {\n    @SuppressWarnings(\"rawtypes\")\n    List raw = new ArrayList();\n\n    public void add() { raw.add(p0.A.NAME); }\n\n    public int f(int x) {\n        class Local { int twice() { return x * 2; } }\n        return new Local().twice() + p0.A.old();\n    }\n}\n",
    );
    p.write(
        "src/p2/p2/C.java",
        "package p2;\n\npublic class C {\n    public int g() { return new p1.B().f(3) + p0.A.old(); }\n    public java.util.function.IntUnaryOperator op() { return y -> y + g(); }\n    enum E { X, Y }\n    record R(int a, String b) {}\n}\n",
    );
    p
}

/// kbuild with a short idle time for the worker, so that none lingers after the tests.
fn kbuild(p: &Project, args: &[&str], env: &[(&str, &str)]) -> Build {
    let mut c = p.command(&["--json"]);
    c.args(args).env("KBUILD_JAVAC_WORKER_IDLE", "60");
    for (k, v) in env {
        c.env(k, v);
    }
    Build::from(c.output().unwrap())
}

fn build_ok(p: &Project, args: &[&str], env: &[(&str, &str)]) -> Build {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    let b = kbuild(p, &all, env);
    assert!(b.ok(), "build failed:\n{}", b.stderr);
    b
}

fn worker_dir(p: &Project) -> PathBuf {
    p.path(".kbuild/javac-worker")
}

fn worker_file(p: &Project, ext: &str) -> Option<PathBuf> {
    std::fs::read_dir(worker_dir(p))
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|f| f.extension().is_some_and(|e| e == ext))
}

fn worker_pid(p: &Project) -> i32 {
    let file = worker_file(p, "pid").expect("a worker's pid file");
    std::fs::read_to_string(file)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// What the worker logged: one `request N started` and `request N done: exit C` line each.
fn worker_log(p: &Project) -> String {
    worker_file(p, "log")
        .map(|f| std::fs::read_to_string(f).unwrap())
        .unwrap_or_default()
}

fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(
            stat.rsplit(')')
                .next()
                .and_then(|s| s.trim_start().chars().next()),
            Some('Z' | 'X')
        ),
        Err(_) => false,
    }
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Java worker processes whose command line names this project's directory.
fn workers_of(p: &Project) -> Vec<i32> {
    let dir = p.dir.path().to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let c = String::from_utf8_lossy(&c);
                c.contains("KbuildJavacWorker") && c.contains(&dir)
            }) && alive(*pid)
        })
        .collect()
}

/// The socket a worker listens on, from its command line.
fn socket_of(pid: i32) -> PathBuf {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let at = args.iter().position(|a| a == "--socket").expect("--socket");
    PathBuf::from(&args[at + 1])
}

fn kill(pid: i32, signal: &str) {
    let ok = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success(), "kill {signal} {pid}");
}

fn outputs_text(b: &Build) -> Vec<String> {
    b.events
        .iter()
        .filter(|e| e["event"] == "output")
        .map(|e| format!("{}: {}", e["target"], e["text"].as_str().unwrap()))
        .collect()
}

#[test]
fn classes_are_a_javac_process_s_and_the_worker_outlives_the_invocation() {
    let warm = chain();
    let b = build_ok(&warm, &[], &[]);
    assert_eq!(b.executed().len(), 3, "{}", b.stderr);
    assert!(!b.stderr.contains("javac worker:"), "{}", b.stderr);
    assert_eq!(worker_log(&warm).matches("done: exit 0").count(), 3);
    let pid = worker_pid(&warm);
    assert!(alive(pid), "the worker outlives the kbuild that started it");

    let cold = chain();
    let c = build_ok(&cold, &["--no-worker"], &[]);
    assert_eq!(c.executed().len(), 3);
    assert!(!worker_dir(&cold).exists());
    assert_eq!(outputs(warm.dir.path()), outputs(cold.dir.path()));
    assert_eq!(
        outputs_text(&b),
        outputs_text(&c),
        "javac's notes and warnings"
    );

    // The next invocation compiles in the same JVM, and still as a process would.
    for p in [&warm, &cold] {
        p.edit("src/p0/p0/A.java", "return 1;", "return 2;");
        p.edit("src/p2/p2/C.java", "y + g()", "y * g()");
    }
    let b = build_ok(&warm, &[], &[]);
    build_ok(&cold, &["--no-worker"], &[]);
    assert_eq!(b.executed().len(), 2, "{}", b.stderr);
    assert_eq!(worker_pid(&warm), pid);
    assert_eq!(worker_log(&warm).matches("done: exit 0").count(), 5);
    assert_eq!(outputs(warm.dir.path()), outputs(cold.dir.path()));
}

#[test]
fn a_compile_error_reads_exactly_as_javac_s() {
    let warm = chain();
    let cold = chain();
    for p in [&warm, &cold] {
        p.edit(
            "src/p1/p1/B.java",
            "return new Local().twice()",
            "String s = 1;\n        return new Local().twice(missing)",
        );
    }
    let b = kbuild(&warm, &["build"], &[]);
    let c = kbuild(&cold, &["build", "--no-worker"], &[]);
    assert_eq!(b.code, Some(1), "{}", b.stderr);
    assert_eq!(c.code, Some(1), "{}", c.stderr);
    assert!(
        worker_log(&warm).contains("done: exit 1"),
        "the worker ran it"
    );
    let diagnostics = outputs_text(&b);
    assert!(
        diagnostics
            .iter()
            .any(|d| d.contains("error: incompatible types")),
        "{diagnostics:?}"
    );
    assert_eq!(diagnostics, outputs_text(&c));
    let lines = |b: &Build| -> Vec<String> {
        b.stderr
            .lines()
            .filter(|l| !l.contains(" ms)") && !l.contains(" s)"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(lines(&b), lines(&c), "the whole report, timings aside");
    // And again from a warm worker.
    let again = kbuild(&warm, &["build"], &[]);
    assert_eq!(outputs_text(&again), diagnostics);
}

/// A target big enough that its compile is still running when the worker is killed.
fn big() -> Project {
    let p = chain();
    for i in 0..300 {
        p.write(
            &format!("src/p0/p0/big/G{i}.java"),
            &format!(
                "package p0.big;\n\npublic class G{i} {{\n    public java.util.List<String> f(int n) {{\n        java.util.List<String> l = new java.util.ArrayList<>();\n        for (int j = 0; j < n; j++) l.add(\"g{i}\" + j + n);\n        return l.stream().map(s -> s + {i}).toList();\n    }}\n}}\n"
            ),
        );
    }
    p
}

#[test]
fn a_worker_killed_mid_request_still_gives_a_correct_build() {
    let p = big();
    let child = p
        .command(&["--json", "build"])
        .env("KBUILD_JAVAC_WORKER_IDLE", "60")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(
        "the worker starts compiling",
        Duration::from_secs(120),
        || worker_log(&p).contains("request 1 started"),
    );
    let pid = worker_pid(&p);
    kill(pid, "-KILL");
    let b = Build::from(child.wait_with_output().unwrap());
    assert!(b.ok(), "{}", b.stderr);
    assert!(
        b.stderr.contains("javac worker: it closed the connection"),
        "the request in flight ran again as a process:\n{}",
        b.stderr
    );
    let clean = big();
    build_ok(&clean, &["--no-worker"], &[]);
    assert_eq!(outputs(p.dir.path()), outputs(clean.dir.path()));

    // The next invocation starts a new worker.
    p.edit("src/p0/p0/A.java", "return 1;", "return 2;");
    let b = build_ok(&p, &[], &[]);
    assert!(!b.stderr.contains("javac worker:"), "{}", b.stderr);
    assert_ne!(worker_pid(&p), pid);
}

#[test]
fn a_hung_worker_is_killed_and_its_request_runs_as_a_process() {
    let p = chain();
    build_ok(&p, &[], &[]);
    let pid = worker_pid(&p);
    kill(pid, "-STOP");
    p.edit("src/p0/p0/A.java", "return 1;", "return 2;");
    let b = build_ok(&p, &[], &[("KBUILD_JAVAC_WORKER_TIMEOUT", "3")]);
    assert!(
        b.stderr.contains("javac worker: it gave no answer in 3s"),
        "{}",
        b.stderr
    );
    assert!(!alive(pid), "the stopped worker was killed");
    let clean = chain();
    clean.edit("src/p0/p0/A.java", "return 1;", "return 2;");
    build_ok(&clean, &["--no-worker"], &[]);
    assert_eq!(outputs(p.dir.path()), outputs(clean.dir.path()));
}

#[test]
fn an_idle_worker_exits_and_so_does_one_whose_checkout_is_cleaned() {
    let p = chain();
    build_ok(&p, &[], &[("KBUILD_JAVAC_WORKER_IDLE", "2")]);
    let pid = worker_pid(&p);
    let socket = socket_of(pid);
    assert!(socket.exists(), "{socket:?}");
    wait_until("the idle worker exits", Duration::from_secs(30), || {
        !alive(pid)
    });
    assert!(!socket.exists(), "it removed its socket");
    assert!(worker_file(&p, "pid").is_none(), "and its pid file");

    p.edit("src/p0/p0/A.java", "return 1;", "return 2;");
    build_ok(&p, &[], &[]);
    let pid = worker_pid(&p);
    assert!(alive(pid));
    let clean = kbuild(&p, &["clean"], &[]);
    assert!(clean.ok(), "{}", clean.stderr);
    wait_until(
        "a cleaned checkout's worker exits",
        Duration::from_secs(30),
        || !alive(pid),
    );
}

#[test]
fn no_worker_starts_none() {
    let flag = chain();
    build_ok(&flag, &["--no-worker"], &[]);
    let env = chain();
    build_ok(&env, &[], &[("KBUILD_JAVAC_WORKER", "off")]);
    let file = chain();
    file.edit("kbuild.edn", "{:targets", "{:javac-worker false\n :targets");
    build_ok(&file, &[], &[]);
    for p in [&flag, &env, &file] {
        assert!(!worker_dir(p).exists());
        assert_eq!(workers_of(p), Vec::<i32>::new());
    }
    // The setting changes how, not what: no target is rebuilt for it.
    file.edit("kbuild.edn", "{:javac-worker false\n :targets", "{:targets");
    let b = build_ok(&file, &[], &[]);
    assert!(b.executed().is_empty(), "{}", b.stderr);
    let bad = chain();
    bad.edit("kbuild.edn", "{:targets", "{:javac-worker 1\n :targets");
    let b = kbuild(&bad, &["build"], &[]);
    assert_eq!(b.code, Some(2), "{}", b.stderr);
    assert!(b.stderr.contains("kbuild.edn:1:"), "{}", b.stderr);
}

/// The worker alone, as Bazel would run it: `--persistent_worker`, requests on stdin, answers
/// on stdout, each answer naming its request, in whatever order they finish.
#[test]
fn the_worker_speaks_bazel_s_json_protocol_on_stdin() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let source =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("worker/KbuildJavacWorker.java");
    let classes = dir.path().join("classes");
    let javac = std::process::Command::new("javac")
        .arg("-d")
        .arg(&classes)
        .arg(&source)
        .status()
        .unwrap();
    assert!(javac.success());
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("src/Ok.java"),
        "class Ok { int f() { return 1; } }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("src/Bad.java"),
        "class Bad { int f() { return x; } }\n",
    )
    .unwrap();
    let mut worker = std::process::Command::new("java")
        .args([
            "-cp",
            classes.to_str().unwrap(),
            "KbuildJavacWorker",
            "--persistent_worker",
        ])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let here = std::fs::canonicalize(dir.path()).unwrap();
    let requests = [
        serde_json::json!({"arguments": ["-d", "out", "src/Ok.java"], "requestId": 7,
                           "inputs": [{"path": "src/Ok.java", "digest": "x"}]}),
        serde_json::json!({"arguments": ["-d", "out", "src/Bad.java"], "requestId": 8,
                           "sandboxDir": here.to_str().unwrap()}),
        serde_json::json!({"arguments": ["-d", "out", "src/Ok.java"], "requestId": 9,
                           "sandboxDir": "/"}),
    ];
    let mut stdin = worker.stdin.take().unwrap();
    for r in &requests {
        writeln!(stdin, "{r}").unwrap();
    }
    drop(stdin);
    let out = worker.wait_with_output().unwrap();
    assert!(out.status.success());
    let mut answers: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    answers.sort_by_key(|a| a["requestId"].as_i64());
    assert_eq!(answers.len(), 3, "{answers:?}");
    assert_eq!(answers[0]["exitCode"], 0);
    assert_eq!(answers[0]["output"], "");
    assert_eq!(answers[1]["exitCode"], 1);
    let javac = std::process::Command::new("javac")
        .args(["-d", "out", "src/Bad.java"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        answers[1]["output"],
        String::from_utf8(javac.stderr).unwrap()
    );
    // Paths resolve in the worker's directory: it runs no request meant for another.
    assert_eq!(answers[2]["exitCode"], 125);
    assert!(dir.path().join("out/Ok.class").is_file());
}
