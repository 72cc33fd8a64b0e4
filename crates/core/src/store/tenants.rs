//! Tenants: their signing keys, branding and settings.

use async_trait::async_trait;
use portico_keys::SigningAlgorithm;

use crate::StoreError;
use crate::clock::UnixTime;
use crate::directory::{Branding, Tenant, TenantRef, UserFlow};
use crate::ids::TenantId;

/// Lifecycle state of a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published in the JWKS, not yet signing; becomes current at the next rotation.
    Next,
    /// Signs new tokens (exactly one per tenant).
    Current,
    /// No longer signs; published until `publish_until` so tokens it signed still verify.
    Retired,
}

impl KeyState {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Current => "current",
            Self::Retired => "retired",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "next" => Some(Self::Next),
            "current" => Some(Self::Current),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }
}

/// A signing key as stored: the private part sealed by the master key.
#[derive(Debug, Clone)]
pub struct StoredSigningKey {
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Key id (JWK thumbprint).
    pub kid: String,
    /// Algorithm.
    pub alg: SigningAlgorithm,
    /// Lifecycle state.
    pub state: KeyState,
    /// The public JWK as JSON, so publishing needs no decryption.
    pub public_jwk: String,
    /// PKCS#8 private key sealed with the master key (context: the kid).
    pub sealed_private: Vec<u8>,
    /// Creation time.
    pub created_at: UnixTime,
    /// For retired keys: when they leave the JWKS.
    pub publish_until: Option<UnixTime>,
}

/// Storage of tenants: their signing keys, branding and settings (part of [`super::Store`]).
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Creates a tenant together with its initial signing keys and default user flow, in one
    /// transaction.
    async fn create_tenant(
        &self,
        tenant: &Tenant,
        keys: &[StoredSigningKey],
        default_flow: &UserFlow,
    ) -> Result<(), StoreError>;
    /// Finds a tenant by id or name.
    async fn find_tenant(&self, tenant: &TenantRef) -> Result<Option<Tenant>, StoreError>;
    /// All tenants, by name.
    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError>;
    /// Replaces a tenant's branding.
    async fn set_branding(
        &self,
        tenant: TenantId,
        branding: &Branding,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// A tenant's branding (default if none was set).
    async fn branding(&self, tenant: TenantId) -> Result<Branding, StoreError>;
    /// All stored keys of a tenant (any state).
    async fn signing_keys(&self, tenant: TenantId) -> Result<Vec<StoredSigningKey>, StoreError>;
    /// Rotation, in one transaction: current → retired (published until `retired_until`),
    /// next → current, `new_next` inserted; retired keys past their publication are deleted.
    async fn rotate_signing_keys(
        &self,
        tenant: TenantId,
        new_next: &StoredSigningKey,
        retired_until: UnixTime,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// A tenant's settings as JSON (the core owns the format), if ever set.
    async fn tenant_settings(&self, tenant: TenantId) -> Result<Option<String>, StoreError>;
    /// Replaces a tenant's settings.
    async fn set_tenant_settings(
        &self,
        tenant: TenantId,
        settings: &str,
        now: UnixTime,
    ) -> Result<(), StoreError>;
}
