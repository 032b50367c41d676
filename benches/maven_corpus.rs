//! The whole Debian Maven corpus (`fixtures/maven-corpus`, see
//! `resolvers/tests/corpus_harness`): every root resolved by kbuild's resolver from a
//! loopback server serving a copy of `/usr/share/maven-repo`, each compared with the list
//! (or the failure) that `mvn dependency:list` gave and that is committed. Prints the roots,
//! how many are identical, the excused ones (`exceptions.txt`) and each differing root with
//! the first lines of its diff, and the time.
//!
//! `cargo bench --bench maven_corpus` (env THREADS: resolutions at once, default 2; MVN=1:
//! also run mvn again on every root, ~20 s, and report expected files that no longer match
//! it; ROOTS=a,b: only the roots whose coordinates contain one of these).

#[path = "../resolvers/tests/corpus_harness/mod.rs"]
mod corpus_harness;
#[path = "../resolvers/tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use corpus_harness::{self as corpus, Expected};
use support::{SeedCleanup, Server};

fn main() {
    let cleanup = SeedCleanup(vec![support::seed_dir("mvn-seed")]);
    let dir = corpus::corpus_dir();
    let mut all = corpus::all_expected(&dir);
    if let Ok(only) = std::env::var("ROOTS") {
        let only: Vec<String> = only.split(',').map(str::to_string).collect();
        all.retain(|e| only.iter().any(|o| e.root.coord().contains(o.as_str())));
    }
    let exceptions = corpus::exceptions(&dir);
    let threads: usize = std::env::var("THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);

    // The corpus against what this machine has: roots installed since, or gone.
    let here = corpus::debian_roots(Path::new("/usr/share/maven-repo"));
    let known: Vec<_> = all.iter().map(|e| e.root.clone()).collect();
    let new: Vec<_> = here.iter().filter(|r| !known.contains(r)).collect();
    let gone: Vec<_> = known.iter().filter(|r| !here.contains(r)).collect();

    let copy = Instant::now();
    let server = Server::start(corpus::served_repo());
    let copy = copy.elapsed();

    let started = Instant::now();
    let queue = Mutex::new((0..all.len()).rev().collect::<Vec<_>>());
    let results: Mutex<Vec<(usize, Option<String>, Duration)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let Some(i) = queue.lock().unwrap().pop() else {
                    break;
                };
                let e: &Expected = &all[i];
                let work = tempfile::tempdir().unwrap();
                let t = Instant::now();
                let ours = corpus::kbuild_outcome(&server.url, &e.root, work.path());
                let took = t.elapsed();
                let diff = corpus::compare(&e.outcome, &ours);
                results.lock().unwrap().push((i, diff, took));
            });
        }
    });
    let wall = started.elapsed();
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|r| r.0);

    let mut identical = 0;
    let mut excused = Vec::new();
    let mut stale = Vec::new();
    let mut differing = Vec::new();
    for (i, diff, _) in &results {
        let coord = all[*i].root.coord();
        match (diff, exceptions.get(&coord)) {
            (None, None) => identical += 1,
            (None, Some(_)) => {
                identical += 1;
                stale.push(coord);
            }
            (Some(_), Some(why)) => excused.push(format!("{coord}: {why}")),
            (Some(d), None) => differing.push((coord, d.clone())),
        }
    }
    let failing = all
        .iter()
        .filter(|e| matches!(e.outcome, corpus::Outcome::Failed { .. }))
        .count();
    let mut times: Vec<Duration> = results.iter().map(|r| r.2).collect();
    times.sort();
    let slowest = results.iter().max_by_key(|r| r.2);

    println!("Debian Maven corpus: kbuild's resolver against mvn dependency:list");
    println!(
        "  roots:      {} ({} fail in mvn, for artifacts Debian does not install: kbuild must fail on the first of them)",
        all.len(),
        failing
    );
    println!("  identical:  {identical}");
    println!("  excused:    {} (exceptions.txt)", excused.len());
    for x in &excused {
        println!("    {x}");
    }
    println!("  differing:  {}", differing.len());
    for (coord, d) in &differing {
        println!("    {coord}");
        for line in d.lines().take(6) {
            println!("    {line}");
        }
    }
    for s in &stale {
        println!("  {s} is excused but identical: remove it from exceptions.txt");
    }
    println!(
        "  time:       {:.1}s on {threads} threads (repository copy {:.1}s; per root median {:.0}ms, slowest {:.0}ms: {})",
        wall.as_secs_f64(),
        copy.as_secs_f64(),
        times
            .get(times.len() / 2)
            .map_or(0.0, |t| t.as_secs_f64() * 1000.0),
        slowest.map_or(0.0, |r| r.2.as_secs_f64() * 1000.0),
        slowest.map_or(String::new(), |r| all[r.0].root.coord()),
    );
    if !new.is_empty() || !gone.is_empty() {
        println!(
            "  this machine: {} roots not in the corpus (installed since it was made), {} roots of it not installed (regenerate to take them in)",
            new.len(),
            gone.len()
        );
    }

    if std::env::var("MVN").is_ok_and(|v| v == "1") {
        let work = tempfile::tempdir().unwrap();
        let roots: Vec<_> = all.iter().map(|e| e.root.clone()).collect();
        let t = Instant::now();
        let now = corpus::mvn_outcomes(&server.url, &roots, work.path());
        let drift: Vec<_> = all
            .iter()
            .zip(&now)
            .filter(|(e, n)| e.outcome != **n)
            .map(|(e, _)| e.root.coord())
            .collect();
        println!(
            "  mvn again:  {} of {} expected files as mvn says now ({:.1}s){}",
            roots.len() - drift.len(),
            roots.len(),
            t.elapsed().as_secs_f64(),
            if drift.is_empty() {
                String::new()
            } else {
                format!("; not: {}", drift.join(", "))
            }
        );
    }
    if !differing.is_empty() {
        // exit skips destructors: remove the repository copy first.
        drop(cleanup);
        std::process::exit(1);
    }
}
