//! A small time-bounded cache for hot directory reads (applications on every token request).
//!
//! Entries live `ttl`; writes on this node invalidate at once, writes on other nodes show within
//! `ttl`. Negative answers are cached too, so unknown client ids cannot bypass it to hammer the
//! store; the map is cleared when it grows past its bound rather than evicting precisely.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// A TTL cache.
#[derive(Debug)]
pub struct TtlCache<K, V> {
    ttl: Duration,
    max_entries: usize,
    entries: RwLock<HashMap<K, (V, Instant)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    /// A cache whose entries live `ttl`, holding at most `max_entries`.
    pub fn new(ttl: Duration, max_entries: usize) -> Self {
        Self {
            ttl,
            max_entries,
            entries: RwLock::new(HashMap::new()),
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

    /// Forgets one key (after a write that affects only it).
    pub fn remove(&self, key: &K) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(key);
        }
    }

    /// Forgets everything (after a write that may affect many keys).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
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
}
