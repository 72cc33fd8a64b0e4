//! Second factors: a user's methods, recovery codes and wrong-code counts.

use async_trait::async_trait;

use crate::StoreError;
use crate::clock::UnixTime;
use crate::directory::MfaMethod;
use crate::ids::{AuthMethodId, TenantId, UserId};

/// A registered second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthMethodRecord {
    /// Id.
    pub id: AuthMethodId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Owner.
    pub user_id: UserId,
    /// Kind.
    pub kind: MfaMethod,
    /// Email address or E.164 number (none for an authenticator app).
    pub target: Option<String>,
    /// Authenticator-app secret, sealed by the master key.
    pub sealed_secret: Option<Vec<u8>>,
    /// Registration time.
    pub created_at: UnixTime,
}

/// Storage of second factors: a user's methods, recovery codes and wrong-code counts (part of
/// [`super::Store`]).
#[async_trait]
pub trait FactorStore: Send + Sync {
    /// Registers a second factor; with `recovery_digests`, replaces the user's recovery codes in
    /// the same transaction.
    async fn add_auth_method(
        &self,
        method: &AuthMethodRecord,
        recovery_digests: &[String],
    ) -> Result<(), StoreError>;
    /// A user's second factors, oldest first.
    async fn auth_methods(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Vec<AuthMethodRecord>, StoreError>;
    /// Records that an authenticator-app code of time step `step` was used, if no code of this
    /// or a later step was; `false` means a replay.
    async fn use_totp_step(
        &self,
        tenant: TenantId,
        method: AuthMethodId,
        step: i64,
    ) -> Result<bool, StoreError>;
    /// Spends one unused recovery code; `false` if there is none with this digest.
    async fn use_recovery_code(
        &self,
        tenant: TenantId,
        user: UserId,
        digest: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Records a wrong authenticator-app or recovery code of `user`: written before the code
    /// is checked, as `attempt`, so parallel guesses count against each other at once.
    async fn add_second_factor_failure(
        &self,
        tenant: TenantId,
        user: UserId,
        attempt: &str,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Takes back a failure recorded in advance: the code was right (or never checked).
    async fn withdraw_second_factor_failure(
        &self,
        tenant: TenantId,
        attempt: &str,
    ) -> Result<(), StoreError>;
    /// How many wrong second-factor codes `user` entered since `since` (tries in progress
    /// included, but not the one named `except`), and when the newest was.
    async fn second_factor_failures(
        &self,
        tenant: TenantId,
        user: UserId,
        since: UnixTime,
        except: &str,
    ) -> Result<(u32, Option<UnixTime>), StoreError>;
}
