//! Repository policies (`<releases>`/`<snapshots>` `<enabled>`): a repository is asked only
//! for the kind of version it serves, checked against the real Maven on the same servers.

mod support;

use std::path::Path;

use kbuild_resolvers::{
    resolve, to_list_lines, ChecksumPolicy, Dependency, Policy, RemoteRepository, UpdatePolicy,
};
use support::{config, mvn_project, publish, runtime, Server};

const SNAPSHOTS_ONLY: Policy = Policy {
    releases: false,
    snapshots: true,
    release_checksums: ChecksumPolicy::Fail,
    snapshot_checksums: ChecksumPolicy::Fail,
    release_updates: UpdatePolicy::Daily,
    snapshot_updates: UpdatePolicy::Daily,
};

fn deps(specs: &[&str]) -> Vec<Dependency> {
    specs
        .iter()
        .map(|s| Dependency::parse(s).unwrap())
        .collect()
}

/// The marker of the jar at `path`: which repository served it.
fn marker(path: &Path) -> String {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    std::io::read_to_string(z.by_name("marker.txt").unwrap()).unwrap()
}

/// A snapshots-only repository listed first that also holds a different `a-1.0` (with a
/// dependency of its own), and a releases repository with the real one.
struct TwoRepos {
    _dirs: [tempfile::TempDir; 2],
    snapshots: Server,
    releases: Server,
}

fn two_repos() -> TwoRepos {
    let (snap, rel) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let evil = "<dependencies><dependency><groupId>kbt.policy</groupId><artifactId>evil</artifactId><version>1.0</version></dependency></dependencies>";
    publish(
        snap.path(),
        "kbt.policy:a:1.0",
        evil,
        "snapshots repository",
    );
    publish(snap.path(), "kbt.policy:evil:1.0", "", "evil");
    publish(snap.path(), "kbt.policy:s:1.0-SNAPSHOT", "", "snapshot");
    publish(rel.path(), "kbt.policy:a:1.0", "", "releases repository");
    TwoRepos {
        snapshots: Server::start(snap.path()),
        releases: Server::start(rel.path()),
        _dirs: [snap, rel],
    }
}

#[test]
fn a_snapshots_only_repository_is_never_asked_for_a_release() {
    let roots = deps(&["kbt.policy:a:1.0", "kbt.policy:s:1.0-SNAPSHOT"]);
    let want = [
        "kbt.policy:a:jar:1.0:compile",
        "kbt.policy:s:jar:1.0-SNAPSHOT:compile",
    ];

    let r = two_repos();
    let local = tempfile::tempdir().unwrap();
    let mut cfg = config(&[], local.path());
    cfg.repositories = vec![
        RemoteRepository {
            policy: SNAPSHOTS_ONLY,
            ..RemoteRepository::new("snaps", &r.snapshots.url)
        },
        RemoteRepository::new("rels", &r.releases.url),
    ];
    let res = runtime().block_on(resolve(&cfg, &roots, &[])).unwrap();
    assert_eq!(to_list_lines(&res), want);
    assert_eq!(marker(&res.artifacts[0].file), "releases repository");
    assert_eq!(marker(&res.artifacts[1].file), "snapshot");
    assert_eq!(r.snapshots.asked("/kbt/policy/a/"), Vec::<String>::new());
    assert!(!r.snapshots.asked("/kbt/policy/s/").is_empty());

    // mvn, on fresh servers with the same content, agrees on all three counts.
    let r = two_repos();
    let work = tempfile::tempdir().unwrap();
    let body = format!(
        "<repositories>\
           <repository><id>snaps</id><url>{}</url><releases><enabled>false</enabled></releases></repository>\
           <repository><id>rels</id><url>{}</url></repository>\
         </repositories>\
         <dependencies>\
           <dependency><groupId>kbt.policy</groupId><artifactId>a</artifactId><version>1.0</version></dependency>\
           <dependency><groupId>kbt.policy</groupId><artifactId>s</artifactId><version>1.0-SNAPSHOT</version></dependency>\
         </dependencies>",
        r.snapshots.url, r.releases.url
    );
    let mvn = mvn_project(work.path(), &body, &r.releases.url);
    assert!(mvn.ok, "{}", mvn.stdout);
    assert_eq!(mvn.list, want);
    let a = mvn.local.join("kbt/policy/a/1.0/a-1.0.jar");
    assert_eq!(marker(&a), "releases repository");
    assert_eq!(r.snapshots.asked("/kbt/policy/a/"), Vec::<String>::new());
}

/// A repository a POM declares with `<releases><enabled>false`: its snapshots are used for
/// that POM's dependencies, its releases are not, so a release only it has is missing.
#[test]
fn a_pom_declared_repository_with_releases_disabled_is_skipped_for_releases() {
    let setup = || {
        let (extra, main) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        publish(extra.path(), "kbt.policy:y:1.0", "", "y");
        publish(extra.path(), "kbt.policy:z:1.0-SNAPSHOT", "", "z");
        let extra_server = Server::start(extra.path());
        let x = format!(
            "<repositories><repository><id>extra</id><url>{}</url>\
               <releases><enabled>false</enabled></releases></repository></repositories>\
             <dependencies>\
               <dependency><groupId>kbt.policy</groupId><artifactId>z</artifactId><version>1.0-SNAPSHOT</version></dependency>\
               <dependency><groupId>kbt.policy</groupId><artifactId>y</artifactId><version>1.0</version></dependency>\
             </dependencies>",
            extra_server.url
        );
        publish(main.path(), "kbt.policy:x:1.0", &x, "x");
        let main_server = Server::start(main.path());
        (extra, main, extra_server, main_server)
    };

    let (_e, _m, extra, main) = setup();
    let local = tempfile::tempdir().unwrap();
    let err = runtime()
        .block_on(resolve(
            &config(&[&main.url], local.path()),
            &deps(&["kbt.policy:x:1.0"]),
            &[],
        ))
        .unwrap_err()
        .to_string();
    assert!(err.contains("kbt.policy:y:jar:1.0"), "{err}");
    assert!(
        err.contains("kbt.policy:x:jar:1.0 -> kbt.policy:y:jar:1.0"),
        "{err}"
    );
    assert_eq!(extra.asked("/kbt/policy/y/"), Vec::<String>::new());
    assert!(local
        .path()
        .join("kbt/policy/z/1.0-SNAPSHOT/z-1.0-SNAPSHOT.jar")
        .is_file());

    let (_e, _m, extra, main) = setup();
    let work = tempfile::tempdir().unwrap();
    let body = format!(
        "<repositories><repository><id>main</id><url>{}</url></repository></repositories>\
         <dependencies><dependency><groupId>kbt.policy</groupId><artifactId>x</artifactId><version>1.0</version></dependency></dependencies>",
        main.url
    );
    let mvn = mvn_project(work.path(), &body, &main.url);
    assert!(!mvn.ok, "{}", mvn.stdout);
    assert!(
        mvn.stdout.contains("kbt.policy:y:jar:1.0"),
        "{}",
        mvn.stdout
    );
    assert_eq!(extra.asked("/kbt/policy/y/"), Vec::<String>::new());
    assert!(!extra.asked("/kbt/policy/z/").is_empty(), "{}", mvn.stdout);
}
