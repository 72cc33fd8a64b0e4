use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use portico_core::clock::Clock;
use portico_core::outbox::{Channel, OutboxRecord, OutboxSeal, retry_delay_secs};
use portico_core::store::Store;

use crate::{DeliveryError, MailTransport, SmsTransport};

/// How long a claimed message stays hidden from other workers.
const LEASE_SECS: i64 = 60;
/// Messages per claim.
const BATCH: u32 = 32;
/// After this many attempts (about two days of backoff) a message is given up.
const MAX_ATTEMPTS: u32 = 60;

/// Drains the outbox.
#[derive(Debug, Clone)]
pub struct Worker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    mail: MailTransport,
    sms: SmsTransport,
    from: Mailbox,
    seal: OutboxSeal,
}

impl Worker {
    /// A worker sending mail as `from`, opening bodies with `seal`.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        mail: MailTransport,
        sms: SmsTransport,
        from: Mailbox,
        seal: OutboxSeal,
    ) -> Self {
        Self {
            store,
            clock,
            mail,
            sms,
            from,
            seal,
        }
    }

    /// Runs until the task is dropped: claims due messages, sends them, sleeps when idle.
    pub async fn run(self) {
        loop {
            match self.run_once().await {
                Ok(0) => tokio::time::sleep(Duration::from_millis(250)).await,
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "outbox claim failed");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    }

    /// Claims one batch and delivers it; returns how many were claimed.
    pub async fn run_once(&self) -> Result<usize, portico_core::StoreError> {
        let now = self.clock.now();
        let batch = self
            .store
            .claim_outbox(now, now + LEASE_SECS, BATCH)
            .await?;
        let count = batch.len();
        for record in batch {
            self.deliver(record).await;
        }
        Ok(count)
    }

    async fn deliver(&self, record: OutboxRecord) {
        let id = record.id.to_string();
        let outcome = match self.seal.open(&record) {
            Ok(message) => match record.channel {
                Channel::Mail => self.mail.send(&self.from, &id, &message).await,
                Channel::Sms => self.sms.send(&id, &message).await,
            },
            Err(err) => Err(DeliveryError::Permanent(err.to_string())),
        };
        let now = self.clock.now();
        let recorded = match &outcome {
            Ok(()) => {
                metrics::counter!("portico_outbox_delivered_total", "channel" => record.channel.as_str()).increment(1);
                self.store.outbox_delivered(record.id, now).await
            }
            Err(err) => {
                let give_up =
                    matches!(err, DeliveryError::Permanent(_)) || record.attempts >= MAX_ATTEMPTS;
                let retry_at = (!give_up).then(|| now + retry_delay_secs(record.attempts));
                tracing::warn!(message.id = %id, channel = record.channel.as_str(),
                    attempts = record.attempts, give_up, error = %err, "delivery failed");
                metrics::counter!("portico_outbox_failures_total", "channel" => record.channel.as_str()).increment(1);
                self.store
                    .outbox_failed(record.id, retry_at, &err.to_string())
                    .await
            }
        };
        if let Err(err) = recorded {
            // The lease expires and the message is retried: at-least-once.
            tracing::warn!(message.id = %id, error = %err, "could not record delivery outcome");
        }
    }
}
