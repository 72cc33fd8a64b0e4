//! Applications and the user flows they use.

use async_trait::async_trait;

use crate::StoreError;
use crate::clock::UnixTime;
use crate::directory::{Application, UserFlow};
use crate::ids::{ClientId, TenantId};

/// A client secret as stored: its digest, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSecretRecord {
    /// Tenant.
    pub tenant_id: TenantId,
    /// The application.
    pub client_id: ClientId,
    /// Id (to remove it by).
    pub id: String,
    /// Digest of the secret.
    pub secret_digest: String,
    /// The secret's first three characters, to tell secrets apart (Entra's `hint`).
    pub hint: String,
    /// Creation time.
    pub created_at: UnixTime,
    /// The secret stops working after this time (`None`: never).
    pub expires_at: Option<UnixTime>,
}

impl ClientSecretRecord {
    /// Whether the secret still works at `now`.
    pub fn is_live(&self, now: UnixTime) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// Storage of applications and the user flows they use (part of [`super::Store`]).
#[async_trait]
pub trait AppStore: Send + Sync {
    /// Registers an application with its first secret (confidential clients), in one
    /// transaction.
    async fn create_application(
        &self,
        app: &Application,
        secret: Option<&ClientSecretRecord>,
    ) -> Result<(), StoreError>;
    /// An application's secrets, oldest first.
    async fn client_secrets(
        &self,
        tenant: TenantId,
        client_id: ClientId,
    ) -> Result<Vec<ClientSecretRecord>, StoreError>;
    /// Adds a secret to an application.
    async fn add_client_secret(&self, secret: &ClientSecretRecord) -> Result<(), StoreError>;
    /// Records the id of a client assertion until it expires; false if it was already used
    /// (a replay), even under concurrency.
    async fn record_client_assertion(
        &self,
        tenant: TenantId,
        client_id: ClientId,
        jti: &str,
        expires_at: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Records the `jti` of a DPoP proof made with the key `jkt` until `expires_at`; false if
    /// that key already used it (a replayed proof), even under concurrency.
    async fn record_dpop_proof(
        &self,
        tenant: TenantId,
        jkt: &str,
        jti: &str,
        expires_at: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Removes a secret; false if the application has none with this id.
    async fn remove_client_secret(
        &self,
        tenant: TenantId,
        client_id: ClientId,
        id: &str,
    ) -> Result<bool, StoreError>;
    /// Finds an application of this tenant by client id.
    async fn find_application(
        &self,
        tenant: TenantId,
        client_id: ClientId,
    ) -> Result<Option<Application>, StoreError>;
    /// The tenant's applications, oldest first.
    async fn applications(&self, tenant: TenantId) -> Result<Vec<Application>, StoreError>;
    /// Replaces what an operator may change of an application (everything but its id,
    /// tenant, kind and creation time); [`StoreError::NotFound`] if there is none. In the
    /// same transaction, permission grants, role assignments and user consents on it as an
    /// API that its new definition no longer allows are removed.
    async fn update_application(&self, app: &Application) -> Result<(), StoreError>;
    /// Deletes an application with its grants (and their codes and refresh tokens) and its
    /// place in a user flow, in one transaction; false if there was none.
    async fn delete_application(
        &self,
        tenant: TenantId,
        client_id: ClientId,
    ) -> Result<bool, StoreError>;
    /// The tenant's apps that browsers call cross-origin: native-auth apps and single-page
    /// apps (a CORS preflight names no client, so it is answered from all of them).
    async fn browser_apps(&self, tenant: TenantId) -> Result<Vec<Application>, StoreError>;
    /// Finds an application of this tenant by its Application ID URI.
    async fn find_application_by_identifier_uri(
        &self,
        tenant: TenantId,
        identifier_uri: &str,
    ) -> Result<Option<Application>, StoreError>;
    /// Creates a user flow and attaches its apps (moving them from any other flow), in one
    /// transaction.
    async fn create_user_flow(&self, flow: &UserFlow) -> Result<(), StoreError>;
    /// The tenant's user flows with their attached apps, default first.
    async fn user_flows(&self, tenant: TenantId) -> Result<Vec<UserFlow>, StoreError>;
}
