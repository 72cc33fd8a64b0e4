//! Users: accounts, passwords, lockouts and signing out everywhere.

use async_trait::async_trait;

use crate::StoreError;
use crate::clock::UnixTime;
use crate::directory::User;
use crate::ids::{TenantId, UserId};

/// Whose failed passwords a lockout record counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockoutSubject<'a> {
    /// An account.
    User(UserId),
    /// An address without an account, by a keyed digest of it: counted like an account, so
    /// the hosted pages answer an unknown address exactly as a wrong password.
    Decoy(&'a str),
}

/// Password-failure state of one account (smart lockout).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockoutRecord {
    /// Counted failures since the last success.
    pub failures: u32,
    /// Locked until this time (0: not locked).
    pub locked_until: UnixTime,
    /// How many lockouts since the last success (each one longer).
    pub lockouts: u32,
    /// Fingerprints of recent wrong passwords; a repeat does not count again.
    pub recent_fingerprints: Vec<String>,
    /// Optimistic-concurrency version (0: no row yet).
    pub version: i64,
    /// When the record was last written (0: never). Saving sets it to the time given.
    pub updated_at: UnixTime,
}

/// Storage of users: accounts, passwords, lockouts and signing out everywhere (part of
/// [`super::Store`]).
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;
    /// Finds a user of this tenant by object id.
    async fn find_user(&self, tenant: TenantId, user: UserId) -> Result<Option<User>, StoreError>;
    /// Finds a user of this tenant by normalised email.
    async fn find_user_by_email(
        &self,
        tenant: TenantId,
        email: &str,
    ) -> Result<Option<User>, StoreError>;
    /// Enables or disables a user; [`StoreError::NotFound`] if there is no such user. Disabling
    /// also ends the user's sessions and revokes their grants, in the same transaction.
    async fn set_user_enabled(
        &self,
        tenant: TenantId,
        user: UserId,
        enabled: bool,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Replaces a user's password in one transaction: the old hash joins the history (of which
    /// the newest `keep` stay), the lockout count is cleared, and the user's sessions end and
    /// grants are revoked (a new password signs out everywhere).
    async fn set_password(
        &self,
        tenant: TenantId,
        user: UserId,
        password_hash: &str,
        keep: u32,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Keeps the hash of a password a legacy store just vouched for (just-in-time
    /// migration): only if the user's password is still in the legacy store (false
    /// otherwise: another sign-in migrated it first, or the password was set meanwhile). No
    /// one is signed out: the person's password did not change.
    async fn migrate_password(
        &self,
        tenant: TenantId,
        user: UserId,
        password_hash: &str,
    ) -> Result<bool, StoreError>;
    /// Signs the user out everywhere, in one transaction: every session ends, every grant
    /// (refresh-token family) is revoked, and sign-ins under way cannot finish;
    /// [`StoreError::NotFound`] if there is no such user.
    async fn sign_out_user(
        &self,
        tenant: TenantId,
        user: UserId,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// When the user was last signed out everywhere (a new password, a disabled account).
    async fn user_signed_out_at(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Option<UnixTime>, StoreError>;
    /// The user's earlier password hashes, newest first.
    async fn password_history(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Vec<String>, StoreError>;
    /// The lockout record of a user or decoy (a default one with version 0 if none).
    async fn lockout(
        &self,
        tenant: TenantId,
        subject: LockoutSubject<'_>,
    ) -> Result<LockoutRecord, StoreError>;
    /// Writes a lockout record if its version is still `record.version`; bumps the version.
    /// Fails with [`StoreError::Contended`] when another writer came first.
    async fn save_lockout(
        &self,
        tenant: TenantId,
        subject: LockoutSubject<'_>,
        record: &LockoutRecord,
        now: UnixTime,
    ) -> Result<(), StoreError>;
}
