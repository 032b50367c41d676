//! Dependency resolution as Maven 3.8 does it (maven-resolver 1.6, classic dependency
//! manager): collect the dirty graph, then mediate conflicts (nearest wins, first
//! declaration at equal depth, scope widening, optionality), then download the winners.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{join_all, BoxFuture};
use futures::{StreamExt, TryStreamExt};
use sha2::Digest;

use crate::mediation::{self, Graph, Node, ROOT};
use crate::pom::{self, Model, PomDep, PomError, RawPom};
use crate::repository::{
    self, artifact_path, HttpTransport, LocalRepository, RepoError, Repository,
};
use crate::settings::{Settings, SettingsError};
use crate::version::{RangeError, Version, VersionReq};

/// Maven coordinates of one file: `group:artifact:extension[:classifier]:version`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Coord {
    pub group: String,
    pub artifact: String,
    pub extension: String,
    pub classifier: String,
    pub version: String,
}

/// Extension and classifier implied by a dependency type (Maven's artifact handlers).
fn type_info(type_: &str) -> (&str, &str) {
    match type_ {
        "test-jar" => ("jar", "tests"),
        "ejb-client" => ("jar", "client"),
        "javadoc" => ("jar", "javadoc"),
        "java-source" => ("jar", "sources"),
        "maven-plugin" | "ejb" | "jar" | "bundle" => ("jar", ""),
        other => (other, ""),
    }
}

fn parse_spec(spec: &str) -> Result<(Coord, String), ResolveError> {
    let parts: Vec<&str> = spec.trim().split(':').collect();
    let bad = || ResolveError::InvalidCoord(spec.to_string());
    let (g, a, t, c, v) = match parts.as_slice() {
        [g, a, v] => (*g, *a, "jar", "", *v),
        [g, a, t, v] => (*g, *a, *t, "", *v),
        [g, a, t, c, v] => (*g, *a, *t, *c, *v),
        _ => return Err(bad()),
    };
    if g.is_empty() || a.is_empty() || t.is_empty() {
        return Err(bad());
    }
    let (ext, implied) = type_info(t);
    let classifier = if c.is_empty() { implied } else { c };
    let coord = Coord {
        group: g.into(),
        artifact: a.into(),
        extension: ext.into(),
        classifier: classifier.into(),
        version: v.into(),
    };
    Ok((coord, t.to_string()))
}

impl Coord {
    /// Parses `g:a:v`, `g:a:type:v` or `g:a:type:classifier:v`; the type is mapped to its
    /// extension and implied classifier (`test-jar` → `jar` + `tests`).
    pub fn parse(spec: &str) -> Result<Coord, ResolveError> {
        parse_spec(spec).map(|(c, _)| c)
    }

    /// `group:artifact:extension:classifier`, the identity Maven mediates conflicts on.
    pub(crate) fn key(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.group, self.artifact, self.extension, self.classifier
        )
    }
}

impl fmt::Display for Coord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.group, self.artifact, self.extension)?;
        if !self.classifier.is_empty() {
            write!(f, ":{}", self.classifier)?;
        }
        write!(f, ":{}", self.version)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    Compile,
    Provided,
    Runtime,
    Test,
    System,
    /// Only meaningful in dependency management (BOM imports).
    Import,
}

impl Scope {
    pub fn parse(s: &str) -> Scope {
        match s.trim() {
            "provided" => Scope::Provided,
            "runtime" => Scope::Runtime,
            "test" => Scope::Test,
            "system" => Scope::System,
            "import" => Scope::Import,
            _ => Scope::Compile,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Compile => "compile",
            Scope::Provided => "provided",
            Scope::Runtime => "runtime",
            Scope::Test => "test",
            Scope::System => "system",
            Scope::Import => "import",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `groupId:artifactId` to exclude; either may be `*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exclusion {
    pub group: String,
    pub artifact: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Dependency {
    pub coord: Coord,
    /// The declared type (`jar`, `test-jar`, `pom`, ...), printed by `to_list_lines`.
    pub type_: String,
    pub scope: Scope,
    pub optional: bool,
    pub exclusions: Vec<Exclusion>,
    /// Only for `system` scope.
    pub system_path: Option<PathBuf>,
}

impl Dependency {
    /// A compile-scoped dependency from `g:a:v` or `g:a:type:classifier:v`.
    pub fn parse(spec: &str) -> Result<Dependency, ResolveError> {
        let (coord, type_) = parse_spec(spec)?;
        Ok(Dependency {
            coord,
            type_,
            scope: Scope::Compile,
            optional: false,
            exclusions: Vec::new(),
            system_path: None,
        })
    }

    pub fn with_scope(mut self, scope: Scope) -> Dependency {
        self.scope = scope;
        self
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteRepository {
    pub id: String,
    pub url: String,
}

#[derive(Clone, Debug)]
pub struct ResolverConfig {
    pub repositories: Vec<RemoteRepository>,
    /// Overrides settings.xml's `localRepository`; default `~/.m2/repository`.
    pub local_repo: Option<PathBuf>,
    /// Local repository only (settings.xml `offline` also turns this on).
    pub offline: bool,
    /// Permit plain `http://` repositories (Maven 3.8+ blocks them).
    pub allow_http: bool,
    /// Default `~/.m2/settings.xml`; a missing file means no settings.
    pub settings_xml: Option<PathBuf>,
    /// Java system properties seen by profile activation and interpolation (`java.version`...).
    pub system_properties: BTreeMap<String, String>,
    /// Connect/read timeout of each HTTP request.
    pub timeout: Duration,
    /// Retries after a 5xx, reset or timeout.
    pub retries: u32,
    pub parallel_downloads: usize,
}

impl Default for ResolverConfig {
    fn default() -> Self {
        ResolverConfig {
            repositories: vec![RemoteRepository {
                id: "central".into(),
                url: "https://repo.maven.apache.org/maven2/".into(),
            }],
            local_repo: None,
            offline: false,
            allow_http: false,
            settings_xml: None,
            system_properties: BTreeMap::new(),
            timeout: Duration::from_secs(30),
            retries: 3,
            parallel_downloads: 8,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedArtifact {
    pub coord: Coord,
    pub type_: String,
    pub scope: Scope,
    pub optional: bool,
    pub file: PathBuf,
    /// Hex SHA-256 of `file`.
    pub sha256: String,
}

/// A node of the resolved tree; `artifact` indexes `Resolution::artifacts`.
#[derive(Clone, Debug, PartialEq)]
pub struct TreeNode {
    pub artifact: usize,
    pub children: Vec<TreeNode>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Resolution {
    /// Classpath order: pre-order of the resolved tree.
    pub artifacts: Vec<ResolvedArtifact>,
    /// The root's direct dependencies and below.
    pub tree: Vec<TreeNode>,
}

fn fmt_path(path: &[String]) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" (dependency path: {})", path.join(" -> "))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("invalid coordinate `{0}`: expected group:artifact:version or group:artifact:type:classifier:version")]
    InvalidCoord(String),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("repository setup failed: {0}")]
    Setup(Box<RepoError>),
    #[error("could not find artifact {coord}{} in {}", fmt_path(.path), .repositories.join(", "))]
    Missing {
        coord: String,
        path: Vec<String>,
        repositories: Vec<String>,
    },
    #[error("offline: artifact {coord} is not in the local repository {local}{}", fmt_path(.path))]
    Offline {
        coord: String,
        local: String,
        path: Vec<String>,
    },
    #[error("could not fetch {coord}{}: {source}", fmt_path(.path))]
    Fetch {
        coord: String,
        path: Vec<String>,
        source: Box<RepoError>,
    },
    #[error("{source}{}", fmt_path(.path))]
    Pom { path: Vec<String>, source: PomError },
    #[error("parent POMs form a cycle: {}", .chain.join(" -> "))]
    ParentCycle { chain: Vec<String> },
    #[error("BOM imports form a cycle: {}", .chain.join(" -> "))]
    ImportCycle { chain: Vec<String> },
    #[error("invalid version of {key}{}: {source}", fmt_path(.path))]
    BadVersion {
        key: String,
        path: Vec<String>,
        source: RangeError,
    },
    #[error("no versions of {key} within range {range} available in {}{}", .repositories.join(", "), fmt_path(.path))]
    NoVersionInRange {
        key: String,
        range: String,
        path: Vec<String>,
        repositories: Vec<String>,
    },
    #[error("no version of {key} satisfies all of: {}", .constraints.join("; "))]
    UnsolvableConflict {
        key: String,
        constraints: Vec<String>,
    },
    #[error("too many relocations for {coord}{}", fmt_path(.path))]
    Relocation { coord: String, path: Vec<String> },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl ResolveError {
    /// Sets the dependency path on errors that carry one and do not have it yet.
    fn with_path(mut self, p: &[String]) -> ResolveError {
        match &mut self {
            ResolveError::Missing { path, .. }
            | ResolveError::Offline { path, .. }
            | ResolveError::Fetch { path, .. }
            | ResolveError::Pom { path, .. }
            | ResolveError::BadVersion { path, .. }
            | ResolveError::NoVersionInRange { path, .. }
            | ResolveError::Relocation { path, .. }
                if path.is_empty() =>
            {
                *path = p.to_vec();
            }
            _ => {}
        }
        self
    }
}

/// A dependency inside the resolver (a `Dependency` with its version still a spec).
#[derive(Clone, Debug)]
pub(crate) struct Dep {
    pub coord: Coord,
    pub type_: String,
    pub scope: Scope,
    pub optional: bool,
    pub exclusions: Vec<Exclusion>,
    pub system_path: Option<PathBuf>,
}

impl Dep {
    fn from_pom(d: &PomDep) -> Dep {
        let type_ = d.type_.clone().unwrap_or_else(|| "jar".into());
        let (ext, implied) = type_info(&type_);
        let classifier = d.classifier.clone().unwrap_or_else(|| implied.to_string());
        Dep {
            coord: Coord {
                group: d.group_id.clone(),
                artifact: d.artifact_id.clone(),
                extension: ext.to_string(),
                classifier,
                version: d.version.clone().unwrap_or_default(),
            },
            type_: type_.clone(),
            scope: Scope::parse(d.scope.as_deref().unwrap_or("compile")),
            optional: d.optional.as_deref().map(str::trim) == Some("true"),
            exclusions: d
                .exclusions
                .iter()
                .map(|(g, a)| Exclusion {
                    group: g.clone(),
                    artifact: a.clone(),
                })
                .collect(),
            system_path: d.system_path.as_ref().map(PathBuf::from),
        }
    }

    fn from_api(d: &Dependency) -> Dep {
        Dep {
            coord: d.coord.clone(),
            type_: d.type_.clone(),
            scope: d.scope,
            optional: d.optional,
            exclusions: d.exclusions.clone(),
            system_path: d.system_path.clone(),
        }
    }

    pub fn display(&self) -> String {
        let c = &self.coord;
        let mut s = format!("{}:{}:{}", c.group, c.artifact, self.type_);
        if !c.classifier.is_empty() {
            s.push(':');
            s.push_str(&c.classifier);
        }
        s.push(':');
        s.push_str(&c.version);
        s
    }
}

/// Root dependency management, keyed like the classic dependency manager.
#[derive(Clone, Debug, Default)]
struct Managed {
    version: Option<String>,
    scope: Option<Scope>,
    optional: Option<bool>,
    exclusions: Vec<Exclusion>,
}

fn excluded(exclusions: &[Exclusion], c: &Coord) -> bool {
    exclusions.iter().any(|x| {
        (x.group == "*" || x.group == c.group) && (x.artifact == "*" || x.artifact == c.artifact)
    })
}

/// Context for expanding the children of one node.
#[derive(Clone)]
struct Ctx {
    /// Children list being filled, and the node that owns it (None for the root).
    list: usize,
    parent: Option<usize>,
    depth: usize,
    exclusions: Vec<Exclusion>,
    repos: Arc<Vec<Arc<dyn Repository>>>,
    ancestors: Vec<String>,
    path: Vec<String>,
}

struct NewNode {
    dep: Dep,
    constraint: VersionReq,
    managed_scope: bool,
    managed_optional: bool,
    model: Option<Arc<Model>>,
}

type ModelResult = Result<Option<Arc<Model>>, ResolveError>;

struct Session {
    local: LocalRepository,
    offline: bool,
    allow_http: bool,
    settings: Settings,
    transport: HttpTransport,
    env: pom::Env,
    base_repos: Arc<Vec<Arc<dyn Repository>>>,
    /// Repositories by URL, so POM-declared repositories share instances.
    repo_cache: Mutex<HashMap<String, Arc<dyn Repository>>>,
    managed: HashMap<String, Managed>,
    raw_poms: Mutex<HashMap<String, Option<Arc<RawPom>>>>,
    models: Mutex<HashMap<String, Option<Arc<Model>>>>,
    snapshot_versions: Mutex<HashMap<String, Option<String>>>,
}

fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn metadata_versions(bytes: &[u8], file: &str) -> Result<Vec<String>, PomError> {
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

impl Session {
    fn repo_names(repos: &[Arc<dyn Repository>]) -> Vec<String> {
        repos
            .iter()
            .map(|r| format!("{} ({})", r.id(), r.url()))
            .collect()
    }

    /// Opens a repository, applying settings.xml mirrors and credentials.
    fn open_repo(&self, id: &str, url: &str) -> Result<Arc<dyn Repository>, RepoError> {
        let (id, url) = match self.settings.mirror_for(id, url) {
            Some(m) => (m.id.as_str(), m.url.as_str()),
            None => (id, url),
        };
        let mut cache = self.repo_cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = cache.get(url) {
            return Ok(r.clone());
        }
        let creds = self.settings.credentials(id).cloned();
        let r = repository::open(id, url, &self.transport, self.allow_http, creds)?;
        cache.insert(url.to_string(), r.clone());
        Ok(r)
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
        let found = match repository::fetch_verified(repo, &meta_path).await {
            Ok(Some(bytes)) => {
                let file = format!("{}{}", repo.url(), meta_path);
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
    async fn fetch(
        &self,
        c: &Coord,
        repos: &[Arc<dyn Repository>],
    ) -> Result<Option<PathBuf>, ResolveError> {
        let base_rel = artifact_path(
            &c.group,
            &c.artifact,
            &c.version,
            &c.version,
            &c.classifier,
            &c.extension,
        );
        let snapshot = c.version.ends_with("SNAPSHOT");
        if !snapshot || self.offline {
            if let Some(p) = self.local.find(&base_rel) {
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
        for repo in repos {
            let rel = if snapshot {
                let fv = self.snapshot_version(repo.as_ref(), c).await?;
                artifact_path(
                    &c.group,
                    &c.artifact,
                    &c.version,
                    &fv,
                    &c.classifier,
                    &c.extension,
                )
            } else {
                base_rel.clone()
            };
            if let Some(p) = self.local.find(&rel) {
                if rel == base_rel {
                    return Ok(Some(p));
                }
                // Like Maven, a resolved snapshot is the copy under its base version name.
                let bytes = std::fs::read(&p).map_err(|source| ResolveError::Io {
                    path: p.display().to_string(),
                    source,
                })?;
                let base =
                    self.local
                        .store(&base_rel, &bytes)
                        .map_err(|source| ResolveError::Fetch {
                            coord: c.to_string(),
                            path: vec![],
                            source: Box::new(source),
                        })?;
                return Ok(Some(base));
            }
            let fetched = repository::fetch_verified(repo.as_ref(), &rel)
                .await
                .map_err(|source| ResolveError::Fetch {
                    coord: c.to_string(),
                    path: vec![],
                    source: Box::new(source),
                })?;
            if let Some(bytes) = fetched {
                // Writing (and syncing) blocks; keep it off the async executor so downloads overlap.
                let local = self.local.clone();
                let (rel2, base2) = (rel.clone(), base_rel.clone());
                let stored = tokio::task::spawn_blocking(move || {
                    let stored = local.store(&rel2, &bytes)?;
                    if rel2 == base2 {
                        return Ok(stored);
                    }
                    // Like Maven, a resolved snapshot is the copy under its base version name
                    // (which offline builds also find).
                    local.store(&base2, &bytes)
                })
                .await
                .unwrap_or_else(|e| {
                    Err(RepoError::Io {
                        path: rel.clone(),
                        source: std::io::Error::other(e),
                    })
                })
                .map_err(|source| ResolveError::Fetch {
                    coord: c.to_string(),
                    path: vec![],
                    source: Box::new(source),
                })?;
                return Ok(Some(stored));
            }
        }
        Ok(None)
    }

    async fn raw_pom(
        &self,
        g: &str,
        a: &str,
        v: &str,
        repos: &[Arc<dyn Repository>],
    ) -> Result<Option<Arc<RawPom>>, ResolveError> {
        let key = format!("{g}:{a}:{v}");
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
    fn model<'a>(
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
            loop {
                let k = format!("{cg}:{ca}:{cv}");
                if seen.contains(&k) {
                    seen.push(k);
                    return Err(ResolveError::ParentCycle { chain: seen });
                }
                seen.push(k.clone());
                let Some(raw) = self.raw_pom(&cg, &ca, &cv, repos).await? else {
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
                        repositories: Self::repo_names(repos),
                    });
                };
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
                    .model(&imp.group_id, &imp.artifact_id, &iv, repos, next)
                    .await?
                {
                    Some(bom) => model.add_imported(&bom.managed),
                    None => {
                        return Err(ResolveError::Missing {
                            coord: format!("{ik} (imported BOM)"),
                            path: vec![],
                            repositories: Self::repo_names(repos),
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
        let mut all: Vec<String> = Vec::new();
        let parse = |bytes: &[u8], file: &str| {
            metadata_versions(bytes, file).map_err(|source| ResolveError::Pom {
                path: vec![],
                source,
            })
        };
        if self.offline {
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
            let fetched = join_all(
                repos
                    .iter()
                    .map(|r| repository::fetch_verified(r.as_ref(), &rel)),
            )
            .await;
            for (repo, res) in repos.iter().zip(fetched) {
                let bytes = res.map_err(|source| ResolveError::Fetch {
                    coord: format!("{}:{} metadata", c.group, c.artifact),
                    path: vec![],
                    source: Box::new(source),
                })?;
                if let Some(bytes) = bytes {
                    all.extend(parse(&bytes, &format!("{}{}", repo.url(), rel))?);
                    // Cached like Maven does, so offline range resolution works later.
                    let _ = self
                        .local
                        .store(&format!("{dir}/maven-metadata-{}.xml", repo.id()), &bytes);
                }
            }
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
    async fn expand(&self, ctx: &Ctx, start: Dep) -> Result<Vec<NewNode>, ResolveError> {
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

fn sha256_file(path: &Path) -> Result<String, ResolveError> {
    let io = |source| ResolveError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(io)?;
    Ok(hex::encode(h.finalize()))
}

/// Resolves `roots` (the direct dependencies of an otherwise empty project whose
/// dependencyManagement is `managed`, BOM imports included) and downloads every artifact.
pub async fn resolve(
    config: &ResolverConfig,
    roots: &[Dependency],
    managed: &[Dependency],
) -> Result<Resolution, ResolveError> {
    let settings_path = config
        .settings_xml
        .clone()
        .unwrap_or_else(|| home_dir().join(".m2/settings.xml"));
    let settings = Settings::load(&settings_path)?;
    let local_root = config
        .local_repo
        .clone()
        .or_else(|| settings.local_repository.as_ref().map(PathBuf::from))
        .unwrap_or_else(|| home_dir().join(".m2/repository"));
    let transport = HttpTransport::new(config.timeout, config.parallel_downloads, config.retries)
        .map_err(|e| ResolveError::Setup(Box::new(e)))?;
    let mut session = Session {
        local: LocalRepository::new(local_root),
        offline: config.offline || settings.offline,
        allow_http: config.allow_http,
        settings,
        transport,
        env: pom::Env {
            system: config.system_properties.clone(),
            env: std::env::vars().collect(),
        },
        base_repos: Arc::new(Vec::new()),
        repo_cache: Mutex::new(HashMap::new()),
        managed: HashMap::new(),
        raw_poms: Mutex::new(HashMap::new()),
        models: Mutex::new(HashMap::new()),
        snapshot_versions: Mutex::new(HashMap::new()),
    };
    let mut base = Vec::new();
    for r in &config.repositories {
        let repo = session
            .open_repo(&r.id, &r.url)
            .map_err(|e| ResolveError::Setup(Box::new(e)))?;
        if !base
            .iter()
            .any(|b: &Arc<dyn Repository>| b.url() == repo.url())
        {
            base.push(repo);
        }
    }
    session.base_repos = Arc::new(base);

    // Root dependency management: explicit entries first, then imported BOMs in order.
    let mut managed_map: HashMap<String, Managed> = HashMap::new();
    let mut boms = Vec::new();
    let add = |d: &Dep, map: &mut HashMap<String, Managed>| {
        let e = map.entry(d.coord.key()).or_default();
        if e.version.is_none() && !d.coord.version.is_empty() {
            e.version = Some(d.coord.version.clone());
        }
        e.exclusions.extend(d.exclusions.iter().cloned());
    };
    let mut explicit_scopes = Vec::new();
    for m in managed {
        if m.scope == Scope::Import && m.type_ == "pom" {
            boms.push(m.clone());
            continue;
        }
        let d = Dep::from_api(m);
        add(&d, &mut managed_map);
        explicit_scopes.push((d.coord.key(), m.scope, m.optional));
    }
    for (k, s, o) in explicit_scopes {
        if let Some(e) = managed_map.get_mut(&k) {
            // API-managed entries always carry a scope; compile is Maven's implicit default,
            // so only a non-compile scope counts as managed.
            if e.scope.is_none() && s != Scope::Compile {
                e.scope = Some(s);
            }
            if e.optional.is_none() && o {
                e.optional = Some(true);
            }
        }
    }
    for bom in boms {
        let repos = session.base_repos.clone();
        let c = &bom.coord;
        let model = session
            .model(&c.group, &c.artifact, &c.version, &repos, Vec::new())
            .await?;
        let Some(model) = model else {
            return Err(ResolveError::Missing {
                coord: format!("{}:{}:{} (imported BOM)", c.group, c.artifact, c.version),
                path: vec![],
                repositories: Session::repo_names(&repos),
            });
        };
        for pd in &model.managed {
            let d = Dep::from_pom(pd);
            let key = d.coord.key();
            let existed = managed_map.contains_key(&key);
            add(&d, &mut managed_map);
            if !existed {
                if let Some(e) = managed_map.get_mut(&key) {
                    e.scope = pd.scope.as_deref().map(Scope::parse);
                    e.optional = pd.optional.as_deref().map(|o| o.trim() == "true");
                }
            }
        }
    }
    session.managed = managed_map;

    // Collect the dirty graph breadth-first so each level's POMs download in parallel. A
    // node's children depend only on its artifact, exclusions and repositories (Maven's
    // collector caches them under that key too), so equal nodes share one children list.
    let mut graph = Graph {
        nodes: Vec::new(),
        lists: vec![Vec::new()],
    };
    let mut pool: HashMap<String, usize> = HashMap::new();
    let root_deps: Vec<Dep> = roots
        .iter()
        .map(|r| {
            let mut d = Dep::from_api(r);
            if d.coord.version.is_empty() {
                if let Some(v) = session
                    .managed
                    .get(&d.coord.key())
                    .and_then(|m| m.version.clone())
                {
                    d.coord.version = v;
                }
            }
            d
        })
        .collect();
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
                        for (rid, url) in &m.repositories {
                            if let Ok(r) = session.open_repo(rid, url) {
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

    mediation::mediate(&mut graph)?;
    let order = mediation::preorder(&graph);

    let sess = &session;
    let graph_ref = &graph;
    let files: Vec<(usize, PathBuf, String)> = futures::stream::iter(order.iter().cloned())
        .map(|(n, path)| async move {
            let node = &graph_ref.nodes[n];
            let dep = &node.dep;
            let file = if dep.scope == Scope::System {
                match &dep.system_path {
                    Some(p) if p.is_file() => p.clone(),
                    _ => {
                        return Err(ResolveError::Missing {
                            coord: format!("{} (systemPath {:?})", dep.display(), dep.system_path),
                            path: path.clone(),
                            repositories: vec![],
                        })
                    }
                }
            } else {
                match sess
                    .fetch(&dep.coord, &node.repos)
                    .await
                    .map_err(|e| e.with_path(&path))?
                {
                    Some(p) => p,
                    None => {
                        return Err(ResolveError::Missing {
                            coord: dep.display(),
                            path: path.clone(),
                            repositories: Session::repo_names(&node.repos),
                        })
                    }
                }
            };
            let sha = tokio::task::spawn_blocking({
                let f = file.clone();
                move || sha256_file(&f)
            })
            .await
            .map_err(|e| ResolveError::Io {
                path: file.display().to_string(),
                source: std::io::Error::other(e),
            })??;
            Ok((n, file, sha))
        })
        .buffered(config.parallel_downloads.max(1))
        .try_collect()
        .await?;

    let mut position: HashMap<usize, usize> = HashMap::new();
    let mut artifacts = Vec::new();
    for (n, file, sha256) in files {
        let dep = &graph.nodes[n].dep;
        position.insert(n, artifacts.len());
        artifacts.push(ResolvedArtifact {
            coord: dep.coord.clone(),
            type_: dep.type_.clone(),
            scope: dep.scope,
            optional: dep.optional,
            file,
            sha256,
        });
    }
    fn tree(
        g: &Graph,
        list: usize,
        pos: &HashMap<usize, usize>,
        on_path: &mut Vec<usize>,
    ) -> Vec<TreeNode> {
        let mut out = Vec::new();
        for c in &g.lists[list] {
            let Some(&i) = pos.get(c) else { continue };
            let children = match g.nodes[*c].list {
                Some(l) if !on_path.contains(&l) => {
                    on_path.push(l);
                    let t = tree(g, l, pos, on_path);
                    on_path.pop();
                    t
                }
                _ => Vec::new(),
            };
            out.push(TreeNode {
                artifact: i,
                children,
            });
        }
        out
    }
    let tree = tree(&graph, ROOT, &position, &mut vec![ROOT]);
    Ok(Resolution { artifacts, tree })
}

fn list_line(a: &ResolvedArtifact) -> String {
    let c = &a.coord;
    let mut s = format!("{}:{}:{}", c.group, c.artifact, a.type_);
    if !c.classifier.is_empty() {
        s.push(':');
        s.push_str(&c.classifier);
    }
    s.push_str(&format!(":{}:{}", c.version, a.scope));
    s
}

/// `group:artifact:type[:classifier]:version:scope[ (optional)]`, one per artifact, in the
/// order `mvn dependency:list` prints them (classpath order).
pub fn to_list_lines(r: &Resolution) -> Vec<String> {
    r.artifacts
        .iter()
        .map(|a| {
            let mut s = list_line(a);
            if a.optional {
                s.push_str(" (optional)");
            }
            s
        })
        .collect()
}

/// The resolved tree drawn like `mvn dependency:tree` (without the project line).
pub fn to_tree_string(r: &Resolution) -> String {
    fn draw(r: &Resolution, nodes: &[TreeNode], prefix: &str, out: &mut String) {
        for (i, n) in nodes.iter().enumerate() {
            let last = i + 1 == nodes.len();
            out.push_str(prefix);
            out.push_str(if last { "\\- " } else { "+- " });
            out.push_str(&list_line(&r.artifacts[n.artifact]));
            out.push('\n');
            let next = format!("{prefix}{}", if last { "   " } else { "|  " });
            draw(r, &n.children, &next, out);
        }
    }
    let mut out = String::new();
    draw(r, &r.tree, "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coords() {
        let c = Coord::parse("org.a:b:1.0").unwrap();
        assert_eq!(c.to_string(), "org.a:b:jar:1.0");
        let d = Dependency::parse("org.a:b:test-jar::1.0").unwrap();
        assert_eq!(
            (
                d.coord.extension.as_str(),
                d.coord.classifier.as_str(),
                d.type_.as_str()
            ),
            ("jar", "tests", "test-jar")
        );
        let c = Coord::parse("org.a:b:zip:dist:2").unwrap();
        assert_eq!(c.to_string(), "org.a:b:zip:dist:2");
        assert!(Coord::parse("a:b").is_err());
        assert!(Coord::parse("a::1").is_err());
    }
}
