//! Collection: reading descriptors (POMs, metadata) through the repositories and turning
//! each declared dependency into graph nodes the way maven-resolver's collector does
//! (selection, root dependency management, version ranges, relocation).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures::future::{join_all, BoxFuture};

use crate::mediation::{Graph, Node, ROOT};
use crate::pom::{self, Model, PomError, RawPom};
use crate::repository::{
    self, artifact_path, HttpTransport, LocalRepository, Policy, RepoError, Repository,
    UpdatePolicy,
};
use crate::resolve::{Coord, Dep, Download, Exclusion, ProgressSink, ResolveError, Scope};
use crate::settings::Credentials;
use crate::settings::Settings;
use crate::status;
use crate::version::{Version, VersionReq};

/// Root dependency management, keyed like the classic dependency manager.
#[derive(Clone, Debug, Default)]
pub(crate) struct Managed {
    pub version: Option<String>,
    pub scope: Option<Scope>,
    pub optional: Option<bool>,
    pub exclusions: Vec<Exclusion>,
}

pub(crate) fn excluded(exclusions: &[Exclusion], c: &Coord) -> bool {
    exclusions.iter().any(|x| {
        (x.group == "*" || x.group == c.group) && (x.artifact == "*" || x.artifact == c.artifact)
    })
}

/// Context for expanding the children of one node.
#[derive(Clone)]
pub(crate) struct Ctx {
    /// Children list being filled, and the node that owns it (None for the root).
    pub list: usize,
    pub parent: Option<usize>,
    pub depth: usize,
    pub exclusions: Vec<Exclusion>,
    pub repos: Arc<Vec<Arc<dyn Repository>>>,
    pub ancestors: Vec<String>,
    pub path: Vec<String>,
}

pub(crate) struct NewNode {
    pub dep: Dep,
    pub constraint: VersionReq,
    pub managed_scope: bool,
    pub managed_optional: bool,
    pub model: Option<Arc<Model>>,
}

type ModelResult = Result<Option<Arc<Model>>, ResolveError>;

pub(crate) struct Session {
    pub local: LocalRepository,
    pub offline: bool,
    /// Check every repository's metadata now, whatever its update policy (mvn's `-U`).
    pub update_snapshots: bool,
    pub allow_http: bool,
    pub settings: Settings,
    pub transport: HttpTransport,
    pub env: pom::Env,
    pub base_repos: Arc<Vec<Arc<dyn Repository>>>,
    /// Repositories by URL, so POM-declared repositories share instances.
    pub repo_cache: Mutex<HashMap<String, Arc<dyn Repository>>>,
    pub managed: HashMap<String, Managed>,
    pub raw_poms: Mutex<HashMap<String, Option<Arc<RawPom>>>>,
    /// One lock per POM being fetched, so concurrent requests for it (siblings sharing a
    /// parent, say) download it once.
    pub in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Versions listed by maven-metadata.xml, per artifact and repository list.
    pub listed_versions: Mutex<HashMap<String, Vec<String>>>,
    pub models: Mutex<HashMap<String, Option<Arc<Model>>>>,
    pub snapshot_versions: Mutex<HashMap<String, Option<String>>>,
    pub progress: Option<ProgressSink>,
    /// What Maven would print as a warning, in order, each once.
    pub warnings: Mutex<Vec<String>>,
    /// Repositories (by URL) that failed at the transport level, with the failure: asked once, so
    /// an unreachable repository costs its timeout once per resolution, not per file.
    pub down: Mutex<HashMap<String, String>>,
}

pub(crate) fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

pub(crate) fn metadata_versions(bytes: &[u8], file: &str) -> Result<Vec<String>, PomError> {
    let root = pom::parse_document(bytes, file)?;
    Ok(root
        .child("versioning")
        .map(|v| {
            v.all("versions", "version")
                .map(|e| e.text.trim().to_string())
                .collect()
        })
        .unwrap_or_default())
}

/// The timestamped file version for `ext`/`classifier` from version-level metadata.
fn snapshot_file_version(
    bytes: &[u8],
    file: &str,
    base: &str,
    ext: &str,
    classifier: &str,
) -> Result<Option<String>, PomError> {
    let root = pom::parse_document(bytes, file)?;
    let Some(versioning) = root.child("versioning") else {
        return Ok(None);
    };
    for sv in versioning.all("snapshotVersions", "snapshotVersion") {
        let e = sv.text_of("extension").unwrap_or_default();
        let c = sv.text_of("classifier").unwrap_or_default();
        if e == ext && c == classifier {
            return Ok(sv.text_of("value"));
        }
    }
    if let Some(s) = versioning.child("snapshot") {
        if s.text_of("localCopy").as_deref() == Some("true") {
            return Ok(None);
        }
        if let (Some(ts), Some(bn)) = (s.text_of("timestamp"), s.text_of("buildNumber")) {
            let prefix = base.strip_suffix("SNAPSHOT").unwrap_or(base);
            return Ok(Some(format!("{prefix}{ts}-{bn}")));
        }
    }
    Ok(None)
}

/// Why a downloaded file is not fit to keep.
enum Invalid {
    Pom(PomError),
    Other(String),
}

/// Checks a downloaded file before it goes into the local repository, where it would be
/// taken as good from then on: a POM must parse, and a zip-based archive that no published
/// checksum vouches for must be complete (end with its central directory).
fn check_content(c: &Coord, file: &repository::Verified, url: &str) -> Result<(), Invalid> {
    match c.extension.as_str() {
        "pom" => RawPom::parse(&file.bytes, url)
            .map(drop)
            .map_err(Invalid::Pom),
        "jar" | "war" | "ear" | "aar" | "zip"
            if file.checksum.is_none() && !repository::is_complete_zip(&file.bytes) =>
        {
            Err(Invalid::Other(format!(
                "not a valid zip archive ({} bytes without an end-of-central-directory record: \
                 a truncated download?), and the repository publishes no checksum for it",
                file.bytes.len()
            )))
        }
        _ => Ok(()),
    }
}

/// An artifact as Maven names it in messages: `g:a:extension[:classifier]:version`.
fn artifact_name(c: &Coord) -> String {
    let classifier = if c.classifier.is_empty() {
        String::new()
    } else {
        format!(":{}", c.classifier)
    };
    format!(
        "{}:{}:{}{classifier}:{}",
        c.group, c.artifact, c.extension, c.version
    )
}

impl Session {
    pub fn warn(&self, message: String) {
        let mut w = self.warnings.lock().unwrap_or_else(|e| e.into_inner());
        if !w.contains(&message) {
            w.push(message);
        }
    }

    pub fn repo_names(repos: &[Arc<dyn Repository>]) -> Vec<String> {
        repos
            .iter()
            .map(|r| format!("{} ({})", r.id(), repository::redact_url(r.url())))
            .collect()
    }

    /// Opens a repository, applying settings.xml mirrors and credentials. `own` are the
    /// build file's credentials for it: they win over a settings.xml server of its id, but
    /// a mirror that takes its place authenticates as the mirror.
    pub fn open_repo(
        &self,
        id: &str,
        url: &str,
        policy: Policy,
        own: Option<Credentials>,
    ) -> Result<Arc<dyn Repository>, RepoError> {
        // Maven's global settings add the http blocker after the user's mirrors; kbuild's
        // `allow_http` is the explicit opt-in that lifts it.
        let blocker = crate::settings::Mirror::default_http_blocker();
        let mirror = self.settings.mirror_for(id, url).or_else(|| {
            (!self.allow_http && crate::settings::mirror_of_matches(&blocker.mirror_of, id, url))
                .then_some(&blocker)
        });
        if let Some(m) = mirror.filter(|m| m.blocked) {
            return Ok(repository::with_policy(
                repository::blocked(id, url, m),
                policy,
            ));
        }
        let (id, url, own) = match mirror {
            Some(m) => (m.id.as_str(), m.url.as_str(), None),
            None => (id, url, own),
        };
        let mut cache = self.repo_cache.lock().unwrap_or_else(|e| e.into_inner());
        let user = own.as_ref().map(|c| c.username.as_str()).unwrap_or("");
        let key = format!("{url}|{policy:?}|{user}");
        if let Some(r) = cache.get(&key) {
            return Ok(r.clone());
        }
        let creds = own.or_else(|| self.settings.credentials(id).cloned());
        let r = repository::open(id, url, &self.transport, self.allow_http, creds)?;
        let r = repository::with_policy(r, policy);
        cache.insert(key, r.clone());
        Ok(r)
    }

    /// `repo`'s `maven-metadata.xml` in the layout directory `dir`. As in Maven, the copy
    /// kept in the local repository (`maven-metadata-<id>.xml`) serves until `updates` says a
    /// check is due (the time of the last one is in `resolver-status.properties`, Maven's own
    /// record, so mvn and kbuild see each other's checks); a due check asks the repository and
    /// records its answer, found or not. `update_snapshots` makes every check due.
    async fn metadata(
        &self,
        repo: &dyn Repository,
        dir: &str,
        updates: UpdatePolicy,
    ) -> Result<Option<Vec<u8>>, RepoError> {
        let name = format!("maven-metadata-{}.xml", repo.id());
        let copy = self.local.path_of(&format!("{dir}/{name}"));
        let status = format!("{dir}/{}", status::FILE);
        let key = format!("{name}.lastUpdated");
        let now = status::now_millis();
        let last = status::read(&self.local.path_of(&status), &key);
        if !self.update_snapshots && last.is_some_and(|last| !updates.is_due(last, now)) {
            return match std::fs::read(&copy) {
                Ok(bytes) => Ok(Some(bytes)),
                // Checked, and the repository had none: not asked again until due.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(RepoError::Io {
                    path: copy.display().to_string(),
                    source,
                }),
            };
        }
        let found = repository::fetch_verified(repo, &format!("{dir}/maven-metadata.xml")).await?;
        if let Some(bytes) = &found {
            self.local.store(&format!("{dir}/{name}"), bytes)?;
        }
        status::write(&self.local, &status, &key, now)?;
        Ok(found)
    }

    /// Resolves a `-SNAPSHOT` version to the timestamped file version in `repo`.
    async fn snapshot_version(
        &self,
        repo: &dyn Repository,
        c: &Coord,
    ) -> Result<String, ResolveError> {
        let meta_path = format!(
            "{}/{}/{}/maven-metadata.xml",
            c.group.replace('.', "/"),
            c.artifact,
            c.version
        );
        let key = format!("{}|{}|{}", repo.url(), meta_path, c.key());
        if let Some(v) = self
            .snapshot_versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(v.clone().unwrap_or_else(|| c.version.clone()));
        }
        let dir = meta_path.trim_end_matches("/maven-metadata.xml");
        let found = match self
            .metadata(repo, dir, repo.policy().snapshot_updates)
            .await
        {
            Ok(Some(bytes)) => {
                let file = repository::redact_url(&format!("{}{}", repo.url(), meta_path));
                snapshot_file_version(&bytes, &file, &c.version, &c.extension, &c.classifier)
                    .map_err(|source| ResolveError::Pom {
                        path: vec![],
                        source,
                    })?
            }
            Ok(None) => None,
            Err(source) => {
                return Err(ResolveError::Fetch {
                    coord: c.to_string(),
                    path: vec![],
                    source: Box::new(source),
                })
            }
        };
        self.snapshot_versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, found.clone());
        Ok(found.unwrap_or_else(|| c.version.clone()))
    }

    /// Finds a file in the local repository or downloads it (verified, atomically stored).
    /// `Ok(None)` means no repository has it.
    pub async fn fetch(
        &self,
        c: &Coord,
        repos: &[Arc<dyn Repository>],
    ) -> Result<Option<PathBuf>, ResolveError> {
        // Snapshots (1.0-SNAPSHOT, or a timestamped 1.0-20200101.101010-3) live in the
        // snapshot's directory and, locally, under the base version's file name as in Maven;
        // the timestamped file is kept beside it.
        let dir = repository::base_version(&c.version);
        let local_rel = artifact_path(
            &c.group,
            &c.artifact,
            &dir,
            &dir,
            &c.classifier,
            &c.extension,
        );
        let snapshot = dir.ends_with("SNAPSHOT");
        if !snapshot || self.offline {
            if let Some(p) = self.local.find(&local_rel) {
                return Ok(Some(p));
            }
        }
        if self.offline {
            return Err(ResolveError::Offline {
                coord: c.to_string(),
                local: self.local.root().display().to_string(),
                path: vec![],
            });
        }
        let fetch_err = |source: RepoError| ResolveError::Fetch {
            coord: c.to_string(),
            path: vec![],
            source: Box::new(source),
        };
        // A repository that fails (unreachable, an HTTP error, a bad checksum) does not stop
        // the search: a later one may have the file. When none has it, a failure wins over
        // "not found", as in Maven's resolution exception (so a POM is only missing, and a
        // warning, when every repository answered that it does not have it).
        let mut first_failure: Option<ResolveError> = None;
        for repo in repos.iter().filter(|r| r.policy().accepts(&c.version)) {
            let failed = |e: ResolveError, first: &mut Option<ResolveError>| {
                if let ResolveError::Fetch { source, .. } = &e {
                    if matches!(**source, RepoError::Transport { .. }) {
                        self.mark_down(repo.as_ref(), &source.to_string());
                    }
                }
                first.get_or_insert(e);
            };
            if let Some(message) = self.is_down(repo.as_ref()) {
                let e = fetch_err(RepoError::Transport {
                    url: repository::redact_url(repo.url()),
                    message,
                });
                first_failure.get_or_insert(e);
                continue;
            }
            let file_version = if c.version.ends_with("SNAPSHOT") {
                match self.snapshot_version(repo.as_ref(), c).await {
                    Ok(v) => v,
                    Err(e @ ResolveError::Fetch { .. }) => {
                        failed(e, &mut first_failure);
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            } else {
                c.version.clone()
            };
            let rel = artifact_path(
                &c.group,
                &c.artifact,
                &dir,
                &file_version,
                &c.classifier,
                &c.extension,
            );
            let mut downloaded = false;
            let bytes = match self.local.find(&rel) {
                Some(p) if rel != local_rel => {
                    std::fs::read(&p).map_err(|source| ResolveError::Io {
                        path: p.display().to_string(),
                        source,
                    })?
                }
                Some(p) => return Ok(Some(p)),
                None => {
                    let checksums = repo.policy().checksums(&c.version);
                    let found =
                        match repository::fetch_checked_as(repo.as_ref(), &rel, checksums).await {
                            Ok(found) => found,
                            Err(e) => {
                                failed(fetch_err(e), &mut first_failure);
                                continue;
                            }
                        };
                    let Some(v) = found else {
                        continue;
                    };
                    if let Some(m) = &v.mismatch {
                        self.warn(format!(
                            "{m}; kept, as repository {}'s checksum policy is warn",
                            repo.id()
                        ));
                    }
                    downloaded = true;
                    let url = repository::redact_url(&format!("{}{}", repo.url(), rel));
                    match check_content(c, &v, &url) {
                        Ok(()) => v.bytes,
                        // A POM that does not parse is the artifact's fault, not the
                        // repository's: another repository would serve the same.
                        Err(Invalid::Pom(source)) => {
                            return Err(ResolveError::Pom {
                                path: vec![],
                                source,
                            })
                        }
                        Err(Invalid::Other(message)) => {
                            failed(
                                fetch_err(RepoError::Corrupt { url, message }),
                                &mut first_failure,
                            );
                            continue;
                        }
                    }
                }
            };
            let size = bytes.len() as u64;
            // Writing (and syncing) blocks; keep it off the async executor so downloads overlap.
            let local = self.local.clone();
            let (rel2, local_rel2) = (rel.clone(), local_rel.clone());
            let stored = tokio::task::spawn_blocking(move || {
                let stored = local.store(&rel2, &bytes)?;
                if rel2 == local_rel2 {
                    return Ok(stored);
                }
                local.store(&local_rel2, &bytes)
            })
            .await
            .unwrap_or_else(|e| {
                Err(RepoError::Io {
                    path: rel.clone(),
                    source: std::io::Error::other(e),
                })
            })
            .map_err(fetch_err)?;
            if let (true, Some(sink)) = (downloaded, &self.progress) {
                (sink.0)(&Download {
                    repository: repo.id().to_string(),
                    path: rel,
                    bytes: size,
                });
            }
            // An earlier repository failed (an unreachable one was warned about already; a
            // blocked one was blocked on purpose).
            if let Some(e @ ResolveError::Fetch { source, .. }) = &first_failure {
                if !matches!(
                    **source,
                    RepoError::Transport { .. } | RepoError::Blocked { .. }
                ) {
                    self.warn(format!(
                        "{e}; {c} found in repository {} instead",
                        repo.id()
                    ));
                }
            }
            return Ok(Some(stored));
        }
        match first_failure {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }

    /// Records that `repo` failed at the transport level (unreachable, or still failing
    /// after its retries), with a warning the first time.
    fn mark_down(&self, repo: &dyn Repository, message: &str) {
        let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        if down.contains_key(repo.url()) {
            return;
        }
        down.insert(repo.url().to_string(), message.to_string());
        drop(down);
        self.warn(format!(
            "repository {} ({}) failed: {message}; not asked again in this resolution",
            repo.id(),
            repository::redact_url(repo.url())
        ));
    }

    fn is_down(&self, repo: &dyn Repository) -> Option<String> {
        let down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        down.get(repo.url()).cloned()
    }

    async fn raw_pom(
        &self,
        g: &str,
        a: &str,
        v: &str,
        repos: &[Arc<dyn Repository>],
    ) -> Result<Option<Arc<RawPom>>, ResolveError> {
        let key = format!("{g}:{a}:{v}");
        let gate = self
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        let _fetching = gate.lock().await;
        if let Some(p) = self
            .raw_poms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(p.clone());
        }
        let c = Coord {
            group: g.into(),
            artifact: a.into(),
            extension: "pom".into(),
            classifier: String::new(),
            version: v.into(),
        };
        let file = match self.fetch(&c, repos).await {
            Ok(f) => f,
            // Maven tolerates a missing POM offline just as online; the artifact itself fails.
            Err(ResolveError::Offline { .. }) => None,
            Err(e) => return Err(e),
        };
        let parsed = match file {
            None => None,
            Some(path) => {
                let bytes = std::fs::read(&path).map_err(|source| ResolveError::Io {
                    path: path.display().to_string(),
                    source,
                })?;
                let raw = RawPom::parse(&bytes, &path.display().to_string()).map_err(|source| {
                    ResolveError::Pom {
                        path: vec![],
                        source,
                    }
                })?;
                Some(Arc::new(raw))
            }
        };
        self.raw_poms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, parsed.clone());
        Ok(parsed)
    }

    /// The effective model of `g:a:v`, or `None` if its POM does not exist.
    pub fn model<'a>(
        &'a self,
        g: &'a str,
        a: &'a str,
        v: &'a str,
        repos: &'a [Arc<dyn Repository>],
        imports: Vec<String>,
    ) -> BoxFuture<'a, ModelResult> {
        Box::pin(async move {
            let key = format!("{g}:{a}:{v}");
            if let Some(m) = self
                .models
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
            {
                return Ok(m.clone());
            }
            let mut chain: Vec<RawPom> = Vec::new();
            let mut seen: Vec<String> = Vec::new();
            let (mut cg, mut ca, mut cv) = (g.to_string(), a.to_string(), v.to_string());
            // Each POM's own repositories serve its parents and imports too, after the ones
            // it was found through, as Maven's model resolver adds them while it builds.
            let mut own_repos: Vec<Arc<dyn Repository>> = repos.to_vec();
            loop {
                let k = format!("{cg}:{ca}:{cv}");
                if seen.contains(&k) {
                    seen.push(k);
                    return Err(ResolveError::ParentCycle { chain: seen });
                }
                seen.push(k.clone());
                let Some(raw) = self.raw_pom(&cg, &ca, &cv, &own_repos).await? else {
                    if chain.is_empty() {
                        self.models
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(key, None);
                        return Ok(None);
                    }
                    return Err(ResolveError::Missing {
                        coord: format!("{k} (parent POM)"),
                        path: vec![],
                        repositories: Self::repo_names(&own_repos),
                    });
                };
                // Only literal URLs: properties are not known before the whole chain is.
                for (rid, url, policy) in raw.declared_repositories() {
                    if url.contains("${") || rid.contains("${") {
                        continue;
                    }
                    if let Ok(r) = self.open_repo(rid, url, *policy, None) {
                        if !own_repos.iter().any(|x| x.url() == r.url()) {
                            own_repos.push(r);
                        }
                    }
                }
                let parent = raw.parent.clone();
                chain.push((*raw).clone());
                match parent {
                    Some((pg, pa, pv)) => (cg, ca, cv) = (pg, pa, pv),
                    None => break,
                }
            }
            let mut model =
                Model::assemble(&chain, &self.env).map_err(|source| ResolveError::Pom {
                    path: vec![],
                    source,
                })?;
            for imp in model.take_imports() {
                let ik = format!(
                    "{}:{}:{}",
                    imp.group_id,
                    imp.artifact_id,
                    imp.version.clone().unwrap_or_default()
                );
                if imports.contains(&ik) || ik == key {
                    let mut chain = imports.clone();
                    chain.push(key.clone());
                    chain.push(ik);
                    return Err(ResolveError::ImportCycle { chain });
                }
                let mut next = imports.clone();
                next.push(key.clone());
                let iv = imp.version.clone().unwrap_or_default();
                match self
                    .model(&imp.group_id, &imp.artifact_id, &iv, &own_repos, next)
                    .await?
                {
                    Some(bom) => model.add_imported(&bom.managed),
                    None => {
                        return Err(ResolveError::Missing {
                            coord: format!("{ik} (imported BOM)"),
                            path: vec![],
                            repositories: Self::repo_names(&own_repos),
                        })
                    }
                }
            }
            model.finish();
            let m = Arc::new(model);
            self.models
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, Some(m.clone()));
            Ok(Some(m))
        })
    }

    /// Versions of `c` in `req`, ascending, from every repository's maven-metadata.xml.
    async fn range_versions(
        &self,
        c: &Coord,
        req: &VersionReq,
        spec: &str,
        repos: &[Arc<dyn Repository>],
    ) -> Result<Vec<String>, ResolveError> {
        let dir = format!("{}/{}", c.group.replace('.', "/"), c.artifact);
        let rel = format!("{dir}/maven-metadata.xml");
        let cache_key = format!(
            "{dir}|{}",
            repos.iter().map(|r| r.url()).collect::<Vec<_>>().join(",")
        );
        let cached = self
            .listed_versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&cache_key)
            .cloned();
        let mut all: Vec<String> = cached.clone().unwrap_or_default();
        let parse = |bytes: &[u8], file: &str| {
            metadata_versions(bytes, file).map_err(|source| ResolveError::Pom {
                path: vec![],
                source,
            })
        };
        if cached.is_some() {
            // Already listed during this resolution.
        } else if self.offline {
            if let Ok(entries) = std::fs::read_dir(self.local.path_of(&dir)) {
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if name.starts_with("maven-metadata") && name.ends_with(".xml") {
                        if let Ok(bytes) = std::fs::read(e.path()) {
                            all.extend(parse(&bytes, &e.path().display().to_string())?);
                        }
                    }
                }
            }
        } else {
            let local_meta = self
                .local
                .path_of(&format!("{dir}/maven-metadata-local.xml"));
            if let Ok(bytes) = std::fs::read(&local_meta) {
                all.extend(parse(&bytes, &local_meta.display().to_string())?);
            }
            // The versions of releases and snapshots alike: the more frequent policy.
            let fetched = join_all(repos.iter().map(|r| {
                let p = r.policy();
                let updates = p.release_updates.most_frequent(p.snapshot_updates);
                self.metadata(r.as_ref(), &dir, updates)
            }))
            .await;
            for (repo, res) in repos.iter().zip(fetched) {
                let bytes = res.map_err(|source| ResolveError::Fetch {
                    coord: format!("{}:{} metadata", c.group, c.artifact),
                    path: vec![],
                    source: Box::new(source),
                })?;
                if let Some(bytes) = bytes {
                    let file = repository::redact_url(&format!("{}{}", repo.url(), rel));
                    all.extend(parse(&bytes, &file)?);
                }
            }
        }
        if cached.is_none() {
            self.listed_versions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(cache_key, all.clone());
        }
        let mut versions: Vec<Version> = all
            .iter()
            .map(|s| Version::parse(s))
            .filter(|v| req.contains(v))
            .collect();
        versions.sort();
        versions.dedup_by(|a, b| a.as_str() == b.as_str());
        if versions.is_empty() {
            return Err(ResolveError::NoVersionInRange {
                key: format!("{}:{}", c.group, c.artifact),
                range: spec.to_string(),
                path: vec![],
                repositories: Self::repo_names(repos),
            });
        }
        Ok(versions
            .into_iter()
            .map(|v| v.as_str().to_string())
            .collect())
    }

    /// Selection, management, version expansion and descriptor reading for one declared
    /// dependency, following maven-resolver's `processDependency`.
    pub async fn expand(&self, ctx: &Ctx, start: Dep) -> Result<Vec<NewNode>, ResolveError> {
        let mut dep = start;
        let mut out = Vec::new();
        let mut disable_version_management = false;
        let mut relocations = 0;
        'relocated: loop {
            if ctx.depth >= 2
                && (matches!(dep.scope, Scope::Test | Scope::Provided) || dep.optional)
            {
                return Ok(out);
            }
            if excluded(&ctx.exclusions, &dep.coord) {
                return Ok(out);
            }
            let mut managed_scope = false;
            let mut managed_optional = false;
            if let Some(m) = self.managed.get(&dep.coord.key()) {
                if ctx.depth >= 2 {
                    if let (Some(v), false) = (&m.version, disable_version_management) {
                        dep.coord.version = v.clone();
                    }
                    if let Some(s) = m.scope {
                        dep.scope = s;
                        managed_scope = true;
                    }
                    if let Some(o) = m.optional {
                        dep.optional = o;
                        managed_optional = true;
                    }
                }
                dep.exclusions.extend(m.exclusions.iter().cloned());
            }
            let mut path = ctx.path.clone();
            path.push(dep.display());
            let spec = dep.coord.version.clone();
            let constraint =
                VersionReq::parse(&spec).map_err(|source| ResolveError::BadVersion {
                    key: format!("{}:{}", dep.coord.group, dep.coord.artifact),
                    path: path.clone(),
                    source,
                })?;
            if dep.scope == Scope::System {
                out.push(NewNode {
                    dep,
                    constraint,
                    managed_scope,
                    managed_optional,
                    model: None,
                });
                return Ok(out);
            }
            let versions = if constraint.is_range() {
                self.range_versions(&dep.coord, &constraint, &spec, &ctx.repos)
                    .await
                    .map_err(|e| e.with_path(&path))?
            } else {
                vec![spec.clone()]
            };
            for v in versions {
                let mut d = dep.clone();
                d.coord.version = v;
                let mut path = ctx.path.clone();
                path.push(d.display());
                let model = self
                    .model(
                        &d.coord.group,
                        &d.coord.artifact,
                        &d.coord.version,
                        &ctx.repos,
                        Vec::new(),
                    )
                    .await
                    .map_err(|e| e.with_path(&path))?;
                if let Some(rel) = model.as_ref().and_then(|m| m.relocation.clone()) {
                    relocations += 1;
                    if relocations > 16 {
                        return Err(ResolveError::Relocation {
                            coord: d.display(),
                            path,
                        });
                    }
                    let mut moved = d.clone();
                    if let Some(g) = rel.group_id {
                        moved.coord.group = g;
                    }
                    if let Some(a) = rel.artifact_id {
                        moved.coord.artifact = a;
                    }
                    if let Some(v) = rel.version {
                        moved.coord.version = v;
                    }
                    disable_version_management = moved.coord.group == d.coord.group
                        && moved.coord.artifact == d.coord.artifact;
                    dep = moved;
                    continue 'relocated;
                }
                if model.is_none() {
                    let shown = if path.len() > 1 {
                        format!(" (dependency path: {})", path.join(" -> "))
                    } else {
                        String::new()
                    };
                    self.warn(format!(
                        "The POM for {} is missing, no dependency information available{shown}",
                        artifact_name(&d.coord)
                    ));
                }
                let cycle = ctx.ancestors.contains(&d.coord.key());
                out.push(NewNode {
                    dep: d,
                    constraint: constraint.clone(),
                    managed_scope,
                    managed_optional,
                    model: if cycle { None } else { model },
                });
            }
            return Ok(out);
        }
    }
}

/// Collects the dirty graph for `root_deps`.
pub(crate) async fn collect(session: &Session, root_deps: Vec<Dep>) -> Result<Graph, ResolveError> {
    // Collect the dirty graph breadth-first so each level's POMs download in parallel. A
    // node's children depend only on its artifact, exclusions and repositories (Maven's
    // collector caches them under that key too), so equal nodes share one children list.
    let mut graph = Graph {
        nodes: Vec::new(),
        lists: vec![Vec::new()],
    };
    let mut pool: HashMap<String, usize> = HashMap::new();
    let root_ctx = Ctx {
        list: ROOT,
        parent: None,
        depth: 1,
        exclusions: Vec::new(),
        repos: session.base_repos.clone(),
        ancestors: Vec::new(),
        path: Vec::new(),
    };
    let mut level: Vec<(Ctx, Vec<Dep>)> = vec![(root_ctx, root_deps)];
    while !level.is_empty() {
        let sess = &session;
        let jobs = level
            .iter()
            .flat_map(|(ctx, deps)| deps.iter().map(move |d| (ctx, d.clone())));
        let results =
            join_all(jobs.map(|(ctx, d)| async move { (ctx, sess.expand(ctx, d).await) })).await;
        let mut next = Vec::new();
        for (ctx, res) in results {
            for nn in res? {
                let id = graph.nodes.len();
                let mut list = None;
                if let Some(m) = nn.model.as_ref().filter(|m| !m.dependencies.is_empty()) {
                    let mut child_repos = ctx.repos.clone();
                    if !m.repositories.is_empty() {
                        let mut v: Vec<Arc<dyn Repository>> = (*ctx.repos).clone();
                        for (rid, url, policy) in &m.repositories {
                            if let Ok(r) = session.open_repo(rid, url, *policy, None) {
                                if !v.iter().any(|x| x.url() == r.url()) {
                                    v.push(r);
                                }
                            }
                        }
                        child_repos = Arc::new(v);
                    }
                    let mut exclusions = ctx.exclusions.clone();
                    exclusions.extend(nn.dep.exclusions.iter().cloned());
                    let mut excl_key: Vec<String> = exclusions
                        .iter()
                        .map(|e| format!("{}:{}", e.group, e.artifact))
                        .collect();
                    excl_key.sort();
                    excl_key.dedup();
                    let repo_key: Vec<&str> = child_repos.iter().map(|r| r.url()).collect();
                    let key = format!(
                        "{}|{}|{}|{}",
                        nn.dep.display(),
                        nn.dep.coord.extension,
                        excl_key.join(","),
                        repo_key.join(",")
                    );
                    list = Some(match pool.get(&key) {
                        Some(&l) => l,
                        None => {
                            let l = graph.lists.len();
                            graph.lists.push(Vec::new());
                            pool.insert(key, l);
                            let mut ancestors = ctx.ancestors.clone();
                            ancestors.push(nn.dep.coord.key());
                            let mut path = ctx.path.clone();
                            path.push(nn.dep.display());
                            let child_ctx = Ctx {
                                list: l,
                                parent: Some(id),
                                depth: ctx.depth + 1,
                                exclusions,
                                repos: child_repos,
                                ancestors,
                                path,
                            };
                            next.push((
                                child_ctx,
                                m.dependencies.iter().map(Dep::from_pom).collect(),
                            ));
                            l
                        }
                    });
                }
                graph.nodes.push(Node {
                    dep: nn.dep,
                    parent: ctx.parent,
                    list,
                    constraint: nn.constraint,
                    managed_scope: nn.managed_scope,
                    managed_optional: nn.managed_optional,
                    repos: ctx.repos.clone(),
                });
                graph.lists[ctx.list].push(id);
            }
        }
        level = next;
    }

    Ok(graph)
}
