//! The on-behalf-of grant (Entra's OBO, RFC 7523's `jwt-bearer` grant type with
//! `requested_token_use=on_behalf_of`): a middle-tier API that received a user's access token
//! trades it for a token to a downstream API, as that user. Entra's checks: the caller
//! authenticates as a confidential client; the assertion is a live user access token of this
//! tenant whose audience is the caller; the downstream scopes are granted to the caller
//! (by an administrator, or by this user's consent to the caller).

use super::grants::TokenRequest;
use super::{OAuthError, OAuthErrorCode, Scope};
use crate::directory::Tenant;
use crate::ids::{GrantId, SessionId, UserId};
use crate::tokens::{IssuedTokens, UserGrant};
use crate::{CoreError, Portico};

/// The grant type of on-behalf-of requests.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

fn refuse(description: &str) -> OAuthError {
    OAuthError::invalid_grant(description)
}

/// The user a verified access token speaks for, with the session and grant it came from:
/// only a user's delegated token does (app-only tokens carry roles, no `scp`, no session),
/// and only while the user may sign in. Shared by on-behalf-of and token exchange.
pub(super) struct DelegatedSubject {
    /// The user, enabled.
    pub(super) user: crate::directory::User,
    /// The session of the user's sign-in.
    pub(super) session_id: SessionId,
    /// The user's grant (what derived tokens belong to).
    pub(super) grant_id: GrantId,
}

impl Portico {
    /// A token derived from a user's token (on-behalf-of, token exchange) is held to the
    /// user flows of the apps involved, as the user's own sign-in would be: where the
    /// caller's or the target API's flow requires MFA, the sign-in behind the token must have
    /// passed a second factor (`amr` has `mfa`). Otherwise `invalid_grant`, as Entra answers
    /// an on-behalf-of request whose user has not met the downstream policy (UNCONFIRMED: Entra
    /// adds a `claims` challenge, which Portico's flows have no use for).
    pub(super) async fn check_derived_mfa(
        &self,
        tenant: &Tenant,
        apps: [crate::ids::ClientId; 2],
        amr: Option<&[String]>,
    ) -> Result<(), OAuthError> {
        if amr.is_some_and(|methods| methods.iter().any(|m| m == "mfa")) {
            return Ok(());
        }
        // One read of the tenant's flows serves both apps.
        // Read from the store, not the cache: this decides whether a token is issued.
        let flows = self
            .store
            .user_flows(tenant.id)
            .await
            .map_err(CoreError::from)?;
        for app in apps {
            let flow = crate::directory::flow_serving(tenant, &flows, app);
            if flow.config.mfa == crate::directory::MfaPolicy::Required {
                return Err(OAuthError::invalid_grant(
                    "the user's sign-in passed no second factor, which this application requires: sign in again",
                ));
            }
        }
        Ok(())
    }

    /// The user `claims` (a verified access token) speak for; `None` for an app-only or
    /// malformed token, or a user who may no longer sign in.
    pub(super) async fn delegated_subject(
        &self,
        tenant: &Tenant,
        claims: &crate::tokens::AccessTokenClaims,
    ) -> Result<Option<DelegatedSubject>, CoreError> {
        let (Some(_), Some(sid), Some(rh)) = (&claims.scp, &claims.sid, &claims.rh) else {
            return Ok(None);
        };
        let (Ok(user_id), Ok(session_id), Ok(grant_id)) = (
            claims.oid.parse::<UserId>(),
            sid.parse::<SessionId>(),
            rh.parse::<GrantId>(),
        ) else {
            return Ok(None);
        };
        let user = self
            .store
            .find_user(tenant.id, user_id)
            .await?
            .filter(|user| user.enabled);
        Ok(user.map(|user| DelegatedSubject {
            user,
            session_id,
            grant_id,
        }))
    }

    /// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with
    /// `requested_token_use=on_behalf_of`.
    pub(super) async fn grant_on_behalf_of(
        &self,
        tenant: &Tenant,
        request: &TokenRequest,
        sender: Option<&super::DpopKey>,
    ) -> Result<IssuedTokens, OAuthError> {
        if request.requested_token_use.as_deref() != Some("on_behalf_of") {
            return Err(OAuthError::invalid_request(
                "requested_token_use must be on_behalf_of",
            ));
        }
        let assertion = request
            .assertion
            .as_deref()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("assertion is required"))?;
        let (app, auth_method) = self
            .authenticate_sender(tenant, &request.credentials, sender)
            .await?;
        if !app.kind.is_confidential() {
            return Err(OAuthError::new(
                OAuthErrorCode::UnauthorizedClient,
                "only confidential clients may act on behalf of a user",
            ));
        }
        // A token that is forged, expired, of another tenant, or of a sign-in that has ended
        // (the grant behind it revoked) is no assertion.
        let claims = self
            .verify_access_token(tenant, assertion)
            .await
            .map_err(|_| refuse("the assertion is not a valid access token of this tenant"))?;
        if claims.aud != app.client_id.to_string() {
            return Err(refuse(
                "the assertion's audience is not the calling application",
            ));
        }
        let DelegatedSubject {
            user,
            session_id,
            grant_id,
        } = self
            .delegated_subject(tenant, &claims)
            .await?
            .ok_or_else(|| {
                refuse("the assertion is not the delegated token of a user who may sign in")
            })?;
        let asked = Scope::parse(request.scope.as_deref().unwrap_or_default())?;
        if asked.is_empty() {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidScope,
                "scope is required",
            ));
        }
        // The downstream token carries no ID token (the user signed in to the caller's
        // client, not to the caller) and no refresh token: the caller asks again with the
        // user's next access token, so nothing it holds outlives the user's own sign-in.
        // UNCONFIRMED: Entra may return a refresh token for offline_access here.
        let scope = asked.without(&["openid", "offline_access"]);
        let audience = self
            .delegated_audience(tenant, &app, &scope, user.id)
            .await?;
        // A token for the caller itself would be a new assertion for the next exchange: a
        // chain that renews itself past the user's own token. OBO is for downstream APIs.
        if audience.app.client_id == app.client_id {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidScope,
                "name the downstream API's scopes: on-behalf-of issues no token for the caller itself",
            ));
        }
        self.check_derived_mfa(
            tenant,
            [app.client_id, audience.app.client_id],
            claims.amr.as_deref(),
        )
        .await?;
        let amr = claims.amr.unwrap_or_default().join(" ");
        Ok(self
            .issue_user_tokens(UserGrant {
                tenant,
                app: &app,
                client_auth: auth_method,
                user: &user,
                scope: &scope,
                audience: &audience,
                nonce: None,
                // Access tokens carry no auth_time; the assertion's issue time stands in (no
                // ID token is issued, where it would show).
                auth_time: claims.iat,
                amr: &amr,
                session_id,
                // The user's grant: revoking their sign-in revokes what was issued on their
                // behalf too.
                grant_id,
                refresh_token: None,
                client_info: request.client_info,
                front_channel: None,
                actor: None,
                // Never past the user's token it came from.
                not_after: Some(claims.exp),
                sender,
                provided: None,
            })
            .await?)
    }
}
