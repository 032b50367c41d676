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
