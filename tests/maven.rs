//! The `maven` rule end to end: a Maven repository served over real HTTP on 127.0.0.1, the
//! real kbuild binary resolving it into a fresh local repository, real javac compiling
//! against the resolved jars, and real java running the result.

mod common;
#[path = "../resolvers/tests/support/mod.rs"]
mod support;

use std::process::Command;

use common::{set, Project, Server};

struct Setup {
    p: Project,
    _server: Server,
    local: tempfile::TempDir,
}

fn setup() -> Setup {
    let p = Project::new("maven-app");
    let server = Server::serve(&p.path("repo"));
    p.edit("kbuild.edn", "REPO_URL", &server.url);
    let local = tempfile::tempdir().unwrap();
    Setup {
        p,
        _server: server,
        local,
    }
}

impl Setup {
    fn args<'a>(&'a self, rest: &[&'a str]) -> Vec<&'a str> {
        let mut a = vec!["--local-repo", self.local.path().to_str().unwrap()];
        a.extend_from_slice(rest);
        a
    }

    fn build(&self, rest: &[&str]) -> common::Build {
        let out = self
            .p
            .run(&self.args(&[&["--json", "build"][..], rest].concat()));
        common::Build::from(out)
    }
}

#[test]
fn a_java_library_compiles_against_resolved_jars_and_rebuilds_nothing_after() {
    let s = setup();
    let b = s.build(&[]);
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(b.executed(), set(&["greeter", "app"]));
    let jar = s
        .local
        .path()
        .join("org/example/greeter/1.0/greeter-1.0.jar");
    assert!(jar.is_file(), "downloaded into the local repository");
    let words = s.local.path().join("org/example/words/1.0/words-1.0.jar");
    let cp = format!(
        "{}:{}:{}",
        s.p.path("target/kbuild/app").display(),
        jar.display(),
        words.display()
    );
    let out = Command::new("java")
        .args(["-cp", &cp, "a.Main"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hello from a Maven jar, kbuild!\n"
    );

    let again = s.build(&[]);
    assert!(
        again.ok() && again.executed().is_empty(),
        "ran {:?}",
        again.executed()
    );

    // Resolution is printed like mvn dependency:list.
    let out = s.p.run(&s.args(&["deps", "greeter"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "greeter:\norg.example:greeter:jar:1.0:compile\norg.example:words:jar:1.0:compile\n"
    );
}

/// Another local repository resolves again, into it: the product names artifacts there.
#[test]
fn another_local_repository_resolves_again() {
    let s = setup();
    assert!(s.build(&[]).ok());
    let other = tempfile::tempdir().unwrap();
    let with_other = |rest: &[&str]| {
        let mut a = vec!["--local-repo", other.path().to_str().unwrap()];
        a.extend_from_slice(rest);
        common::Build::from(s.p.run(&a))
    };
    let b = with_other(&["--json", "build"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(b.executed().contains("greeter"), "{:?}", b.executed());
    let b = with_other(&["classpath", "greeter"]);
    assert!(b.ok(), "{}", b.stderr);
    let jar = other.path().join("org/example/greeter/1.0/greeter-1.0.jar");
    assert!(jar.is_file());
    assert!(b.stdout.contains(jar.to_str().unwrap()), "{}", b.stdout);
    // And back: the first repository's resolution is still a matching trace.
    let b = s.build(&[]);
    assert!(
        b.ok() && !b.executed().contains("greeter"),
        "{:?}",
        b.executed()
    );
}

#[test]
fn offline_builds_use_the_local_repository_and_say_what_is_missing() {
    let s = setup();
    // Nothing local yet: offline fails (resolution: exit 4) and names the coordinate.
    let b = s.build(&["--offline"]);
    assert_eq!(b.code, Some(4), "{}", b.stderr);
    assert!(
        b.stderr.contains("org.example:greeter:jar:1.0"),
        "{}",
        b.stderr
    );
    assert!(b.stderr.contains("offline"), "{}", b.stderr);
    assert!(s.build(&[]).ok());
    // With everything local, an offline build from scratch works (scratch: without the
    // machine-wide cache either).
    std::fs::remove_dir_all(s.p.path(".kbuild")).unwrap();
    std::fs::remove_dir_all(s.p.cache.path().join("traces")).unwrap();
    let b = s.build(&["--offline"]);
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(b.executed(), set(&["greeter", "app"]));
}

#[test]
fn changed_coordinates_rebuild_and_missing_artifacts_are_clear_errors() {
    let s = setup();
    assert!(s.build(&[]).ok());
    s.p.edit(
        "kbuild.edn",
        "[[org.example/greeter \"1.0\"]]",
        "[[org.example/greeter \"1.0\" :exclusions [org.example/words]]]",
    );
    let b = s.build(&[]);
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(
        b.executed(),
        set(&["greeter", "app"]),
        "a changed resolution recompiles its users"
    );

    s.p.edit("kbuild.edn", "\"1.0\" :exclusions", "\"9.9\" :exclusions");
    let b = s.build(&[]);
    assert_eq!(b.code, Some(4), "{}", b.stderr);
    assert!(b.stderr.contains("org.example:greeter"), "{}", b.stderr);
    assert!(b.stderr.contains("9.9"), "{}", b.stderr);
    assert!(b.failed().contains("app"));
}

#[test]
fn plain_http_repositories_need_to_be_allowed() {
    let s = setup();
    s.p.edit("kbuild.edn", ":allow-http true", "");
    let out = s.p.run(&s.args(&["build"]));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("kbuild.edn:")
            && err.contains("plain http")
            && err.contains(":allow-http true"),
        "{err}"
    );
}

#[test]
fn kbuild_resolve_prints_coordinates_like_mvn_dependency_list() {
    let s = setup();
    let url = s._server.url.clone();
    let out = s.p.run(&s.args(&[
        "resolve",
        "--allow-http",
        "--repo",
        &url,
        "org.example:greeter:1.0",
    ]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "org.example:greeter:jar:1.0:compile\norg.example:words:jar:1.0:compile\n"
    );
    let out = s.p.run(&s.args(&[
        "resolve",
        "--tree",
        "--scope",
        "test",
        "--allow-http",
        "--repo",
        &url,
        "org.example:greeter:1.0",
    ]));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "\\- org.example:greeter:jar:1.0:test\n   \\- org.example:words:jar:1.0:test\n"
    );
    let out =
        s.p.run(&s.args(&["resolve", "--repo", &url, "org.example:greeter:1.0"]));
    assert_eq!(
        out.status.code(),
        Some(4),
        "plain http refused without --allow-http"
    );
    let out = s.p.run(&s.args(&[
        "resolve",
        "--allow-http",
        "--repo",
        &url,
        "org.example:nothing:1.0",
    ]));
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("org.example:nothing"));
}

#[test]
fn kbuild_lock_pins_versions_and_sha256_and_builds_verify_them() {
    let s = setup();
    let out = s.p.run(&s.args(&["lock"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lock = s.p.read("kbuild.lock");
    assert!(
        lock.contains("\"org.example:greeter:jar:1.0:compile\""),
        "{lock}"
    );
    assert!(
        lock.contains("\"org.example:words:jar:1.0:compile\""),
        "{lock}"
    );
    let b = s.build(&[]);
    assert!(b.ok(), "{}", b.stderr);

    // The lock itself is read back by the build: tampering with a pin fails, naming the artifact.
    let words_sha = lock
        .split("\"org.example:words:jar:1.0:compile\" \"")
        .nth(1)
        .unwrap()[..64]
        .to_string();
    s.p.edit("kbuild.lock", &words_sha, &"0".repeat(64));
    let b = s.build(&[]);
    assert_eq!(b.code, Some(1));
    assert!(
        b.stderr
            .contains("org.example:words:jar:1.0:compile has sha256"),
        "{}",
        b.stderr
    );
    assert!(b.stderr.contains("kbuild.lock pins 0000"), "{}", b.stderr);
    s.p.edit("kbuild.lock", &"0".repeat(64), &words_sha);
    assert!(s.build(&[]).ok());

    // A resolution that changes (here: an exclusion) no longer matches the lock until relocked.
    s.p.edit(
        "kbuild.edn",
        "[[org.example/greeter \"1.0\"]]",
        "[[org.example/greeter \"1.0\" :exclusions [org.example/words]]]",
    );
    let b = s.build(&[]);
    assert_eq!(b.code, Some(1));
    assert!(
        b.stderr.contains(
            "kbuild.lock pins org.example:words:jar:1.0:compile, which no longer resolves"
        ),
        "{}",
        b.stderr
    );
    assert!(s.p.run(&s.args(&["lock"])).status.success());
    assert!(s.build(&[]).ok());
    assert!(!s.p.read("kbuild.lock").contains("words"));
}

/// Products name resolved artifacts relative to the local repository, so a machine with
/// another one (sharing a remote cache) resolves into its own and restores the rest.
#[test]
fn another_machines_local_repository_still_shares_what_depends_on_it() {
    let s = setup();
    let served = tempfile::tempdir().unwrap();
    let cache = Server::cache(served.path());
    let build = |p: &Project, local: &std::path::Path| {
        let out = p
            .command(&["--local-repo", local.to_str().unwrap(), "--json", "build"])
            .env("KBUILD_REMOTE_CACHE", &cache.url)
            .output()
            .unwrap();
        common::Build::from(out)
    };
    let b = build(&s.p, s.local.path());
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(b.executed(), set(&["greeter", "app"]));

    // Another machine: its own checkout, machine-wide cache and local repository.
    let q = Project::new("maven-app");
    std::fs::write(q.path("kbuild.edn"), s.p.read("kbuild.edn")).unwrap();
    let local = tempfile::tempdir().unwrap();
    let b = build(&q, local.path());
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(
        b.executed(),
        set(&["greeter"]),
        "javac's classes come from the cache"
    );
    assert!(local
        .path()
        .join("org/example/greeter/1.0/greeter-1.0.jar")
        .is_file());
    let out = q
        .command(&[
            "--local-repo",
            local.path().to_str().unwrap(),
            "classpath",
            "app",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(local.path().to_str().unwrap()),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A dependency whose POM no repository has resolves as in Maven: its jar, no dependencies of
/// its own, and Maven's warning with the path that brought it in.
#[test]
fn a_jar_without_a_pom_builds_with_a_warning() {
    let s = setup();
    for f in ["words-1.0.pom", "words-1.0.pom.sha1"] {
        std::fs::remove_file(s.p.path("repo/org/example/words/1.0").join(f)).unwrap();
    }
    let b = s.build(&[]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(
        b.stderr.contains(
            "target greeter: The POM for org.example:words:jar:1.0 is missing, no dependency information available \
             (dependency path: org.example:greeter:jar:1.0 -> org.example:words:jar:1.0)"
        ),
        "{}",
        b.stderr
    );
    assert!(s
        .local
        .path()
        .join("org/example/words/1.0/words-1.0.jar")
        .is_file());
}

/// `~/.m2/settings.xml` is an input of every `:maven` target: a mirror, a proxy or a
/// profile's repository edited there resolves the cached target again, a comment does not, and
/// a mirror made `<blocked>` fails it (exit 4) naming the repository it blocks.
#[test]
fn settings_xml_edits_resolve_again_and_comments_do_not() {
    let s = setup();
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".m2")).unwrap();
    let url = s._server.url.clone();
    let write = |body: &str| {
        std::fs::write(
            home.path().join(".m2/settings.xml"),
            format!("<settings>\n{body}\n</settings>\n"),
        )
        .unwrap()
    };
    let build = || {
        let out =
            s.p.command(&s.args(&["--json", "build", "greeter"]))
                .env("HOME", home.path())
                .output()
                .unwrap();
        common::Build::from(out)
    };
    let mirror = |to: &str, blocked: bool| {
        format!(
            "<mirrors><mirror><id>m</id><mirrorOf>fixture</mirrorOf><url>{to}</url><blocked>{blocked}</blocked></mirror></mirrors>"
        )
    };

    write("<!-- one -->");
    assert_eq!(build().executed(), set(&["greeter"]));
    write("<!-- two, reworded -->\n\n");
    let b = build();
    assert!(b.ok() && b.executed().is_empty(), "{}", b.stderr);

    write(&mirror(&url, false));
    assert_eq!(build().executed(), set(&["greeter"]));
    write(&format!("<!-- a comment -->{}", mirror(&url, false)));
    assert!(build().executed().is_empty());
    write(&mirror(&format!("{url}?moved"), false));
    assert_eq!(build().executed(), set(&["greeter"]));

    let proxy = "<proxies><proxy><id>p</id><active>false</active><host>proxy.invalid</host></proxy></proxies>";
    write(&format!(
        "{}{proxy}",
        mirror(&format!("{url}?moved"), false)
    ));
    assert_eq!(build().executed(), set(&["greeter"]));

    let profile = |repo: &str| {
        format!(
            "<profiles><profile><id>extra</id><repositories><repository><id>extra</id><url>{repo}</url></repository></repositories></profile></profiles><activeProfiles><activeProfile>extra</activeProfile></activeProfiles>"
        )
    };
    write(&profile(&url));
    assert_eq!(build().executed(), set(&["greeter"]));
    write(&profile(&format!("{url}?other")));
    assert_eq!(build().executed(), set(&["greeter"]));

    // Artifacts already in the local repository do not hide a block: the target resolves
    // again, and a fresh local repository's lookup fails where mvn's would.
    write(&mirror(&url, true));
    let fresh = tempfile::tempdir().unwrap();
    let out =
        s.p.command(&[
            "--local-repo",
            fresh.path().to_str().unwrap(),
            "build",
            "greeter",
        ])
        .env("HOME", home.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("blocked mirror m") && err.contains(&format!("repository fixture ({url})")),
        "{err}"
    );
}

/// The marker in a jar that `support::publish` wrote.
fn jar_marker(path: &std::path::Path) -> String {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    std::io::read_to_string(z.by_name("marker.txt").unwrap()).unwrap()
}

/// A `:maven` target on a snapshot runs every build, but within the repository's update
/// policy (daily by default) it keeps the build it has when the repository publishes a new
/// one; `-U` checks now and takes it, and a project.clj repository with `:update :always`
/// takes it on the next build.
#[test]
fn snapshots_follow_the_update_policy_and_dash_u_checks_now() {
    let repo = tempfile::tempdir().unwrap();
    support::publish_snapshot(repo.path(), "kbt.update:s:1.0-SNAPSHOT", 1, "one");
    let server = Server::serve(repo.path());
    let p = Project::empty();
    p.write(
        "kbuild.edn",
        &format!(
            "{{:repositories {{\"snaps\" \"{}\"}} :allow-http true\n :targets {{s {{:rule :maven :coords [[kbt.update/s \"1.0-SNAPSHOT\"]]}}}}}}\n",
            server.url
        ),
    );
    let local = tempfile::tempdir().unwrap();
    let jar = local
        .path()
        .join("kbt/update/s/1.0-SNAPSHOT/s-1.0-SNAPSHOT.jar");
    let build = |extra: &[&str]| {
        let mut args = vec!["--local-repo", local.path().to_str().unwrap()];
        args.extend_from_slice(extra);
        args.extend(["--json", "build"]);
        let b = common::Build::from(p.run(&args));
        assert!(b.ok(), "{}", b.stderr);
        assert_eq!(
            b.executed(),
            set(&["s"]),
            "a snapshot is checked every build"
        );
        jar_marker(&jar)
    };
    assert_eq!(build(&[]), "one");
    support::publish_snapshot(repo.path(), "kbt.update:s:1.0-SNAPSHOT", 2, "two");
    assert_eq!(build(&[]), "one", "daily: checked already today");
    assert_eq!(build(&["-U"]), "two");

    let repo = tempfile::tempdir().unwrap();
    support::publish_snapshot(repo.path(), "kbt.update:s:1.0-SNAPSHOT", 1, "one");
    let p = Project::empty();
    p.write(
        "project.clj",
        &format!(
            "(defproject kbt/app \"1\"\n  :dependencies [[kbt.update/s \"1.0-SNAPSHOT\"]]\n  :repositories ^:replace [[\"snaps\" {{:url \"file://{}\" :update :always}}]])\n",
            repo.path().display()
        ),
    );
    let local = tempfile::tempdir().unwrap();
    let jar = local
        .path()
        .join("kbt/update/s/1.0-SNAPSHOT/s-1.0-SNAPSHOT.jar");
    let build = || {
        let b = common::Build::from(p.run(&[
            "--local-repo",
            local.path().to_str().unwrap(),
            // Without :base, whose nREPL this repository does not have.
            "--profile",
            "-base",
            "--json",
            "build",
            "deps",
        ]));
        assert!(b.ok(), "{}", b.stderr);
        jar_marker(&jar)
    };
    assert_eq!(build(), "one");
    support::publish_snapshot(repo.path(), "kbt.update:s:1.0-SNAPSHOT", 2, "two");
    assert_eq!(build(), "two", ":update :always checks every build");
}
