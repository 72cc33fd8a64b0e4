//! A small time-bounded cache for hot directory reads (applications on every token request).
//!
//! Entries live `ttl`; writes on this node invalidate at once (a read that raced one is not
//! kept: `get_or_load`), writes on other nodes show within
//! `ttl`. Negative answers are cached too, so unknown client ids cannot bypass it to hammer the
//! store; the map is cleared when it grows past its bound rather than evicting precisely.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A TTL cache.
#[derive(Debug)]
pub struct TtlCache<K, V> {
    ttl: Duration,
    max_entries: usize,
    entries: RwLock<HashMap<K, (V, Instant)>>,
    /// Counts invalidations, so that a value read before one is not stored after it.
    generation: AtomicU64,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    /// A cache whose entries live `ttl`, holding at most `max_entries`.
    pub fn new(ttl: Duration, max_entries: usize) -> Self {
        Self {
            ttl,
            max_entries,
            entries: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }

    /// The cached value, if present and fresh.
    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.read().ok()?;
        let (value, stored) = entries.get(key)?;
        (stored.elapsed() < self.ttl).then(|| value.clone())
    }

    /// Stores a value.
    pub fn put(&self, key: K, value: V) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= self.max_entries {
                entries.clear();
            }
            entries.insert(key, (value, Instant::now()));
        }
    }

    /// The cached value, or the one `load` reads, kept unless the cache was invalidated while
    /// it was being read: a write on this node that lands between the read and the store
    /// (a revoked grant, a removed secret) must not be undone by putting back what was read
    /// before it.
    pub async fn get_or_load<E, F, Fut>(&self, key: K, load: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<V, E>>,
    {
        if let Some(found) = self.get(&key) {
            return Ok(found);
        }
        let since = self.generation.load(Ordering::Acquire);
        let found = load().await?;
        if let Ok(mut entries) = self.entries.write()
            && self.generation.load(Ordering::Acquire) == since
        {
            if entries.len() >= self.max_entries {
                entries.clear();
            }
            entries.insert(key, (found.clone(), Instant::now()));
        }
        Ok(found)
    }

    /// Forgets one key (after a write that affects only it).
    pub fn remove(&self, key: &K) {
        if let Ok(mut entries) = self.entries.write() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            entries.remove(key);
        }
    }

    /// Forgets everything (after a write that may affect many keys).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_clear() {
        let cache = TtlCache::new(Duration::from_secs(60), 2);
        cache.put(1, "a");
        assert_eq!(cache.get(&1), Some("a"));
        cache.put(2, "b");
        cache.put(3, "c");
        assert_eq!(cache.get(&1), None, "cleared at the bound");
        assert_eq!(cache.get(&3), Some("c"));
        cache.clear();
        assert_eq!(cache.get(&3), None);
        let short = TtlCache::new(Duration::ZERO, 10);
        short.put(1, 1);
        assert_eq!(short.get(&1), None);
    }

    #[tokio::test]
    async fn a_value_read_before_an_invalidation_is_not_kept_after_it() {
        let cache = TtlCache::new(Duration::from_secs(60), 10);
        // The store read races a revocation on this node, which clears the cache.
        let read = cache
            .get_or_load(1, || async {
                cache.clear();
                Ok::<_, ()>("granted")
            })
            .await;
        assert_eq!(read, Ok("granted"), "the caller still gets what it read");
        assert_eq!(cache.get(&1), None, "but it is not kept");
        let read = cache
            .get_or_load(1, || async { Ok::<_, ()>("revoked") })
            .await;
        assert_eq!(read, Ok("revoked"));
        assert_eq!(cache.get(&1), Some("revoked"));
    }
}
