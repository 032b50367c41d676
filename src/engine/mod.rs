//! The build engine: a suspending, parallel scheduler over keys, with a constructive-traces
//! rebuilder ("Build Systems à la Carte", the Cloud Shake point).
//!
//! A task runs until it fetches; `Ctx::fetch_all` awaits the dependencies concurrently and
//! records them, in order, as one batch of the task's trace. Each key is computed at most
//! once per invocation (the memo). To bring a target up to date, its stored traces are
//! replayed batch by batch; the first fully matching trace yields its value from the content
//! store, and only when none matches does the rule run.

pub mod db;
mod inputs;
pub mod key;
mod remote;
mod shared;
pub mod store;
pub mod value;

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::future::{join_all, BoxFuture};
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{OnceCell, Semaphore};

use crate::printer::{Printer, Status};
use crate::settings::{Project, Target};
use db::{Db, DbError, Trace};
pub use inputs::java_version;
use inputs::Jdk;
pub use key::Key;
use remote::Remote;
use shared::Shared;
pub use store::Hash;
use store::{Cas, StoreError};
pub use value::{Artifact, Entry, Product, Value};

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("target {target}: {message}")]
    TaskFailed { target: String, message: String },
    #[error("target {target} was not built because {dep} failed")]
    DepFailed { target: String, dep: String },
    #[error("dependency cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Tool(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BuildError {
    pub fn io(what: impl std::fmt::Display, source: io::Error) -> BuildError {
        BuildError::Io {
            what: what.to_string(),
            source,
        }
    }
}

pub type Failure = Arc<BuildError>;

/// A computed key: its value and the value's digest.
#[derive(Clone, Debug)]
pub struct Computed {
    pub hash: Hash,
    pub value: Arc<Value>,
}

impl Computed {
    fn new(value: Value) -> Computed {
        Computed {
            hash: value.hash(),
            value: Arc::new(value),
        }
    }

    pub fn files(&self) -> &[String] {
        match &*self.value {
            Value::Files(f) => f,
            _ => &[],
        }
    }

    pub fn product(&self) -> Option<&Product> {
        match &*self.value {
            Value::Product(p) => Some(p),
            _ => None,
        }
    }
}

/// Why a target was last built the way it was, for `kbuild explain`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Note {
    pub rule: String,
    pub status: String,
    pub reason: String,
}

type Slot = Arc<OnceCell<Result<Computed, Failure>>>;

/// The chain of targets that led to a fetch, to report cycles with their path.
#[derive(Clone, Default)]
struct Stack(Option<Arc<(String, Stack)>>);

impl Stack {
    fn push(&self, name: &str) -> Stack {
        Stack(Some(Arc::new((name.to_string(), self.clone()))))
    }

    fn path_to(&self, name: &str) -> Option<Vec<String>> {
        let mut path = Vec::new();
        let mut cur = self;
        while let Some(node) = &cur.0 {
            path.push(node.0.clone());
            if node.0 == name {
                path.reverse();
                path.push(name.to_string());
                return Some(path);
            }
            cur = &node.1;
        }
        None
    }
}

/// Settings from the command line that change how, not what, things are built.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub jobs: usize,
    /// Resolve from the local Maven repository only.
    pub offline: bool,
    /// The local Maven repository, instead of settings.xml's or ~/.m2/repository.
    pub local_repo: Option<PathBuf>,
    /// Resolve without checking kbuild.lock (`kbuild lock` writes a new one).
    pub relock: bool,
    /// Run tests even when a cached outcome matches.
    pub force: bool,
}

pub struct Engine {
    pub project: Arc<Project>,
    pub options: Options,
    pub printer: Arc<Printer>,
    db: Db,
    cas: Cas,
    /// The machine's shared traces (and the store is then the shared one too).
    shared: Option<Shared>,
    /// A remote cache over HTTP, when configured.
    remote: Option<Remote>,
    /// The Maven local repository, found on first use.
    local_repo: std::sync::OnceLock<Result<PathBuf, String>>,
    jobs: Semaphore,
    memo: Mutex<HashMap<Key, Slot>>,
    statuses: Mutex<HashMap<String, Status>>,
    jdk: OnceCell<Result<Jdk, Failure>>,
    tmp: PathBuf,
}

impl Engine {
    /// Opens the project's database and store (under `.kbuild/`) and clears what a killed
    /// build may have left half-done.
    pub fn open(
        project: Arc<Project>,
        printer: Arc<Printer>,
        options: Options,
    ) -> Result<Arc<Engine>, BuildError> {
        let state = project.root.join(".kbuild");
        fs::create_dir_all(&state).map_err(|e| BuildError::io(state.display(), e))?;
        let db = Db::open(&state.join("db"))?;
        let shared = Shared::locate().and_then(|dir| match Shared::open(&dir) {
            Ok(s) => Some(s),
            Err(e) => {
                printer.warn(&format!(
                    "the shared cache {} is not usable ({e}); using this checkout's own",
                    dir.display()
                ));
                None
            }
        });
        let cas_dir = match &shared {
            Some(s) => s.cas_dir(),
            None => state.join("cas"),
        };
        let cas = Cas::open(&cas_dir)?;
        let remote = match Remote::locate() {
            Some(url) => Some(
                Remote::new(&url)
                    .map_err(|e| BuildError::Input(format!("KBUILD_REMOTE_CACHE {url}: {e}")))?,
            ),
            None => None,
        };
        // Only one kbuild holds the database, so whatever is in the scratch area is stale.
        let tmp = project.out_root().join(".tmp");
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp).map_err(|e| BuildError::io(tmp.display(), e))?;
        Ok(Arc::new(Engine {
            project,
            printer,
            db,
            cas,
            shared,
            remote,
            local_repo: std::sync::OnceLock::new(),
            jobs: Semaphore::new(options.jobs.max(1)),
            options,
            memo: Mutex::new(HashMap::new()),
            statuses: Mutex::new(HashMap::new()),
            jdk: OnceCell::new(),
            tmp,
        }))
    }

    /// Brings the named targets up to date, concurrently.
    pub async fn build(
        self: &Arc<Self>,
        targets: &[String],
    ) -> Vec<(String, Result<Computed, Failure>)> {
        let root = Stack::default();
        let results = join_all(
            targets
                .iter()
                .map(|t| self.fetch(Key::Target(t.clone()), &root)),
        )
        .await;
        targets.iter().cloned().zip(results).collect()
    }

    pub fn note(&self, target: &str) -> Result<Option<Note>, BuildError> {
        Ok(self
            .db
            .note(&format!("explain:{target}"))?
            .and_then(|b| serde_json::from_slice(&b).ok()))
    }

    /// Boxed because the recursion (fetch → build_target → fetch) needs a nameable `Send` type.
    fn fetch<'a>(
        self: &'a Arc<Self>,
        key: Key,
        stack: &'a Stack,
    ) -> BoxFuture<'a, Result<Computed, Failure>> {
        async move {
            if let Key::Target(name) = &key {
                if let Some(path) = stack.path_to(name) {
                    return Err(Arc::new(BuildError::Cycle(path)));
                }
            }
            let slot = self
                .memo
                .lock()
                .expect("memo lock")
                .entry(key.clone())
                .or_default()
                .clone();
            slot.get_or_init(|| async {
                match key {
                    // A target that an old trace names but the build file no longer has: a
                    // value no recorded digest equals, so the trace simply does not match.
                    Key::Target(name) if !self.project.targets.contains_key(&name) => {
                        Ok(Computed::new(Value::Text(format!("no target {name}"))))
                    }
                    Key::Target(name) => {
                        let me = self.clone();
                        let stack = stack.push(&name);
                        let job = tokio::spawn(async move { me.build_target(&name, &stack).await });
                        job.await.unwrap_or_else(|e| {
                            Err(Arc::new(BuildError::Input(format!("internal error: {e}"))))
                        })
                    }
                    input => self.compute_input(&input).await.map_err(Arc::new),
                }
            })
            .await
            .clone()
        }
        .boxed()
    }

    async fn compute_input(self: &Arc<Self>, key: &Key) -> Result<Computed, BuildError> {
        let value = match key {
            Key::File { path, hasher } => {
                let Some(h) = hasher_by_tag(hasher) else {
                    // A hasher this kbuild does not have: never equal to a recorded digest.
                    return Ok(Computed::new(Value::Text(format!(
                        "unknown hasher {hasher}"
                    ))));
                };
                if let Some(d) =
                    inputs::cached_digest(&self.project.root, &self.db, path, h, hasher)?
                {
                    return Ok(Computed::new(Value::Digest(d)));
                }
                // Reading and parsing may take a while: off the scheduler's threads.
                let me = self.clone();
                let (path, tag) = (path.clone(), hasher.clone());
                let digest = tokio::task::spawn_blocking(move || {
                    let warn = |m: String| me.printer.warn(&m);
                    inputs::file_digest(&me.project.root, &me.db, &path, h, &tag, &warn)
                })
                .await
                .map_err(|e| BuildError::Input(format!("internal error: {e}")))??;
                Value::Digest(digest)
            }
            // Inline: a directory walk is quick, and a blocking-pool thread per glob is not.
            Key::Glob(patterns) => {
                Value::Files(inputs::expand_globs(&self.project.root, patterns)?)
            }
            Key::Def(name) => Value::Text(
                self.project
                    .targets
                    .get(name)
                    .map(|t| t.definition.clone())
                    .unwrap_or_default(),
            ),
            Key::Tool(name) if name == "javac" => Value::Text(self.jdk().await?.identity.clone()),
            // Any other program named on PATH: its file's digest, so a new version reruns
            // what it made.
            Key::Tool(name) => {
                let me = self.clone();
                let name = name.clone();
                let identity = tokio::task::spawn_blocking(move || {
                    let warn = |m: String| me.printer.warn(&m);
                    inputs::program_identity(&me.db, &name, &warn)
                })
                .await
                .map_err(|e| BuildError::Input(format!("internal error: {e}")))??;
                Value::Text(identity)
            }
            Key::Setting(name) if name == MAVEN_LOCAL_REPO => {
                Value::Text(self.local_repo()?.to_string_lossy().into_owned())
            }
            Key::Setting(name) => Value::Text(format!("unknown setting {name}")),
            Key::Target(_) => unreachable!("targets are not inputs"),
        };
        Ok(Computed::new(value))
    }

    pub async fn jdk(&self) -> Result<&Jdk, Failure> {
        self.jdk
            .get_or_init(|| async { inputs::find_jdk().map_err(Arc::new) })
            .await
            .as_ref()
            .map_err(Arc::clone)
    }

    /// The rebuilder: replay traces, else run the rule.
    async fn build_target(
        self: &Arc<Self>,
        name: &str,
        stack: &Stack,
    ) -> Result<Computed, Failure> {
        let started = Instant::now();
        let target = self
            .project
            .targets
            .get(name)
            .ok_or_else(|| Arc::new(BuildError::Input(format!("no target named {name}"))))?;
        let rule = target.rule.kind();
        let key = Key::Target(name.to_string());
        let result = self.bring_up_to_date(target, &key, stack).await;
        let ms = started.elapsed().as_millis() as u64;
        let (status, note) = match &result {
            Ok((_, status, reason)) => (*status, Some(reason.clone())),
            Err(e) => {
                if !matches!(**e, BuildError::DepFailed { .. }) {
                    self.printer.error(&e.to_string());
                }
                (Status::Failed, None)
            }
        };
        self.printer.task(name, rule, status, ms);
        self.statuses
            .lock()
            .expect("status lock")
            .insert(name.to_string(), status);
        if let Some(reason) = note {
            let note = Note {
                rule: rule.to_string(),
                status: status.word().to_string(),
                reason,
            };
            self.db
                .put_note(
                    &format!("explain:{name}"),
                    &serde_json::to_vec(&note).expect("notes serialize"),
                )
                .map_err(|e| Arc::new(e.into()))?;
        }
        result.map(|(c, _, _)| c)
    }

    async fn bring_up_to_date(
        self: &Arc<Self>,
        target: &Target,
        key: &Key,
        stack: &Stack,
    ) -> Result<(Computed, Status, String), Failure> {
        let name = &target.name;
        let traces = self.db.traces(key).map_err(|e| Arc::new(e.into()))?;
        let mut reason = String::from("it had never been built");
        let forced =
            self.options.force && matches!(target.rule, crate::settings::Rule::Test { .. });
        let replay = !(target.rule.always_runs() || forced);
        let traces = if replay { traces } else { Vec::new() };
        if forced {
            reason = "--force was given".into();
        } else if target.rule.always_runs() {
            reason = "its versions are ranges or snapshots, which are checked every build".into();
        }
        for (i, trace) in traces.iter().enumerate() {
            match self.verify(trace, name, stack).await? {
                Some((dep, old, new)) => {
                    if i == 0 {
                        reason = format!(
                            "{} changed ({} -> {})",
                            dep.describe(),
                            old.short(),
                            new.short()
                        );
                    }
                }
                None => match self.restore(name, trace.result) {
                    Ok((product, rewrote)) => {
                        self.db
                            .promote_trace(key, i)
                            .map_err(|e| Arc::new(e.into()))?;
                        let (status, why) = match (i, rewrote) {
                            (0, false) => (Status::UpToDate, "nothing it depends on changed".to_string()),
                            (0, true) => (Status::Restored, "its outputs on disk were missing or modified; restored from the store".to_string()),
                            _ => (Status::Restored, format!("its inputs matched an earlier build (trace {}); restored from the store", i + 1)),
                        };
                        return Ok((Computed::new(Value::Product(product)), status, why));
                    }
                    Err(e) => self.printer.warn(&format!(
                        "target {name}: cannot restore ({e}); running it again"
                    )),
                },
            }
        }
        let definition = if replay && (self.shared.is_some() || self.remote.is_some()) {
            Some(self.fetch(Key::Def(name.clone()), stack).await?.hash)
        } else {
            None
        };
        if let (Some(definition), Some(shared)) = (definition, &self.shared) {
            // Built the same way elsewhere on this machine?
            for trace in shared.traces(key, definition) {
                if traces.contains(&trace) || self.verify(&trace, name, stack).await?.is_some() {
                    continue;
                }
                let from = "elsewhere on this machine; restored from the shared cache";
                if let Some(found) = self.adopt(key, trace, from)? {
                    return Ok(found);
                }
            }
        }
        if let (Some(definition), Some(remote)) = (definition, &self.remote) {
            if let Some(found) = self
                .from_remote(remote, key, definition, &traces, stack)
                .await?
            {
                return Ok(found);
            }
        }
        let ctx = Ctx {
            engine: self.clone(),
            stack: stack.clone(),
            target: name.clone(),
            batches: Mutex::new(Vec::new()),
            artifacts: Mutex::new(Vec::new()),
            sources: Mutex::new(None),
        };
        ctx.fetch(Key::Def(name.clone())).await?;
        let stage = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .tempdir_in(&self.tmp)
            .map_err(|e| Arc::new(BuildError::io(self.tmp.display(), e)))?;
        crate::rules::run(&ctx, target, stage.path())
            .await
            .map_err(|e| match e {
                BuildError::DepFailed { .. }
                | BuildError::TaskFailed { .. }
                | BuildError::Cycle(_) => Arc::new(e),
                other => Arc::new(BuildError::TaskFailed {
                    target: name.clone(),
                    message: other.to_string(),
                }),
            })?;
        let artifacts = std::mem::take(&mut *ctx.artifacts.lock().expect("artifacts lock"));
        let sources = *ctx.sources.lock().expect("sources lock");
        let product = self
            .install(name, stage, artifacts, sources)
            .map_err(Arc::new)?;
        let computed = Computed::new(Value::Product(product));
        let batches = ctx.batches.into_inner().expect("trace lock");
        let trace = Trace {
            batches,
            result: computed.hash,
        };
        if let Some(shared) = &self.shared {
            if let Some(definition) = trace.definition(key) {
                if let Err(e) = shared.add_trace(key, definition, &trace) {
                    self.printer.warn(&format!(
                        "target {name}: not recorded in the shared cache ({e})"
                    ));
                }
            }
        }
        if let Some(remote) = &self.remote {
            self.to_remote(remote, key, &trace, &computed).await;
        }
        self.db
            .add_trace(key, trace)
            .map_err(|e| Arc::new(e.into()))?;
        Ok((computed, Status::Executed, reason))
    }

    /// Restores the product of a matching trace found in a shared or remote cache and keeps
    /// the trace in the checkout's own; `None` (after a warning) when the product cannot be
    /// restored, so the rule runs.
    fn adopt(
        &self,
        key: &Key,
        trace: Trace,
        from: &str,
    ) -> Result<Option<(Computed, Status, String)>, Failure> {
        let Key::Target(name) = key else {
            return Ok(None);
        };
        match self.restore(name, trace.result) {
            Ok((product, _)) => {
                self.db
                    .add_trace(key, trace)
                    .map_err(|e| Arc::new(e.into()))?;
                let why = format!("it was built with the same inputs {from}");
                Ok(Some((
                    Computed::new(Value::Product(product)),
                    Status::Restored,
                    why,
                )))
            }
            Err(e) => {
                self.printer
                    .warn(&format!("target {name}: cannot restore ({e}); running it"));
                Ok(None)
            }
        }
    }

    /// A remote failure is a warning, once; the remote is not asked again this run.
    fn remote_failed(&self, remote: &Remote, e: &str) {
        if remote.fail() {
            self.printer.warn(&format!(
                "remote cache {}: {e}; building without it",
                remote.url()
            ));
        }
    }

    /// Replays the remote's traces for the target; on a match, downloads the product's
    /// blobs into the store and restores it.
    async fn from_remote(
        self: &Arc<Self>,
        remote: &Remote,
        key: &Key,
        definition: Hash,
        tried: &[Trace],
        stack: &Stack,
    ) -> Result<Option<(Computed, Status, String)>, Failure> {
        let Key::Target(name) = key else {
            return Ok(None);
        };
        if !remote.usable() {
            return Ok(None);
        }
        let traces = match remote.traces(key, definition).await {
            Ok(t) => t,
            Err(e) => {
                self.remote_failed(remote, &e);
                return Ok(None);
            }
        };
        for trace in traces {
            if tried.contains(&trace) || self.verify(&trace, name, stack).await?.is_some() {
                continue;
            }
            if let Err(e) = self.download(remote, trace.result).await {
                self.remote_failed(remote, &e);
                return Ok(None);
            }
            let from = "elsewhere; restored from the remote cache";
            if let Some(found) = self.adopt(key, trace, from)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// Brings a product and its files' blobs from the remote into the store.
    async fn download(&self, remote: &Remote, product: Hash) -> Result<(), String> {
        let json = match self.cas.get(product) {
            Ok(json) => json,
            Err(_) => {
                let json = remote
                    .blob(product)
                    .await?
                    .ok_or_else(|| format!("product {} is not on the server", product.short()))?;
                self.cas.put_bytes(&json).map_err(|e| e.to_string())?;
                json
            }
        };
        let product: Product = serde_json::from_slice(&json)
            .map_err(|e| format!("product {}: {e}", product.short()))?;
        for entry in product.files.values() {
            if self.cas.contains(entry.digest) {
                continue;
            }
            let blob = remote
                .blob(entry.digest)
                .await?
                .ok_or_else(|| format!("blob {} is not on the server", entry.digest.short()))?;
            self.cas.put_bytes(&blob).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Uploads what the server lacks of the product, then the trace.
    async fn to_remote(&self, remote: &Remote, key: &Key, trace: &Trace, computed: &Computed) {
        let (Some(product), Some(definition)) = (computed.product(), trace.definition(key)) else {
            return;
        };
        if !remote.usable() {
            return;
        }
        let blobs = std::iter::once(computed.hash).chain(product.files.values().map(|e| e.digest));
        let upload = async {
            for h in blobs {
                if remote.has("cas", h).await? {
                    continue;
                }
                let bytes = self.cas.get(h).map_err(|e| e.to_string())?;
                remote.put("cas", h, bytes).await?;
            }
            remote.add_trace(key, definition, trace).await
        };
        if let Err(e) = upload.await {
            self.remote_failed(remote, &e);
        }
    }

    /// Replays one trace: None when every dependency still has its recorded digest, else
    /// the first that differs. `stack` already holds this target.
    async fn verify(
        self: &Arc<Self>,
        trace: &Trace,
        name: &str,
        stack: &Stack,
    ) -> Result<Option<(Key, Hash, Hash)>, Failure> {
        for batch in &trace.batches {
            let got = join_all(batch.iter().map(|(k, _)| self.fetch(k.clone(), stack))).await;
            for ((k, want), got) in batch.iter().zip(got) {
                let got = got.map_err(|e| dep_failure(name, k, e))?;
                if got.hash != *want {
                    return Ok(Some((k.clone(), *want, got.hash)));
                }
            }
        }
        Ok(None)
    }

    /// The Maven local repository this build uses (`--local-repo`, settings.xml, ~/.m2).
    pub fn local_repo(&self) -> Result<&Path, BuildError> {
        self.local_repo
            .get_or_init(|| {
                let config = crate::rules::maven::config(&[], false, &self.options);
                kbuild_resolvers::local_repository(&config).map_err(|e| e.to_string())
            })
            .as_deref()
            .map_err(|e| BuildError::Input(e.clone()))
    }

    /// Where a resolved artifact is: products name them relative to the local repository,
    /// so that they are the same on every machine.
    pub fn artifact_path(&self, a: &Artifact) -> Result<PathBuf, BuildError> {
        Ok(self.local_repo()?.join(&a.file))
    }

    pub fn out_dir(&self, name: &str) -> PathBuf {
        self.project.out_root().join(name)
    }

    fn rel(&self, abs: &Path) -> String {
        abs.strip_prefix(&self.project.root)
            .unwrap_or(abs)
            .to_string_lossy()
            .into_owned()
    }

    /// Loads a product from the store and makes the files on disk equal to it.
    fn restore(&self, name: &str, result: Hash) -> Result<(Product, bool), BuildError> {
        let json = self.cas.get(result)?;
        let product: Product = serde_json::from_slice(&json)
            .map_err(|e| BuildError::Input(format!("stored product {}: {e}", result.short())))?;
        // Artifacts are not restored from the store: a missing or changed one means the
        // rule must fetch it again.
        for a in &product.artifacts {
            let path = self.artifact_path(a)?;
            let shown = path.to_string_lossy();
            match inputs::output_digest(&self.db, &path, &shown)? {
                Some((h, _)) if h == a.sha256 => {}
                _ => {
                    return Err(BuildError::Input(format!(
                        "{} ({shown}) is missing or changed",
                        a.id
                    )))
                }
            }
        }
        let dir = self.out_dir(name);
        if self.on_disk_matches(&dir, &product)? {
            return Ok((product, false));
        }
        let stage = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .tempdir_in(&self.tmp)
            .map_err(|e| BuildError::io(self.tmp.display(), e))?;
        for (path, entry) in &product.files {
            let dest = stage.path().join(path);
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent).map_err(|e| BuildError::io(parent.display(), e))?;
            }
            self.cas.copy_to(entry.digest, &dest, entry.exec)?;
        }
        self.put_in_place(stage, &dir, &product)?;
        Ok((product, true))
    }

    /// True when `dir` holds exactly the product's files with their digests and modes.
    fn on_disk_matches(&self, dir: &Path, product: &Product) -> Result<bool, BuildError> {
        let mut seen = 0usize;
        for entry in walkdir::WalkDir::new(dir) {
            let entry = match entry {
                Ok(e) => e,
                Err(_) => return Ok(false),
            };
            if entry.file_type().is_dir() {
                continue;
            }
            let Ok(rel) = entry.path().strip_prefix(dir) else {
                return Ok(false);
            };
            let Some(want) = product.files.get(&*rel.to_string_lossy()) else {
                return Ok(false);
            };
            match inputs::output_digest(&self.db, entry.path(), &self.rel(entry.path()))? {
                Some((h, exec)) if h == want.digest && exec == want.exec => seen += 1,
                _ => return Ok(false),
            }
        }
        Ok(seen == product.files.len())
    }

    /// Takes what a rule wrote into its stage directory into the store, and moves it into
    /// place as the target's output directory.
    fn install(
        &self,
        name: &str,
        stage: tempfile::TempDir,
        artifacts: Vec<Artifact>,
        sources: Option<Hash>,
    ) -> Result<Product, BuildError> {
        let mut product = Product {
            artifacts,
            sources,
            ..Product::default()
        };
        for entry in walkdir::WalkDir::new(stage.path()).sort_by_file_name() {
            let entry =
                entry.map_err(|e| BuildError::Input(format!("reading outputs of {name}: {e}")))?;
            if !entry.file_type().is_file() {
                continue;
            }
            use std::os::unix::fs::PermissionsExt;
            let exec = entry
                .metadata()
                .map(|m| m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false);
            store::set_executable(entry.path(), exec)
                .map_err(|e| BuildError::io(entry.path().display(), e))?;
            let (digest, size) = self.cas.put_file(entry.path())?;
            let rel = entry
                .path()
                .strip_prefix(stage.path())
                .expect("inside stage")
                .to_string_lossy()
                .into_owned();
            product.files.insert(rel, Entry { digest, size, exec });
        }
        self.cas.put_bytes(&product.to_json())?;
        self.put_in_place(stage, &self.out_dir(name), &product)?;
        Ok(product)
    }

    /// Moves a staged product into place and records its files' stats, so the next build
    /// checks them without reading them.
    fn put_in_place(
        &self,
        stage: tempfile::TempDir,
        dir: &Path,
        product: &Product,
    ) -> Result<(), BuildError> {
        self.swap_into_place(stage, dir)?;
        for (path, entry) in &product.files {
            let abs = dir.join(path);
            inputs::remember_output(&self.db, &abs, &self.rel(&abs), entry.digest)?;
        }
        Ok(())
    }

    /// Replaces `dir` by `stage` with two renames; a build killed in between leaves `dir`
    /// missing, which the next build restores.
    fn swap_into_place(&self, stage: tempfile::TempDir, dir: &Path) -> Result<(), BuildError> {
        let stage = stage.keep();
        if let Some(parent) = dir.parent() {
            fs::create_dir_all(parent).map_err(|e| BuildError::io(parent.display(), e))?;
        }
        if fs::symlink_metadata(dir).is_ok() {
            let old = tempfile::Builder::new()
                .prefix("old-")
                .tempdir_in(&self.tmp)
                .map_err(|e| BuildError::io(self.tmp.display(), e))?
                .keep();
            fs::rename(dir, old.join("x")).map_err(|e| BuildError::io(dir.display(), e))?;
            let _ = fs::remove_dir_all(&old);
        }
        fs::rename(&stage, dir).map_err(|e| BuildError::io(dir.display(), e))?;
        Ok(())
    }

    /// How a target fared in this invocation.
    pub fn status(&self, name: &str) -> Option<Status> {
        self.statuses
            .lock()
            .expect("status lock")
            .get(name)
            .copied()
    }

    /// The classpath the named targets make, after a build of them: each target that no
    /// other named target depends on, in order, followed by its dependencies nearest first,
    /// so roots (tests, sources) come before what they use (classes, jars).
    pub fn classpath(&self, names: &[String]) -> Vec<String> {
        let below: Vec<Vec<String>> = names
            .iter()
            .map(|n| self.project.transitive_deps(n))
            .collect();
        let mut all: Vec<String> = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let is_root = !below
                .iter()
                .enumerate()
                .any(|(j, b)| j != i && b.contains(n));
            if !is_root {
                continue;
            }
            for d in std::iter::once(n).chain(&below[i]) {
                if !all.contains(d) {
                    all.push(d.clone());
                }
            }
        }
        let computed: Vec<Computed> = all
            .iter()
            .map(|n| {
                self.computed(n)
                    .unwrap_or_else(|| Computed::new(Value::Text(String::new())))
            })
            .collect();
        crate::rules::classpath(self, &all, &computed)
    }

    /// A target's value from this invocation, if it was built.
    fn computed(&self, name: &str) -> Option<Computed> {
        let slot = self
            .memo
            .lock()
            .expect("memo lock")
            .get(&Key::Target(name.to_string()))
            .cloned()?;
        slot.get()?.as_ref().ok().cloned()
    }

    /// A target's product from this invocation.
    pub fn product(&self, name: &str) -> Option<Product> {
        self.computed(name)?.product().cloned()
    }

    /// A blob from the content store, verified.
    pub fn blob(&self, h: Hash) -> Result<Vec<u8>, BuildError> {
        Ok(self.cas.get(h)?)
    }

    /// A slot in the `-j` limit, held while an external tool runs.
    pub async fn job_slot(&self) -> tokio::sync::SemaphorePermit<'_> {
        self.jobs
            .acquire()
            .await
            .expect("semaphore is never closed")
    }
}

/// The [`Key::Setting`] naming the Maven local repository.
pub const MAVEN_LOCAL_REPO: &str = "maven-local-repo";

/// `id@version` as it appears in keys.
pub fn hasher_tag(h: &dyn kbuild_hashers::Hasher) -> String {
    format!("{}@{}", h.id(), h.version())
}

fn hasher_by_tag(tag: &str) -> Option<&'static dyn kbuild_hashers::Hasher> {
    let (id, version) = tag.split_once('@')?;
    kbuild_hashers::by_name(id).filter(|h| h.version().to_string() == version)
}

fn dep_failure(target: &str, key: &Key, e: Failure) -> Failure {
    match (&*e, key) {
        (BuildError::Cycle(_), _) => e,
        (_, Key::Target(dep)) => Arc::new(BuildError::DepFailed {
            target: target.to_string(),
            dep: dep.clone(),
        }),
        _ => e,
    }
}

/// What a rule sees: its target, and `fetch`, the only way to read another key's value.
pub struct Ctx {
    pub engine: Arc<Engine>,
    pub target: String,
    stack: Stack,
    batches: Mutex<Vec<Vec<(Key, Hash)>>>,
    artifacts: Mutex<Vec<Artifact>>,
    sources: Mutex<Option<Hash>>,
}

impl Ctx {
    pub async fn fetch(&self, key: Key) -> Result<Computed, Failure> {
        Ok(self.fetch_all(vec![key]).await?.remove(0))
    }

    /// Fetches keys concurrently and records them, in the given order, as one batch.
    pub async fn fetch_all(&self, keys: Vec<Key>) -> Result<Vec<Computed>, Failure> {
        let results = join_all(
            keys.iter()
                .map(|k| self.engine.fetch(k.clone(), &self.stack)),
        )
        .await;
        let mut batch = Vec::with_capacity(keys.len());
        let mut values = Vec::with_capacity(keys.len());
        for (k, r) in keys.into_iter().zip(results) {
            let c = r.map_err(|e| dep_failure(&self.target, &k, e))?;
            batch.push((k, c.hash));
            values.push(c);
        }
        self.batches.lock().expect("trace lock").push(batch);
        Ok(values)
    }

    pub fn project(&self) -> &Project {
        &self.engine.project
    }

    /// Makes the product stand for the values of these keys too (see `Product::sources`).
    pub fn set_sources(&self, values: &[Computed]) {
        let mut bytes = Vec::with_capacity(values.len() * 32);
        for v in values {
            bytes.extend_from_slice(&v.hash.0);
        }
        *self.sources.lock().expect("sources lock") = Some(Hash::of(&bytes));
    }

    /// Adds files that the product refers to in place instead of holding them.
    pub fn set_artifacts(&self, artifacts: Vec<Artifact>) {
        *self.artifacts.lock().expect("artifacts lock") = artifacts;
    }

    pub fn fail(&self, message: impl Into<String>) -> BuildError {
        BuildError::TaskFailed {
            target: self.target.clone(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_reports_the_cycle_path() {
        let s = Stack::default().push("a").push("b").push("c");
        assert_eq!(
            s.path_to("b"),
            Some(vec!["b".into(), "c".into(), "b".into()])
        );
        assert_eq!(s.path_to("z"), None);
    }
}
