//! Bad input and failing repositories: each error must be clear, arrive in bounded time, and
//! leave nothing partial in the local repository.

mod support;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use kbuild_resolvers::{resolve, to_list_lines, to_tree_string, Dependency, ResolveError, Scope};
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

fn write_with_sha1(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    let _ = std::fs::remove_file(path.with_extension("pom.sha1"));
}

fn deps(specs: &[&str]) -> Vec<Dependency> {
    specs
        .iter()
        .map(|s| Dependency::parse(s).unwrap())
        .collect()
}

fn assert_clean(local: &Path) {
    let partial = partial_files(local);
    assert!(partial.is_empty(), "partial files left: {partial:?}");
}

#[test]
fn missing_artifact_names_coordinate_path_and_repositories() {
    let repo = repo_copy("basic-transitive");
    std::fs::remove_file(repo.path().join("kbt/basic/c/1.0/c-1.0.jar")).unwrap();
    let server = Server::start(repo.path());
    let local = tempfile::tempdir().unwrap();
    let err = runtime()
        .block_on(resolve(
            &config(&[&server.url], local.path()),
            &deps(&["kbt.basic:a:1.0"]),
            &[],
        ))
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ResolveError::Missing { .. }), "{msg}");
    assert!(msg.contains("kbt.basic:c:jar:1.0"), "{msg}");
    assert!(
        msg.contains("kbt.basic:a:jar:1.0 -> kbt.basic:b:jar:1.0 -> kbt.basic:c:jar:1.0"),
        "{msg}"
    );
    assert!(msg.contains(&server.url), "{msg}");
    assert!(!local.path().join("kbt/basic/c/1.0/c-1.0.jar").exists());
    assert_clean(local.path());
}

#[test]
fn malformed_pom_reports_file_and_line() {
    let repo = repo_copy("basic-transitive");
    write_with_sha1(
        &repo.path().join("kbt/basic/b/1.0/b-1.0.pom"),
        "<project>\n  <groupId>kbt.basic</groupId>\n  <artifactId>b</artifactId>\n  <version>1.0</version>\n  <dependencies>\n</project>\n",
    );
    let server = Server::start(repo.path());
    let local = tempfile::tempdir().unwrap();
    let err = runtime()
        .block_on(resolve(
            &config(&[&server.url], local.path()),
            &deps(&["kbt.basic:a:1.0"]),
            &[],
        ))
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ResolveError::Pom { .. }), "{msg}");
    assert!(msg.contains("b-1.0.pom") && msg.contains("line 6"), "{msg}");
    assert!(
        msg.contains("kbt.basic:a:jar:1.0 -> kbt.basic:b:jar:1.0"),
        "{msg}"
    );
}

#[test]
fn checksum_mismatch_is_an_error_and_nothing_is_stored() {
    let server = Server::start(&Case::load("basic-transitive").repo);
    server.faults.replace.lock().unwrap().push((
        "c-1.0.jar.sha1".into(),
        b"0000000000000000000000000000000000000000".to_vec(),
    ));
    let local = tempfile::tempdir().unwrap();
    let err = runtime()
        .block_on(resolve(
            &config(&[&server.url], local.path()),
            &deps(&["kbt.basic:a:1.0"]),
            &[],
        ))
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("checksum mismatch") && msg.contains("c-1.0.jar") && msg.contains("SHA-1"),
        "{msg}"
    );
    assert!(!local.path().join("kbt/basic/c/1.0/c-1.0.jar").exists());
    assert_clean(local.path());
}

#[test]
fn strongest_checksum_wins() {
    let repo = repo_copy("basic-transitive");
    // A correct sha1 but a wrong sha256: the sha256 is the one that counts.
    std::fs::write(
        repo.path().join("kbt/basic/c/1.0/c-1.0.jar.sha256"),
        "ab".repeat(32),
    )
    .unwrap();
    let server = Server::start(repo.path());
    let local = tempfile::tempdir().unwrap();
    let err = runtime()
        .block_on(resolve(
            &config(&[&server.url], local.path()),
            &deps(&["kbt.basic:c:1.0"]),
            &[],
        ))
        .unwrap_err();
    assert!(err.to_string().contains("SHA-256"), "{err}");
}

#[test]
fn server_errors_are_retried() {
    let server = Server::start(&Case::load("basic-transitive").repo);
    server.faults.fail_500.store(2, Ordering::SeqCst);
    let local = tempfile::tempdir().unwrap();
    let r = runtime()
        .block_on(resolve(
            &config(&[&server.url], local.path()),
            &deps(&["kbt.basic:a:1.0"]),
            &[],
        ))
        .unwrap();
    assert_eq!(r.artifacts.len(), 3);
    assert_eq!(server.faults.fail_500.load(Ordering::SeqCst), 0);
}

#[test]
fn persistent_500_gives_up_with_a_clear_error() {
    let server = Server::start(&Case::load("basic-transitive").repo);
    server.faults.fail_500.store(usize::MAX, Ordering::SeqCst);
    let local = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let err = runtime()
        .block_on(resolve(
            &config(&[&server.url], local.path()),
            &deps(&["kbt.basic:a:1.0"]),
            &[],
        ))
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("HTTP status 500")
            && msg.contains("3 attempts")
            && msg.contains("kbt.basic:a"),
        "{msg}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_clean(local.path());
}

#[test]
fn refused_connections_fail_fast() {
    let url = support::refused_url();
    let local = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let err = runtime()
        .block_on(resolve(
            &config(&[&url], local.path()),
            &deps(&["kbt.basic:a:1.0"]),
            &[],
        ))
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("connection failed") && msg.contains(&url),
        "{msg}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn hanging_repository_times_out_in_bounded_time() {
    let server = Server::start(&Case::load("basic-transitive").repo);
    server.faults.hang.store(true, Ordering::SeqCst);
    let local = tempfile::tempdir().unwrap();
    let mut cfg = config(&[&server.url], local.path());
    cfg.timeout = Duration::from_millis(500);
    cfg.retries = 1;
    let started = Instant::now();
    let err = runtime()
        .block_on(resolve(&cfg, &deps(&["kbt.basic:a:1.0"]), &[]))
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("timed out") && msg.contains("2 attempts"),
        "{msg}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_clean(local.path());
}

#[test]
fn parent_cycle_is_reported() {
    let repo = tempfile::tempdir().unwrap();
    let pom = |a: &str, parent: &str| {
        format!("<project><parent><groupId>kbt.pc</groupId><artifactId>{parent}</artifactId><version>1</version></parent><artifactId>{a}</artifactId></project>")
    };
    write_with_sha1(&repo.path().join("kbt/pc/x/1/x-1.pom"), &pom("x", "y"));
    write_with_sha1(&repo.path().join("kbt/pc/y/1/y-1.pom"), &pom("y", "x"));
    let server = Server::start(repo.path());
    let local = tempfile::tempdir().unwrap();
    let err = runtime()
        .block_on(resolve(
            &config(&[&server.url], local.path()),
            &deps(&["kbt.pc:x:1"]),
            &[],
        ))
        .unwrap_err();
    assert!(matches!(err, ResolveError::ParentCycle { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("kbt.pc:x:1 -> kbt.pc:y:1 -> kbt.pc:x:1"),
        "{err}"
    );
}

#[test]
fn unsatisfiable_ranges_are_an_error() {
    let repo = repo_copy("range-basic");
    write_with_sha1(
        &repo.path().join("kbt/range/lo/1.0/lo-1.0.pom"),
        "<project><groupId>kbt.range</groupId><artifactId>lo</artifactId><version>1.0</version><packaging>pom</packaging><dependencies><dependency><groupId>kbt.range</groupId><artifactId>c</artifactId><version>[1.0,1.5)</version></dependency></dependencies></project>",
    );
    let server = Server::start(repo.path());
    let local = tempfile::tempdir().unwrap();
    let roots = vec![
        Dependency::parse("kbt.range:lo:pom::1.0").unwrap(),
        Dependency::parse("kbt.range:b:1.0").unwrap(),
    ];
    let err = runtime()
        .block_on(resolve(&config(&[&server.url], local.path()), &roots, &[]))
        .unwrap_err();
    assert!(
        matches!(err, ResolveError::UnsolvableConflict { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("kbt.range:c"), "{err}");
    // A range that no published version satisfies.
    let err = runtime()
        .block_on(resolve(
            &config(&[&server.url], local.path()),
            &deps(&["kbt.range:c:[5.0,)"]),
            &[],
        ))
        .unwrap_err();
    assert!(
        matches!(err, ResolveError::NoVersionInRange { .. }),
        "{err}"
    );
}

#[test]
fn offline_uses_only_the_local_repository() {
    let server = Server::start(&Case::load("range-intersection").repo);
    let local = tempfile::tempdir().unwrap();
    let roots = deps(&["kbt.range:a:1.0", "kbt.range:b:1.0"]);
    let online = runtime()
        .block_on(resolve(&config(&[&server.url], local.path()), &roots, &[]))
        .unwrap();
    let before = server.faults.requests.load(Ordering::SeqCst);
    let mut cfg = config(&[&server.url], local.path());
    cfg.offline = true;
    let offline = runtime().block_on(resolve(&cfg, &roots, &[])).unwrap();
    assert_eq!(to_list_lines(&online), to_list_lines(&offline));
    assert_eq!(
        server.faults.requests.load(Ordering::SeqCst),
        before,
        "offline must not touch the network"
    );
    let empty = tempfile::tempdir().unwrap();
    let mut cfg = config(&[&server.url], empty.path());
    cfg.offline = true;
    let err = runtime()
        .block_on(resolve(&cfg, &deps(&["kbt.range:s:1.0"]), &[]))
        .unwrap_err();
    assert!(
        matches!(err, ResolveError::Offline { .. }) && err.to_string().contains("offline"),
        "{err}"
    );
    assert!(err.to_string().contains("kbt.range:s:jar:1.0"), "{err}");
}

#[test]
fn plain_http_needs_explicit_permission() {
    let local = tempfile::tempdir().unwrap();
    let mut cfg = config(&["http://127.0.0.1:9/"], local.path());
    cfg.allow_http = false;
    let err = runtime()
        .block_on(resolve(&cfg, &deps(&["kbt.basic:a:1.0"]), &[]))
        .unwrap_err();
    assert!(err.to_string().contains("refusing plain http"), "{err}");
}

#[test]
fn settings_xml_mirror_local_repository_and_credentials() {
    let server = Server::start(&Case::load("basic-transitive").repo);
    let home = tempfile::tempdir().unwrap();
    let settings = home.path().join("settings.xml");
    let local = home.path().join("from-settings");
    std::fs::write(
        &settings,
        format!(
            "<settings><localRepository>{}</localRepository><mirrors><mirror><id>m</id><mirrorOf>*,!nothing</mirrorOf><url>{}</url></mirror></mirrors>\
             <servers><server><id>m</id><username>u</username><password>hunter2</password></server></servers></settings>",
            local.display(),
            server.url
        ),
    )
    .unwrap();
    let mut cfg = config(&[&support::refused_url()], home.path());
    cfg.local_repo = None;
    cfg.settings_xml = Some(settings);
    let r = runtime()
        .block_on(resolve(&cfg, &deps(&["kbt.basic:a:1.0"]), &[]))
        .unwrap();
    assert_eq!(r.artifacts.len(), 3);
    assert!(r.artifacts.iter().all(|a| a.file.starts_with(&local)));
    assert!(!format!("{cfg:?}{r:?}").contains("hunter2"));
}

#[test]
fn file_repositories_and_artifact_details() {
    let repo = Case::load("test-jar-type").repo;
    let local = tempfile::tempdir().unwrap();
    let url = format!("file://{}", repo.canonicalize().unwrap().display());
    let roots = vec![
        Dependency::parse("kbt.types:a:1.0").unwrap(),
        Dependency::parse("kbt.types:a:test-jar::1.0")
            .unwrap()
            .with_scope(Scope::Test),
    ];
    let r = runtime()
        .block_on(resolve(&config(&[&url], local.path()), &roots, &[]))
        .unwrap();
    assert_eq!(
        to_list_lines(&r),
        vec![
            "kbt.types:a:jar:1.0:compile",
            "kbt.types:c:jar:1.0:compile",
            "kbt.types:a:test-jar:tests:1.0:test"
        ]
    );
    assert_eq!(
        to_tree_string(&r),
        "+- kbt.types:a:jar:1.0:compile\n|  \\- kbt.types:c:jar:1.0:compile\n\\- kbt.types:a:test-jar:tests:1.0:test\n"
    );
    let tests_jar = &r.artifacts[2];
    assert!(
        tests_jar.file.ends_with("kbt/types/a/1.0/a-1.0-tests.jar"),
        "{:?}",
        tests_jar.file
    );
    let bytes = std::fs::read(&tests_jar.file).unwrap();
    use sha2::Digest;
    assert_eq!(tests_jar.sha256, hex::encode(sha2::Sha256::digest(&bytes)));
}

#[test]
fn system_scope_uses_the_system_path() {
    let local = tempfile::tempdir().unwrap();
    let jar = Case::load("basic-transitive")
        .repo
        .join("kbt/basic/c/1.0/c-1.0.jar");
    let mut d = Dependency::parse("kbt.sys:tool:1.0")
        .unwrap()
        .with_scope(Scope::System);
    d.system_path = Some(jar.clone());
    let r = runtime()
        .block_on(resolve(
            &config(&[&support::refused_url()], local.path()),
            &[d],
            &[],
        ))
        .unwrap();
    assert_eq!(to_list_lines(&r), vec!["kbt.sys:tool:jar:1.0:system"]);
    assert_eq!(r.artifacts[0].file, jar);
}

#[test]
fn snapshots_resolve_to_base_version_files_and_work_offline() {
    let case = Case::load("snapshot-timestamped");
    let server = Server::start(&case.repo);
    let local = tempfile::tempdir().unwrap();
    let online = runtime()
        .block_on(resolve(
            &config(&[&server.url], local.path()),
            &case.roots,
            &[],
        ))
        .unwrap();
    assert!(
        online.artifacts[0]
            .file
            .ends_with("kbt/snap/a/1.0-SNAPSHOT/a-1.0-SNAPSHOT.jar"),
        "{:?}",
        online.artifacts[0].file
    );
    assert!(local
        .path()
        .join("kbt/snap/a/1.0-SNAPSHOT/a-1.0-20200101.101010-3.jar")
        .is_file());
    let mut cfg = config(&[&server.url], local.path());
    cfg.offline = true;
    let offline = runtime().block_on(resolve(&cfg, &case.roots, &[])).unwrap();
    assert_eq!(online, offline);
}

#[test]
fn settings_xml_proxy_is_used_and_non_proxy_hosts_bypass_it() {
    let proxy = Server::start(&Case::load("basic-transitive").repo);
    let port = proxy
        .url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let home = tempfile::tempdir().unwrap();
    let settings = home.path().join("settings.xml");
    let write = |non_proxy: &str| {
        std::fs::write(
            &settings,
            format!(
                "<settings><proxies><proxy><id>p</id><active>true</active><protocol>http</protocol><host>127.0.0.1</host>\
                 <port>{port}</port><username>pu</username><password>psecret</password><nonProxyHosts>{non_proxy}</nonProxyHosts></proxy></proxies></settings>"
            ),
        )
        .unwrap();
    };
    // The repository itself refuses connections; only the proxy can serve it.
    let repo_url = support::refused_url();
    write("example.com");
    let mut cfg = config(&[&repo_url], &home.path().join("local1"));
    cfg.settings_xml = Some(settings.clone());
    let r = runtime()
        .block_on(resolve(&cfg, &deps(&["kbt.basic:a:1.0"]), &[]))
        .unwrap();
    assert_eq!(r.artifacts.len(), 3);
    assert!(proxy.faults.proxied.load(Ordering::SeqCst) > 0);
    write("*.example.com|127.0.0.1");
    cfg.local_repo = Some(home.path().join("local2"));
    let err = runtime()
        .block_on(resolve(&cfg, &deps(&["kbt.basic:a:1.0"]), &[]))
        .unwrap_err();
    assert!(err.to_string().contains("connection failed"), "{err}");
    assert!(!err.to_string().contains("psecret"));
}
