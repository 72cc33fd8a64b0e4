//! OpenID Connect Back-Channel Logout 1.0: when a session ends, every app it served that
//! listens on the back channel gets a signed logout token. Ending the session queues a
//! [`LogoutNotice`] per app in the same transaction (the store does it); the delivery worker
//! asks here for the token when it sends, so each attempt carries a fresh, short-lived one.

use async_trait::async_trait;
use portico_keys::encode_jws;
use serde::Serialize;

use crate::directory::TenantRef;
use crate::outbox::{LogoutNotice, OutboxRecord};
use crate::tokens::pairwise_subject;
use crate::{CoreError, Portico};

/// The event a logout token announces (§2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The JWT `typ` of logout tokens (§2.4, explicit typing), so no other kind of token from
/// this issuer can pass for one, nor one for another kind.
pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";
/// How long a logout token is good for: §4 advises at most two minutes, so a captured one is
/// soon worthless.
const LOGOUT_TOKEN_SECS: i64 = 120;

/// A logout token's claims (§2.4): `sub` and `sid` as in the app's ID tokens, never a
/// `nonce` (which would let it pass for an ID token).
#[derive(Debug, Serialize)]
struct LogoutTokenClaims {
    iss: String,
    sub: String,
    aud: String,
    iat: i64,
    exp: i64,
    jti: String,
    sid: String,
    events: serde_json::Value,
    oid: String,
    tid: String,
}

/// One back-channel logout request, ready to POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackchannelLogout {
    /// The app's back-channel logout URI.
    pub uri: String,
    /// The signed logout token (the `logout_token` form field).
    pub logout_token: String,
    /// The app registered itself (RFC 7591): its URI may only reach public addresses, checked
    /// on the addresses the name resolves to when it is sent.
    pub public_only: bool,
}

/// Makes the logout request of a queued notice (the delivery worker's view of [`Portico`]).
#[async_trait]
pub trait LogoutTokens: Send + Sync {
    /// The request to send for `record`, or `None` when there is no one to tell any more
    /// (the app was deleted or stopped listening, or its tenant is gone).
    async fn backchannel_logout(
        &self,
        record: &OutboxRecord,
    ) -> Result<Option<BackchannelLogout>, CoreError>;
}

#[async_trait]
impl LogoutTokens for Portico {
    async fn backchannel_logout(
        &self,
        record: &OutboxRecord,
    ) -> Result<Option<BackchannelLogout>, CoreError> {
        let notice = LogoutNotice::from_record(record)?;
        let Some(tenant_id) = record.tenant_id else {
            return Err(CoreError::Internal("logout notice without a tenant".into()));
        };
        let tenant = match self.tenant(&TenantRef::Id(tenant_id)).await {
            Ok(tenant) => tenant,
            Err(CoreError::NotFound(_)) => return Ok(None),
            Err(err) => return Err(err),
        };
        // The stored app, not the cache: a URI just taken off is not told.
        let uri = self
            .store
            .find_application(tenant.id, notice.client_id)
            .await?
            .and_then(|app| app.logout.backchannel);
        let Some(uri) = uri else {
            return Ok(None);
        };
        let public_only = self
            .store
            .registration(tenant.id, notice.client_id)
            .await?
            .is_some();
        let now = self.now();
        let keys = self
            .keys
            .tenant_keys(self.store.as_ref(), tenant.id, now)
            .await?;
        let claims = LogoutTokenClaims {
            iss: self.issuer(&tenant),
            sub: pairwise_subject(tenant.id, notice.client_id, notice.user_id),
            aud: notice.client_id.to_string(),
            iat: now,
            exp: now + LOGOUT_TOKEN_SECS,
            jti: crate::secret::random_token()?,
            sid: notice.session_id.to_string(),
            events: serde_json::json!({ BACKCHANNEL_LOGOUT_EVENT: {} }),
            oid: notice.user_id.to_string(),
            tid: tenant.id.to_string(),
        };
        Ok(Some(BackchannelLogout {
            uri,
            logout_token: encode_jws(&keys.signing, LOGOUT_TOKEN_TYP, &claims)?,
            public_only,
        }))
    }
}
