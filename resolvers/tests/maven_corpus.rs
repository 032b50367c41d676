//! The Debian Maven corpus (see `corpus_harness`): every artifact of `/usr/share/maven-repo`
//! with a POM, resolved by `mvn dependency:list` once (the committed expected files under
//! `fixtures/maven-corpus/expected/`) and by kbuild's resolver here, from one loopback
//! server. CI runs the fixed sample of `fixtures/maven-corpus/sample.txt` against the
//! committed files (no mvn needed for that), and checks a few of those files against a live
//! mvn so that they cannot rot. The whole corpus: `cargo bench --bench maven_corpus`.
//!
//! Regenerate every expected file and the sample (one mvn reactor run, ~20 s):
//! `cargo test -p kbuild-resolvers --test maven_corpus -- --ignored regenerate`.

mod corpus_harness;
mod support;

use std::path::Path;
use std::sync::Mutex;

use corpus_harness::{self as corpus, Outcome, Root};
use support::{SeedCleanup, Server};

/// Roots checked against a live mvn on every run: a plain library, a deep graph (Maven's
/// own core, with parents, BOMs and relocations on the way) and one that fails in both.
const LIVE: [&str; 3] = [
    "org.apache.commons:commons-text:jar:1.10.0",
    "org.apache.maven:maven-core:jar:3.8.7",
    "org.apache:apache:jar:18",
];

/// Resolves `roots` with kbuild on two threads; the lines describing each difference that
/// the exceptions file does not excuse (and each excused root that no longer differs).
fn kbuild_against_expected(roots: &[Root]) -> Vec<String> {
    let dir = corpus::corpus_dir();
    let exceptions = corpus::exceptions(&dir);
    let server = Server::start(corpus::served_repo());
    let queue = Mutex::new(roots.to_vec());
    let problems = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let Some(root) = queue.lock().unwrap().pop() else {
                    break;
                };
                let expected = corpus::read_expected(&root.expected_path(&dir));
                let work = tempfile::tempdir().unwrap();
                let ours = corpus::kbuild_outcome(&server.url, &root, work.path());
                let diff = corpus::compare(&expected.outcome, &ours);
                let excused = exceptions.contains_key(&root.coord());
                let problem = match (diff, excused) {
                    (Some(d), false) => Some(format!("{} differs:\n{d}", root.coord())),
                    (None, true) => Some(format!(
                        "{} is in exceptions.txt but is identical now: remove it",
                        root.coord()
                    )),
                    _ => None,
                };
                problems.lock().unwrap().extend(problem);
            });
        }
    });
    let mut p = problems.into_inner().unwrap();
    p.sort();
    p
}

#[test]
fn the_sample_of_the_debian_corpus_resolves_as_mvn_did() {
    let _cleanup = SeedCleanup(vec![support::seed_dir("mvn-seed")]);
    let dir = corpus::corpus_dir();
    let sample = corpus::sample(&dir);
    assert_eq!(sample.len(), 50, "sample.txt holds 50 roots");
    for root in &sample {
        let installed = Path::new("/usr/share/maven-repo")
            .join(root.group.replace('.', "/"))
            .join(&root.artifact)
            .join(&root.version);
        assert!(
            installed.is_dir(),
            "{} is not installed here ({}): .ci/run installs the Debian packages the corpus was made from",
            root.coord(),
            installed.display()
        );
    }
    let problems = kbuild_against_expected(&sample);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_committed_expected_files_are_what_mvn_says_now() {
    let _cleanup = SeedCleanup(vec![support::seed_dir("mvn-seed")]);
    let dir = corpus::corpus_dir();
    let roots: Vec<Root> = LIVE.iter().map(|c| Root::parse(c).unwrap()).collect();
    let server = Server::start(corpus::served_repo());
    let work = tempfile::tempdir().unwrap();
    let now = corpus::mvn_outcomes(&server.url, &roots, work.path());
    for (root, now) in roots.iter().zip(now) {
        let committed = corpus::read_expected(&root.expected_path(&dir));
        assert_eq!(committed.root, *root);
        assert_eq!(
            committed.outcome,
            now,
            "{}: the committed expected file is not what mvn says now (regenerate)",
            root.coord()
        );
    }
    assert!(matches!(
        corpus::read_expected(&roots[2].expected_path(&dir)).outcome,
        Outcome::Failed { .. }
    ));
}

/// Rewrites every expected file and `sample.txt` from mvn's answers today.
#[test]
#[ignore = "the generator: runs mvn on the whole corpus and rewrites fixtures/maven-corpus"]
fn regenerate() {
    let _cleanup = SeedCleanup(vec![support::seed_dir("mvn-seed")]);
    let dir = corpus::corpus_dir();
    let roots = corpus::debian_roots(Path::new("/usr/share/maven-repo"));
    assert!(roots.len() > 100, "{} roots", roots.len());
    let server = Server::start(corpus::served_repo());
    let work = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let outcomes = corpus::mvn_outcomes(&server.url, &roots, work.path());
    let _ = std::fs::remove_dir_all(dir.join("expected"));
    let mut failed = 0;
    for (root, outcome) in roots.iter().zip(outcomes) {
        failed += matches!(outcome, Outcome::Failed { .. }) as usize;
        corpus::write_expected(
            &dir,
            &corpus::Expected {
                root: root.clone(),
                outcome,
            },
        );
    }
    let sample: String = corpus::choose_sample(&roots, 50)
        .iter()
        .map(|r| r.coord() + "\n")
        .collect();
    std::fs::write(
        dir.join("sample.txt"),
        format!("# The CI sample: every n/50-th root of the sorted corpus (written by the generator).\n{sample}"),
    )
    .unwrap();
    println!(
        "{} roots ({} fail in mvn) in {:.1}s",
        roots.len(),
        failed,
        started.elapsed().as_secs_f64()
    );
}
