//! One-time passcodes: 8 digits, stored as a keyed digest, valid 10 minutes, at most 5 tries,
//! a new code invalidates the previous one, sends throttled per address. The code and the
//! message that carries it are written in one transaction with the outbox, so an acknowledged
//! "code sent" is never lost even when the mail server is down.

use std::fmt;
use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::directory::Tenant;
use crate::ids::OtpChallengeId;
use crate::outbox::OutboundMessage;
use crate::store::{OtpAttempt, OtpChallengeRecord, TextRefused};
use crate::{CoreError, Portico};

/// What a code is for; a code for one purpose never satisfies another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OtpPurpose {
    /// Passwordless sign-in.
    SignIn,
    /// Proving the email address before an account exists.
    SignUp,
    /// Self-service password reset.
    PasswordReset,
    /// A second factor.
    Mfa,
    /// Verifying a phone number or address at enrolment.
    VerifyContact,
}

impl OtpPurpose {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::SignUp => "sign_up",
            Self::PasswordReset => "password_reset",
            Self::Mfa => "mfa",
            Self::VerifyContact => "verify_contact",
        }
    }
}

impl std::str::FromStr for OtpPurpose {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sign_in" => Ok(Self::SignIn),
            "sign_up" => Ok(Self::SignUp),
            "password_reset" => Ok(Self::PasswordReset),
            "mfa" => Ok(Self::Mfa),
            "verify_contact" => Ok(Self::VerifyContact),
            other => Err(format!("unknown code purpose {other:?}")),
        }
    }
}

impl fmt::Display for OtpPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Limits on codes.
#[derive(Debug, Clone)]
pub struct OtpPolicy {
    /// How long a code is valid.
    pub lifetime_secs: i64,
    /// Wrong tries before the code is dead.
    pub max_attempts: u32,
    /// Minimum time between two codes to one address for one purpose.
    pub resend_interval_secs: i64,
    /// Codes per address and purpose per hour that one requester (client network) may ask for.
    pub max_sends_per_hour: u32,
    /// Codes per address and purpose per hour in all, whoever asks.
    pub max_sends_per_hour_per_address: u32,
}

impl Default for OtpPolicy {
    fn default() -> Self {
        Self {
            lifetime_secs: 600,
            max_attempts: 5,
            resend_interval_secs: 30,
            max_sends_per_hour: 10,
            max_sends_per_hour_per_address: 50,
        }
    }
}

/// The result of checking a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpCheck {
    /// Right code, in time: the challenge is now spent.
    Valid,
    /// Wrong code; this many tries remain.
    Wrong {
        /// Tries left before the code dies.
        attempts_left: u32,
    },
    /// The code expired.
    Expired,
    /// Too many wrong tries: ask for a new code.
    Exhausted,
    /// No such live challenge (spent, replaced by a newer code, or never issued).
    Unknown,
}

/// Why a code was not sent.
#[derive(Debug, thiserror::Error)]
pub enum OtpSendError {
    /// Too soon after the last code, or too many this hour.
    #[error("too many codes requested; retry in {retry_after_secs} s")]
    Throttled {
        /// Seconds until another code may be sent.
        retry_after_secs: i64,
    },
    /// The user gave too many new phone numbers today (a text that registers a number).
    #[error("too many new phone numbers")]
    TooManyNumbers,
    /// Something failed inside.
    #[error(transparent)]
    Core(#[from] CoreError),
}

/// What a code is asked for.
#[derive(Debug, Clone, Copy)]
pub struct OtpRequest<'a> {
    /// What the code is for.
    pub purpose: OtpPurpose,
    /// Normalised email address or E.164 number.
    pub subject: &'a str,
    /// The client that asked.
    pub requester: IpAddr,
    /// The step asks for its first code: a code sent moments ago to the same address for the
    /// same purpose may serve instead of a new one.
    pub reuse_recent: bool,
    /// For a text: the tenant's budget, checked when it is queued.
    pub sms_budget: Option<crate::store::SmsBudget>,
}

/// The stored form of a requester: a digest of its network (the IPv4 address or IPv6 /64).
fn requester_key(ip: IpAddr) -> String {
    crate::secret::digest_secret(&crate::ratelimit::client_network(ip).to_string())
}

/// How many digits a one-time code has (front doors announce it: the native `code_length`).
pub const CODE_LENGTH: usize = 8;

/// A fresh 8-digit code, uniformly distributed.
fn generate_code() -> Result<String, CoreError> {
    // Rejection sampling: 4,200,000,000 is the largest multiple of 10^8 below 2^32.
    loop {
        let mut bytes = [0u8; 4];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| CoreError::Internal("rng failed".into()))?;
        let value = u32::from_le_bytes(bytes);
        if value < 4_200_000_000 {
            return Ok(format!("{:08}", value % 100_000_000));
        }
    }
}

impl Portico {
    /// Issues a code for `request.subject` (a normalised email address or E.164 phone number)
    /// and queues the message `compose(code)` in the same transaction. Any earlier live code
    /// for the same subject and purpose stops working.
    ///
    /// Within the resend interval no new code goes out. A step that asks for its first code
    /// (`reuse_recent`) then takes the one just sent, while it can still be redeemed: so a
    /// person who starts over (a second tab, an app restarting its sign-in) gets a working code
    /// step, not an error. Only the same requester's code is reused. An explicit resend is
    /// told to wait.
    pub async fn issue_otp(
        &self,
        tenant: &Tenant,
        request: OtpRequest<'_>,
        compose: impl FnOnce(&str) -> OutboundMessage,
    ) -> Result<OtpChallengeId, OtpSendError> {
        Ok(self.make_otp(tenant, request, Some(compose)).await?.0)
    }

    /// Issues a code as [`Portico::issue_otp`] does, but queues no message: the code comes
    /// back, for the caller to deliver (a custom authentication extension). `None` when a
    /// code sent moments ago serves instead (it was delivered then).
    pub(crate) async fn issue_otp_undelivered(
        &self,
        tenant: &Tenant,
        request: OtpRequest<'_>,
    ) -> Result<(OtpChallengeId, Option<String>), OtpSendError> {
        self.make_otp(tenant, request, None::<fn(&str) -> OutboundMessage>)
            .await
    }

    async fn make_otp(
        &self,
        tenant: &Tenant,
        request: OtpRequest<'_>,
        compose: Option<impl FnOnce(&str) -> OutboundMessage>,
    ) -> Result<(OtpChallengeId, Option<String>), OtpSendError> {
        let OtpRequest {
            purpose,
            subject,
            requester,
            reuse_recent,
            sms_budget,
        } = request;
        let now = self.now();
        let policy = &self.settings.otp;
        let requester = requester_key(requester);
        let stats = self
            .store
            .otp_send_stats(tenant.id, purpose, subject, &requester, now - 3600, now)
            .await
            .map_err(CoreError::from)?;
        // A redeemed code ends the resend interval: the address was proven, and a flow that
        // starts over right after (an app retrying, a second reset) needs a code now. Nobody
        // floods an address this way: each code must be redeemed before the next.
        if let Some(last) = stats.last_sent_at.filter(|_| !stats.last_redeemed) {
            let wait = last + policy.resend_interval_secs - now;
            if wait > 0 {
                // Only for the same requester: someone else's flow must not ride on (and spend
                // the tries of) the code a person just asked for.
                if let Some(live) = stats.live.filter(|live| {
                    reuse_recent
                        && live.attempts < policy.max_attempts
                        && live.requester == requester
                }) {
                    return Ok((live.id, None));
                }
                return Err(OtpSendError::Throttled {
                    retry_after_secs: wait,
                });
            }
        }
        // One requester's quota per address, then the address's own; the first keeps someone
        // who floods a victim's address from using up the victim's codes.
        let over = |sent: u32, oldest: Option<UnixTime>, limit: u32| {
            (sent >= limit).then(|| oldest.map_or(3600, |oldest| oldest + 3600 - now).max(1))
        };
        if let Some(retry_after_secs) = over(
            stats.sent_by_requester,
            stats.oldest_by_requester,
            policy.max_sends_per_hour,
        )
        .or_else(|| {
            over(
                stats.sent_last_hour,
                stats.oldest_in_hour,
                policy.max_sends_per_hour_per_address,
            )
        }) {
            return Err(OtpSendError::Throttled { retry_after_secs });
        }
        let id = OtpChallengeId::new_random();
        let code = generate_code()?;
        let record = OtpChallengeRecord {
            id,
            tenant_id: tenant.id,
            purpose,
            subject: subject.to_owned(),
            code_digest: self.otp_digest(id, &code),
            requester,
            created_at: now,
            expires_at: now + policy.lifetime_secs,
        };
        // Sealed (the code never rests in plaintext) and useless once the code expires (give
        // or take the clocks of other nodes).
        let message = match compose {
            Some(compose) => Some(self.outbox_seal().seal(
                &compose(&code),
                Some(tenant.id),
                now,
                record.expires_at + crate::outbox::DISCARD_GRACE_SECS,
            )?),
            None => None,
        };
        let queued = self
            .store
            .create_otp_challenge(&record, message.as_ref(), sms_budget.as_ref())
            .await
            .map_err(CoreError::from)?;
        if let Err(refused) = queued {
            // Either an attack (SMS pumping) or a budget set too low: worth a look either way.
            metrics::counter!("portico_sms_refused_total", "tenant" => tenant.id.to_string(), "limit" => refused.as_str())
                .increment(1);
            tracing::warn!(tenant.id = %tenant.id, limit = refused.as_str(), "SMS limit reached; text refused");
            return Err(match refused {
                TextRefused::TooManyNumbers => OtpSendError::TooManyNumbers,
                TextRefused::Number | TextRefused::NumberBlock => OtpSendError::Throttled {
                    retry_after_secs: 3600,
                },
                TextRefused::TenantBudget | TextRefused::NewNumbers => OtpSendError::Throttled {
                    retry_after_secs: 300,
                },
            });
        }
        metrics::counter!("portico_otp_sent_total", "purpose" => purpose.as_str()).increment(1);
        if message.is_some() {
            self.outbox_queued.notify_one();
        }
        let undelivered = message.is_none().then_some(code);
        Ok((id, undelivered))
    }

    /// Checks a code. Every check counts as a try (atomically), so parallel guesses cannot
    /// exceed the limit; the right code spends the challenge.
    pub async fn check_otp(
        &self,
        tenant: &Tenant,
        challenge: OtpChallengeId,
        purpose: OtpPurpose,
        code: &str,
    ) -> Result<OtpCheck, CoreError> {
        let now = self.now();
        let Some(attempt) = self.store.attempt_otp(tenant.id, challenge, now).await? else {
            return Ok(OtpCheck::Unknown);
        };
        let OtpAttempt {
            purpose: stored_purpose,
            code_digest,
            attempts,
            expires_at,
        } = attempt;
        if stored_purpose != purpose {
            return Ok(OtpCheck::Unknown);
        }
        let max = self.settings.otp.max_attempts;
        if attempts > max {
            return Ok(OtpCheck::Exhausted);
        }
        if expires_at <= now {
            return Ok(OtpCheck::Expired);
        }
        let presented = self.otp_digest(challenge, code.trim());
        let matches = aws_lc_rs::constant_time::verify_slices_are_equal(
            presented.as_bytes(),
            code_digest.as_bytes(),
        )
        .is_ok();
        let outcome = if !matches {
            if attempts >= max {
                OtpCheck::Exhausted
            } else {
                OtpCheck::Wrong {
                    attempts_left: max - attempts,
                }
            }
        } else if self.store.consume_otp(tenant.id, challenge, now).await? {
            OtpCheck::Valid
        } else {
            // A parallel check with the same code won.
            OtpCheck::Unknown
        };
        let label = match outcome {
            OtpCheck::Valid => "valid",
            OtpCheck::Wrong { .. } => "wrong",
            OtpCheck::Expired => "expired",
            OtpCheck::Exhausted => "exhausted",
            OtpCheck::Unknown => "unknown",
        };
        metrics::counter!("portico_otp_checks_total", "outcome" => label).increment(1);
        Ok(outcome)
    }

    /// Codes have only 10^8 values, so an unkeyed digest could be reversed from a database
    /// dump in seconds; the digest is keyed with a secret derived from the master key and bound
    /// to the challenge id.
    fn otp_digest(&self, challenge: OtpChallengeId, code: &str) -> String {
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&self.otp_key);
        ctx.update(challenge.0.as_bytes());
        ctx.update(code.as_bytes());
        URL_SAFE_NO_PAD.encode(ctx.sign().as_ref())
    }
}

/// Send statistics for throttling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OtpSendStats {
    /// Codes sent in the window.
    pub sent_last_hour: u32,
    /// When the newest was sent.
    pub last_sent_at: Option<UnixTime>,
    /// When the oldest in the window was sent.
    pub oldest_in_hour: Option<UnixTime>,
    /// Codes sent in the window at this requester's request.
    pub sent_by_requester: u32,
    /// When the oldest of those was sent.
    pub oldest_by_requester: Option<UnixTime>,
    /// The newest code, if it can still be redeemed (not spent, not expired).
    pub live: Option<LiveChallenge>,
    /// The newest code was redeemed: its person proved the address.
    pub last_redeemed: bool,
}

/// The newest code to an address, still redeemable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveChallenge {
    /// Its id.
    pub id: OtpChallengeId,
    /// Wrong tries so far.
    pub attempts: u32,
    /// Who asked for it (the stored requester digest).
    pub requester: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_eight_digits() {
        for _ in 0..1000 {
            let code = generate_code().unwrap();
            assert_eq!(code.len(), 8);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
