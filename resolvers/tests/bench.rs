//! Cold resolution of a generated graph of ~100 artifacts from a loopback repository, by this
//! crate and by `mvn dependency:list`, printed side by side. Run with
//! `cargo test -p kbuild-resolvers --release --test bench -- --ignored --nocapture`.

mod support;

use std::path::Path;
use std::time::Instant;

use kbuild_resolvers::{resolve, to_list_lines, Dependency};
use support::{config, mvn_list, runtime, Server};

const N: usize = 100;

/// n0..n99, each depending on a few later ones; every tenth node also exists in 2.0, which
/// some paths request, so mediation has work to do.
fn generate(root: &Path) {
    let jar = std::fs::read(
        support::fixtures_dir().join("basic-transitive/repo/kbt/basic/c/1.0/c-1.0.jar"),
    )
    .unwrap();
    for i in 0..N {
        for v in ["1.0", "2.0"] {
            if v == "2.0" && i % 10 != 0 {
                continue;
            }
            let deps: String = [1, 3, 7]
                .iter()
                .map(|d| i + d)
                .filter(|j| *j < N)
                .map(|j| {
                    let jv = if j % 10 == 0 && i % 2 == 0 { "2.0" } else { "1.0" };
                    format!("<dependency><groupId>kbt.bench</groupId><artifactId>n{j}</artifactId><version>{jv}</version></dependency>")
                })
                .collect();
            let pom = format!(
                "<project><modelVersion>4.0.0</modelVersion><groupId>kbt.bench</groupId><artifactId>n{i}</artifactId><version>{v}</version><dependencies>{deps}</dependencies></project>"
            );
            let dir = root.join(format!("kbt/bench/n{i}/{v}"));
            support::put_with_sha1(&dir.join(format!("n{i}-{v}.pom")), pom.as_bytes());
            support::put_with_sha1(&dir.join(format!("n{i}-{v}.jar")), &jar);
        }
    }
}

#[test]
#[ignore]
fn cold_resolution_kbuild_vs_mvn() {
    let _cleanup = support::SeedCleanup(vec![support::seed_dir("mvn-seed")]);
    let repo = tempfile::tempdir().unwrap();
    generate(repo.path());
    let server = Server::start(repo.path());
    let roots: Vec<Dependency> = ["kbt.bench:n0:1.0", "kbt.bench:n1:1.0", "kbt.bench:n2:1.0"]
        .iter()
        .map(|s| Dependency::parse(s).unwrap())
        .collect();
    let rt = runtime();
    let mut kb_times = vec![];
    let mut lines = vec![];
    for _ in 0..3 {
        let local = tempfile::tempdir().unwrap();
        let t = Instant::now();
        let r = rt
            .block_on(resolve(&config(&[&server.url], local.path()), &roots, &[]))
            .unwrap();
        kb_times.push(t.elapsed().as_secs_f64());
        lines = to_list_lines(&r);
    }
    let mut mvn_times = vec![];
    let mut mvn_lines = vec![];
    for _ in 0..2 {
        let work = tempfile::tempdir().unwrap();
        let t = Instant::now();
        mvn_lines = mvn_list(&server.url, &roots, &[], work.path()).unwrap();
        mvn_times.push(t.elapsed().as_secs_f64());
    }
    assert_eq!(lines, mvn_lines);
    let best = |v: &[f64]| v.iter().cloned().fold(f64::INFINITY, f64::min);
    eprintln!(
        "cold resolution of {} artifacts from a loopback repository (best of runs):",
        lines.len()
    );
    eprintln!(
        "  kbuild-resolvers {:.3}s  (runs {kb_times:.3?})",
        best(&kb_times)
    );
    eprintln!(
        "  mvn              {:.3}s  (runs {mvn_times:.3?})",
        best(&mvn_times)
    );
    eprintln!(
        "  speed-up         {:.1}x",
        best(&mvn_times) / best(&kb_times)
    );
}
