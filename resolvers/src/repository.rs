//! Repository access: remote repositories (HTTP(S), `file:`) behind one small trait, and the
//! local repository in Maven's standard layout, with checksum verification and atomic writes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use sha2::Digest;
use tokio::sync::Semaphore;

use crate::settings::Credentials;

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("{url}: HTTP status {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    #[error("checksum mismatch for {url}: {algorithm} expected {expected}, got {actual}")]
    Checksum {
        url: String,
        algorithm: &'static str,
        expected: String,
        actual: String,
    },
    #[error("refusing plain http repository `{id}` ({url}); allow http explicitly to use it")]
    InsecureHttp { id: String, url: String },
    #[error("unsupported repository URL `{url}` for `{id}`")]
    UnsupportedUrl { id: String, url: String },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

pub type Fetch<'a> = BoxFuture<'a, Result<Option<Vec<u8>>, RepoError>>;

/// A remote repository: something that can return the bytes at a layout path.
pub trait Repository: Send + Sync {
    fn id(&self) -> &str;
    fn url(&self) -> &str;
    /// `Ok(None)` when the repository does not have `path`.
    fn get<'a>(&'a self, path: &'a str) -> Fetch<'a>;
}

/// Transport settings shared by all HTTP repositories of one resolution.
#[derive(Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    limit: Arc<Semaphore>,
    retries: u32,
    backoff: Duration,
}

impl HttpTransport {
    /// `timeout` bounds connecting and each read; `parallel` bounds concurrent requests. Like
    /// Maven, only the settings.xml proxy is used, never the `HTTP_PROXY` environment.
    pub fn new(
        timeout: Duration,
        parallel: usize,
        retries: u32,
        proxy: Option<&crate::settings::Proxy>,
    ) -> Result<HttpTransport, RepoError> {
        let setup = |e: reqwest::Error| RepoError::Transport {
            url: String::new(),
            message: e.to_string(),
        };
        let mut builder = reqwest::Client::builder().no_proxy();
        if let Some(p) = proxy {
            let mut rp = reqwest::Proxy::all(p.url()).map_err(setup)?;
            if let Some(c) = &p.credentials {
                rp = rp.basic_auth(&c.username, &c.password);
            }
            rp = rp.no_proxy(reqwest::NoProxy::from_string(&p.no_proxy_list()));
            builder = builder.proxy(rp);
        }
        let client = builder
            .connect_timeout(timeout)
            .read_timeout(timeout)
            .pool_max_idle_per_host(parallel.max(1))
            .user_agent(concat!("kbuild-resolvers/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(setup)?;
        Ok(HttpTransport {
            client,
            limit: Arc::new(Semaphore::new(parallel.max(1))),
            retries,
            backoff: Duration::from_millis(200),
        })
    }
}

pub struct HttpRepository {
    id: String,
    url: String,
    transport: HttpTransport,
    credentials: Option<Credentials>,
}

impl std::fmt::Debug for HttpRepository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRepository")
            .field("id", &self.id)
            .field("url", &self.url)
            .finish()
    }
}

fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "transfer failed"
    };
    let mut msg = kind.to_string();
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

impl HttpRepository {
    async fn fetch(&self, path: &str) -> Result<Option<Vec<u8>>, RepoError> {
        let url = format!("{}{}", self.url, path);
        let _permit = self
            .transport
            .limit
            .acquire()
            .await
            .map_err(|e| RepoError::Transport {
                url: url.clone(),
                message: e.to_string(),
            })?;
        let mut attempt = 0u32;
        loop {
            let mut req = self.transport.client.get(&url);
            if let Some(c) = &self.credentials {
                req = req.basic_auth(&c.username, Some(&c.password));
            }
            let failure = match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if status == 404 || status == 410 {
                        return Ok(None);
                    }
                    if resp.status().is_success() {
                        match resp.bytes().await {
                            Ok(b) => return Ok(Some(b.to_vec())),
                            Err(e) => describe(&e),
                        }
                    } else if resp.status().is_server_error() || status == 429 {
                        format!("HTTP status {status}")
                    } else {
                        return Err(RepoError::Status { url, status });
                    }
                }
                Err(e) => describe(&e),
            };
            attempt += 1;
            if attempt > self.transport.retries {
                return Err(RepoError::Transport {
                    url,
                    message: format!("{failure} (gave up after {attempt} attempts)"),
                });
            }
            tokio::time::sleep(self.transport.backoff * 2u32.pow(attempt - 1)).await;
        }
    }
}

impl Repository for HttpRepository {
    fn id(&self) -> &str {
        &self.id
    }
    fn url(&self) -> &str {
        &self.url
    }
    fn get<'a>(&'a self, path: &'a str) -> Fetch<'a> {
        Box::pin(self.fetch(path))
    }
}

#[derive(Debug)]
pub struct FileRepository {
    id: String,
    url: String,
    root: PathBuf,
}

impl Repository for FileRepository {
    fn id(&self) -> &str {
        &self.id
    }
    fn url(&self) -> &str {
        &self.url
    }
    fn get<'a>(&'a self, path: &'a str) -> Fetch<'a> {
        Box::pin(async move {
            let p = self.root.join(path);
            match tokio::fs::read(&p).await {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(RepoError::Io {
                    path: p.display().to_string(),
                    source,
                }),
            }
        })
    }
}

/// Opens `url` as a repository: `https://`, `http://` (only with `allow_http`) or `file:`.
pub fn open(
    id: &str,
    url: &str,
    transport: &HttpTransport,
    allow_http: bool,
    credentials: Option<Credentials>,
) -> Result<Arc<dyn Repository>, RepoError> {
    let mut base = url.trim().to_string();
    if !base.ends_with('/') {
        base.push('/');
    }
    if let Some(rest) = base.strip_prefix("file:") {
        // file:/p, file:///p and file://localhost/p all name /p.
        let path = rest
            .strip_prefix("//localhost")
            .or_else(|| rest.strip_prefix("//"))
            .unwrap_or(rest);
        return Ok(Arc::new(FileRepository {
            id: id.into(),
            url: base.clone(),
            root: PathBuf::from(path),
        }));
    }
    if base.starts_with("http://") && !allow_http {
        return Err(RepoError::InsecureHttp {
            id: id.into(),
            url: base,
        });
    }
    if !base.starts_with("https://") && !base.starts_with("http://") {
        return Err(RepoError::UnsupportedUrl {
            id: id.into(),
            url: base,
        });
    }
    Ok(Arc::new(HttpRepository {
        id: id.into(),
        url: base,
        transport: transport.clone(),
        credentials,
    }))
}

const CHECKSUMS: [(&str, &str); 4] = [
    ("sha512", "SHA-512"),
    ("sha256", "SHA-256"),
    ("sha1", "SHA-1"),
    ("md5", "MD5"),
];

fn digest(ext: &str, bytes: &[u8]) -> String {
    match ext {
        "sha512" => hex::encode(sha2::Sha512::digest(bytes)),
        "sha256" => hex::encode(sha2::Sha256::digest(bytes)),
        "sha1" => hex::encode(sha1::Sha1::digest(bytes)),
        _ => hex::encode(md5::Md5::digest(bytes)),
    }
}

/// Fetches `path` and verifies it against the strongest checksum the repository offers.
/// Repositories without any checksum file are accepted, as Maven does.
pub async fn fetch_verified(
    repo: &dyn Repository,
    path: &str,
) -> Result<Option<Vec<u8>>, RepoError> {
    // The file and its checksum files are requested together: one round trip, not five.
    let sum_paths: Vec<String> = CHECKSUMS
        .iter()
        .map(|(ext, _)| format!("{path}.{ext}"))
        .collect();
    let (file, sums) = futures::join!(
        repo.get(path),
        futures::future::join_all(sum_paths.iter().map(|p| repo.get(p)))
    );
    let Some(bytes) = file? else {
        return Ok(None);
    };
    for ((ext, algorithm), sum) in CHECKSUMS.iter().zip(sums) {
        if let Some(sum) = sum? {
            let text = String::from_utf8_lossy(&sum);
            let expected = text
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            let actual = digest(ext, &bytes);
            if expected != actual {
                return Err(RepoError::Checksum {
                    url: format!("{}{}", repo.url(), path),
                    algorithm,
                    expected,
                    actual,
                });
            }
            break;
        }
    }
    Ok(Some(bytes))
}

/// A local repository in Maven's layout (shared with mvn and lein).
#[derive(Clone, Debug)]
pub struct LocalRepository {
    root: PathBuf,
}

impl LocalRepository {
    pub fn new(root: impl Into<PathBuf>) -> LocalRepository {
        LocalRepository { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path_of(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn find(&self, rel: &str) -> Option<PathBuf> {
        let p = self.path_of(rel);
        p.is_file().then_some(p)
    }

    /// Writes `bytes` at `rel` through a temporary file in the same directory and a rename,
    /// so readers never see a partial file.
    pub fn store(&self, rel: &str, bytes: &[u8]) -> Result<PathBuf, RepoError> {
        let dest = self.path_of(rel);
        let io = |source: std::io::Error| RepoError::Io {
            path: dest.display().to_string(),
            source,
        };
        let dir = dest.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".kbuild-")
            .suffix(".part")
            .tempfile_in(dir)
            .map_err(io)?;
        tmp.write_all(bytes).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(&dest).map_err(|e| io(e.error))?;
        Ok(dest)
    }
}

/// The directory version of a timestamped snapshot (`1.0-20200101.101010-3` → `1.0-SNAPSHOT`);
/// other versions are returned unchanged.
pub fn base_version(version: &str) -> String {
    let mut parts = version.rsplitn(3, '-');
    let (build, stamp, base) = (parts.next(), parts.next(), parts.next());
    let is_stamp = |s: &str| {
        let b = s.as_bytes();
        b.len() == 15
            && b[8] == b'.'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 8 || c.is_ascii_digit())
    };
    match (base, stamp, build) {
        (Some(base), Some(stamp), Some(build))
            if is_stamp(stamp)
                && !build.is_empty()
                && build.bytes().all(|c| c.is_ascii_digit()) =>
        {
            format!("{base}-SNAPSHOT")
        }
        _ => version.to_string(),
    }
}

/// Layout path of a file: `g/r/o/u/p/artifact/dir_version/artifact-file_version[-classifier].ext`.
pub fn artifact_path(
    group: &str,
    artifact: &str,
    dir_version: &str,
    file_version: &str,
    classifier: &str,
    ext: &str,
) -> String {
    let cls = if classifier.is_empty() {
        String::new()
    } else {
        format!("-{classifier}")
    };
    format!(
        "{}/{artifact}/{dir_version}/{artifact}-{file_version}{cls}.{ext}",
        group.replace('.', "/")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_paths() {
        assert_eq!(
            artifact_path("org.a.b", "x", "1.0", "1.0", "", "jar"),
            "org/a/b/x/1.0/x-1.0.jar"
        );
        assert_eq!(
            artifact_path(
                "g",
                "x",
                "1.0-SNAPSHOT",
                "1.0-20200101.101010-3",
                "tests",
                "jar"
            ),
            "g/x/1.0-SNAPSHOT/x-1.0-20200101.101010-3-tests.jar"
        );
    }

    #[test]
    fn timestamped_versions_map_to_snapshot_directories() {
        assert_eq!(base_version("1.0-20200101.101010-3"), "1.0-SNAPSHOT");
        assert_eq!(
            base_version("1.0-alpha-20200101.101010-12"),
            "1.0-alpha-SNAPSHOT"
        );
        assert_eq!(base_version("1.0-SNAPSHOT"), "1.0-SNAPSHOT");
        assert_eq!(base_version("1.0"), "1.0");
        assert_eq!(base_version("1.0-2020-3"), "1.0-2020-3");
    }

    #[test]
    fn digests() {
        assert_eq!(
            digest("sha1", b"abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(digest("md5", b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            digest("sha256", b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn store_is_atomic_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let local = LocalRepository::new(dir.path());
        let p = local.store("g/a/1/a-1.jar", b"data").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"data");
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
    }

    #[tokio::test]
    async fn file_repository_and_http_refusal() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.pom"), b"pom").unwrap();
        std::fs::write(dir.path().join("x.pom.sha1"), digest("sha1", b"pom")).unwrap();
        std::fs::write(dir.path().join("bad.pom"), b"pom").unwrap();
        std::fs::write(dir.path().join("bad.pom.md5"), "0123").unwrap();
        let t = HttpTransport::new(Duration::from_secs(1), 2, 0, None).unwrap();
        let url = format!("file://{}", dir.path().display());
        let repo = open("f", &url, &t, false, None).unwrap();
        assert_eq!(
            fetch_verified(&*repo, "x.pom").await.unwrap().as_deref(),
            Some(&b"pom"[..])
        );
        assert!(fetch_verified(&*repo, "missing.pom")
            .await
            .unwrap()
            .is_none());
        assert!(matches!(
            fetch_verified(&*repo, "bad.pom").await,
            Err(RepoError::Checksum { .. })
        ));
        assert!(matches!(
            open("c", "http://example.com/", &t, false, None),
            Err(RepoError::InsecureHttp { .. })
        ));
        assert!(open("c", "http://example.com/", &t, true, None).is_ok());
    }
}
