//! The key ring: each tenant's signing key and published JWKS, decrypted once and cached.
//!
//! Rotation keeps a `next` key published before it ever signs: rotating makes `next` current,
//! retires the old current key (still published until the tokens it signed have expired) and
//! creates a new `next`. Each node re-reads key states every `key_reload_secs`, and decrypts
//! only when they changed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use jsonwebtoken::DecodingKey;
use portico_keys::{Jwk, JwkSet, MasterKey, SigningAlgorithm, SigningKey};

use crate::CoreError;
use crate::clock::UnixTime;
use crate::ids::TenantId;
use crate::store::{KeyState, Store, StoredSigningKey};

/// One tenant's loaded keys.
#[derive(Debug)]
pub struct TenantKeys {
    /// The key that signs now.
    pub signing: SigningKey,
    /// The published JWKS document, serialised once.
    pub jwks_json: String,
    /// Verification keys by kid (every published key), for Portico's own token checks.
    pub verifying: HashMap<String, (SigningAlgorithm, DecodingKey)>,
    fingerprint: String,
    checked_at: AtomicI64,
}

/// Cache of every tenant's keys.
#[derive(Debug)]
pub struct KeyRing {
    master: Arc<MasterKey>,
    reload_secs: i64,
    cache: RwLock<HashMap<TenantId, Arc<TenantKeys>>>,
}

impl KeyRing {
    /// A ring that unseals keys with `master`.
    pub fn new(master: Arc<MasterKey>, reload_secs: i64) -> Self {
        Self {
            master,
            reload_secs,
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// Generates a key and seals it for storage. RSA generation takes tens of milliseconds, so
    /// it runs on the blocking pool.
    pub async fn generate(
        &self,
        tenant: TenantId,
        alg: SigningAlgorithm,
        state: KeyState,
        now: UnixTime,
    ) -> Result<StoredSigningKey, CoreError> {
        let master = Arc::clone(&self.master);
        tokio::task::spawn_blocking(move || {
            let (key, pkcs8) = SigningKey::generate(alg)?;
            let sealed_private = master.seal(key.kid(), &pkcs8)?;
            let public_jwk = serde_json::to_string(key.public_jwk())
                .map_err(|e| CoreError::Internal(format!("jwk: {e}")))?;
            Ok(StoredSigningKey {
                tenant_id: tenant,
                kid: key.kid().to_owned(),
                alg,
                state,
                public_jwk,
                sealed_private,
                created_at: now,
                publish_until: None,
            })
        })
        .await
        .map_err(|e| CoreError::Internal(format!("key generation task: {e}")))?
    }

    /// Forgets a tenant's cached keys (after a rotation on this node).
    pub fn invalidate(&self, tenant: TenantId) {
        if let Ok(mut cache) = self.cache.write() {
            cache.remove(&tenant);
        }
    }

    /// The tenant's keys, loading or refreshing them when needed.
    pub async fn tenant_keys(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        now: UnixTime,
    ) -> Result<Arc<TenantKeys>, CoreError> {
        let cached = self
            .cache
            .read()
            .ok()
            .and_then(|cache| cache.get(&tenant).cloned());
        if let Some(keys) = &cached
            && now - keys.checked_at.load(Ordering::Relaxed) < self.reload_secs
        {
            return Ok(Arc::clone(keys));
        }
        let rows = store.signing_keys(tenant).await?;
        let fingerprint = fingerprint(&rows, now);
        if let Some(keys) = cached
            && keys.fingerprint == fingerprint
        {
            keys.checked_at.store(now, Ordering::Relaxed);
            return Ok(keys);
        }
        let loaded = Arc::new(self.load(&rows, fingerprint, now)?);
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(tenant, Arc::clone(&loaded));
        }
        Ok(loaded)
    }

    fn load(
        &self,
        rows: &[StoredSigningKey],
        fingerprint: String,
        now: UnixTime,
    ) -> Result<TenantKeys, CoreError> {
        let current = rows
            .iter()
            .find(|row| row.state == KeyState::Current)
            .ok_or_else(|| CoreError::Internal("tenant has no current signing key".into()))?;
        let pkcs8 = self.master.open(&current.kid, &current.sealed_private)?;
        let signing = SigningKey::from_pkcs8(current.alg, &pkcs8)?;
        let mut published: Vec<&StoredSigningKey> =
            rows.iter().filter(|row| is_published(row, now)).collect();
        // Current first: some clients try keys in order.
        published.sort_by_key(|row| match row.state {
            KeyState::Current => 0,
            KeyState::Next => 1,
            KeyState::Retired => 2,
        });
        let mut keys = Vec::with_capacity(published.len());
        let mut verifying = HashMap::new();
        for row in published {
            let jwk: Jwk = serde_json::from_str(&row.public_jwk)
                .map_err(|e| CoreError::Internal(format!("stored jwk unreadable: {e}")))?;
            let jt_jwk: jsonwebtoken::jwk::Jwk = serde_json::from_str(&row.public_jwk)
                .map_err(|e| CoreError::Internal(format!("stored jwk unreadable: {e}")))?;
            let decoding = DecodingKey::from_jwk(&jt_jwk)
                .map_err(|e| CoreError::Internal(format!("stored jwk unusable: {e}")))?;
            verifying.insert(row.kid.clone(), (row.alg, decoding));
            keys.push(jwk);
        }
        let jwks_json = serde_json::to_string(&JwkSet { keys })
            .map_err(|e| CoreError::Internal(format!("jwks: {e}")))?;
        Ok(TenantKeys {
            signing,
            jwks_json,
            verifying,
            fingerprint,
            checked_at: AtomicI64::new(now),
        })
    }
}

fn is_published(row: &StoredSigningKey, now: UnixTime) -> bool {
    match row.state {
        KeyState::Current | KeyState::Next => true,
        KeyState::Retired => row.publish_until.is_some_and(|until| until > now),
    }
}

fn fingerprint(rows: &[StoredSigningKey], now: UnixTime) -> String {
    let mut parts: Vec<String> = rows
        .iter()
        .map(|row| {
            format!(
                "{}:{}:{}",
                row.kid,
                row.state.as_str(),
                is_published(row, now)
            )
        })
        .collect();
    parts.sort();
    parts.join(",")
}
