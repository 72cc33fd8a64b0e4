//! Sign-in engine flows and the writes their steps commit.

use async_trait::async_trait;

use super::AuthMethodRecord;
use crate::StoreError;
use crate::clock::UnixTime;
use crate::directory::User;
use crate::ids::{ClientId, FlowId, TenantId, UserId};

/// A sign-in engine flow as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRecord {
    /// Id.
    pub id: FlowId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// The application the flow signs in to.
    pub client_id: Option<ClientId>,
    /// The flow and where it came from, as JSON (the core owns the format).
    pub state: String,
    /// Optimistic-concurrency version: 1 when created, +1 on each save.
    pub version: i64,
    /// Start time.
    pub created_at: UnixTime,
    /// The flow is gone after this time.
    pub expires_at: UnixTime,
    /// When the flow was spent (finished and used, or ended for good): a spent flow is never
    /// found or saved again. Set by the save itself, a conditional update, so neither a
    /// double submit nor the clock of another node can use a flow twice.
    pub spent_at: Option<UnixTime>,
}

/// A write of an engine step (what its effects decided), committed in the same transaction as
/// the flow's version-checked save: either the step happened, with all its writes, or nothing
/// did.
#[derive(Debug, Clone)]
pub enum FlowWrite {
    /// A new account (sign-up).
    CreateUser(User),
    /// A new password (reset), with everything [`Store::set_password`] does.
    SetPassword {
        /// Whose.
        user: UserId,
        /// The argon2id hash.
        password_hash: String,
        /// Earlier passwords to keep in the history.
        keep: u32,
        /// When.
        now: UnixTime,
        /// When the user was last signed out everywhere as the flow saw it (0: never): if
        /// that changed meanwhile (a sign-out everywhere, a disabled account), nothing is
        /// written ([`crate::StoreError::SessionEnded`]).
        seen_sign_out: UnixTime,
        /// The stamp this change signs out everywhere with (later than `seen_sign_out`); the
        /// flow keeps it as the sign-out it has seen.
        signs_out_at: UnixTime,
    },
    /// A new second factor, as [`Store::add_auth_method`] adds it.
    AddMethod {
        /// The factor.
        method: AuthMethodRecord,
        /// Add it only if the user has no second factor at the commit (a registration that
        /// passed none); otherwise the save fails with [`StoreError::Conflict`].
        only_if_none: bool,
        /// Recovery codes that replace the user's (the first factor brings them).
        recovery_digests: Vec<String>,
        /// The authenticator-app time step whose code proved the factor, spent with it.
        totp_step: Option<i64>,
    },
    /// Scopes the user consented to on the consent step; ones already consented stay.
    Consent(Vec<super::UserConsent>),
}

/// Storage of sign-in engine flows and the writes their steps commit (part of
/// [`super::Store`]).
#[async_trait]
pub trait FlowStore: Send + Sync {
    /// Stores a new flow.
    async fn create_flow(&self, flow: &FlowRecord) -> Result<(), StoreError>;
    /// A live flow of this tenant.
    async fn find_flow(
        &self,
        tenant: TenantId,
        flow: FlowId,
        now: UnixTime,
    ) -> Result<Option<FlowRecord>, StoreError>;
    /// Writes a flow's new state, and the step's `writes`, in one transaction, if its stored
    /// version is still `flow.version - 1` and it is not spent; fails with
    /// [`StoreError::Contended`] when another request moved or spent it first (and a write's
    /// own conflict, such as an address taken meanwhile, undoes the save too).
    async fn save_flow(&self, flow: &FlowRecord, writes: &[FlowWrite]) -> Result<(), StoreError>;
}
