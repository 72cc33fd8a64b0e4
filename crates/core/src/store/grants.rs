//! Grants: authorization codes, refresh tokens and their revocation.

use async_trait::async_trait;

use crate::StoreError;
use crate::clock::UnixTime;
use crate::ids::{ClientId, GrantId, SessionId, TenantId, UserId};
use crate::store::SessionRecord;

/// An issued, not yet redeemed authorization code.
#[derive(Debug, Clone)]
pub struct AuthCodeRecord {
    /// Digest of the code.
    pub code_digest: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Client the code was issued to.
    pub client_id: ClientId,
    /// Signed-in user.
    pub user_id: UserId,
    /// The grant this code starts.
    pub grant_id: GrantId,
    /// SSO session the user authenticated in.
    pub session_id: SessionId,
    /// The exact redirect URI of the authorization request.
    pub redirect_uri: String,
    /// Granted scope (space separated).
    pub scope: String,
    /// `nonce` from the authorization request.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// When the user authenticated.
    pub auth_time: UnixTime,
    /// How the user authenticated: RFC 8176 method values, space-separated.
    pub amr: String,
    /// Expiry (issue time + at most 60 s).
    pub expires_at: UnixTime,
    /// The DPoP key whose proof must redeem the code (RFC 9449 §10), if the request named one.
    pub dpop_jkt: Option<String>,
    /// Claims token-issuance extensions provided when the code was issued (JSON), so that
    /// redeeming it makes no second call.
    pub extension_claims: Option<String>,
}

/// What a rotated refresh token's successor takes on where its family has nothing yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshPins {
    /// The app its access tokens are for.
    pub audience: Option<ClientId>,
    /// The DPoP key (thumbprint) it is bound to from now on.
    pub dpop_jkt: Option<String>,
}

/// The outcome of redeeming a code.
#[derive(Debug)]
pub enum CodeRedemption {
    /// First use: the code's data. It is now spent.
    Redeemed(Box<AuthCodeRecord>),
    /// The code was used before: the caller must revoke this grant.
    Replayed(GrantId),
    /// No such code in this tenant.
    Unknown,
}

/// A refresh token as stored.
#[derive(Debug, Clone)]
pub struct RefreshTokenRecord {
    /// Digest of the token.
    pub token_digest: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// The grant (family) it belongs to.
    pub grant_id: GrantId,
    /// Client it was issued to.
    pub client_id: ClientId,
    /// User.
    pub user_id: UserId,
    /// SSO session of the original sign-in.
    pub session_id: SessionId,
    /// Granted scope.
    pub scope: String,
    /// Original authentication time.
    pub auth_time: UnixTime,
    /// How the user authenticated: RFC 8176 method values, space-separated.
    pub amr: String,
    /// When this token was issued.
    pub issued_at: UnixTime,
    /// Expiry.
    pub expires_at: UnixTime,
    /// The app its access tokens are for (an API, or the client itself), as decided when the
    /// grant was first redeemed: a refresh whose scope names another app by then (an
    /// identifier URI moved to another API) is refused. `None` for tokens from before.
    pub audience: Option<ClientId>,
    /// The DPoP key (thumbprint) a public client's family is bound to (RFC 9449 §5): every
    /// refresh must prove that key. Kept by every token of the family.
    pub dpop_jkt: Option<String>,
}

/// How long refresh tokens of a grant live: `idle_secs` from each rotation, and never past
/// `absolute_secs` after the grant was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshLifetime {
    /// Lifetime of each token from its issue (the sliding window).
    pub idle_secs: i64,
    /// Lifetime of the family from the grant's creation.
    pub absolute_secs: i64,
}

impl RefreshLifetime {
    /// When a token issued at `now` for a grant made at `granted_at` expires.
    pub fn expires_at(self, granted_at: UnixTime, now: UnixTime) -> UnixTime {
        (now + self.idle_secs).min(granted_at + self.absolute_secs)
    }
}

/// The outcome of rotating a refresh token.
#[derive(Debug)]
pub enum RefreshRedemption {
    /// The presented token was valid and is now spent; the successor is stored. Holds the
    /// presented token's record.
    Rotated(Box<RefreshTokenRecord>),
    /// The token was spent before: reuse. The caller must revoke this grant.
    Reused(GrantId),
    /// Unknown, expired, or its grant was revoked.
    Invalid,
}

/// A grant: what one user authorization issued (revoked as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    /// Tenant.
    pub tenant_id: TenantId,
    /// Id (the `rh` of its access tokens).
    pub id: GrantId,
    /// The app it was made to.
    pub client_id: ClientId,
    /// The user.
    pub user_id: UserId,
    /// The session it came from.
    pub session_id: SessionId,
    /// When.
    pub created_at: UnixTime,
}

/// Storage of grants: authorization codes, refresh tokens and their revocation (part of
/// [`super::Store`]).
#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Stores a new code and creates its grant, in one transaction; [`StoreError::SessionEnded`]
    /// if the code's session has ended (its row is locked first, so a concurrent sign-out
    /// either comes first or revokes this grant too).
    async fn create_authorization_code(&self, code: &AuthCodeRecord) -> Result<(), StoreError>;
    /// Spends a code (at most once, even under concurrency).
    async fn redeem_authorization_code(
        &self,
        tenant: TenantId,
        code_digest: &str,
        now: UnixTime,
    ) -> Result<CodeRedemption, StoreError>;
    /// Stores the first refresh token of a grant.
    async fn create_refresh_token(&self, token: &RefreshTokenRecord) -> Result<(), StoreError>;
    /// Records a grant made without an authorization code (a native-API sign-in), with its
    /// first refresh token if it has one, in one transaction; [`StoreError::SessionEnded`] as
    /// for [`Store::create_authorization_code`].
    async fn create_grant(
        &self,
        grant: &GrantRecord,
        refresh: Option<&RefreshTokenRecord>,
    ) -> Result<(), StoreError>;
    /// Starts a session and records a grant made in it, with its first refresh token if it
    /// has one, in one transaction (a native-API sign-in: one commit where
    /// [`super::SessionStore::create_session`] and [`GrantStore::create_grant`] would take
    /// two, and never a session without its grant); [`StoreError::SessionEnded`] as for
    /// `create_session`.
    async fn create_session_grant(
        &self,
        session: &SessionRecord,
        signed_out_at: UnixTime,
        grant: &GrantRecord,
        refresh: Option<&RefreshTokenRecord>,
    ) -> Result<(), StoreError>;
    /// Spends `old_digest` and stores its successor (`new_digest`, same grant, scope,
    /// audience and DPoP key; what the family lacks, `pins` fills in: the audience of a token
    /// from before audiences were kept, the key of a public client's family that had none),
    /// in one transaction. Detects reuse of a spent token.
    async fn rotate_refresh_token(
        &self,
        tenant: TenantId,
        old_digest: &str,
        new_digest: &str,
        lifetime: RefreshLifetime,
        pins: RefreshPins,
        now: UnixTime,
    ) -> Result<RefreshRedemption, StoreError>;
    /// Revokes a grant: its refresh tokens stop working and its access tokens are refused by
    /// Portico's own endpoints.
    async fn revoke_grant(
        &self,
        tenant: TenantId,
        grant: GrantId,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// The client app a grant was made to, if the grant exists in this tenant.
    async fn grant_client(
        &self,
        tenant: TenantId,
        grant: GrantId,
    ) -> Result<Option<ClientId>, StoreError>;
    /// Whether a grant exists in this tenant and is not revoked.
    async fn grant_is_active(&self, tenant: TenantId, grant: GrantId) -> Result<bool, StoreError>;
    /// A refresh token that still works (unused, unexpired, its grant not revoked), read
    /// without spending it: for introspection and revocation.
    async fn live_refresh_token(
        &self,
        tenant: TenantId,
        digest: &str,
        now: UnixTime,
    ) -> Result<Option<RefreshTokenRecord>, StoreError>;
}
