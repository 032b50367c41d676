//! A 500-artifact resolution from a loopback repository, cold and warm, by `kbuild resolve`
//! and by `mvn dependency:list` (issue 14's resolution figure).
//!
//! The repository is generated with a fixed seed: 500 artifacts in five layers, each depending
//! on 2–5 of lower layers (mostly the layer just below), every lower artifact depended on by
//! at least one above; a parent POM per group under one shared parent, whose
//! dependencyManagement (with a property) gives the versions some dependencies leave out;
//! one artifact in twelve also published as 1.1.0 and asked for in that version by some
//! dependents (nearest wins), two of them managed by the root project; small jars (a valid
//! zip each); every file with its `.sha1`, as Maven Central has. The root project depends on
//! the top layer, which reaches all 500. Debian's nginx serves it on 127.0.0.1.
//!
//! Cold: an empty local repository (mvn's holds only the plugins, from a copy of Debian's
//! `/usr/share/maven-repo`), so resolution plus every download; warm: the same again with
//! everything local. Both tools must resolve the same list; the bench fails if they do not.
//! Prints the median of RUNS runs (env, default 5) of each, process start to exit.
//!
//! `cargo bench --bench resolve_scale`

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../resolvers/tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::Nginx;

const GROUPS: [&str; 5] = ["io", "core", "net", "data", "app"];
/// Artifacts per layer, from the leaves up; the root project depends on the last layer.
const LAYERS: [usize; 5] = [150, 130, 100, 75, 45];

/// splitmix64: a fixed seed gives the same repository on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

struct Artifact {
    group: String,
    id: String,
    /// Its group's parent POM (an index into GROUPS).
    family: usize,
    /// Also published as 1.1.0.
    two_versions: bool,
    deps: Vec<usize>,
}

/// What the root project asks for: its dependencies and its dependencyManagement, each
/// `group:artifact:version`.
struct Root {
    deps: Vec<String>,
    managed: Vec<String>,
    artifacts: usize,
}

fn dir_of(root: &Path, group: &str, id: &str, version: &str) -> PathBuf {
    root.join(group.replace('.', "/")).join(id).join(version)
}

fn jar(name: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(&mut bytes));
    let opts = zip::write::SimpleFileOptions::default();
    z.start_file("META-INF/MANIFEST.MF", opts).unwrap();
    z.write_all(b"Manifest-Version: 1.0\r\nCreated-By: kbuild bench\r\n\r\n")
        .unwrap();
    z.start_file(format!("kbench/{name}.txt"), opts).unwrap();
    z.write_all(name.as_bytes()).unwrap();
    z.finish().unwrap();
    bytes
}

fn generate(repo: &Path) -> Root {
    let mut rng = Rng(14);
    let mut arts: Vec<Artifact> = Vec::new();
    let mut layer_start = Vec::new();
    for (layer, &n) in LAYERS.iter().enumerate() {
        layer_start.push(arts.len());
        for i in 0..n {
            let family = rng.below(GROUPS.len());
            arts.push(Artifact {
                group: format!("org.kbench.{}", GROUPS[family]),
                id: format!("{}-l{layer}-{i:03}", GROUPS[family]),
                family,
                two_versions: layer < 3 && arts.len() % 12 == 5,
                deps: Vec::new(),
            });
        }
    }
    layer_start.push(arts.len());
    // 2–5 dependencies each, three in four from the layer just below.
    for layer in 1..LAYERS.len() {
        for a in &mut arts[layer_start[layer]..layer_start[layer + 1]] {
            let want = 2 + rng.below(4);
            while a.deps.len() < want {
                let from = if rng.below(4) < 3 {
                    layer - 1
                } else {
                    rng.below(layer)
                };
                let d = layer_start[from] + rng.below(LAYERS[from]);
                if !a.deps.contains(&d) {
                    a.deps.push(d);
                }
            }
        }
    }
    // Every artifact below the top is some artifact's dependency: the top layer reaches all.
    for layer in 0..LAYERS.len() - 1 {
        for d in layer_start[layer]..layer_start[layer + 1] {
            if !arts.iter().any(|a| a.deps.contains(&d)) {
                let a = layer_start[layer + 1] + rng.below(LAYERS[layer + 1]);
                arts[a].deps.push(d);
            }
        }
    }
    let conflicted: Vec<usize> = (0..arts.len()).filter(|&i| arts[i].two_versions).collect();
    // Each group's parent manages eight artifacts, one in four of them in its 1.1.0.
    let mut family_managed: Vec<Vec<(usize, &str)>> = vec![Vec::new(); GROUPS.len()];
    for managed in family_managed.iter_mut() {
        while managed.len() < 8 {
            let d = rng.below(layer_start[3]);
            if managed.iter().all(|(m, _)| *m != d) {
                let v = if arts[d].two_versions && rng.below(4) == 0 {
                    "1.1.0"
                } else {
                    "${kbench.version}"
                };
                managed.push((d, v));
            }
        }
    }

    let dep_xml = |d: &Artifact, version: Option<&str>| {
        let mut x = format!(
            "<dependency><groupId>{}</groupId><artifactId>{}</artifactId>",
            d.group, d.id
        );
        if let Some(v) = version {
            write!(x, "<version>{v}</version>").unwrap();
        }
        x + "</dependency>"
    };

    support::put_with_sha1(
        &dir_of(repo, "org.kbench", "kbench-parent", "1").join("kbench-parent-1.pom"),
        b"<project><modelVersion>4.0.0</modelVersion><groupId>org.kbench</groupId>\
          <artifactId>kbench-parent</artifactId><version>1</version><packaging>pom</packaging>\
          <properties><kbench.version>1.0.0</kbench.version></properties></project>",
    );
    for (f, g) in GROUPS.iter().enumerate() {
        let managed: String = family_managed[f]
            .iter()
            .map(|(d, v)| dep_xml(&arts[*d], Some(v)))
            .collect();
        let pom = format!(
            "<project><modelVersion>4.0.0</modelVersion>\
             <parent><groupId>org.kbench</groupId><artifactId>kbench-parent</artifactId><version>1</version></parent>\
             <groupId>org.kbench.{g}</groupId><artifactId>{g}-parent</artifactId><version>1</version><packaging>pom</packaging>\
             <dependencyManagement><dependencies>{managed}</dependencies></dependencyManagement></project>"
        );
        support::put_with_sha1(
            &dir_of(
                repo,
                &format!("org.kbench.{g}"),
                &format!("{g}-parent"),
                "1",
            )
            .join(format!("{g}-parent-1.pom")),
            pom.as_bytes(),
        );
    }
    for a in &arts {
        let mut deps = String::new();
        for &d in &a.deps {
            let version = if family_managed[a.family].iter().any(|(m, _)| *m == d) {
                None
            } else if arts[d].two_versions && rng.below(3) == 0 {
                Some("1.1.0")
            } else {
                Some("1.0.0")
            };
            deps += &dep_xml(&arts[d], version);
        }
        let versions: &[&str] = if a.two_versions {
            &["1.0.0", "1.1.0"]
        } else {
            &["1.0.0"]
        };
        for v in versions {
            let dir = dir_of(repo, &a.group, &a.id, v);
            let pom = format!(
                "<project><modelVersion>4.0.0</modelVersion>\
                 <parent><groupId>{}</groupId><artifactId>{}-parent</artifactId><version>1</version></parent>\
                 <artifactId>{}</artifactId><version>{v}</version><name>{} {v}</name>\
                 <dependencies>{deps}</dependencies></project>",
                a.group, GROUPS[a.family], a.id, a.id
            );
            support::put_with_sha1(&dir.join(format!("{}-{v}.pom", a.id)), pom.as_bytes());
            support::put_with_sha1(
                &dir.join(format!("{}-{v}.jar", a.id)),
                &jar(&format!("{}-{v}", a.id)),
            );
        }
    }
    let gav = |i: usize, v: &str| format!("{}:{}:{v}", arts[i].group, arts[i].id);
    Root {
        deps: (layer_start[4]..arts.len())
            .map(|i| gav(i, "1.0.0"))
            .collect(),
        managed: [conflicted[1], conflicted[conflicted.len() / 2]]
            .iter()
            .map(|&i| gav(i, "1.1.0"))
            .collect(),
        artifacts: arts.len(),
    }
}

/// Runs `c`; its wall time and its sorted `dependency:list` lines (`list` parses stdout).
fn timed(mut c: Command, what: &str, list: fn(&str) -> Vec<String>) -> (Duration, Vec<String>) {
    let started = Instant::now();
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{what} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = list(&stdout);
    lines.sort();
    (took, lines)
}

fn kbuild(work: &Path, local: &Path, url: &str, root: &Root) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kbuild"));
    c.arg("--local-repo")
        .arg(local)
        .args(["resolve", "--allow-http", "--repo", url]);
    for m in &root.managed {
        c.args(["--managed", m]);
    }
    c.args(&root.deps)
        .current_dir(work)
        // No ~/.m2/settings.xml of the machine's.
        .env("HOME", work)
        .env("CI", "1")
        .env("KBUILD_CACHE", "off");
    c
}

fn kbuild_list(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn mvn_list(stdout: &str) -> Vec<String> {
    support::list_and_tree(stdout).0
}

/// A root project in `work` (pom.xml, settings.xml mirroring everything to `url`, local
/// repository `local`), and the command that runs `mvn dependency:list` on it.
fn mvn(work: &Path, local: &Path, url: &str, root: &Root) -> Command {
    let settings = format!(
        "<settings><localRepository>{}</localRepository><mirrors><mirror><id>maven-default-http-blocker</id>\
         <mirrorOf>*</mirrorOf><url>{url}</url></mirror></mirrors></settings>",
        local.display()
    );
    std::fs::write(work.join("settings.xml"), settings).unwrap();
    let dep = |gav: &String| {
        let [g, a, v]: [&str; 3] = gav.split(':').collect::<Vec<_>>().try_into().unwrap();
        format!("<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version></dependency>")
    };
    let deps: String = root.deps.iter().map(dep).collect();
    let managed: String = root.managed.iter().map(dep).collect();
    let pom = format!(
        "<project><modelVersion>4.0.0</modelVersion><groupId>kbench</groupId><artifactId>root</artifactId>\
         <version>1</version><packaging>pom</packaging>\
         <repositories><repository><id>kbench</id><url>{url}</url></repository></repositories>\
         <dependencyManagement><dependencies>{managed}</dependencies></dependencyManagement>\
         <dependencies>{deps}</dependencies></project>"
    );
    std::fs::write(work.join("pom.xml"), pom).unwrap();
    let mut c = Command::new("mvn");
    c.current_dir(work)
        .args(["-B", "-ntp", "-Dstyle.color=never", "-s"])
        .arg(work.join("settings.xml"))
        .arg("org.apache.maven.plugins:maven-dependency-plugin:3.5.0:list")
        .env("MAVEN_OPTS", "-XX:TieredStopAtLevel=1 -Xshare:auto");
    c
}

/// A local repository for mvn holding only what its plugins need: a hard-linked copy of the
/// dereferenced Debian repository.
fn mvn_local(at: &Path) -> PathBuf {
    let local = at.join("m2");
    assert!(Command::new("cp")
        .arg("-al")
        .arg(support::mvn_seed())
        .arg(&local)
        .status()
        .unwrap()
        .success());
    local
}

fn median(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}

struct Figures {
    cold: f64,
    warm: f64,
    list: Vec<String>,
    /// Requests of one cold run and of all the warm runs.
    cold_requests: usize,
    warm_requests: usize,
}

/// `runs` cold runs (each from `fresh()`: a work directory and an empty local repository,
/// made untimed) and `runs` warm ones after them on the last local repository; every run
/// must print `expected` (the first run's list when None).
fn figures(
    runs: usize,
    what: &str,
    server: &Nginx,
    fresh: &dyn Fn() -> (tempfile::TempDir, PathBuf),
    command: &dyn Fn(&Path, &Path) -> Command,
    list: fn(&str) -> Vec<String>,
) -> Figures {
    let mut cold = Vec::new();
    let mut first: Option<Vec<String>> = None;
    let mut last = None;
    let mut cold_requests = 0;
    for _ in 0..runs {
        let (work, local) = fresh();
        let c = command(work.path(), &local);
        let before = server.requests();
        let (t, lines) = timed(c, &format!("{what} (cold)"), list);
        cold_requests = server.requests() - before;
        cold.push(t);
        match &first {
            None => first = Some(lines),
            Some(f) => assert_eq!(f, &lines, "{what}: two cold runs differ"),
        }
        last = Some((work, local));
    }
    let (work, local) = last.unwrap();
    let first = first.unwrap();
    let before = server.requests();
    let mut warm = Vec::new();
    for _ in 0..runs {
        let (t, lines) = timed(
            command(work.path(), &local),
            &format!("{what} (warm)"),
            list,
        );
        warm.push(t);
        assert_eq!(first, lines, "{what}: a warm run differs from the cold one");
    }
    Figures {
        cold: median(cold),
        warm: median(warm),
        list: first,
        cold_requests,
        warm_requests: server.requests() - before,
    }
}

fn main() {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let cleanup = support::SeedCleanup(vec![support::seed_dir("mvn-seed")]);
    let repo = tempfile::tempdir().unwrap();
    let root = generate(repo.path());
    let server = Nginx::serve(repo.path());
    let url = server.url.clone();

    let kb = figures(
        runs,
        "kbuild resolve",
        &server,
        &|| {
            let work = tempfile::tempdir().unwrap();
            let local = work.path().join("local");
            (work, local)
        },
        &|work, local| kbuild(work, local, &url, &root),
        kbuild_list,
    );
    let mv = figures(
        runs,
        "mvn dependency:list",
        &server,
        &|| {
            let work = tempfile::tempdir().unwrap();
            let local = mvn_local(work.path());
            (work, local)
        },
        &|work, local| mvn(work, local, &url, &root),
        mvn_list,
    );

    println!(
        "Resolution of a generated graph of {} artifacts from nginx on 127.0.0.1 (median of {runs} runs)",
        root.artifacts
    );
    println!(
        "  resolved: kbuild {} artifacts, mvn {} artifacts",
        kb.list.len(),
        mv.list.len()
    );
    println!(
        "  requests: kbuild {} cold, {} in {runs} warm runs; mvn {} cold, {} in {runs} warm runs",
        kb.cold_requests, kb.warm_requests, mv.cold_requests, mv.warm_requests
    );
    if kb.list != mv.list {
        let only_kb: Vec<_> = kb.list.iter().filter(|l| !mv.list.contains(l)).collect();
        let only_mvn: Vec<_> = mv.list.iter().filter(|l| !kb.list.contains(l)).collect();
        eprintln!(
            "kbuild and mvn resolved different lists ({} and {} artifacts)\n  only kbuild: {only_kb:?}\n  only mvn: {only_mvn:?}",
            kb.list.len(),
            mv.list.len()
        );
        drop(server);
        drop(cleanup);
        std::process::exit(1);
    }
    println!();
    println!(
        "{:>6} {:>11} {:>11} {:>11}",
        "", "kbuild ms", "mvn ms", "mvn/kbuild"
    );
    for (row, k, m) in [("cold", kb.cold, mv.cold), ("warm", kb.warm, mv.warm)] {
        println!("{row:>6} {k:>11.0} {m:>11.0} {:>10.1}x", m / k);
    }
}
