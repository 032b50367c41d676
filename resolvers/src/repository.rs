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
    #[error("blocked mirror {mirror} ({mirror_url}) for repository {id} ({url})")]
    Blocked {
        mirror: String,
        mirror_url: String,
        id: String,
        url: String,
    },
    #[error("unsupported repository URL `{url}` for `{id}`")]
    UnsupportedUrl { id: String, url: String },
    #[error("{url}: {message}")]
    Corrupt { url: String, message: String },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// `text` with the password of every URL in it (`scheme://user:password@host`) replaced by
/// `***`; the user name stays. Every message that shows a repository URL goes through this,
/// so a password written into a repository's URL is never printed.
pub fn redact_url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.split_once(':') {
                    Some((user, _password)) => {
                        out.push_str(user);
                        out.push_str(":***");
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Whether `bytes` end with a zip archive's end-of-central-directory record (a jar cut short
/// in transfer does not).
pub fn is_complete_zip(bytes: &[u8]) -> bool {
    const EOCD: usize = 22;
    if bytes.len() < EOCD {
        return false;
    }
    let last = bytes.len() - EOCD;
    // The record ends the file, after a comment of at most 64 KiB.
    let first = last.saturating_sub(0xFFFF);
    (first..=last).rev().any(|i| {
        let field = |at: usize, n: usize| {
            bytes[i + at..i + at + n]
                .iter()
                .rev()
                .fold(0u64, |v, b| (v << 8) | u64::from(*b))
        };
        bytes[i..i + 4] == *b"PK\x05\x06"
            && i + EOCD + field(20, 2) as usize == bytes.len()
            // The central directory lies before the record (zip64 archives say 0xFFFFFFFF).
            && (field(16, 4) == 0xFFFF_FFFF || field(16, 4) + field(12, 4) <= i as u64)
    })
}

pub type Fetch<'a> = BoxFuture<'a, Result<Option<Vec<u8>>, RepoError>>;

/// A remote repository: something that can return the bytes at a layout path.
pub trait Repository: Send + Sync {
    fn id(&self) -> &str;
    fn url(&self) -> &str;
    /// `Ok(None)` when the repository does not have `path`.
    fn get<'a>(&'a self, path: &'a str) -> Fetch<'a>;
    /// Which versions it is asked for.
    fn policy(&self) -> Policy {
        Policy::default()
    }
}

/// Which versions a repository serves, as a POM's or settings.xml's `<releases>` and
/// `<snapshots>` `<enabled>` say (Leiningen's `:releases` / `:snapshots`): a snapshots-only
/// repository is never asked for a release, and the reverse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Policy {
    pub releases: bool,
    pub snapshots: bool,
    /// What a checksum that does not match means, for releases and for snapshots.
    #[serde(default, skip_serializing_if = "ChecksumPolicy::is_fail")]
    pub release_checksums: ChecksumPolicy,
    #[serde(default, skip_serializing_if = "ChecksumPolicy::is_fail")]
    pub snapshot_checksums: ChecksumPolicy,
    /// How often its metadata (snapshots' timestamps, the versions a range sees) is asked
    /// again, for releases and for snapshots.
    #[serde(default, skip_serializing_if = "UpdatePolicy::is_daily")]
    pub release_updates: UpdatePolicy,
    #[serde(default, skip_serializing_if = "UpdatePolicy::is_daily")]
    pub snapshot_updates: UpdatePolicy,
}

/// Maven's `<updatePolicy>` (Leiningen's `:update`): when a repository's cached
/// `maven-metadata.xml` is checked again.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum UpdatePolicy {
    Always,
    /// Once a day: when the last check was before today's local midnight (Maven's default).
    #[default]
    Daily,
    /// After this many minutes.
    Interval(u32),
    Never,
}

impl UpdatePolicy {
    pub fn is_daily(&self) -> bool {
        *self == UpdatePolicy::Daily
    }

    /// `always`, `daily`, `never` or `interval:N`, as POMs and settings.xml write it.
    pub fn parse(text: &str) -> Option<UpdatePolicy> {
        match text.trim() {
            "always" => Some(UpdatePolicy::Always),
            "daily" => Some(UpdatePolicy::Daily),
            "never" => Some(UpdatePolicy::Never),
            t => t
                .strip_prefix("interval:")
                .and_then(|n| n.parse().ok())
                .map(UpdatePolicy::Interval),
        }
    }

    /// Whether a check last made at `last` (ms since the epoch) is due again at `now`, as
    /// maven-resolver's update policy analyzer decides.
    pub fn is_due(&self, last: u64, now: u64) -> bool {
        match self {
            UpdatePolicy::Always => true,
            UpdatePolicy::Never => false,
            UpdatePolicy::Daily => last < local_midnight(now),
            UpdatePolicy::Interval(minutes) => last + u64::from(*minutes) * 60_000 < now,
        }
    }

    /// The more frequent of two policies, which metadata for both kinds of version (the
    /// versions a range lists) follows, as Maven's effective policy.
    pub fn most_frequent(self, other: UpdatePolicy) -> UpdatePolicy {
        use UpdatePolicy::*;
        match (self, other) {
            (Always, _) | (_, Always) => Always,
            (Interval(a), Interval(b)) => Interval(a.min(b)),
            (Interval(a), _) | (_, Interval(a)) => Interval(a),
            (Daily, _) | (_, Daily) => Daily,
            (Never, Never) => Never,
        }
    }
}

/// The start of the local day that contains `now` (ms since the epoch), as Java's default
/// calendar sees it.
fn local_midnight(now: u64) -> u64 {
    let secs = (now / 1000) as libc::time_t;
    // SAFETY: localtime_r and mktime only read and write the structs given them.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return now - now % 86_400_000;
        }
        tm.tm_hour = 0;
        tm.tm_min = 0;
        tm.tm_sec = 0;
        tm.tm_isdst = -1;
        match libc::mktime(&mut tm) {
            -1 => now - now % 86_400_000,
            t => t.max(0) as u64 * 1000,
        }
    }
}

/// Maven's `<checksumPolicy>` (Leiningen's `:checksum`). kbuild's default is `fail`, stricter
/// than mvn's `warn`: only a build file or POM that says so relaxes it.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ChecksumPolicy {
    #[default]
    Fail,
    /// Keep the file, with a warning.
    Warn,
    /// Do not look at checksums.
    Ignore,
}

impl ChecksumPolicy {
    pub fn is_fail(&self) -> bool {
        *self == ChecksumPolicy::Fail
    }

    /// `fail`, `warn` or `ignore`, as POMs and settings.xml write it.
    pub fn parse(text: &str) -> Option<ChecksumPolicy> {
        match text.trim() {
            "fail" => Some(ChecksumPolicy::Fail),
            "warn" => Some(ChecksumPolicy::Warn),
            "ignore" => Some(ChecksumPolicy::Ignore),
            _ => None,
        }
    }
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            releases: true,
            snapshots: true,
            release_checksums: ChecksumPolicy::Fail,
            snapshot_checksums: ChecksumPolicy::Fail,
            release_updates: UpdatePolicy::Daily,
            snapshot_updates: UpdatePolicy::Daily,
        }
    }
}

impl Policy {
    pub fn is_default(&self) -> bool {
        *self == Policy::default()
    }

    /// The checksum policy for `version`'s kind.
    pub fn checksums(&self, version: &str) -> ChecksumPolicy {
        if base_version(version).ends_with("SNAPSHOT") {
            self.snapshot_checksums
        } else {
            self.release_checksums
        }
    }

    /// Whether `version` (`1.0`, `1.0-SNAPSHOT`, or a timestamped snapshot) is asked here.
    pub fn accepts(&self, version: &str) -> bool {
        if base_version(version).ends_with("SNAPSHOT") {
            self.snapshots
        } else {
            self.releases
        }
    }
}

/// A repository under a policy other than the default.
struct Restricted {
    inner: Arc<dyn Repository>,
    policy: Policy,
}

impl Repository for Restricted {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn url(&self) -> &str {
        self.inner.url()
    }
    fn get<'a>(&'a self, path: &'a str) -> Fetch<'a> {
        self.inner.get(path)
    }
    fn policy(&self) -> Policy {
        self.policy
    }
}

/// `repo` asked only for the versions `policy` accepts.
pub fn with_policy(repo: Arc<dyn Repository>, policy: Policy) -> Arc<dyn Repository> {
    if policy.is_default() {
        repo
    } else {
        Arc::new(Restricted {
            inner: repo,
            policy,
        })
    }
}

/// The longest one file's download may take by default, all its attempts included. Stalls
/// and trickles end much sooner (the read timeout, [`DEFAULT_MIN_RATE`]); this bounds a
/// transfer that keeps just above the minimum rate, yet leaves a large jar on a slow link
/// time to arrive.
pub const DEFAULT_DOWNLOAD_DEADLINE: Duration = Duration::from_secs(300);
/// The slowest transfer accepted by default, in bytes per second (averaged over each
/// read-timeout period of a transfer).
pub const DEFAULT_MIN_RATE: u64 = 1024;

/// Transport settings shared by all HTTP repositories of one resolution.
#[derive(Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    limit: Arc<Semaphore>,
    retries: u32,
    backoff: Duration,
    deadline: Duration,
    min_rate: u64,
    rate_window: Duration,
}

/// Why one attempt at a download failed.
enum Attempt {
    /// Worth another try (a reset, a timeout, a 5xx, too slow).
    Retry(String),
    /// Not worth one (a 4xx other than 404/410/429).
    Fatal(RepoError),
}

impl HttpTransport {
    /// `timeout` bounds connecting and each read; `parallel` bounds concurrent requests;
    /// `retries` bounds the attempts after the first. Each file's download ends within
    /// [`DEFAULT_DOWNLOAD_DEADLINE`], and one slower than [`DEFAULT_MIN_RATE`] over a
    /// `timeout` period is abandoned (see [`with_deadline`](Self::with_deadline) and
    /// [`with_min_rate`](Self::with_min_rate)). Like Maven, only the settings.xml proxy is
    /// used, never the `HTTP_PROXY` environment.
    pub fn new(
        timeout: Duration,
        parallel: usize,
        retries: u32,
        proxy: Option<&crate::settings::Proxy>,
    ) -> Result<HttpTransport, RepoError> {
        let setup = |e: reqwest::Error| RepoError::Transport {
            url: String::new(),
            message: redact_url(&e.to_string()),
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
            deadline: DEFAULT_DOWNLOAD_DEADLINE,
            min_rate: DEFAULT_MIN_RATE,
            rate_window: timeout,
        })
    }

    /// Bounds each file's download, from its first request to its last byte, retries and
    /// their back-off included: past `deadline`, it fails.
    pub fn with_deadline(mut self, deadline: Duration) -> HttpTransport {
        self.deadline = deadline;
        self
    }

    /// Abandons (and retries, within the deadline) a transfer that receives fewer than
    /// `bytes_per_second` on average over a `window`; 0 accepts any rate.
    pub fn with_min_rate(mut self, bytes_per_second: u64, window: Duration) -> HttpTransport {
        self.min_rate = bytes_per_second;
        self.rate_window = window;
        self
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
            .field("url", &redact_url(&self.url))
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

fn plural(n: u32, what: &str) -> String {
    if n == 1 {
        format!("{n} {what}")
    } else {
        format!("{n} {what}s")
    }
}

impl HttpRepository {
    async fn fetch(&self, path: &str) -> Result<Option<Vec<u8>>, RepoError> {
        let url = format!("{}{}", self.url, path);
        let transport = |message: String| RepoError::Transport {
            url: redact_url(&url),
            message: redact_url(&message),
        };
        let t = &self.transport;
        let _permit = t
            .limit
            .acquire()
            .await
            .map_err(|e| transport(e.to_string()))?;
        // The deadline starts once this download may run, not while it waits for a turn.
        let deadline = tokio::time::Instant::now() + t.deadline;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let failure = match tokio::time::timeout_at(deadline, self.attempt(&url)).await {
                Ok(Ok(found)) => return Ok(found),
                Ok(Err(Attempt::Fatal(e))) => return Err(e),
                Ok(Err(Attempt::Retry(failure))) => failure,
                Err(_) => format!(
                    "timed out: not downloaded within {:?}, the deadline for one file",
                    t.deadline
                ),
            };
            let wait = t.backoff * 2u32.saturating_pow(attempt - 1);
            if attempt > t.retries || tokio::time::Instant::now() + wait >= deadline {
                return Err(transport(format!(
                    "{failure} (gave up after {})",
                    plural(attempt, "attempt")
                )));
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// One request, its body read to the end unless it arrives slower than the minimum rate.
    async fn attempt(&self, url: &str) -> Result<Option<Vec<u8>>, Attempt> {
        let t = &self.transport;
        let mut req = t.client.get(url);
        if let Some(c) = &self.credentials {
            req = req.basic_auth(&c.username, Some(&c.password));
        }
        let mut resp = req.send().await.map_err(|e| Attempt::Retry(describe(&e)))?;
        let status = resp.status().as_u16();
        if status == 404 || status == 410 {
            return Ok(None);
        }
        if resp.status().is_server_error() || status == 429 {
            return Err(Attempt::Retry(format!("HTTP status {status}")));
        }
        if !resp.status().is_success() {
            return Err(Attempt::Fatal(RepoError::Status {
                url: redact_url(url),
                status,
            }));
        }
        let expected = resp.content_length().unwrap_or(0).min(64 << 20);
        let mut body = Vec::with_capacity(expected as usize);
        let mut window_start = tokio::time::Instant::now();
        let mut window_bytes = 0u64;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| Attempt::Retry(describe(&e)))?
        {
            body.extend_from_slice(&chunk);
            window_bytes += chunk.len() as u64;
            let elapsed = window_start.elapsed();
            if elapsed >= t.rate_window {
                if (window_bytes as f64) < t.min_rate as f64 * elapsed.as_secs_f64() {
                    return Err(Attempt::Retry(format!(
                        "transfer too slow: {window_bytes} bytes in {elapsed:.1?}, below the minimum of {} bytes/s",
                        t.min_rate
                    )));
                }
                window_start = tokio::time::Instant::now();
                window_bytes = 0;
            }
        }
        Ok(Some(body))
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

/// A repository behind a blocked mirror: every lookup fails, naming both, as in Maven.
struct Blocked {
    id: String,
    url: String,
    mirror: crate::settings::Mirror,
}

impl Repository for Blocked {
    fn id(&self) -> &str {
        &self.id
    }
    fn url(&self) -> &str {
        &self.url
    }
    fn get<'a>(&'a self, _path: &'a str) -> Fetch<'a> {
        Box::pin(async move {
            Err(RepoError::Blocked {
                mirror: self.mirror.id.clone(),
                mirror_url: redact_url(&self.mirror.url),
                id: self.id.clone(),
                url: redact_url(&self.url),
            })
        })
    }
}

/// The repository `id` at `url` as `mirror`, a blocked mirror, leaves it: failing.
pub fn blocked(id: &str, url: &str, mirror: &crate::settings::Mirror) -> Arc<dyn Repository> {
    Arc::new(Blocked {
        id: id.into(),
        url: url.into(),
        mirror: mirror.clone(),
    })
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
            url: redact_url(&base),
        });
    }
    if !base.starts_with("https://") && !base.starts_with("http://") {
        return Err(RepoError::UnsupportedUrl {
            id: id.into(),
            url: redact_url(&base),
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
    Ok(fetch_checked(repo, path).await?.map(|v| v.bytes))
}

/// A downloaded file and the checksum that vouched for it, if the repository published one.
#[derive(Debug)]
pub struct Verified {
    pub bytes: Vec<u8>,
    /// `SHA-512`, `SHA-256`, `SHA-1` or `MD5`; `None` when there was no checksum file (or
    /// none was asked for, or it did not match under a `warn` policy).
    pub checksum: Option<&'static str>,
    /// The mismatch a `warn` policy let through.
    pub mismatch: Option<String>,
}

/// [`fetch_verified`], also telling which checksum (if any) verified the file.
pub async fn fetch_checked(
    repo: &dyn Repository,
    path: &str,
) -> Result<Option<Verified>, RepoError> {
    fetch_checked_as(repo, path, ChecksumPolicy::Fail).await
}

/// [`fetch_checked`] under a checksum policy: with `Warn` a mismatch keeps the file and says
/// so in [`Verified::mismatch`]; with `Ignore` no checksum is asked for.
pub async fn fetch_checked_as(
    repo: &dyn Repository,
    path: &str,
    policy: ChecksumPolicy,
) -> Result<Option<Verified>, RepoError> {
    if policy == ChecksumPolicy::Ignore {
        return Ok(repo.get(path).await?.map(|bytes| Verified {
            bytes,
            checksum: None,
            mismatch: None,
        }));
    }
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
                let e = RepoError::Checksum {
                    url: redact_url(&format!("{}{}", repo.url(), path)),
                    algorithm,
                    expected,
                    actual,
                };
                if policy == ChecksumPolicy::Warn {
                    return Ok(Some(Verified {
                        bytes,
                        checksum: None,
                        mismatch: Some(e.to_string()),
                    }));
                }
                return Err(e);
            }
            return Ok(Some(Verified {
                bytes,
                checksum: Some(algorithm),
                mismatch: None,
            }));
        }
    }
    Ok(Some(Verified {
        bytes,
        checksum: None,
        mismatch: None,
    }))
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
    fn passwords_in_urls_are_redacted_anywhere_in_a_message() {
        assert_eq!(
            redact_url("r (https://u:p@ss@host:8/p?q) and http://h/x"),
            "r (https://u:***@host:8/p?q) and http://h/x"
        );
        assert_eq!(redact_url("https://token@host/"), "https://token@host/");
        assert_eq!(redact_url("https://u:pw@host"), "https://u:***@host");
        assert_eq!(redact_url("no url: a@b"), "no url: a@b");
    }

    #[test]
    fn complete_zips_end_with_their_directory() {
        let empty = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
        assert!(is_complete_zip(empty));
        let mut commented = empty.to_vec();
        commented[20] = 3;
        assert!(!is_complete_zip(&commented), "the comment is missing");
        commented.extend_from_slice(b"abc");
        assert!(is_complete_zip(&commented));
        assert!(!is_complete_zip(&commented[..commented.len() - 1]));
        assert!(!is_complete_zip(b"<html>not found</html>"));
        // A directory said to lie beyond the record.
        let mut beyond = empty.to_vec();
        beyond[16] = 1;
        assert!(!is_complete_zip(&beyond));
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
