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

/// A dynamically registered client's own registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRegistration {
    /// Digest of its registration access token.
    pub token_digest: String,
    /// How it said it authenticates (`token_endpoint_auth_method`).
    pub auth_method: String,
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
    /// token and authentication method. False (and nothing written) when the token is
    /// unknown, expired or used up.
    async fn register_application(
        &self,
        app: &Application,
        secret: Option<&ClientSecretRecord>,
        iat_digest: &str,
        registration: &ClientRegistration,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// A registered client's registration (`None`: the app was not registered dynamically,
    /// or is gone).
    async fn registration(
        &self,
        tenant: TenantId,
        client: ClientId,
    ) -> Result<Option<ClientRegistration>, StoreError>;
    /// Records the authentication method a registered client changed to.
    async fn set_registration_auth_method(
        &self,
        tenant: TenantId,
        client: ClientId,
        auth_method: &str,
    ) -> Result<(), StoreError>;
}
