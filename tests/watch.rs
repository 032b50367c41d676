//! `kbuild watch`: the real binary left running on a pipe, files edited under it, Ctrl-C sent
//! as a terminal sends it (SIGINT). Builds run real commands, real javac and a real JVM.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use common::{Project, Server};

/// A `kbuild watch` running, its stdout and stderr read line by line.
struct Watching {
    child: Child,
    lines: Receiver<String>,
}

impl Watching {
    fn start(mut cmd: Command) -> Watching {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = channel();
        let out: Box<dyn Read + Send> = Box::new(child.stdout.take().unwrap());
        let err: Box<dyn Read + Send> = Box::new(child.stderr.take().unwrap());
        for stream in [out, err] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Watching { child, lines }
    }

    /// Everything printed until a line starting with `watch: done`, `watch: started` or
    /// `watch: failed` (the end of one run), which must come within `limit`.
    fn next_run(&self, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        let mut text = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no end of a run within {limit:?}; so far:\n{text}"));
            text.push_str(&line);
            text.push('\n');
            if ["watch: done", "watch: started", "watch: failed"]
                .iter()
                .any(|p| line.starts_with(p))
            {
                return text;
            }
        }
    }

    /// Sends Ctrl-C and returns the exit code and what was printed meanwhile.
    fn interrupt(mut self) -> (Option<i32>, String) {
        // SAFETY: kill(2) with a pid and a signal number.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let rest: String = self.lines.try_iter().map(|l| l + "\n").collect();
                return (status.code(), rest);
            }
            assert!(
                Instant::now() < deadline,
                "kbuild watch did not stop on Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The one file named `name` under kbuild's outputs.
fn output(p: &Project, name: &str) -> String {
    let found: Vec<Vec<u8>> = common::outputs(p.dir.path())
        .into_iter()
        .filter(|(rel, _)| rel.rsplit('/').next() == Some(name))
        .map(|(_, bytes)| bytes)
        .collect();
    assert_eq!(found.len(), 1, "{name} among the outputs");
    String::from_utf8(found[0].clone()).unwrap()
}

const BUILD_FILE: &str = "{:targets {gen {:rule :command :srcs [\"in.txt\"] :outs [\"out.txt\"]\n\
    \x20                 :cmd [\"sh\" \"-c\" \"tr a-z A-Z < in.txt > $OUT/out.txt\"]}}}\n";

#[test]
fn watch_build_reruns_after_each_edit_and_stops_on_ctrl_c() {
    let p = Project::empty();
    p.write("kbuild.edn", BUILD_FILE);
    p.write("in.txt", "hello\n");
    let w = Watching::start(p.command(&["watch", "build"]));
    let first = w.next_run(Duration::from_secs(60));
    assert!(first.contains("watch: done"), "{first}");
    assert_eq!(output(&p, "out.txt"), "HELLO\n");

    p.write("in.txt", "world\n");
    let run = w.next_run(Duration::from_secs(60));
    assert!(
        run.contains("watch: in.txt changed") && run.contains("watch: done"),
        "{run}"
    );
    assert_eq!(output(&p, "out.txt"), "WORLD\n");

    // What tools write (kbuild's state, outputs, a VCS, editors' backups) wakes nothing: the
    // next run is the edit's, and says only it changed.
    p.write("target/other/x.txt", "x");
    p.write(".kbuild/junk", "x");
    p.write(".git/HEAD", "ref: refs/heads/main\n");
    p.write("in.txt~", "backup");
    std::thread::sleep(Duration::from_millis(1500));
    p.write("in.txt", "again\n");
    let run = w.next_run(Duration::from_secs(60));
    let changed: Vec<&str> = run.lines().filter(|l| l.ends_with(" changed")).collect();
    assert_eq!(changed, ["watch: in.txt changed"], "{run}");
    assert_eq!(output(&p, "out.txt"), "AGAIN\n");

    // A broken build file is reported with its place, and the watch goes on.
    p.write("kbuild.edn", "{:targets {gen\n");
    let run = w.next_run(Duration::from_secs(60));
    assert!(
        run.contains("error: kbuild.edn:") && run.contains("watch: failed"),
        "{run}"
    );
    p.write("kbuild.edn", BUILD_FILE);
    let run = w.next_run(Duration::from_secs(60));
    assert!(run.contains("watch: done"), "{run}");

    let (code, rest) = w.interrupt();
    assert_eq!(code, Some(0), "{rest}");
    assert!(rest.contains("watch: stopped"), "{rest}");
}

#[test]
fn watch_names_what_it_can_rerun() {
    let p = Project::empty();
    p.write("kbuild.edn", BUILD_FILE);
    let out = p.run(&["watch", "clean"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("kbuild watch runs build, test, run"), "{err}");
}

/// The clj-app fixture with Debian's Clojure served on 127.0.0.1.
fn clj_app() -> (Project, Server, tempfile::TempDir, tempfile::TempDir) {
    let p = Project::new("clj-app");
    let repo = tempfile::tempdir().unwrap();
    common::clojure_repo(repo.path());
    let server = Server::serve(repo.path());
    p.edit("kbuild.edn", "REPO_URL", &server.url);
    (p, server, repo, tempfile::tempdir().unwrap())
}

#[test]
fn watch_test_reruns_the_namespaces_an_edit_reaches() {
    let (p, _server, _repo, local) = clj_app();
    let w = Watching::start(p.command(&[
        "--local-repo",
        local.path().to_str().unwrap(),
        "watch",
        "test",
    ]));
    let first = w.next_run(Duration::from_secs(300));
    assert!(
        first.contains("Testing app.core-test")
            && first.contains("Testing app.more-test")
            && first.contains("Ran 3 tests containing 4 assertions.")
            && first.contains("watch: done"),
        "{first}"
    );

    // A new test in one namespace: that namespace runs, the other's outcome is the cache's.
    p.write(
        "test/app/more_test.clj",
        &(p.read("test/app/more_test.clj")
            + "\n(deftest small-numbers\n  (is (= 2 (core/add 1 1))))\n"),
    );
    let run = w.next_run(Duration::from_secs(300));
    assert!(
        run.contains("Testing app.core-test (cached)")
            && run.lines().any(|l| l == "Testing app.more-test")
            && run.contains("Ran 4 tests containing 5 assertions")
            && run.contains("watch: done"),
        "{run}"
    );

    // A failing test fails the run, and the watch goes on to the fix.
    p.edit(
        "test/app/more_test.clj",
        "(= 2 (core/add 1 1))",
        "(= 3 (core/add 1 1))",
    );
    let run = w.next_run(Duration::from_secs(300));
    assert!(
        run.contains("1 failures") && run.contains("watch: failed"),
        "{run}"
    );
    p.edit(
        "test/app/more_test.clj",
        "(= 3 (core/add 1 1))",
        "(= 2 (core/add 1 1))",
    );
    let run = w.next_run(Duration::from_secs(300));
    assert!(
        run.contains("0 failures") && run.contains("watch: done"),
        "{run}"
    );

    let (code, rest) = w.interrupt();
    assert_eq!(code, Some(0), "{rest}");
}

#[test]
fn watch_run_ends_the_program_and_starts_it_again_after_an_edit() {
    let (p, _server, _repo, local) = clj_app();
    p.write(
        "src/clj/app/serve.clj",
        "(ns app.serve)\n(defn -main []\n  (println \"serving\" (slurp \"msg.txt\"))\n  (Thread/sleep 600000))\n",
    );
    p.write("msg.txt", "one");
    let w = Watching::start(p.command(&[
        "--local-repo",
        local.path().to_str().unwrap(),
        "watch",
        "run",
        "-m",
        "app.serve",
    ]));
    let first = w.next_run(Duration::from_secs(300));
    assert!(first.contains("watch: started"), "{first}");
    let wait_for = |want: &str| {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut seen = String::new();
        while Instant::now() < deadline {
            if let Ok(line) = w.lines.recv_timeout(Duration::from_millis(200)) {
                seen.push_str(&line);
                seen.push('\n');
                if line == want {
                    return seen;
                }
            }
        }
        panic!("no line {want:?} within two minutes:\n{seen}");
    };
    wait_for("serving one");
    p.write("msg.txt", "two");
    let seen = wait_for("serving two");
    assert!(seen.contains("watch: msg.txt changed"), "{seen}");
    // One program at a time: the first was ended before the second started.
    assert_eq!(programs(&p, "app.serve"), 1);

    let (code, rest) = w.interrupt();
    assert_eq!(code, Some(0), "{rest}");
    // Ctrl-C ended the program too.
    assert_eq!(programs(&p, "app.serve"), 0);
}

/// How many JVMs run `main` with a classpath in the project.
fn programs(p: &Project, main: &str) -> usize {
    let out = Command::new("pgrep")
        .args(["-f", "-c", &format!("{}.* -m {main}", p.path("").display())])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}
