//! The stat and syntax caches on disk, kept as git keeps its index: a snapshot (`caches`) read
//! whole at open, and a log (`caches.log`) of the entries written since, replayed after it.
//! A no-op build reads the two files in a few milliseconds and writes nothing; RocksDB took
//! most of a small no-op to scan the same entries (one iterator step and one copy each).
//!
//! Both files are checksummed (CRC-32): a damaged snapshot is reported as a damaged
//! database; a log cut short by a killed build is cut back to its last whole entry. Entries
//! only ever save a hash, so losing the last ones (the log is written through a buffer)
//! costs a rehash, never a wrong result. The snapshot is rewritten at close once the log has
//! grown to a quarter of it, through a temporary file and a rename.

use std::fs::{self, File, OpenOptions};
use std::hash::BuildHasher;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

const MAGIC: &[u8; 16] = b"kbuild caches 1\n";
const SNAPSHOT: &str = "caches";
const LOG: &str = "caches.log";
/// A log shorter than this is never folded into the snapshot.
const MIN_FOLD: u64 = 1 << 20;

/// The cached tables, prefixed key → value: every entry's bytes side by side in one buffer
/// (the snapshot's own bytes, as read), found through a table of offsets. A no-op build looks
/// up an entry per file; one allocation for them all, not two per entry.
#[derive(Default)]
pub(super) struct Memory {
    /// Entries one after another: key length and value length (`u32` each), key, value. A
    /// replaced entry stays, unreferenced, until the snapshot is written again.
    bytes: Vec<u8>,
    /// Where each entry starts in `bytes`.
    index: HashTable<usize>,
    /// Where the first entry starts.
    start: usize,
}

impl Memory {
    /// The entry at `at`, if `bytes` holds a whole one there; and where the next starts.
    fn entry_at(bytes: &[u8], at: usize) -> Option<(&[u8], &[u8], usize)> {
        let len =
            |i: usize| Some(u32::from_le_bytes(bytes.get(i..i + 4)?.try_into().ok()?) as usize);
        let (k, v) = (len(at)?, len(at + 4)?);
        let key = bytes.get(at + 8..at + 8 + k)?;
        let value = bytes.get(at + 8 + k..at + 8 + k + v)?;
        Some((key, value, at + 8 + k + v))
    }

    fn entry(bytes: &[u8], at: usize) -> (&[u8], &[u8]) {
        let (k, v, _) = Memory::entry_at(bytes, at).expect("an entry the index points at");
        (k, v)
    }

    fn hash(key: &[u8]) -> u64 {
        FxBuildHasher.hash_one(key)
    }

    pub(super) fn get(&self, key: &[u8]) -> Option<&[u8]> {
        let at = self.index.find(Memory::hash(key), |&at| {
            Memory::entry(&self.bytes, at).0 == key
        })?;
        Some(Memory::entry(&self.bytes, *at).1)
    }

    /// Indexes the entry just appended at `at`.
    fn index_at(&mut self, at: usize) {
        let bytes = &self.bytes;
        let key = Memory::entry(bytes, at).0;
        let hash = Memory::hash(key);
        match self
            .index
            .find_mut(hash, |&old| Memory::entry(bytes, old).0 == key)
        {
            Some(old) => *old = at,
            None => {
                self.index
                    .insert_unique(hash, at, |&o| Memory::hash(Memory::entry(bytes, o).0));
            }
        }
    }

    pub(super) fn insert(&mut self, key: &[u8], value: &[u8]) {
        let at = self.bytes.len();
        put_entry(&mut self.bytes, key, value);
        self.index_at(at);
    }

    /// The memory of a snapshot's entries, which `bytes` holds from `start` on; `None` if
    /// they do not parse.
    fn of(bytes: Vec<u8>, start: usize) -> Option<Memory> {
        // Every entry found first, so the table is made once at its size: grown as it
        // fills, it was rehashed a dozen times, each a pass over every key (half of a
        // large load).
        let mut starts = Vec::new();
        let mut at = start;
        while at < bytes.len() {
            starts.push(at);
            at = Memory::entry_at(&bytes, at)?.2;
        }
        let mut m = Memory {
            bytes,
            index: HashTable::with_capacity(starts.len()),
            start,
        };
        for at in starts {
            m.index_at(at);
        }
        Some(m)
    }

    /// The live entries in the order they were written.
    fn live(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let mut at = self.start;
        std::iter::from_fn(move || loop {
            let (k, v, next) = Memory::entry_at(&self.bytes, at)?;
            let here = at;
            at = next;
            if self.index.find(Memory::hash(k), |&o| o == here).is_some() {
                return Some((k, v));
            }
        })
    }
}

fn put_entry(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(value);
}

/// Why the snapshot could not be read.
#[derive(Debug, thiserror::Error)]
pub(super) enum CachesError {
    #[error("{path}: {error}")]
    Io { path: String, error: io::Error },
    #[error("{path} is damaged: {why}")]
    Damaged { path: String, why: &'static str },
}

pub(super) struct Caches {
    pub(super) memory: Memory,
    dir: PathBuf,
    /// The log, opened for appending at the first insert.
    log: Option<BufWriter<File>>,
    /// Bytes in the log file (written or buffered), and in the snapshot.
    log_len: u64,
    snapshot_len: u64,
}

impl Caches {
    /// Reads the snapshot and replays the log in `dir`; both missing is an empty cache.
    pub(super) fn load(dir: &Path) -> Result<Caches, CachesError> {
        let path = dir.join(SNAPSHOT);
        let io = |error| CachesError::Io {
            path: path.display().to_string(),
            error,
        };
        let damaged = |why| CachesError::Damaged {
            path: path.display().to_string(),
            why,
        };
        let mut memory = match fs::read(&path) {
            Ok(mut bytes) => {
                if bytes.len() < MAGIC.len() + 4 || &bytes[..MAGIC.len()] != MAGIC {
                    return Err(damaged("it does not start as a cache snapshot does"));
                }
                let body = bytes.len() - 4;
                let sum = u32::from_le_bytes(bytes[body..].try_into().expect("4 bytes"));
                if crc32fast::hash(&bytes[..body]) != sum {
                    return Err(damaged("its checksum does not match"));
                }
                bytes.truncate(body);
                Memory::of(bytes, MAGIC.len()).ok_or_else(|| damaged("an entry is cut short"))?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Memory::of(MAGIC.to_vec(), MAGIC.len()).expect("no entries")
            }
            Err(e) => return Err(io(e)),
        };
        let snapshot_len = memory.bytes.len() as u64;
        let log_path = dir.join(LOG);
        let log = match fs::read(&log_path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(error) => {
                return Err(CachesError::Io {
                    path: log_path.display().to_string(),
                    error,
                })
            }
        };
        let mut at = 0;
        while let Some((k, v, next)) = Memory::entry_at(&log, at) {
            match log.get(next..next + 4) {
                Some(sum) if crc32fast::hash(&log[at..next]).to_le_bytes() == sum => {
                    memory.insert(k, v);
                    at = next + 4;
                }
                _ => break,
            }
        }
        if at < log.len() {
            // A killed build's last entry, cut short: appends go after the whole ones.
            let cut = OpenOptions::new()
                .write(true)
                .open(&log_path)
                .and_then(|f| f.set_len(at as u64));
            cut.map_err(|error| CachesError::Io {
                path: log_path.display().to_string(),
                error,
            })?;
        }
        Ok(Caches {
            memory,
            dir: dir.to_path_buf(),
            log: None,
            log_len: at as u64,
            snapshot_len,
        })
    }

    /// Adds an entry to the memory and to the log.
    pub(super) fn insert(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        self.memory.insert(key, value);
        if self.log.is_none() {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join(LOG))?;
            self.log = Some(BufWriter::with_capacity(64 << 10, file));
        }
        let mut record = Vec::with_capacity(key.len() + value.len() + 12);
        put_entry(&mut record, key, value);
        record.extend_from_slice(&crc32fast::hash(&record).to_le_bytes());
        self.log_len += record.len() as u64;
        self.log.as_mut().expect("opened").write_all(&record)
    }

    /// Writes out what the log buffers, and folds a long log into a new snapshot.
    pub(super) fn close(&mut self) -> io::Result<()> {
        let Some(mut log) = self.log.take() else {
            return Ok(());
        };
        log.flush()?;
        if self.log_len < MIN_FOLD.max(self.snapshot_len / 4) {
            return Ok(());
        }
        let mut out = MAGIC.to_vec();
        for (k, v) in self.memory.live() {
            put_entry(&mut out, k, v);
        }
        out.extend_from_slice(&crc32fast::hash(&out).to_le_bytes());
        let fresh = self.dir.join(format!("{SNAPSHOT}.new"));
        fs::write(&fresh, &out)?;
        fs::rename(&fresh, self.dir.join(SNAPSHOT))?;
        // Killed before this, the log replays entries the snapshot has: the same values.
        log.get_ref().set_len(0)?;
        self.log_len = 0;
        self.snapshot_len = out.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_finds_every_entry_through_growth_and_the_latest_of_a_replaced_one() {
        let mut m = Memory::default();
        let key = |i: u32| format!("k{i}").into_bytes();
        for i in 0..5000u32 {
            m.insert(&key(i), &i.to_le_bytes());
        }
        m.insert(&key(7), b"new");
        m.insert(b"", b"empty key");
        for i in (0..5000u32).filter(|&i| i != 7) {
            assert_eq!(m.get(&key(i)), Some(&i.to_le_bytes()[..]), "{i}");
        }
        assert_eq!(m.get(&key(7)), Some(&b"new"[..]));
        assert_eq!(m.get(b""), Some(&b"empty key"[..]));
        assert_eq!(m.get(b"k5000"), None);
        assert_eq!(m.index.len(), 5001);
        assert_eq!(m.live().count(), 5001);
        assert_eq!(m.live().find(|(k, _)| *k == b"k7").unwrap().1, b"new");
    }

    fn entries(n: u32) -> Vec<(Vec<u8>, Vec<u8>)> {
        (0..n)
            .map(|i| (format!("key {i}").into_bytes(), vec![i as u8; 96]))
            .collect()
    }

    fn all_found(c: &Caches, want: &[(Vec<u8>, Vec<u8>)]) {
        for (k, v) in want {
            assert_eq!(c.memory.get(k), Some(&v[..]));
        }
    }

    /// What is written comes back at the next load: through the log while it is short, then
    /// through a snapshot once the log is folded into it, with replaced entries dropped.
    #[test]
    fn entries_survive_a_close_through_the_log_and_through_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Caches::load(dir.path()).unwrap();
        let few = entries(10);
        for (k, v) in &few {
            c.insert(k, v).unwrap();
        }
        c.close().unwrap();
        assert!(
            !dir.path().join(SNAPSHOT).exists(),
            "a short log stays a log"
        );
        let mut c = Caches::load(dir.path()).unwrap();
        all_found(&c, &few);
        let many = entries(20_000);
        for (k, v) in &many {
            c.insert(k, v).unwrap();
        }
        c.insert(b"key 3", b"replaced").unwrap();
        c.close().unwrap();
        assert_eq!(fs::metadata(dir.path().join(LOG)).unwrap().len(), 0);
        let c = Caches::load(dir.path()).unwrap();
        all_found(&c, &many[4..]);
        assert_eq!(c.memory.get(b"key 3"), Some(&b"replaced"[..]));
        assert_eq!(c.memory.live().count(), 20_000);
    }

    /// A build killed while writing leaves part of an entry: the whole ones are read, the
    /// rest cut off, and what is appended after it is found.
    #[test]
    fn a_log_cut_short_keeps_its_whole_entries_and_takes_new_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Caches::load(dir.path()).unwrap();
        let want = entries(5);
        for (k, v) in &want {
            c.insert(k, v).unwrap();
        }
        c.close().unwrap();
        let log = dir.path().join(LOG);
        let whole = fs::read(&log).unwrap();
        fs::write(&log, &whole[..whole.len() - 7]).unwrap();
        let mut c = Caches::load(dir.path()).unwrap();
        all_found(&c, &want[..4]);
        assert_eq!(c.memory.get(&want[4].0), None);
        c.insert(b"after", b"the cut").unwrap();
        c.close().unwrap();
        let c = Caches::load(dir.path()).unwrap();
        all_found(&c, &want[..4]);
        assert_eq!(c.memory.get(b"after"), Some(&b"the cut"[..]));
    }

    /// A flipped byte anywhere in the snapshot is damage, never a wrong entry.
    #[test]
    fn a_damaged_snapshot_is_reported_and_never_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Caches::load(dir.path()).unwrap();
        for (k, v) in &entries(20_000) {
            c.insert(k, v).unwrap();
        }
        c.close().unwrap();
        let path = dir.path().join(SNAPSHOT);
        let good = fs::read(&path).unwrap();
        for at in [3, MAGIC.len() + 2, good.len() / 2, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x10;
            fs::write(&path, &bad).unwrap();
            assert!(
                matches!(Caches::load(dir.path()), Err(CachesError::Damaged { .. })),
                "byte {at}"
            );
        }
        fs::write(&path, &good[..good.len() / 3]).unwrap();
        assert!(matches!(
            Caches::load(dir.path()),
            Err(CachesError::Damaged { .. })
        ));
    }
}
