//! The Java edits people make all day, kbuild next to `lein javac` in one run: a generated
//! project of PACKAGES chained packages of CLASSES classes each (p0 <- p1 <- ... : every class
//! of p(i+1) calls p(i)), built
//! - by `lein javac` from a project.clj with one `:java-source-paths`;
//! - by kbuild from the same project.clj (one `java` target);
//! - by kbuild from a kbuild.edn with one `:java-library` per package, with the warm javac
//!   worker and with `--no-worker` (a javac process per target).
//!
//! For each: a cold build, then the median of RUNS timed builds after each kind of edit: a
//! method body at the bottom (p0) and at the top of the chain, a `static final` constant at the
//! bottom, a public signature at the bottom (a new method), and every file touched (same bytes,
//! new mtimes). `cargo bench --bench java_edits` (env PACKAGES, default 50; CLASSES, default 40;
//! RUNS, default 3; TOOLS, a comma-separated list of words that pick the columns whose names
//! contain one, default all). The worker's JVM is cold at each column's cold build: each
//! checkout has its own.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `extra`: a public method `extraN` more, a signature change (a new N each run, so that no
/// run returns to a state an earlier one built).
fn class_source(p: usize, c: usize, body: &str, constant: usize, extra: Option<usize>) -> String {
    let mut s = format!("package p{p};\n\npublic class C{c} {{\n");
    let _ = writeln!(s, "    public static final int K = {constant};\n");
    let _ = writeln!(s, "    public static int f(int x) {{");
    if p == 0 {
        let _ = writeln!(s, "        return x * {c} + K{body};");
    } else {
        let _ = writeln!(s, "        return p{}.C{c}.f(x) + {c}{body};", p - 1);
    }
    let _ = writeln!(s, "    }}");
    if let Some(n) = extra {
        let _ = writeln!(s, "\n    public static int extra{n}() {{ return 0; }}");
    }
    s.push_str("}\n");
    s
}

fn write_class(root: &Path, p: usize, c: usize, body: &str, constant: usize, extra: Option<usize>) {
    let dir = root.join(format!("java/p{p}"));
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join(format!("C{c}.java")),
        class_source(p, c, body, constant, extra),
    )
    .unwrap();
}

/// The sources, and a project.clj unless the project is the kbuild.edn chain (beside a
/// project.clj, its `java` target would compile every file again on every edit).
fn generate(root: &Path, packages: usize, classes: usize, clj: bool) {
    for p in 0..packages {
        for c in 0..classes {
            write_class(root, p, c, "", 1, None);
        }
    }
    if !clj {
        return;
    }
    fs::write(
        root.join("project.clj"),
        "(defproject bench/java-edits \"0.1.0\"\n  :dependencies []\n  :java-source-paths [\"java\"])\n",
    )
    .unwrap();
}

fn kbuild_edn(root: &Path, packages: usize) {
    let mut edn = String::from("{:targets {\n");
    for p in 0..packages {
        let deps = if p == 0 {
            String::new()
        } else {
            format!(" :deps [p{}]", p - 1)
        };
        let _ = writeln!(
            edn,
            "  p{p} {{:rule :java-library :srcs [\"java/p{p}/**/*.java\"]{deps}}}"
        );
    }
    edn.push_str("}}\n");
    fs::write(root.join("kbuild.edn"), edn).unwrap();
}

fn run(mut c: Command) -> Duration {
    let t = Instant::now();
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    t.elapsed()
}

struct Tool {
    name: &'static str,
    dir: std::path::PathBuf,
    command: fn(&Path, &Path) -> Command,
}

/// Both tools resolve offline from one copy of Debian's Maven repository (Leiningen's base
/// profile adds nREPL).
fn lein_javac(dir: &Path, m2: &Path) -> Command {
    common::lein(dir, m2, &["javac"])
}

fn kbuild_build(dir: &Path, m2: &Path) -> Command {
    common::kbuild(dir, m2, &["build"])
}

fn kbuild_no_worker(dir: &Path, m2: &Path) -> Command {
    let mut c = kbuild_build(dir, m2);
    c.arg("--no-worker");
    c
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64()
}

fn main() {
    let packages = env_or("PACKAGES", 50);
    let classes = env_or("CLASSES", 40);
    let runs = env_or("RUNS", 3);
    let work = tempfile::tempdir().unwrap();
    let m2 = work.path().join("m2");
    common::copy_dir(Path::new("/usr/share/maven-repo"), &m2);
    let mk = |name: &str, edn: bool| {
        let dir = work.path().join(name);
        generate(&dir, packages, classes, !edn);
        if edn {
            kbuild_edn(&dir, packages);
        }
        dir
    };
    let tools = [
        Tool {
            name: "lein javac (project.clj)",
            dir: mk("lein", false),
            command: lein_javac,
        },
        Tool {
            name: "kbuild (project.clj)",
            dir: mk("kbuild-clj", false),
            command: kbuild_build,
        },
        Tool {
            name: "kbuild (chain, worker)",
            dir: mk("kbuild-edn", true),
            command: kbuild_build,
        },
        Tool {
            name: "kbuild (chain, --no-worker)",
            dir: mk("kbuild-edn-no-worker", true),
            command: kbuild_no_worker,
        },
    ];
    let picked = std::env::var("TOOLS").unwrap_or_default();
    let tools: Vec<Tool> = tools
        .into_iter()
        .filter(|t| picked.is_empty() || picked.split(',').any(|w| t.name.contains(w.trim())))
        .collect();
    let top = packages - 1;
    type Edit = Box<dyn Fn(&Path, usize)>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "body edit at the bottom",
            Box::new(|d: &Path, i: usize| write_class(d, 0, 0, &format!(" + {}", i + 1), 1, None)),
        ),
        (
            "body edit at the top",
            Box::new(move |d: &Path, i: usize| {
                write_class(d, top, 0, &format!(" + {}", i + 1), 1, None)
            }),
        ),
        (
            "constant change at the bottom",
            Box::new(|d: &Path, i: usize| write_class(d, 0, 0, "", i + 2, None)),
        ),
        (
            "signature change at the bottom",
            Box::new(|d: &Path, i: usize| write_class(d, 0, 0, "", 1, Some(i))),
        ),
        (
            "every file touched",
            Box::new(move |d: &Path, _| {
                for p in 0..packages {
                    for c in 0..classes {
                        let f = d.join(format!("java/p{p}/C{c}.java"));
                        let bytes = fs::read(&f).unwrap();
                        fs::write(&f, bytes).unwrap();
                    }
                }
            }),
        ),
    ];
    let mut rows: Vec<(String, Vec<f64>)> = vec![("cold build".to_string(), Vec::new())];
    for (name, _) in &edits {
        rows.push((name.to_string(), Vec::new()));
    }
    for tool in &tools {
        rows[0]
            .1
            .push(run((tool.command)(&tool.dir, &m2)).as_secs_f64());
        for (i, (_, edit)) in edits.iter().enumerate() {
            let times: Vec<Duration> = (0..runs)
                .map(|r| {
                    edit(&tool.dir, r);
                    // Past the racy-stat window, as an edit between two builds is.
                    std::thread::sleep(Duration::from_millis(1100));
                    run((tool.command)(&tool.dir, &m2))
                })
                .collect();
            rows[i + 1].1.push(median(times));
        }
        // Back to the original sources for the next edit kind's baseline.
        generate(&tool.dir, packages, classes, false);
    }
    println!(
        "{packages} packages x {classes} classes = {} Java files, median of {runs} runs (seconds)",
        packages * classes
    );
    print!("{:<32}", "");
    for t in &tools {
        print!(" {:>28}", t.name);
    }
    println!();
    for (name, figures) in rows {
        print!("{name:<32}");
        for f in figures {
            print!(" {f:>28.2}");
        }
        println!();
    }
}
