//! [`Portico`]: the assembled domain services that every front door calls.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use portico_keys::MasterKey;

use crate::cache::TtlCache;
use crate::clock::{Clock, UnixTime};
use crate::directory::{Application, Tenant, TenantRef};
use crate::ids::{ClientId, TenantId};
use crate::keyring::KeyRing;
use crate::lockout::LockoutPolicy;
use crate::password::PasswordHasher;
use crate::ratelimit::RateLimits;
use crate::settings::Settings;
use crate::store::Store;
use crate::{CoreError, StoreError};

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
    /// Rung when this node queues a message someone waits for (a code): the delivery worker
    /// sends it at once instead of at its next look.
    pub outbox_queued: Arc<tokio::sync::Notify>,
    /// Keys wrong-password fingerprints, so stored fingerprints cannot be guessed offline.
    pub(crate) fingerprint_key: aws_lc_rs::hmac::Key,
    /// Keys CSRF form tokens.
    form_key: aws_lc_rs::hmac::Key,
    /// Keys one-time passcode digests.
    pub(crate) otp_key: aws_lc_rs::hmac::Key,
    /// Keys recovery-code digests, so a leaked table cannot be brute-forced offline.
    pub(crate) recovery_key: aws_lc_rs::hmac::Key,
    /// Authenticates continuation tokens (the native API's handles on flows).
    pub(crate) continuation_key: aws_lc_rs::hmac::Key,
    /// Authenticates DPoP server nonces (RFC 9449 §8), so no node stores them.
    pub(crate) dpop_nonce_key: aws_lc_rs::hmac::Key,
    /// Seals secrets kept at rest (authenticator-app secrets).
    pub(crate) master: Arc<MasterKey>,
    /// Tenants never change id or name, so found tenants are cached for good.
    tenants: RwLock<HashMap<TenantRef, Tenant>>,
    /// Applications by client id (every token request reads one or two).
    applications: TtlCache<(TenantId, ClientId), Option<Application>>,
    /// Client ids by Application ID URI.
    identifier_uris: TtlCache<(TenantId, String), Option<ClientId>>,
    /// Client secrets (digests) by application, read on every confidential token request.
    client_secrets: TtlCache<(TenantId, ClientId), Vec<crate::store::ClientSecretRecord>>,
    /// What each client app holds on the APIs, read on every client-credentials request.
    permission_grants: TtlCache<(TenantId, ClientId), Arc<Vec<crate::store::PermissionGrant>>>,
    /// Origins the tenant's native-auth apps allow (CORS), read on every cross-origin call.
    browser_origins: TtlCache<TenantId, Arc<BrowserOrigins>>,
    /// Branding, read on every page.
    brandings: TtlCache<TenantId, std::sync::Arc<crate::directory::Branding>>,
    /// How extension calls are made (set by the server at start).
    pub(crate) callouts: std::sync::OnceLock<Arc<dyn crate::extensions::CalloutTransport>>,
    /// The server's own handle on these services, for work that goes on after a request
    /// is answered (a code an extension delivers); unset in management commands.
    pub(crate) shared: std::sync::OnceLock<std::sync::Weak<Portico>>,
    /// Callout tokens by tenant and audience, reused for half their lifetime.
    pub(crate) callout_tokens: TtlCache<(TenantId, String), String>,
    /// Each tenant's custom authentication extensions, read at every token issuance.
    pub(crate) extensions_cache: TtlCache<TenantId, Arc<Vec<crate::extensions::Extension>>>,
    /// Each tenant's user flows and the apps they serve, read at the start of every sign-in.
    user_flows_cache: TtlCache<TenantId, Arc<Vec<crate::directory::UserFlow>>>,
    /// Tenant settings, read on every token grant and sign-in flow.
    pub(crate) tenant_settings_cache:
        TtlCache<TenantId, std::sync::Arc<crate::directory::TenantSettings>>,
}

/// How long another node's change to an application may take to show here.
const APPLICATION_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// The endpoints browsers may call cross-origin, each for its own set of origins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserDoor {
    /// The native-authentication endpoints: the CORS origins native-auth apps list.
    NativeApi,
    /// The token endpoint: those, and the origins of single-page apps' redirect URIs (SPAs
    /// redeem codes and refresh tokens from the browser).
    Token,
}

/// A tenant's cross-origin callers, sorted for lookup.
#[derive(Debug, Default)]
struct BrowserOrigins {
    native: Vec<String>,
    token: Vec<String>,
}

impl BrowserOrigins {
    fn of(apps: &[Application]) -> Self {
        let mut native: Vec<String> = apps
            .iter()
            .filter(|app| app.native_auth)
            .flat_map(|app| app.cors_origins.iter().cloned())
            .collect();
        native.sort();
        native.dedup();
        let mut token: Vec<String> = native
            .iter()
            .cloned()
            .chain(apps.iter().flat_map(Application::spa_origins))
            .collect();
        token.sort();
        token.dedup();
        Self { native, token }
    }
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
        let recovery_key = aws_lc_rs::hmac::Key::new(
            aws_lc_rs::hmac::HMAC_SHA256,
            &master.derive("portico/recovery-code/v1"),
        );
        let otp_key = aws_lc_rs::hmac::Key::new(
            aws_lc_rs::hmac::HMAC_SHA256,
            &master.derive("portico/otp/v1"),
        );
        let continuation_key = aws_lc_rs::hmac::Key::new(
            aws_lc_rs::hmac::HMAC_SHA256,
            &master.derive("portico/continuation-token/v1"),
        );
        let dpop_nonce_key = aws_lc_rs::hmac::Key::new(
            aws_lc_rs::hmac::HMAC_SHA256,
            &master.derive("portico/dpop-nonce/v1"),
        );
        let master = Arc::new(master);
        let keys = KeyRing::new(Arc::clone(&master), settings.key_reload_secs);
        let passwords = PasswordHasher::new(settings.password_hash_concurrency);
        let rate_limits = RateLimits::new(&settings.rate_limits);
        Self {
            settings,
            store,
            clock,
            keys,
            passwords,
            rate_limits,
            lockout: LockoutPolicy::default(),
            outbox_queued: Arc::new(tokio::sync::Notify::new()),
            fingerprint_key,
            form_key,
            otp_key,
            recovery_key,
            continuation_key,
            dpop_nonce_key,
            master,
            tenants: RwLock::new(HashMap::new()),
            applications: TtlCache::new(APPLICATION_CACHE_TTL, 100_000),
            identifier_uris: TtlCache::new(APPLICATION_CACHE_TTL, 100_000),
            client_secrets: TtlCache::new(APPLICATION_CACHE_TTL, 100_000),
            permission_grants: TtlCache::new(APPLICATION_CACHE_TTL, 100_000),
            brandings: TtlCache::new(APPLICATION_CACHE_TTL, 10_000),
            tenant_settings_cache: TtlCache::new(APPLICATION_CACHE_TTL, 10_000),
            extensions_cache: TtlCache::new(APPLICATION_CACHE_TTL, 10_000),
            user_flows_cache: TtlCache::new(APPLICATION_CACHE_TTL, 10_000),
            callouts: std::sync::OnceLock::new(),
            shared: std::sync::OnceLock::new(),
            callout_tokens: TtlCache::new(std::time::Duration::from_secs(300), 10_000),
            browser_origins: TtlCache::new(APPLICATION_CACHE_TTL, 10_000),
        }
    }

    /// Seals and opens outbox bodies (the delivery worker gets one too).
    pub fn outbox_seal(&self) -> crate::outbox::OutboxSeal {
        crate::outbox::OutboxSeal::new(Arc::clone(&self.master))
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

    /// An application of this tenant by client id (cached for a few seconds).
    pub async fn application(
        &self,
        tenant: TenantId,
        client_id: ClientId,
    ) -> Result<Option<Application>, StoreError> {
        self.applications
            .get_or_load((tenant, client_id), || {
                self.store.find_application(tenant, client_id)
            })
            .await
    }

    /// An application's client secrets (cached like the application).
    pub(crate) async fn cached_client_secrets(
        &self,
        tenant: TenantId,
        client_id: ClientId,
    ) -> Result<Vec<crate::store::ClientSecretRecord>, StoreError> {
        self.client_secrets
            .get_or_load((tenant, client_id), || {
                self.store.client_secrets(tenant, client_id)
            })
            .await
    }

    /// What a client app holds on every API (cached like the application: a grant or revocation
    /// on this node shows at once, on another within the cache's lifetime).
    pub(crate) async fn cached_permission_grants(
        &self,
        tenant: TenantId,
        client_id: ClientId,
    ) -> Result<Arc<Vec<crate::store::PermissionGrant>>, StoreError> {
        self.permission_grants
            .get_or_load((tenant, client_id), || async move {
                Ok(Arc::new(
                    self.store.permission_grants(tenant, client_id).await?,
                ))
            })
            .await
    }

    /// Whether a page on `origin` may call `door` cross-origin for some app of the tenant
    /// (cached for a few seconds). A preflight names no client, so it is answered for the
    /// tenant; the request that follows is checked against its own app.
    pub async fn browser_origin_known(
        &self,
        tenant: TenantId,
        door: BrowserDoor,
        origin: &str,
    ) -> Result<bool, StoreError> {
        let origins = self
            .browser_origins
            .get_or_load(tenant, || async move {
                let apps = self.store.browser_apps(tenant).await?;
                Ok::<_, StoreError>(Arc::new(BrowserOrigins::of(&apps)))
            })
            .await?;
        let list = match door {
            BrowserDoor::NativeApi => &origins.native,
            BrowserDoor::Token => &origins.token,
        };
        Ok(list.binary_search_by(|o| o.as_str().cmp(origin)).is_ok())
    }

    /// An application of this tenant by Application ID URI (cached for a few seconds).
    pub async fn application_by_identifier_uri(
        &self,
        tenant: TenantId,
        identifier_uri: &str,
    ) -> Result<Option<Application>, CoreError> {
        let key = (tenant, identifier_uri.to_owned());
        let client_id = match self.identifier_uris.get(&key) {
            Some(client_id) => client_id,
            None => {
                let found = self
                    .store
                    .find_application_by_identifier_uri(tenant, identifier_uri)
                    .await?;
                let client_id = found.as_ref().map(|app| app.client_id);
                self.identifier_uris.put(key, client_id);
                if let Some(app) = found {
                    self.applications
                        .put((tenant, app.client_id), Some(app.clone()));
                    return Ok(Some(app));
                }
                client_id
            }
        };
        match client_id {
            Some(client_id) => Ok(self.application(tenant, client_id).await?),
            None => Ok(None),
        }
    }

    /// A tenant's branding (cached for a few seconds).
    pub async fn branding(
        &self,
        tenant: TenantId,
    ) -> Result<std::sync::Arc<crate::directory::Branding>, CoreError> {
        self.brandings
            .get_or_load(tenant, || async move {
                Ok(std::sync::Arc::new(self.store.branding(tenant).await?))
            })
            .await
    }

    /// Replaces a tenant's branding after checking it (`known_text` says which page-text keys
    /// exist; the catalogs live with the pages).
    pub async fn set_branding(
        &self,
        tenant: &TenantRef,
        mut branding: crate::directory::Branding,
        known_text: impl Fn(&str) -> bool,
    ) -> Result<crate::directory::Branding, CoreError> {
        let tenant = self.tenant(tenant).await?;
        branding.validate(known_text).map_err(CoreError::Invalid)?;
        branding.logo_type = branding
            .logo
            .as_deref()
            .and_then(crate::directory::sniff_image)
            .map(str::to_owned);
        self.store
            .set_branding(tenant.id, &branding, self.now())
            .await?;
        self.brandings.clear();
        Ok(branding)
    }

    /// Forgets cached applications after a write on this node (and the user flows, which
    /// name the apps they serve).
    pub(crate) fn applications_changed(&self) {
        self.applications.clear();
        self.user_flows_cache.clear();
        self.identifier_uris.clear();
        self.client_secrets.clear();
        self.permission_grants.clear();
    }

    /// The tenant's user flows, default first, through a short cache (every sign-in and
    /// SCIM request reads them; a change on this node shows at once, on another within the
    /// cache's lifetime). Checks that guard a credential's removal read the store instead.
    pub(crate) async fn cached_user_flows(
        &self,
        tenant: TenantId,
    ) -> Result<Arc<Vec<crate::directory::UserFlow>>, CoreError> {
        self.user_flows_cache
            .get_or_load(tenant, || async move {
                Ok(Arc::new(self.store.user_flows(tenant).await?))
            })
            .await
    }

    /// Forgets a tenant's cached user flows after a change on this node.
    pub(crate) fn user_flows_changed(&self, tenant: TenantId) {
        self.user_flows_cache.remove(&tenant);
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
