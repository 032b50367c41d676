//! Where Maven goes on with a warning instead of failing: a dependency whose POM no
//! repository has, and a repository that cannot be reached while another one answers.
//! Each case is checked against the real Maven on the same servers.

mod support;

use kbuild_resolvers::{resolve, to_list_lines, Dependency, Resolution, ResolveError};
use support::{config, mvn_project, publish, refused_url, runtime, Server};

/// `x` has a jar and no POM; `y` has both and depends on `z`.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let x = publish(dir.path(), "kbt.lenient:x:1.0", "", "x");
    std::fs::remove_file(x.with_extension("pom")).unwrap();
    std::fs::remove_file(x.with_extension("pom.sha1")).unwrap();
    let to_z = "<dependencies><dependency><groupId>kbt.lenient</groupId><artifactId>z</artifactId><version>1.0</version></dependency></dependencies>";
    publish(dir.path(), "kbt.lenient:y:1.0", to_z, "y");
    publish(dir.path(), "kbt.lenient:z:1.0", "", "z");
    dir
}

fn ours(urls: &[&str], roots: &[&str]) -> Result<Resolution, ResolveError> {
    let local = tempfile::tempdir().unwrap();
    let roots: Vec<Dependency> = roots
        .iter()
        .map(|s| Dependency::parse(s).unwrap())
        .collect();
    runtime().block_on(resolve(&config(urls, local.path()), &roots, &[]))
}

/// `mvn dependency:list` with `urls` as the project's repositories, in order.
fn theirs(urls: &[&str], roots: &[&str]) -> support::MvnRun {
    let repos: String = urls
        .iter()
        .enumerate()
        .map(|(i, u)| format!("<repository><id>r{i}</id><url>{u}</url></repository>"))
        .collect();
    let deps: String = roots
        .iter()
        .map(|r| {
            let [g, a, v]: [&str; 3] = r.split(':').collect::<Vec<_>>().try_into().unwrap();
            format!("<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version></dependency>")
        })
        .collect();
    let work = tempfile::tempdir().unwrap();
    let run = mvn_project(
        work.path(),
        &format!("<repositories>{repos}</repositories><dependencies>{deps}</dependencies>"),
        urls.iter().find(|u| !u.contains(":1/")).unwrap(),
    );
    // The work directory (and the local repository in it) goes; the output stays.
    drop(work);
    run
}

const MISSING_X: &str =
    "The POM for kbt.lenient:x:jar:1.0 is missing, no dependency information available";

#[test]
fn a_jar_without_a_pom_resolves_with_a_warning_and_no_dependencies() {
    let dir = repo();
    let server = Server::start(dir.path());
    let roots = ["kbt.lenient:x:1.0", "kbt.lenient:y:1.0"];
    let r = ours(&[&server.url], &roots).unwrap();
    let mvn = theirs(&[&server.url], &roots);
    assert!(mvn.ok, "{}", mvn.stdout);
    assert!(mvn.stdout.contains(MISSING_X), "{}", mvn.stdout);
    assert_eq!(to_list_lines(&r), mvn.list);
    assert_eq!(r.warnings, [MISSING_X]);
}

/// A repository that refuses connections, before or after one that answers: what the other
/// has resolves from it (a warning names the unreachable one), but a POM that the other lacks
/// is not "missing" any more, since the unreachable repository might have it: the resolution
/// fails naming that repository, as Maven's does.
#[test]
fn an_unreachable_repository_only_fails_what_the_others_lack() {
    let dir = repo();
    let server = Server::start(dir.path());
    let refused = refused_url();
    for urls in [
        [refused.as_str(), server.url.as_str()],
        [server.url.as_str(), refused.as_str()],
    ] {
        let roots = ["kbt.lenient:y:1.0"];
        let mvn = theirs(&urls, &roots);
        assert!(mvn.ok, "{}", mvn.stdout);
        let r = ours(&urls, &roots).unwrap();
        assert_eq!(to_list_lines(&r), mvn.list, "{urls:?}");
        if urls[0] == refused {
            assert!(
                r.warnings.iter().any(|w| w.contains("127.0.0.1:1")
                    && w.contains("failed:")
                    && w.contains("not asked again")),
                "{:?}",
                r.warnings
            );
        }

        let roots = ["kbt.lenient:x:1.0", "kbt.lenient:y:1.0"];
        let mvn = theirs(&urls, &roots);
        assert!(!mvn.ok, "{}", mvn.stdout);
        assert!(
            mvn.stdout.contains("kbt.lenient:x:pom:1.0 from/to r"),
            "{}",
            mvn.stdout
        );
        let err = ours(&urls, &roots).unwrap_err().to_string();
        assert!(err.contains("kbt.lenient:x:pom:1.0"), "{err}");
        assert!(err.contains("127.0.0.1:1"), "{err}");
    }
}

/// A repository that answers every request with 500, before one that has the files: both
/// resolve from the second; kbuild names the failing repository once (after its retries)
/// and asks it no more.
#[test]
fn a_failing_repository_before_one_that_answers_is_named_in_a_warning() {
    let dir = repo();
    let server = Server::start(dir.path());
    let broken_dir = tempfile::tempdir().unwrap();
    let broken = Server::start(broken_dir.path());
    broken
        .faults
        .fail_500
        .store(usize::MAX, std::sync::atomic::Ordering::SeqCst);
    let urls = [broken.url.as_str(), server.url.as_str()];
    let roots = ["kbt.lenient:y:1.0"];
    let mvn = theirs(&urls, &roots);
    assert!(mvn.ok, "{}", mvn.stdout);
    broken
        .faults
        .requests
        .store(0, std::sync::atomic::Ordering::SeqCst);
    let r = ours(&urls, &roots).unwrap();
    assert_eq!(to_list_lines(&r), mvn.list);
    assert!(
        r.warnings.iter().any(|w| w.starts_with("repository r0")
            && w.contains("HTTP status 500")
            && w.contains("not asked again")),
        "{:?}",
        r.warnings
    );
    // The first lookup only (y's POM and its four checksum files, three attempts each):
    // y's jar, z's POM and jar are not asked there.
    let asked = broken
        .faults
        .requests
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        asked <= 5 * 3,
        "the failing repository was asked {asked} times"
    );
}
