//! The admin API's bearer tokens.

use async_trait::async_trait;

use crate::StoreError;
use crate::clock::UnixTime;

/// An admin API token, without its secret (only a digest of that is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminTokenRecord {
    /// Public id, to list and revoke it by.
    pub id: String,
    /// What it is for, as the operator named it.
    pub name: Option<String>,
    /// When it was issued.
    pub created_at: UnixTime,
    /// When it stops working by itself (`None`: never).
    pub expires_at: Option<UnixTime>,
    /// When it was revoked.
    pub revoked_at: Option<UnixTime>,
}

/// A bearer token's state as of `now`: `revoked`, `expired` or `active` (admin and SCIM
/// tokens alike).
pub fn token_status(
    revoked_at: Option<UnixTime>,
    expires_at: Option<UnixTime>,
    now: UnixTime,
) -> &'static str {
    if revoked_at.is_some() {
        "revoked"
    } else if expires_at.is_some_and(|at| at <= now) {
        "expired"
    } else {
        "active"
    }
}

impl AdminTokenRecord {
    /// `active`, `expired` or `revoked`, as of `now`.
    pub fn status(&self, now: UnixTime) -> &'static str {
        token_status(self.revoked_at, self.expires_at, now)
    }
}

/// Storage of the admin API's bearer tokens (part of [`super::Store`]).
#[async_trait]
pub trait AdminTokenStore: Send + Sync {
    /// Records an admin API token (its secret by digest).
    async fn create_admin_token(
        &self,
        token: &AdminTokenRecord,
        digest: &str,
    ) -> Result<(), StoreError>;
    /// The token with this digest, if it is neither revoked nor expired at `now`.
    async fn admin_token_valid(
        &self,
        digest: &str,
        now: UnixTime,
    ) -> Result<Option<AdminTokenRecord>, StoreError>;
    /// Every admin token (revoked and expired ones too), oldest first.
    async fn admin_tokens(&self) -> Result<Vec<AdminTokenRecord>, StoreError>;
    /// Revokes an admin token; false if there is no live token with this id.
    async fn revoke_admin_token(&self, id: &str, now: UnixTime) -> Result<bool, StoreError>;
}
