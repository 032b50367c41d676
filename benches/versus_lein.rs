//! kbuild next to Leiningen on the same project (fixtures/lein-mixed), offline against a
//! copy of Debian's Maven repository, printed side by side:
//! - `kbuild test` with unchanged inputs (a cached outcome) vs `lein test`;
//! - time to a usable REPL (a form typed on stdin answered) for `kbuild repl` vs `lein repl`.
//!
//! `cargo bench --bench versus_lein` (env RUNS: timed runs per figure, default 5).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{copy_dir, kbuild, lein};

fn time(mut c: Command) -> Duration {
    let t = Instant::now();
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{:?} failed:\n{}{}",
        c,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    t.elapsed()
}

/// Starts a REPL, types `(+ 40 2)`, and times until `42` comes back.
fn repl(mut c: Command) -> Duration {
    let t = Instant::now();
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"(+ 40 2)\n")
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        let n = lines.read_line(&mut line).unwrap();
        assert!(n > 0, "the REPL ended before answering");
        if line.contains("42") {
            break;
        }
    }
    let took = t.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    // lein repl leaves its server JVM behind when its client is killed.
    let _ = Command::new("pkill").args(["-f", "nrepl.server"]).status();
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
        .unwrap_or(5);
    let work = tempfile::tempdir().unwrap();
    let m2: PathBuf = work.path().join("m2");
    copy_dir(Path::new("/usr/share/maven-repo"), &m2);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/lein-mixed");
    let (kp, lp) = (
        work.path().join("kbuild-project"),
        work.path().join("lein-project"),
    );
    copy_dir(&fixture, &kp);
    copy_dir(&fixture, &lp);

    let lein_test: Vec<Duration> = (0..runs).map(|_| time(lein(&lp, &m2, &["test"]))).collect();
    let cold = time(kbuild(&kp, &m2, &["test"]));
    let kb_test: Vec<Duration> = (0..runs)
        .map(|_| time(kbuild(&kp, &m2, &["test"])))
        .collect();
    let lein_repl: Vec<Duration> = (0..runs).map(|_| repl(lein(&lp, &m2, &["repl"]))).collect();
    let kb_repl: Vec<Duration> = (0..runs)
        .map(|_| repl(kbuild(&kp, &m2, &["repl"])))
        .collect();

    println!("fixtures/lein-mixed, median of {runs} runs (seconds)");
    println!("{:<38} {:>8} {:>8}", "", "kbuild", "lein");
    println!(
        "{:<38} {:>8.2} {:>8.2}",
        "test, inputs unchanged",
        median(kb_test),
        median(lein_test)
    );
    println!(
        "{:<38} {:>8.2} {:>8}",
        "test, first run (javac, AOT, JVM)",
        cold.as_secs_f64(),
        "-"
    );
    println!(
        "{:<38} {:>8.2} {:>8.2}",
        "repl: start to first answer",
        median(kb_repl),
        median(lein_repl)
    );
}
