//! Update policies (`<updatePolicy>`): a snapshot republished on the repository, or a new
//! release a range could take, is seen only when the repository's policy says its metadata is
//! due for a check (or `-U` forces one), and kbuild agrees with the real mvn in each case.

mod support;

use std::path::Path;

use kbuild_resolvers::{
    resolve, to_list_lines, Dependency, Policy, RemoteRepository, ResolverConfig, UpdatePolicy,
};
use support::{config, mvn_again, mvn_project_with, publish, put_with_sha1, runtime, Server};

const G: &str = "kbt/update";

/// The marker of the jar at `path`: which publication it is.
fn marker(path: &Path) -> String {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    std::io::read_to_string(z.by_name("marker.txt").unwrap()).unwrap()
}

fn publish_snapshot(root: &Path, build: u32, marker: &str) {
    support::publish_snapshot(root, "kbt.update:s:1.0-SNAPSHOT", build, marker);
}

/// Publishes release `version` of `kbt.update:r`, with artifact-level metadata listing
/// `versions`.
fn publish_release(root: &Path, version: &str, versions: &[&str]) {
    publish(root, &format!("kbt.update:r:{version}"), "", version);
    let list: String = versions
        .iter()
        .map(|v| format!("<version>{v}</version>"))
        .collect();
    let meta = format!(
        "<metadata><groupId>kbt.update</groupId><artifactId>r</artifactId>\
         <versioning><versions>{list}</versions><lastUpdated>20260101000000</lastUpdated></versioning></metadata>"
    );
    put_with_sha1(&root.join(G).join("r/maven-metadata.xml"), meta.as_bytes());
}

/// What a second resolution takes after the repository changed: the first and second
/// markers of the artifact, or the versions a range chose.
#[derive(Clone, Copy)]
enum Subject {
    Snapshot,
    Range,
}

impl Subject {
    fn dependency(self) -> &'static str {
        match self {
            Subject::Snapshot => "kbt.update:s:1.0-SNAPSHOT",
            Subject::Range => "kbt.update:r:[1.0,2.0)",
        }
    }
    fn first(self, root: &Path) {
        match self {
            Subject::Snapshot => publish_snapshot(root, 1, "one"),
            Subject::Range => publish_release(root, "1.0", &["1.0"]),
        }
    }
    fn republish(self, root: &Path) {
        match self {
            Subject::Snapshot => publish_snapshot(root, 2, "two"),
            Subject::Range => publish_release(root, "1.1", &["1.0", "1.1"]),
        }
    }
    /// `one`/`two` for the snapshot's jar, the version for the range.
    fn taken(self, lines: &[String], local: &Path) -> String {
        match self {
            Subject::Snapshot => marker(&local.join(G).join("s/1.0-SNAPSHOT/s-1.0-SNAPSHOT.jar")),
            Subject::Range => {
                let line = lines
                    .iter()
                    .find(|l| l.starts_with("kbt.update:r:"))
                    .unwrap_or_else(|| panic!("no kbt.update:r in {lines:?}"));
                line.split(':').nth(3).unwrap().to_string()
            }
        }
    }
    fn old_and_new(self) -> (&'static str, &'static str) {
        match self {
            Subject::Snapshot => ("one", "two"),
            Subject::Range => ("1.0", "1.1"),
        }
    }
}

fn kbuild_config(url: &str, local: &Path, updates: UpdatePolicy) -> ResolverConfig {
    let mut cfg = config(&[], local);
    cfg.repositories = vec![RemoteRepository {
        policy: Policy {
            release_updates: updates,
            snapshot_updates: updates,
            ..Policy::default()
        },
        ..RemoteRepository::new("upd", url)
    }];
    cfg
}

fn kbuild_resolve(cfg: &ResolverConfig, dep: &str) -> Vec<String> {
    let roots = [Dependency::parse_line(dep).unwrap()];
    let res = runtime()
        .block_on(resolve(cfg, &roots, &[]))
        .unwrap_or_else(|e| panic!("{e}"));
    to_list_lines(&res)
}

/// Moves every check recorded in the local repository's `resolver-status.properties` files
/// under `dir` two hours back, as if that much time had passed.
fn age_checks(dir: &Path) {
    let two_hours = 2 * 60 * 60 * 1000;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            age_checks(&path);
        } else if path.file_name().unwrap() == "resolver-status.properties" {
            let text = std::fs::read_to_string(&path).unwrap();
            let aged: String = text
                .lines()
                .map(|l| match l.split_once(".lastUpdated=") {
                    Some((k, ms)) => {
                        let ms: u64 = ms.trim().parse().unwrap();
                        format!("{k}.lastUpdated={}\n", ms - two_hours)
                    }
                    None => format!("{l}\n"),
                })
                .collect();
            std::fs::write(&path, aged).unwrap();
        }
    }
}

/// Resolves `subject` with the repository under `policy`, republishes, resolves again (with
/// `-U` when `force`; after the recorded checks aged two hours when `aged`), with kbuild and
/// with mvn on servers of their own. Returns what each took the second time, and whether
/// kbuild asked the repository for metadata the second time.
fn second_resolution(
    subject: Subject,
    policy: &str,
    force: bool,
    aged: bool,
) -> (String, String, bool) {
    let updates = UpdatePolicy::parse(policy).unwrap();

    let repo = tempfile::tempdir().unwrap();
    subject.first(repo.path());
    let server = Server::start(repo.path());
    let local = tempfile::tempdir().unwrap();
    let mut cfg = kbuild_config(&server.url, local.path(), updates);
    let first = kbuild_resolve(&cfg, subject.dependency());
    assert_eq!(subject.taken(&first, local.path()), subject.old_and_new().0);
    subject.republish(repo.path());
    if aged {
        age_checks(local.path());
    }
    let before = server.asked("maven-metadata.xml").len();
    cfg.update_snapshots = force;
    let second = kbuild_resolve(&cfg, subject.dependency());
    let asked = server.asked("maven-metadata.xml").len() > before;
    let ours = subject.taken(&second, local.path());

    let repo = tempfile::tempdir().unwrap();
    subject.first(repo.path());
    let server = Server::start(repo.path());
    let work = tempfile::tempdir().unwrap();
    let dep = Dependency::parse_line(subject.dependency()).unwrap();
    let body = format!(
        "<repositories><repository><id>upd</id><url>{url}</url>\
           <releases><updatePolicy>{policy}</updatePolicy></releases>\
           <snapshots><updatePolicy>{policy}</updatePolicy></snapshots></repository></repositories>\
         <dependencies><dependency><groupId>kbt.update</groupId><artifactId>{}</artifactId><version>{}</version></dependency></dependencies>",
        dep.coord.artifact,
        dep.coord.version,
        url = server.url
    );
    let mvn = mvn_project_with(work.path(), &body, &server.url, "", &[]);
    assert!(mvn.ok, "{}", mvn.stdout);
    assert_eq!(
        subject.taken(&mvn.list, &mvn.local),
        subject.old_and_new().0,
        "{}",
        mvn.stdout
    );
    subject.republish(repo.path());
    if aged {
        age_checks(&mvn.local.join("kbt"));
    }
    let mvn = mvn_again(work.path(), if force { &["-U"] } else { &[] });
    assert!(mvn.ok, "{}", mvn.stdout);
    let theirs = subject.taken(&mvn.list, &mvn.local);
    (ours, theirs, asked)
}

#[test]
fn never_keeps_the_snapshot_it_has() {
    let (ours, theirs, asked) = second_resolution(Subject::Snapshot, "never", false, false);
    assert_eq!((ours.as_str(), theirs.as_str()), ("one", "one"));
    assert!(!asked, "a check that is not due went to the network");
}

#[test]
fn daily_keeps_the_snapshot_within_the_day() {
    let (ours, theirs, asked) = second_resolution(Subject::Snapshot, "daily", false, false);
    assert_eq!((ours.as_str(), theirs.as_str()), ("one", "one"));
    assert!(!asked, "a check that is not due went to the network");
}

#[test]
fn always_takes_the_republished_snapshot() {
    let (ours, theirs, asked) = second_resolution(Subject::Snapshot, "always", false, false);
    assert_eq!((ours.as_str(), theirs.as_str()), ("two", "two"));
    assert!(asked);
}

#[test]
fn update_snapshots_forces_the_check_under_daily() {
    let (ours, theirs, asked) = second_resolution(Subject::Snapshot, "daily", true, false);
    assert_eq!((ours.as_str(), theirs.as_str()), ("two", "two"));
    assert!(asked);
}

/// `interval:60` keeps the snapshot for the hour, and takes the new one once the recorded
/// check (Maven's own `resolver-status.properties`, which both read) is two hours old.
#[test]
fn an_interval_is_due_once_it_has_passed() {
    let (ours, theirs, asked) = second_resolution(Subject::Snapshot, "interval:60", false, false);
    assert_eq!((ours.as_str(), theirs.as_str()), ("one", "one"));
    assert!(!asked);
    let (ours, theirs, asked) = second_resolution(Subject::Snapshot, "interval:60", false, true);
    assert_eq!((ours.as_str(), theirs.as_str()), ("two", "two"));
    assert!(asked);
}

/// A range lists versions from the repository's artifact-level metadata, under the same
/// policy: `never` keeps the version it chose, `always` and `-U` see the new release.
#[test]
fn ranges_see_new_releases_only_when_a_check_is_due() {
    let (ours, theirs, asked) = second_resolution(Subject::Range, "never", false, false);
    assert_eq!((ours.as_str(), theirs.as_str()), ("1.0", "1.0"));
    assert!(!asked);
    let (ours, theirs, _) = second_resolution(Subject::Range, "always", false, false);
    assert_eq!((ours.as_str(), theirs.as_str()), ("1.1", "1.1"));
    let (ours, theirs, _) = second_resolution(Subject::Range, "never", true, false);
    assert_eq!((ours.as_str(), theirs.as_str()), ("1.1", "1.1"));
}

#[test]
fn update_policies_parse_and_fall_due_as_in_maven() {
    use UpdatePolicy::*;
    assert_eq!(UpdatePolicy::parse("interval:5"), Some(Interval(5)));
    assert_eq!(UpdatePolicy::parse(" never "), Some(Never));
    assert_eq!(UpdatePolicy::parse("hourly"), None);
    let hour = 3_600_000;
    let now = 1_800_000_000_000;
    assert!(Always.is_due(now, now));
    assert!(!Never.is_due(0, now));
    assert!(!Interval(60).is_due(now - hour / 2, now));
    assert!(Interval(60).is_due(now - 2 * hour, now));
    assert!(!Daily.is_due(now, now));
    assert!(Daily.is_due(now - 25 * hour, now));
    assert_eq!(Never.most_frequent(Daily), Daily);
    assert_eq!(Interval(5).most_frequent(Daily), Interval(5));
    assert_eq!(Interval(5).most_frequent(Interval(3)), Interval(3));
    assert_eq!(Always.most_frequent(Never), Always);
}

/// kbuild reads the checks mvn recorded: after mvn resolved the snapshot into a local
/// repository today, kbuild on that local repository keeps it under `daily` without asking,
/// and mvn keeps what kbuild took after `-U`.
#[test]
fn mvn_and_kbuild_see_each_others_checks() {
    let repo = tempfile::tempdir().unwrap();
    publish_snapshot(repo.path(), 1, "one");
    let server = Server::start(repo.path());
    let work = tempfile::tempdir().unwrap();
    let body = format!(
        "<repositories><repository><id>upd</id><url>{}</url></repository></repositories>\
         <dependencies><dependency><groupId>kbt.update</groupId><artifactId>s</artifactId><version>1.0-SNAPSHOT</version></dependency></dependencies>",
        server.url
    );
    let mvn = mvn_project_with(work.path(), &body, &server.url, "", &[]);
    assert!(mvn.ok, "{}", mvn.stdout);
    publish_snapshot(repo.path(), 2, "two");

    let mut cfg = kbuild_config(&server.url, &mvn.local, UpdatePolicy::Daily);
    let before = server.asked("maven-metadata.xml").len();
    let lines = kbuild_resolve(&cfg, Subject::Snapshot.dependency());
    assert_eq!(Subject::Snapshot.taken(&lines, &mvn.local), "one");
    assert_eq!(
        server.asked("maven-metadata.xml").len(),
        before,
        "mvn checked today"
    );

    publish_snapshot(repo.path(), 3, "three");
    cfg.update_snapshots = true;
    let lines = kbuild_resolve(&cfg, Subject::Snapshot.dependency());
    assert_eq!(Subject::Snapshot.taken(&lines, &mvn.local), "three");
    publish_snapshot(repo.path(), 4, "four");
    let mvn = mvn_again(work.path(), &[]);
    assert!(mvn.ok, "{}", mvn.stdout);
    assert_eq!(
        Subject::Snapshot.taken(&mvn.list, &mvn.local),
        "three",
        "kbuild checked today: {}",
        mvn.stdout
    );
}
