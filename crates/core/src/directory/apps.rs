//! Managing applications: register, list, show, change and delete. Every field an operator
//! sets is checked by the same rules whether the app is new or changed.

use super::application::{
    LogoutChannel, normalize_cors_origin, validate_logout_uri, validate_optional_claim,
    validate_redirect_uri,
};
use super::{Application, ExposedApi, NewApplication, TenantRef};
use crate::clock::UnixTime;
use crate::ids::{ClientId, TenantId};
use crate::secret::{digest_secret, random_token};
use crate::store::ClientSecretRecord;
use crate::{CoreError, Portico};

/// Days a client secret works unless its operator says otherwise.
pub const DEFAULT_SECRET_DAYS: u32 = 365;
/// The longest a client secret may work (Entra's limit: two years).
pub const MAX_SECRET_DAYS: u32 = 730;
/// Secrets one application may have at once (enough to rotate; more is a leak waiting).
const MAX_SECRETS: usize = 10;

/// A client secret just made: the secret in clear (shown once) and what is stored of it.
#[derive(Debug, Clone)]
pub struct NewClientSecret {
    /// The secret; only ever returned here.
    pub secret: String,
    /// What is stored (the digest, the hint, the expiry).
    pub record: ClientSecretRecord,
}

/// Makes a secret for an application, working for `days` (the default if `None`).
fn new_secret(
    tenant: TenantId,
    client_id: ClientId,
    days: Option<u32>,
    now: UnixTime,
) -> Result<NewClientSecret, CoreError> {
    let days = days.unwrap_or(DEFAULT_SECRET_DAYS);
    if !(1..=MAX_SECRET_DAYS).contains(&days) {
        return Err(CoreError::Invalid(format!(
            "a client secret works 1 to {MAX_SECRET_DAYS} days"
        )));
    }
    let secret = random_token()?;
    let record = ClientSecretRecord {
        tenant_id: tenant,
        client_id,
        id: uuid::Uuid::new_v4().to_string(),
        secret_digest: digest_secret(&secret),
        hint: secret.chars().take(3).collect(),
        created_at: now,
        expires_at: Some(now + i64::from(days) * 24 * 3600),
    };
    Ok(NewClientSecret { secret, record })
}

/// A freshly registered application and, for confidential clients, its secret (shown once).
#[derive(Debug, Clone)]
pub struct CreatedApplication {
    /// The stored application.
    pub application: Application,
    /// The client secret in clear; only ever returned here.
    pub client_secret: Option<String>,
}

/// Changes to an application: what is left out stays as it is, and a list given replaces
/// the old one.
#[derive(Debug, Clone, Default)]
pub struct AppChanges {
    /// Display name.
    pub name: Option<String>,
    /// Redirect URIs (matched exactly; also the allowed post-logout redirect URIs).
    pub redirect_uris: Option<Vec<String>>,
    /// User attributes to put into the app's tokens.
    pub optional_claims: Option<Vec<String>>,
    /// The native-authentication API (public clients only).
    pub native_auth: Option<bool>,
    /// Origins allowed to call the native-authentication API from a browser.
    pub cors_origins: Option<Vec<String>>,
    /// Application ID URI (`api://…` or `https://…`), the name clients ask for its API by.
    pub identifier_uri: Option<String>,
    /// The API the app exposes (scopes and app roles), replacing the old one.
    pub api: Option<ExposedApi>,
    /// Entra's "assignment required".
    pub assignment_required: Option<bool>,
    /// The device code flow (native and web apps).
    pub device_code: Option<bool>,
    /// Authorization requests must be pushed (PAR).
    pub require_par: Option<bool>,
    /// Token requests must carry a DPoP proof.
    pub require_dpop: Option<bool>,
    /// The `groups` claim in the app's tokens.
    pub groups_claim: Option<super::GroupsClaim>,
    /// Access-token lifetime in seconds; `Some(None)` goes back to the server's.
    pub access_token_lifetime_secs: Option<Option<i64>>,
    /// Refresh-token idle lifetime in seconds; `Some(None)` goes back to the server's.
    pub refresh_token_lifetime_secs: Option<Option<i64>>,
    /// Public keys for `private_key_jwt`, replacing the old ones (empty: none).
    pub client_keys: Option<Vec<jsonwebtoken::jwk::Jwk>>,
    /// Tokens from the authorization endpoint (web and single-page apps).
    pub implicit: Option<super::ImplicitGrant>,
    /// Back-channel logout URI; `Some(None)` removes it.
    pub backchannel_logout_uri: Option<Option<String>>,
    /// Front-channel logout URI; `Some(None)` removes it.
    pub frontchannel_logout_uri: Option<Option<String>>,
    /// Names for claims extensions provide, replacing the old ones.
    pub claim_mappings: Option<Vec<super::ClaimMapping>>,
}

/// The shortest and longest access-token lifetime an app may set (Entra allows 10 minutes
/// to a day; five minutes suits apps that want to re-check often).
pub const ACCESS_TOKEN_LIFETIME_SECS: std::ops::RangeInclusive<i64> = 300..=86_400;
/// The shortest and longest refresh-token idle lifetime an app may set (10 minutes to 90
/// days; the tenant's absolute lifetime still applies).
pub const REFRESH_TOKEN_LIFETIME_SECS: std::ops::RangeInclusive<i64> = 600..=90 * 86_400;

/// `app` as an operator may store it: every rule checked, lists without repeats, origins in
/// the form browsers send.
fn checked(mut app: Application) -> Result<Application, CoreError> {
    let name = app.name.trim();
    if name.is_empty() || name.chars().count() > 256 {
        return Err(CoreError::Invalid(
            "application name must be 1-256 characters".into(),
        ));
    }
    app.name = name.to_owned();
    for uri in &app.redirect_uris {
        validate_redirect_uri(app.kind, uri).map_err(CoreError::Invalid)?;
    }
    dedup(&mut app.redirect_uris);
    if let Some(uri) = &app.identifier_uri {
        let parsed = url::Url::parse(uri).map_err(|_| {
            CoreError::Invalid(format!("identifier URI {uri:?} is not an absolute URI"))
        })?;
        // Scopes are `{identifier URI}/{name}`: a URI with a query, fragment or trailing
        // slash would make that ambiguous.
        // Another app's client id as `api://{id}` would shadow that app's own name.
        let foreign_id = uri
            .strip_prefix("api://")
            .and_then(|rest| rest.parse::<ClientId>().ok())
            .is_some_and(|id| id != app.client_id);
        // A scope (`{URI}/{name}`) must fit the 512 characters of one scope value.
        if uri.len() > 380
            || foreign_id
            || !uri.bytes().all(crate::oauth::is_scope_byte)
            || !matches!(parsed.scheme(), "api" | "https")
            || parsed.query().is_some()
            || parsed.fragment().is_some()
            || uri.ends_with('/')
            || uri.chars().any(char::is_whitespace)
        {
            return Err(CoreError::Invalid(format!(
                "identifier URI {uri:?} must be api://… or https://… (at most 380 characters, no query, fragment or trailing slash, not another app's client id)"
            )));
        }
    }
    app.api = std::mem::take(&mut app.api).checked()?;
    if !app.client_keys.is_empty() && !app.kind.is_confidential() {
        return Err(CoreError::Invalid(
            "client keys (private_key_jwt) are for confidential clients (web or daemon apps)"
                .into(),
        ));
    }
    if app.implicit != super::ImplicitGrant::Off
        && !matches!(app.kind, super::AppKind::Web | super::AppKind::Spa)
    {
        return Err(CoreError::Invalid(
            "tokens from the authorization endpoint are for web and single-page apps".into(),
        ));
    }
    if app.device_code && !matches!(app.kind, super::AppKind::Native | super::AppKind::Web) {
        return Err(CoreError::Invalid(
            "the device code flow is for native and web apps".into(),
        ));
    }
    if app.client_keys.len() > super::MAX_CLIENT_KEYS {
        return Err(CoreError::Invalid(format!(
            "an application has at most {} client keys",
            super::MAX_CLIENT_KEYS
        )));
    }
    for (what, lifetime, range) in [
        (
            "access-token",
            app.access_token_lifetime_secs,
            ACCESS_TOKEN_LIFETIME_SECS,
        ),
        (
            "refresh-token",
            app.refresh_token_lifetime_secs,
            REFRESH_TOKEN_LIFETIME_SECS,
        ),
    ] {
        if lifetime.is_some_and(|secs| !range.contains(&secs)) {
            return Err(CoreError::Invalid(format!(
                "the {what} lifetime must be {} to {} seconds",
                range.start(),
                range.end()
            )));
        }
    }
    // The native API and the front channel hand out tokens without a proof: an app that
    // requires DPoP uses neither, or its rule would have a way around it.
    if app.require_dpop
        && (app.native_auth || app.implicit == super::ImplicitGrant::IdTokenAndToken)
    {
        return Err(CoreError::Invalid(
            "an app that requires DPoP cannot use the native authentication API or receive access tokens from the authorization endpoint".into(),
        ));
    }
    if app.logout.backchannel.is_some() && app.kind == super::AppKind::Daemon {
        return Err(CoreError::Invalid(
            "daemon apps serve no user sessions: they take no back-channel logout URI".into(),
        ));
    }
    if app.logout.frontchannel.is_some()
        && !matches!(app.kind, super::AppKind::Web | super::AppKind::Spa)
    {
        return Err(CoreError::Invalid(
            "front-channel logout is for web and single-page apps".into(),
        ));
    }
    for (channel, uri) in [
        (LogoutChannel::Back, &app.logout.backchannel),
        (LogoutChannel::Front, &app.logout.frontchannel),
    ] {
        if let Some(uri) = uri {
            if uri.len() > 2048 {
                return Err(CoreError::Invalid(
                    "a logout URI has at most 2048 characters".into(),
                ));
            }
            validate_logout_uri(channel, uri, &app.redirect_uris).map_err(CoreError::Invalid)?;
        }
    }
    for claim in &app.optional_claims {
        validate_optional_claim(claim).map_err(CoreError::Invalid)?;
    }
    if app.claim_mappings.len() > 50 {
        return Err(CoreError::Invalid("an app maps at most 50 claims".into()));
    }
    for (i, mapping) in app.claim_mappings.iter().enumerate() {
        crate::extensions::validate_claim_name(&mapping.source)?;
        crate::extensions::validate_claim_name(&mapping.claim)?;
        let later = app.claim_mappings.iter().skip(i + 1);
        if later.clone().any(|m| m.source == mapping.source) {
            return Err(CoreError::Invalid(format!(
                "claim {:?} is mapped twice",
                mapping.source
            )));
        }
        if later.clone().any(|m| m.claim == mapping.claim) {
            return Err(CoreError::Invalid(format!(
                "two claims are mapped to {:?}",
                mapping.claim
            )));
        }
    }
    dedup(&mut app.optional_claims);
    if app.native_auth && app.kind.is_confidential() {
        return Err(CoreError::Invalid(
            "the native authentication API is for public clients (spa or native apps)".into(),
        ));
    }
    if !app.cors_origins.is_empty() && !app.native_auth {
        return Err(CoreError::Invalid(
            "CORS origins apply to the native authentication API: enable it too".into(),
        ));
    }
    app.cors_origins = app
        .cors_origins
        .iter()
        .map(|origin| normalize_cors_origin(origin).map_err(CoreError::Invalid))
        .collect::<Result<_, _>>()?;
    dedup(&mut app.cors_origins);
    Ok(app)
}

/// Drops repeats, keeping the first of each.
fn dedup(list: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    list.retain(|item| seen.insert(item.clone()));
}

impl Portico {
    /// An application as it would be registered: a new client id, a first secret for
    /// confidential clients, `adjust` applied, every rule checked. Nothing is stored.
    pub(crate) fn new_application(
        &self,
        tenant: &super::Tenant,
        new: NewApplication,
        adjust: impl FnOnce(&mut Application),
    ) -> Result<(Application, Option<NewClientSecret>), CoreError> {
        let client_id = ClientId::new_random();
        let now = self.now();
        let client_secret = if new.kind.is_confidential() {
            Some(new_secret(tenant.id, client_id, None, now)?)
        } else {
            None
        };
        let mut application = Application {
            client_id,
            tenant_id: tenant.id,
            name: new.name,
            kind: new.kind,
            redirect_uris: new.redirect_uris,
            identifier_uri: new.identifier_uri,
            optional_claims: new.optional_claims,
            native_auth: new.native_auth,
            cors_origins: new.cors_origins,
            api: ExposedApi::default(),
            assignment_required: false,
            device_code: false,
            require_par: false,
            require_dpop: false,
            groups_claim: super::GroupsClaim::Off,
            claim_mappings: Vec::new(),
            access_token_lifetime_secs: None,
            refresh_token_lifetime_secs: None,
            client_keys: new.client_keys,
            implicit: super::ImplicitGrant::Off,
            logout: new.logout,
            created_at: now,
        };
        adjust(&mut application);
        Ok((checked(application)?, client_secret))
    }

    /// Registers an application; confidential clients get a secret, returned only here.
    pub async fn create_application(
        &self,
        tenant: &TenantRef,
        new: NewApplication,
    ) -> Result<CreatedApplication, CoreError> {
        let tenant = self.tenant(tenant).await?;
        let (application, client_secret) = self.new_application(&tenant, new, |_| {})?;
        self.store
            .create_application(&application, client_secret.as_ref().map(|s| &s.record))
            .await?;
        self.applications_changed();
        Ok(CreatedApplication {
            application,
            client_secret: client_secret.map(|s| s.secret),
        })
    }

    /// The tenant's applications, oldest first.
    pub async fn list_applications(
        &self,
        tenant: &TenantRef,
    ) -> Result<Vec<Application>, CoreError> {
        let tenant = self.tenant(tenant).await?;
        Ok(self.store.applications(tenant.id).await?)
    }

    /// One application of the tenant, read from the store (not the cache: an operator sees
    /// what is stored).
    pub async fn show_application(
        &self,
        tenant: &TenantRef,
        client_id: ClientId,
    ) -> Result<Application, CoreError> {
        let tenant = self.tenant(tenant).await?;
        self.store
            .find_application(tenant.id, client_id)
            .await?
            .ok_or(CoreError::NotFound("application"))
    }

    /// Changes an application and returns it as stored. A redirect URI taken off is refused
    /// at once on this node, and within the application cache's lifetime on the others.
    pub async fn update_application(
        &self,
        tenant: &TenantRef,
        client_id: ClientId,
        changes: AppChanges,
    ) -> Result<Application, CoreError> {
        let mut app = self.show_application(tenant, client_id).await?;
        let AppChanges {
            name,
            redirect_uris,
            optional_claims,
            native_auth,
            cors_origins,
            identifier_uri,
            api,
            assignment_required,
            device_code,
            require_par,
            require_dpop,
            groups_claim,
            access_token_lifetime_secs,
            refresh_token_lifetime_secs,
            client_keys,
            implicit,
            backchannel_logout_uri,
            frontchannel_logout_uri,
            claim_mappings,
        } = changes;
        app.claim_mappings = claim_mappings.unwrap_or(app.claim_mappings);
        app.logout.backchannel = backchannel_logout_uri.unwrap_or(app.logout.backchannel);
        app.logout.frontchannel = frontchannel_logout_uri.unwrap_or(app.logout.frontchannel);
        app.device_code = device_code.unwrap_or(app.device_code);
        app.require_par = require_par.unwrap_or(app.require_par);
        app.require_dpop = require_dpop.unwrap_or(app.require_dpop);
        app.groups_claim = groups_claim.unwrap_or(app.groups_claim);
        app.implicit = implicit.unwrap_or(app.implicit);
        app.client_keys = client_keys.unwrap_or(app.client_keys);
        app.name = name.unwrap_or(app.name);
        app.identifier_uri = identifier_uri.or(app.identifier_uri);
        app.api = api.unwrap_or(app.api);
        app.assignment_required = assignment_required.unwrap_or(app.assignment_required);
        app.access_token_lifetime_secs =
            access_token_lifetime_secs.unwrap_or(app.access_token_lifetime_secs);
        app.refresh_token_lifetime_secs =
            refresh_token_lifetime_secs.unwrap_or(app.refresh_token_lifetime_secs);
        app.redirect_uris = redirect_uris.unwrap_or(app.redirect_uris);
        app.optional_claims = optional_claims.unwrap_or(app.optional_claims);
        app.native_auth = native_auth.unwrap_or(app.native_auth);
        // Turning the native API off takes its browser origins with it, unless new ones are
        // given (which the check then refuses).
        app.cors_origins = match cors_origins {
            Some(origins) => origins,
            None if !app.native_auth => Vec::new(),
            None => app.cors_origins,
        };
        let app = checked(app)?;
        self.store.update_application(&app).await?;
        self.applications_changed();
        tracing::info!(tenant.id = %app.tenant_id, client_id = %app.client_id, "application changed");
        Ok(app)
    }

    /// Deletes an application: its grants end (codes and refresh tokens stop working) and it
    /// leaves its user flow. SSO sessions stay: they belong to people, not to apps.
    pub async fn delete_application(
        &self,
        tenant: &TenantRef,
        client_id: ClientId,
    ) -> Result<(), CoreError> {
        let tenant = self.tenant(tenant).await?;
        if !self.store.delete_application(tenant.id, client_id).await? {
            return Err(CoreError::NotFound("application"));
        }
        self.applications_changed();
        // Its extensions no longer serve it (one attached to it alone now serves none).
        self.extensions_changed(tenant.id);
        tracing::info!(tenant.id = %tenant.id, %client_id, "application deleted");
        Ok(())
    }

    /// An application's client secrets (digests and hints only), oldest first.
    pub async fn list_client_secrets(
        &self,
        tenant: &TenantRef,
        client_id: ClientId,
    ) -> Result<Vec<ClientSecretRecord>, CoreError> {
        let app = self.show_application(tenant, client_id).await?;
        Ok(self.store.client_secrets(app.tenant_id, client_id).await?)
    }

    /// Adds a client secret (to rotate: add one, move the app to it, remove the old one);
    /// for confidential clients only, at most ten at once.
    pub async fn add_client_secret(
        &self,
        tenant: &TenantRef,
        client_id: ClientId,
        days: Option<u32>,
    ) -> Result<NewClientSecret, CoreError> {
        let app = self.show_application(tenant, client_id).await?;
        if !app.kind.is_confidential() {
            return Err(CoreError::Invalid(format!(
                "{} apps are public clients: they have no secret",
                app.kind
            )));
        }
        if self
            .store
            .client_secrets(app.tenant_id, client_id)
            .await?
            .len()
            >= MAX_SECRETS
        {
            return Err(CoreError::Invalid(format!(
                "an application has at most {MAX_SECRETS} secrets; remove one first"
            )));
        }
        let made = new_secret(app.tenant_id, client_id, days, self.now())?;
        self.store.add_client_secret(&made.record).await?;
        self.applications_changed();
        tracing::info!(tenant.id = %app.tenant_id, %client_id, secret.id = %made.record.id, "client secret added");
        Ok(made)
    }

    /// Removes a client secret: it stops working at once on this node, and within the
    /// application cache's lifetime on the others.
    pub async fn remove_client_secret(
        &self,
        tenant: &TenantRef,
        client_id: ClientId,
        id: &str,
    ) -> Result<(), CoreError> {
        let app = self.show_application(tenant, client_id).await?;
        if !self
            .store
            .remove_client_secret(app.tenant_id, client_id, id)
            .await?
        {
            return Err(CoreError::NotFound("client secret"));
        }
        self.applications_changed();
        tracing::info!(tenant.id = %app.tenant_id, %client_id, secret.id = %id, "client secret removed");
        Ok(())
    }
}
