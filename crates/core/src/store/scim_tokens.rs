//! The bearer tokens SCIM clients (provisioning services) present, one set per tenant.

use async_trait::async_trait;

use crate::StoreError;
use crate::clock::UnixTime;
use crate::ids::TenantId;

/// A SCIM token, without its secret (only a digest of that is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimTokenRecord {
    /// The tenant whose directory it provisions.
    pub tenant_id: TenantId,
    /// Public id, to list and revoke it by (and to name it in the audit log).
    pub id: String,
    /// When it was made.
    pub created_at: UnixTime,
    /// When it stops working by itself (`None`: never).
    pub expires_at: Option<UnixTime>,
    /// When it was revoked.
    pub revoked_at: Option<UnixTime>,
}

impl ScimTokenRecord {
    /// `active`, `expired` or `revoked`, as of `now`.
    pub fn status(&self, now: UnixTime) -> &'static str {
        super::token_status(self.revoked_at, self.expires_at, now)
    }
}

/// Storage of SCIM tokens (part of [`super::Store`]).
#[async_trait]
pub trait ScimTokenStore: Send + Sync {
    /// Records a SCIM token (its secret by digest).
    async fn create_scim_token(
        &self,
        token: &ScimTokenRecord,
        digest: &str,
    ) -> Result<(), StoreError>;
    /// The tenant's token with this digest, if it is neither revoked nor expired at `now`
    /// (another tenant's token is not found).
    async fn scim_token_valid(
        &self,
        tenant: TenantId,
        digest: &str,
        now: UnixTime,
    ) -> Result<Option<ScimTokenRecord>, StoreError>;
    /// The tenant's SCIM tokens (revoked and expired ones too), oldest first.
    async fn scim_tokens(&self, tenant: TenantId) -> Result<Vec<ScimTokenRecord>, StoreError>;
    /// Revokes a token; false if the tenant has no live token with this id.
    async fn revoke_scim_token(
        &self,
        tenant: TenantId,
        id: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
}
