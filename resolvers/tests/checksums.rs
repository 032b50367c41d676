//! Checksum policies: a file whose published checksum does not match fails unless the
//! repository's `<checksumPolicy>` (Leiningen's `:checksum`) says `warn` or `ignore`;
//! checked against mvn on the same server.

mod support;

use kbuild_resolvers::{
    resolve, to_list_lines, ChecksumPolicy, Dependency, Policy, RemoteRepository, Resolution,
};
use support::{config, mvn_project, publish, runtime, Server};

/// `a-1.0.jar` with a `.sha1` that does not match it.
fn bad_checksum_repo() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let jar = publish(dir.path(), "kbt.sum:a:1.0", "", "a");
    std::fs::write(jar.with_extension("jar.sha1"), "0".repeat(40)).unwrap();
    let server = Server::start(dir.path());
    (dir, server)
}

fn ours(server: &Server, checksums: ChecksumPolicy) -> Result<Resolution, String> {
    let local = tempfile::tempdir().unwrap();
    let mut cfg = config(&[], local.path());
    cfg.repositories = vec![RemoteRepository {
        policy: Policy {
            release_checksums: checksums,
            ..Policy::default()
        },
        ..RemoteRepository::new("sums", &server.url)
    }];
    runtime()
        .block_on(resolve(
            &cfg,
            &[Dependency::parse("kbt.sum:a:1.0").unwrap()],
            &[],
        ))
        .map_err(|e| e.to_string())
}

fn theirs(server: &Server, policy: &str) -> support::MvnRun {
    let work = tempfile::tempdir().unwrap();
    let body = format!(
        "<repositories><repository><id>sums</id><url>{}</url>\
           <releases><checksumPolicy>{policy}</checksumPolicy></releases></repository></repositories>\
         <dependencies><dependency><groupId>kbt.sum</groupId><artifactId>a</artifactId><version>1.0</version></dependency></dependencies>",
        server.url
    );
    // Central goes elsewhere: asked after `sums` fails, it would serve the same file under
    // mvn's default `warn`.
    let empty = tempfile::tempdir().unwrap();
    let central = Server::start(empty.path());
    mvn_project(work.path(), &body, &central.url)
}

#[test]
fn a_mismatch_fails_by_default_and_warns_or_is_ignored_when_the_policy_says_so() {
    let (_dir, server) = bad_checksum_repo();
    let err = ours(&server, ChecksumPolicy::Fail).unwrap_err();
    assert!(
        err.contains("checksum mismatch") && err.contains("a-1.0.jar"),
        "{err}"
    );
    let mvn = theirs(&server, "fail");
    assert!(!mvn.ok, "{}", mvn.stdout);

    let r = ours(&server, ChecksumPolicy::Warn).unwrap();
    assert!(
        r.warnings.iter().any(|w| w.contains("checksum mismatch")
            && w.contains("a-1.0.jar")
            && w.contains("policy is warn")),
        "{:?}",
        r.warnings
    );
    let mvn = theirs(&server, "warn");
    assert!(mvn.ok, "{}", mvn.stdout);
    assert_eq!(to_list_lines(&r), mvn.list);

    let (_dir, server) = bad_checksum_repo();
    let r = ours(&server, ChecksumPolicy::Ignore).unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(server.asked("a-1.0.jar.sha1"), Vec::<String>::new());
    let mvn = theirs(&server, "ignore");
    assert!(mvn.ok, "{}", mvn.stdout);
    assert_eq!(to_list_lines(&r), mvn.list);
}

/// A mismatch in the first repository under `fail` is that repository's failure: the second
/// one's good copy resolves (as in mvn), with a warning naming the mismatch.
#[test]
fn a_mismatch_in_one_repository_falls_back_to_the_next_with_a_warning() {
    let (_bad_dir, bad) = bad_checksum_repo();
    let good_dir = tempfile::tempdir().unwrap();
    publish(good_dir.path(), "kbt.sum:a:1.0", "", "a");
    let good = Server::start(good_dir.path());
    let local = tempfile::tempdir().unwrap();
    let r = runtime()
        .block_on(resolve(
            &config(&[&bad.url, &good.url], local.path()),
            &[Dependency::parse("kbt.sum:a:1.0").unwrap()],
            &[],
        ))
        .unwrap();
    assert!(
        r.warnings.iter().any(|w| w.contains("checksum mismatch")
            && w.contains("kbt.sum:a:jar:1.0 found in repository r1 instead")),
        "{:?}",
        r.warnings
    );

    let work = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let central = Server::start(empty.path());
    let body = format!(
        "<repositories>\
           <repository><id>bad</id><url>{}</url><releases><checksumPolicy>fail</checksumPolicy></releases></repository>\
           <repository><id>good</id><url>{}</url></repository></repositories>\
         <dependencies><dependency><groupId>kbt.sum</groupId><artifactId>a</artifactId><version>1.0</version></dependency></dependencies>",
        bad.url, good.url
    );
    let mvn = mvn_project(work.path(), &body, &central.url);
    assert!(mvn.ok, "{}", mvn.stdout);
    assert_eq!(to_list_lines(&r), mvn.list);
}
