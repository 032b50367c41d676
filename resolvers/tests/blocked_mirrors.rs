//! Blocked mirrors: a settings.xml `<mirror>` with `<blocked>true</blocked>`, and Maven 3.8's
//! built-in `maven-default-http-blocker` (plain http off this machine), fail every lookup in
//! the repositories they mirror, naming the repository, as the real mvn does.

mod support;

use kbuild_resolvers::{resolve, Dependency, RemoteRepository};
use support::{config, mvn_project_with, publish, runtime, Server};

const DEP: &str = "<dependencies><dependency><groupId>kbt.blocked</groupId><artifactId>a</artifactId><version>1.0</version></dependency></dependencies>";

fn kbuild_error(cfg: &kbuild_resolvers::ResolverConfig) -> String {
    let roots = [Dependency::parse("kbt.blocked:a:1.0").unwrap()];
    runtime()
        .block_on(resolve(cfg, &roots, &[]))
        .expect_err("a blocked repository resolves nothing")
        .to_string()
}

/// The repository has the artifact, but its mirror is blocked: neither kbuild nor mvn asks
/// it, and both fail naming the repository and its URL.
#[test]
fn a_blocked_mirror_fails_the_lookup_without_asking() {
    let repo = tempfile::tempdir().unwrap();
    publish(repo.path(), "kbt.blocked:a:1.0", "", "a");
    let settings = "<mirrors><mirror><id>shut</id><mirrorOf>blockme</mirrorOf>\
                    <url>http://127.0.0.1:1/shut/</url><blocked>true</blocked></mirror></mirrors>";

    let server = Server::start(repo.path());
    let local = tempfile::tempdir().unwrap();
    std::fs::write(
        local.path().join("settings.xml"),
        format!("<settings>{settings}</settings>"),
    )
    .unwrap();
    let mut cfg = config(&[], local.path());
    cfg.settings_xml = Some(local.path().join("settings.xml"));
    cfg.repositories = vec![RemoteRepository::new("blockme", &server.url)];
    let err = kbuild_error(&cfg);
    assert!(
        err.contains("kbt.blocked:a:jar:1.0")
            && err.contains("blocked mirror shut")
            && err.contains(&format!("repository blockme ({})", server.url)),
        "{err}"
    );
    assert_eq!(
        server
            .faults
            .requests
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );

    let server = Server::start(repo.path());
    let work = tempfile::tempdir().unwrap();
    let central = tempfile::tempdir().unwrap();
    let central = Server::start(central.path());
    let body = format!(
        "<repositories><repository><id>blockme</id><url>{}</url></repository></repositories>{DEP}",
        server.url
    );
    let mvn = mvn_project_with(work.path(), &body, &central.url, settings, &[]);
    assert!(!mvn.ok, "{}", mvn.stdout);
    assert!(
        mvn.stdout.contains(&format!(
            "Blocked mirror for repositories: [blockme ({}",
            server.url
        )),
        "{}",
        mvn.stdout
    );
    assert_eq!(
        server
            .faults
            .requests
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

/// A plain http repository off this machine (127.0.0.2 is loopback to the kernel, not to
/// Maven's `external:` rule) is blocked by Maven's default http blocker, in mvn from its
/// global settings and in kbuild without `allow_http`.
#[test]
fn the_default_http_blocker_blocks_external_http() {
    let url = "http://127.0.0.2:1/repo/";
    let local = tempfile::tempdir().unwrap();
    let mut cfg = config(&[], local.path());
    cfg.allow_http = false;
    cfg.repositories = vec![RemoteRepository::new("plain", url)];
    let err = kbuild_error(&cfg);
    assert!(
        err.contains("blocked mirror maven-default-http-blocker (http://0.0.0.0/)")
            && err.contains(&format!("repository plain ({url})")),
        "{err}"
    );

    let work = tempfile::tempdir().unwrap();
    let central = tempfile::tempdir().unwrap();
    let central = Server::start(central.path());
    let body = format!(
        "<repositories><repository><id>plain</id><url>{url}</url></repository></repositories>{DEP}"
    );
    let mvn = mvn_project_with(work.path(), &body, &central.url, "", &[]);
    assert!(!mvn.ok, "{}", mvn.stdout);
    assert!(
        mvn.stdout
            .contains("maven-default-http-blocker (http://0.0.0.0/)")
            && mvn
                .stdout
                .contains(&format!("Blocked mirror for repositories: [plain ({url}")),
        "{}",
        mvn.stdout
    );
}
