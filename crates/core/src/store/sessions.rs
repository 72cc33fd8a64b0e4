//! Browser SSO sessions.

use async_trait::async_trait;

use crate::StoreError;
use crate::clock::UnixTime;
use crate::directory::MfaMethod;
use crate::ids::{ClientId, SessionId, TenantId, UserId};

/// A browser SSO session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Public id (`sid`).
    pub id: SessionId,
    /// Digest of the cookie secret.
    pub secret_digest: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Signed-in user.
    pub user_id: UserId,
    /// When the user authenticated.
    pub auth_time: UnixTime,
    /// How the user authenticated: RFC 8176 method values, space-separated.
    pub amr: String,
    /// Expiry.
    pub expires_at: UnixTime,
    /// "Keep me signed in": the cookie outlives the browser session.
    pub persistent: bool,
    /// The kinds of second factor passed in this session: it serves an app whose user flow
    /// requires MFA only if one of them is a kind that flow accepts.
    pub second_factors: Vec<MfaMethod>,
}

/// Storage of browser SSO sessions (part of [`super::Store`]).
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Starts an SSO session, if its user is still enabled and was last signed out everywhere
    /// at `signed_out_at` (0: never), as the sign-in behind it saw; otherwise
    /// [`StoreError::SessionEnded`]. The user's row is locked first, so a concurrent sign-out
    /// everywhere either comes first (nothing is stored) or waits and ends this session too.
    async fn create_session(
        &self,
        session: &SessionRecord,
        signed_out_at: UnixTime,
    ) -> Result<(), StoreError>;
    /// Finds a live session by the digest of its cookie secret.
    async fn find_session(
        &self,
        tenant: TenantId,
        secret_digest: &str,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError>;
    /// Records a stronger authentication (`amr`, the second factors passed) on a live
    /// session (step-up) and replaces its cookie secret (a session that gains strength gets a
    /// new cookie, so one seen before the step-up is worthless); false when the session has
    /// ended or expired, or its cookie changed since `old_digest` (another step-up won).
    async fn strengthen_session(
        &self,
        tenant: TenantId,
        session: &SessionRecord,
        old_digest: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Ends a session and revokes the grants made in it, in one transaction, which also
    /// queues a [`crate::outbox::LogoutNotice`] for every app the session served that has a
    /// back-channel logout URI. Returns the apps the session served (for front-channel
    /// logout); none when it had already ended.
    async fn end_session(
        &self,
        tenant: TenantId,
        session: SessionId,
        now: UnixTime,
    ) -> Result<Vec<ClientId>, StoreError>;
}
