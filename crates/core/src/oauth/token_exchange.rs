//! Token exchange (RFC 8693): a confidential client trades a user's access token (the
//! subject token) for one to another API, as the API's policy allows
//! ([`crate::directory::ExchangeRule`]): which clients may bring users' tokens for which
//! app, and whether they may impersonate the user (a token as if the user asked) or only act
//! for them (delegation: the client presents its own token as the actor, and the new token
//! names it in `act`). Anything else is `unauthorized_client` or `invalid_target`.

use super::grants::TokenRequest;
use super::{OAuthError, OAuthErrorCode, Scope};
use crate::Portico;
use crate::directory::Tenant;
use crate::tokens::{IssuedTokens, UserGrant};

/// The grant type.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// Token types Portico takes and issues: its access tokens are JWTs.
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

fn invalid_target(description: &str) -> OAuthError {
    OAuthError::new(OAuthErrorCode::InvalidTarget, description)
}

/// The `aud` a JWT's payload claims, unverified: only to find the rule that applies, before
/// the token itself is checked.
fn claimed_audience(token: &str) -> Option<String> {
    use base64::Engine as _;
    #[derive(serde::Deserialize)]
    struct Aud {
        aud: String,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice::<Aud>(&bytes).ok().map(|a| a.aud)
}

fn token_type_ok(value: Option<&str>) -> bool {
    matches!(value, Some(ACCESS_TOKEN_TYPE | JWT_TYPE))
}

/// How many actors an `act` claim may chain (RFC 8693 §4.1 nesting): enough for a gateway
/// in front of a service in front of another, short enough to keep tokens small.
const MAX_ACT_DEPTH: usize = 4;

/// How many actors an `act` claim names, the nested ones included.
fn act_depth(act: &serde_json::Value) -> usize {
    let mut depth = 0;
    let mut current = Some(act);
    while let Some(actor) = current {
        depth += 1;
        current = actor.get("act");
    }
    depth
}

impl Portico {
    /// `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`.
    pub(super) async fn grant_token_exchange(
        &self,
        tenant: &Tenant,
        request: &TokenRequest,
        sender: Option<&super::DpopKey>,
    ) -> Result<IssuedTokens, OAuthError> {
        let exchange = &request.exchange;
        let subject_token = exchange
            .subject_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("subject_token is required"))?;
        if !token_type_ok(exchange.subject_token_type.as_deref()) {
            return Err(OAuthError::invalid_request(
                "subject_token_type must be urn:ietf:params:oauth:token-type:access_token or :jwt",
            ));
        }
        if exchange.actor_token.is_some() != exchange.actor_token_type.is_some()
            || (exchange.actor_token.is_some()
                && !token_type_ok(exchange.actor_token_type.as_deref()))
        {
            return Err(OAuthError::invalid_request(
                "actor_token and an access-token actor_token_type go together",
            ));
        }
        if exchange.requested_token_type.is_some()
            && !token_type_ok(exchange.requested_token_type.as_deref())
        {
            return Err(OAuthError::invalid_request(
                "only access tokens are issued by token exchange",
            ));
        }
        let (app, auth_method) = self
            .authenticate_sender(tenant, &request.credentials, sender)
            .await?;
        if !app.kind.is_confidential() {
            return Err(OAuthError::new(
                OAuthErrorCode::UnauthorizedClient,
                "only confidential clients may exchange tokens",
            ));
        }
        // The target: the API the scope names; `audience` and `resource`, if given, must name
        // the same one.
        let scope = Scope::parse(request.scope.as_deref().unwrap_or_default())?
            .without(&["openid", "offline_access"]);
        let target = match self.split_scope(tenant, &scope).await {
            Ok(requested) => requested.api.map(|(api, _, _)| api),
            Err(err) => return Err(invalid_target(&err.description)),
        }
        .ok_or_else(|| invalid_target("name the target API's scopes in scope"))?;
        for named in [&exchange.audience, &exchange.resource]
            .into_iter()
            .flatten()
        {
            let same = self
                .find_resource(tenant, named)
                .await?
                .is_some_and(|found| found.client_id == target.client_id);
            if !same {
                return Err(invalid_target(
                    "audience or resource names another API than the scope",
                ));
            }
        }
        // The policy is looked up by the audience the subject token claims, before the token is
        // checked: a client the policy does not name learns nothing about a token it holds.
        let claimed = claimed_audience(subject_token)
            .ok_or_else(|| OAuthError::invalid_request("the subject_token is not valid here"))?;
        let rule = target
            .api
            .exchange_rule(app.client_id, &claimed)
            .ok_or_else(|| {
                OAuthError::new(
                    OAuthErrorCode::UnauthorizedClient,
                    "the target API does not let this client exchange these tokens",
                )
            })?;
        let subject = self
            .verify_access_token(tenant, subject_token)
            .await
            .map_err(|_| OAuthError::invalid_request("the subject_token is not valid here"))?;
        let super::on_behalf_of::DelegatedSubject {
            user,
            session_id,
            grant_id,
        } = self
            .delegated_subject(tenant, &subject)
            .await?
            .ok_or_else(|| {
                OAuthError::invalid_request(
                    "the subject_token is not the delegated token of a user who may sign in",
                )
            })?;
        let actor = match exchange.actor_token.as_deref() {
            Some(actor_token) => {
                let actor = self
                    .verify_access_token(tenant, actor_token)
                    .await
                    .map_err(|_| {
                        OAuthError::invalid_request("the actor_token is not valid here")
                    })?;
                // The client acts as itself: its own token, not someone else's.
                if actor.azp != app.client_id.to_string() || actor.oid != app.client_id.to_string()
                {
                    return Err(OAuthError::invalid_request(
                        "the actor_token must be the client's own app token",
                    ));
                }
                // The client's own token, bound to its DPoP key: only with that key.
                if let Some(cnf) = &actor.cnf
                    && sender.is_none_or(|key| key.thumbprint() != cnf.jkt)
                {
                    return Err(super::dpop::invalid_proof(
                        "the actor_token is bound to a DPoP key: prove it with this request",
                    ));
                }
                // RFC 8693 §4.1: earlier actors of the subject token stay, nested inside.
                let mut act = serde_json::json!({ "sub": actor.sub, "client_id": actor.azp });
                if let (Some(prior), Some(map)) = (subject.act.clone(), act.as_object_mut()) {
                    map.insert("act".into(), prior);
                }
                if act_depth(&act) > MAX_ACT_DEPTH {
                    return Err(OAuthError::invalid_request(
                        "the chain of actors is too long",
                    ));
                }
                Some(act)
            }
            // Impersonation hides no earlier actor: the subject's chain stays as it was.
            None if rule.impersonation => subject.act.clone(),
            None => {
                return Err(OAuthError::invalid_request(
                    "this client may act for the user, not as them: send its own token as actor_token",
                ));
            }
        };
        let audience = self
            .delegated_audience(tenant, &app, &scope, user.id)
            .await?;
        self.check_derived_mfa(
            tenant,
            [app.client_id, audience.app.client_id],
            subject.amr.as_deref(),
        )
        .await?;
        let amr = subject.amr.unwrap_or_default().join(" ");
        let mut issued = self
            .issue_user_tokens(UserGrant {
                tenant,
                app: &app,
                client_auth: auth_method,
                user: &user,
                scope: &scope,
                audience: &audience,
                nonce: None,
                // As for on-behalf-of: no ID token is issued, where auth_time would show.
                auth_time: subject.iat,
                amr: &amr,
                session_id,
                grant_id,
                refresh_token: None,
                client_info: false,
                front_channel: None,
                actor,
                not_after: Some(subject.exp),
                sender,
                provided: None,
            })
            .await?;
        issued.issued_token_type = Some(ACCESS_TOKEN_TYPE);
        Ok(issued)
    }
}
