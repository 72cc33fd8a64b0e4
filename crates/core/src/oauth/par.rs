//! Pushed authorization requests (RFC 9126): a client sends its authorization request
//! straight to Portico (authenticated, so nothing in it can be tampered with in the browser)
//! and gets a one-time `request_uri`, valid for a minute, to send the browser with instead.
//! An app can require it (`--require-par on`).

use super::authorize::{AuthorizeFailure, AuthorizeParams};
use super::{ClientCredentials, OAuthError, OAuthErrorCode};
use crate::directory::Tenant;
use crate::ids::ClientId;
use crate::secret::{digest_secret, random_token};
use crate::store::PushedRequestRecord;
use crate::{CoreError, Portico};

/// What every `request_uri` Portico issues starts with (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long a pushed request waits for its browser.
const PUSHED_LIFETIME_SECS: i64 = 60;

/// The PAR endpoint's answer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PushedAuthorization {
    /// The one-time reference to send the browser with.
    pub request_uri: String,
    /// Seconds it stays good.
    pub expires_in: i64,
}

/// The error code of an authorization error response, for answering it as JSON instead.
fn code_of(wire: &str) -> OAuthErrorCode {
    match wire {
        "server_error" => OAuthErrorCode::ServerError,
        "temporarily_unavailable" => OAuthErrorCode::TemporarilyUnavailable,
        "invalid_scope" => OAuthErrorCode::InvalidScope,
        "unauthorized_client" => OAuthErrorCode::UnauthorizedClient,
        "unsupported_response_type" => OAuthErrorCode::UnsupportedResponseType,
        _ => OAuthErrorCode::InvalidRequest,
    }
}

impl Portico {
    /// `POST /oauth2/v2.0/par`: authenticates the client, validates the authorization
    /// request as the authorization endpoint would (answering errors as JSON, RFC 9126
    /// §2.3), and keeps it under a new `request_uri`.
    pub async fn push_authorization_request(
        &self,
        tenant: &Tenant,
        mut params: AuthorizeParams,
        credentials: &ClientCredentials,
        dpop: Option<&super::DpopHeader>,
        ip: std::net::IpAddr,
    ) -> Result<PushedAuthorization, OAuthError> {
        let (app, _) = self.authenticate_client(tenant, credentials).await?;
        // Public clients push with their client id alone: each network pushes only so
        // often, as every pushed request is a stored record.
        if !self.rate_limits.allow_flow_start(tenant.id, ip) {
            return Err(CoreError::RateLimited.into());
        }
        // A request pushed with a DPoP proof binds its code to the proof's key (RFC 9449
        // §10.1); a dpop_jkt beside it must name the same key.
        if let Some(header) = dpop {
            let key = self
                .check_dpop_proof(
                    tenant,
                    super::DpopRequest {
                        proof: &header.proof,
                        method: "POST",
                        uri: &header.uri,
                    },
                    super::DpopUse::TokenRequest,
                )
                .await?;
            if params
                .dpop_jkt
                .as_ref()
                .is_some_and(|jkt| jkt != key.thumbprint())
            {
                return Err(super::dpop::invalid_proof(
                    "dpop_jkt does not name the key of the DPoP proof",
                ));
            }
            params.dpop_jkt = Some(key.thumbprint().to_owned());
        }
        match &params.client_id {
            Some(id) if *id != app.client_id.to_string() => {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the authenticated client",
                ));
            }
            Some(_) => {}
            None => params.client_id = Some(app.client_id.to_string()),
        }
        if params.request_uri.is_some() {
            return Err(OAuthError::invalid_request(
                "a pushed request cannot itself name a request_uri",
            ));
        }
        params.pushed = true;
        match self.validate_authorize(tenant, &params).await {
            Ok(_) => {}
            Err(AuthorizeFailure::NoRedirect(message)) if message.contains("Try again later") => {
                return Err(OAuthError::new(
                    OAuthErrorCode::TemporarilyUnavailable,
                    message,
                ));
            }
            Err(AuthorizeFailure::NoRedirect(message)) => {
                return Err(OAuthError::invalid_request(message));
            }
            Err(AuthorizeFailure::Redirect(response)) => {
                let field = |name: &str| {
                    response
                        .params
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                return Err(OAuthError::new(
                    code_of(&field("error")),
                    field("error_description"),
                ));
            }
        }
        let token = random_token()?;
        let stored = serde_json::to_string(&params)
            .map_err(|e| CoreError::Internal(format!("pushed request: {e}")))?;
        self.store
            .create_pushed_request(&PushedRequestRecord {
                tenant_id: tenant.id,
                digest: digest_secret(&token),
                client_id: app.client_id,
                params: stored,
                expires_at: self.now() + PUSHED_LIFETIME_SECS,
            })
            .await
            .map_err(CoreError::from)?;
        Ok(PushedAuthorization {
            request_uri: format!("{REQUEST_URI_PREFIX}{token}"),
            expires_in: PUSHED_LIFETIME_SECS,
        })
    }

    /// An authorization request naming a pushed one (RFC 9126 §4): the pushed parameters
    /// replace the request's (whose `client_id` must be the pusher's), once. `Ok(None)` for a
    /// request that names none.
    pub async fn resolve_pushed(
        &self,
        tenant: &Tenant,
        params: &AuthorizeParams,
    ) -> Result<Option<AuthorizeParams>, AuthorizeFailure> {
        let Some(uri) = params.request_uri.as_deref() else {
            return Ok(None);
        };
        let gone = || {
            AuthorizeFailure::NoRedirect(
                "The sign-in request is unknown, was already used or has expired. Start again at the application."
                    .to_owned(),
            )
        };
        let client: ClientId = params
            .client_id
            .as_deref()
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| {
                AuthorizeFailure::NoRedirect("The request has no valid client_id.".to_owned())
            })?;
        let token = uri.strip_prefix(REQUEST_URI_PREFIX).ok_or_else(gone)?;
        let record = self
            .store
            .take_pushed_request(tenant.id, client, &digest_secret(token), self.now())
            .await
            .map_err(|err| {
                tracing::error!(error = %err, "pushed request lookup failed");
                AuthorizeFailure::NoRedirect(
                    "The server could not look up the request. Try again later.".to_owned(),
                )
            })?
            .ok_or_else(gone)?;
        let mut pushed: AuthorizeParams =
            serde_json::from_str(&record.params).map_err(|_| gone())?;
        pushed.pushed = true;
        Ok(Some(pushed))
    }
}
