use super::client_auth::ClientAuthMethod;
use super::{ClientCredentials, OAuthError, OAuthErrorCode, Scope};
use super::{DpopKey, DpopRequest, DpopUse};
use crate::directory::{Application, Tenant, User};
use crate::extensions::ProvidedClaims;
use crate::ids::{GrantId, UserId};
use crate::secret::digest_secret;
use crate::signin::{FlowError, SignInFlow};
use crate::store::{CodeRedemption, GrantRecord, RefreshTokenRecord};
use crate::tokens::{AppGrant, IssuedTokens, UserGrant};
use crate::{CoreError, Portico};

/// A token request, as the HTTP layer read it.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    /// `grant_type`.
    pub grant_type: Option<String>,
    /// `code`.
    pub code: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `code_verifier`.
    pub code_verifier: Option<String>,
    /// `refresh_token`.
    pub refresh_token: Option<String>,
    /// `device_code` (RFC 8628).
    pub device_code: Option<String>,
    /// `assertion` (on-behalf-of: the user's access token the caller received).
    pub assertion: Option<String>,
    /// `requested_token_use` (on-behalf-of: `on_behalf_of`).
    pub requested_token_use: Option<String>,
    /// The token exchange parameters (RFC 8693).
    pub exchange: ExchangeParams,
    /// `scope`.
    pub scope: Option<String>,
    /// `client_info=1` (MSAL asks for `client_info` in the response).
    pub client_info: bool,
    /// The `Origin` of a cross-origin browser request (none for same-origin and non-browser
    /// callers).
    pub origin: Option<String>,
    /// Client authentication.
    pub credentials: ClientCredentials,
    /// The `DPoP` proof header and the URI it was sent to (RFC 9449).
    pub dpop: Option<DpopHeader>,
}

/// A `DPoP` header as the front door received it.
#[derive(Debug, Clone, Default)]
pub struct DpopHeader {
    /// The proof (a JWT).
    pub proof: String,
    /// The URI the request was sent to (the public URL and the path).
    pub uri: String,
}

/// The parameters of a token exchange request (RFC 8693 §2.1).
#[derive(Debug, Clone, Default)]
pub struct ExchangeParams {
    /// `subject_token`.
    pub subject_token: Option<String>,
    /// `subject_token_type`.
    pub subject_token_type: Option<String>,
    /// `actor_token`.
    pub actor_token: Option<String>,
    /// `actor_token_type`.
    pub actor_token_type: Option<String>,
    /// `requested_token_type`.
    pub requested_token_type: Option<String>,
    /// `audience`.
    pub audience: Option<String>,
    /// `resource`.
    pub resource: Option<String>,
}

/// A grant a person approved, ready for its first tokens ([`Portico::issue_for_grant`]).
pub(super) struct Approved<'a> {
    pub(super) tenant: &'a Tenant,
    pub(super) app: &'a Application,
    pub(super) auth_method: ClientAuthMethod,
    pub(super) user_id: UserId,
    pub(super) scope: &'a Scope,
    pub(super) nonce: Option<&'a str>,
    pub(super) auth_time: crate::clock::UnixTime,
    pub(super) amr: &'a str,
    pub(super) session_id: crate::ids::SessionId,
    pub(super) grant_id: GrantId,
    pub(super) client_info: bool,
    pub(super) sender: Option<&'a DpopKey>,
    /// Claims extensions provided when the grant was approved (the code's).
    pub(super) provided: Option<ProvidedClaims>,
}

pub(super) fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, OAuthError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
}

fn grant_label(grant_type: &str) -> &'static str {
    match grant_type {
        "authorization_code" => "authorization_code",
        "refresh_token" => "refresh_token",
        "client_credentials" => "client_credentials",
        super::DEVICE_CODE_GRANT | "device_code" => "device_code",
        super::JWT_BEARER_GRANT => "on_behalf_of",
        super::TOKEN_EXCHANGE_GRANT => "token_exchange",
        _ => "other",
    }
}

/// Cross-origin token requests come only from the browser apps that live on that origin: a
/// single-page app from the origin of one of its redirect URIs, or a native-auth app from one
/// of its CORS origins (as Entra refuses cross-origin redemption for other client types,
/// AADSTS9002326). The browser would hide the answer from other origins anyway; refusing here
/// also keeps a page elsewhere from spending someone's code or refresh token.
pub(super) fn check_browser_origin(
    app: &Application,
    origin: Option<&str>,
) -> Result<(), OAuthError> {
    let Some(origin) = origin else {
        return Ok(());
    };
    if app.serves_browser_origin(origin) {
        return Ok(());
    }
    Err(OAuthError::invalid_request(
        "cross-origin token redemption is permitted only for single-page apps from the origin \
         of a registered redirect URI",
    ))
}

/// The key a new refresh token is bound to: a public client's DPoP key (RFC 9449 §5); a
/// confidential client's tokens are bound by its own authentication instead.
pub(super) fn bound_refresh(app: &Application, sender: Option<&DpopKey>) -> Option<String> {
    sender
        .filter(|_| !app.kind.is_confidential())
        .map(|key| key.thumbprint().to_owned())
}

impl Portico {
    /// Authenticates the client of a token request and holds it to its DPoP rule: an app
    /// that must use DPoP (`dpop_bound_access_tokens`) gets nothing without a proof, and a
    /// proof is spent only now, for a known client.
    pub(super) async fn authenticate_sender(
        &self,
        tenant: &Tenant,
        credentials: &ClientCredentials,
        sender: Option<&DpopKey>,
    ) -> Result<(Application, ClientAuthMethod), OAuthError> {
        let (app, method) = self.authenticate_client(tenant, credentials).await?;
        match sender {
            Some(key) => self.spend_dpop_proof(tenant, key).await?,
            None if app.require_dpop => {
                return Err(super::dpop::invalid_proof(
                    "this client must send a DPoP proof with every token request",
                ));
            }
            None => {}
        }
        Ok((app, method))
    }

    /// The token endpoint (RFC 6749 §3.2): authenticates the client, then runs the grant.
    pub async fn token(
        &self,
        tenant: &Tenant,
        request: TokenRequest,
    ) -> Result<IssuedTokens, OAuthError> {
        let grant_type = required(&request.grant_type, "grant_type")?.to_owned();
        // A proof is checked before anything is spent (a bad one changes nothing), and
        // spent once the client is authenticated ([`Self::authenticate_sender`]).
        let sender = match &request.dpop {
            Some(header) => Some(self.verify_dpop_proof(
                tenant,
                DpopRequest {
                    proof: &header.proof,
                    method: "POST",
                    uri: &header.uri,
                },
                DpopUse::TokenRequest,
            )?),
            None => None,
        };
        let sender = sender.as_ref();
        let result = match grant_type.as_str() {
            "authorization_code" => {
                self.grant_authorization_code(tenant, &request, sender)
                    .await
            }
            "refresh_token" => self.grant_refresh_token(tenant, &request, sender).await,
            "client_credentials" => {
                self.grant_client_credentials(tenant, &request, sender)
                    .await
            }
            // MSAL Node polls with the short name (client-library-notes.md).
            super::DEVICE_CODE_GRANT | "device_code" => {
                self.grant_device_code(tenant, &request, sender).await
            }
            super::JWT_BEARER_GRANT => self.grant_on_behalf_of(tenant, &request, sender).await,
            super::TOKEN_EXCHANGE_GRANT => {
                self.grant_token_exchange(tenant, &request, sender).await
            }
            _ => Err(OAuthError::new(
                OAuthErrorCode::UnsupportedGrantType,
                format!("grant_type {grant_type:?} is not supported"),
            )),
        };
        let outcome = if result.is_ok() { "issued" } else { "refused" };
        metrics::counter!("portico_token_requests_total",
            "grant" => grant_label(&grant_type), "outcome" => outcome)
        .increment(1);
        result
    }

    async fn grant_authorization_code(
        &self,
        tenant: &Tenant,
        request: &TokenRequest,
        sender: Option<&DpopKey>,
    ) -> Result<IssuedTokens, OAuthError> {
        let code = required(&request.code, "code")?;
        let (app, auth_method) = self
            .authenticate_sender(tenant, &request.credentials, sender)
            .await?;
        check_browser_origin(&app, request.origin.as_deref())?;
        let now = self.now();
        // Spend the code first: every presentation burns it, so a verifier cannot be guessed
        // over several tries.
        let record = match self
            .store
            .redeem_authorization_code(tenant.id, &digest_secret(code), now)
            .await
            .map_err(CoreError::from)?
        {
            CodeRedemption::Redeemed(record) => record,
            CodeRedemption::Replayed(grant) => {
                // RFC 6749 §4.1.2: a replayed code revokes what it granted.
                return Err(self
                    .revoke_and_refuse(tenant, grant, "the authorization code was already used")
                    .await);
            }
            CodeRedemption::Unknown => {
                return Err(OAuthError::invalid_grant(
                    "the authorization code is not valid",
                ));
            }
        };
        if record.client_id != app.client_id {
            return Err(self
                .revoke_and_refuse(
                    tenant,
                    record.grant_id,
                    "the authorization code was issued to another client",
                )
                .await);
        }
        if record.expires_at < now {
            return Err(OAuthError::invalid_grant(
                "the authorization code has expired",
            ));
        }
        // The sign-in behind the code ended after it was issued (logout, a new password, a
        // disabled account, a revocation): the code ended with it.
        if !self
            .store
            .grant_is_active(tenant.id, record.grant_id)
            .await
            .map_err(CoreError::from)?
        {
            return Err(OAuthError::invalid_grant(
                "the sign-in this code came from has ended",
            ));
        }
        if request.redirect_uri.as_deref() != Some(record.redirect_uri.as_str()) {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
        match (&record.code_challenge, request.code_verifier.as_deref()) {
            (Some(challenge), Some(verifier)) if super::verify_s256(verifier, challenge) => {}
            (Some(_), Some(_)) => {
                return Err(OAuthError::invalid_grant(
                    "code_verifier does not match the code_challenge",
                ));
            }
            (Some(_), None) => {
                return Err(OAuthError::invalid_grant("code_verifier is required"));
            }
            // A verifier for a code issued without a challenge is a PKCE downgrade attempt.
            (None, Some(_)) => {
                return Err(OAuthError::invalid_grant(
                    "code_verifier sent, but the authorization request had no code_challenge",
                ));
            }
            (None, None) => {}
        }
        // A code bound to a DPoP key (RFC 9449 §10) goes only to a proof of that key.
        if let Some(bound) = &record.dpop_jkt
            && sender.is_none_or(|key| key.thumbprint() != bound)
        {
            return Err(super::dpop::invalid_proof(
                "the authorization code is bound to another DPoP key (dpop_jkt)",
            ));
        }
        let scope = Scope::parse(&record.scope)?;
        let provided = ProvidedClaims::from_stored(record.extension_claims.as_deref());
        self.issue_for_grant(Approved {
            tenant,
            app: &app,
            auth_method,
            user_id: record.user_id,
            scope: &scope,
            nonce: record.nonce.as_deref(),
            auth_time: record.auth_time,
            amr: &record.amr,
            session_id: record.session_id,
            grant_id: record.grant_id,
            client_info: request.client_info,
            sender,
            provided,
        })
        .await
    }

    /// Issues the first tokens of a grant a person approved (an authorization code, a device
    /// code): decides the audience for the user as of now, starts the refresh-token family
    /// if `offline_access` was granted, and runs the token pipeline.
    pub(super) async fn issue_for_grant(
        &self,
        approved: Approved<'_>,
    ) -> Result<IssuedTokens, OAuthError> {
        let Approved {
            tenant,
            app,
            auth_method,
            user_id,
            scope,
            nonce,
            auth_time,
            amr,
            session_id,
            grant_id,
            client_info,
            sender,
            provided,
        } = approved;
        let user = self.grant_user(tenant, user_id).await?;
        let audience = self.delegated_audience(tenant, app, scope, user.id).await?;
        let now = self.now();
        let refresh = Self::mint_refresh_token(RefreshTokenRecord {
            token_digest: String::new(),
            tenant_id: tenant.id,
            grant_id,
            client_id: app.client_id,
            user_id: user.id,
            session_id,
            scope: scope.to_wire(),
            auth_time,
            amr: amr.to_owned(),
            issued_at: now,
            expires_at: self
                .refresh_lifetime(tenant, app)
                .await?
                .expires_at(now, now),
            audience: Some(audience.app.client_id),
            dpop_jkt: bound_refresh(app, sender),
        })?;
        let refresh_token = match refresh {
            Some((token, record)) => {
                self.store
                    .create_refresh_token(&record)
                    .await
                    .map_err(CoreError::from)?;
                Some(token)
            }
            None => None,
        };
        Ok(self
            .issue_user_tokens(UserGrant {
                tenant,
                app,
                client_auth: auth_method,
                user: &user,
                scope,
                audience: &audience,
                nonce,
                auth_time,
                amr,
                session_id,
                grant_id,
                refresh_token,
                client_info,
                front_channel: None,
                actor: None,
                not_after: None,
                sender,
                provided,
            })
            .await?)
    }

    async fn grant_client_credentials(
        &self,
        tenant: &Tenant,
        request: &TokenRequest,
        sender: Option<&DpopKey>,
    ) -> Result<IssuedTokens, OAuthError> {
        let (client, auth_method) = self
            .authenticate_sender(tenant, &request.credentials, sender)
            .await?;
        if auth_method == ClientAuthMethod::None {
            return Err(OAuthError::new(
                OAuthErrorCode::UnauthorizedClient,
                "public clients cannot use the client_credentials grant",
            ));
        }
        let scope = required(&request.scope, "scope")?;
        let resource_name = scope
            .strip_suffix("/.default")
            .filter(|r| !r.is_empty() && !scope.contains(' '))
            .ok_or_else(|| {
                OAuthError::new(
                    OAuthErrorCode::InvalidScope,
                    "client_credentials requires exactly one scope of the form {resource}/.default",
                )
            })?;
        let resource = self
            .find_resource(tenant, resource_name)
            .await?
            .ok_or_else(|| {
                OAuthError::new(
                    OAuthErrorCode::InvalidScope,
                    format!("no resource {resource_name:?} is registered in this tenant"),
                )
            })?;
        let audience = self
            .app_audience(&client, resource, scope.to_owned())
            .await?;
        // An app that registered itself (RFC 7591) is trusted with another API only as far
        // as an operator granted it roles there.
        if audience.app.client_id != client.client_id
            && audience.roles.is_empty()
            && self
                .store
                .registration(tenant.id, client.client_id)
                .await
                .map_err(CoreError::from)?
                .is_some()
        {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidScope,
                "a registered client gets app-only tokens for another API only with roles an operator granted it",
            ));
        }
        Ok(self
            .issue_app_token(AppGrant {
                tenant,
                client: &client,
                client_auth: auth_method,
                audience: &audience,
                sender,
            })
            .await?)
    }

    /// Revokes a grant whose code or token was misused, and says why the request fails.
    pub(super) async fn revoke_and_refuse(
        &self,
        tenant: &Tenant,
        grant: GrantId,
        reason: &str,
    ) -> OAuthError {
        tracing::warn!(tenant.id = %tenant.id, grant.id = %grant, reason, "grant revoked");
        match self.store.revoke_grant(tenant.id, grant, self.now()).await {
            Ok(()) => OAuthError::invalid_grant(reason),
            Err(err) => CoreError::from(err).into(),
        }
    }

    /// Tokens for a flow a native-API client finished (sign-in, or the end of sign-up or
    /// password reset: `grant_type=continuation_token` and the native credential grants).
    /// Spends the flow, so one flow gives tokens once, and starts a session (no cookie) so the
    /// sign-in shows in `sid`, ends with sign-out-everywhere, and anchors the refresh tokens.
    pub async fn grant_finished_flow(
        &self,
        tenant: &Tenant,
        app: &Application,
        flow: SignInFlow,
        scope: Option<&str>,
        client_info: bool,
    ) -> Result<IssuedTokens, OAuthError> {
        // Microsoft's native-auth SDKs fail a sign-in whose answer has no refresh token
        // (`refresh_token_missing`), and Entra always sends one: offline access is implied.
        let scope = Scope::parse(scope.unwrap_or_default())?.with("offline_access");
        let signed_in = self
            .flow_user(tenant, &flow)
            .await?
            .ok_or_else(|| OAuthError::invalid_grant("the user can no longer sign in"))?;
        // Decided before the flow is spent: a refused scope leaves the person's sign-in
        // standing for a corrected request.
        let audience = self
            .delegated_audience(tenant, app, &scope, signed_in.user.id)
            .await?;
        let proof = flow.flow.clone();
        self.spend_flow(tenant, flow)
            .await
            .map_err(|err| match err {
                FlowError::Core(err) => OAuthError::from(err),
                _ => OAuthError::invalid_grant("the flow was already used"),
            })?;
        // The session has no cookie: its secret is never shown.
        let (_, session) = self.new_session(tenant, &signed_in.user, false, &proof)?;
        let user = signed_in.user;
        let grant_id = GrantId::new_random();
        let now = self.now();
        let refresh = Self::mint_refresh_token(RefreshTokenRecord {
            token_digest: String::new(),
            tenant_id: tenant.id,
            grant_id,
            client_id: app.client_id,
            user_id: user.id,
            session_id: session.id,
            scope: scope.to_wire(),
            auth_time: session.auth_time,
            amr: session.amr.clone(),
            issued_at: now,
            expires_at: self
                .refresh_lifetime(tenant, app)
                .await?
                .expires_at(now, now),
            audience: Some(audience.app.client_id),
            dpop_jkt: None,
        })?;
        self.store
            .create_session_grant(
                &session,
                signed_in.signed_out_at,
                &GrantRecord {
                    tenant_id: tenant.id,
                    id: grant_id,
                    client_id: app.client_id,
                    user_id: user.id,
                    session_id: session.id,
                    created_at: now,
                },
                refresh.as_ref().map(|(_, record)| record),
            )
            .await
            .map_err(CoreError::from)?;
        let refresh_token = refresh.map(|(token, _)| token);
        let issued = self
            .issue_user_tokens(UserGrant {
                tenant,
                app,
                client_auth: ClientAuthMethod::None,
                user: &user,
                scope: &scope,
                audience: &audience,
                nonce: None,
                auth_time: session.auth_time,
                amr: &session.amr,
                session_id: session.id,
                grant_id,
                refresh_token,
                client_info,
                front_channel: None,
                actor: None,
                not_after: None,
                sender: None,
                provided: None,
            })
            .await?;
        metrics::counter!("portico_token_requests_total",
            "grant" => "native", "outcome" => "issued")
        .increment(1);
        Ok(issued)
    }

    /// The user a grant was made for, if they may still sign in.
    pub(super) async fn grant_user(
        &self,
        tenant: &Tenant,
        user: UserId,
    ) -> Result<User, OAuthError> {
        self.store
            .find_user(tenant.id, user)
            .await
            .map_err(CoreError::from)?
            .filter(|user| user.enabled)
            .ok_or_else(|| OAuthError::invalid_grant("the user can no longer sign in"))
    }
}
