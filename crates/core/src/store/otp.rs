//! One-time codes and the limits on texts.

use async_trait::async_trait;

use crate::StoreError;
use crate::clock::UnixTime;
use crate::ids::{OtpChallengeId, TenantId, UserId};
use crate::otp::{OtpPurpose, OtpSendStats};
use crate::outbox::OutboxRecord;

/// A one-time passcode challenge as stored.
#[derive(Debug, Clone)]
pub struct OtpChallengeRecord {
    /// Id (handed to the front door; the code goes to the person).
    pub id: OtpChallengeId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// What the code is for.
    pub purpose: OtpPurpose,
    /// Normalised email or phone number.
    pub subject: String,
    /// Keyed digest of the code.
    pub code_digest: String,
    /// Who asked for it: a digest of the client's network (empty when unknown).
    pub requester: String,
    /// Issue time.
    pub created_at: UnixTime,
    /// Expiry.
    pub expires_at: UnixTime,
}

/// A counted try against a live challenge.
#[derive(Debug, Clone)]
pub struct OtpAttempt {
    /// What the code is for.
    pub purpose: OtpPurpose,
    /// Keyed digest of the code.
    pub code_digest: String,
    /// Tries so far, including this one.
    pub attempts: u32,
    /// Expiry.
    pub expires_at: UnixTime,
}

/// The limits on a text, checked in the transaction that queues it (serialised per tenant), so
/// that parallel requests cannot all slip under them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsBudget {
    /// Texts are counted from this time (an hour ago).
    pub since: UnixTime,
    /// Texts of every kind the tenant may send since then.
    pub texts: u32,
    /// Of those, texts to new numbers: to register one, or to one registered less than a day
    /// ago. Anyone can make an account and register a number, so such texts get only a share
    /// (SMS pumping through fresh accounts cannot use up the texts people need to sign in).
    pub new_numbers: u32,
    /// This text goes to a new number (it counts against `new_numbers`).
    pub to_new_number: bool,
    /// Texts one number may get since then in this text's share, whatever they are for (a
    /// stranger registering someone's number cannot use up the owner's sign-in texts).
    pub per_number: u32,
    /// Texts the block of 1,000 numbers this one is in (all but its last three digits) may get
    /// since then, in all: premium-rate numbers are rented in blocks.
    pub per_block: u32,
    /// For a text that registers a number: whose, and the user's limit on new numbers.
    pub registers: Option<NumberRegistration>,
}

/// A user asking to register a phone number, limited in how many numbers a day they may try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberRegistration {
    /// The user.
    pub user: UserId,
    /// Numbers are counted from this time (a day ago).
    pub since: UnixTime,
    /// Distinct numbers the user may give since then (a number given before is always fine).
    pub numbers: u32,
}

/// Why a text was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextRefused {
    /// The tenant's texts for the hour are spent.
    TenantBudget,
    /// The share of texts to new numbers is spent.
    NewNumbers,
    /// The number got its texts for the hour.
    Number,
    /// The number's block got its texts for the hour.
    NumberBlock,
    /// The user gave too many new numbers today.
    TooManyNumbers,
}

impl TextRefused {
    /// Metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TenantBudget => "tenant",
            Self::NewNumbers => "new_numbers",
            Self::Number => "number",
            Self::NumberBlock => "number_block",
            Self::TooManyNumbers => "numbers_per_user",
        }
    }
}

/// Storage of one-time codes and the limits on texts (part of [`super::Store`]).
#[async_trait]
pub trait OtpStore: Send + Sync {
    /// Texts queued for this tenant since `since`.
    async fn sms_sent_since(&self, tenant: TenantId, since: UnixTime) -> Result<u32, StoreError>;
    /// Issues a code in one transaction: earlier live codes for the same tenant, purpose and
    /// subject are spent, the challenge is stored, and its message (if any: a code an
    /// extension delivers has none) is queued. With `budget`
    /// (a text), its limits are checked in the same transaction, serialised per tenant, and
    /// nothing is written if one is reached (`Ok(Err(_))`); a number being registered is
    /// recorded against the user.
    async fn create_otp_challenge(
        &self,
        challenge: &OtpChallengeRecord,
        message: Option<&OutboxRecord>,
        budget: Option<&SmsBudget>,
    ) -> Result<Result<(), TextRefused>, StoreError>;
    /// How many codes went to `subject` for `purpose` since `since` (in all, and at
    /// `requester`'s request), and the newest of them if it is still redeemable at `now`.
    async fn otp_send_stats(
        &self,
        tenant: TenantId,
        purpose: OtpPurpose,
        subject: &str,
        requester: &str,
        since: UnixTime,
        now: UnixTime,
    ) -> Result<OtpSendStats, StoreError>;
    /// Counts one try against a live (unspent) challenge and returns it; `None` if there is no
    /// live challenge with this id in this tenant.
    async fn attempt_otp(
        &self,
        tenant: TenantId,
        challenge: OtpChallengeId,
        now: UnixTime,
    ) -> Result<Option<OtpAttempt>, StoreError>;
    /// Spends a challenge; `false` if it was already spent.
    async fn consume_otp(
        &self,
        tenant: TenantId,
        challenge: OtpChallengeId,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
}
