//! The durable outbox of mail and texts.

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::clock::UnixTime;
use portico_core::ids::{OutboxId, TenantId};
use portico_core::outbox::{Channel, OutboxRecord};
use portico_core::store::OutboxStore;
use sqlx::Row as _;

use crate::rows::{parse, to_u32};
use crate::{PgStore, SqliteStore, db_err};

macro_rules! outbox_queries {
    ($store:ty, $row:ty) => {
        #[async_trait]
        impl OutboxStore for $store {
            async fn enqueue_message(&self, message: &OutboxRecord) -> Result<(), StoreError> {
                let mut conn = self.pool.acquire().await.map_err(db_err)?;
                Self::insert_outbox(&mut *conn, message).await
            }

            async fn outbox_due(&self, now: UnixTime) -> Result<bool, StoreError> {
                let due: Option<i64> = sqlx::query_scalar(
                    "SELECT CAST(1 AS BIGINT) FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= $1 \
                     AND (discard_after IS NULL OR discard_after > $1) LIMIT 1",
                )
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(due.is_some())
            }

            async fn claim_outbox(
                &self,
                now: UnixTime,
                lease_until: UnixTime,
                limit: u32,
            ) -> Result<Vec<OutboxRecord>, StoreError> {
                // The outer `next_attempt_at <= $1` is re-checked on the locked row, so two
                // workers (or nodes) never claim the same message.
                let rows = sqlx::query(
                    "UPDATE outbox SET next_attempt_at = $2, attempts = attempts + 1 \
                     WHERE delivered_at IS NULL AND next_attempt_at <= $1 AND id IN \
                     (SELECT id FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= $1 \
                      AND (discard_after IS NULL OR discard_after > $1) \
                      ORDER BY next_attempt_at LIMIT $3) \
                     RETURNING id, tenant_id, channel, recipient, payload, created_at, attempts, discard_after",
                )
                .bind(now)
                .bind(lease_until)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter()
                    .map(|row| {
                        let tenant: Option<String> = row.try_get("tenant_id").map_err(db_err)?;
                        Ok(OutboxRecord {
                            id: parse(&row.try_get::<String, _>("id").map_err(db_err)?, "id")?,
                            tenant_id: tenant.map(|t| parse(&t, "tenant_id")).transpose()?,
                            channel: Channel::parse(&row.try_get::<String, _>("channel").map_err(db_err)?)
                                .ok_or_else(|| StoreError::Backend("unreadable channel".into()))?,
                            recipient: row.try_get("recipient").map_err(db_err)?,
                            payload: row.try_get("payload").map_err(db_err)?,
                            created_at: row.try_get("created_at").map_err(db_err)?,
                            attempts: to_u32(row.try_get("attempts").map_err(db_err)?),
                            discard_after: row.try_get("discard_after").map_err(db_err)?,
                        })
                    })
                    .collect()
            }

            async fn outbox_delivered(&self, id: OutboxId, now: UnixTime) -> Result<(), StoreError> {
                sqlx::query("UPDATE outbox SET delivered_at = $2, last_error = NULL, payload = '' WHERE id = $1")
                    .bind(id.to_string())
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn outbox_failed(&self, id: OutboxId, retry_at: Option<UnixTime>, error: &str) -> Result<(), StoreError> {
                // Given up: never due again, and the body goes (it may hold a code).
                let sql = if retry_at.is_some() {
                    "UPDATE outbox SET next_attempt_at = $2, last_error = $3 WHERE id = $1 AND delivered_at IS NULL"
                } else {
                    "UPDATE outbox SET next_attempt_at = $2, last_error = $3, payload = '' WHERE id = $1 AND delivered_at IS NULL"
                };
                sqlx::query(sql)
                    .bind(id.to_string())
                    .bind(retry_at.unwrap_or(i64::MAX / 2))
                    .bind(error)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn delivery_delayed(&self, tenant: TenantId, recipient: &str) -> Result<bool, StoreError> {
                let row = sqlx::query(
                    "SELECT delivered_at, last_error FROM outbox WHERE tenant_id = $1 AND recipient = $2 \
                     ORDER BY created_at DESC, id DESC LIMIT 1",
                )
                .bind(tenant.to_string())
                .bind(recipient)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(match row {
                    Some(row) => {
                        let delivered: Option<i64> = row.try_get("delivered_at").map_err(db_err)?;
                        let error: Option<String> = row.try_get("last_error").map_err(db_err)?;
                        delivered.is_none() && error.is_some()
                    }
                    None => false,
                })
            }
        }
    };
}

outbox_queries!(SqliteStore, sqlx::sqlite::SqliteRow);
outbox_queries!(PgStore, sqlx::postgres::PgRow);
