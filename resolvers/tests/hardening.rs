//! Hostile and broken repositories (issue 9, "Hardening"): a POM whose properties expand
//! exponentially, a repository that trickles, files that fail verification, and passwords in
//! repository URLs. Every case runs against a real HTTP server on 127.0.0.1.

mod support;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kbuild_resolvers::{resolve, Dependency, Resolution, ResolveError, ResolverConfig};
use support::{config, partial_files, runtime, Case, Server};

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap().flatten() {
        let to = dst.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

/// A writable copy of a fixture case's repository.
fn repo_copy(case: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&Case::load(case).repo, dir.path());
    dir
}

/// Removes every published checksum of `file`.
fn remove_checksums(file: &Path) {
    for ext in ["sha512", "sha256", "sha1", "md5"] {
        let mut name = file.as_os_str().to_owned();
        name.push(format!(".{ext}"));
        let _ = std::fs::remove_file(name);
    }
}

fn deps(specs: &[&str]) -> Vec<Dependency> {
    specs
        .iter()
        .map(|s| Dependency::parse(s).unwrap())
        .collect()
}

/// Runs `resolve` on a thread of its own and fails the test if it has not returned within
/// `limit` (a resolver that reads forever must not hang the test run as well).
fn resolve_within(
    limit: Duration,
    cfg: ResolverConfig,
    roots: Vec<Dependency>,
) -> Result<Resolution, ResolveError> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(runtime().block_on(resolve(&cfg, &roots, &[])));
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("resolution still running after {limit:?}"))
}

/// This process's peak resident memory, in bytes (Linux).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmHWM in /proc/self/status");
    kb * 1024
}

// ---- 1. billion laughs ------------------------------------------------------------------------

#[test]
fn exponential_property_expansion_is_a_clear_error_in_bounded_time_and_memory() {
    // l0 = "lol", and each level is ten of the one below: ${l9} would be 3 GB.
    let mut props = String::from("<l0>lol</l0>");
    for n in 1..10 {
        props += &format!("<l{n}>{}</l{n}>", format!("${{l{}}}", n - 1).repeat(10));
    }
    let pom = format!(
        "<project><modelVersion>4.0.0</modelVersion><groupId>kbt.lol</groupId><artifactId>bomb</artifactId><version>1.0</version>\
         <properties>{props}</properties><dependencies><dependency><groupId>kbt.lol</groupId><artifactId>x</artifactId>\
         <version>${{l9}}</version></dependency></dependencies></project>"
    );
    assert!(pom.len() < 1000, "a small POM: {} bytes", pom.len());
    let repo = tempfile::tempdir().unwrap();
    let file = repo.path().join("kbt/lol/bomb/1.0/bomb-1.0.pom");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, &pom).unwrap();
    let server = Server::start(repo.path());
    let local = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let err = resolve_within(
        Duration::from_secs(60),
        config(&[&server.url], local.path()),
        deps(&["kbt.lol:bomb:pom::1.0"]),
    )
    .unwrap_err();
    let elapsed = started.elapsed();
    let msg = err.to_string();
    assert!(matches!(err, ResolveError::Pom { .. }), "{msg}");
    assert!(
        msg.contains("bomb-1.0.pom") && msg.contains("${l9}") && msg.contains("64 KiB"),
        "names the POM, the property and the limit: {msg}"
    );
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    let peak = peak_rss();
    assert!(peak < 512 << 20, "peak memory {} MiB", peak >> 20);
}

// ---- 2. a trickling repository ----------------------------------------------------------------

#[test]
fn a_trickling_repository_fails_at_the_download_deadline() {
    let server = Server::start(&Case::load("basic-transitive").repo);
    // One byte every 5 s: each read arrives well within the read timeout.
    server.faults.trickle_ms.store(5000, Ordering::SeqCst);
    let local = tempfile::tempdir().unwrap();
    let mut cfg = config(&[&server.url], local.path());
    cfg.download_deadline = Duration::from_secs(3);
    let started = Instant::now();
    let err = resolve_within(Duration::from_secs(60), cfg, deps(&["kbt.basic:a:1.0"])).unwrap_err();
    let elapsed = started.elapsed();
    let msg = err.to_string();
    assert!(matches!(err, ResolveError::Fetch { .. }), "{msg}");
    assert!(
        msg.contains("kbt.basic:a:pom:1.0")
            && msg.contains(&format!("{}kbt/basic/a/1.0/a-1.0.pom", server.url))
            && msg.contains("timed out")
            && msg.contains("3s"),
        "names the coordinate, the URL and the deadline: {msg}"
    );
    assert!(elapsed < Duration::from_secs(8), "took {elapsed:?}");
    assert!(partial_files(local.path()).is_empty());
}

#[test]
fn a_transfer_below_the_minimum_rate_is_abandoned_and_retried_a_bounded_number_of_times() {
    let server = Server::start(&Case::load("basic-transitive").repo);
    // 20 bytes a second: never idle for long, never done in time.
    server.faults.trickle_ms.store(50, Ordering::SeqCst);
    let local = tempfile::tempdir().unwrap();
    let mut cfg = config(&[&server.url], local.path());
    cfg.timeout = Duration::from_secs(1);
    cfg.min_rate = 1024;
    cfg.retries = 1;
    let started = Instant::now();
    let err = resolve_within(Duration::from_secs(60), cfg, deps(&["kbt.basic:a:1.0"])).unwrap_err();
    let elapsed = started.elapsed();
    let msg = err.to_string();
    assert!(
        msg.contains("too slow")
            && msg.contains("1024 bytes/s")
            && msg.contains("2 attempts")
            && msg.contains("kbt/basic/a/1.0/a-1.0.pom"),
        "{msg}"
    );
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}

// ---- 3. nothing unverified is kept ------------------------------------------------------------

#[test]
fn a_malformed_pom_is_not_kept_and_resolves_once_the_repository_is_fixed() {
    let repo = repo_copy("basic-transitive");
    let pom = repo.path().join("kbt/basic/b/1.0/b-1.0.pom");
    let good = std::fs::read(&pom).unwrap();
    remove_checksums(&pom);
    std::fs::write(
        &pom,
        "<project>\n  <groupId>kbt.basic</groupId>\n  <dependencies>\n</project>\n",
    )
    .unwrap();
    let server = Server::start(repo.path());
    let local = tempfile::tempdir().unwrap();
    let cfg = config(&[&server.url], local.path());
    let err = runtime()
        .block_on(resolve(&cfg, &deps(&["kbt.basic:a:1.0"]), &[]))
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ResolveError::Pom { .. }), "{msg}");
    assert!(msg.contains("b-1.0.pom") && msg.contains("line 4"), "{msg}");
    assert!(
        !local.path().join("kbt/basic/b/1.0/b-1.0.pom").exists(),
        "the malformed POM was kept"
    );
    assert!(partial_files(local.path()).is_empty());

    std::fs::write(&pom, &good).unwrap();
    let r = runtime()
        .block_on(resolve(&cfg, &deps(&["kbt.basic:a:1.0"]), &[]))
        .unwrap();
    assert_eq!(r.artifacts.len(), 3);
}

#[test]
fn a_truncated_jar_without_checksums_is_not_kept_and_resolves_once_the_repository_is_fixed() {
    let repo = repo_copy("basic-transitive");
    let jar = repo.path().join("kbt/basic/c/1.0/c-1.0.jar");
    let good = std::fs::read(&jar).unwrap();
    remove_checksums(&jar);
    std::fs::write(&jar, &good[..good.len() / 2]).unwrap();
    let server = Server::start(repo.path());
    let local = tempfile::tempdir().unwrap();
    let cfg = config(&[&server.url], local.path());
    let err = runtime()
        .block_on(resolve(&cfg, &deps(&["kbt.basic:a:1.0"]), &[]))
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("kbt.basic:c:jar:1.0")
            && msg.contains("c-1.0.jar")
            && msg.contains("not a valid zip"),
        "{msg}"
    );
    let stored = local.path().join("kbt/basic/c/1.0/c-1.0.jar");
    assert!(!stored.exists(), "the truncated jar was kept");
    assert!(partial_files(local.path()).is_empty());

    std::fs::write(&jar, &good).unwrap();
    let r = runtime()
        .block_on(resolve(&cfg, &deps(&["kbt.basic:a:1.0"]), &[]))
        .unwrap();
    assert_eq!(r.artifacts.len(), 3);
    assert_eq!(std::fs::read(&stored).unwrap(), good);
}

// ---- 4. passwords in repository URLs ----------------------------------------------------------

const PASSWORD: &str = "s3cr3t-Pa55";

fn with_password(url: &str) -> String {
    url.replacen("http://", &format!("http://kbuser:{PASSWORD}@"), 1)
}

fn assert_redacted(err: &ResolveError) {
    let shown = format!("{err}\n{err:?}");
    assert!(!shown.contains(PASSWORD), "the password is shown: {shown}");
    assert!(shown.contains("kbuser"), "the user is still named: {shown}");
}

#[test]
fn a_password_in_a_repository_url_is_never_shown() {
    let server = Server::start(&Case::load("basic-transitive").repo);
    let url = with_password(&server.url);
    let local = tempfile::tempdir().unwrap();

    // Missing: the repositories tried are listed.
    let err = runtime()
        .block_on(resolve(
            &config(&[&url], local.path()),
            &deps(&["kbt.basic:nothing:1.0"]),
            &[],
        ))
        .unwrap_err();
    assert!(matches!(err, ResolveError::Missing { .. }), "{err}");
    assert_redacted(&err);

    // A transport failure names the URL.
    let refused = with_password(&support::refused_url());
    let err = runtime()
        .block_on(resolve(
            &config(&[&refused], local.path()),
            &deps(&["kbt.basic:a:1.0"]),
            &[],
        ))
        .unwrap_err();
    assert!(err.to_string().contains("connection failed"), "{err}");
    assert_redacted(&err);

    // A checksum mismatch names the file's URL.
    server.faults.replace.lock().unwrap().push((
        "c-1.0.jar.sha1".into(),
        b"0000000000000000000000000000000000000000".to_vec(),
    ));
    let err = runtime()
        .block_on(resolve(
            &config(&[&url], local.path()),
            &deps(&["kbt.basic:c:1.0"]),
            &[],
        ))
        .unwrap_err();
    assert!(err.to_string().contains("checksum mismatch"), "{err}");
    assert_redacted(&err);

    // Plain http refused: the repository is named.
    let mut cfg = config(&[&url], local.path());
    cfg.allow_http = false;
    let err = runtime()
        .block_on(resolve(&cfg, &deps(&["kbt.basic:a:1.0"]), &[]))
        .unwrap_err();
    assert!(err.to_string().contains("refusing plain http"), "{err}");
    assert_redacted(&err);
    assert!(!format!("{cfg:?}").contains(PASSWORD), "{cfg:?}");
}
