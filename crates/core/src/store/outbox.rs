//! The durable outbox of mail and texts.

use async_trait::async_trait;

use crate::StoreError;
use crate::clock::UnixTime;
use crate::ids::{OutboxId, TenantId};
use crate::outbox::OutboxRecord;

/// Storage of the durable outbox of mail and texts (part of [`super::Store`]).
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Queues a message on its own (no challenge).
    async fn enqueue_message(&self, message: &OutboxRecord) -> Result<(), StoreError>;
    /// Claims up to `limit` messages due at `now` for delivery (not those past their
    /// `discard_after`), hiding them from other workers until `lease_until`, and counts the
    /// attempt. The outbox serves all tenants.
    async fn claim_outbox(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> Result<Vec<OutboxRecord>, StoreError>;
    /// Whether any message is due at `now` (what [`OutboxStore::claim_outbox`] would claim):
    /// a read, so an idle worker looks without writing.
    async fn outbox_due(&self, now: UnixTime) -> Result<bool, StoreError>;
    /// Marks a message delivered and deletes its body.
    async fn outbox_delivered(&self, id: OutboxId, now: UnixTime) -> Result<(), StoreError>;
    /// Records a failed delivery: the message is due again at `retry_at`, or, with `None`,
    /// given up for good and its body deleted.
    async fn outbox_failed(
        &self,
        id: OutboxId,
        retry_at: Option<UnixTime>,
        error: &str,
    ) -> Result<(), StoreError>;
    /// Whether the newest message to `recipient` in the tenant failed to go out at least once
    /// and is still waiting for a retry (the provider is down or refusing it).
    async fn delivery_delayed(&self, tenant: TenantId, recipient: &str)
    -> Result<bool, StoreError>;
}
