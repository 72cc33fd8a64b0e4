//! Device authorizations (RFC 8628).

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::clock::UnixTime;
use portico_core::ids::{ClientId, DeviceCodeId, TenantId};
use portico_core::store::{
    DeviceApproval, DeviceCodeRecord, DeviceCodeState, DeviceCodeStore, DevicePoll, GrantRecord,
};
use sqlx::Row as _;

use crate::rows::parse;
use crate::{PgStore, SqliteStore, db_err};

macro_rules! device_code_columns {
    () => {
        "tenant_id, id, device_code_digest, user_code, client_id, scope, created_at, expires_at, \
         interval_secs, last_poll_at, state, grant_id, user_id, session_id, auth_time, amr, extension_claims"
    };
}

macro_rules! device_codes_queries {
    ($store:ty, $row:ty) => {
        impl $store {
            fn device_code_record(row: &$row) -> Result<DeviceCodeRecord, StoreError> {
                let text = |column: &str| row.try_get::<String, _>(column).map_err(db_err);
                let state = text("state")?;
                let approval = match row.try_get::<Option<String>, _>("grant_id").map_err(db_err)? {
                    Some(grant) => Some(DeviceApproval {
                        grant_id: parse(&grant, "grant_id")?,
                        user_id: parse(&text("user_id")?, "user_id")?,
                        session_id: parse(&text("session_id")?, "session_id")?,
                        auth_time: row.try_get("auth_time").map_err(db_err)?,
                        amr: text("amr")?,
                        extension_claims: row.try_get("extension_claims").map_err(db_err)?,
                    }),
                    None => None,
                };
                Ok(DeviceCodeRecord {
                    tenant_id: parse(&text("tenant_id")?, "tenant_id")?,
                    id: parse(&text("id")?, "id")?,
                    device_code_digest: text("device_code_digest")?,
                    user_code: text("user_code")?,
                    client_id: parse(&text("client_id")?, "client_id")?,
                    scope: text("scope")?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                    expires_at: row.try_get("expires_at").map_err(db_err)?,
                    interval_secs: row.try_get("interval_secs").map_err(db_err)?,
                    last_poll_at: row.try_get("last_poll_at").map_err(db_err)?,
                    state: DeviceCodeState::parse(&state)
                        .ok_or_else(|| StoreError::Backend("unreadable device code state".into()))?,
                    approval,
                })
            }
        }

        #[async_trait]
        impl DeviceCodeStore for $store {
            async fn create_device_code(&self, record: &DeviceCodeRecord) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO device_codes (tenant_id, id, device_code_digest, user_code, client_id, scope, \
                     created_at, expires_at, interval_secs, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(record.tenant_id.to_string())
                .bind(record.id.to_string())
                .bind(&record.device_code_digest)
                .bind(&record.user_code)
                .bind(record.client_id.to_string())
                .bind(&record.scope)
                .bind(record.created_at)
                .bind(record.expires_at)
                .bind(record.interval_secs)
                .bind(record.state.as_str())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn pending_device_code(
                &self,
                tenant: TenantId,
                user_code: &str,
                now: UnixTime,
            ) -> Result<Option<DeviceCodeRecord>, StoreError> {
                sqlx::query(concat!("SELECT ", device_code_columns!(),
                    " FROM device_codes WHERE tenant_id = $1 AND user_code = $2 AND state = 'pending' AND expires_at > $3"))
                .bind(tenant.to_string())
                .bind(user_code)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?
                .map(|row| Self::device_code_record(&row))
                .transpose()
            }

            async fn device_code(
                &self,
                tenant: TenantId,
                id: DeviceCodeId,
            ) -> Result<Option<DeviceCodeRecord>, StoreError> {
                sqlx::query(concat!("SELECT ", device_code_columns!(),
                    " FROM device_codes WHERE tenant_id = $1 AND id = $2"))
                .bind(tenant.to_string())
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?
                .map(|row| Self::device_code_record(&row))
                .transpose()
            }

            async fn approve_device_code(
                &self,
                tenant: TenantId,
                id: DeviceCodeId,
                grant: &GrantRecord,
                approval: &DeviceApproval,
                now: UnixTime,
            ) -> Result<bool, StoreError> {
                let mut tx = self.begin_write().await?;
                let approved = sqlx::query(
                    "UPDATE device_codes SET state = 'approved', grant_id = $3, user_id = $4, auth_time = $5, amr = $6, \
                     session_id = $8, extension_claims = $9 WHERE tenant_id = $1 AND id = $2 AND state = 'pending' AND expires_at > $7",
                )
                .bind(tenant.to_string())
                .bind(id.to_string())
                .bind(approval.grant_id.to_string())
                .bind(approval.user_id.to_string())
                .bind(approval.auth_time)
                .bind(&approval.amr)
                .bind(now)
                .bind(approval.session_id.to_string())
                .bind(&approval.extension_claims)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?
                .rows_affected();
                if approved == 0 {
                    tx.rollback().await.map_err(db_err)?;
                    return Ok(false);
                }
                Self::insert_grant(&mut tx, grant).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(true)
            }

            async fn deny_device_code(&self, tenant: TenantId, id: DeviceCodeId) -> Result<bool, StoreError> {
                let denied = sqlx::query(
                    "UPDATE device_codes SET state = 'denied' WHERE tenant_id = $1 AND id = $2 AND state = 'pending'",
                )
                .bind(tenant.to_string())
                .bind(id.to_string())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(denied.rows_affected() == 1)
            }

            async fn poll_device_code(
                &self,
                tenant: TenantId,
                client: ClientId,
                digest: &str,
                now: UnixTime,
            ) -> Result<DevicePoll, StoreError> {
                // Each poll is noted by exactly one of two conditional updates: one for a poll
                // before the interval was up (which adds five seconds to it), one for a poll in
                // time. A poll that slips between them (another poll moved the row) tries again.
                const TOO_FAST: &str = concat!(
                    "UPDATE device_codes SET interval_secs = interval_secs + 5, last_poll_at = $3 \
                     WHERE tenant_id = $1 AND device_code_digest = $2 AND client_id = $4 \
                     AND last_poll_at IS NOT NULL AND last_poll_at + interval_secs > $3 \
                     RETURNING ", device_code_columns!());
                const IN_TIME: &str = concat!(
                    "UPDATE device_codes SET last_poll_at = $3 \
                     WHERE tenant_id = $1 AND device_code_digest = $2 AND client_id = $4 \
                     AND (last_poll_at IS NULL OR last_poll_at + interval_secs <= $3) \
                     RETURNING ", device_code_columns!());
                for _ in 0..3 {
                    for (sql, too_fast) in [(TOO_FAST, true), (IN_TIME, false)] {
                        let row = sqlx::query(sql)
                            .bind(tenant.to_string())
                            .bind(digest)
                            .bind(now)
                            .bind(client.to_string())
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(db_err)?;
                        if let Some(row) = row {
                            return Ok(DevicePoll::Polled {
                                record: Box::new(Self::device_code_record(&row)?),
                                too_fast,
                            });
                        }
                    }
                    let exists = sqlx::query(
                        "SELECT 1 AS found FROM device_codes WHERE tenant_id = $1 AND device_code_digest = $2 AND client_id = $3",
                    )
                    .bind(tenant.to_string())
                    .bind(digest)
                    .bind(client.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    if exists.is_none() {
                        return Ok(DevicePoll::Unknown);
                    }
                }
                Err(StoreError::Contended)
            }

            async fn redeem_device_code(&self, tenant: TenantId, id: DeviceCodeId) -> Result<bool, StoreError> {
                let redeemed = sqlx::query(
                    "UPDATE device_codes SET state = 'redeemed' WHERE tenant_id = $1 AND id = $2 AND state = 'approved'",
                )
                .bind(tenant.to_string())
                .bind(id.to_string())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(redeemed.rows_affected() == 1)
            }
        }
    };
}

device_codes_queries!(SqliteStore, sqlx::sqlite::SqliteRow);
device_codes_queries!(PgStore, sqlx::postgres::PgRow);
