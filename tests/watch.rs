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

/// One change to the tree under `res/`, by indices into small pools of directories and
/// names, so that generated steps meet the same paths again.
#[derive(Clone, Debug)]
enum Step {
    Write {
        dir: usize,
        file: usize,
        text: u8,
    },
    Remove {
        dir: usize,
        file: usize,
    },
    RemoveDir {
        dir: usize,
    },
    RenameDir {
        from: usize,
        to: usize,
    },
    /// The same bytes written again: a new stat, the same content.
    Rewrite {
        dir: usize,
        file: usize,
    },
    /// `res/l`, a symbolic link to a directory of the tree (two names for it).
    Link {
        dir: usize,
    },
}

const DIRS: &[&str] = &["a", "b", "a/c", "d/e"];
const FILES: &[&str] = &["1.txt", "2.txt", "3.dat"];

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    let (d, f) = (0..DIRS.len(), 0..FILES.len());
    prop_oneof![
        4 => (d.clone(), f.clone(), any::<u8>()).prop_map(|(dir, file, text)| Step::Write { dir, file, text }),
        2 => (d.clone(), f.clone()).prop_map(|(dir, file)| Step::Remove { dir, file }),
        1 => d.clone().prop_map(|dir| Step::RemoveDir { dir }),
        1 => (d.clone(), d.clone()).prop_map(|(from, to)| Step::RenameDir { from, to }),
        2 => (d.clone(), f).prop_map(|(dir, file)| Step::Rewrite { dir, file }),
        1 => d.prop_map(|dir| Step::Link { dir }),
    ]
}

/// Applies `step`; a step that would change nothing (removing what is not there) writes a
/// file instead, so that every step wakes the watch.
fn apply(res: &std::path::Path, step: &Step) {
    use std::fs;
    let fallback = |dir: usize| {
        fs::create_dir_all(res.join(DIRS[dir])).unwrap();
        fs::write(res.join(DIRS[dir]).join("1.txt"), "fallback\n").unwrap();
    };
    match *step {
        Step::Write { dir, file, text } => {
            fs::create_dir_all(res.join(DIRS[dir])).unwrap();
            let body = format!("{} {text}\n", FILES[file]);
            fs::write(res.join(DIRS[dir]).join(FILES[file]), body).unwrap();
        }
        Step::Remove { dir, file } => {
            match fs::remove_file(res.join(DIRS[dir]).join(FILES[file])) {
                Ok(()) => {}
                Err(_) => fallback(dir),
            }
        }
        Step::RemoveDir { dir } => match fs::remove_dir_all(res.join(DIRS[dir])) {
            Ok(()) => {}
            Err(_) => fallback(dir),
        },
        Step::RenameDir { from, to } => {
            let (a, b) = (res.join(DIRS[from]), res.join(DIRS[to]));
            if a.is_dir() && !b.exists() && !b.starts_with(&a) {
                fs::create_dir_all(b.parent().unwrap()).unwrap();
                fs::rename(&a, &b).unwrap();
            } else {
                fallback(from);
            }
        }
        Step::Rewrite { dir, file } => {
            let at = res.join(DIRS[dir]).join(FILES[file]);
            match fs::read(&at) {
                Ok(bytes) => fs::write(&at, bytes).unwrap(),
                Err(_) => fallback(dir),
            }
        }
        Step::Link { dir } => {
            let link = res.join("l");
            let _ = fs::remove_file(&link);
            fs::create_dir_all(res.join(DIRS[dir])).unwrap();
            std::os::unix::fs::symlink(DIRS[dir], &link).unwrap();
        }
    }
}

/// Every file under `dir` (following links, as the globs do), by its path from `dir`.
fn tree(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        // A link whose directory was removed or renamed leads nowhere: nothing to copy.
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

/// A `:resources` copy of `res/` and a command over its `.txt` files, as a clean build makes
/// them from the tree as it is.
fn expected(p: &Project) -> std::collections::BTreeMap<String, Vec<u8>> {
    let files = tree(&p.path("res"));
    let mut out: std::collections::BTreeMap<String, Vec<u8>> = files
        .iter()
        .map(|(rel, bytes)| (format!("res/{rel}"), bytes.clone()))
        .collect();
    let listed: Vec<u8> = files
        .iter()
        .filter(|(rel, _)| rel.ends_with(".txt"))
        .flat_map(|(rel, bytes)| [format!("{rel}: ").into_bytes(), bytes.clone()].concat())
        .collect();
    out.insert("txt/list.txt".into(), listed);
    out
}

const TREE_BUILD_FILE: &str = "{:targets {res {:rule :resources :root \"res\" :srcs [\"res/**\"]}\n\
    \x20          txt {:rule :command :srcs [\"res/**/*.txt\"] :outs [\"list.txt\"]\n\
    \x20               :cmd [\"sh\" \"-c\" \"cd res && for f in $(find -L . -name '*.txt' | cut -c3- | LC_ALL=C sort); do printf '%s: ' $f; cat $f; done > $OUT/list.txt\"]}}}\n";

impl Watching {
    /// The run a change started, and any run that follows it at once (events that came in
    /// after the first one settled), so that the next change starts a run of its own.
    fn runs_after_change(&self) -> String {
        let mut text = self.next_run(Duration::from_secs(60));
        loop {
            let more: String = match self.lines.recv_timeout(Duration::from_millis(400)) {
                Ok(line) => line + "\n",
                Err(_) => return text,
            };
            text.push_str(&more);
            if !more.starts_with("watch: done") {
                text.push_str(&self.next_run(Duration::from_secs(60)));
            }
        }
    }

    /// The counts the last `watch: done` line of `text` gives: stats known, stats taken.
    fn stat_counts(text: &str) -> (u64, u64) {
        let line = text
            .lines()
            .rfind(|l| l.starts_with("watch: done"))
            .unwrap();
        let inside = line.split_once('(').unwrap().1;
        let numbers: Vec<u64> = inside
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        (numbers[0], numbers[1])
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 3, max_shrink_iters: 0, failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Under `kbuild watch`, every build after a generated change (files written, rewritten
    /// with the same bytes, removed; directories removed and renamed; a directory given a
    /// second name by a link) makes what a clean build of the tree makes, although the
    /// watcher's word stands in for the stats; and once nothing changes, a rerun takes no
    /// stat of the tree.
    #[test]
    fn builds_under_a_watcher_equal_clean_ones_and_a_no_op_takes_no_stat(
        steps in proptest::collection::vec(step(), 10)
    ) {
        let p = Project::empty();
        p.write("kbuild.edn", TREE_BUILD_FILE);
        p.write("res/a/1.txt", "one\n");
        p.write("res/b/2.txt", "two\n");
        p.write("scratch/note.txt", "");
        let w = Watching::start(p.command(&["watch", "build"]));
        let first = w.next_run(Duration::from_secs(60));
        assert!(first.contains("watch: done"), "{first}");
        assert_eq!(common::outputs(p.dir.path()), expected(&p));
        for (i, step) in steps.iter().enumerate() {
            apply(&p.path("res"), step);
            let run = w.runs_after_change();
            assert!(run.contains("watch: done"), "step {i} {step:?}:\n{run}");
            assert_eq!(common::outputs(p.dir.path()), expected(&p), "after step {i} {step:?}:\n{run}");
        }
        // What is reached through a link is never taken on the watcher's word.
        if std::fs::symlink_metadata(p.path("res/l")).is_ok() {
            std::fs::remove_file(p.path("res/l")).unwrap();
            w.runs_after_change();
        }
        // Changes no target reads: the first rerun takes the stats the last build (which
        // wrote) did not keep, the next the outputs' (new directories wait one build) and
        // those of directories a new glob listing names; from then on the watcher vouches for
        // every one.
        let mut counts = Vec::new();
        for i in 0..4 {
            p.write("scratch/note.txt", &i.to_string());
            counts.push(Watching::stat_counts(&w.runs_after_change()));
        }
        let (known, taken) = counts[3];
        assert!(taken == 0 && known >= 4, "stats known and taken, by rerun: {counts:?}");
        assert_eq!(common::outputs(p.dir.path()), expected(&p));
        let (code, rest) = w.interrupt();
        assert_eq!(code, Some(0), "{rest}");
    }
}

/// A rule that writes into the project (as a prep task does) and a target that copies what it
/// wrote: under a watcher that vouched for the copied file's old stat, the build that runs the
/// rule copies the new content, not the old one that the watcher's event has yet to undo.
#[test]
fn a_file_a_rule_writes_into_the_tree_is_seen_by_the_build_that_wrote_it() {
    let p = Project::empty();
    p.write(
        "kbuild.edn",
        "{:targets {gen {:rule :command :srcs [\"in.txt\"] :outs [\"done\"]\n\
         \x20                :cmd [\"sh\" \"-c\" \"mkdir -p gen && tr a-z A-Z < in.txt > gen/g.txt && touch $OUT/done\"]}\n\
         \x20           copy {:rule :resources :root \"gen\" :srcs [\"gen/**\"] :deps [gen]}}}\n",
    );
    p.write("in.txt", "one\n");
    p.write("scratch/note.txt", "");
    let w = Watching::start(p.command(&["watch", "build"]));
    let first = w.next_run(Duration::from_secs(60));
    assert!(first.contains("watch: done"), "{first}");
    // Let the watcher vouch for gen/g.txt (the first build wrote it, and so kept nothing).
    let mut counts = Vec::new();
    for i in 0..3 {
        p.write("scratch/note.txt", &i.to_string());
        counts.push(Watching::stat_counts(&w.runs_after_change()));
    }
    assert_eq!(
        counts[2].1, 0,
        "stats known and taken, by rerun: {counts:?}"
    );
    assert_eq!(output(&p, "g.txt"), "ONE\n");

    p.write("in.txt", "two\n");
    let run = w.next_run(Duration::from_secs(60));
    assert!(run.contains("watch: in.txt changed"), "{run}");
    assert_eq!(output(&p, "g.txt"), "TWO\n", "{run}");
    let (code, rest) = w.interrupt();
    assert_eq!(code, Some(0), "{rest}");
}
