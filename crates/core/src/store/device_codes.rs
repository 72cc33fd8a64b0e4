//! Device authorizations (RFC 8628): a device code polled by the device, approved or denied
//! by the person who typed its user code.

use async_trait::async_trait;

use super::GrantRecord;
use crate::StoreError;
use crate::clock::UnixTime;
use crate::ids::{ClientId, DeviceCodeId, GrantId, SessionId, TenantId, UserId};

/// Where a device authorization stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceCodeState {
    /// Waiting for the person.
    Pending,
    /// The person signed in and approved: the next poll gets tokens.
    Approved,
    /// The person declined.
    Denied,
    /// Tokens were issued; the device code is spent.
    Redeemed,
}

impl DeviceCodeState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Redeemed => "redeemed",
        }
    }

    /// From the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "denied" => Self::Denied,
            "redeemed" => Self::Redeemed,
            _ => return None,
        })
    }
}

/// A device authorization as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCodeRecord {
    /// Tenant.
    pub tenant_id: TenantId,
    /// Id (what a sign-in flow started for it refers to).
    pub id: DeviceCodeId,
    /// Digest of the device code (the device's secret).
    pub device_code_digest: String,
    /// The user code, normalised (eight letters, no separator).
    pub user_code: String,
    /// The client that asked.
    pub client_id: ClientId,
    /// The scope asked for.
    pub scope: String,
    /// Issued at.
    pub created_at: UnixTime,
    /// Neither approved nor redeemed after this: `expired_token`.
    pub expires_at: UnixTime,
    /// Seconds the device must wait between polls (raised by each `slow_down`).
    pub interval_secs: i64,
    /// The last poll, if any.
    pub last_poll_at: Option<UnixTime>,
    /// Where it stands.
    pub state: DeviceCodeState,
    /// Once approved: the grant the tokens belong to, its user, and how they signed in.
    pub approval: Option<DeviceApproval>,
}

/// What an approval records: who signed in, how, and the grant that the tokens join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceApproval {
    /// The grant (made with the approval, under the lock of its live session).
    pub grant_id: GrantId,
    /// The user.
    pub user_id: UserId,
    /// The session they approved from (the tokens' `sid`).
    pub session_id: SessionId,
    /// When they authenticated.
    pub auth_time: UnixTime,
    /// How (RFC 8176 values, space separated).
    pub amr: String,
    /// Claims token-issuance extensions provided at the approval (JSON), for the tokens.
    pub extension_claims: Option<String>,
}

/// What a poll found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePoll {
    /// No such device code of this client in this tenant.
    Unknown,
    /// The record, after this poll was noted; `too_fast` when it came before the interval
    /// was up (the interval has then grown by five seconds, RFC 8628 §3.5).
    Polled {
        /// The record as of this poll.
        record: Box<DeviceCodeRecord>,
        /// Polled before the interval was up.
        too_fast: bool,
    },
}

/// Storage of device authorizations (part of [`super::Store`]).
#[async_trait]
pub trait DeviceCodeStore: Send + Sync {
    /// Stores a new device authorization; [`StoreError::Conflict`] if its user code is taken
    /// in the tenant (the caller draws another).
    async fn create_device_code(&self, record: &DeviceCodeRecord) -> Result<(), StoreError>;
    /// A pending, unexpired device authorization by its user code.
    async fn pending_device_code(
        &self,
        tenant: TenantId,
        user_code: &str,
        now: UnixTime,
    ) -> Result<Option<DeviceCodeRecord>, StoreError>;
    /// A device authorization by id, whatever its state.
    async fn device_code(
        &self,
        tenant: TenantId,
        id: DeviceCodeId,
    ) -> Result<Option<DeviceCodeRecord>, StoreError>;
    /// Approves a pending, unexpired device authorization and records its grant in one
    /// transaction (the grant under the lock of its live session: [`StoreError::SessionEnded`]
    /// otherwise). `false` if it was no longer pending or had expired.
    async fn approve_device_code(
        &self,
        tenant: TenantId,
        id: DeviceCodeId,
        grant: &GrantRecord,
        approval: &DeviceApproval,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Denies a pending device authorization; `false` if it was no longer pending.
    async fn deny_device_code(
        &self,
        tenant: TenantId,
        id: DeviceCodeId,
    ) -> Result<bool, StoreError>;
    /// Notes a poll by `client` of the device code with this digest (and slows a device that
    /// polls too fast), each poll in one conditional update, so parallel polls all count. A
    /// code of another client is [`DevicePoll::Unknown`] and left as it was.
    async fn poll_device_code(
        &self,
        tenant: TenantId,
        client: ClientId,
        digest: &str,
        now: UnixTime,
    ) -> Result<DevicePoll, StoreError>;
    /// Spends an approved device authorization: `true` for the one caller that moved it to
    /// redeemed.
    async fn redeem_device_code(
        &self,
        tenant: TenantId,
        id: DeviceCodeId,
    ) -> Result<bool, StoreError>;
}
