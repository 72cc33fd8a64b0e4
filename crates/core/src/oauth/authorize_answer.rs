//! Answering a validated authorization request: completing it from the browser's session,
//! or sending the person to a page (sign-in, sign-up, step-up, consent), and the answer that
//! goes back to the app's redirect URI (a code, tokens, or an error).

use super::authorize::{
    AuthorizeDecision, AuthorizeRequest, AuthorizeResponse, Prompt, ResponseMode, session_meets,
};
use super::{OAuthError, OAuthErrorCode};
use crate::directory::Tenant;
use crate::extensions::ProvidedClaims;
use crate::ids::GrantId;
use crate::secret::{digest_secret, random_token};
use crate::signin::ActiveSession;
use crate::store::AuthCodeRecord;
use crate::{CoreError, Portico};

impl Portico {
    /// Decides between completing silently, showing a page, or failing. A session serves an
    /// app only at the strength its user flow asks for: where the flow requires MFA and the
    /// session passed none, the person steps up (or, with `prompt=none`, the app hears
    /// `interaction_required`); and only for scopes its user consented to (or an
    /// administrator granted): else the consent step (`consent_required` for `prompt=none`).
    pub async fn decide_authorize(
        &self,
        tenant: &Tenant,
        request: &AuthorizeRequest,
        session: Option<ActiveSession>,
    ) -> Result<AuthorizeDecision, CoreError> {
        let now = self.now();
        // Strict: `max_age=0` always re-authenticates (it is used as a `prompt=login`).
        let fresh_enough = |session: &ActiveSession| {
            request
                .max_age
                .is_none_or(|max| session.record.auth_time.saturating_add(max) > now)
        };
        let session = session.filter(fresh_enough);
        let strong_enough = match &session {
            Some(session) => {
                let config = self
                    .user_flow_for_app(tenant, request.app.client_id)
                    .await?
                    .config;
                session_meets(&config, session)
            }
            None => false,
        };
        // Only a session that would serve may lack nothing but consent.
        let consent_pending = match &session {
            Some(session) if strong_enough => {
                let always = request.prompt == Some(Prompt::Consent);
                self.needs_consent(
                    tenant,
                    &request.app,
                    &request.scope,
                    always,
                    session.user.id,
                )
                .await?
            }
            _ => false,
        };
        let refuse = |code: OAuthErrorCode, description: &str| {
            AuthorizeDecision::Respond(self.authorize_error(
                tenant,
                &request.redirect_uri,
                request.response_mode,
                request.state.as_deref(),
                OAuthError::new(code, description),
            ))
        };
        Ok(match (request.prompt, session) {
            (Some(Prompt::Create), _) => AuthorizeDecision::SignUp,
            (Some(Prompt::Login), _) => AuthorizeDecision::SignIn,
            (_, Some(session)) if strong_enough && !consent_pending => {
                AuthorizeDecision::Complete(Box::new(session))
            }
            (Some(Prompt::None), Some(_)) if strong_enough => refuse(
                OAuthErrorCode::ConsentRequired,
                "the user has not consented to the scopes this application asks for",
            ),
            (Some(Prompt::None), Some(_)) => refuse(
                OAuthErrorCode::InteractionRequired,
                "this application requires a second factor the session has not passed",
            ),
            (Some(Prompt::None), None) => {
                refuse(OAuthErrorCode::LoginRequired, "the user must sign in")
            }
            (_, Some(session)) => AuthorizeDecision::StepUp(Box::new(session)),
            _ => AuthorizeDecision::SignIn,
        })
    }

    /// Answers an authorization request for a signed-in user: a code (single use,
    /// short-lived, bound to client, redirect URI and PKCE challenge), and for the implicit and
    /// hybrid response types an ID token (with `nonce`, `c_hash`, `at_hash`) and access token.
    pub async fn issue_authorization_code(
        &self,
        tenant: &Tenant,
        request: &AuthorizeRequest,
        session: &ActiveSession,
    ) -> Result<AuthorizeResponse, CoreError> {
        // Decided now, with the user known, so that someone the app or its API does not admit
        // goes back to the app with `access_denied` instead of a code that cannot be redeemed.
        // The token endpoint decides again (grants may change in between).
        let audience = match self
            .delegated_audience(tenant, &request.app, &request.scope, session.user.id)
            .await
        {
            Ok(audience) => audience,
            Err(refused) => {
                let error = match refused.code {
                    OAuthErrorCode::InvalidGrant => {
                        OAuthError::new(OAuthErrorCode::AccessDenied, refused.description)
                    }
                    _ => refused,
                };
                return Ok(self.authorize_error(
                    tenant,
                    &request.redirect_uri,
                    request.response_mode,
                    request.state.as_deref(),
                    error,
                ));
            }
        };
        // The token-issuance extensions are asked now, while the person is here to see a
        // failure; their answer travels with the code (and into front-channel tokens).
        let provided = match self
            .claims_from_extensions(tenant, &request.app, &audience.app, Some(&session.user))
            .await
        {
            Ok(provided) => provided,
            // A silent request has no one to show a page to: the app hears it, as RFC 6749
            // §4.1.2.1 provides, and may try again interactively.
            Err(failed @ CoreError::Extension { .. }) if request.prompt == Some(Prompt::None) => {
                return Ok(self.authorize_error(
                    tenant,
                    &request.redirect_uri,
                    request.response_mode,
                    request.state.as_deref(),
                    OAuthError::from(failed),
                ));
            }
            Err(err) => return Err(err),
        };
        let grant_id = GrantId::new_random();
        let mut params = Vec::new();
        if request.response_type.code {
            let code = self
                .new_code(tenant, request, session, grant_id, &provided)
                .await?;
            params.push(("code".to_owned(), code));
        } else {
            self.store
                .create_grant(
                    &crate::store::GrantRecord {
                        tenant_id: tenant.id,
                        id: grant_id,
                        client_id: request.app.client_id,
                        user_id: session.user.id,
                        session_id: session.record.id,
                        created_at: self.now(),
                    },
                    None,
                )
                .await?;
        }
        if request.response_type.has_tokens() {
            let code = params.first().map(|(_, code)| code.clone());
            let issued = self
                .issue_user_tokens(crate::tokens::UserGrant {
                    tenant,
                    app: &request.app,
                    client_auth: super::ClientAuthMethod::None,
                    user: &session.user,
                    scope: &request.scope,
                    audience: &audience,
                    nonce: request.nonce.as_deref(),
                    auth_time: session.record.auth_time,
                    amr: &session.record.amr,
                    session_id: session.record.id,
                    grant_id,
                    refresh_token: None,
                    client_info: false,
                    front_channel: Some(crate::tokens::FrontChannel {
                        with_access_token: request.response_type.token,
                        code: code.as_deref(),
                    }),
                    actor: None,
                    not_after: None,
                    // Tokens in the front channel travel without a proof.
                    sender: None,
                    provided: Some(provided),
                })
                .await?;
            if request.response_type.token {
                params.push(("access_token".to_owned(), issued.access_token));
                params.push(("token_type".to_owned(), "Bearer".to_owned()));
                params.push(("expires_in".to_owned(), issued.expires_in.to_string()));
                params.push(("scope".to_owned(), issued.scope));
            }
            if let Some(id_token) = issued.id_token {
                params.push(("id_token".to_owned(), id_token));
            }
        }
        if let Some(state) = &request.state {
            params.push(("state".to_owned(), state.clone()));
        }
        params.push(("iss".to_owned(), self.issuer(tenant)));
        Ok(AuthorizeResponse {
            redirect_uri: request.redirect_uri.clone(),
            mode: request.response_mode,
            params,
        })
    }

    /// Stores a new authorization code of `grant_id` and returns it.
    async fn new_code(
        &self,
        tenant: &Tenant,
        request: &AuthorizeRequest,
        session: &ActiveSession,
        grant_id: GrantId,
        provided: &ProvidedClaims,
    ) -> Result<String, CoreError> {
        let code = random_token()?;
        let now = self.now();
        let record = AuthCodeRecord {
            code_digest: digest_secret(&code),
            tenant_id: tenant.id,
            client_id: request.app.client_id,
            user_id: session.user.id,
            grant_id,
            session_id: session.record.id,
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope.to_wire(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            auth_time: session.record.auth_time,
            amr: session.record.amr.clone(),
            expires_at: now + self.settings.code_lifetime_secs.min(60),
            dpop_jkt: request.dpop_jkt.clone(),
            extension_claims: provided.to_stored()?,
        };
        self.store.create_authorization_code(&record).await?;
        Ok(code)
    }

    /// An error response for a verified redirect URI, with `state` and RFC 9207 `iss`.
    pub fn authorize_error(
        &self,
        tenant: &Tenant,
        redirect_uri: &str,
        mode: ResponseMode,
        state: Option<&str>,
        error: OAuthError,
    ) -> AuthorizeResponse {
        let mut params = vec![
            ("error".to_owned(), error.code.as_str().to_owned()),
            ("error_description".to_owned(), error.description),
        ];
        if let Some(state) = state {
            params.push(("state".to_owned(), state.to_owned()));
        }
        params.push(("iss".to_owned(), self.issuer(tenant)));
        AuthorizeResponse {
            redirect_uri: redirect_uri.to_owned(),
            mode,
            params,
        }
    }
}
