//! How the no-op grows with the tree: generated trees of 2,500, 20,000 and 100,000 files,
//! half resources (`:resources` targets) and half Clojure sources (`:clojure-library`
//! targets), over 10 targets (and 1,000 for 20,000 files), built once, then timed with
//! nothing to do (process start to exit, median), with the peak memory of a no-op and the
//! cost per file, and `kbuild classpath` on the 1,000-target graph. Next to each, what
//! `stat` of every file costs on this machine: the floor a no-op without a watcher has; and
//! the no-op under `kbuild watch`, after a change no target reads, which needs no stat.
//!
//! `cargo bench --bench scale` (env RUNS: timed runs per figure, default 7; SIZES: a comma
//! list of file counts, default 2500,20000,100000).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// `files` files over `targets` targets: the even ones `:resources` (copied, so each file
/// is an output too), the odd ones `:clojure-library` sources (hashed by their syntax, put
/// on the classpath where they are).
fn generate(root: &Path, files: usize, targets: usize) {
    let per = files / targets;
    let mut edn = String::from("{:targets {\n");
    for t in 0..targets {
        let sources = t % 2 == 1;
        let top = if sources { "src" } else { "res" };
        for i in 0..per {
            let dir = root.join(format!("{top}/t{t}/d{}", i / 100));
            if i % 100 == 0 {
                std::fs::create_dir_all(&dir).unwrap();
            }
            if sources {
                let ns = format!("(ns d{}.f{i})\n\n(defn f [] [{t} {i}])\n", i / 100);
                std::fs::write(dir.join(format!("f{i}.clj")), ns).unwrap();
            } else {
                let text = format!("file {t} {i}\n");
                std::fs::write(dir.join(format!("f{i}.txt")), text).unwrap();
            }
        }
        edn.push_str(&if sources {
            format!("  t{t} {{:rule :clojure-library :paths [\"src/t{t}\"]}}\n")
        } else {
            format!("  t{t} {{:rule :resources :root \"res/t{t}\" :srcs [\"res/t{t}/**\"]}}\n")
        });
    }
    edn.push_str("}}\n");
    std::fs::write(root.join("kbuild.edn"), edn).unwrap();
}

/// Runs kbuild; its wall time and peak resident memory (KiB).
fn kbuild(root: &Path, args: &[&str]) -> (Duration, i64) {
    let started = Instant::now();
    // Waited for with wait4 below, which std's Child cannot do (it gives the peak memory).
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_kbuild"))
        .args(args)
        .current_dir(root)
        .env("CI", "1")
        .env("KBUILD_CACHE", "off")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let took = started.elapsed();
    assert!(
        pid > 0 && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "kbuild {args:?} failed in {}",
        root.display()
    );
    (took, usage.ru_maxrss)
}

/// The median wall time and the largest peak memory of `runs` runs.
fn measure(root: &Path, args: &[&str], runs: usize) -> (f64, i64) {
    let mut times = Vec::new();
    let mut peak = 0;
    for _ in 0..runs {
        let (t, rss) = kbuild(root, args);
        times.push(t);
        peak = peak.max(rss);
    }
    times.sort();
    (times[runs / 2].as_secs_f64() * 1000.0, peak)
}

/// The median time `kbuild watch build` reports for a rerun after a change that no target
/// reads (ms): the watcher vouches for every stat, so the no-op takes none.
fn watch_noop(root: &Path, runs: usize) -> f64 {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_kbuild"))
        .args(["watch", "build"])
        .current_dir(root)
        .env("CI", "1")
        .env("KBUILD_CACHE", "off")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    // The run's time as the watch line gives it, in ms.
    let mut next_run = || loop {
        let line = lines.next().expect("kbuild watch ended").unwrap();
        if let Some(rest) = line.strip_prefix("watch: done in ") {
            let took = rest.split(" (").next().unwrap();
            break match took.strip_suffix(" ms") {
                Some(ms) => ms.parse::<f64>().unwrap(),
                None => took.trim_end_matches(" s").parse::<f64>().unwrap() * 1000.0,
            };
        }
        assert!(!line.starts_with("watch: failed"), "{line}");
    };
    next_run();
    std::fs::create_dir_all(root.join("scratch")).unwrap();
    let mut times = Vec::new();
    // The first reruns take the stats that the first run (which wrote) did not keep.
    for i in 0..runs + 2 {
        std::fs::write(root.join("scratch/note.txt"), format!("{i}\n")).unwrap();
        times.push(next_run());
    }
    let _ = child.kill();
    let _ = child.wait();
    let mut times = times.split_off(2);
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

/// What one stat of every file under `dir` costs, in one thread (ms).
fn stat_floor(dir: &Path) -> f64 {
    let files: Vec<_> = walk(dir);
    let started = Instant::now();
    for f in &files {
        std::fs::symlink_metadata(f).unwrap();
    }
    started.elapsed().as_secs_f64() * 1000.0
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn main() {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let sizes: Vec<usize> = std::env::var("SIZES")
        .unwrap_or_else(|_| "2500,20000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let mut cases: Vec<(usize, usize)> = sizes.iter().map(|&n| (n, 10)).collect();
    if sizes.contains(&20000) {
        cases.push((20000, 1000));
    }
    println!(
        "{:>8} {:>8} {:>12} {:>10} {:>12} {:>12} {:>14}",
        "files", "targets", "no-op ms", "peak MiB", "µs per file", "stat floor", "watching ms"
    );
    for (files, targets) in cases {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), files, targets);
        kbuild(dir.path(), &["build"]);
        // A stat younger than the racy window is not trusted: let the tree age past it.
        std::thread::sleep(Duration::from_millis(1100));
        kbuild(dir.path(), &["build"]);
        let (ms, rss) = measure(dir.path(), &["build"], runs);
        let floor = stat_floor(&dir.path().join("res")) + stat_floor(&dir.path().join("src"));
        let watching = watch_noop(dir.path(), runs);
        println!(
            "{files:>8} {targets:>8} {ms:>12.1} {:>10.1} {:>12.1} {floor:>9.1} ms {watching:>14.1}",
            rss as f64 / 1024.0,
            ms * 1000.0 / files as f64,
        );
        if targets == 1000 {
            let (ms, _) = measure(dir.path(), &["classpath"], runs);
            println!("{:>8} {targets:>8} {ms:>12.1}   (kbuild classpath)", files);
        }
    }
}
