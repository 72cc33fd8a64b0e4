//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592). Off unless
//! an operator turns it on for a tenant; then a holder of an initial access token may
//! register an app, and manages it afterwards with the registration access token it got.
//! Registered apps go through the same rules as an operator's ([`super::apps`]); what only
//! an operator may decide (APIs, grants, implicit flows, token exchange) is not offered.
//!
//! `metadata.rs` reads and checks client metadata; `initial_tokens.rs` keeps the operator's
//! initial access tokens; this module registers and manages apps.

mod initial_tokens;
mod metadata;

use serde::Serialize;

pub use initial_tokens::DEFAULT_INITIAL_TOKEN_DAYS;
pub use metadata::{ClientMetadata, is_internal_address};

use super::{AppChanges, AppKind, Application, NewApplication, TenantRef};
use crate::clock::UnixTime;
use crate::ids::{ClientId, TenantId};
use crate::oauth::DEVICE_CODE_GRANT;
use crate::secret::{digest_secret, random_token, secret_matches};
use crate::store::ClientRegistration;
use crate::{CoreError, Portico};

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

pub(super) fn metadata_error(message: impl Into<String>) -> RegistrationError {
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
}
