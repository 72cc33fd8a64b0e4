//! Registering extensions: where each is called, for which event and apps, with which limits,
//! and the claims it may provide. Every rule is checked here, once, for the CLI and the admin
//! API alike.

use std::sync::Arc;

use super::ExtensionEvent;
use crate::clock::UnixTime;
use crate::directory::{AppKind, Application, NewApplication, TenantRef, is_internal_address};
use crate::ids::{ClientId, TenantId};
use crate::{CoreError, Portico};

/// The shortest and longest time a call may take (Entra's `timeoutInMilliseconds`).
pub const TIMEOUT_MS: std::ops::RangeInclusive<u32> = 200..=2000;
/// Entra's default timeout.
pub const DEFAULT_TIMEOUT_MS: u32 = 1000;
/// Claims one extension may declare.
const MAX_CLAIMS: usize = 50;

/// A registered extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Its id (a GUID: `customAuthenticationExtensionId` in the payloads).
    pub id: String,
    /// The operator's name for it, unique in the tenant.
    pub name: String,
    /// The step it is called at.
    pub event: ExtensionEvent,
    /// Where it is called (`https://`, or `http://` to a loopback address).
    pub target_url: String,
    /// The `aud` of the tokens its calls carry: an app registered here for it, or the id of
    /// an app registration the receiver already trusts (an Entra one, when migrating).
    pub resource_app_id: String,
    /// How long one attempt may take.
    pub timeout_ms: u32,
    /// Attempts after the first (0 or 1) on connection errors, timeouts and 5xx.
    pub retries: u8,
    /// Claims it may provide (token issuance; `claimsForTokenConfiguration`).
    pub claims: Vec<String>,
    /// One-time codes: when the call fails, Portico's own mailer sends the code.
    pub fallback: bool,
    /// Every app of the tenant, now and later (registered without `--app`).
    pub all_apps: bool,
    /// The apps it is attached to (when not all). Deleting an app detaches it; an extension
    /// whose apps are all gone serves none.
    pub apps: Vec<ClientId>,
    /// Password submit: the RSA key (SubjectPublicKeyInfo DER, base64) passwords are
    /// encrypted to.
    pub encryption_key: Option<String>,
    /// When it was registered.
    pub created_at: UnixTime,
}

impl Extension {
    /// Whether it serves this app.
    pub fn applies_to(&self, client: ClientId) -> bool {
        self.all_apps || self.apps.contains(&client)
    }

    /// The `kid` of the key passwords are encrypted to (password submit).
    pub fn encryption_key_id(&self) -> Option<String> {
        use base64::Engine as _;
        let der = base64::engine::general_purpose::STANDARD
            .decode(self.encryption_key.as_deref()?)
            .ok()?;
        Some(super::jwe::key_id(&der))
    }
}

/// What an operator supplies to register an extension.
#[derive(Debug, Clone)]
pub struct NewExtension {
    /// Unique name in the tenant.
    pub name: String,
    /// The step.
    pub event: ExtensionEvent,
    /// Where it is called.
    pub target_url: String,
    /// The audience of its tokens; `None`: Portico registers a resource app for it.
    pub resource_app_id: Option<String>,
    /// Apps it is attached to (none: all).
    pub apps: Vec<ClientId>,
    /// `None`: [`DEFAULT_TIMEOUT_MS`].
    pub timeout_ms: Option<u32>,
    /// `None`: one retry.
    pub retries: Option<u8>,
    /// Claims it may provide (token issuance only).
    pub claims: Vec<String>,
    /// Fall back to Portico's mailer when the call fails (one-time codes only).
    pub fallback: bool,
    /// Password submit (required there, refused elsewhere): the PEM public key or
    /// certificate whose RSA key passwords are encrypted to.
    pub encryption_key: Option<String>,
}

/// One call, as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionCall {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The extension called.
    pub extension_id: String,
    /// The event.
    pub event: ExtensionEvent,
    /// The sign-in's correlation id, as sent in the payload.
    pub correlation_id: String,
    /// The app the sign-in or token was for.
    pub client_id: Option<ClientId>,
    /// When the call started.
    pub at: UnixTime,
    /// `ok`, or what went wrong: `timeout`, `connection`, `refused` (an answer Entra would
    /// refuse), `error` (anything else).
    pub outcome: String,
    /// Entra's error number (1003xxx) of a failed call.
    pub error_code: Option<u32>,
    /// What was wrong, for the operator (never shown to the person).
    pub detail: Option<String>,
    /// From the first byte sent to the answer read, retries included.
    pub latency_ms: u32,
    /// Attempts made (1 or 2).
    pub attempts: u8,
}

/// A claim name an extension provides or an app emits: 1-128 letters, digits, `_`, `-`,
/// `.` and `:` (Entra's examples: `DateOfBirth`, `CustomRoles`, `correlationId`), never one
/// Portico sets itself.
pub(crate) fn validate_claim_name(name: &str) -> Result<(), CoreError> {
    let shaped = (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
    if !shaped {
        return Err(CoreError::Invalid(format!(
            "claim {name:?} must be 1-128 letters, digits, _, -, . or :"
        )));
    }
    if !settable_claim(name) {
        return Err(CoreError::Invalid(format!(
            "claim {name:?} is set by Portico itself"
        )));
    }
    Ok(())
}

/// Claims an extension's answer may never set: those Portico sets, and those a relying
/// party trusts as the directory's word (the address accounts are linked by, the kind and
/// caller of the token), which optional claims may carry but a company's service may not.
const DIRECTORY_CLAIMS: [&str; 4] = ["email", "idtyp", "appid", "appidacr"];

/// Whether an extension may provide a claim of this name (case-insensitively).
pub(crate) fn settable_claim(name: &str) -> bool {
    !crate::directory::is_reserved_claim(name)
        && !DIRECTORY_CLAIMS
            .iter()
            .any(|c| c.eq_ignore_ascii_case(name))
}

/// Whether `url`'s host is a loopback name or address (plain `http://` is allowed there,
/// for local development and tests).
pub(crate) fn loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A target URL: absolute, `https://` (Entra's 1003020) or `http://` to loopback, with a
/// host and no credentials or fragment. An address literal that is internal (other than
/// loopback) is refused unless the server allows private targets; names are checked again,
/// as addresses, when each call is made.
fn validate_target_url(target: &str, allow_private: bool) -> Result<url::Url, CoreError> {
    let invalid = |why: &str| CoreError::Invalid(format!("target URL {target:?} {why}"));
    if target.len() > 2048 {
        return Err(invalid("is longer than 2048 characters"));
    }
    let url = url::Url::parse(target).map_err(|_| invalid("is not an absolute URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if loopback_host(&url) => {}
        _ => {
            return Err(invalid(
                "must be https:// (or http:// to a loopback address)",
            ));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not carry credentials"));
    }
    if url.fragment().is_some() {
        return Err(invalid("must not have a fragment"));
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
        _ => None,
    };
    if let Some(ip) = literal
        && !ip.is_loopback()
        && is_internal_address(ip)
        && !allow_private
    {
        return Err(invalid(
            "is a private address (serve --callout-allow-private allows it)",
        ));
    }
    Ok(url)
}

impl NewExtension {
    /// The extension as it would be stored, every rule checked but the apps' existence.
    fn checked(
        self,
        tenant: TenantId,
        resource_app_id: String,
        allow_private: bool,
        now: UnixTime,
    ) -> Result<Extension, CoreError> {
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 128 {
            return Err(CoreError::Invalid(
                "an extension's name has 1-128 characters".into(),
            ));
        }
        validate_target_url(&self.target_url, allow_private)?;
        let timeout_ms = self.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        if !TIMEOUT_MS.contains(&timeout_ms) {
            return Err(CoreError::Invalid(format!(
                "the timeout is {} to {} milliseconds",
                TIMEOUT_MS.start(),
                TIMEOUT_MS.end()
            )));
        }
        let retries = self.retries.unwrap_or(1);
        if retries > 1 {
            return Err(CoreError::Invalid("retries are 0 or 1".into()));
        }
        if !self.claims.is_empty() && self.event != ExtensionEvent::TokenIssuanceStart {
            return Err(CoreError::Invalid(
                "claims are provided at token-issuance-start only".into(),
            ));
        }
        if self.claims.len() > MAX_CLAIMS {
            return Err(CoreError::Invalid(format!(
                "an extension provides at most {MAX_CLAIMS} claims"
            )));
        }
        for claim in &self.claims {
            validate_claim_name(claim)?;
        }
        if self.fallback && self.event != ExtensionEvent::OtpSend {
            return Err(CoreError::Invalid(
                "--fallback applies to otp-send only".into(),
            ));
        }
        let encryption_key = match (self.event, &self.encryption_key) {
            (ExtensionEvent::PasswordSubmit, Some(pem)) => {
                use base64::Engine as _;
                let der = super::jwe::encryption_key_der(pem)?;
                Some(base64::engine::general_purpose::STANDARD.encode(der))
            }
            (ExtensionEvent::PasswordSubmit, None) => {
                return Err(CoreError::Invalid(
                    "password-submit needs the RSA key passwords are encrypted to (--encryption-key)"
                        .into(),
                ));
            }
            (_, Some(_)) => {
                return Err(CoreError::Invalid(
                    "an encryption key applies to password-submit only".into(),
                ));
            }
            (_, None) => None,
        };
        let mut claims = self.claims;
        claims.sort();
        claims.dedup();
        let mut apps = self.apps;
        apps.sort_by_key(ToString::to_string);
        apps.dedup();
        Ok(Extension {
            tenant_id: tenant,
            id: uuid::Uuid::new_v4().to_string(),
            name,
            event: self.event,
            target_url: self.target_url,
            resource_app_id,
            timeout_ms,
            retries,
            claims,
            fallback: self.fallback,
            all_apps: apps.is_empty(),
            apps,
            encryption_key,
            created_at: now,
        })
    }
}

/// Whether two extensions of one event would both serve some app (at most one is called
/// per step, so the operator must choose).
fn overlaps(a: &Extension, b: &Extension) -> bool {
    a.event == b.event
        && (a.all_apps || b.all_apps || a.apps.iter().any(|app| b.apps.contains(app)))
}

impl Portico {
    /// Registers an extension; without a resource app id, a resource app is registered for
    /// it in the same transaction (its id is `aud` of the calls' tokens).
    pub async fn create_extension(
        &self,
        tenant: &TenantRef,
        new: NewExtension,
    ) -> Result<Extension, CoreError> {
        let tenant = self.tenant(tenant).await?;
        let now = self.now();
        let given = match &new.resource_app_id {
            Some(id) => Some(
                id.parse::<uuid::Uuid>()
                    .map_err(|_| CoreError::Invalid("the resource app id must be a GUID".into()))?
                    .hyphenated()
                    .to_string(),
            ),
            None => None,
        };
        let target = validate_target_url(&new.target_url, self.settings.callout_allow_private)?;
        let resource_app = match given {
            Some(_) => None,
            None => Some(self.resource_app_for(&tenant, &new.name, &target)?),
        };
        let resource_app_id = given
            .or_else(|| resource_app.as_ref().map(|app| app.client_id.to_string()))
            .unwrap_or_default();
        let extension = new.checked(
            tenant.id,
            resource_app_id,
            self.settings.callout_allow_private,
            now,
        )?;
        for client in &extension.apps {
            if self
                .store
                .find_application(tenant.id, *client)
                .await?
                .is_none()
            {
                return Err(CoreError::Invalid(format!("no application {client}")));
            }
        }
        let existing = self.store.extensions(tenant.id).await?;
        if let Some(other) = existing.iter().find(|other| overlaps(other, &extension)) {
            return Err(CoreError::Invalid(format!(
                "extension {:?} already handles {} for these apps",
                other.name,
                extension.event.as_str()
            )));
        }
        self.store
            .create_extension(&extension, resource_app.as_ref())
            .await?;
        if resource_app.is_some() {
            self.applications_changed();
        }
        self.extensions_changed(tenant.id);
        tracing::info!(tenant.id = %tenant.id, extension.id = %extension.id, event = extension.event.as_str(), "extension registered");
        Ok(extension)
    }

    /// The resource app registered for a new extension: an API that only receives tokens
    /// (no secret, so nothing can sign in as it), named after the extension, with Entra's
    /// identifier URI form `api://{target host}/{app id}`.
    fn resource_app_for(
        &self,
        tenant: &crate::directory::Tenant,
        name: &str,
        target: &url::Url,
    ) -> Result<Application, CoreError> {
        let host = target.host_str().unwrap_or("localhost").to_owned();
        let (app, _) = self.new_application(
            tenant,
            NewApplication {
                name: format!("{} (extension API)", name.trim()),
                kind: AppKind::Daemon,
                redirect_uris: Vec::new(),
                identifier_uri: None,
                optional_claims: Vec::new(),
                native_auth: false,
                cors_origins: Vec::new(),
                client_keys: Vec::new(),
                logout: Default::default(),
            },
            |app| {
                app.identifier_uri = Some(format!(
                    "api://{}/{}",
                    host.trim_start_matches('[').trim_end_matches(']'),
                    app.client_id
                ));
            },
        )?;
        Ok(app)
    }

    /// The tenant's extensions, oldest first (read through a short cache: every token
    /// issuance and sign-in step asks).
    pub async fn extensions(&self, tenant: TenantId) -> Result<Arc<Vec<Extension>>, CoreError> {
        self.extensions_cache
            .get_or_load(tenant, || async move {
                Ok(Arc::new(self.store.extensions(tenant).await?))
            })
            .await
    }

    /// The tenant's extension for `event` that serves `client` (a step without an app, such
    /// as the account pages: only an extension for every app), if any. The one rule every
    /// event finds its extension by.
    pub async fn extension_for(
        &self,
        tenant: TenantId,
        event: ExtensionEvent,
        client: Option<ClientId>,
    ) -> Result<Option<Extension>, CoreError> {
        Ok(self
            .extensions(tenant)
            .await?
            .iter()
            .find(|e| e.event == event && client.map_or(e.all_apps, |c| e.applies_to(c)))
            .cloned())
    }

    /// The app a call is about, if the step has one (its service principal in the payload).
    pub(crate) async fn app_of(
        &self,
        tenant: TenantId,
        client: Option<ClientId>,
    ) -> Result<Option<Application>, CoreError> {
        Ok(match client {
            Some(client) => self.application(tenant, client).await?,
            None => None,
        })
    }

    /// The tenant's extensions, for operators.
    pub async fn list_extensions(&self, tenant: &TenantRef) -> Result<Vec<Extension>, CoreError> {
        let tenant = self.tenant(tenant).await?;
        Ok(self.store.extensions(tenant.id).await?)
    }

    /// One extension.
    pub async fn show_extension(
        &self,
        tenant: &TenantRef,
        id: &str,
    ) -> Result<Extension, CoreError> {
        self.list_extensions(tenant)
            .await?
            .into_iter()
            .find(|e| e.id == id)
            .ok_or(CoreError::NotFound("extension"))
    }

    /// Deletes an extension: the step goes on as without it from the next call.
    pub async fn delete_extension(&self, tenant: &TenantRef, id: &str) -> Result<(), CoreError> {
        let tenant = self.tenant(tenant).await?;
        if !self.store.delete_extension(tenant.id, id).await? {
            return Err(CoreError::NotFound("extension"));
        }
        self.extensions_changed(tenant.id);
        tracing::info!(tenant.id = %tenant.id, extension.id = %id, "extension deleted");
        Ok(())
    }

    /// The tenant's recent calls, newest first.
    pub async fn extension_calls(
        &self,
        tenant: &TenantRef,
        since: UnixTime,
        limit: u32,
    ) -> Result<Vec<ExtensionCall>, CoreError> {
        let tenant = self.tenant(tenant).await?;
        Ok(self
            .store
            .extension_calls(tenant.id, since, limit.min(1000))
            .await?)
    }

    /// Forgets the cached extensions of a tenant (after a change on this node; other nodes
    /// see it within the cache's lifetime).
    pub(crate) fn extensions_changed(&self, tenant: TenantId) {
        self.extensions_cache.remove(&tenant);
    }
}
