//! Helpers for the end-to-end tests: copy a fixture project somewhere fresh, run the real
//! kbuild binary in it, and read its `--json` events.
#![allow(dead_code)]

pub mod lein;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// A fresh copy of a fixture project in its own temporary directory, with a machine-wide
/// cache of its own (`KBUILD_CACHE`), so that tests never restore each other's results.
pub struct Project {
    pub dir: tempfile::TempDir,
    pub cache: std::sync::Arc<tempfile::TempDir>,
}

impl Project {
    pub fn new(name: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&fixture(name), dir.path());
        Project::at(dir)
    }

    /// A project with no files yet.
    pub fn empty() -> Project {
        Project::at(tempfile::tempdir().unwrap())
    }

    /// A release tarball from fixtures/, unpacked as its author packed it (top directory stripped).
    pub fn unpack(tarball: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("tar")
            .arg("xf")
            .arg(fixture(tarball))
            .args(["--strip-components=1", "-C"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(ok.success(), "tar xf {tarball}");
        Project::at(dir)
    }

    fn at(dir: tempfile::TempDir) -> Project {
        Project {
            dir,
            cache: std::sync::Arc::new(tempfile::tempdir().unwrap()),
        }
    }

    /// Another checkout of the same project (a copy of its files as they are now, without
    /// kbuild's state) that shares this one's machine-wide cache.
    pub fn second_checkout(&self) -> Project {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(self.dir.path(), dir.path());
        for state in [".kbuild", "target"] {
            let _ = fs::remove_dir_all(dir.path().join(state));
        }
        Project {
            dir,
            cache: self.cache.clone(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap()
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    /// Replaces `from` by `to` in a file, failing if `from` is not there.
    pub fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        assert!(text.contains(from), "{rel} does not contain {from:?}");
        self.write(rel, &text.replacen(from, to, 1));
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kbuild"));
        c.args(args)
            .current_dir(self.dir.path())
            .env("KBUILD_CACHE", self.cache.path())
            .env_remove("NO_COLOR")
            .env("CI", "1");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// `kbuild --json build ARGS`, which must succeed.
    pub fn build(&self, args: &[&str]) -> Build {
        let out = self.build_raw(args);
        assert!(out.ok(), "build failed:\n{}", out.stderr);
        out
    }

    pub fn build_raw(&self, args: &[&str]) -> Build {
        let mut all = vec!["--json", "build"];
        all.extend_from_slice(args);
        Build::from(self.run(&all))
    }

    pub fn bytes(&self, rel: &str) -> Vec<u8> {
        fs::read(self.path(rel)).unwrap()
    }
}

pub struct Build {
    pub code: Option<i32>,
    pub events: Vec<Value>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Build {
    fn from(out: Output) -> Build {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let events = stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        Build {
            code: out.status.code(),
            events,
            stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Build {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    fn with_status(&self, status: &str) -> BTreeSet<String> {
        self.events
            .iter()
            .filter(|e| e["event"] == "task" && e["status"] == status)
            .map(|e| e["target"].as_str().unwrap().to_string())
            .collect()
    }

    /// Targets whose rule ran.
    pub fn executed(&self) -> BTreeSet<String> {
        self.with_status("executed")
    }

    pub fn cached(&self) -> BTreeSet<String> {
        self.with_status("cached")
    }

    pub fn failed(&self) -> BTreeSet<String> {
        self.with_status("failed")
    }

    pub fn summary(&self) -> &Value {
        self.events
            .iter()
            .find(|e| e["event"] == "summary")
            .expect("a summary event")
    }
}

/// Every output file under `root`'s target/kbuild (scratch space excluded) with its bytes.
pub fn outputs(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let base = root.join("target/kbuild");
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![base.clone()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let rel = e
                .path()
                .strip_prefix(&base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel == ".tmp" {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.insert(rel, fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

/// A repository holding Debian's org/clojure and nrepl artifacts, dereferenced (its jars
/// are relative symlinks).
pub fn clojure_repo(dir: &Path) {
    std::fs::create_dir_all(dir.join("org")).unwrap();
    for (from, to) in [("org/clojure", "org"), ("nrepl", ".")] {
        let ok = Command::new("cp")
            .arg("-rL")
            .arg(format!("/usr/share/maven-repo/{from}"))
            .arg(dir.join(to))
            .status()
            .unwrap();
        assert!(
            ok.success(),
            "Debian's {from} is installed (.ci/run installs leiningen, which brings it)"
        );
    }
}

pub fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// A real HTTP server on 127.0.0.1 serving a directory (Python's http.server), stopped on drop.
pub struct Server {
    child: std::process::Child,
    pub url: String,
}

impl Server {
    pub fn serve(dir: &Path) -> Server {
        let mut c = Command::new("python3");
        c.args([
            "-u",
            "-m",
            "http.server",
            "0",
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(dir);
        Server::start(c)
    }

    /// A cache server (GET, HEAD and PUT of /ac/ and /cas/ blobs) keeping them in `dir`.
    pub fn cache(dir: &Path) -> Server {
        let mut c = Command::new("python3");
        c.arg("-u")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/common/cache_server.py"))
            .arg(dir);
        Server::start(c)
    }

    fn start(mut command: Command) -> Server {
        use std::io::BufRead;
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        let port = line
            .split(" port ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .expect("a port in the banner");
        Server {
            child,
            url: format!("http://127.0.0.1:{port}/"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `git ARGS` in `dir` with a fixed identity and branch name; fails the test on an error and
/// returns the trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=kbuild",
            "-c",
            "user.email=kbuild@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Debian's nginx serving a directory on 127.0.0.1 (HTTP/1.1 with keep-alive, as a real
/// repository or cache is), in one foreground process, logging each request, stopped on drop.
pub struct Nginx {
    child: std::process::Child,
    pub url: String,
    conf: tempfile::TempDir,
}

impl Nginx {
    /// `dir` served read-only, as a Maven repository.
    pub fn serve(dir: &Path) -> Nginx {
        Nginx::start(dir, tempfile::tempdir().unwrap(), "")
    }

    /// `dir` as a Bazel HTTP cache (WebDAV `PUT`, files under `dir`).
    pub fn webdav(dir: &Path) -> Nginx {
        Nginx::webdav_with_users(dir, &[])
    }

    /// The same, answering only requests with HTTP basic credentials of one of `users`
    /// (user, password); everything else gets 401.
    pub fn webdav_with_users(dir: &Path, users: &[(&str, &str)]) -> Nginx {
        let conf = tempfile::tempdir().unwrap();
        let auth = if users.is_empty() {
            String::new()
        } else {
            let lines: String = users
                .iter()
                .map(|(u, p)| format!("{u}:{{PLAIN}}{p}\n"))
                .collect();
            fs::write(conf.path().join("users"), lines).unwrap();
            format!(
                "auth_basic \"cache\"; auth_basic_user_file {}/users;",
                conf.path().display()
            )
        };
        let location = format!(
            "client_max_body_size 0;\n\
             location / {{ dav_methods PUT; create_full_put_path on; {auth} }}"
        );
        Nginx::start(dir, conf, &location)
    }

    /// nginx with its configuration in `conf`, serving `dir` with `server` added to its
    /// server block.
    fn start(dir: &Path, conf: tempfile::TempDir, server: &str) -> Nginx {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = conf.path().display();
        let text = format!(
            "daemon off; master_process off; worker_processes 1;\n\
             pid {c}/nginx.pid; error_log {c}/error.log;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n\
               access_log {c}/access.log;\n\
               client_body_temp_path {c}/body; proxy_temp_path {c}/proxy;\n\
               fastcgi_temp_path {c}/fastcgi; uwsgi_temp_path {c}/uwsgi; scgi_temp_path {c}/scgi;\n\
               server {{\n\
                 listen 127.0.0.1:{port};\n\
                 root {root};\n\
                 {server}\n\
               }}\n\
             }}\n",
            root = dir.display()
        );
        fs::write(conf.path().join("nginx.conf"), text).unwrap();
        let child = Command::new("nginx")
            .arg("-p")
            .arg(conf.path())
            .arg("-c")
            .arg(conf.path().join("nginx.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nginx runs (.ci/run installs nginx-core)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "nginx did not listen on {port}: {}",
                fs::read_to_string(conf.path().join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Nginx {
            child,
            url: format!("http://127.0.0.1:{port}/"),
            conf,
        }
    }

    /// Requests served so far (nginx writes its log line as each request ends).
    pub fn requests(&self) -> usize {
        fs::read_to_string(self.conf.path().join("access.log"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The JUnit XML reports in `dir`, validated by xmllint against Maven Surefire's schema:
/// how many files, and the sums of their suites' tests, failures and errors.
pub fn junit_reports(dir: &Path) -> (usize, u64, u64, u64) {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(fixture("junit-xml/surefire-test-report-3.0.xsd"))
        .args(&files)
        .output()
        .expect("xmllint runs (.ci/run installs libxml2-utils)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sum = |attr: &str| -> u64 {
        files
            .iter()
            .map(|f| {
                let out = Command::new("xmllint")
                    .args(["--xpath", &format!("string(/testsuite/@{attr})")])
                    .arg(f)
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&out.stdout);
                text.trim()
                    .parse::<u64>()
                    .unwrap_or_else(|_| panic!("{attr} of {}: {text:?}", f.display()))
            })
            .sum()
    };
    (files.len(), sum("tests"), sum("failures"), sum("errors"))
}
