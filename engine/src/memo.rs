//! The memo: each key's value for one invocation, computed at most once. A no-op build
//! memoizes a key per source file from both cores at once, so the table is in shards by the
//! key's hash, each with its own lock (one lock was a tenth of the time a no-op spent in
//! user space, contended; measured with perf on 100,000 files).

use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use rustc_hash::{FxBuildHasher, FxHashMap};
use tokio::sync::OnceCell;

use crate::{Computed, Failure, Key};

pub(crate) type Slot = Arc<OnceCell<Result<Computed, Failure>>>;

const SHARDS: usize = 16;

#[derive(Default)]
pub(crate) struct Memo {
    shards: [Mutex<FxHashMap<Key, Slot>>; SHARDS],
}

impl Memo {
    fn shard(&self, key: &Key) -> std::sync::MutexGuard<'_, FxHashMap<Key, Slot>> {
        let i = FxBuildHasher.hash_one(key) as usize % SHARDS;
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key's slot, made empty if it has none yet.
    pub fn slot(&self, key: &Key) -> Slot {
        let mut shard = self.shard(key);
        match shard.get(key) {
            Some(slot) => slot.clone(),
            None => shard.entry(key.clone()).or_default().clone(),
        }
    }

    /// The key's slot, if it has one.
    pub fn get(&self, key: &Key) -> Option<Slot> {
        self.shard(key).get(key).cloned()
    }

    /// Room for about `n` more keys: a table grown entry by entry moves them all a dozen
    /// times on the way to 100,000.
    pub fn reserve(&self, n: usize) {
        for shard in &self.shards {
            shard
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .reserve(n / SHARDS + 1);
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
