//! Pushed authorization requests (RFC 9126).

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::clock::UnixTime;
use portico_core::ids::{ClientId, TenantId};
use portico_core::store::{PushedRequestRecord, PushedRequestStore};
use sqlx::Row as _;

use crate::{PgStore, SqliteStore, db_err};

macro_rules! pushed_requests_queries {
    ($store:ty, $row:ty) => {
        #[async_trait]
        impl PushedRequestStore for $store {
            async fn create_pushed_request(&self, record: &PushedRequestRecord) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO pushed_requests (tenant_id, digest, client_id, params, expires_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(record.tenant_id.to_string())
                .bind(&record.digest)
                .bind(record.client_id.to_string())
                .bind(&record.params)
                .bind(record.expires_at)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn take_pushed_request(
                &self,
                tenant: TenantId,
                client: ClientId,
                digest: &str,
                now: UnixTime,
            ) -> Result<Option<PushedRequestRecord>, StoreError> {
                let row = sqlx::query(
                    "UPDATE pushed_requests SET used_at = $4 \
                     WHERE tenant_id = $1 AND digest = $2 AND client_id = $3 AND used_at IS NULL AND expires_at > $4 \
                     RETURNING params, expires_at",
                )
                .bind(tenant.to_string())
                .bind(digest)
                .bind(client.to_string())
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                row.map(|row| {
                    Ok(PushedRequestRecord {
                        tenant_id: tenant,
                        digest: digest.to_owned(),
                        client_id: client,
                        params: row.try_get("params").map_err(db_err)?,
                        expires_at: row.try_get("expires_at").map_err(db_err)?,
                    })
                })
                .transpose()
            }
        }
    };
}

pushed_requests_queries!(SqliteStore, sqlx::sqlite::SqliteRow);
pushed_requests_queries!(PgStore, sqlx::postgres::PgRow);
