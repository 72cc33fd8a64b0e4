//! The refresh-token grant: rotation with reuse detection (RFC 9700 §4.14.2), a scope that
//! may narrow but never widen, an audience pinned to the app the grant was first redeemed
//! for, and lifetimes (idle and absolute; fixed for single-page apps).

use super::grants::{TokenRequest, check_browser_origin, required};
use super::{DpopKey, OAuthError, OAuthErrorCode, Scope};
use crate::directory::{AppKind, Application, Tenant};
use crate::secret::{digest_secret, random_token};
use crate::store::{RefreshLifetime, RefreshPins, RefreshRedemption, RefreshTokenRecord};
use crate::tokens::{IssuedTokens, UserGrant};
use crate::{CoreError, Portico};

/// A refresh yields tokens only for the app its grant was first redeemed for: if the name in
/// its scope now means another app (an identifier URI moved to another API), nothing.
fn same_audience(token: &RefreshTokenRecord, audience: &super::Audience) -> Result<(), OAuthError> {
    match token.audience {
        // Narrowed to the OpenID Connect scopes, the token is for the client itself: fine.
        Some(pinned)
            if pinned != audience.app.client_id && audience.app.client_id != token.client_id =>
        {
            Err(OAuthError::invalid_grant(
                "the API this refresh token was issued for is no longer the one its scope names: sign in again",
            ))
        }
        _ => Ok(()),
    }
}

/// A family bound to a DPoP key is refreshed only with a proof of that key (RFC 9449 §5).
fn same_key(token: &RefreshTokenRecord, sender: Option<&DpopKey>) -> Result<(), OAuthError> {
    match (&token.dpop_jkt, sender) {
        (Some(bound), Some(key)) if bound == key.thumbprint() => Ok(()),
        (Some(_), Some(_)) => Err(super::dpop::invalid_proof(
            "the refresh token is bound to another DPoP key",
        )),
        (Some(_), None) => Err(super::dpop::invalid_proof(
            "the refresh token is bound to a DPoP key: send a DPoP proof",
        )),
        (None, _) => Ok(()),
    }
}

impl Portico {
    /// `grant_type=refresh_token`: everything that can refuse is decided before the token is
    /// spent; a spent token presented again ends its whole family.
    pub(super) async fn grant_refresh_token(
        &self,
        tenant: &Tenant,
        request: &TokenRequest,
        sender: Option<&DpopKey>,
    ) -> Result<IssuedTokens, OAuthError> {
        let presented = required(&request.refresh_token, "refresh_token")?;
        let (app, auth_method) = self
            .authenticate_sender(tenant, &request.credentials, sender)
            .await?;
        check_browser_origin(&app, request.origin.as_deref())?;
        let now = self.now();
        let digest = digest_secret(presented);
        // Everything that can refuse a working token is decided before it is spent: a refused
        // request (a scope no longer granted, an assignment taken away) leaves the client its
        // token, instead of a spent one whose next use would look like a replay.
        let checked = match self
            .store
            .live_refresh_token(tenant.id, &digest, now)
            .await
            .map_err(CoreError::from)?
        {
            Some(live) if live.client_id == app.client_id => {
                // A stolen bound token is refused without being spent: its owner keeps it.
                same_key(&live, sender)?;
                let scope = refresh_scope(&live.scope, request.scope.as_deref())?;
                let user = self.grant_user(tenant, live.user_id).await?;
                let audience = self
                    .delegated_audience(tenant, &app, &scope, user.id)
                    .await?;
                same_audience(&live, &audience)?;
                Some((scope, user, audience))
            }
            _ => None,
        };
        let successor = random_token()?;
        let lifetime = self.refresh_lifetime(tenant, &app).await?;
        // A family from before audiences were kept takes the API decided now.
        let pin = checked
            .as_ref()
            .map(|(_, _, audience)| audience.app.client_id)
            .filter(|api| *api != app.client_id);
        // A public client's family that had no key takes the one it proves now (RFC 9449 §5).
        let pins = RefreshPins {
            audience: pin,
            dpop_jkt: super::grants::bound_refresh(&app, sender),
        };
        let record = match self
            .store
            .rotate_refresh_token(
                tenant.id,
                &digest,
                &digest_secret(&successor),
                lifetime,
                pins,
                now,
            )
            .await
            .map_err(CoreError::from)?
        {
            RefreshRedemption::Rotated(record) => record,
            RefreshRedemption::Reused(grant) => {
                // RFC 9700 §4.14.2: reuse of a rotated token means it leaked; end the family.
                return Err(self
                    .revoke_and_refuse(tenant, grant, "the refresh token was already used")
                    .await);
            }
            RefreshRedemption::Invalid => {
                return Err(OAuthError::invalid_grant(
                    "the refresh token is not valid, has expired or was revoked",
                ));
            }
        };
        if record.client_id != app.client_id {
            return Err(self
                .revoke_and_refuse(
                    tenant,
                    record.grant_id,
                    "the refresh token was issued to another client",
                )
                .await);
        }
        if same_key(&record, sender).is_err() {
            return Err(self
                .revoke_and_refuse(
                    tenant,
                    record.grant_id,
                    "the refresh token is bound to another DPoP key",
                )
                .await);
        }
        // The checks ran on this very token, unless it was spent or revoked in between (then
        // rotation refused it above); decided again only if the peek saw nothing.
        let (scope, user, audience) = match checked {
            Some(checked) => checked,
            None => {
                let scope = refresh_scope(&record.scope, request.scope.as_deref())?;
                let user = self.grant_user(tenant, record.user_id).await?;
                let audience = self
                    .delegated_audience(tenant, &app, &scope, user.id)
                    .await?;
                same_audience(&record, &audience)?;
                (scope, user, audience)
            }
        };
        Ok(self
            .issue_user_tokens(UserGrant {
                tenant,
                app: &app,
                client_auth: auth_method,
                user: &user,
                scope: &scope,
                audience: &audience,
                nonce: None,
                auth_time: record.auth_time,
                amr: &record.amr,
                session_id: record.session_id,
                grant_id: record.grant_id,
                refresh_token: Some(successor),
                client_info: request.client_info,
                front_channel: None,
                actor: None,
                not_after: None,
                sender,
                provided: None,
            })
            .await?)
    }

    /// How long the refresh tokens of `app`'s grants live: single-page apps 24 hours from the
    /// sign-in (or less, if the app sets less); others slide by the app's idle lifetime (or
    /// the server's), up to the tenant's absolute lifetime (or the server's).
    pub(crate) async fn refresh_lifetime(
        &self,
        tenant: &Tenant,
        app: &Application,
    ) -> Result<RefreshLifetime, CoreError> {
        if app.kind == AppKind::Spa {
            let fixed = app
                .refresh_token_lifetime_secs
                .map_or(self.settings.spa_refresh_token_lifetime_secs, |secs| {
                    secs.min(self.settings.spa_refresh_token_lifetime_secs)
                });
            return Ok(RefreshLifetime {
                idle_secs: fixed,
                absolute_secs: fixed,
            });
        }
        let absolute_secs = match self
            .tenant_settings(tenant.id)
            .await?
            .refresh_token_max_days
        {
            Some(days) => i64::from(days) * 24 * 3600,
            None => self.settings.refresh_token_absolute_lifetime_secs,
        };
        let idle_secs = app
            .refresh_token_lifetime_secs
            .unwrap_or(self.settings.refresh_token_lifetime_secs);
        Ok(RefreshLifetime {
            idle_secs: idle_secs.min(absolute_secs),
            absolute_secs,
        })
    }

    /// A new refresh token for `record` when its scope asks for one (`offline_access`): the
    /// token, and the record with its digest, for the caller to store.
    pub(super) fn mint_refresh_token(
        mut record: RefreshTokenRecord,
    ) -> Result<Option<(String, RefreshTokenRecord)>, CoreError> {
        if !Scope::parse(&record.scope)
            .map_err(|e| CoreError::Internal(e.description))?
            .contains("offline_access")
        {
            return Ok(None);
        }
        let token = random_token()?;
        record.token_digest = digest_secret(&token);
        Ok(Some((token, record)))
    }
}

/// The scope of a refresh: the one asked for, which must lie within what the grant holds, or
/// all of it.
fn refresh_scope(granted: &str, requested: Option<&str>) -> Result<Scope, OAuthError> {
    let granted = Scope::parse(granted)?;
    match requested.filter(|s| !s.is_empty()) {
        Some(requested) => {
            let requested = Scope::parse(requested)?;
            if !requested.is_subset_of(&granted) {
                return Err(OAuthError::new(
                    OAuthErrorCode::InvalidScope,
                    "the requested scope exceeds the scope originally granted",
                ));
            }
            Ok(requested)
        }
        None => Ok(granted),
    }
}
