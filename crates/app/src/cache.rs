//! Short-lived caches of what the hot paths read on every request and that rarely changes —
//! a server agent's credentials, an organisation's tool policy — so a claim, a result or a
//! tool call skips a database round trip. A change made through this process empties the
//! cache at once (an entry read before the change is never kept after it); a change made
//! through another hub process is seen within [`TTL`] (docs/decisions.md, 2026-12-01).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// How long an entry is used before it is read again.
pub const TTL: Duration = Duration::from_secs(1);
/// Past this many entries the cache starts over (it holds what is in use, not everything).
const MAX_ENTRIES: usize = 10_000;

/// When a value was read: the cache's generation then, and an outside one (e.g. the
/// organisations' status changes) the caller passes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp(u64, u64);

struct Entry<V> {
    value: V,
    read_at: Instant,
    stamp: Stamp,
}

pub struct TtlCache<K, V> {
    entries: Mutex<HashMap<K, Entry<V>>>,
    generation: AtomicU64,
    ttl: Duration,
}

impl<K, V> Default for TtlCache<K, V> {
    fn default() -> Self {
        TtlCache::with_ttl(TTL)
    }
}

impl<K, V> TtlCache<K, V> {
    pub fn with_ttl(ttl: Duration) -> Self {
        TtlCache {
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            ttl,
        }
    }
}

impl<K, V> std::fmt::Debug for TtlCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtlCache")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry<V>>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The stamp to read under: take it before reading the database, and pass it to `put`.
    pub fn stamp(&self, outside: u64) -> Stamp {
        Stamp(self.generation.load(Ordering::Acquire), outside)
    }

    /// The value, if it was read less than a TTL ago under this stamp.
    pub fn get(&self, key: &K, stamp: Stamp) -> Option<V> {
        let entries = self.entries();
        let entry = entries.get(key)?;
        (entry.stamp == stamp && entry.read_at.elapsed() < self.ttl).then(|| entry.value.clone())
    }

    /// Keeps a value read under `stamp` — unless the cache was invalidated meanwhile.
    pub fn put(&self, key: K, value: V, stamp: Stamp) {
        let mut entries = self.entries();
        if self.generation.load(Ordering::Acquire) != stamp.0 {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            key,
            Entry {
                value,
                read_at: Instant::now(),
                stamp,
            },
        );
    }

    /// Forgets everything (after a change made through this process).
    pub fn invalidate(&self) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_live_one_ttl_and_die_with_an_invalidation_or_an_outside_change() {
        let cache: TtlCache<u32, &str> = TtlCache::with_ttl(Duration::from_millis(500));
        let stamp = cache.stamp(0);
        assert_eq!(cache.get(&1, stamp), None);
        cache.put(1, "one", stamp);
        assert_eq!(cache.get(&1, stamp), Some("one"));
        // Something outside changed (e.g. an organisation was suspended).
        assert_eq!(cache.get(&1, cache.stamp(1)), None);
        // Too old.
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(cache.get(&1, stamp), None);

        // A value read before an invalidation is not kept after it.
        let before = cache.stamp(0);
        cache.invalidate();
        cache.put(2, "stale", before);
        assert_eq!(cache.get(&2, cache.stamp(0)), None);
        assert_eq!(cache.get(&2, before), None);
        let after = cache.stamp(0);
        cache.put(2, "fresh", after);
        assert_eq!(cache.get(&2, after), Some("fresh"));
        cache.invalidate();
        assert_eq!(cache.get(&2, cache.stamp(0)), None);
    }
}
