//! [`Portico`]: the assembled domain services that every front door calls.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use portico_keys::MasterKey;

use crate::clock::{Clock, UnixTime};
use crate::directory::{Tenant, TenantRef};
use crate::keyring::KeyRing;
use crate::lockout::LockoutPolicy;
use crate::password::PasswordHasher;
use crate::ratelimit::RateLimits;
use crate::settings::Settings;
use crate::store::Store;

/// The domain services, shared by all front doors (cheap to clone behind an `Arc`).
#[derive(Debug)]
pub struct Portico {
    /// Lifetimes, limits and the public URL.
    pub settings: Settings,
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Signing keys.
    pub keys: KeyRing,
    /// Password hashing pool.
    pub passwords: PasswordHasher,
    /// Credential-check rate limits.
    pub rate_limits: RateLimits,
    /// Smart lockout.
    pub lockout: LockoutPolicy,
    /// Keys wrong-password fingerprints, so stored fingerprints cannot be guessed offline.
    pub(crate) fingerprint_key: aws_lc_rs::hmac::Key,
    /// Keys CSRF form tokens.
    form_key: aws_lc_rs::hmac::Key,
    /// Tenants never change id or name, so found tenants are cached for good.
    tenants: RwLock<HashMap<TenantRef, Tenant>>,
}

impl Portico {
    /// Assembles the services.
    pub fn new(
        settings: Settings,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        master: MasterKey,
    ) -> Self {
        let fingerprint_key = aws_lc_rs::hmac::Key::new(
            aws_lc_rs::hmac::HMAC_SHA256,
            &master.derive("portico/lockout-fingerprint/v1"),
        );
        let form_key = aws_lc_rs::hmac::Key::new(
            aws_lc_rs::hmac::HMAC_SHA256,
            &master.derive("portico/form-token/v1"),
        );
        let keys = KeyRing::new(Arc::new(master), settings.key_reload_secs);
        let passwords = PasswordHasher::new(settings.password_hash_concurrency);
        Self {
            settings,
            store,
            clock,
            keys,
            passwords,
            rate_limits: RateLimits::default(),
            lockout: LockoutPolicy::default(),
            fingerprint_key,
            form_key,
            tenants: RwLock::new(HashMap::new()),
        }
    }

    /// Now, by the injected clock.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// The issuer of a tenant's tokens: `{public_url}/{tenant_id}/v2.0`.
    pub fn issuer(&self, tenant: &Tenant) -> String {
        format!("{}/{}/v2.0", self.settings.public_url, tenant.id)
    }

    /// A CSRF token for forms, bound to `binding` (the browser's anti-forgery cookie value):
    /// only a page that could read that cookie's value can produce a matching token.
    pub fn form_token(&self, binding: &str) -> String {
        use base64::Engine as _;
        let tag = aws_lc_rs::hmac::sign(&self.form_key, binding.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
    }

    /// Whether `token` is the form token for `binding` (constant-time).
    pub fn form_token_matches(&self, binding: &str, token: &str) -> bool {
        use base64::Engine as _;
        let Ok(tag) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        !binding.is_empty()
            && aws_lc_rs::hmac::verify(&self.form_key, binding.as_bytes(), &tag).is_ok()
    }

    pub(crate) fn tenant_cache_get(&self, tenant: &TenantRef) -> Option<Tenant> {
        self.tenants.read().ok()?.get(tenant).cloned()
    }

    pub(crate) fn tenant_cache_put(&self, tenant: &Tenant) {
        if let Ok(mut cache) = self.tenants.write() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(TenantRef::Id(tenant.id), tenant.clone());
            cache.insert(TenantRef::Name(tenant.name.clone()), tenant.clone());
        }
    }
}
