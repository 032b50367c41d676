//! kbuild's build engine: a suspending, parallel scheduler over keys, with a
//! constructive-traces rebuilder ("Build Systems à la Carte", the Cloud Shake point).
//!
//! A task runs until it fetches; [`Ctx::fetch_all`] awaits the dependencies concurrently and
//! records them, in order, as one batch of the task's trace. Each key is computed at most
//! once per invocation (the memo). To bring a target up to date, its stored traces are
//! replayed batch by batch; the first fully matching trace yields its value from the content
//! store, and only when none matches does the rule run. The inputs a rule read are checked
//! again after it ran: a result made while one changed is never recorded.
//!
//! The engine knows no rule, build file or terminal. The application gives it:
//! - its targets, each with a [`Rule`] (name, version, `run`) and its arguments;
//! - an [`Inputs`], which computes the input keys (source files, globs, tools, settings);
//! - a [`Reporter`], which shows what happens.

pub mod bytes;
pub mod db;
mod dirs;
pub mod key;
mod levels;
mod lock;
mod memo;
mod outputs;
mod remote;
mod shared;
pub mod store;
pub mod value;
mod watched;

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::future::{join_all, BoxFuture};
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

pub use db::{Damage, Db, DbError, Stat, Trace};
pub use dirs::{DirStamps, Dirs, Found};
pub use key::Key;
use levels::Level;
pub use lock::{StateLock, LOCK_FILE};
use memo::Memo;
pub use outputs::{check_contained, is_contained, output_digest, utf8_path};
use remote::Remote;
pub use remote::{decode_bundle, encode_bundle};
use shared::Shared;
use store::Cas;
pub use store::{Hash, StoreError};
pub use value::{Entry, Product, StoredProduct, Value};
pub use watched::Watched;

/// What a failure is about, for an application's exit codes; ordered from the least to the
/// most fundamental.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Cause {
    /// A rule's own work failed: a compile error, a failing command or test.
    Build,
    /// External dependencies could not be resolved (a missing artifact, an unreachable
    /// repository, a resolution that no longer matches a lock).
    Resolution,
    /// The machine lacks or fails something: a tool, a readable file, the database.
    Environment,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("target {target}: {message}")]
    TaskFailed {
        target: String,
        message: String,
        cause: Cause,
    },
    #[error("target {target} was not built because {dep} failed")]
    DepFailed { target: String, dep: String },
    #[error("dependency cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
    #[error("{0}")]
    Input(String),
    /// Something the machine lacks or fails (a tool, a file kbuild cannot read or write).
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

    /// What the failure is about (a dependency's failure is about nothing of its own: see
    /// [`Engine::failures`] for the failures that caused it).
    pub fn cause(&self) -> Cause {
        match self {
            BuildError::TaskFailed { cause, .. } => *cause,
            BuildError::Tool(_)
            | BuildError::Io { .. }
            | BuildError::Db(_)
            | BuildError::Store(_) => Cause::Environment,
            BuildError::DepFailed { .. } | BuildError::Cycle(_) | BuildError::Input(_) => {
                Cause::Build
            }
        }
    }
}

/// A failure as the scheduler shares it between every task that fetched the key.
pub type Failure = Arc<BuildError>;

impl From<Failure> for BuildError {
    fn from(e: Failure) -> BuildError {
        match Arc::try_unwrap(e) {
            Ok(e) => e,
            Err(shared) => match &*shared {
                BuildError::DepFailed { target, dep } => BuildError::DepFailed {
                    target: target.clone(),
                    dep: dep.clone(),
                },
                BuildError::Cycle(p) => BuildError::Cycle(p.clone()),
                BuildError::TaskFailed {
                    target,
                    message,
                    cause,
                } => BuildError::TaskFailed {
                    target: target.clone(),
                    message: message.clone(),
                    cause: *cause,
                },
                // The words, in a variant of the same cause.
                other if other.cause() == Cause::Environment => BuildError::Tool(other.to_string()),
                other => BuildError::Input(other.to_string()),
            },
        }
    }
}

/// How a target fared in one invocation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Status {
    Executed,
    UpToDate,
    Restored,
    Failed,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Executed => "executed",
            Status::UpToDate => "up to date",
            Status::Restored => "restored",
            Status::Failed => "failed",
        }
    }
}

/// Where the engine says what happens.
pub trait Reporter: Send + Sync {
    /// A target is done, `ms` after it was first fetched.
    fn task(&self, target: &str, rule: &str, status: Status, ms: u64);
    /// A rule started its tool.
    fn running(&self, target: &str);
    /// A tool's own output.
    fn tool_output(&self, target: &str, text: &str);
    fn warn(&self, message: &str);
    fn error(&self, message: &str);
}

/// A rule kind. Registered once by the application; each target names one.
pub trait Rule: Send + Sync {
    /// As build files and messages name it (`java-library`).
    fn name(&self) -> &'static str;
    /// Part of every key of this kind: bumped when the rule's output for the same inputs
    /// changes, so that only its old traces stop matching.
    fn version(&self) -> u32;
    /// Fetches what it needs through `ctx`, writes its outputs into `ctx.stage()`, and returns
    /// what its dependents need to know of the product (its providers), stored with it.
    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<serde_json::Value, BuildError>>;
    /// Checks, before a product is restored from a trace, what it refers to outside itself
    /// (files that the product names but does not hold); an error means the rule runs again.
    /// `db`'s stat cache checks files by [`output_digest`] without reading them. `product`
    /// is parsed only if the check reads it ([`Computed::product`]).
    fn check_restore(&self, _product: &Computed, _db: &Db) -> Result<(), String> {
        Ok(())
    }
}

/// Computes the application's input keys ([`Key::Input`]).
pub trait Inputs: Send + Sync {
    /// The current value of an input. The engine calls it once per key per invocation, and
    /// once more after a rule that fetched the key ran, to see that it did not change.
    fn compute(
        &self,
        kind: &str,
        arg: &str,
        env: InputEnv,
    ) -> BoxFuture<'static, Result<Value, BuildError>>;
    /// The value when it can be had at once from what the database knows (an unchanged
    /// file, by its stat): no future, no copies of the key. `None` sends the engine to
    /// [`Inputs::compute`]. A no-op build asks this for every source file.
    fn known(&self, _kind: &str, _arg: &str, _db: &Db) -> Option<Result<Value, BuildError>> {
        None
    }
    /// How `kbuild explain` names it.
    fn describe(&self, kind: &str, arg: &str) -> String;
}

/// What an input's computation may use: the database's stat and digest caches, and the reporter.
#[derive(Clone)]
pub struct InputEnv {
    pub db: Arc<Db>,
    pub reporter: Arc<dyn Reporter>,
    /// The stats a watcher vouches for, if any; `None` when the input is computed again
    /// after a rule ran, which must look at the tree as it is.
    pub watched: Option<Arc<Watched>>,
}

/// One target as the engine sees it.
#[derive(Clone)]
pub struct Target {
    pub rule: Arc<dyn Rule>,
    /// Canonical text of the target's arguments: with the rule's name and version, the value
    /// of its [`Key::Def`].
    pub definition: String,
    /// Why the rule runs whatever its traces say (inputs outside the build's view, such as
    /// version ranges, or a flag), if it does.
    pub always_runs: Option<String>,
    /// The arguments themselves, for the rule ([`Ctx::spec`]).
    pub spec: Arc<dyn Any + Send + Sync>,
    /// Where the product is put, relative to the project root, when not `out_root/<name>`
    /// (a plain relative path: [`check_contained`]).
    pub place: Option<String>,
}

/// Where the engine keeps its state, and how much it may run at once.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The project root: keys name files relative to it.
    pub root: PathBuf,
    /// The checkout's database (and content store when there is no shared cache).
    pub state: PathBuf,
    /// Where target `t`'s product is put: `out_root/t`.
    pub out_root: PathBuf,
    pub jobs: usize,
    /// The machine-wide cache directory, if any.
    pub shared: Option<PathBuf>,
    /// A remote cache (Bazel's HTTP protocol), if any.
    pub remote: Option<RemoteConfig>,
    /// The lock on `state` that the caller already holds ([`StateLock::acquire`]), to hold
    /// it across more than the engine's life; without one, [`Engine::open`] takes it, and
    /// fails at once when another process holds it.
    pub lock: Option<Arc<StateLock>>,
    /// Under `kbuild watch`: the stats its watcher vouches for ([`Watched`]), which spare a
    /// no-op its stats of the tree.
    pub watched: Option<Arc<Watched>>,
}

#[derive(Clone, Debug)]
pub struct RemoteConfig {
    pub url: String,
    /// False for a read-only client.
    pub upload: bool,
    /// Hides the password of any URL in a text: no message shows the one in `url`.
    pub redact: fn(&str) -> String,
    /// HTTP basic credentials (user, password) sent with every request; a password in
    /// `url` itself works too.
    pub credentials: Option<(String, String)>,
}

/// A computed key: its value and the value's digest.
#[derive(Clone, Debug)]
pub struct Computed {
    pub hash: Hash,
    /// For a [`Value::Digest`], one shared empty digest: a file's digest is only ever
    /// compared by `hash`, and a no-op holds one per source file (a tenth of its memory on
    /// a 100,000-file tree).
    pub value: Arc<Value>,
}

impl Computed {
    pub fn new(value: Value) -> Computed {
        static DIGEST: std::sync::LazyLock<Arc<Value>> =
            std::sync::LazyLock::new(|| Arc::new(Value::Digest(Vec::new())));
        let hash = value.hash();
        let value = match value {
            Value::Digest(_) => DIGEST.clone(),
            other => Arc::new(other),
        };
        Computed { hash, value }
    }

    /// A product whose digest is known: the digest of the JSON it was stored as.
    fn of_product(product: Product, hash: Hash) -> Computed {
        Computed {
            hash,
            value: Arc::new(Value::Product(product)),
        }
    }

    /// The product `hash` as the output snapshot `record` holds it, read when first asked for.
    fn of_recorded(record: Vec<u8>, hash: Hash) -> Computed {
        Computed {
            hash,
            value: Arc::new(Value::Stored(StoredProduct::new(hash, record))),
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
            Value::Stored(s) => s.get(),
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
    /// What the rule said of how it did its work ([`Ctx::detail`]), when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The chain of targets that led to a fetch, to report cycles with their path.
#[derive(Clone, Default)]
struct Stack(Option<Arc<(String, Stack)>>);

impl Stack {
    fn top(&self) -> Option<&str> {
        self.0.as_ref().map(|n| n.0.as_str())
    }

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

/// A cache level in use; after its first failure it is left alone for the rest of the run.
struct InUse {
    level: Box<dyn Level>,
    broken: AtomicBool,
}

/// What bringing a target up to date gave: the value, how, why, and the rule's detail.
type Outcome = (Computed, Status, String, Option<String>);

pub struct Engine {
    config: Config,
    targets: BTreeMap<String, Target>,
    inputs: Arc<dyn Inputs>,
    reporter: Arc<dyn Reporter>,
    db: Arc<Db>,
    cas: Cas,
    /// Nearest first: the machine-wide cache, then the remote one.
    levels: Vec<InUse>,
    jobs: Semaphore,
    /// Fx, not SipHash: a no-op looks up a key per source file, and keys come from the
    /// project, not from an adversary.
    memo: Memo,
    /// Which targets each running target is waiting for: a cycle that two fetch chains close
    /// between them (each waiting for the other's key) is found here, not by either stack.
    waits: Mutex<HashMap<String, Vec<String>>>,
    statuses: Mutex<HashMap<String, Status>>,
    tmp: PathBuf,
    /// Whether damage the database found during the run was reported yet.
    damage_told: AtomicBool,
    /// Last, so that it is released after everything else is closed.
    _lock: Arc<StateLock>,
}

impl Engine {
    /// Opens the checkout's database and store and clears what a killed build may have left
    /// half-done.
    pub fn open(
        config: Config,
        targets: BTreeMap<String, Target>,
        inputs: Arc<dyn Inputs>,
        reporter: Arc<dyn Reporter>,
    ) -> Result<Arc<Engine>, BuildError> {
        for (name, t) in &targets {
            if let Some(place) = &t.place {
                check_contained(place).map_err(|e| {
                    BuildError::Input(format!("target {name}: its place {place:?} {e}"))
                })?;
            }
        }
        let state = &config.state;
        fs::create_dir_all(state).map_err(|e| BuildError::io(state.display(), e))?;
        let same = |a: &Path, b: &Path| {
            a == b || matches!((fs::canonicalize(a), fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
        };
        let lock = match &config.lock {
            Some(l) if same(l.state(), state) => l.clone(),
            Some(l) => {
                return Err(BuildError::Input(format!(
                    "the lock given is on {}, not on {}",
                    l.state().display(),
                    state.display()
                )))
            }
            None => Arc::new(StateLock::acquire(state, false, &|| {})?),
        };
        let (db, damage) = Db::open_or_recover(&state.join("db"))?;
        if let Some(d) = damage {
            reporter.warn(&format!(
                "the database {} was damaged ({}); it was moved to {} and a fresh one \
                 started: only build history is lost",
                state.join("db").display(),
                d.message,
                d.moved_to.display()
            ));
        }
        let db = Arc::new(db);
        let mut levels: Vec<InUse> = Vec::new();
        let mut cas_dir = state.join("cas");
        if let Some(dir) = &config.shared {
            match Shared::open(dir) {
                Ok(s) => {
                    cas_dir = s.cas_dir();
                    levels.push(InUse {
                        level: Box::new(s),
                        broken: AtomicBool::new(false),
                    });
                }
                Err(e) => reporter.warn(&format!(
                    "the shared cache {} is not usable ({e}); using this checkout's own",
                    dir.display()
                )),
            }
        }
        let cas = Cas::open(&cas_dir)?;
        if let Some(r) = &config.remote {
            let remote = Remote::new(r).map_err(|e| {
                BuildError::Input(format!(
                    "KBUILD_REMOTE_CACHE {}: {}",
                    (r.redact)(&r.url),
                    (r.redact)(&e)
                ))
            })?;
            levels.push(InUse {
                level: Box::new(remote),
                broken: AtomicBool::new(false),
            });
        }
        // Only one kbuild holds the database, so whatever is in the scratch area is stale.
        let tmp = config.out_root.join(".tmp");
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp).map_err(|e| BuildError::io(tmp.display(), e))?;
        Ok(Arc::new(Engine {
            jobs: Semaphore::new(config.jobs.max(1)),
            config,
            targets,
            inputs,
            reporter,
            db,
            cas,
            levels,
            memo: Memo::default(),
            waits: Mutex::new(HashMap::new()),
            statuses: Mutex::new(HashMap::new()),
            tmp,
            damage_told: AtomicBool::new(false),
            _lock: lock,
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
        if let Some(d) = self.db.damage() {
            if !self.damage_told.swap(true, Ordering::Relaxed) {
                self.reporter.warn(&format!(
                    "the database {} is damaged ({}); what it lost is built or restored \
                     again, and it is moved to {} when this kbuild ends",
                    self.config.state.join("db").display(),
                    d.message,
                    d.moved_to.display()
                ));
            }
        }
        targets.iter().cloned().zip(results).collect()
    }

    /// The failures of this invocation that are not merely a dependency's failure: what
    /// made the build fail.
    pub fn failures(&self) -> Vec<(String, Failure)> {
        let mut out = self.memo.collect(|k, done| match (k, done) {
            (Key::Target(name), Err(e)) if !matches!(**e, BuildError::DepFailed { .. }) => {
                Some((name.clone(), e.clone()))
            }
            _ => None,
        });
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    pub fn note(&self, target: &str) -> Result<Option<Note>, BuildError> {
        Ok(self
            .db
            .note(&format!("explain:{target}"))?
            .and_then(|b| serde_json::from_slice(&b).ok()))
    }

    /// How a target fared in this invocation.
    pub fn status(&self, name: &str) -> Option<Status> {
        self.statuses
            .lock()
            .expect("status lock")
            .get(name)
            .copied()
    }

    /// A target's value from this invocation, if it was built.
    pub fn value(&self, name: &str) -> Option<Computed> {
        let slot = self.memo.get(&Key::Target(name.to_string()))?;
        slot.get()?.as_ref().ok().cloned()
    }

    /// Where a target's product is on disk.
    pub fn out_dir(&self, name: &str) -> PathBuf {
        match self.targets.get(name).and_then(|t| t.place.as_ref()) {
            Some(place) => self.config.root.join(place),
            None => self.config.out_root.join(name),
        }
    }

    /// Ends the last use of the engine in a process that is about to exit: [`Engine::close`],
    /// with what is left for the exit to reclaim rather than freed entry by entry, which was
    /// a tenth of a no-op on a large tree. When another holder of the engine remains, this is
    /// a plain drop.
    pub fn close_at_exit(self: Arc<Self>) {
        std::mem::forget(self.close());
    }

    /// Closes the database as a drop closes it (flushed, moved aside if damaged) and then
    /// releases the lock; returns the memo and the statuses, which the caller frees where it
    /// costs least (`kbuild watch` on another thread, while it waits for changes). `None`
    /// when another holder of the engine remains: then this is a plain drop.
    pub fn close(self: Arc<Self>) -> Option<impl Send> {
        let engine = Arc::try_unwrap(self).ok()?;
        let Engine {
            db,
            memo,
            statuses,
            targets,
            waits,
            ..
        } = engine;
        drop(db);
        Some((memo, statuses, targets, waits))
    }

    /// A blob from the content store, verified.
    pub fn blob(&self, h: Hash) -> Result<Vec<u8>, BuildError> {
        Ok(self.cas.get(h)?)
    }

    fn describe(&self, key: &Key) -> String {
        match key {
            Key::Input { kind, arg } => self.inputs.describe(kind, arg),
            Key::Def(t) => format!("the definition of {t} in the build file"),
            Key::Target(t) => format!("dependency {t}"),
            Key::Facet { target, name } => format!("the {name} of dependency {target}"),
        }
    }

    /// `again`: for the check after a rule ran, which stats afresh.
    fn input_env(&self, again: bool) -> InputEnv {
        InputEnv {
            db: self.db.clone(),
            reporter: self.reporter.clone(),
            watched: self.config.watched.clone().filter(|_| !again),
        }
    }

    /// Boxed because the recursion (fetch → build_target → fetch) needs a nameable `Send` type.
    fn fetch<'a>(
        self: &'a Arc<Self>,
        key: Key,
        stack: &'a Stack,
    ) -> BoxFuture<'a, Result<Computed, Failure>> {
        async move {
            let waiter = match (&key, stack.top()) {
                (Key::Target(name), Some(me)) => {
                    if let Some(path) = stack.path_to(name) {
                        return Err(Arc::new(BuildError::Cycle(path)));
                    }
                    self.start_waiting(me, name)
                        .map_err(|path| Arc::new(BuildError::Cycle(path)))?;
                    Some((me.to_string(), name.clone()))
                }
                _ => None,
            };
            let result = self.compute(key, stack).await;
            if let Some((me, name)) = waiter {
                self.stop_waiting(&me, &name);
            }
            result
        }
        .boxed()
    }

    /// Records that `me` waits for `name`, unless `name` (through what it waits for) already
    /// waits for `me`: then the path of that cycle.
    fn start_waiting(&self, me: &str, name: &str) -> Result<(), Vec<String>> {
        let mut waits = self.waits.lock().expect("waits lock");
        let mut path = vec![name.to_string()];
        let mut seen = std::collections::HashSet::new();
        if reaches(&waits, &mut path, me, &mut seen) {
            path.insert(0, me.to_string());
            return Err(path);
        }
        waits
            .entry(me.to_string())
            .or_default()
            .push(name.to_string());
        Ok(())
    }

    fn stop_waiting(&self, me: &str, name: &str) {
        let mut waits = self.waits.lock().expect("waits lock");
        if let Some(list) = waits.get_mut(me) {
            if let Some(i) = list.iter().position(|n| n == name) {
                list.remove(i);
            }
        }
    }

    /// An input's value without suspending, when it is memoized or [`Inputs::known`] has it:
    /// memoized either way, so every fetch of the key in this invocation sees the same value.
    fn known_now(&self, key: &Key) -> Option<Result<Computed, Failure>> {
        let Key::Input { kind, arg } = key else {
            return None;
        };
        let slot = self.memo.slot(key);
        if let Some(done) = slot.get() {
            return Some(done.clone());
        }
        let value = self
            .inputs
            .known(kind, arg, &self.db)?
            .map(Computed::new)
            .map_err(Arc::new);
        match slot.set(value.clone()) {
            Ok(()) => Some(value),
            // Another task computes it meanwhile: its value stands.
            Err(_) => None,
        }
    }

    async fn compute(self: &Arc<Self>, key: Key, stack: &Stack) -> Result<Computed, Failure> {
        let slot = self.memo.slot(&key);
        slot.get_or_init(|| async {
            match key {
                // A target that an old trace names but the build file no longer has: a
                // value no recorded digest equals, so the trace simply does not match.
                Key::Target(name) if !self.targets.contains_key(&name) => {
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
                Key::Def(name) => Ok(Computed::new(Value::Text(
                    self.targets
                        .get(&name)
                        .map(|t| {
                            format!("{}@{}\n{}", t.rule.name(), t.rule.version(), t.definition)
                        })
                        .unwrap_or_default(),
                ))),
                Key::Input { kind, arg } => match self.inputs.known(&kind, &arg, &self.db) {
                    Some(known) => known,
                    None => {
                        self.inputs
                            .compute(&kind, &arg, self.input_env(false))
                            .await
                    }
                }
                .map(Computed::new)
                .map_err(Arc::new),
                Key::Facet { target, name } => {
                    let whole = self.fetch(Key::Target(target), stack).await?;
                    let field = whole
                        .product()
                        .and_then(|p| p.info.get(&name))
                        .cloned()
                        .unwrap_or(serde_json::Value::Null);
                    Ok(Computed::new(Value::Text(field.to_string())))
                }
            }
        })
        .await
        .clone()
    }

    /// The rebuilder: replay traces, else run the rule.
    async fn build_target(
        self: &Arc<Self>,
        name: &str,
        stack: &Stack,
    ) -> Result<Computed, Failure> {
        let started = Instant::now();
        let target = self.targets[name].clone();
        let rule = target.rule.name();
        let result = self.bring_up_to_date(name, &target, stack).await;
        let ms = started.elapsed().as_millis() as u64;
        let (status, note) = match &result {
            Ok((_, status, reason, detail)) => (*status, Some((reason.clone(), detail.clone()))),
            Err(e) => {
                if !matches!(**e, BuildError::DepFailed { .. }) {
                    self.reporter.error(&e.to_string());
                }
                (Status::Failed, None)
            }
        };
        self.reporter.task(name, rule, status, ms);
        self.statuses
            .lock()
            .expect("status lock")
            .insert(name.to_string(), status);
        if let Some((reason, detail)) = note {
            let note = Note {
                rule: rule.to_string(),
                status: status.word().to_string(),
                reason,
                detail,
            };
            self.db
                .put_note(
                    &format!("explain:{name}"),
                    &serde_json::to_vec(&note).expect("notes serialize"),
                )
                .map_err(|e| Arc::new(e.into()))?;
        }
        result.map(|(c, ..)| c)
    }

    async fn bring_up_to_date(
        self: &Arc<Self>,
        name: &str,
        target: &Target,
        stack: &Stack,
    ) -> Result<Outcome, Failure> {
        let key = Key::Target(name.to_string());
        let replay = target.always_runs.is_none();
        let mut reason = target
            .always_runs
            .clone()
            .unwrap_or_else(|| "it had never been built".into());
        let stored = if replay {
            Some(self.db.trace_list(&key).map_err(|e| Arc::new(e.into()))?)
        } else {
            None
        };
        // Those tried so far, which did not match.
        let mut traces = Vec::new();
        for (i, trace) in stored.iter().flat_map(|s| s.iter()).enumerate() {
            match self.verify(&trace, name, stack).await? {
                Some((dep, old, new)) => {
                    if i == 0 {
                        reason = format!(
                            "{} changed ({} -> {})",
                            self.describe(&dep),
                            old.short(),
                            new.short()
                        );
                    }
                }
                None => match self.restore(name, target, trace.result) {
                    Ok((computed, rewrote)) => {
                        self.db
                            .promote_trace(&key, i)
                            .map_err(|e| Arc::new(e.into()))?;
                        let (status, why) = match (i, rewrote) {
                            (0, false) => (Status::UpToDate, "nothing it depends on changed".to_string()),
                            (0, true) => (Status::Restored, "its outputs on disk were missing or modified; restored from the store".to_string()),
                            _ => (Status::Restored, format!("its inputs matched an earlier build (trace {}); restored from the store", i + 1)),
                        };
                        return Ok((computed, status, why, None));
                    }
                    Err(e) => self.reporter.warn(&format!(
                        "target {name}: cannot restore ({e}); running it again"
                    )),
                },
            }
            traces.push(trace);
        }
        let definition = if replay && !self.levels.is_empty() {
            Some(self.fetch(Key::Def(name.to_string()), stack).await?.hash)
        } else {
            None
        };
        if let Some(definition) = definition {
            if let Some(found) = self
                .from_levels(name, target, definition, &traces, stack)
                .await?
            {
                return Ok(found);
            }
        }
        let (computed, trace, detail) = self.run(name, target, traces.first(), stack).await?;
        if let Some(definition) = trace.definition(&key) {
            let product = computed.product().expect("targets compute products");
            self.record(0..self.levels.len(), &key, definition, &trace, product)
                .await;
        }
        self.db
            .add_trace(&key, trace)
            .map_err(|e| Arc::new(e.into()))?;
        Ok((computed, Status::Executed, reason, detail))
    }

    /// Runs the rule in a fresh stage, checks that nothing it read changed meanwhile, and
    /// takes the stage into the store: the product, the trace to record and the rule's
    /// detail. `previous` is the target's latest trace, which the rule may reuse.
    async fn run(
        self: &Arc<Self>,
        name: &str,
        target: &Target,
        previous: Option<&Trace>,
        stack: &Stack,
    ) -> Result<(Computed, Trace, Option<String>), Failure> {
        if let Some(w) = &self.config.watched {
            w.writes();
        }
        let stage = tempfile::Builder::new()
            .prefix(&stage_prefix(name))
            .tempdir_in(&self.tmp)
            .map_err(|e| Arc::new(BuildError::io(self.tmp.display(), e)))?;
        let ctx = Ctx {
            engine: self.clone(),
            stack: stack.clone(),
            target: name.to_string(),
            spec: target.spec.clone(),
            stage: stage.path().to_path_buf(),
            batches: Mutex::new(Vec::new()),
            previous: previous.cloned(),
            detail: Mutex::new(None),
            parts: Mutex::new(Vec::new()),
        };
        ctx.fetch(Key::Def(name.to_string())).await?;
        let as_task_failure = |e: BuildError| match e {
            BuildError::DepFailed { .. } | BuildError::TaskFailed { .. } | BuildError::Cycle(_) => {
                Arc::new(e)
            }
            other => Arc::new(BuildError::TaskFailed {
                target: name.to_string(),
                message: other.to_string(),
                cause: other.cause(),
            }),
        };
        let ran = target.rule.run(&ctx).await;
        let batches = ctx.batches.into_inner().expect("trace lock");
        let detail = ctx.detail.into_inner().expect("detail lock");
        let parts = ctx.parts.into_inner().expect("parts lock");
        // A failed run has no product, but the parts it kept stand, once what they were made
        // from is known not to have changed meanwhile.
        let changed = if ran.is_ok() || !parts.is_empty() {
            self.changed_since_fetched(&batches).await?
        } else {
            None
        };
        if changed.is_none() {
            for (key, value) in &parts {
                self.db
                    .put_note(&part_name(target.rule.as_ref(), *key), value)
                    .map_err(|e| Arc::new(e.into()))?;
            }
        }
        let info = ran.map_err(as_task_failure)?;
        if let Some(changed) = changed {
            return Err(Arc::new(BuildError::TaskFailed {
                target: name.to_string(),
                message: format!(
                    "{changed} changed while the rule ran, so its result was not recorded; \
                     build again"
                ),
                cause: Cause::Build,
            }));
        }
        let (product, hash) = self.install(name, stage, info).map_err(Arc::new)?;
        let computed = Computed::of_product(product, hash);
        let trace = Trace {
            batches,
            result: computed.hash,
        };
        Ok((computed, trace, detail))
    }

    /// The first input of `batches` whose value is no longer the one fetched (a file saved
    /// while the rule ran), computed afresh.
    async fn changed_since_fetched(
        &self,
        batches: &[Vec<(Key, Hash)>],
    ) -> Result<Option<String>, Failure> {
        let inputs: Vec<(&str, &str, Hash)> = batches
            .iter()
            .flatten()
            .filter_map(|(k, h)| match k {
                Key::Input { kind, arg } => Some((&**kind, &**arg, *h)),
                _ => None,
            })
            .collect();
        let now = all(inputs
            .iter()
            .map(|(kind, arg, _)| self.inputs.compute(kind, arg, self.input_env(true))))
        .await;
        for ((kind, arg, then), now) in inputs.iter().zip(now) {
            if now.map_err(Arc::new)?.hash() != *then {
                return Ok(Some(self.inputs.describe(kind, arg)));
            }
        }
        Ok(None)
    }

    /// Files a trace in the given cache levels; a failure there is a warning.
    async fn record(
        &self,
        levels: std::ops::Range<usize>,
        key: &Key,
        definition: Hash,
        trace: &Trace,
        product: &Product,
    ) {
        for used in &self.levels[levels] {
            if used.broken.load(Ordering::Relaxed) {
                continue;
            }
            if let Err(e) = used
                .level
                .record(key, definition, trace, product, &self.cas)
                .await
            {
                self.level_failed(used, &e);
            }
        }
    }

    /// A level's failure is a miss plus one warning; the level is not asked again this run.
    fn level_failed(&self, used: &InUse, e: &str) {
        if !used.broken.swap(true, Ordering::Relaxed) {
            self.reporter
                .warn(&format!("{}: {e}; building without it", used.level.name()));
        }
    }

    /// Replays the traces the cache levels hold for the target, nearest level first; on a
    /// match, brings the product's blobs into the store, restores it, and files the trace in
    /// the checkout and the levels nearer than the one that had it.
    async fn from_levels(
        self: &Arc<Self>,
        name: &str,
        target: &Target,
        definition: Hash,
        tried: &[Trace],
        stack: &Stack,
    ) -> Result<Option<Outcome>, Failure> {
        let key = Key::Target(name.to_string());
        for (i, used) in self.levels.iter().enumerate() {
            if used.broken.load(Ordering::Relaxed) {
                continue;
            }
            let traces = match used.level.traces(&key, definition).await {
                Ok(t) => t,
                Err(e) => {
                    self.level_failed(used, &e);
                    continue;
                }
            };
            for trace in traces {
                if tried.contains(&trace) || self.verify(&trace, name, stack).await?.is_some() {
                    continue;
                }
                if let Err(e) = used.level.fetch(trace.result, &self.cas).await {
                    self.level_failed(used, &e);
                    break;
                }
                match self.restore(name, target, trace.result) {
                    Ok((computed, _)) => {
                        if let Some(product) = computed.product() {
                            self.record(0..i, &key, definition, &trace, product).await;
                        }
                        self.db
                            .add_trace(&key, trace)
                            .map_err(|e| Arc::new(e.into()))?;
                        let why =
                            format!("it was built with the same inputs {}", used.level.whence());
                        return Ok(Some((computed, Status::Restored, why, None)));
                    }
                    Err(e) => {
                        self.reporter
                            .warn(&format!("target {name}: cannot restore ({e}); running it"));
                        return Ok(None);
                    }
                }
            }
        }
        Ok(None)
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
            // Room for the batch's keys at once: a no-op memoizes one per source file, and a
            // table grown entry by entry moves them all a dozen times.
            self.memo.reserve(batch.len());
            // Inputs the database answers at once (unchanged files) are checked in place;
            // only the rest become concurrent fetches.
            let mut rest = Vec::new();
            for (k, want) in batch {
                match self.known_now(k) {
                    Some(Ok(got)) if got.hash != *want => {
                        return Ok(Some((k.clone(), *want, got.hash)))
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(dep_failure(name, k, e)),
                    None => rest.push((k, want)),
                }
            }
            let got = all(rest.iter().map(|(k, _)| self.fetch((*k).clone(), stack))).await;
            for ((k, want), got) in rest.into_iter().zip(got) {
                let got = got.map_err(|e| dep_failure(name, k, e))?;
                if got.hash != *want {
                    return Ok(Some((k.clone(), *want, got.hash)));
                }
            }
        }
        Ok(None)
    }

    fn rel(&self, abs: &Path) -> String {
        abs.strip_prefix(&self.config.root)
            .unwrap_or(abs)
            .to_string_lossy()
            .into_owned()
    }

    /// Makes the files on disk equal to a stored product, and whether that took a write.
    /// When the output directory is, stat for stat, as this product was recorded there, the
    /// product is the one recorded with it, read only if a dependent asks. Otherwise it comes
    /// from the store, every path in it is checked first (a product can come from another
    /// machine), and it is compared with the disk.
    fn restore(
        &self,
        name: &str,
        target: &Target,
        result: Hash,
    ) -> Result<(Computed, bool), BuildError> {
        let dir = self.out_dir(name);
        let rel_dir = self.rel(&dir);
        let watched = self.config.watched.as_ref();
        if let Some(record) = outputs::unchanged(&self.db, &dir, &rel_dir, result, watched)? {
            let computed = Computed::of_recorded(record, result);
            target
                .rule
                .check_restore(&computed, &self.db)
                .map_err(BuildError::Input)?;
            return Ok((computed, false));
        }
        let json = self.cas.get(result)?;
        let product = Product::from_json(&json)
            .map_err(|e| BuildError::Input(format!("stored product {}: {e}", result.short())))?;
        if let Some(bad) = product.files.keys().find(|p| !is_contained(p)) {
            return Err(BuildError::Input(format!(
                "stored product {} names the path {bad:?}, which leaves its directory",
                result.short()
            )));
        }
        let computed = Computed::of_product(product, result);
        target
            .rule
            .check_restore(&computed, &self.db)
            .map_err(BuildError::Input)?;
        let product = computed.product().expect("a parsed product");
        if outputs::on_disk_matches(&self.db, &dir, &rel_dir, result, product, watched)? {
            return Ok((computed, false));
        }
        let stage = tempfile::Builder::new()
            .prefix(&stage_prefix(name))
            .tempdir_in(&self.tmp)
            .map_err(|e| BuildError::io(self.tmp.display(), e))?;
        for (path, entry) in &product.files {
            let dest = stage.path().join(path);
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent).map_err(|e| BuildError::io(parent.display(), e))?;
            }
            self.cas.copy_to(entry.digest, &dest, entry.exec)?;
        }
        self.put_in_place(stage, &dir, product, result)?;
        Ok((computed, true))
    }

    /// Takes what a rule wrote into its stage directory into the store, and moves it into
    /// place as the target's output directory.
    fn install(
        &self,
        name: &str,
        stage: tempfile::TempDir,
        info: serde_json::Value,
    ) -> Result<(Product, Hash), BuildError> {
        let mut product = Product {
            info,
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
                .expect("inside stage");
            let rel = utf8_path(rel)
                .map_err(|e| BuildError::Input(format!("outputs of {name}: {e}")))?
                .to_string();
            product.files.insert(rel, Entry { digest, size, exec });
        }
        let hash = self.cas.put_bytes(&product.to_json())?;
        self.put_in_place(stage, &self.out_dir(name), &product, hash)?;
        Ok((product, hash))
    }

    /// Moves a staged product into place and records its files' stats, so the next build
    /// checks them without reading them.
    fn put_in_place(
        &self,
        stage: tempfile::TempDir,
        dir: &Path,
        product: &Product,
        hash: Hash,
    ) -> Result<(), BuildError> {
        if let Some(w) = &self.config.watched {
            w.writes();
        }
        self.swap_into_place(stage, dir)?;
        outputs::record(&self.db, dir, &self.rel(dir), hash, product)
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
}

/// Whether the last name of `path` reaches `goal` through `waits`, extending `path` to it.
/// Awaits many fetches at once, in one task, outside tokio's cooperative budget: a fetch
/// of a memoized key passes a semaphore, which counts against the budget, and once it is
/// spent every one of thousands of ready fetches would be woken and polled again for each
/// handful that proceeds (a no-op over 20,000 files spent most of its time so).
async fn all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    tokio::task::unconstrained(join_all(futures)).await
}

fn reaches(
    waits: &HashMap<String, Vec<String>>,
    path: &mut Vec<String>,
    goal: &str,
    seen: &mut std::collections::HashSet<String>,
) -> bool {
    let last = path.last().expect("a path has a start").clone();
    if last == goal {
        return true;
    }
    if !seen.insert(last.clone()) {
        return false;
    }
    for next in waits.get(&last).into_iter().flatten() {
        path.push(next.clone());
        if reaches(waits, path, goal, seen) {
            return true;
        }
        path.pop();
    }
    false
}

/// A stage directory's name starts with its target's, made one path component (a target's
/// name may hold `/`).
fn stage_prefix(name: &str) -> String {
    format!("{}-", name.replace('/', "_"))
}

fn dep_failure(target: &str, key: &Key, e: Failure) -> Failure {
    match (&*e, key) {
        (BuildError::Cycle(_), _) => e,
        (_, Key::Target(dep) | Key::Facet { target: dep, .. }) => Arc::new(BuildError::DepFailed {
            target: target.to_string(),
            dep: dep.clone(),
        }),
        _ => e,
    }
}

/// What a rule sees: its target's name and arguments, its stage directory, and `fetch`, the
/// only way to read another key's value.
pub struct Ctx {
    engine: Arc<Engine>,
    target: String,
    spec: Arc<dyn Any + Send + Sync>,
    stage: PathBuf,
    stack: Stack,
    batches: Mutex<Vec<Vec<(Key, Hash)>>>,
    previous: Option<Trace>,
    detail: Mutex<Option<String>>,
    /// What [`Ctx::remember`] was given, kept once the run is over.
    parts: Mutex<Vec<(Hash, Vec<u8>)>>,
}

/// The product a target's rule last made or restored (the first of its traces), and what
/// the run that made it fetched. A rule may reuse it to do less work (an incremental
/// compiler), never to skip a fetch: its trace must be the one a run from scratch records.
pub struct Previous {
    pub product: Product,
    fetched: HashMap<Key, Hash>,
}

impl Previous {
    /// The digest `key` had when the previous product was made, if that run fetched it.
    pub fn fetched(&self, key: &Key) -> Option<Hash> {
        self.fetched.get(key).copied()
    }

    /// Every key the previous run fetched.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.fetched.keys()
    }
}

/// Where a rule kind's part results are kept: its version is in the name, so a bump drops them.
fn part_name(rule: &dyn Rule, key: Hash) -> String {
    format!("part:{}@{}:{}", rule.name(), rule.version(), key.to_hex())
}

impl Ctx {
    pub async fn fetch(&self, key: Key) -> Result<Computed, Failure> {
        Ok(self.fetch_all(vec![key]).await?.remove(0))
    }

    /// Fetches keys concurrently and records them, in the given order, as one batch.
    pub async fn fetch_all(&self, keys: Vec<Key>) -> Result<Vec<Computed>, Failure> {
        let results = all(keys
            .iter()
            .map(|k| self.engine.fetch(k.clone(), &self.stack)))
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

    /// The target this rule runs for.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The target's arguments, as the application gave them in [`Target::spec`].
    pub fn spec<T: Any>(&self) -> &T {
        self.spec
            .downcast_ref()
            .expect("a rule receives the arguments its application registered it with")
    }

    /// The empty directory the rule writes its outputs into.
    pub fn stage(&self) -> &Path {
        &self.stage
    }

    /// The project root, where the rule's tools run.
    pub fn root(&self) -> &Path {
        &self.engine.config.root
    }

    /// Where a fetched target's product is on disk.
    pub fn out_dir(&self, name: &str) -> PathBuf {
        self.engine.out_dir(name)
    }

    /// The bytes of file `path` of fetched target `dep`'s product, whose entry is `entry`:
    /// from the content store, verified. A blob missing or corrupt there is read from the
    /// dependency's output directory instead (which this invocation brought up to date),
    /// verified against the same digest, and put back into the store.
    pub fn dep_file(&self, dep: &str, path: &str, entry: &Entry) -> Result<Vec<u8>, BuildError> {
        let lost = match self.engine.cas.get(entry.digest) {
            Ok(bytes) => return Ok(bytes),
            Err(e @ (StoreError::Missing(_) | StoreError::Corrupt(_))) => e,
            Err(e) => return Err(e.into()),
        };
        let on_disk = is_contained(path)
            .then(|| fs::read(self.out_dir(dep).join(path)).ok())
            .flatten()
            .filter(|bytes| Hash::of(bytes) == entry.digest);
        match on_disk {
            Some(bytes) => {
                // Best effort: the bytes are right whether or not the store takes them.
                let _ = self.engine.cas.put_bytes(&bytes);
                Ok(bytes)
            }
            None => Err(self.fail(format!(
                "{path} of {dep}: {lost}, and the file on disk differs; build again, which \
                 runs {dep} again"
            ))),
        }
    }

    /// A part of the rule's work kept by an earlier run under `key` ([`Ctx::remember`]), for
    /// a rule that does its work in pieces and can tell, from what it fetched, which
    /// pieces' inputs are unchanged (one test namespace's outcome, say).
    pub fn recall(&self, key: Hash) -> Result<Option<Vec<u8>>, BuildError> {
        let rule = self.engine.targets[&self.target].rule.clone();
        Ok(self.engine.db.note(&part_name(rule.as_ref(), key))?)
    }

    /// Keeps a part of the rule's work under `key`, which must be a digest of everything
    /// that part read (the rule kind and version are added). Written once the rule ran, even
    /// when it failed, unless an input it fetched changed while it ran.
    pub fn remember(&self, key: Hash, value: Vec<u8>) {
        self.parts.lock().expect("parts lock").push((key, value));
    }

    pub fn reporter(&self) -> &dyn Reporter {
        &*self.engine.reporter
    }

    /// This target's previous product and what made it (see [`Previous`]); None when it has
    /// none, or its description is no longer in the store.
    pub fn previous(&self) -> Option<Previous> {
        let trace = self.previous.as_ref()?;
        let json = self.engine.cas.get(trace.result).ok()?;
        let product = Product::from_json(&json).ok()?;
        let fetched = trace.batches.iter().flatten().cloned().collect();
        Some(Previous { product, fetched })
    }

    /// The bytes of a file of the previous product, from the content store, verified.
    pub fn previous_file(&self, entry: &Entry) -> Result<Vec<u8>, BuildError> {
        Ok(self.engine.cas.get(entry.digest)?)
    }

    /// Puts file `path` of the previous product, whose bytes (from [`Ctx::previous_file`])
    /// are `bytes`, into the stage at the same path. When this target's output directory
    /// still holds that file with those bytes, the stage gets a hard link to it rather than a
    /// new file: an incremental rule keeps most of its previous output, and creating
    /// thousands of files was most of a one-file recompile. The old directory goes when the
    /// new one is put in place, so the file then has one name again.
    pub fn keep_previous_file(&self, path: &str, bytes: &[u8]) -> Result<(), BuildError> {
        check_contained(path).map_err(|e| self.fail(format!("{path:?} {e}")))?;
        let dest = self.stage().join(path);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| BuildError::io(parent.display(), e))?;
        }
        let existing = self.out_dir(&self.target).join(path);
        if fs::read(&existing).is_ok_and(|b| b == bytes) && fs::hard_link(&existing, &dest).is_ok()
        {
            return Ok(());
        }
        fs::write(&dest, bytes).map_err(|e| BuildError::io(dest.display(), e))
    }

    /// The keys fetched so far in this run, with their digests.
    pub fn fetched(&self) -> HashMap<Key, Hash> {
        let batches = self.batches.lock().expect("trace lock");
        batches.iter().flatten().cloned().collect()
    }

    /// Says how the rule did its work (`javac compiled 1 of 20 sources`): `kbuild explain`
    /// shows it.
    pub fn detail(&self, text: impl Into<String>) {
        *self.detail.lock().expect("detail lock") = Some(text.into());
    }

    /// A slot in the `-j` limit, held while an external tool runs.
    pub async fn job_slot(&self) -> tokio::sync::SemaphorePermit<'_> {
        self.engine
            .jobs
            .acquire()
            .await
            .expect("semaphore is never closed")
    }

    pub fn fail(&self, message: impl Into<String>) -> BuildError {
        self.fail_as(Cause::Build, message)
    }

    /// A failure of this target about something else than its own work.
    pub fn fail_as(&self, cause: Cause, message: impl Into<String>) -> BuildError {
        BuildError::TaskFailed {
            target: self.target.clone(),
            message: message.into(),
            cause,
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
