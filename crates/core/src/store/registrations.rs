//! Dynamic client registration (RFC 7591/7592): the initial access tokens an operator hands
//! out, and the registration access token each registered client manages itself with.

use async_trait::async_trait;

use crate::StoreError;
use crate::clock::UnixTime;
use crate::directory::Application;
use crate::ids::{ClientId, TenantId};

use super::ClientSecretRecord;

/// An initial access token (RFC 7591 §3): lets its holder register apps in one tenant, a
/// number of times, until it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialAccessTokenRecord {
    /// Tenant.
    pub tenant_id: TenantId,
    /// Public id (to list and revoke it).
    pub id: String,
    /// Digest of the token.
    pub token_digest: String,
    /// Registrations it allows.
    pub max_uses: u32,
    /// Registrations made with it.
    pub uses: u32,
    /// Creation time.
    pub created_at: UnixTime,
    /// Expiry.
    pub expires_at: UnixTime,
}

/// Storage of client registrations (part of [`super::Store`]).
#[async_trait]
pub trait RegistrationStore: Send + Sync {
    /// Stores a new initial access token.
    async fn create_initial_access_token(
        &self,
        token: &InitialAccessTokenRecord,
    ) -> Result<(), StoreError>;
    /// The tenant's initial access tokens, oldest first.
    async fn initial_access_tokens(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<InitialAccessTokenRecord>, StoreError>;
    /// Deletes an initial access token; false if the tenant has none with this id.
    async fn revoke_initial_access_token(
        &self,
        tenant: TenantId,
        id: &str,
    ) -> Result<bool, StoreError>;
    /// Registers an application in one transaction: spends one use of the initial access
    /// token with `iat_digest` (a conditional update, so concurrent registrations never
    /// overspend it), stores the app, its secret and the digest of its registration access
    /// token. False (and nothing written) when the token is unknown, expired or used up.
    async fn register_application(
        &self,
        app: &Application,
        secret: Option<&ClientSecretRecord>,
        iat_digest: &str,
        registration_digest: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// The digest of a registered client's registration access token (`None`: the app was
    /// not registered dynamically, or is gone).
    async fn registration_token(
        &self,
        tenant: TenantId,
        client: ClientId,
    ) -> Result<Option<String>, StoreError>;
}
