//! Pushed authorization requests (RFC 9126): an authorization request a client sent
//! directly, kept under a one-time `request_uri` for a minute.

use async_trait::async_trait;

use crate::StoreError;
use crate::clock::UnixTime;
use crate::ids::{ClientId, TenantId};

/// A pushed authorization request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRequestRecord {
    /// Tenant.
    pub tenant_id: TenantId,
    /// Digest of the `request_uri`.
    pub digest: String,
    /// The client that pushed it (only it may use it).
    pub client_id: ClientId,
    /// The authorization request's parameters (JSON).
    pub params: String,
    /// Useless after this.
    pub expires_at: UnixTime,
}

/// Storage of pushed authorization requests (part of [`super::Store`]).
#[async_trait]
pub trait PushedRequestStore: Send + Sync {
    /// Stores a pushed request.
    async fn create_pushed_request(&self, record: &PushedRequestRecord) -> Result<(), StoreError>;
    /// Spends the pushed request with this digest for `client`, if it is unexpired and
    /// unspent: the one caller that spends it gets it.
    async fn take_pushed_request(
        &self,
        tenant: TenantId,
        client: ClientId,
        digest: &str,
        now: UnixTime,
    ) -> Result<Option<PushedRequestRecord>, StoreError>;
}
