//! The engine's memory, one RocksDB database per project checkout (`.kbuild/db`):
//! the stat cache, the syntax-digest cache, constructive traces, and per-target notes.
//! RocksDB's write-ahead log makes every put survive a killed process.
//!
//! Everything in it can be computed again, so a database that RocksDB reports damaged is
//! moved aside (`db.corrupt-<n>`) and replaced by a fresh one: at open, by
//! [`Db::open_or_recover`]; when the damage only shows on a later read, reads of it miss,
//! writes are dropped, and the database is moved aside when it is closed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};

use rocksdb::{Options, DB};

use super::bytes::{put_sized, put_u32, Reader};
use super::key::Key;
use super::store::Hash;

mod caches;
use caches::{Caches, CachesError};

// One column family with a one-byte prefix per table: with several column families RocksDB
// keeps an empty write-ahead log per open until every family flushes, and they pile up. The
// stat and syntax caches live in files of their own (`caches`), under the same prefixes;
// RocksDB held them once, and entries of that layout are deleted at the first write.
const STAT: u8 = b's';
const SYNTAX: u8 = b'y';
const TRACES: u8 = b't';
const NOTES: u8 = b'n';

/// How many traces are kept per key, most recent first: enough to come back from a branch
/// switch or a revert without rebuilding.
pub const MAX_TRACES: usize = 8;

/// See [`Stat::racy`].
const RACY_NS: i64 = 1_000_000_000;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("another kbuild is using {0} (its lock is held)")]
    Locked(String),
    #[error("database {path} is damaged: {message}")]
    Corrupt { path: String, message: String },
    #[error("database {path}: {message}")]
    Rocks { path: String, message: String },
    #[error("{0}")]
    Io(String),
}

impl DbError {
    /// What RocksDB's error means: another process holds the database, its files are
    /// damaged, or anything else. Decided by RocksDB's error kind and the start of its
    /// message, never by words anywhere in it: a path (`clock-app/.kbuild/db`) is no lock.
    fn classify(path: &Path, e: rocksdb::Error) -> DbError {
        let kind = e.kind();
        let message = e.into_string();
        let shown = path.display().to_string();
        let detail = message.strip_prefix("IO error: ").unwrap_or(&message);
        match kind {
            rocksdb::ErrorKind::IOError
                if detail.starts_with("While lock file:")
                    || detail.starts_with("lock hold by current process") =>
            {
                DbError::Locked(shown)
            }
            rocksdb::ErrorKind::Corruption => DbError::Corrupt {
                path: shown,
                message,
            },
            // A file the database's manifest names is gone (a deleted MANIFEST or table).
            rocksdb::ErrorKind::IOError
                if detail.starts_with("No such file or directory:")
                    && message.contains(&format!("{shown}/")) =>
            {
                DbError::Corrupt {
                    path: shown,
                    message,
                }
            }
            _ => DbError::Rocks {
                path: shown,
                message,
            },
        }
    }
}

/// A database that was found damaged and moved aside.
#[derive(Debug, Clone)]
pub struct Damage {
    /// RocksDB's words.
    pub message: String,
    /// Where the damaged files went.
    pub moved_to: PathBuf,
}

pub struct Db {
    /// RocksDB, opened for reading until the first write (see [`Db::open`]). `None` only
    /// in `drop`, which closes it before a damaged database is moved aside.
    handle: RwLock<Option<Handle>>,
    dir: PathBuf,
    /// The stat and syntax caches, read whole at open: reading two files is far cheaper
    /// than thousands of point lookups in a no-op build.
    caches: RwLock<Caches>,
    /// Whether RocksDB still holds cache entries of the old layout, to delete.
    old_layout: AtomicBool,
    /// Whether anything was written: then the memtables are flushed at close, so the next
    /// open has no log to replay.
    dirty: AtomicBool,
    /// Damage RocksDB reported after the open, if any: from then on reads miss, writes are
    /// dropped, and the database is moved aside at close.
    damage: Mutex<Option<Damage>>,
}

struct Handle {
    db: DB,
    writable: bool,
}

impl Drop for Db {
    fn drop(&mut self) {
        let damage = self.damage.lock().map(|d| d.clone()).unwrap_or(None);
        if let Ok(c) = self.caches.get_mut() {
            let _ = c.close();
        }
        let handle = self.handle.get_mut().map(Option::take).unwrap_or(None);
        if let Some(h) = handle {
            if damage.is_none() && h.writable && self.dirty.load(Ordering::Relaxed) {
                let _ = h.db.flush();
            }
        }
        if let Some(d) = damage {
            let _ = std::fs::rename(&self.dir, &d.moved_to);
        }
    }
}

/// The first `<dir>.corrupt-<n>` that does not exist.
fn aside(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "db".into());
    (1..)
        .map(|n| dir.with_file_name(format!("{name}.corrupt-{n}")))
        .find(|p| std::fs::symlink_metadata(p).is_err())
        .expect("some number is free")
}

/// What `stat` said about a file when its digest was computed. ctime and inode are in it
/// because tools may restore an mtime, but never a ctime.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Stat {
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub ino: u64,
}

impl Stat {
    pub fn of(meta: &std::fs::Metadata) -> Stat {
        use std::os::unix::fs::MetadataExt;
        Stat {
            size: meta.size(),
            mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            ctime_ns: meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
            ino: meta.ino(),
        }
    }

    /// Whether this stat is too recent to be trusted: taken less than [`RACY_NS`] after
    /// the file was written, a second write within the filesystem's timestamp granularity
    /// could leave it unchanged.
    pub fn racy(&self) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        now - self.mtime_ns < RACY_NS
    }

    /// The stat as the caches keep it.
    pub fn encode(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        b[0..8].copy_from_slice(&self.size.to_le_bytes());
        b[8..16].copy_from_slice(&self.mtime_ns.to_le_bytes());
        b[16..24].copy_from_slice(&self.ctime_ns.to_le_bytes());
        b[24..32].copy_from_slice(&self.ino.to_le_bytes());
        b
    }
}

/// One constructive trace: the dependencies a run fetched, in batches (each batch was
/// fetched concurrently, batches in order), with the digest each had, and the digest of
/// the value the run produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    pub batches: Vec<Vec<(Key, Hash)>>,
    pub result: Hash,
}

impl Trace {
    /// The digest of the definition the trace recorded for target `key`: where shared and
    /// remote caches file it.
    pub fn definition(&self, key: &Key) -> Option<Hash> {
        let Key::Target(name) = key else {
            return None;
        };
        self.batches
            .iter()
            .flatten()
            .find_map(|(k, h)| matches!(k, Key::Def(d) if d == name).then_some(*h))
    }

    /// The trace as bytes, as the database and the shared cache keep it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Trace> {
        let mut r = Reader::new(bytes);
        let t = Trace::decode(&mut r)?;
        (r.rest() == 0).then_some(t)
    }

    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.batches.len());
        for batch in &self.batches {
            put_u32(out, batch.len());
            for (k, h) in batch {
                put_sized(out, k.to_string().as_bytes());
                out.extend_from_slice(&h.0);
            }
        }
        out.extend_from_slice(&self.result.0);
    }

    fn decode(r: &mut Reader) -> Option<Trace> {
        let nb = r.u32()?;
        let mut batches = Vec::with_capacity(r.capacity(nb, 4));
        for _ in 0..nb {
            let n = r.u32()?;
            let mut batch = Vec::with_capacity(r.capacity(n, 36));
            for _ in 0..n {
                let key = Key::parse(r.text()?)?;
                batch.push((key, Hash(r.array()?)));
            }
            batches.push(batch);
        }
        Some(Trace {
            batches,
            result: Hash(r.array()?),
        })
    }
}

/// A target's traces as stored (see [`Db::trace_list`]).
pub struct TraceList(Vec<u8>);

impl TraceList {
    pub fn iter(&self) -> impl Iterator<Item = Trace> + '_ {
        let mut r = Reader::new(&self.0);
        let n = r.u32().unwrap_or(0);
        (0..n).map_while(move |_| Trace::decode(&mut r))
    }
}

impl Db {
    /// Opens the database, or, when RocksDB finds it damaged, moves it aside and opens a
    /// fresh one in its place; the damage is returned for a warning. Only build history is
    /// lost: every entry is a cache of something kbuild can compute again.
    pub fn open_or_recover(path: &Path) -> Result<(Db, Option<Damage>), DbError> {
        match Db::open(path) {
            Err(DbError::Corrupt { message, .. }) => {
                let moved_to = aside(path);
                std::fs::rename(path, &moved_to).map_err(|e| DbError::Rocks {
                    path: path.display().to_string(),
                    message: format!(
                        "it is damaged ({message}), and moving it to {} failed: {e}",
                        moved_to.display()
                    ),
                })?;
                let db = Db::open(path)?;
                Ok((db, Some(Damage { message, moved_to })))
            }
            other => other.map(|db| (db, None)),
        }
    }

    /// Opens the database for reading, and for writing only when the first write comes: a
    /// build that writes nothing (a no-op) then leaves it as it was. A writable open starts
    /// a write-ahead log, a manifest and an options file, and syncs them, which costs more
    /// than the rest of a small no-op. The engine's state lock keeps other kbuilds out, so
    /// nothing writes behind the reading handle. A database not yet made is made writable.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let classify = |e| DbError::classify(path, e);
        let handle = if path.join("CURRENT").exists() {
            Handle {
                db: DB::open_for_read_only(&options(), path, false).map_err(classify)?,
                writable: false,
            }
        } else {
            Handle {
                db: DB::open(&options(), path).map_err(classify)?,
                writable: true,
            }
        };
        let caches = Caches::load(path).map_err(|e| match e {
            CachesError::Damaged { .. } => DbError::Corrupt {
                path: path.display().to_string(),
                message: e.to_string(),
            },
            CachesError::Io { .. } => DbError::Io(e.to_string()),
        })?;
        let old_layout = [STAT, SYNTAX].iter().any(|&table| {
            let mut it = handle.db.raw_iterator();
            it.seek([table]);
            it.key().and_then(|k| k.first().copied()) == Some(table)
        });
        Ok(Db {
            handle: RwLock::new(Some(handle)),
            dir: path.to_path_buf(),
            caches: RwLock::new(caches),
            old_layout: AtomicBool::new(old_layout),
            dirty: AtomicBool::new(false),
            damage: Mutex::new(None),
        })
    }

    /// What `f` makes of the cached value under `table` and the key made of `parts`.
    fn cached_with<R>(
        &self,
        table: u8,
        parts: &[&[u8]],
        f: impl FnOnce(&[u8]) -> Option<R>,
    ) -> Option<R> {
        with_key(table, parts, |key| {
            let caches = self.caches.read().expect("cache lock");
            caches.memory.get(key).and_then(f)
        })
    }

    fn cached_put(&self, table: u8, parts: &[&[u8]], value: &[u8]) -> Result<(), DbError> {
        with_key(table, parts, |key| {
            let mut caches = self.caches.write().expect("cache lock");
            caches
                .insert(key, value)
                .map_err(|e| DbError::Io(format!("{}/caches.log: {e}", self.dir.display())))
        })
    }

    /// Damage found since the open (the database is moved aside when it closes).
    pub fn damage(&self) -> Option<Damage> {
        self.damage.lock().expect("damage lock").clone()
    }

    fn is_damaged(&self) -> bool {
        self.damage.lock().expect("damage lock").is_some()
    }

    /// A RocksDB error after the open: damage is remembered (and `fallback` stands in for
    /// the result), anything else is an error.
    fn or_damage<T>(&self, r: Result<T, rocksdb::Error>, fallback: T) -> Result<T, DbError> {
        match r.map_err(|e| DbError::classify(&self.dir, e)) {
            Ok(v) => Ok(v),
            Err(DbError::Corrupt { message, .. }) => {
                let mut damage = self.damage.lock().expect("damage lock");
                if damage.is_none() {
                    *damage = Some(Damage {
                        message,
                        moved_to: aside(&self.dir),
                    });
                }
                Ok(fallback)
            }
            Err(e) => Err(e),
        }
    }

    fn get(&self, table: u8, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        let r = self.with_handle(|h| h.db.get(prefixed(table, key)));
        self.or_damage(r, None)
    }

    fn with_handle<R>(&self, f: impl FnOnce(&Handle) -> R) -> R {
        f(self.handle.read().expect("db lock").as_ref().expect("open"))
    }

    fn put(&self, table: u8, key: &[u8], value: &[u8]) -> Result<(), DbError> {
        self.put_raw(&prefixed(table, key), value)
    }

    /// `key` with its table's prefix. The first write reopens the database writable.
    fn put_raw(&self, key: &[u8], value: &[u8]) -> Result<(), DbError> {
        if self.is_damaged() {
            return Ok(());
        }
        if !self.with_handle(|h| h.writable) {
            let mut slot = self.handle.write().expect("db lock");
            if !slot.as_ref().expect("open").writable {
                let opened = DB::open(&options(), &self.dir).map(Some);
                match self.or_damage(opened, None)? {
                    Some(db) => *slot = Some(Handle { db, writable: true }),
                    None => return Ok(()),
                }
                if self.old_layout.swap(false, Ordering::Relaxed) {
                    let mut batch = rocksdb::WriteBatch::default();
                    for table in [STAT, SYNTAX] {
                        batch.delete_range([table], [table + 1]);
                    }
                    let db = &slot.as_ref().expect("open").db;
                    let r = db.write(batch);
                    self.or_damage(r, ())?;
                }
            }
        }
        self.dirty.store(true, Ordering::Relaxed);
        let r = self.with_handle(|h| h.db.put(key, value));
        self.or_damage(r, ())
    }

    /// The digest recorded for `path` under `algo` if the file's stat is unchanged.
    pub fn stat_digest(
        &self,
        algo: &str,
        path: &str,
        stat: &Stat,
    ) -> Result<Option<Vec<u8>>, DbError> {
        let parts = [algo.as_bytes(), b"\0", path.as_bytes()];
        Ok(self.cached_with(STAT, &parts, |v| {
            (v.len() > 32 && v[..32] == stat.encode()).then(|| v[32..].to_vec())
        }))
    }

    pub fn put_stat_digest(
        &self,
        algo: &str,
        path: &str,
        stat: &Stat,
        digest: &[u8],
    ) -> Result<(), DbError> {
        let mut v = stat.encode().to_vec();
        v.extend_from_slice(digest);
        self.cached_put(STAT, &[algo.as_bytes(), b"\0", path.as_bytes()], &v)
    }

    /// (raw digest, hasher id@version) → syntax digest.
    pub fn syntax_digest(&self, raw: &[u8], hasher: &str) -> Result<Option<Vec<u8>>, DbError> {
        Ok(self.cached_with(SYNTAX, &[raw, hasher.as_bytes()], |v| Some(v.to_vec())))
    }

    pub fn put_syntax_digest(
        &self,
        raw: &[u8],
        hasher: &str,
        digest: &[u8],
    ) -> Result<(), DbError> {
        self.cached_put(SYNTAX, &[raw, hasher.as_bytes()], digest)
    }

    /// The stored traces of `key`, most recent first. Undecodable entries are dropped:
    /// a trace is only ever an optimisation.
    pub fn traces(&self, key: &Key) -> Result<Vec<Trace>, DbError> {
        Ok(self.trace_list(key)?.iter().collect())
    }

    /// The stored traces of `key`, decoded one at a time as they are asked for: a no-op
    /// build replays the first and never decodes the others.
    pub fn trace_list(&self, key: &Key) -> Result<TraceList, DbError> {
        Ok(TraceList(
            self.get(TRACES, key.to_string().as_bytes())?
                .unwrap_or_default(),
        ))
    }

    /// Records `trace` as the most recent one for `key`, dropping an identical older one
    /// and keeping at most MAX_TRACES.
    pub fn add_trace(&self, key: &Key, trace: Trace) -> Result<(), DbError> {
        let mut all = self.traces(key)?;
        all.retain(|t| t != &trace);
        all.insert(0, trace);
        all.truncate(MAX_TRACES);
        let mut buf = Vec::new();
        put_u32(&mut buf, all.len());
        for t in &all {
            t.encode(&mut buf);
        }
        self.put(TRACES, key.to_string().as_bytes(), &buf)
    }

    /// Moves the trace at `index` to the front, so the next lookup tries it first.
    pub fn promote_trace(&self, key: &Key, index: usize) -> Result<(), DbError> {
        if index == 0 {
            return Ok(());
        }
        let all = self.traces(key)?;
        match all.into_iter().nth(index) {
            Some(t) => self.add_trace(key, t),
            None => Ok(()),
        }
    }

    pub fn note(&self, name: &str) -> Result<Option<Vec<u8>>, DbError> {
        self.get(NOTES, name.as_bytes())
    }

    /// Writes a note unless it already says this: a no-op build writes nothing.
    pub fn put_note(&self, name: &str, value: &[u8]) -> Result<(), DbError> {
        if self.note(name)?.as_deref() == Some(value) {
            return Ok(());
        }
        self.put(NOTES, name.as_bytes(), value)
    }
}

fn options() -> Options {
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.set_keep_log_file_num(2);
    opts.set_max_log_file_size(1 << 20);
    opts
}

fn prefixed(table: u8, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 1);
    k.push(table);
    k.extend_from_slice(key);
    k
}

/// Calls `f` with `table` followed by `parts`, on the stack when short: the stat cache is
/// looked up once per file in a no-op build.
fn with_key<R>(table: u8, parts: &[&[u8]], f: impl FnOnce(&[u8]) -> R) -> R {
    let len = 1 + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut stack = [0u8; 256];
    let mut heap = Vec::new();
    let buf: &mut [u8] = if len <= stack.len() {
        &mut stack[..len]
    } else {
        heap.resize(len, 0);
        &mut heap
    };
    buf[0] = table;
    let mut at = 1;
    for p in parts {
        buf[at..at + p.len()].copy_from_slice(p);
        at += p.len();
    }
    f(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file in `dir` with its length and modification time.
    fn listing(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
        let mut all: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let m = e.metadata().unwrap();
                (e.path(), m.len(), m.modified().unwrap())
            })
            .collect();
        all.sort();
        all
    }

    #[test]
    fn an_open_that_writes_nothing_leaves_the_database_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        filled(dir.path());
        let before = listing(dir.path());
        for _ in 0..5 {
            let db = Db::open(dir.path()).unwrap();
            assert_eq!(db.note("t").unwrap().as_deref(), Some(&b"v"[..]));
            db.put_note("t", b"v").unwrap();
            assert!(db.stat_digest("sha512", "f1", &stat(1)).unwrap().is_some());
            drop(db);
        }
        assert_eq!(listing(dir.path()), before);
        // The first write opens it writable; what it wrote is there at the next open.
        let db = Db::open(dir.path()).unwrap();
        db.put_note("t", b"w").unwrap();
        db.put_stat_digest("sha512", "new", &stat(9), &[1; 64])
            .unwrap();
        assert_eq!(db.note("t").unwrap().as_deref(), Some(&b"w"[..]));
        drop(db);
        let db = Db::open(dir.path()).unwrap();
        assert_eq!(db.note("t").unwrap().as_deref(), Some(&b"w"[..]));
        assert_eq!(
            db.stat_digest("sha512", "new", &stat(9)).unwrap(),
            Some(vec![1; 64])
        );
    }

    #[test]
    fn traces_roundtrip_bounded_most_recent_first() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let key = Key::Target("app".into());
        let t = |i: u8| Trace {
            batches: vec![
                vec![(Key::Def("app".into()), Hash([i; 32]))],
                vec![(Key::input("file", "java@1:src/A.java"), Hash([1; 32]))],
            ],
            result: Hash([i; 32]),
        };
        for i in 0..10 {
            db.add_trace(&key, t(i)).unwrap();
        }
        let all = db.traces(&key).unwrap();
        assert_eq!(all.len(), MAX_TRACES);
        assert_eq!(all[0], t(9));
        db.promote_trace(&key, 3).unwrap();
        assert_eq!(db.traces(&key).unwrap()[0], t(6));
        assert_eq!(db.traces(&key).unwrap().len(), MAX_TRACES);
    }

    #[test]
    fn a_trace_whose_counts_lie_is_rejected_without_allocating_them() {
        let mut bytes = u32::MAX.to_le_bytes().to_vec();
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Trace::from_bytes(&bytes), None);
        let t = Trace {
            batches: vec![vec![(Key::Def("a".into()), Hash([3; 32]))]],
            result: Hash([4; 32]),
        };
        let mut cut = t.to_bytes();
        assert_eq!(Trace::from_bytes(&cut), Some(t));
        cut.pop();
        assert_eq!(Trace::from_bytes(&cut), None);
    }

    #[test]
    fn stat_cache_matches_only_the_same_stat() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let s = Stat {
            size: 1,
            mtime_ns: 2,
            ctime_ns: 3,
            ino: 4,
        };
        db.put_stat_digest("sha512", "a.txt", &s, &[9; 64]).unwrap();
        assert_eq!(
            db.stat_digest("sha512", "a.txt", &s).unwrap(),
            Some(vec![9; 64])
        );
        assert_eq!(
            db.stat_digest("sha512", "a.txt", &Stat { ctime_ns: 5, ..s })
                .unwrap(),
            None
        );
        assert_eq!(db.stat_digest("sha256", "a.txt", &s).unwrap(), None);
    }

    /// Cache entries RocksDB held before the caches had files of their own are not read,
    /// and the first write deletes them.
    #[test]
    fn cache_entries_of_the_old_layout_are_deleted_at_the_first_write() {
        let dir = tempfile::tempdir().unwrap();
        let mut old = stat(1).encode().to_vec();
        old.extend_from_slice(&[5; 64]);
        {
            let raw = DB::open(&options(), dir.path()).unwrap();
            raw.put(b"ssha512\0a.txt", &old).unwrap();
            raw.put(b"yraw-digest", b"syntax").unwrap();
        }
        let db = Db::open(dir.path()).unwrap();
        assert_eq!(db.stat_digest("sha512", "a.txt", &stat(1)).unwrap(), None);
        db.put_note("t", b"v").unwrap();
        drop(db);
        let raw = DB::open(&options(), dir.path()).unwrap();
        let left: Vec<_> = raw
            .iterator(rocksdb::IteratorMode::Start)
            .map(|kv| kv.unwrap().0)
            .collect();
        assert_eq!(left, vec![b"nt".to_vec().into_boxed_slice()]);
    }

    /// Without the engine's state lock, a second writer meets RocksDB's: reported as a
    /// lock, not as damage.
    #[test]
    fn a_second_writer_reports_the_lock_and_is_no_damage() {
        let top = tempfile::tempdir().unwrap();
        let dir = top.path().join("db");
        let db = Db::open(&dir).unwrap();
        db.put_note("a", b"1").unwrap();
        let second = Db::open(&dir).unwrap();
        assert!(matches!(
            second.put_note("b", b"2"),
            Err(DbError::Locked(_))
        ));
        drop(db);
        assert!(matches!(Db::open_or_recover(&dir), Ok((_, None))));
        assert!(!top.path().join("db.corrupt-1").exists());
    }

    fn stat(i: u64) -> Stat {
        Stat {
            size: i,
            mtime_ns: 1,
            ctime_ns: 2,
            ino: 3,
        }
    }

    /// A database with notes in a RocksDB table and enough stat entries for a cache snapshot.
    fn filled(dir: &Path) {
        let db = Db::open(dir).unwrap();
        for i in 0..12_000 {
            db.put_stat_digest("sha512", &format!("f{i}"), &stat(i), &[7; 64])
                .unwrap();
        }
        for i in 0..500 {
            db.put_note(&format!("n{i}"), &[i as u8; 100]).unwrap();
        }
        db.put_note("t", b"v").unwrap();
        drop(db);
    }

    fn files(dir: &Path, pred: impl Fn(&str) -> bool) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| pred(&p.file_name().unwrap().to_string_lossy()))
            .collect()
    }

    /// Real RocksDB files and cache snapshots damaged on disk, each way: the damage is found
    /// at the open or at the first read of what it hit, the database is moved aside and a
    /// fresh one opened; the project directory's name (with "lock" in it) never reads as a
    /// lock.
    #[test]
    fn a_damaged_database_is_moved_aside_and_replaced() {
        type Damager = fn(&Path);
        let cases: &[(&str, Damager)] = &[
            ("garbled CURRENT", |d| {
                std::fs::write(d.join("CURRENT"), "garbage\n").unwrap()
            }),
            ("CURRENT cut short", |d| {
                std::fs::write(d.join("CURRENT"), "MANI").unwrap()
            }),
            ("garbled MANIFEST", |d| {
                for p in files(d, |n| n.starts_with("MANIFEST-")) {
                    let n = std::fs::read(&p).unwrap().len();
                    std::fs::write(&p, vec![0x5a; n]).unwrap();
                }
            }),
            ("deleted MANIFEST", |d| {
                for p in files(d, |n| n.starts_with("MANIFEST-")) {
                    std::fs::remove_file(p).unwrap();
                }
            }),
            ("truncated table", |d| {
                for p in files(d, |n| n.ends_with(".sst")) {
                    let b = std::fs::read(&p).unwrap();
                    std::fs::write(&p, &b[..b.len() / 2]).unwrap();
                }
            }),
            ("garbled table block", |d| {
                for p in files(d, |n| n.ends_with(".sst")) {
                    let mut b = std::fs::read(&p).unwrap();
                    for x in &mut b[100..2000] {
                        *x ^= 0xff;
                    }
                    std::fs::write(&p, &b).unwrap();
                }
            }),
            ("deleted table", |d| {
                for p in files(d, |n| n.ends_with(".sst")) {
                    std::fs::remove_file(p).unwrap();
                }
            }),
            ("garbled cache snapshot", |d| {
                let p = d.join("caches");
                let mut b = std::fs::read(&p).unwrap();
                let at = b.len() / 2;
                b[at] ^= 1;
                std::fs::write(&p, &b).unwrap();
            }),
            ("cache snapshot cut short", |d| {
                let p = d.join("caches");
                let b = std::fs::read(&p).unwrap();
                std::fs::write(&p, &b[..b.len() - 10]).unwrap();
            }),
        ];
        for (what, damage) in cases {
            let top = tempfile::tempdir().unwrap();
            let dir = top.path().join("clock-app While lock file").join("db");
            filled(&dir);
            assert!(
                !files(&dir, |n| n.ends_with(".sst")).is_empty(),
                "{what}: the flush made a table"
            );
            assert!(
                dir.join("caches").exists(),
                "{what}: a snapshot was written"
            );
            damage(&dir);
            let (db, found) = Db::open_or_recover(&dir).unwrap();
            let (db, found) = match found {
                Some(found) => (db, found),
                None => {
                    for i in 0..500 {
                        db.note(&format!("n{i}")).unwrap();
                    }
                    let found = db
                        .damage()
                        .unwrap_or_else(|| panic!("{what}: no damage reported"));
                    drop(db);
                    let (db, again) = Db::open_or_recover(&dir).unwrap();
                    assert!(again.is_none(), "{what}");
                    (db, found)
                }
            };
            assert_eq!(found.moved_to, dir.with_file_name("db.corrupt-1"), "{what}");
            assert!(found.moved_to.join("CURRENT").exists() || found.moved_to.is_dir());
            assert_eq!(db.note("t").unwrap(), None, "{what}: a fresh database");
            db.put_note("t", b"again").unwrap();
            drop(db);
            let (db, found) = Db::open_or_recover(&dir).unwrap();
            assert!(found.is_none(), "{what}");
            assert_eq!(db.note("t").unwrap().as_deref(), Some(&b"again"[..]));
        }
    }

    /// Damage that only a later read meets (a table the open never reads): the read misses,
    /// nothing fails, and the database is moved aside when it closes.
    #[test]
    fn damage_found_after_the_open_moves_the_database_aside_at_close() {
        let top = tempfile::tempdir().unwrap();
        let dir = top.path().join("db");
        let db = Db::open(&dir).unwrap();
        for i in 0..200 {
            db.put_note(&format!("note{i}"), &[i as u8; 200]).unwrap();
        }
        drop(db);
        let tables = files(&dir, |n| n.ends_with(".sst"));
        assert_eq!(tables.len(), 1);
        let mut b = std::fs::read(&tables[0]).unwrap();
        for x in &mut b[10..1000] {
            *x ^= 0xff;
        }
        std::fs::write(&tables[0], &b).unwrap();
        // Notes sort before the tables the open reads: it succeeds.
        let db = Db::open(&dir).unwrap();
        assert!(db.damage().is_none());
        assert_eq!(db.note("note1").unwrap(), None);
        let damage = db.damage().expect("the read found the damage");
        assert!(damage.message.contains("Corruption"), "{}", damage.message);
        db.put_note("x", b"y").unwrap();
        drop(db);
        assert!(damage.moved_to.is_dir());
        assert!(!dir.exists());
        let (db, found) = Db::open_or_recover(&dir).unwrap();
        assert!(found.is_none());
        assert_eq!(db.note("x").unwrap(), None);
    }
}
