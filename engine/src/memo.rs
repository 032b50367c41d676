//! The memo: each key's value for one invocation, computed at most once. A no-op build
//! memoizes a key per source file from both cores at once, so the table is in shards by the
//! key's hash, each with its own lock (one lock was a tenth of the time a no-op spent in
//! user space, contended; measured with perf on 100,000 files). A key is hashed once per
//! lookup: that hash picks the shard and finds the key in it.

use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use hashbrown::hash_table::{Entry, HashTable};
use rustc_hash::FxBuildHasher;
use tokio::sync::OnceCell;

use crate::{Computed, Failure, Key};

pub(crate) type Slot = Arc<OnceCell<Result<Computed, Failure>>>;

const SHARDS: usize = 16;

type Shard = HashTable<(Key, Slot)>;

#[derive(Default)]
pub(crate) struct Memo {
    shards: [Mutex<Shard>; SHARDS],
}

fn hash(key: &Key) -> u64 {
    FxBuildHasher.hash_one(key)
}

impl Memo {
    /// The key's hash and its shard, locked. The shard is picked by bits of the hash that
    /// the table in it does not use (the low ones for the bucket, the top seven for a tag).
    fn shard(&self, key: &Key) -> (u64, std::sync::MutexGuard<'_, Shard>) {
        let h = hash(key);
        let shard = &self.shards[(h >> 40) as usize % SHARDS];
        (h, shard.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The key's slot, made empty if it has none yet.
    pub fn slot(&self, key: &Key) -> Slot {
        let (h, mut shard) = self.shard(key);
        match shard.entry(h, |(k, _)| k == key, |(k, _)| hash(k)) {
            Entry::Occupied(e) => e.get().1.clone(),
            Entry::Vacant(e) => e.insert((key.clone(), Slot::default())).get().1.clone(),
        }
    }

    /// The key's slot, if it has one.
    pub fn get(&self, key: &Key) -> Option<Slot> {
        let (h, shard) = self.shard(key);
        shard
            .find(h, |(k, _)| k == key)
            .map(|(_, slot)| slot.clone())
    }

    /// Room for about `n` more keys: a table grown entry by entry moves them all a dozen
    /// times on the way to 100,000. A few keys are not worth a visit to every shard (a
    /// thousand small targets would make sixteen thousand).
    pub fn reserve(&self, n: usize) {
        if n < 64 * SHARDS {
            return;
        }
        for shard in &self.shards {
            shard
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .reserve(n / SHARDS + 1, |(k, _)| hash(k));
        }
    }

    /// What `pick` makes of each key that has a value, where it makes something.
    pub fn collect<T>(
        &self,
        mut pick: impl FnMut(&Key, &Result<Computed, Failure>) -> Option<T>,
    ) -> Vec<T> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            out.extend(shard.iter().filter_map(|(k, slot)| pick(k, slot.get()?)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    #[test]
    fn a_key_has_one_slot_and_only_values_set_are_collected() {
        let memo = Memo::default();
        let keys: Vec<Key> = (0..2000)
            .map(|i| Key::Input {
                kind: "file".into(),
                arg: format!("raw:src/f{i}.txt").into(),
            })
            .collect();
        assert!(memo.get(&keys[0]).is_none());
        memo.reserve(keys.len());
        for (i, k) in keys.iter().enumerate() {
            let slot = memo.slot(k);
            if i % 2 == 0 {
                slot.set(Ok(Computed::new(Value::Text(i.to_string()))))
                    .unwrap();
            }
        }
        for k in &keys {
            assert!(Arc::ptr_eq(&memo.slot(k), &memo.get(k).unwrap()));
        }
        let set = memo.collect(|k, done| Some((k.clone(), done.as_ref().ok()?.hash)));
        assert_eq!(set.len(), 1000);
        for (k, hash) in set {
            let i: usize = k
                .to_string()
                .trim_start_matches("file:raw:src/f")
                .trim_end_matches(".txt")
                .parse()
                .unwrap();
            assert_eq!(i % 2, 0);
            assert_eq!(hash, Value::Text(i.to_string()).hash());
        }
    }
}
