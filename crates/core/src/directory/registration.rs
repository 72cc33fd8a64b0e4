//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592). Off unless
//! an operator turns it on for a tenant; then a holder of an initial access token may
//! register an app, and manages it afterwards with the registration access token it got.
//! Registered apps go through the same rules as an operator's ([`super::apps`]); what only
//! an operator may decide (APIs, grants, implicit flows, token exchange) is not offered.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{AppChanges, AppKind, Application, LogoutUris, NewApplication, TenantRef};
use crate::clock::UnixTime;
use crate::ids::{ClientId, TenantId};
use crate::oauth::DEVICE_CODE_GRANT;
use crate::secret::{digest_secret, random_token, secret_matches};
use crate::store::{ClientRegistration, InitialAccessTokenRecord};
use crate::{CoreError, Portico};

/// Days an initial access token works unless its operator says otherwise.
pub const DEFAULT_INITIAL_TOKEN_DAYS: u32 = 7;

/// Client metadata as a registration request carries it (RFC 7591 §2). Members Portico does
/// not know are ignored, as §2 asks.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClientMetadata {
    /// Redirect URIs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// `none`, `client_secret_basic` (the default), `client_secret_post` or `private_key_jwt`.
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    /// Grant types (default `authorization_code`).
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    /// Response types (default `code`; only `code` is offered).
    #[serde(default)]
    pub response_types: Option<Vec<String>>,
    /// `web` (the default) or `native`.
    #[serde(default)]
    pub application_type: Option<String>,
    /// Display name.
    #[serde(default)]
    pub client_name: Option<String>,
    /// Public keys for `private_key_jwt` (a JWK Set).
    #[serde(default)]
    pub jwks: Option<serde_json::Value>,
    /// Keys by reference (not offered: Portico does not fetch keys).
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Where the app may be sent after logout: must be among its redirect URIs.
    #[serde(default)]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Back-Channel Logout 1.0 URI.
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// Front-Channel Logout 1.0 URI.
    #[serde(default)]
    pub frontchannel_logout_uri: Option<String>,
    /// RFC 9449 §5.2: every token request carries a DPoP proof.
    #[serde(default)]
    pub dpop_bound_access_tokens: Option<bool>,
    /// RFC 7592 §2.2: a PUT names the client it replaces.
    #[serde(default)]
    pub client_id: Option<String>,
    /// RFC 7592 §2.2: a PUT may repeat the secret; it must match.
    #[serde(default)]
    pub client_secret: Option<String>,
}

/// A registered client as the registration endpoints answer with it (RFC 7591 §3.2.1,
/// RFC 7592 §3).
#[derive(Debug, Clone, Serialize)]
pub struct RegisteredClient {
    /// The client id.
    pub client_id: String,
    /// The secret (confidential clients; shown only when it is made).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// When the client was registered.
    pub client_id_issued_at: UnixTime,
    /// When the secret expires (0: no secret).
    pub client_secret_expires_at: UnixTime,
    /// The token to read, change and delete the registration with (shown only when made).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_access_token: Option<String>,
    /// Where the registration is read, changed and deleted.
    pub registration_client_uri: String,
    /// Display name.
    pub client_name: String,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Where the app may send people after logout (its redirect URIs).
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant types.
    pub grant_types: Vec<String>,
    /// Response types.
    pub response_types: Vec<String>,
    /// Client authentication.
    pub token_endpoint_auth_method: String,
    /// `web` or `native`.
    pub application_type: &'static str,
    /// Public keys for `private_key_jwt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// Back-channel logout URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// Front-channel logout URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frontchannel_logout_uri: Option<String>,
    /// Every token request must carry a DPoP proof.
    pub dpop_bound_access_tokens: bool,
}

/// Why a registration request fails (RFC 7591 §3.2.2, RFC 7592 §2).
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// The initial or registration access token is missing, unknown, expired or used up
    /// (or registration is off for the tenant, which looks the same).
    #[error("the access token is not valid for registration")]
    InvalidToken,
    /// A redirect URI is refused.
    #[error("{0}")]
    InvalidRedirectUri(String),
    /// Other metadata is refused.
    #[error("{0}")]
    InvalidClientMetadata(String),
    /// Anything else.
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl From<crate::StoreError> for RegistrationError {
    fn from(err: crate::StoreError) -> Self {
        Self::Core(err.into())
    }
}

fn metadata_error(message: impl Into<String>) -> RegistrationError {
    RegistrationError::InvalidClientMetadata(message.into())
}

/// A refused app: messages about redirect URIs are `invalid_redirect_uri`.
fn refused(err: CoreError) -> RegistrationError {
    match err {
        CoreError::Invalid(message) if message.starts_with("redirect URI") => {
            RegistrationError::InvalidRedirectUri(message)
        }
        CoreError::Invalid(message) => RegistrationError::InvalidClientMetadata(message),
        other => RegistrationError::Core(other),
    }
}

/// A registered client's secret as an answer shows it: the secret itself only when it is
/// made, and when the client's secrets stop working (0: it has none).
struct Secret {
    shown: Option<String>,
    expires_at: UnixTime,
}

/// What a registration asks for, checked against what registration offers.
struct Requested {
    kind: AppKind,
    auth_method: String,
    name: String,
    redirect_uris: Vec<String>,
    client_keys: Vec<super::ClientKey>,
    device_code: bool,
    require_dpop: bool,
    logout: LogoutUris,
}

const OFFERED_GRANTS: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    DEVICE_CODE_GRANT,
];

/// Whether an address is the machine itself or a network that is not the public internet
/// (private, link-local, carrier-grade NAT, unique-local, IPv4 written as IPv6): where a
/// registered client must not point Portico's outbound calls (an attacker with an initial
/// access token would otherwise reach them through back-channel logout).
pub fn is_internal_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                // NAT64 (64:ff9b::/96) reaches IPv4 networks behind the gateway.
                || v6.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
        }
    }
}

/// Whether a URL's host is internal: an internal address, or a name that only means
/// something inside (`localhost`, `*.local`, `*.internal`). Names are checked again, as
/// addresses, when the request is made.
fn internal_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost"
                || [".localhost", ".local", ".internal", ".localdomain"]
                    .iter()
                    .any(|suffix| name.ends_with(suffix))
                || !name.contains('.')
        }
        Some(url::Host::Ipv4(ip)) => is_internal_address(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_internal_address(IpAddr::V6(ip)),
        None => true,
    }
}

impl ClientMetadata {
    /// What kind of app this metadata would register, or why it is refused (the checks
    /// that need no tenant; the app's own rules run at registration).
    pub fn kind(&self) -> Result<AppKind, RegistrationError> {
        self.requested().map(|requested| requested.kind)
    }

    fn requested(&self) -> Result<Requested, RegistrationError> {
        let method = self
            .token_endpoint_auth_method
            .as_deref()
            .unwrap_or("client_secret_basic");
        let grants: Vec<&str> = match &self.grant_types {
            Some(list) => list.iter().map(String::as_str).collect(),
            None => vec!["authorization_code"],
        };
        if let Some(grant) = grants.iter().find(|g| !OFFERED_GRANTS.contains(g)) {
            return Err(metadata_error(format!(
                "grant type {grant:?} is not offered to registered clients"
            )));
        }
        let response_types = self
            .response_types
            .clone()
            .unwrap_or_else(|| vec!["code".into()]);
        if response_types.iter().any(|r| r != "code") {
            return Err(metadata_error(
                "only the code response type is offered to registered clients",
            ));
        }
        if self.jwks_uri.is_some() {
            return Err(metadata_error(
                "jwks_uri is not supported: register the keys themselves (jwks)",
            ));
        }
        let native = match self.application_type.as_deref() {
            None | Some("web") => false,
            Some("native") => true,
            Some(other) => {
                return Err(metadata_error(format!(
                    "application_type {other:?} must be web or native"
                )));
            }
        };
        let only_client_credentials = grants.iter().all(|g| *g == "client_credentials");
        let kind = match method {
            "none" if grants.contains(&"client_credentials") => {
                return Err(metadata_error(
                    "client_credentials needs client authentication",
                ));
            }
            "none" if native => AppKind::Native,
            "none" => AppKind::Spa,
            "client_secret_basic" | "client_secret_post" | "private_key_jwt"
                if only_client_credentials =>
            {
                AppKind::Daemon
            }
            "client_secret_basic" | "client_secret_post" | "private_key_jwt" => AppKind::Web,
            other => {
                return Err(metadata_error(format!(
                    "token_endpoint_auth_method {other:?} is not supported"
                )));
            }
        };
        let client_keys = match (&self.jwks, method) {
            (Some(jwks), "private_key_jwt") => super::parse_client_keys(&jwks.to_string())
                .map_err(|e| metadata_error(e.to_string()))?,
            (None, "private_key_jwt") => {
                return Err(metadata_error(
                    "private_key_jwt needs the public keys (jwks)",
                ));
            }
            (Some(_), _) => {
                return Err(metadata_error(
                    "jwks is for clients that authenticate with private_key_jwt",
                ));
            }
            (None, _) => Vec::new(),
        };
        if grants.contains(&"authorization_code") && self.redirect_uris.is_empty() {
            return Err(RegistrationError::InvalidRedirectUri(
                "the authorization_code grant needs a redirect URI".into(),
            ));
        }
        if let Some(extra) = self
            .post_logout_redirect_uris
            .iter()
            .flatten()
            .find(|uri| !self.redirect_uris.contains(uri))
        {
            return Err(metadata_error(format!(
                "post-logout redirect URI {extra:?} must also be a redirect URI"
            )));
        }
        if let Some(uri) = &self.backchannel_logout_uri {
            let internal = url::Url::parse(uri)
                .map_or(true, |url| url.scheme() != "https" || internal_host(&url));
            if internal {
                return Err(metadata_error(
                    "a registered client's back-channel logout URI must be https on a public host",
                ));
            }
        }
        let name = self
            .client_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "Registered application".into());
        Ok(Requested {
            kind,
            auth_method: method.to_owned(),
            name,
            redirect_uris: self.redirect_uris.clone(),
            client_keys,
            device_code: grants.contains(&DEVICE_CODE_GRANT),
            require_dpop: self.dpop_bound_access_tokens.unwrap_or(false),
            logout: LogoutUris {
                backchannel: self.backchannel_logout_uri.clone(),
                frontchannel: self.frontchannel_logout_uri.clone(),
            },
        })
    }
}

impl Portico {
    /// Where a registered client's registration lives (RFC 7592).
    fn registration_client_uri(&self, tenant: TenantId, client: ClientId) -> String {
        format!(
            "{}/{tenant}/oauth2/v2.0/register/{client}",
            self.settings.public_url
        )
    }

    /// The answer about a registered app (its secret and access token only when just made).
    fn registered(
        &self,
        app: &Application,
        secret: Secret,
        registration_access_token: Option<String>,
        auth_method: String,
    ) -> RegisteredClient {
        let mut grants: Vec<String> = Vec::new();
        if app.kind == AppKind::Daemon {
            grants.push("client_credentials".into());
        } else {
            grants.extend(["authorization_code".into(), "refresh_token".into()]);
        }
        if app.device_code {
            grants.push(DEVICE_CODE_GRANT.into());
        }
        RegisteredClient {
            client_id: app.client_id.to_string(),
            client_secret: secret.shown,
            client_secret_expires_at: secret.expires_at,
            client_id_issued_at: app.created_at,
            registration_access_token,
            registration_client_uri: self.registration_client_uri(app.tenant_id, app.client_id),
            client_name: app.name.clone(),
            redirect_uris: app.redirect_uris.clone(),
            // Every redirect URI may also be a post-logout redirect URI.
            post_logout_redirect_uris: app.redirect_uris.clone(),
            response_types: if app.kind == AppKind::Daemon {
                Vec::new()
            } else {
                vec!["code".into()]
            },
            grant_types: grants,
            token_endpoint_auth_method: auth_method,
            application_type: if app.kind == AppKind::Native {
                "native"
            } else {
                "web"
            },
            jwks: (!app.client_keys.is_empty())
                .then(|| serde_json::json!({ "keys": app.client_keys })),
            backchannel_logout_uri: app.logout.backchannel.clone(),
            frontchannel_logout_uri: app.logout.frontchannel.clone(),
            dpop_bound_access_tokens: app.require_dpop,
        }
    }

    /// When the app's secrets stop working (the last of them; 0: it has none).
    async fn secret_expiry(&self, app: &Application) -> Result<UnixTime, RegistrationError> {
        Ok(self
            .store
            .client_secrets(app.tenant_id, app.client_id)
            .await?
            .iter()
            .filter_map(|s| s.expires_at)
            .max()
            .unwrap_or(0))
    }

    /// Whether a tenant lets apps register themselves.
    pub async fn registration_enabled(&self, tenant: TenantId) -> Result<bool, CoreError> {
        Ok(self.tenant_settings(tenant).await?.dynamic_registration)
    }

    /// RFC 7591: registers an app for the holder of an initial access token.
    pub async fn register_client(
        &self,
        tenant: &TenantRef,
        initial_access_token: Option<&str>,
        metadata: ClientMetadata,
    ) -> Result<RegisteredClient, RegistrationError> {
        let tenant = self.tenant(tenant).await?;
        let token = initial_access_token.ok_or(RegistrationError::InvalidToken)?;
        if !self.registration_enabled(tenant.id).await? {
            return Err(RegistrationError::InvalidToken);
        }
        // The token first, read-only: without a usable one, nothing else is looked at and
        // nothing is written.
        let digest = digest_secret(token);
        let now = self.now();
        let usable = self
            .store
            .initial_access_tokens(tenant.id)
            .await?
            .iter()
            .any(|t| {
                crate::secret::constant_time_eq(t.token_digest.as_bytes(), digest.as_bytes())
                    && t.uses < t.max_uses
                    && t.expires_at > now
            });
        if !usable {
            return Err(RegistrationError::InvalidToken);
        }
        let requested = metadata.requested()?;
        let auth_method = requested.auth_method.clone();
        let (app, secret) = self
            .new_application(
                &tenant,
                NewApplication {
                    name: requested.name,
                    kind: requested.kind,
                    redirect_uris: requested.redirect_uris,
                    identifier_uri: None,
                    optional_claims: Vec::new(),
                    native_auth: false,
                    cors_origins: Vec::new(),
                    client_keys: requested.client_keys,
                    logout: requested.logout,
                },
                |app| {
                    app.device_code = requested.device_code;
                    app.require_dpop = requested.require_dpop;
                },
            )
            .map_err(refused)?;
        let registration_token = random_token()?;
        // A private_key_jwt client authenticates with its keys: it gets no secret at all.
        let secret = secret.filter(|_| auth_method != "private_key_jwt");
        let registered = self
            .store
            .register_application(
                &app,
                secret.as_ref().map(|s| &s.record),
                &digest,
                &ClientRegistration {
                    token_digest: digest_secret(&registration_token),
                    auth_method: auth_method.clone(),
                },
                now,
            )
            .await?;
        if !registered {
            return Err(RegistrationError::InvalidToken);
        }
        self.applications_changed();
        tracing::info!(tenant.id = %tenant.id, client_id = %app.client_id, "client registered dynamically");
        let secret = Secret {
            expires_at: secret
                .as_ref()
                .and_then(|s| s.record.expires_at)
                .unwrap_or(0),
            shown: secret.map(|s| s.secret),
        };
        Ok(self.registered(&app, secret, Some(registration_token), auth_method))
    }

    /// The registered app behind a registration access token (RFC 7592 §2), with its
    /// registration, or [`RegistrationError::InvalidToken`] for anything else, so nobody
    /// learns which client ids exist.
    async fn registered_app(
        &self,
        tenant: &TenantRef,
        client_id: &str,
        token: Option<&str>,
    ) -> Result<(Application, ClientRegistration), RegistrationError> {
        let tenant = self.tenant(tenant).await?;
        let client: ClientId = client_id
            .parse()
            .map_err(|_| RegistrationError::InvalidToken)?;
        let token = token.ok_or(RegistrationError::InvalidToken)?;
        let registration = self
            .store
            .registration(tenant.id, client)
            .await?
            .ok_or(RegistrationError::InvalidToken)?;
        if !secret_matches(token, &registration.token_digest)
            || !self.registration_enabled(tenant.id).await?
        {
            return Err(RegistrationError::InvalidToken);
        }
        let app = self
            .store
            .find_application(tenant.id, client)
            .await?
            .ok_or(RegistrationError::InvalidToken)?;
        Ok((app, registration))
    }

    /// RFC 7592 §2.1: a registered app reads its registration.
    pub async fn read_registration(
        &self,
        tenant: &TenantRef,
        client_id: &str,
        token: Option<&str>,
    ) -> Result<RegisteredClient, RegistrationError> {
        let (app, registration) = self.registered_app(tenant, client_id, token).await?;
        let secret = Secret {
            shown: None,
            expires_at: self.secret_expiry(&app).await?,
        };
        Ok(self.registered(&app, secret, None, registration.auth_method))
    }

    /// RFC 7592 §2.2: a registered app replaces its metadata. What kind of client it is
    /// (public or confidential, with users or without) stays; a client that moves to
    /// `private_key_jwt` loses its secrets, and one that moves to a secret without having
    /// one gets a new one.
    pub async fn update_registration(
        &self,
        tenant: &TenantRef,
        client_id: &str,
        token: Option<&str>,
        metadata: ClientMetadata,
    ) -> Result<RegisteredClient, RegistrationError> {
        let (app, _) = self.registered_app(tenant, client_id, token).await?;
        if metadata.client_id.as_deref() != Some(client_id) {
            return Err(metadata_error(
                "client_id must name the client being updated",
            ));
        }
        let secrets = self
            .store
            .client_secrets(app.tenant_id, app.client_id)
            .await?;
        if let Some(secret) = &metadata.client_secret
            && !secrets
                .iter()
                .any(|s| secret_matches(secret, &s.secret_digest))
        {
            return Err(metadata_error("client_secret does not match"));
        }
        let requested = metadata.requested()?;
        if requested.kind != app.kind {
            return Err(metadata_error(
                "a registration cannot change what kind of client it is; register a new one",
            ));
        }
        let auth_method = requested.auth_method.clone();
        let tenant_ref = TenantRef::Id(app.tenant_id);
        let updated = self
            .update_application(
                &tenant_ref,
                app.client_id,
                AppChanges {
                    name: Some(requested.name),
                    redirect_uris: Some(requested.redirect_uris),
                    client_keys: Some(requested.client_keys),
                    device_code: Some(requested.device_code),
                    require_dpop: Some(requested.require_dpop),
                    backchannel_logout_uri: Some(requested.logout.backchannel),
                    frontchannel_logout_uri: Some(requested.logout.frontchannel),
                    ..AppChanges::default()
                },
            )
            .await
            .map_err(refused)?;
        let mut shown = None;
        if auth_method == "private_key_jwt" {
            for secret in &secrets {
                self.remove_client_secret(&tenant_ref, app.client_id, &secret.id)
                    .await?;
            }
        } else if app.kind.is_confidential() && secrets.is_empty() {
            shown = Some(
                self.add_client_secret(&tenant_ref, app.client_id, None)
                    .await?
                    .secret,
            );
        }
        self.store
            .set_registration_auth_method(app.tenant_id, app.client_id, &auth_method)
            .await?;
        let secret = Secret {
            shown,
            expires_at: self.secret_expiry(&updated).await?,
        };
        Ok(self.registered(&updated, secret, None, auth_method))
    }

    /// RFC 7592 §2.3: a registered app deletes itself.
    pub async fn delete_registration(
        &self,
        tenant: &TenantRef,
        client_id: &str,
        token: Option<&str>,
    ) -> Result<(), RegistrationError> {
        let (app, _) = self.registered_app(tenant, client_id, token).await?;
        self.delete_application(&TenantRef::Id(app.tenant_id), app.client_id)
            .await?;
        Ok(())
    }

    /// Makes an initial access token for a tenant: good for `uses` registrations within
    /// `days` days. The token is returned only here.
    pub async fn create_initial_access_token(
        &self,
        tenant: &TenantRef,
        days: Option<u32>,
        uses: Option<u32>,
    ) -> Result<(String, InitialAccessTokenRecord), CoreError> {
        let tenant = self.tenant(tenant).await?;
        let days = days.unwrap_or(DEFAULT_INITIAL_TOKEN_DAYS);
        let uses = uses.unwrap_or(1);
        if !(1..=90).contains(&days) || !(1..=10_000).contains(&uses) {
            return Err(CoreError::Invalid(
                "an initial access token works 1 to 90 days, for 1 to 10000 registrations".into(),
            ));
        }
        let token = random_token()?;
        let now = self.now();
        let record = InitialAccessTokenRecord {
            tenant_id: tenant.id,
            id: uuid::Uuid::new_v4().to_string(),
            token_digest: digest_secret(&token),
            max_uses: uses,
            uses: 0,
            created_at: now,
            expires_at: now + i64::from(days) * 86_400,
        };
        self.store.create_initial_access_token(&record).await?;
        tracing::info!(tenant.id = %tenant.id, token.id = %record.id, "initial access token created");
        Ok((token, record))
    }

    /// A tenant's initial access tokens (digests only), oldest first.
    pub async fn initial_access_tokens(
        &self,
        tenant: &TenantRef,
    ) -> Result<Vec<InitialAccessTokenRecord>, CoreError> {
        let tenant = self.tenant(tenant).await?;
        Ok(self.store.initial_access_tokens(tenant.id).await?)
    }

    /// Revokes an initial access token (apps registered with it stay).
    pub async fn revoke_initial_access_token(
        &self,
        tenant: &TenantRef,
        id: &str,
    ) -> Result<(), CoreError> {
        let tenant = self.tenant(tenant).await?;
        if !self
            .store
            .revoke_initial_access_token(tenant.id, id)
            .await?
        {
            return Err(CoreError::NotFound("initial access token"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Whatever metadata arrives, reading it never panics; a public client is never
        /// registered as confidential or the reverse, and of confidential clients only those
        /// asking for client_credentials alone become daemons.
        #[test]
        fn any_metadata_reads_safely(
            method in proptest::option::of("(none|client_secret_basic|client_secret_post|private_key_jwt|[a-z_]{0,12})"),
            grants in proptest::option::of(proptest::collection::vec("(authorization_code|refresh_token|client_credentials|implicit|[a-z:_]{0,20})", 0..4)),
            kind in proptest::option::of("(web|native|[a-z]{0,6})"),
            uri in ".{0,60}",
        ) {
            let metadata = ClientMetadata {
                redirect_uris: vec![uri.clone()],
                token_endpoint_auth_method: method.clone(),
                grant_types: grants.clone(),
                application_type: kind,
                backchannel_logout_uri: Some(uri),
                ..ClientMetadata::default()
            };
            if let Ok(kind) = metadata.kind() {
                let public = method.as_deref() == Some("none");
                proptest::prop_assert_eq!(public, !kind.is_confidential());
                let only_cc = grants
                    .as_ref()
                    .is_some_and(|g| g.iter().all(|x| x == "client_credentials"));
                if kind.is_confidential() {
                    proptest::prop_assert_eq!(kind == AppKind::Daemon, only_cc);
                }
            }
        }
    }

    fn metadata(json: serde_json::Value) -> ClientMetadata {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_kind_follows_authentication_and_grants() {
        let kind = |json| metadata(json).requested().map(|r| r.kind);
        let cb = serde_json::json!(["https://app.example/cb"]);
        assert_eq!(
            kind(serde_json::json!({"redirect_uris": cb})).ok(),
            Some(AppKind::Web)
        );
        assert_eq!(
            kind(serde_json::json!({"redirect_uris": cb, "token_endpoint_auth_method": "none"}))
                .ok(),
            Some(AppKind::Spa)
        );
        assert_eq!(
            kind(serde_json::json!({"redirect_uris": ["myapp://cb"], "token_endpoint_auth_method": "none", "application_type": "native"})).ok(),
            Some(AppKind::Native)
        );
        assert_eq!(
            kind(serde_json::json!({"grant_types": ["client_credentials"]})).ok(),
            Some(AppKind::Daemon)
        );
        for refused in [
            serde_json::json!({}),
            serde_json::json!({"redirect_uris": cb, "grant_types": ["implicit"]}),
            serde_json::json!({"redirect_uris": cb, "response_types": ["token"]}),
            serde_json::json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
            serde_json::json!({"redirect_uris": cb, "token_endpoint_auth_method": "private_key_jwt"}),
            serde_json::json!({"redirect_uris": cb, "jwks_uri": "https://app.example/jwks"}),
            serde_json::json!({"redirect_uris": cb, "post_logout_redirect_uris": ["https://evil.example/"]}),
            serde_json::json!({"redirect_uris": cb, "backchannel_logout_uri": "https://127.0.0.1/logout"}),
            serde_json::json!({"redirect_uris": cb, "backchannel_logout_uri": "https://10.1.2.3/logout"}),
            serde_json::json!({"redirect_uris": cb, "backchannel_logout_uri": "https://[::1]/logout"}),
            serde_json::json!({"redirect_uris": cb, "backchannel_logout_uri": "https://[::ffff:127.0.0.1]/logout"}),
            serde_json::json!({"redirect_uris": cb, "backchannel_logout_uri": "https://100.64.0.1/logout"}),
            serde_json::json!({"redirect_uris": cb, "backchannel_logout_uri": "https://localhost./logout"}),
            serde_json::json!({"redirect_uris": cb, "backchannel_logout_uri": "https://metadata.google.internal/logout"}),
            serde_json::json!({"redirect_uris": cb, "backchannel_logout_uri": "https://intranet/logout"}),
            serde_json::json!({"redirect_uris": cb, "backchannel_logout_uri": "http://app.example/logout"}),
        ] {
            assert!(kind(refused.clone()).is_err(), "{refused}");
        }
    }
}
