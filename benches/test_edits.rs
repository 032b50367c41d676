//! The Clojure edit-test loop, kbuild next to Leiningen: a generated project.clj project of
//! 60 source and 60 test namespaces (each test namespace requires one source namespace, and
//! every source namespace a shared base), offline against a copy of Debian's Maven
//! repository. Timed after a one-line edit of a leaf source namespace (one that only its own
//! test requires): `kbuild test`, which reruns that namespace only, and `lein test`, which
//! runs all; `kbuild test --force` shows the cost of one JVM over every namespace. kbuild's
//! runs after an edit take the spare JVM the run before left (its start waited for, as the
//! seconds between two saves would); `--no-warm` shows the same without it. `kbuild watch
//! test` is timed from the save to the end of its run's output.
//!
//! `cargo bench --bench test_edits` (env RUNS: timed runs per figure, default 3).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::{copy_dir, kbuild, lein};

const NAMESPACES: usize = 60;
const LEAF: usize = 37;

fn generate(dir: &Path) {
    let write = |rel: String, text: String| {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "project.clj".into(),
        "(defproject bench/gen \"0.1.0\" :dependencies [[org.clojure/clojure \"1.11.1\"]])\n"
            .into(),
    );
    write(
        "src/gen/base.clj".into(),
        "(ns gen.base\n  (:require [clojure.string :as str]))\n\n(defn label [x] (str/upper-case (str \"n\" x)))\n".into(),
    );
    for i in 0..NAMESPACES {
        write(
            format!("src/gen/m{i}.clj"),
            format!(
                "(ns gen.m{i}\n  (:require [gen.base :as base]))\n\n(defn value [] {i})\n\n\
                 (defn label [] (base/label (value)))\n\n(defn sum [xs] (reduce + (map #(* % (value)) xs)))\n"
            ),
        );
        let tests: String = (0..5)
            .map(|t| {
                format!(
                    "(deftest t{t}\n  (is (number? (m/value)))\n  (is (string? (m/label)))\n  (is (= (* {t} (m/value)) (m/sum [{t}]))))\n\n"
                )
            })
            .collect();
        write(
            format!("test/gen/m{i}_test.clj"),
            format!(
                "(ns gen.m{i}-test\n  (:require [clojure.test :refer [deftest is]]\n            [gen.m{i} :as m]))\n\n{tests}"
            ),
        );
    }
}

/// Runs it; the time, and the totals line it printed.
fn time(mut c: Command) -> (Duration, String) {
    let t = Instant::now();
    let out = c.output().unwrap();
    let took = t.elapsed();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{c:?} failed:\n{text}");
    let totals = text
        .lines()
        .rfind(|l| l.starts_with("Ran "))
        .unwrap_or("")
        .to_string();
    (took, totals)
}

/// Waits (up to a minute) for the spare JVM the last `kbuild test` left.
fn spare_ready(dir: &Path) {
    let t = Instant::now();
    let ready = || {
        std::fs::read_dir(dir.join(".kbuild/warm"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "sock"))
    };
    while !ready() && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The one-line edit: the leaf's value, a different one each run.
fn edit_leaf(dir: &Path, run: usize) {
    let path = dir.join(format!("src/gen/m{LEAF}.clj"));
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find("(defn value [] ").unwrap() + "(defn value [] ".len();
    let end = start + text[start..].find(')').unwrap();
    let edited = format!("{}{}{}", &text[..start], 1000 + run, &text[end..]);
    std::fs::write(&path, edited).unwrap();
}

/// `kbuild watch test` left running: the time from each leaf edit to the end of the run it
/// causes (the `watch: done` line).
fn watch_edits(dir: &Path, m2: &Path, runs: usize) -> Vec<Duration> {
    use std::io::{BufRead, BufReader};
    let mut child = kbuild(dir, m2, &["watch", "test"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let run_ends = || loop {
        let line = lines
            .recv_timeout(Duration::from_secs(300))
            .expect("kbuild watch test prints the end of each run");
        assert!(!line.starts_with("watch: failed"), "{line}");
        if line.starts_with("watch: done") {
            return;
        }
    };
    run_ends();
    let mut took = Vec::new();
    for run in 0..runs {
        spare_ready(dir);
        let t = Instant::now();
        edit_leaf(dir, 100 + run);
        run_ends();
        took.push(t.elapsed());
    }
    let _ = child.kill();
    let _ = child.wait();
    took
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64()
}

fn main() {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let work = tempfile::tempdir().unwrap();
    let m2 = work.path().join("m2");
    copy_dir(Path::new("/usr/share/maven-repo"), &m2);
    let (kp, lp) = (work.path().join("kbuild"), work.path().join("lein"));
    generate(&kp);
    generate(&lp);

    let (_, lein_totals) = time(lein(&lp, &m2, &["test"]));
    let (cold, kb_totals) = time(kbuild(&kp, &m2, &["test"]));
    let mut lein_edit = Vec::new();
    let mut kb_edit = Vec::new();
    let mut kb_cold = Vec::new();
    let mut kb_force = Vec::new();
    let mut last = String::new();
    for run in 0..runs {
        edit_leaf(&lp, run);
        lein_edit.push(time(lein(&lp, &m2, &["test"])).0);
        edit_leaf(&kp, 2 * run);
        spare_ready(&kp);
        let (t, totals) = time(kbuild(&kp, &m2, &["test"]));
        kb_edit.push(t);
        last = totals;
        edit_leaf(&kp, 2 * run + 1);
        kb_cold.push(time(kbuild(&kp, &m2, &["test", "--no-warm"])).0);
        kb_force.push(time(kbuild(&kp, &m2, &["test", "--force", "--no-warm"])).0);
    }
    let kb_watch = watch_edits(&kp, &m2, runs);
    let (kb, le) = (median(kb_edit), median(lein_edit));
    println!("{NAMESPACES} source + {NAMESPACES} test namespaces, median of {runs} runs (seconds)");
    println!("{:<44} {:>8} {:>8}", "", "kbuild", "lein");
    println!("{:<44} {:>8.2} {:>8.2}", "test after a leaf edit", kb, le);
    println!(
        "{:<44} {:>8.2} {:>8}",
        "watch test: leaf edit saved to result",
        median(kb_watch),
        "-"
    );
    println!(
        "{:<44} {:>8.2} {:>8}",
        "test after a leaf edit, --no-warm",
        median(kb_cold),
        "-"
    );
    println!(
        "{:<44} {:>8.2} {:>8}",
        "test --force (every namespace, one JVM)",
        median(kb_force),
        "-"
    );
    println!(
        "{:<44} {:>8.2} {:>8}",
        "test, first run",
        cold.as_secs_f64(),
        "-"
    );
    println!("lein test after a leaf edit is {:.1}x kbuild's", le / kb);
    println!(
        "lein:   {lein_totals}\nkbuild: {kb_totals} (first run)\nkbuild: {last} (after an edit)"
    );
}
