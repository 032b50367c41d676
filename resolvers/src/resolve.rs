//! Dependency resolution as Maven 3.8 does it (maven-resolver 1.6, classic dependency
//! manager): collect the dirty graph, then mediate conflicts (nearest wins, first
//! declaration at equal depth, scope widening, optionality), then download the winners.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use sha2::Digest;

use crate::collect::{self, home_dir, Managed, Session};
use crate::mediation::{self, Graph, ROOT};
use crate::pom::{self, PomDep, PomError};
use crate::repository::{self, HttpTransport, LocalRepository, Policy, RepoError, Repository};
use crate::requests::{self, Requests};
use crate::settings::{Credentials, Settings, SettingsError};
use crate::version::RangeError;

/// Maven coordinates of one file: `group:artifact:extension[:classifier]:version`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
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
    Ok((typed_coord(g, a, t, c, v), t.to_string()))
}

/// The coordinates of a dependency of type `type_`: its extension, and its classifier unless
/// `classifier` is given, are those the type implies.
fn typed_coord(group: &str, artifact: &str, type_: &str, classifier: &str, version: &str) -> Coord {
    let (extension, implied) = type_info(type_);
    Coord {
        group: group.into(),
        artifact: artifact.into(),
        extension: extension.into(),
        classifier: if classifier.is_empty() {
            implied
        } else {
            classifier
        }
        .into(),
        version: version.into(),
    }
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Exclusion {
    pub group: String,
    pub artifact: String,
}

/// A declared dependency. It serializes canonically (the same dependency, the same text),
/// leaving out what is at its default (not optional, no exclusions, no system path).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dependency {
    pub coord: Coord,
    /// The declared type (`jar`, `test-jar`, `pom`, ...), printed by `to_list_lines`.
    #[serde(rename = "type")]
    pub type_: String,
    pub scope: Scope,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclusions: Vec<Exclusion>,
    /// Only for `system` scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_path: Option<PathBuf>,
}

impl Dependency {
    /// A compile-scoped dependency on `group:artifact` of type `type_` (`jar`, `test-jar`,
    /// `pom`, ...): its extension, and its classifier unless one is given, are those the
    /// type implies (`test-jar` is a `jar` classified `tests`). An empty `version` is left
    /// to dependency management.
    pub fn new(
        group: &str,
        artifact: &str,
        type_: &str,
        classifier: &str,
        version: &str,
    ) -> Dependency {
        Dependency {
            coord: typed_coord(group, artifact, type_, classifier, version),
            type_: type_.to_string(),
            scope: Scope::Compile,
            optional: false,
            exclusions: Vec::new(),
            system_path: None,
        }
    }

    /// The classifier as a POM declares it: empty when it is the one the type implies.
    pub fn declared_classifier(&self) -> &str {
        let (_, implied) = type_info(&self.type_);
        if self.coord.classifier == implied {
            ""
        } else {
            &self.coord.classifier
        }
    }

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

    /// A dependency as one line says it: a coordinate (`g:a` alone when dependencyManagement
    /// gives the version), then words `scope=S`, `optional`, `excl=g:a,g:*`. Used by
    /// `kbuild resolve` and the differential tests' case files.
    pub fn parse_line(line: &str) -> Result<Dependency, ResolveError> {
        let bad = || ResolveError::InvalidCoord(line.to_string());
        let mut words = line.split_whitespace();
        let coord = words.next().ok_or_else(bad)?;
        let mut d = match coord.split_once(':') {
            Some((g, a)) if !a.contains(':') => Dependency {
                coord: Coord {
                    group: g.into(),
                    artifact: a.into(),
                    extension: "jar".into(),
                    classifier: String::new(),
                    version: String::new(),
                },
                type_: "jar".into(),
                scope: Scope::Compile,
                optional: false,
                exclusions: Vec::new(),
                system_path: None,
            },
            _ => Dependency::parse(coord)?,
        };
        for w in words {
            if let Some(s) = w.strip_prefix("scope=") {
                d.scope = Scope::parse(s);
            } else if w == "optional" {
                d.optional = true;
            } else if let Some(x) = w.strip_prefix("excl=") {
                for e in x.split(',') {
                    let (g, a) = e.split_once(':').ok_or_else(bad)?;
                    d.exclusions.push(Exclusion {
                        group: g.into(),
                        artifact: a.into(),
                    });
                }
            } else {
                return Err(bad());
            }
        }
        Ok(d)
    }
}

#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemoteRepository {
    pub id: String,
    /// May hold a user and password (`https://user:password@host/`); `Debug` and every
    /// error show it without the password.
    pub url: String,
    /// Which versions it is asked for; left out of the serialized form when it is the default.
    #[serde(default, skip_serializing_if = "Policy::is_default")]
    pub policy: Policy,
    /// Credentials the build file gives for it (Leiningen's `:username`/`:password`), which
    /// win over settings.xml's server of the same id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Auth>,
}

/// Where a credential comes from: written in the build file, or an environment variable
/// read when resolving, so that a target's key holds the variable's name, never its value.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
pub enum Secret {
    Literal(String),
    Env(String),
}

/// Serialized (into targets' keys, which the stores keep) a written secret is its SHA-256:
/// a changed password still changes the key, and no cache holds the password.
impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Secret::Literal(v) => {
                let digest = hex::encode(sha2::Sha256::digest(v.as_bytes()));
                s.serialize_newtype_variant("Secret", 0, "Literal", &format!("sha256:{digest}"))
            }
            Secret::Env(v) => s.serialize_newtype_variant("Secret", 1, "Env", v),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Literal(_) => f.write_str("<redacted>"),
            Secret::Env(v) => write!(f, "${v}"),
        }
    }
}

/// A repository's user name and password, each as the first of its sources that has a
/// value (Leiningen's `[:gpg :env/PASS]` vector form; a single source is a list of one).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Auth {
    pub username: Vec<Secret>,
    pub password: Vec<Secret>,
}

impl Auth {
    /// The credentials as the environment has them now, and the variables that were named
    /// but not set (for a warning: the repository is then asked without them).
    pub fn resolve(&self) -> (Option<Credentials>, Vec<String>) {
        let mut unset = Vec::new();
        let mut first = |sources: &[Secret]| {
            for s in sources {
                match s {
                    Secret::Literal(v) => return Some(v.clone()),
                    Secret::Env(var) => match std::env::var(var) {
                        Ok(v) => return Some(v),
                        Err(_) => unset.push(var.clone()),
                    },
                }
            }
            None
        };
        let username = first(&self.username);
        let password = first(&self.password);
        let creds = (username.is_some() || password.is_some()).then(|| Credentials {
            username: username.unwrap_or_default(),
            password: password.unwrap_or_default(),
        });
        (creds, unset)
    }
}

impl RemoteRepository {
    /// A repository asked for every version.
    pub fn new(id: impl Into<String>, url: impl Into<String>) -> RemoteRepository {
        RemoteRepository {
            id: id.into(),
            url: url.into(),
            policy: Policy::default(),
            auth: None,
        }
    }
}

impl fmt::Debug for RemoteRepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteRepository")
            .field("id", &self.id)
            .field("url", &repository::redact_url(&self.url))
            .field("policy", &self.policy)
            .field("auth", &self.auth)
            .finish()
    }
}

#[derive(Clone, Debug)]
pub struct ResolverConfig {
    pub repositories: Vec<RemoteRepository>,
    /// Overrides settings.xml's `localRepository`; default `~/.m2/repository`.
    pub local_repo: Option<PathBuf>,
    /// Local repository only (settings.xml `offline` also turns this on).
    pub offline: bool,
    /// Check every repository's metadata (snapshots, ranges) now, whatever its update
    /// policy, as mvn's `-U`.
    pub update_snapshots: bool,
    /// Permit plain `http://` repositories (Maven 3.8+ blocks them).
    pub allow_http: bool,
    /// Default `~/.m2/settings.xml`; a missing file means no settings.
    pub settings_xml: Option<PathBuf>,
    /// Java system properties seen by profile activation and interpolation (`java.version`...).
    pub system_properties: BTreeMap<String, String>,
    /// Connect/read timeout of each HTTP request, and the period over which `min_rate` is
    /// measured.
    pub timeout: Duration,
    /// The longest one file's download may take, its retries included (default 5 minutes).
    pub download_deadline: Duration,
    /// A transfer slower than this many bytes per second (averaged over each `timeout`
    /// period) is abandoned and retried; 0 accepts any rate (default 1 KiB/s).
    pub min_rate: u64,
    /// Retries after a 5xx, reset, timeout or a too slow transfer (within the deadline).
    pub retries: u32,
    pub parallel_downloads: usize,
    /// Told about every file downloaded into the local repository (for progress displays).
    pub progress: Option<ProgressSink>,
    /// How version conflicts are settled: Maven's nearest-wins, or the Clojure CLI's.
    pub mediation: Mediation,
    /// Whether the repositories of settings.xml's active profiles come first, as in mvn.
    /// Leiningen and the Clojure CLI do not read profiles.
    pub settings_profiles: bool,
}

/// Version conflict resolution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mediation {
    /// Maven (and Leiningen): the nearest declaration wins, the first at equal depth.
    #[default]
    Nearest,
    /// The Clojure CLI (tools.deps): a top-level dependency wins, otherwise the newest
    /// version anywhere in the graph.
    Newest,
}

/// A file downloaded into the local repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Download {
    pub repository: String,
    /// Layout path within the repository.
    pub path: String,
    pub bytes: u64,
}

/// Receives [`Download`] events; called from the resolving task, so it should be quick.
#[derive(Clone)]
pub struct ProgressSink(pub Arc<dyn Fn(&Download) + Send + Sync>);

impl fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressSink")
    }
}

impl Default for ResolverConfig {
    fn default() -> Self {
        ResolverConfig {
            repositories: vec![RemoteRepository::new(
                "central",
                "https://repo.maven.apache.org/maven2/",
            )],
            local_repo: None,
            offline: false,
            update_snapshots: false,
            allow_http: false,
            settings_xml: None,
            system_properties: BTreeMap::new(),
            timeout: Duration::from_secs(30),
            download_deadline: repository::DEFAULT_DOWNLOAD_DEADLINE,
            min_rate: repository::DEFAULT_MIN_RATE,
            retries: 3,
            parallel_downloads: 8,
            progress: None,
            mediation: Mediation::Nearest,
            settings_profiles: true,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedArtifact {
    pub coord: Coord,
    pub type_: String,
    pub scope: Scope,
    pub optional: bool,
    /// Those declared on the dependency that brought it in (plus managed ones).
    pub exclusions: Vec<Exclusion>,
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
    /// Every path that asked for an artifact, chosen or not (conflicts, "why").
    pub requests: Requests,
    /// What Maven warns about and goes on: a POM no repository has (the artifact then has
    /// no dependencies), a repository that failed while others answered.
    pub warnings: Vec<String>,
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
    pub(crate) fn with_path(mut self, p: &[String]) -> ResolveError {
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

/// A dependency inside the resolver: the public `Dependency`, its version still a spec
/// (a range or a SNAPSHOT) until mediation picks one.
pub(crate) type Dep = Dependency;

impl Dependency {
    pub(crate) fn from_pom(d: &PomDep) -> Dep {
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

    pub(crate) fn display(&self) -> String {
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

/// The dependencies a POM declares for its users (compile and runtime scope, not optional),
/// read from the POM alone: its own properties and dependencyManagement apply, a parent's
/// do not. For a jar used from a file (a deps.edn `:local/root`), as tools.deps reads the
/// `pom.xml` inside it. A dependency whose version would come from elsewhere is an error.
pub fn standalone_pom_dependencies(
    bytes: &[u8],
    file: &str,
) -> Result<Vec<Dependency>, ResolveError> {
    let pom_error = |source| ResolveError::Pom {
        path: Vec::new(),
        source,
    };
    let raw = pom::RawPom::parse(bytes, file).map_err(pom_error)?;
    let env = pom::Env {
        system: BTreeMap::new(),
        env: BTreeMap::new(),
    };
    let mut model = pom::Model::assemble(&[raw], &env).map_err(pom_error)?;
    model.finish();
    let mut out = Vec::new();
    for d in &model.dependencies {
        let dep = Dependency::from_pom(d);
        if dep.optional || !matches!(dep.scope, Scope::Compile | Scope::Runtime) {
            continue;
        }
        if dep.coord.version.is_empty() || dep.coord.version.contains("${") {
            return Err(pom_error(PomError::Invalid {
                file: file.into(),
                message: format!(
                    "{}:{} has no version of its own (a parent POM's is not read here)",
                    dep.coord.group, dep.coord.artifact
                ),
            }));
        }
        out.push(dep);
    }
    Ok(out)
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

fn settings(config: &ResolverConfig) -> Result<Settings, ResolveError> {
    let path = config
        .settings_xml
        .clone()
        .unwrap_or_else(|| home_dir().join(".m2/settings.xml"));
    let mut settings = Settings::load(&path)?;
    // Where mvn finds the master password: -Dsettings.security, else ~/.m2.
    let security = config
        .system_properties
        .get("settings.security")
        .map(PathBuf::from)
        .unwrap_or_else(|| home_dir().join(".m2/settings-security.xml"));
    settings.decrypt_passwords(&security)?;
    Ok(settings)
}

fn local_root(config: &ResolverConfig, settings: &Settings) -> PathBuf {
    config
        .local_repo
        .clone()
        .or_else(|| settings.local_repository.as_ref().map(PathBuf::from))
        .unwrap_or_else(|| home_dir().join(".m2/repository"))
}

/// What `resolve` reads from settings.xml (and settings-security.xml) with this
/// configuration, as [`Settings::fingerprint`] gives it: an edit that changes it may change a
/// resolution, one that does not (a comment) cannot.
pub fn settings_fingerprint(config: &ResolverConfig) -> Result<String, ResolveError> {
    Ok(settings(config)?.fingerprint())
}

/// The local repository `resolve` uses with this configuration: the configured one, else
/// settings.xml's `<localRepository>`, else `~/.m2/repository`.
pub fn local_repository(config: &ResolverConfig) -> Result<PathBuf, ResolveError> {
    Ok(local_root(config, &settings(config)?))
}

/// The HTTP client every repository of a resolution shares, with the configured limits.
pub(crate) fn transport(
    config: &ResolverConfig,
    settings: &Settings,
) -> Result<HttpTransport, ResolveError> {
    Ok(HttpTransport::new(
        config.timeout,
        config.parallel_downloads,
        config.retries,
        settings.active_proxy(),
    )
    .map_err(|e| ResolveError::Setup(Box::new(e)))?
    .with_deadline(config.download_deadline)
    .with_min_rate(config.min_rate, config.timeout))
}

/// Resolves `roots` (the direct dependencies of an otherwise empty project whose
/// dependencyManagement is `managed`, BOM imports included) and downloads every artifact.
pub async fn resolve(
    config: &ResolverConfig,
    roots: &[Dependency],
    managed: &[Dependency],
) -> Result<Resolution, ResolveError> {
    let settings = settings(config)?;
    let local_root = local_root(config, &settings);
    let transport = transport(config, &settings)?;
    let mut session = Session {
        local: LocalRepository::new(local_root),
        offline: config.offline || settings.offline,
        update_snapshots: config.update_snapshots,
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
        in_flight: Mutex::new(HashMap::new()),
        listed_versions: Mutex::new(HashMap::new()),
        models: Mutex::new(HashMap::new()),
        snapshot_versions: Mutex::new(HashMap::new()),
        progress: config.progress.clone(),
        warnings: Mutex::new(Vec::new()),
        down: Mutex::new(HashMap::new()),
    };
    let mut base = Vec::new();
    let from_profiles: Vec<RemoteRepository> = if config.settings_profiles {
        session
            .settings
            .profile_repositories(&session.env)
            .into_iter()
            .map(|(id, url, policy)| RemoteRepository {
                policy,
                ..RemoteRepository::new(id, url)
            })
            .collect()
    } else {
        Vec::new()
    };
    for r in from_profiles.iter().chain(&config.repositories) {
        let creds = r.auth.as_ref().and_then(|a| {
            let (creds, unset) = a.resolve();
            for var in unset {
                session.warn(format!(
                    "repository {}: its credentials name the environment variable {var}, which is not set; asking without it",
                    r.id
                ));
            }
            creds
        });
        let repo = session
            .open_repo(&r.id, &r.url, r.policy, creds)
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
        let d = m.clone();
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

    let root_deps: Vec<Dep> = roots
        .iter()
        .map(|r| {
            let mut d = r.clone();
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
    let mut graph = collect::collect(&session, root_deps).await?;
    let before = requests::node_paths(&graph);
    mediation::mediate(&mut graph, config.mediation)?;
    let requests = requests::requests(&graph, before, |d| {
        session
            .managed
            .get(&d.coord.key())
            .is_some_and(|m| m.version.is_some())
    });
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
            exclusions: dep.exclusions.clone(),
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
    let warnings = std::mem::take(&mut *session.warnings.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(Resolution {
        artifacts,
        tree,
        requests,
        warnings,
    })
}

fn list_line(a: &ResolvedArtifact) -> String {
    let c = &a.coord;
    let mut s = format!("{}:{}:{}", c.group, c.artifact, a.type_);
    if !c.classifier.is_empty() {
        s.push(':');
        s.push_str(&c.classifier);
    }
    // Maven prints a timestamped snapshot under its base version.
    s.push_str(&format!(
        ":{}:{}",
        repository::base_version(&c.version),
        a.scope
    ));
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

    #[test]
    fn a_dependency_from_its_parts_is_the_one_its_spec_says() {
        for (spec, parts) in [
            ("g:a:1", ("jar", "")),
            ("g:a:test-jar:1", ("test-jar", "")),
            ("g:a:test-jar:other:1", ("test-jar", "other")),
            ("g:a:zip:dist:1", ("zip", "dist")),
        ] {
            let (type_, classifier) = parts;
            let d = Dependency::new("g", "a", type_, classifier, "1");
            assert_eq!(d, Dependency::parse(spec).unwrap(), "{spec}");
            assert_eq!(d.declared_classifier(), classifier, "{spec}");
        }
    }

    #[test]
    fn a_standalone_pom_declares_its_compile_and_runtime_dependencies() {
        let pom = br#"<project><modelVersion>4.0.0</modelVersion>
          <groupId>my</groupId><artifactId>lib</artifactId><version>1.2</version>
          <properties><dep.version>3.0</dep.version></properties>
          <dependencyManagement><dependencies>
            <dependency><groupId>m</groupId><artifactId>managed</artifactId><version>4.0</version></dependency>
          </dependencies></dependencyManagement>
          <dependencies>
            <dependency><groupId>a</groupId><artifactId>b</artifactId><version>${dep.version}</version>
              <exclusions><exclusion><groupId>x</groupId><artifactId>y</artifactId></exclusion></exclusions></dependency>
            <dependency><groupId>my</groupId><artifactId>sibling</artifactId><version>${project.version}</version><scope>runtime</scope></dependency>
            <dependency><groupId>m</groupId><artifactId>managed</artifactId></dependency>
            <dependency><groupId>t</groupId><artifactId>t</artifactId><version>1</version><scope>test</scope></dependency>
            <dependency><groupId>o</groupId><artifactId>o</artifactId><version>1</version><optional>true</optional></dependency>
          </dependencies></project>"#;
        let deps = standalone_pom_dependencies(pom, "lib.jar!pom.xml").unwrap();
        let got: Vec<String> = deps.iter().map(|d| d.coord.to_string()).collect();
        assert_eq!(
            got,
            ["a:b:jar:3.0", "my:sibling:jar:1.2", "m:managed:jar:4.0"]
        );
        assert_eq!(deps[0].exclusions[0].artifact, "y");
        assert_eq!(deps[1].scope, Scope::Runtime);

        let inherited = br#"<project><modelVersion>4.0.0</modelVersion>
          <parent><groupId>p</groupId><artifactId>parent</artifactId><version>1</version></parent>
          <artifactId>lib</artifactId>
          <dependencies><dependency><groupId>a</groupId><artifactId>b</artifactId></dependency></dependencies></project>"#;
        let err = standalone_pom_dependencies(inherited, "lib.jar!pom.xml").unwrap_err();
        assert!(err.to_string().contains("a:b has no version"), "{err}");
    }
}
