//! Test support: a tiny HTTP/1.1 file server with fault injection, fixture cases, and a
//! runner for the real Maven.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::Duration;

use kbuild_resolvers::{Dependency, RemoteRepository, ResolverConfig, Scope};

/// Faults the server injects; all switches can change while it runs.
#[derive(Default)]
pub struct Faults {
    /// Answer this many requests with 500 before serving normally.
    pub fail_500: AtomicUsize,
    /// Accept connections but never answer.
    pub hang: AtomicBool,
    /// Serve these bytes instead of the file for paths ending with the key.
    pub replace: Mutex<Vec<(String, Vec<u8>)>>,
    pub requests: AtomicUsize,
    /// Requests that arrived in proxy form (`GET http://host/path`).
    pub proxied: AtomicUsize,
    /// Send every response body one byte at a time, this many milliseconds apart (0: off),
    /// like a repository behind a dying link.
    pub trickle_ms: AtomicU64,
    /// Every request's path, in arrival order.
    pub paths: Mutex<Vec<String>>,
    /// `(user, password)` that every request must carry as HTTP basic auth (else 401).
    pub basic_auth: Mutex<Option<(String, String)>>,
    /// Requests answered 401 for the lack of them.
    pub unauthorized: AtomicUsize,
}

pub struct Server {
    pub url: String,
    pub faults: Arc<Faults>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl Server {
    pub fn start(root: &Path) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("addr").port();
        let faults = Arc::new(Faults::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (root, f, s) = (root.to_path_buf(), faults.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (root, f, s) = (root.clone(), f.clone(), s.clone());
                thread::spawn(move || serve(conn, &root, &f, &s));
            }
        });
        Server {
            url: format!("http://127.0.0.1:{port}/"),
            faults,
            stop,
            port,
        }
    }
}

impl Server {
    /// The paths asked so far that contain `part`.
    pub fn asked(&self, part: &str) -> Vec<String> {
        let paths = self.faults.paths.lock().unwrap_or_else(|e| e.into_inner());
        paths.iter().filter(|p| p.contains(part)).cloned().collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// A URL on which nothing listens: connections are refused. Port 1 rather than a freed
/// ephemeral port, which a concurrently running test's server could take over.
pub fn refused_url() -> String {
    assert!(
        TcpStream::connect(("127.0.0.1", 1)).is_err(),
        "something listens on 127.0.0.1:1"
    );
    "http://127.0.0.1:1/".to_string()
}

fn serve(conn: TcpStream, root: &Path, faults: &Faults, stop: &AtomicBool) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    // Without this, Nagle's algorithm and delayed ACKs add ~40ms to every response.
    let _ = conn.set_nodelay(true);
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut close = false;
        let mut content_length = 0usize;
        let mut authorization = String::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let lower = h.to_ascii_lowercase();
            if lower == "connection: close" {
                close = true;
            }
            if lower.starts_with("authorization:") {
                authorization = h["authorization:".len()..].trim().to_string();
            }
            if let Some(v) = lower.strip_prefix("content-length:") {
                content_length = v.trim().parse().unwrap_or(0);
            }
        }
        if content_length > 0 {
            let mut body = vec![0u8; content_length];
            let _ = reader.read_exact(&mut body);
        }
        faults.requests.fetch_add(1, Ordering::SeqCst);
        if faults.hang.load(Ordering::SeqCst) {
            while !stop.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(50));
            }
            return;
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let mut path = parts
            .next()
            .unwrap_or("/")
            .split('?')
            .next()
            .unwrap_or("/")
            .to_string();
        // Acting as a proxy: serve absolute-form requests from the same directory.
        if let Some(rest) = path.strip_prefix("http://") {
            faults.proxied.fetch_add(1, Ordering::SeqCst);
            path = rest
                .find('/')
                .map(|i| rest[i..].to_string())
                .unwrap_or_else(|| "/".into());
        }
        if let Ok(mut paths) = faults.paths.lock() {
            paths.push(path.clone());
        }
        let remaining = faults.fail_500.load(Ordering::SeqCst);
        let wanted = faults
            .basic_auth
            .lock()
            .ok()
            .and_then(|a| a.clone())
            .map(|(u, p)| format!("Basic {}", base64(format!("{u}:{p}").as_bytes())));
        let (status, body) = if wanted.is_some_and(|w| w != authorization) {
            faults.unauthorized.fetch_add(1, Ordering::SeqCst);
            ("401 Unauthorized", Vec::new())
        } else if remaining > 0 {
            faults.fail_500.store(remaining - 1, Ordering::SeqCst);
            ("500 Internal Server Error", b"boom".to_vec())
        } else if path.contains("..") {
            ("400 Bad Request", Vec::new())
        } else {
            let replaced = faults.replace.lock().ok().and_then(|r| {
                r.iter()
                    .find(|(k, _)| path.ends_with(k.as_str()))
                    .map(|(_, v)| v.clone())
            });
            match replaced {
                Some(b) => ("200 OK", b),
                None => match std::fs::read(root.join(path.trim_start_matches('/'))) {
                    Ok(b) if method == "GET" || method == "HEAD" => ("200 OK", b),
                    Ok(_) => ("405 Method Not Allowed", Vec::new()),
                    Err(_) => ("404 Not Found", Vec::new()),
                },
            }
        };
        // Maven's wagon only sends credentials when challenged.
        let challenge = if status.starts_with("401") {
            "WWW-Authenticate: Basic realm=\"kbt\"\r\n"
        } else {
            ""
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n{challenge}{}\r\n",
            body.len(),
            if close { "Connection: close\r\n" } else { "" }
        );
        let mut response = head.into_bytes();
        let trickle = faults.trickle_ms.load(Ordering::SeqCst);
        if method != "HEAD" && trickle == 0 {
            response.extend_from_slice(&body);
        }
        if out.write_all(&response).is_err() {
            return;
        }
        if method != "HEAD" && trickle > 0 {
            for byte in &body {
                thread::sleep(Duration::from_millis(trickle));
                if stop.load(Ordering::SeqCst) || out.write_all(&[*byte]).is_err() {
                    return;
                }
            }
        }
        if close {
            return;
        }
    }
}

/// Standard base64 with padding, for the `Authorization` header.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `fixtures/maven` at the workspace root, for the resolvers crate's tests and for the
/// kbuild package's (which include this module too).
pub fn fixtures_dir() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let own = here.join("fixtures/maven");
    if own.is_dir() {
        own
    } else {
        here.join("../fixtures/maven")
    }
}

/// A differential case: a repository and the root project's dependencies.
pub struct Case {
    pub name: String,
    pub repo: PathBuf,
    pub roots: Vec<Dependency>,
    pub managed: Vec<Dependency>,
    /// The same as written in case.txt, for `kbuild resolve`'s command line.
    pub root_lines: Vec<String>,
    pub managed_lines: Vec<String>,
}

fn parse_dep(spec: &str) -> Dependency {
    Dependency::parse_line(spec).expect("a case line")
}

impl Case {
    pub fn load(name: &str) -> Case {
        let dir = fixtures_dir().join(name);
        let text = std::fs::read_to_string(dir.join("case.txt")).expect("case.txt");
        let mut c = Case {
            name: name.into(),
            repo: dir.join("repo"),
            roots: vec![],
            managed: vec![],
            root_lines: vec![],
            managed_lines: vec![],
        };
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            if let Some(r) = line.strip_prefix("dep ") {
                c.roots.push(parse_dep(r));
                c.root_lines.push(r.to_string());
            } else if let Some(m) = line.strip_prefix("managed ") {
                c.managed.push(parse_dep(m));
                c.managed_lines.push(m.to_string());
            }
        }
        c
    }

    pub fn all() -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
            .expect("fixtures")
            .flatten()
            .filter(|e| e.path().join("case.txt").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

pub fn java_version() -> String {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        let out = Command::new("java")
            .args(["-XshowSettings:properties", "-version"])
            .output()
            .expect("java");
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        text.lines()
            .find_map(|l| l.trim().strip_prefix("java.version = ").map(str::to_string))
            .expect("java.version")
    })
    .clone()
}

pub fn config(urls: &[&str], local: &Path) -> ResolverConfig {
    let mut props = BTreeMap::new();
    props.insert("java.version".to_string(), java_version());
    ResolverConfig {
        repositories: urls
            .iter()
            .enumerate()
            .map(|(i, u)| RemoteRepository::new(format!("r{i}"), u.to_string()))
            .collect(),
        local_repo: Some(local.to_path_buf()),
        offline: false,
        update_snapshots: false,
        allow_http: true,
        settings_xml: Some(local.join("no-settings.xml")),
        system_properties: props,
        timeout: Duration::from_secs(10),
        download_deadline: Duration::from_secs(60),
        min_rate: 1024,
        retries: 2,
        parallel_downloads: 8,
        progress: None,
        mediation: Default::default(),
        settings_profiles: true,
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Files under `dir` whose names look like partial downloads.
pub fn partial_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.ends_with(".part") || n.starts_with(".kbuild-") || n.contains(".tmp")
            }) {
                out.push(p);
            }
        }
    }
    out
}

// ---- the real Maven ---------------------------------------------------------------------------

/// Removes this process's seed copies when dropped (they are ~150 MB each).
pub struct SeedCleanup(pub Vec<PathBuf>);

impl Drop for SeedCleanup {
    fn drop(&mut self) {
        for dir in &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub fn seed_dir(kind: &str) -> PathBuf {
    std::env::temp_dir().join(format!("kbuild-{kind}-{}", std::process::id()))
}

/// One local-repository seed per test run: Debian's Maven repo (dereferenced), so the
/// dependency plugin resolves without the network. Each case hard-links a copy.
pub fn mvn_seed() -> &'static Path {
    static SEED: OnceLock<PathBuf> = OnceLock::new();
    SEED.get_or_init(|| {
        let dir = seed_dir("mvn-seed");
        let _ = std::fs::remove_dir_all(&dir);
        let ok = Command::new("cp").arg("-rL").arg("/usr/share/maven-repo").arg(&dir).status().expect("cp").success();
        assert!(ok, "copying /usr/share/maven-repo");
        // Debian's sisu-plexus asks for junit:junit:4.x, which is not installed.
        let j = dir.join("junit/junit/4.x");
        std::fs::create_dir_all(&j).expect("mkdir");
        std::fs::write(
            j.join("junit-4.x.pom"),
            "<project><modelVersion>4.0.0</modelVersion><groupId>junit</groupId><artifactId>junit</artifactId><version>4.x</version></project>",
        )
        .expect("write");
        std::fs::copy(fixtures_dir().join("basic-transitive/repo/kbt/basic/c/1.0/c-1.0.jar"), j.join("junit-4.x.jar")).expect("jar");
        dir
    })
}

fn xml_dep(d: &Dependency) -> String {
    let c = &d.coord;
    let mut x = format!(
        "<dependency><groupId>{}</groupId><artifactId>{}</artifactId>",
        c.group, c.artifact
    );
    if !c.version.is_empty() {
        x += &format!("<version>{}</version>", c.version);
    }
    if d.type_ != "jar" {
        x += &format!("<type>{}</type>", d.type_);
    }
    let implied = if d.type_ == "test-jar" { "tests" } else { "" };
    if !c.classifier.is_empty() && c.classifier != implied {
        x += &format!("<classifier>{}</classifier>", c.classifier);
    }
    if d.scope != Scope::Compile {
        x += &format!("<scope>{}</scope>", d.scope);
    }
    if d.optional {
        x += "<optional>true</optional>";
    }
    if !d.exclusions.is_empty() {
        x += "<exclusions>";
        for e in &d.exclusions {
            x += &format!(
                "<exclusion><groupId>{}</groupId><artifactId>{}</artifactId></exclusion>",
                e.group, e.artifact
            );
        }
        x += "</exclusions>";
    }
    x + "</dependency>"
}

/// Runs `mvn dependency:list`, online against `url` (through a mirror for `*`), and returns
/// its lines with the leading spaces and " -- module" suffixes removed.
pub fn mvn_list(
    url: &str,
    roots: &[Dependency],
    managed: &[Dependency],
    work: &Path,
) -> Result<Vec<String>, String> {
    mvn_list_and_tree(url, roots, managed, work).map(|(list, _)| list)
}

/// Runs `mvn dependency:list dependency:tree` in one JVM and returns the list (as
/// `mvn_list`) and the tree without its project line.
pub fn mvn_list_and_tree(
    url: &str,
    roots: &[Dependency],
    managed: &[Dependency],
    work: &Path,
) -> Result<(Vec<String>, String), String> {
    let local = work.join("m2");
    let status = Command::new("cp")
        .arg("-al")
        .arg(mvn_seed())
        .arg(&local)
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("cp -al failed".into());
    }
    let settings = format!(
        "<settings><localRepository>{}</localRepository><mirrors><mirror><id>maven-default-http-blocker</id><mirrorOf>*</mirrorOf><url>{url}</url></mirror></mirrors></settings>",
        local.display()
    );
    std::fs::write(work.join("settings.xml"), settings).map_err(|e| e.to_string())?;
    let deps: String = roots.iter().map(xml_dep).collect();
    let mgmt: String = managed.iter().map(xml_dep).collect();
    let pom = format!(
        "<project><modelVersion>4.0.0</modelVersion><groupId>kbuild.test</groupId><artifactId>root</artifactId><version>1</version><packaging>pom</packaging>\
         <repositories><repository><id>kbt</id><url>{url}</url><snapshots><enabled>true</enabled></snapshots></repository></repositories>\
         <dependencyManagement><dependencies>{mgmt}</dependencies></dependencyManagement><dependencies>{deps}</dependencies></project>"
    );
    std::fs::write(work.join("pom.xml"), pom).map_err(|e| e.to_string())?;
    let out = Command::new("mvn")
        .current_dir(work)
        .args(["-B", "-ntp", "-Dstyle.color=never", "-s"])
        .arg(work.join("settings.xml"))
        .arg("org.apache.maven.plugins:maven-dependency-plugin:3.5.0:list")
        .arg("org.apache.maven.plugins:maven-dependency-plugin:3.5.0:tree")
        .env("MAVEN_OPTS", "-XX:TieredStopAtLevel=1 -Xshare:auto")
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        let errors: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("ERROR"))
            .take(3)
            .collect();
        return Err(format!("mvn failed: {}", errors.join(" | ")));
    }
    Ok(list_and_tree(&text))
}

/// `dependency:list`'s entries and `dependency:tree`'s lines (without the project line) in
/// mvn's output.
pub fn list_and_tree(text: &str) -> (Vec<String>, String) {
    let mut list = Vec::new();
    let mut tree = String::new();
    let mut section = "";
    for line in text.lines() {
        let Some(body) = line.strip_prefix("[INFO] ") else {
            continue;
        };
        if body.starts_with("--- ") {
            section = if body.contains(":list ") {
                "list"
            } else if body.contains(":tree ") {
                "tree-root"
            } else {
                ""
            };
            continue;
        }
        if body.starts_with("-----") {
            section = "";
            continue;
        }
        match section {
            "list" => {
                if let Some(entry) = body.strip_prefix("   ") {
                    let entry = entry.split(" -- module").next().unwrap_or(entry).trim();
                    if entry != "none" {
                        list.push(entry.to_string());
                    }
                }
            }
            "tree-root" => section = "tree",
            "tree" if !body.trim().is_empty() => {
                tree.push_str(body);
                tree.push('\n');
            }
            _ => {}
        }
    }
    (list, tree)
}

/// Writes `g:a:v`'s POM, with `body` inside `<project>` after the coordinates, and a jar that
/// holds `marker.txt` = `marker` (so which repository served it shows), each with its `.sha1`
/// (lein fails without one), under the repository `root`. A `-SNAPSHOT` is written under its plain name, as a
/// repository without maven-metadata.xml serves it. Returns the jar's path.
pub fn publish(root: &Path, gav: &str, body: &str, marker: &str) -> PathBuf {
    let [g, a, v]: [&str; 3] = gav
        .split(':')
        .collect::<Vec<_>>()
        .try_into()
        .expect("group:artifact:version");
    let dir = root.join(g.replace('.', "/")).join(a).join(v);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let pom = format!(
        "<project><modelVersion>4.0.0</modelVersion><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version>{body}</project>"
    );
    let mut jar = Vec::new();
    {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(&mut jar));
        let opts = zip::write::SimpleFileOptions::default();
        z.start_file("marker.txt", opts).expect("zip");
        z.write_all(marker.as_bytes()).expect("zip");
        z.finish().expect("zip");
    }
    let jar_path = dir.join(format!("{a}-{v}.jar"));
    put_with_sha1(&dir.join(format!("{a}-{v}.pom")), pom.as_bytes());
    put_with_sha1(&jar_path, &jar);
    jar_path
}

/// Publishes build `build` (1 to 9) of the snapshot `g:a:v-SNAPSHOT` as a deploy does:
/// timestamped POM and jar (holding `marker`), and version-level metadata naming them as the
/// newest. Earlier builds stay.
pub fn publish_snapshot(root: &Path, gav: &str, build: u32, marker: &str) {
    let [g, a, v]: [&str; 3] = gav
        .split(':')
        .collect::<Vec<_>>()
        .try_into()
        .expect("group:artifact:version");
    publish(root, gav, "", marker);
    let dir = root.join(g.replace('.', "/")).join(a).join(v);
    let stamp = format!("20260101.00000{build}");
    let version = format!("{}{stamp}-{build}", v.trim_end_matches("SNAPSHOT"));
    for ext in ["jar", "pom"] {
        let plain = dir.join(format!("{a}-{v}.{ext}"));
        let bytes = std::fs::read(&plain).expect("published");
        put_with_sha1(&dir.join(format!("{a}-{version}.{ext}")), &bytes);
        std::fs::remove_file(&plain).expect("remove");
        std::fs::remove_file(plain.with_extension(format!("{ext}.sha1"))).expect("remove");
    }
    let updated = format!("2026010100000{build}");
    let entries: String = ["jar", "pom"]
        .iter()
        .map(|ext| {
            format!("<snapshotVersion><extension>{ext}</extension><value>{version}</value><updated>{updated}</updated></snapshotVersion>")
        })
        .collect();
    let meta = format!(
        "<metadata><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version>\
         <versioning><snapshot><timestamp>{stamp}</timestamp><buildNumber>{build}</buildNumber></snapshot>\
         <lastUpdated>{updated}</lastUpdated><snapshotVersions>{entries}</snapshotVersions></versioning></metadata>"
    );
    put_with_sha1(&dir.join("maven-metadata.xml"), meta.as_bytes());
}

/// Writes `bytes` at `path` (making its directory) and their `.sha1` beside it, as a
/// repository serves every file.
pub fn put_with_sha1(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(path, bytes).expect("write");
    let mut name = path.file_name().expect("name").to_os_string();
    name.push(".sha1");
    let sha1 = hex::encode(<sha1::Sha1 as sha1::Digest>::digest(bytes));
    std::fs::write(path.with_file_name(name), sha1).expect("write");
}

/// What `mvn dependency:list` printed for a project.
pub struct MvnRun {
    pub ok: bool,
    pub stdout: String,
    pub list: Vec<String>,
    /// Its local repository.
    pub local: PathBuf,
}

/// Runs `mvn dependency:list` in `work` on a project whose POM has `body` (repositories,
/// dependencies) inside `<project>`, with Debian's repository as the local one (for the
/// plugin) and central mirrored to `central`, so that nothing leaves the machine.
pub fn mvn_project(work: &Path, body: &str, central: &str) -> MvnRun {
    mvn_project_with(work, body, central, "", &[])
}

/// [`mvn_project`] with `settings` (profiles, servers...) added to its settings.xml and
/// `args` to its command line.
pub fn mvn_project_with(
    work: &Path,
    body: &str,
    central: &str,
    settings: &str,
    args: &[&str],
) -> MvnRun {
    let local = work.join("m2");
    let ok = Command::new("cp")
        .arg("-al")
        .arg(mvn_seed())
        .arg(&local)
        .status()
        .expect("cp")
        .success();
    assert!(ok, "cp -al failed");
    // `<mirrors>` in `settings` join the one for central (settings.xml allows one list).
    let (mirrors, settings) = match (settings.find("<mirrors>"), settings.find("</mirrors>")) {
        (Some(start), Some(end)) => (
            &settings[start + "<mirrors>".len()..end],
            format!(
                "{}{}",
                &settings[..start],
                &settings[end + "</mirrors>".len()..]
            ),
        ),
        _ => ("", settings.to_string()),
    };
    let settings = format!(
        "<settings><localRepository>{}</localRepository><mirrors>{mirrors}<mirror><id>central-here</id><mirrorOf>central</mirrorOf><url>{central}</url></mirror></mirrors>{settings}</settings>",
        local.display()
    );
    std::fs::write(work.join("settings.xml"), settings).expect("write");
    let pom = format!(
        "<project><modelVersion>4.0.0</modelVersion><groupId>kbuild.test</groupId><artifactId>root</artifactId><version>1</version><packaging>pom</packaging>{body}</project>"
    );
    std::fs::write(work.join("pom.xml"), pom).expect("write");
    mvn_again(work, args)
}

/// Runs `mvn dependency:list` again on the project [`mvn_project_with`] wrote in `work`,
/// with its local repository as that run left it.
pub fn mvn_again(work: &Path, args: &[&str]) -> MvnRun {
    let local = work.join("m2");
    let out = Command::new("mvn")
        .current_dir(work)
        .args(["-B", "-ntp", "-Dstyle.color=never", "-s"])
        .arg(work.join("settings.xml"))
        .args(args)
        .arg("org.apache.maven.plugins:maven-dependency-plugin:3.5.0:list")
        .env("MAVEN_OPTS", "-XX:TieredStopAtLevel=1 -Xshare:auto")
        .output()
        .expect("mvn is installed");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    MvnRun {
        ok: out.status.success(),
        list: list_and_tree(&stdout).0,
        stdout,
        local,
    }
}
