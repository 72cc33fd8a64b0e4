use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use portico_core::clock::Clock;
use portico_core::oauth::LogoutTokens;
use portico_core::outbox::{Channel, OutboxRecord, OutboxSeal, retry_delay_secs};
use portico_core::store::Store;

use crate::{DeliveryError, LogoutTransport, MailTransport, SmsTransport};

/// How long a claimed message stays hidden from other workers.
const LEASE_SECS: i64 = 60;
/// How often an idle worker looks for messages it was not told about.
const IDLE_LOOK: Duration = Duration::from_millis(250);
/// Messages per claim.
const BATCH: u32 = 32;
/// After this many attempts (about two days of backoff) a message is given up.
const MAX_ATTEMPTS: u32 = 60;

/// Drains the outbox.
#[derive(Clone)]
pub struct Worker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    mail: MailTransport,
    sms: SmsTransport,
    from: Mailbox,
    seal: OutboxSeal,
    logout_tokens: Arc<dyn LogoutTokens>,
    logout: LogoutTransport,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("mail", &self.mail)
            .field("sms", &self.sms)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker sending mail as `from`, opening bodies with `seal`, and asking
    /// `logout_tokens` for the logout token of each back-channel logout notice it sends.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        mail: MailTransport,
        sms: SmsTransport,
        from: Mailbox,
        seal: OutboxSeal,
        logout_tokens: Arc<dyn LogoutTokens>,
    ) -> Result<Self, DeliveryError> {
        Ok(Self {
            store,
            clock,
            mail,
            sms,
            from,
            seal,
            logout_tokens,
            logout: LogoutTransport::new()?,
        })
    }

    /// Runs until the task is dropped: claims due messages and sends them. When none is due
    /// it waits for `queued` (this node queued a code) or its next look a quarter second on
    /// (messages from other nodes, retries coming due): a read, never a write, while idle.
    pub async fn run(self, queued: Arc<tokio::sync::Notify>) {
        loop {
            let due = self.store.outbox_due(self.clock.now()).await;
            let claimed = match due {
                Ok(true) => self.run_once().await,
                Ok(false) => Ok(0),
                Err(err) => Err(err),
            };
            match claimed {
                Ok(0) => {
                    tokio::select! {
                        () = queued.notified() => {}
                        () = tokio::time::sleep(IDLE_LOOK) => {}
                    }
                }
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
        // Several at a time: one slow relay answer does not hold up the rest of the batch.
        // (Two codes to one address are at least the resend interval apart, so they are
        // seldom in one batch; the newer one is the one that works either way.)
        futures_util::StreamExt::for_each_concurrent(
            futures_util::stream::iter(batch),
            crate::smtp::MAX_IDLE,
            |record| self.deliver(record),
        )
        .await;
        Ok(count)
    }

    async fn deliver(&self, record: OutboxRecord) {
        let id = record.id.to_string();
        let outcome = match record.channel {
            Channel::Logout => self.send_logout(&record).await,
            Channel::Mail | Channel::Sms => match self.seal.open(&record) {
                Ok(message) if record.channel == Channel::Mail => {
                    self.mail.send(&self.from, &id, &message).await
                }
                Ok(message) => self.sms.send(&id, &message).await,
                Err(err) => Err(DeliveryError::Permanent(err.to_string())),
            },
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

    /// A back-channel logout notice: its token is made now (fresh `iat` and `exp`), then
    /// POSTed. An app that no longer listens has nothing left to hear.
    async fn send_logout(&self, record: &OutboxRecord) -> Result<(), DeliveryError> {
        match self.logout_tokens.backchannel_logout(record).await {
            Ok(Some(request)) => self.logout.send(&request).await,
            Ok(None) => Err(DeliveryError::Permanent(
                "the app no longer has a back-channel logout URI".into(),
            )),
            Err(portico_core::CoreError::Store(err)) => {
                Err(DeliveryError::Transient(err.to_string()))
            }
            Err(err) => Err(DeliveryError::Permanent(err.to_string())),
        }
    }
}
