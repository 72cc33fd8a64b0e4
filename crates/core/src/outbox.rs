//! Messages to people (mail, SMS), queued durably in the store and delivered by a worker with
//! retries, so a down mail server delays a message but never loses it.

use serde::{Deserialize, Serialize};

use crate::CoreError;
use crate::clock::UnixTime;
use crate::ids::{OutboxId, TenantId};

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Email.
    Mail,
    /// Text message.
    Sms,
}

impl Channel {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mail => "mail",
            Self::Sms => "sms",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "mail" => Some(Self::Mail),
            "sms" => Some(Self::Sms),
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

impl OutboundMessage {
    /// The queued form.
    pub fn into_record(
        self,
        tenant: Option<TenantId>,
        now: UnixTime,
    ) -> Result<OutboxRecord, CoreError> {
        Ok(OutboxRecord {
            id: OutboxId::new_random(),
            tenant_id: tenant,
            channel: self.channel,
            recipient: self.to.clone(),
            payload: serde_json::to_string(&self)
                .map_err(|e| CoreError::Internal(format!("outbox payload: {e}")))?,
            created_at: now,
            attempts: 0,
        })
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
    /// The [`OutboundMessage`] as JSON.
    pub payload: String,
    /// Queue time.
    pub created_at: UnixTime,
    /// Delivery attempts so far (including the current one once claimed).
    pub attempts: u32,
}

impl OutboxRecord {
    /// The message inside.
    pub fn message(&self) -> Result<OutboundMessage, CoreError> {
        serde_json::from_str(&self.payload)
            .map_err(|e| CoreError::Internal(format!("outbox payload unreadable: {e}")))
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

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(retry_delay_secs(1), 10);
        assert_eq!(retry_delay_secs(2), 20);
        assert_eq!(retry_delay_secs(3), 40);
        assert_eq!(retry_delay_secs(30), 3600);
    }
}
