//! Messages to people (mail, SMS) and to apps (back-channel logout notices), queued durably in
//! the store and delivered by a worker with retries, so a down mail server or app delays a
//! message but never loses it.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portico_keys::MasterKey;
use serde::{Deserialize, Serialize};

use crate::CoreError;
use crate::clock::UnixTime;
use crate::ids::{ClientId, OutboxId, SessionId, TenantId, UserId};

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Email.
    Mail,
    /// Text message.
    Sms,
    /// A back-channel logout notice to an app ([`LogoutNotice`]).
    Logout,
}

impl Channel {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mail => "mail",
            Self::Sms => "sms",
            Self::Logout => "logout",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "mail" => Some(Self::Mail),
            "sms" => Some(Self::Sms),
            "logout" => Some(Self::Logout),
            _ => None,
        }
    }
}

/// A message as the domain composes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundMessage {
    /// Mail or SMS.
    pub channel: Channel,
    /// Email address or E.164 phone number.
    pub to: String,
    /// Mail subject (ignored for SMS).
    #[serde(default)]
    pub subject: String,
    /// Plain-text body (the SMS text).
    pub text: String,
    /// HTML body (mail only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
}

/// Seals message bodies for the outbox: they hold one-time codes, which never rest in
/// plaintext. AES-256-GCM under the master key, bound to the message's id (a body cannot be
/// moved to another row). The delivery worker opens them just before sending.
#[derive(Clone)]
pub struct OutboxSeal {
    master: Arc<MasterKey>,
}

impl std::fmt::Debug for OutboxSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutboxSeal")
    }
}

/// How long past its code's expiry a message may still go out: the nodes' clocks differ a
/// little, and a code that arrives a moment late still tells the person to ask again.
pub const DISCARD_GRACE_SECS: i64 = 60;

/// The stored form of a sealed body: this prefix, then the sealed bytes in base64url.
const SEALED_PREFIX: &str = "sealed:v1:";

fn context(id: OutboxId) -> String {
    format!("portico/outbox/v1/{id}")
}

impl OutboxSeal {
    /// Seals with `master`.
    pub fn new(master: Arc<MasterKey>) -> Self {
        Self { master }
    }

    /// The queued form of `message`, its body sealed; `discard_after` is when it stops being
    /// useful (its code expires): it is not sent later, and its body is deleted then.
    pub fn seal(
        &self,
        message: &OutboundMessage,
        tenant: Option<TenantId>,
        now: UnixTime,
        discard_after: UnixTime,
    ) -> Result<OutboxRecord, CoreError> {
        let id = OutboxId::new_random();
        let json = serde_json::to_vec(message)
            .map_err(|e| CoreError::Internal(format!("outbox payload: {e}")))?;
        let sealed = self
            .master
            .seal(&context(id), &json)
            .map_err(|e| CoreError::Internal(format!("outbox seal: {e}")))?;
        Ok(OutboxRecord {
            id,
            tenant_id: tenant,
            channel: message.channel,
            recipient: message.to.clone(),
            payload: format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed)),
            created_at: now,
            attempts: 0,
            discard_after: Some(discard_after),
        })
    }

    /// The message inside a queued record. Bodies queued before sealing existed (plain JSON)
    /// are still read; a body already deleted is an error.
    pub fn open(&self, record: &OutboxRecord) -> Result<OutboundMessage, CoreError> {
        let unreadable = |what: &str| CoreError::Internal(format!("outbox payload {what}"));
        let json = match record.payload.strip_prefix(SEALED_PREFIX) {
            Some(sealed) => {
                let sealed = URL_SAFE_NO_PAD
                    .decode(sealed)
                    .map_err(|_| unreadable("not base64"))?;
                self.master
                    .open(&context(record.id), &sealed)
                    .map_err(|_| unreadable("does not open"))?
            }
            None if record.payload.is_empty() => return Err(unreadable("already deleted")),
            None => record.payload.clone().into_bytes(),
        };
        serde_json::from_slice(&json).map_err(|e| unreadable(&format!("unreadable: {e}")))
    }
}

/// A queued message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRecord {
    /// Id.
    pub id: OutboxId,
    /// Tenant the message belongs to (for its sender and branding).
    pub tenant_id: Option<TenantId>,
    /// Channel.
    pub channel: Channel,
    /// Recipient (also inside the payload; kept apart for operators' queries).
    pub recipient: String,
    /// The [`OutboundMessage`] as JSON, sealed by [`OutboxSeal`]; empty once delivered,
    /// given up or past `discard_after`.
    pub payload: String,
    /// Queue time.
    pub created_at: UnixTime,
    /// Delivery attempts so far (including the current one once claimed).
    pub attempts: u32,
    /// After this the message is useless (its code expired): never sent, body deleted.
    pub discard_after: Option<UnixTime>,
}

/// How long a logout notice is tried: an app down for a day has lost its sessions anyway,
/// or has its own expiry to end them.
pub const LOGOUT_NOTICE_SECS: i64 = 24 * 3600;

/// A back-channel logout notice as queued: which app to tell that which session of which user
/// ended. It holds nothing secret (the same ids are in the app's ID tokens), so it rests
/// unsealed; the logout token itself is signed when it is sent, so a retry an hour later
/// still carries a fresh, short-lived token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutNotice {
    /// The app to tell.
    pub client_id: ClientId,
    /// The session's user.
    pub user_id: UserId,
    /// The session that ended (`sid`).
    pub session_id: SessionId,
}

impl LogoutNotice {
    /// The notice as an outbox row of `tenant`, queued at `now`.
    pub fn queued(&self, tenant: TenantId, now: UnixTime) -> Result<OutboxRecord, CoreError> {
        let payload = serde_json::to_string(self)
            .map_err(|e| CoreError::Internal(format!("logout notice: {e}")))?;
        Ok(OutboxRecord {
            id: OutboxId::new_random(),
            tenant_id: Some(tenant),
            channel: Channel::Logout,
            recipient: self.client_id.to_string(),
            payload,
            created_at: now,
            attempts: 0,
            discard_after: Some(now + LOGOUT_NOTICE_SECS),
        })
    }

    /// The notice inside a queued row.
    pub fn from_record(record: &OutboxRecord) -> Result<Self, CoreError> {
        if record.channel != Channel::Logout {
            return Err(CoreError::Internal("not a logout notice".into()));
        }
        serde_json::from_str(&record.payload)
            .map_err(|e| CoreError::Internal(format!("unreadable logout notice: {e}")))
    }
}

/// When to try again after `attempts` failed deliveries: 10 s, 20 s, 40 s … capped at 1 h.
pub fn retry_delay_secs(attempts: u32) -> i64 {
    let exponent = attempts.saturating_sub(1).min(16);
    (10i64 << exponent).min(3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> OutboundMessage {
        OutboundMessage {
            channel: Channel::Mail,
            to: "ada@example.com".into(),
            subject: "Your code".into(),
            text: "Your code: 12345678".into(),
            html: None,
        }
    }

    #[test]
    fn bodies_rest_sealed_and_open_only_in_their_own_row() {
        let (master, _) = MasterKey::generate().unwrap();
        let seal = OutboxSeal::new(Arc::new(master));
        let record = seal.seal(&message(), None, 100, 700).unwrap();
        assert!(!record.payload.contains("12345678"), "no code at rest");
        assert_eq!(record.discard_after, Some(700));
        assert_eq!(seal.open(&record).unwrap(), message());
        let moved = OutboxRecord {
            id: OutboxId::new_random(),
            ..record.clone()
        };
        assert!(seal.open(&moved).is_err(), "bound to its id");
        let (other, _) = MasterKey::generate().unwrap();
        assert!(OutboxSeal::new(Arc::new(other)).open(&record).is_err());
        let deleted = OutboxRecord {
            payload: String::new(),
            ..record
        };
        assert!(seal.open(&deleted).is_err());
    }

    #[test]
    fn bodies_queued_before_sealing_still_open() {
        let (master, _) = MasterKey::generate().unwrap();
        let seal = OutboxSeal::new(Arc::new(master));
        let legacy = OutboxRecord {
            id: OutboxId::new_random(),
            tenant_id: None,
            channel: Channel::Mail,
            recipient: "ada@example.com".into(),
            payload: serde_json::to_string(&message()).unwrap(),
            created_at: 1,
            attempts: 0,
            discard_after: None,
        };
        assert_eq!(seal.open(&legacy).unwrap(), message());
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(retry_delay_secs(1), 10);
        assert_eq!(retry_delay_secs(2), 20);
        assert_eq!(retry_delay_secs(3), 40);
        assert_eq!(retry_delay_secs(30), 3600);
    }
}
