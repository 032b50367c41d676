//! No-op build benchmark: generates a project of ~2,000 Java files and 500 Clojure files in
//! many targets, builds it once, then times repeated `kbuild build` runs with nothing to do
//! (process start to exit) and prints the median. Target: under 50 ms.
//!
//! `cargo bench --bench noop` (env NOOP_RUNS: number of timed runs; NOOP_DIR: where to
//! generate the project, kept afterwards).

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const JAVA_TARGETS: usize = 40;
const CLASSES_PER_TARGET: usize = 50;
const CLOJURE_TARGETS: usize = 10;
const NAMESPACES_PER_TARGET: usize = 50;

fn generate(root: &Path) {
    let mut edn =
        String::from("{:hashers {\"**/*.java\" :java \"**/*.clj\" :clojure}\n :targets {\n");
    for t in 0..JAVA_TARGETS {
        let dir = root.join(format!("java/lib{t}/p{t}"));
        fs::create_dir_all(&dir).unwrap();
        // A layered graph: each library uses the one at half its index.
        let dep = (t > 0).then_some(t / 2);
        for c in 0..CLASSES_PER_TARGET {
            let mut src = format!(
                "package p{t};\n\n/** Generated class {c} of lib{t}. */\npublic class C{c} {{\n"
            );
            let _ = writeln!(src, "    public static int f(int x) {{");
            match dep {
                Some(d) => {
                    let _ = writeln!(src, "        return p{d}.C{c}.f(x) + {c}; // uses lib{d}");
                }
                None => {
                    let _ = writeln!(src, "        return x * {c};");
                }
            }
            let _ = writeln!(
                src,
                "    }}\n\n    public String name() {{ return \"C{c}\"; }}\n}}"
            );
            fs::write(dir.join(format!("C{c}.java")), src).unwrap();
        }
        let deps = dep.map(|d| format!(" :deps [lib{d}]")).unwrap_or_default();
        let _ = writeln!(
            edn,
            "  lib{t} {{:rule :java-library :srcs [\"java/lib{t}/**/*.java\"]{deps}}}"
        );
    }
    for t in 0..CLOJURE_TARGETS {
        let dir = root.join(format!("clj/mod{t}/src/m{t}"));
        fs::create_dir_all(&dir).unwrap();
        for n in 0..NAMESPACES_PER_TARGET {
            let src = format!(
                "(ns m{t}.ns{n}\n  \"Generated namespace.\"\n  (:require [clojure.string :as str]))\n\n;; a comment\n(defn f{n}\n  [x]\n  (str/join \",\" [x {n}]))\n"
            );
            fs::write(dir.join(format!("ns{n}.clj")), src).unwrap();
        }
        let _ = writeln!(
            edn,
            "  clj{t} {{:rule :clojure-library :paths [\"clj/mod{t}/src\"]}}"
        );
    }
    let all: Vec<String> = (0..JAVA_TARGETS)
        .map(|t| format!("lib{t}"))
        .chain((0..CLOJURE_TARGETS).map(|t| format!("clj{t}")))
        .collect();
    let _ = writeln!(edn, "  dist {{:rule :jar :deps [{}]}}}}}}", all.join(" "));
    fs::write(root.join("kbuild.edn"), edn).unwrap();
}

fn kbuild(root: &Path, args: &[&str]) -> Duration {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_kbuild"))
        .args(args)
        .current_dir(root)
        .env("CI", "1")
        // Cold means cold: not restored from an earlier run's machine-wide cache.
        .env("KBUILD_CACHE", "off")
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "kbuild {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: run a short version.
    let runs: usize = std::env::var("NOOP_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(21);
    // NOOP_DIR keeps the generated project for profiling.
    let dir = tempfile::tempdir().unwrap();
    let kept = std::env::var_os("NOOP_DIR").map(std::path::PathBuf::from);
    let root = kept.as_deref().unwrap_or(dir.path());
    let _ = fs::remove_dir_all(root.join(".kbuild"));
    generate(root);
    let cold = kbuild(root, &["build"]);
    let files = JAVA_TARGETS * CLASSES_PER_TARGET + CLOJURE_TARGETS * NAMESPACES_PER_TARGET;
    println!(
        "project: {files} source files ({} Java, {} Clojure) in {} targets",
        JAVA_TARGETS * CLASSES_PER_TARGET,
        CLOJURE_TARGETS * NAMESPACES_PER_TARGET,
        JAVA_TARGETS + CLOJURE_TARGETS + 1
    );
    println!("cold build: {:.0} ms", ms(cold));
    // The first no-op run may still hash files written less than a second before their stat
    // was taken (see RACY_NS); it warms up, the rest are measured.
    std::thread::sleep(Duration::from_millis(1100));
    kbuild(root, &["build"]);
    let mut times: Vec<Duration> = (0..runs).map(|_| kbuild(root, &["build"])).collect();
    times.sort();
    println!(
        "no-op build over {runs} runs: median {:.1} ms, min {:.1} ms, max {:.1} ms (target: < 50 ms)",
        ms(times[runs / 2]),
        ms(times[0]),
        ms(times[runs - 1])
    );
    let explain = Command::new(env!("CARGO_BIN_EXE_kbuild"))
        .args(["explain", "dist"])
        .current_dir(root)
        .env("KBUILD_CACHE", "off")
        .output()
        .unwrap();
    print!("{}", String::from_utf8_lossy(&explain.stdout));
}
