//! The remote cache against a server product that teams run: Debian's nginx with WebDAV `PUT`
//! as a Bazel HTTP cache. Another machine restores what CI uploaded; a read-only client never
//! writes.

mod common;

use std::path::Path;

use common::{Build, Nginx, Project};

fn build(p: &Project, remote: &str, upload: bool) -> Build {
    let mut c = p.command(&["--json", "build"]);
    c.env("KBUILD_REMOTE_CACHE", remote);
    if !upload {
        c.env("KBUILD_REMOTE_CACHE_UPLOAD", "false");
    }
    Build::from(c.output().unwrap())
}

fn files_under(dir: &Path) -> usize {
    walk(dir).len()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn nginx_webdav_serves_another_machine_and_a_read_only_client_never_writes() {
    let served = tempfile::tempdir().unwrap();
    let nginx = Nginx::webdav(served.path());

    // CI builds and uploads.
    let ci = Project::new("mixed");
    let b = build(&ci, &nginx.url, true);
    assert!(b.ok(), "{}", b.stderr);
    let all = b.executed();
    assert!(!all.is_empty());
    assert!(files_under(&served.path().join("ac")) >= all.len());
    let uploaded = files_under(served.path());

    // A developer's machine, reading only: everything restored, nothing written.
    let dev = Project::new("mixed");
    let b = build(&dev, &nginx.url, false);
    assert!(b.ok(), "{}", b.stderr);
    assert!(b.executed().is_empty(), "ran {:?}", b.executed());
    let jar = "target/kbuild/dist/dist.jar";
    assert_eq!(ci.bytes(jar), dev.bytes(jar));
    let explain = dev.run(&["explain", "dist"]);
    assert!(String::from_utf8_lossy(&explain.stdout).contains("remote cache"));

    // Its own edit builds locally and stays local.
    dev.edit("resources/greeting.txt", "travel", "ride");
    let b = build(&dev, &nginx.url, false);
    assert!(b.ok(), "{}", b.stderr);
    assert!(!b.executed().is_empty());
    assert_eq!(
        files_under(served.path()),
        uploaded,
        "a read-only client wrote to the cache"
    );

    // The same edit on a machine that uploads reaches the server.
    let other = Project::new("mixed");
    other.edit("resources/greeting.txt", "travel", "ride");
    let b = build(&other, &nginx.url, true);
    assert!(b.ok(), "{}", b.stderr);
    assert!(files_under(served.path()) > uploaded);
}

/// A poisoned remote cache: every product on the server rewritten to hold a file whose path
/// climbs out of the checkout, under a trace that matches. The other machine restores none of
/// it: nothing is written outside its project, and the targets are built instead.
#[test]
fn a_remote_product_whose_paths_leave_the_checkout_writes_nothing_outside_it() {
    use kbuild_engine::{decode_bundle, encode_bundle, Entry, Hash, Product};
    let served = tempfile::tempdir().unwrap();
    let server = common::Server::cache(served.path());
    let ci = Project::new("mixed");
    let b = build(&ci, &server.url, true);
    assert!(b.ok(), "{}", b.stderr);

    let payload = b"escaped\n";
    let payload_hash = Hash::of(payload);
    std::fs::write(
        served.path().join("cas").join(payload_hash.to_hex()),
        payload,
    )
    .unwrap();
    // A name of this run's own, so that nothing left by another run can be mistaken for it.
    let name = format!(
        "escaped-by-kbuild-{}-{}.txt",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let escape = format!("../../../../../../../../{name}");
    for ac in walk(&served.path().join("ac")) {
        let mut traces = decode_bundle(&std::fs::read(&ac).unwrap()).expect("a trace bundle");
        for t in &mut traces {
            let blob = served.path().join("cas").join(t.result.to_hex());
            let mut product = Product::from_json(&std::fs::read(blob).unwrap()).unwrap();
            product.files.insert(
                escape.clone(),
                Entry {
                    digest: payload_hash,
                    size: payload.len() as u64,
                    exec: false,
                },
            );
            let json = product.to_json();
            let h = Hash::of(&json);
            std::fs::write(served.path().join("cas").join(h.to_hex()), json).unwrap();
            t.result = h;
        }
        std::fs::write(&ac, encode_bundle(&traces)).unwrap();
    }

    let elsewhere = Project::new("mixed");
    let b = build(&elsewhere, &server.url, true);
    assert!(b.ok(), "{}", b.stderr);
    assert!(
        b.stderr.contains("leaves its directory"),
        "no warning about the poisoned product:\n{}",
        b.stderr
    );
    assert!(!b.executed().is_empty(), "poisoned products were restored");
    for dir in elsewhere.dir.path().ancestors() {
        let escaped = dir.join(&name);
        let found = escaped.exists();
        let _ = std::fs::remove_file(&escaped);
        assert!(!found, "a cached product wrote {}", escaped.display());
    }
    assert!(walk(elsewhere.dir.path())
        .iter()
        .all(|p| !p.ends_with(&name)));
}

/// A cache that wants credentials: they come from a netrc file or the environment, never the
/// command line, and no message shows the password. Without them the build still works,
/// locally, with one warning.
#[test]
fn credentials_come_from_netrc_or_the_environment_and_are_never_shown() {
    const SECRET: &str = "s3cret-Pa55";
    let served = tempfile::tempdir().unwrap();
    let nginx = Nginx::webdav_with_users(served.path(), &[("ci", SECRET)]);
    let netrc = tempfile::tempdir().unwrap();
    let good = netrc.path().join("good");
    std::fs::write(
        &good,
        format!("# the cache\nmachine 127.0.0.1\n  login ci\n  password {SECRET}\n"),
    )
    .unwrap();
    let wrong = netrc.path().join("wrong");
    std::fs::write(&wrong, "default login ci password nope\n").unwrap();
    let run = |p: &Project, netrc: &Path, env: &[(&str, &str)], upload: bool| {
        let mut c = p.command(&["--json", "build"]);
        c.env("KBUILD_REMOTE_CACHE", &nginx.url)
            .env("NETRC", netrc)
            .env_remove("KBUILD_REMOTE_CACHE_USER")
            .env_remove("KBUILD_REMOTE_CACHE_PASSWORD");
        if !upload {
            c.env("KBUILD_REMOTE_CACHE_UPLOAD", "false");
        }
        c.envs(env.iter().copied());
        let b = Build::from(c.output().unwrap());
        assert!(b.ok(), "{}", b.stderr);
        assert!(
            !b.stderr.contains(SECRET) && !b.stdout.contains(SECRET),
            "the password was shown:\n{}\n{}",
            b.stdout,
            b.stderr
        );
        b
    };

    // Wrong credentials: refused by the server, the build is local and says so once.
    let p = Project::new("mixed");
    let b = run(&p, &wrong, &[], true);
    assert!(b.stderr.contains("401"), "{}", b.stderr);
    assert_eq!(files_under(served.path()), 0);

    // CI's netrc entry for the host: uploads.
    let ci = Project::new("mixed");
    let b = run(&ci, &good, &[], true);
    assert!(!b.stderr.contains("401"), "{}", b.stderr);
    let uploaded = files_under(&served.path().join("ac"));
    assert!(uploaded >= b.executed().len(), "{}", b.stderr);

    // A reader with credentials from the environment (which win over the netrc file): all
    // restored.
    let dev = Project::new("mixed");
    let env = [
        ("KBUILD_REMOTE_CACHE_USER", "ci"),
        ("KBUILD_REMOTE_CACHE_PASSWORD", SECRET),
    ];
    let b = run(&dev, &wrong, &env, false);
    assert!(
        b.executed().is_empty(),
        "ran {:?}\n{}",
        b.executed(),
        b.stderr
    );
    let jar = "target/kbuild/dist/dist.jar";
    assert_eq!(ci.bytes(jar), dev.bytes(jar));

    // A password in the URL works and is not shown either, not even in the warning of a
    // server that is down.
    let url = nginx
        .url
        .replace("http://", &format!("http://ci:{SECRET}@"));
    let other = Project::new("mixed");
    let mut c = other.command(&["--json", "build"]);
    c.env("KBUILD_REMOTE_CACHE", &url)
        .env("NETRC", &wrong)
        .env("KBUILD_REMOTE_CACHE_UPLOAD", "false");
    let b = Build::from(c.output().unwrap());
    assert!(b.ok() && b.executed().is_empty(), "{}", b.stderr);
    drop(nginx);
    let last = Project::new("mixed");
    let mut c = last.command(&["--json", "build"]);
    c.env("KBUILD_REMOTE_CACHE", &url).env("NETRC", &wrong);
    let b = Build::from(c.output().unwrap());
    assert!(b.ok(), "{}", b.stderr);
    assert!(b.stderr.contains("ci:***@127.0.0.1"), "{}", b.stderr);
    assert!(!b.stderr.contains(SECRET), "{}", b.stderr);
}
