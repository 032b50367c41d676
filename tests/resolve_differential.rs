//! Differential tests: every fixture case (and some real Debian POMs) is resolved by
//! `kbuild resolve` (the real binary) and by the real `mvn dependency:list` and
//! `dependency:tree`, both from the same loopback HTTP repository; the artifact sets
//! (coordinates, types, classifiers, scopes, optional flags) and the tree drawings must be
//! identical.

#[path = "../resolvers/tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use kbuild_resolvers::Dependency;
use support::{mvn_list_and_tree, Case, Server};

fn have_maven() -> bool {
    Command::new("mvn")
        .arg("-v")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
        && Path::new("/usr/share/maven-repo/org/apache/maven/plugins/maven-dependency-plugin/3.5.0")
            .is_dir()
}

/// Debian's repository, dereferenced, without the `org.apache:apache:18` relocation stub,
/// served as a remote repository for the real-POM cases.
fn debian_repo() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = support::seed_dir("debian-repo");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(Command::new("cp")
            .arg("-rL")
            .arg("/usr/share/maven-repo")
            .arg(&dir)
            .status()
            .expect("cp")
            .success());
        let _ = std::fs::remove_dir_all(dir.join("org/apache/apache/18"));
        let j = dir.join("junit/junit/4.x");
        std::fs::create_dir_all(&j).expect("mkdir");
        std::fs::copy(
            support::mvn_seed().join("junit/junit/4.x/junit-4.x.pom"),
            j.join("junit-4.x.pom"),
        )
        .expect("copy");
        std::fs::copy(
            support::mvn_seed().join("junit/junit/4.x/junit-4.x.jar"),
            j.join("junit-4.x.jar"),
        )
        .expect("copy");
        dir
    })
}

struct Job {
    name: String,
    repo: PathBuf,
    roots: Vec<Dependency>,
    managed: Vec<Dependency>,
    root_lines: Vec<String>,
    managed_lines: Vec<String>,
}

/// `kbuild resolve` on the job's coordinates: the sorted list, or the tree.
fn kbuild_resolve(job: &Job, url: &str, work: &Path, tree: bool) -> Result<String, String> {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kbuild"));
    c.arg("--local-repo").arg(work.join("kb-local")).args([
        "resolve",
        "--allow-http",
        "--repo",
        url,
    ]);
    if tree {
        c.arg("--tree");
    }
    for m in &job.managed_lines {
        c.args(["--managed", m]);
    }
    c.args(&job.root_lines);
    // No ~/.m2/settings.xml of the machine's.
    let out = c
        .env("HOME", work)
        .current_dir(work)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "kbuild resolve failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn run_job(job: &Job) -> Result<(Vec<String>, f64, f64), String> {
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let server = Server::start(&job.repo);
    let t = Instant::now();
    let ours = kbuild_resolve(job, &server.url, work.path(), false).and_then(|list| {
        let tree = kbuild_resolve(job, &server.url, work.path(), true)?;
        Ok((list.lines().map(str::to_string).collect::<Vec<_>>(), tree))
    });
    let kb_time = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let theirs = mvn_list_and_tree(&server.url, &job.roots, &job.managed, work.path());
    let mvn_time = t.elapsed().as_secs_f64();
    // kbuild resolve prints the list sorted; mvn in classpath order (the tree has the order).
    let theirs = theirs.map(|(mut list, tree)| {
        list.sort();
        (list, tree)
    });
    match (ours, theirs) {
        (Ok((a, ta)), Ok((b, tb))) if a == b && ta == tb => Ok((a, kb_time, mvn_time)),
        (Ok((a, ta)), Ok((b, tb))) if a == b => Err(format!(
            "same list, different tree\n--- kbuild:\n{ta}--- mvn:\n{tb}"
        )),
        (Ok((a, _)), Ok((b, _))) => {
            let mut sa = a.clone();
            let mut sb = b.clone();
            sa.sort();
            sb.sort();
            let what = if sa == sb {
                "same set, different order"
            } else {
                "different sets"
            };
            Err(format!("{what}\n  kbuild: {a:?}\n  mvn:    {b:?}"))
        }
        (a, b) => Err(format!("kbuild: {a:?}\n  mvn: {b:?}")),
    }
}

#[test]
fn differential_against_maven() {
    assert!(
        have_maven(),
        "mvn and Debian's maven-dependency-plugin 3.5.0 are installed (.ci/run installs them)"
    );
    let _cleanup = support::SeedCleanup(vec![
        support::seed_dir("mvn-seed"),
        support::seed_dir("debian-repo"),
    ]);
    let started = Instant::now();
    let mut jobs: Vec<Job> = Case::all()
        .into_iter()
        .map(|name| {
            let c = Case::load(&name);
            Job {
                name,
                repo: c.repo,
                roots: c.roots,
                managed: c.managed,
                root_lines: c.root_lines,
                managed_lines: c.managed_lines,
            }
        })
        .collect();
    let debian = debian_repo().to_path_buf();
    for roots in [
        &["org.apache.commons:commons-text:1.10.0"][..],
        &[
            "org.apache.commons:commons-compress:1.22",
            "commons-io:commons-io:2.11.0",
        ],
        &["org.apache.maven:maven-core:3.8.7"],
        &["org.apache.maven:maven-model-builder:3.8.7"],
        &["org.apache.maven.resolver:maven-resolver-impl:1.6.3"],
        &["commons-beanutils:commons-beanutils:1.9.4"],
        &["org.apache.maven.shared:maven-dependency-tree:3.2.1"],
        &["nrepl:nrepl:1.0.0", "org.clojure:clojure:1.11.1"],
        &["org.apache.maven.plugins:maven-dependency-plugin:3.5.0"],
    ] {
        jobs.push(Job {
            name: format!("debian:{}", roots.join("+")),
            repo: debian.clone(),
            roots: roots
                .iter()
                .map(|r| Dependency::parse(r).expect("coord"))
                .collect(),
            managed: vec![],
            root_lines: roots.iter().map(|r| r.to_string()).collect(),
            managed_lines: vec![],
        });
    }
    // KBUILD_DIFF_CASES=a,b runs only the named cases (substring match), for development.
    if let Ok(only) = std::env::var("KBUILD_DIFF_CASES") {
        let only: Vec<&str> = only.split(',').collect();
        jobs.retain(|j| only.iter().any(|o| j.name.contains(o)));
    }
    let total = jobs.len();
    let queue = Mutex::new(jobs);
    let failures = Mutex::new(Vec::new());
    let timings = Mutex::new((0.0f64, 0.0f64));
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let Some(job) = queue.lock().unwrap().pop() else {
                    break;
                };
                match run_job(&job) {
                    Ok((lines, kb, mvn)) => {
                        eprintln!(
                            "ok   {:45} {:3} artifacts  kbuild {kb:.2}s  mvn {mvn:.2}s",
                            job.name,
                            lines.len()
                        );
                        let mut t = timings.lock().unwrap();
                        t.0 += kb;
                        t.1 += mvn;
                    }
                    Err(e) => {
                        eprintln!("FAIL {}: {e}", job.name);
                        failures.lock().unwrap().push(format!("{}: {e}", job.name));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    let (kb, mvn) = timings.into_inner().unwrap();
    eprintln!(
        "{} of {total} cases identical to mvn in {:.1}s (kbuild total {kb:.1}s, mvn total {mvn:.1}s)",
        total - failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} cases differ from mvn:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(total >= 40 || std::env::var("KBUILD_DIFF_CASES").is_ok());
}
