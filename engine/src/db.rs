//! The engine's memory, one RocksDB database per project checkout (`.kbuild/db`):
//! the stat cache, the syntax-digest cache, constructive traces, and per-target notes.
//! RocksDB's write-ahead log makes every put survive a killed process.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use rocksdb::{Direction, IteratorMode, Options, DB};

use super::key::Key;
use super::store::Hash;

// One column family with a one-byte prefix per table: with several column families RocksDB
// keeps an empty write-ahead log per open until every family flushes, and they pile up.
const STAT: u8 = b's';
const SYNTAX: u8 = b'y';
const TRACES: u8 = b't';
const NOTES: u8 = b'n';

/// Write-ahead logs tolerated at open before this session flushes to retire them.
const MAX_LOGS: usize = 4;

/// How many traces are kept per key, most recent first: enough to come back from a branch
/// switch or a revert without rebuilding.
pub const MAX_TRACES: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("another kbuild is using {0} (its lock is held); wait for it to finish")]
    Locked(String),
    #[error("database {path}: {message}")]
    Rocks { path: String, message: String },
}

/// Prefixed key → value.
type Memory = HashMap<Vec<u8>, Vec<u8>>;

pub struct Db {
    db: DB,
    path: String,
    /// The stat and syntax caches, read whole at open: one sequential scan is far cheaper
    /// than thousands of point lookups in a no-op build.
    memory: Mutex<Memory>,
    /// Whether anything was written: then the memtables are flushed at close, so the next
    /// open has no log to replay and old logs can go.
    dirty: AtomicBool,
}

impl Drop for Db {
    fn drop(&mut self) {
        if self.dirty.load(Ordering::Relaxed) {
            let _ = self.db.flush();
        }
    }
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

    fn encode(&self) -> [u8; 32] {
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
        let mut r = Reader(bytes);
        let t = Trace::decode(&mut r)?;
        r.0.is_empty().then_some(t)
    }

    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.batches.len() as u32);
        for batch in &self.batches {
            put_u32(out, batch.len() as u32);
            for (k, h) in batch {
                let s = k.to_string();
                put_u32(out, s.len() as u32);
                out.extend_from_slice(s.as_bytes());
                out.extend_from_slice(&h.0);
            }
        }
        out.extend_from_slice(&self.result.0);
    }

    fn decode(r: &mut Reader) -> Option<Trace> {
        // Counts come from disk or a server: never size an allocation by one beyond what the
        // remaining bytes could hold.
        let nb = r.u32()?;
        let mut batches = Vec::with_capacity((nb as usize).min(r.0.len() / 4));
        for _ in 0..nb {
            let n = r.u32()?;
            let mut batch = Vec::with_capacity((n as usize).min(r.0.len() / 36));
            for _ in 0..n {
                let len = r.u32()? as usize;
                let key = Key::parse(std::str::from_utf8(r.take(len)?).ok()?)?;
                batch.push((key, r.hash()?));
            }
            batches.push(batch);
        }
        Some(Trace {
            batches,
            result: r.hash()?,
        })
    }
}

fn put_u32(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(&n.to_le_bytes());
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn hash(&mut self) -> Option<Hash> {
        Some(Hash(self.take(32)?.try_into().ok()?))
    }
}

impl Db {
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let shown = path.display().to_string();
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.set_keep_log_file_num(2);
        opts.set_max_log_file_size(1 << 20);
        let db = DB::open(&opts, path).map_err(|e| {
            let message = e.into_string();
            // RocksDB's words when another process holds the LOCK file.
            if message.contains("While lock file")
                || message.contains("lock hold by current process")
            {
                DbError::Locked(shown.clone())
            } else {
                DbError::Rocks {
                    path: shown.clone(),
                    message,
                }
            }
        })?;
        let mut memory = HashMap::new();
        for table in [STAT, SYNTAX] {
            for item in db.iterator(IteratorMode::From(&[table], Direction::Forward)) {
                let (k, v) = item.map_err(|e| DbError::Rocks {
                    path: shown.clone(),
                    message: e.into_string(),
                })?;
                if k.first() != Some(&table) {
                    break;
                }
                memory.insert(k.into_vec(), v.into_vec());
            }
        }
        // Each open starts a write-ahead log, which only a flush retires; no-op builds
        // write nothing, so their empty logs pile up (and every open reads them all). Past a
        // few, a one-key write makes this close flush, which removes them.
        let logs = std::fs::read_dir(path)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
                    .count()
            })
            .unwrap_or(0);
        let db = Db {
            db,
            path: shown,
            memory: Mutex::new(memory),
            dirty: AtomicBool::new(false),
        };
        if logs > MAX_LOGS {
            db.put(NOTES, b"\0logs", &(logs as u64).to_le_bytes())?;
        }
        Ok(db)
    }

    fn cached_get(&self, table: u8, key: &[u8]) -> Option<Vec<u8>> {
        self.memory
            .lock()
            .expect("cache lock")
            .get(&prefixed(table, key))
            .cloned()
    }

    fn cached_put(&self, table: u8, key: &[u8], value: &[u8]) -> Result<(), DbError> {
        self.put(table, key, value)?;
        self.memory
            .lock()
            .expect("cache lock")
            .insert(prefixed(table, key), value.to_vec());
        Ok(())
    }

    fn err(&self, e: rocksdb::Error) -> DbError {
        DbError::Rocks {
            path: self.path.clone(),
            message: e.into_string(),
        }
    }

    fn get(&self, table: u8, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        self.db.get(prefixed(table, key)).map_err(|e| self.err(e))
    }

    fn put(&self, table: u8, key: &[u8], value: &[u8]) -> Result<(), DbError> {
        self.dirty.store(true, Ordering::Relaxed);
        self.db
            .put(prefixed(table, key), value)
            .map_err(|e| self.err(e))
    }

    /// The digest recorded for `path` under `algo` if the file's stat is unchanged.
    pub fn stat_digest(
        &self,
        algo: &str,
        path: &str,
        stat: &Stat,
    ) -> Result<Option<Vec<u8>>, DbError> {
        let Some(v) = self.cached_get(STAT, stat_key(algo, path).as_bytes()) else {
            return Ok(None);
        };
        Ok((v.len() > 32 && v[..32] == stat.encode()).then(|| v[32..].to_vec()))
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
        self.cached_put(STAT, stat_key(algo, path).as_bytes(), &v)
    }

    /// (raw digest, hasher id@version) → syntax digest.
    pub fn syntax_digest(&self, raw: &[u8], hasher: &str) -> Result<Option<Vec<u8>>, DbError> {
        Ok(self.cached_get(SYNTAX, &syntax_key(raw, hasher)))
    }

    pub fn put_syntax_digest(
        &self,
        raw: &[u8],
        hasher: &str,
        digest: &[u8],
    ) -> Result<(), DbError> {
        self.cached_put(SYNTAX, &syntax_key(raw, hasher), digest)
    }

    /// The stored traces of `key`, most recent first. Undecodable entries are dropped:
    /// a trace is only ever an optimisation.
    pub fn traces(&self, key: &Key) -> Result<Vec<Trace>, DbError> {
        let Some(v) = self.get(TRACES, key.to_string().as_bytes())? else {
            return Ok(Vec::new());
        };
        let mut r = Reader(&v);
        let mut out = Vec::new();
        if let Some(n) = r.u32() {
            for _ in 0..n {
                match Trace::decode(&mut r) {
                    Some(t) => out.push(t),
                    None => break,
                }
            }
        }
        Ok(out)
    }

    /// Records `trace` as the most recent one for `key`, dropping an identical older one
    /// and keeping at most MAX_TRACES.
    pub fn add_trace(&self, key: &Key, trace: Trace) -> Result<(), DbError> {
        let mut all = self.traces(key)?;
        all.retain(|t| t != &trace);
        all.insert(0, trace);
        all.truncate(MAX_TRACES);
        let mut buf = Vec::new();
        put_u32(&mut buf, all.len() as u32);
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

fn prefixed(table: u8, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 1);
    k.push(table);
    k.extend_from_slice(key);
    k
}

fn stat_key(algo: &str, path: &str) -> String {
    format!("{algo}\0{path}")
}

fn syntax_key(raw: &[u8], hasher: &str) -> Vec<u8> {
    let mut k = raw.to_vec();
    k.extend_from_slice(hasher.as_bytes());
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_that_write_nothing_do_not_pile_up_logs() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        db.put_note("t", b"v").unwrap();
        drop(db);
        let logs = || {
            std::fs::read_dir(dir.path())
                .unwrap()
                .filter(|e| e.as_ref().unwrap().path().extension() == Some("log".as_ref()))
                .count()
        };
        for _ in 0..20 {
            drop(Db::open(dir.path()).unwrap());
            assert!(logs() <= MAX_LOGS + 1, "{} logs", logs());
        }
        let db = Db::open(dir.path()).unwrap();
        assert_eq!(db.note("t").unwrap().as_deref(), Some(&b"v"[..]));
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

    #[test]
    fn a_second_open_reports_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let _db = Db::open(dir.path()).unwrap();
        assert!(matches!(Db::open(dir.path()), Err(DbError::Locked(_))));
    }
}
