//! Passkeys (WebAuthn credentials) and the ceremonies that register and use them.

use async_trait::async_trait;

use crate::StoreError;
use crate::clock::UnixTime;
use crate::ids::{TenantId, UserId};

/// A registered passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRecord {
    /// Tenant (the relying party).
    pub tenant_id: TenantId,
    /// The credential id (base64url), unique within the tenant.
    pub credential_id: String,
    /// Owner.
    pub user_id: UserId,
    /// The user handle the authenticator keeps (base64url, random per user).
    pub user_handle: String,
    /// The name the person gave it.
    pub name: String,
    /// The relying party's record of it (public key, counter, flags), as the WebAuthn library
    /// serialises it.
    pub credential: String,
    /// The authenticator model, when it told.
    pub aaguid: Option<String>,
    /// The key may leave the authenticator (synced passkey).
    pub backup_eligible: bool,
    /// The key is backed up now.
    pub backup_state: bool,
    /// The last signature counter seen.
    pub sign_count: i64,
    /// Registered at.
    pub created_at: UnixTime,
    /// Last used to sign in.
    pub last_used_at: Option<UnixTime>,
}

/// What one use of a passkey changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyUse {
    /// The credential record after the use.
    pub credential: String,
    /// The signature counter now.
    pub sign_count: i64,
    /// The backup flags now.
    pub backup_eligible: bool,
    /// The backup flags now.
    pub backup_state: bool,
    /// When.
    pub used_at: UnixTime,
}

/// A WebAuthn ceremony in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnChallengeRecord {
    /// Tenant.
    pub tenant_id: TenantId,
    /// Id (random, given to the client beside the options).
    pub id: String,
    /// `register` or `authenticate`.
    pub purpose: String,
    /// What started it and alone may finish it (a flow, a session).
    pub binding: String,
    /// The user, when known at the start.
    pub user_id: Option<UserId>,
    /// The library's ceremony state (holds the challenge).
    pub state: String,
    /// Not usable after this.
    pub expires_at: UnixTime,
}

/// Storage of passkeys and WebAuthn ceremonies (part of [`super::Store`]).
#[async_trait]
pub trait PasskeyStore: Send + Sync {
    /// Registers a passkey; `false` if its credential id is already registered in the tenant.
    async fn add_passkey(&self, passkey: &PasskeyRecord) -> Result<bool, StoreError>;
    /// A user's passkeys, oldest first.
    async fn passkeys_of(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Vec<PasskeyRecord>, StoreError>;
    /// The passkey with this credential id.
    async fn passkey(
        &self,
        tenant: TenantId,
        credential_id: &str,
    ) -> Result<Option<PasskeyRecord>, StoreError>;
    /// Records a sign-in with a passkey (its counter, flags and time) if the stored counter
    /// is still `seen` (a conditional update); `false`: another use of the same key got there
    /// first, with the same count (a cloned key used twice at once).
    async fn record_passkey_use(
        &self,
        tenant: TenantId,
        credential_id: &str,
        seen: i64,
        used: &PasskeyUse,
    ) -> Result<bool, StoreError>;
    /// Renames one of `user`'s passkeys; `false` if they have none with this id.
    async fn rename_passkey(
        &self,
        tenant: TenantId,
        user: UserId,
        credential_id: &str,
        name: &str,
    ) -> Result<bool, StoreError>;
    /// Removes one of `user`'s passkeys; `false` if they have none with this id.
    async fn remove_passkey(
        &self,
        tenant: TenantId,
        user: UserId,
        credential_id: &str,
    ) -> Result<bool, StoreError>;
    /// Keeps a ceremony's state until it is finished (or expires).
    async fn create_webauthn_challenge(
        &self,
        challenge: &WebauthnChallengeRecord,
    ) -> Result<(), StoreError>;
    /// Takes a live ceremony (once: it is deleted in the same statement).
    async fn take_webauthn_challenge(
        &self,
        tenant: TenantId,
        id: &str,
        now: UnixTime,
    ) -> Result<Option<WebauthnChallengeRecord>, StoreError>;
}
