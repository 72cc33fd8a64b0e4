//! Sign-in engine flows and the writes their steps commit.

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::clock::UnixTime;
use portico_core::ids::{FlowId, TenantId};
use portico_core::store::FlowStore;
use portico_core::store::{FlowRecord, FlowWrite};
use sqlx::Row as _;

use super::SignOut;
use crate::rows::parse;
use crate::{PgStore, SqliteStore, db_err};

macro_rules! flows_queries {
    ($store:ty, $row:ty) => {
        impl $store {
            fn flow(row: &$row) -> Result<FlowRecord, StoreError> {
                let client_id: Option<String> = row.try_get("client_id").map_err(db_err)?;
                Ok(FlowRecord {
                    id: parse(&row.try_get::<String, _>("id").map_err(db_err)?, "id")?,
                    tenant_id: parse(&row.try_get::<String, _>("tenant_id").map_err(db_err)?, "tenant_id")?,
                    client_id: client_id.map(|c| parse(&c, "client_id")).transpose()?,
                    state: row.try_get("state").map_err(db_err)?,
                    version: row.try_get("version").map_err(db_err)?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                    expires_at: row.try_get("expires_at").map_err(db_err)?,
                    spent_at: row.try_get("spent_at").map_err(db_err)?,
                })
            }
        }

        #[async_trait]
        impl FlowStore for $store {
            async fn create_flow(&self, flow: &FlowRecord) -> Result<(), StoreError> {
                let insert = sqlx::query(
                    "INSERT INTO signin_flows (tenant_id, id, client_id, state, version, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(flow.tenant_id.to_string())
                .bind(flow.id.to_string())
                .bind(flow.client_id.map(|c| c.to_string()))
                .bind(&flow.state)
                .bind(flow.version)
                .bind(flow.created_at)
                .bind(flow.expires_at);
                if Self::SYNC_COMMITS {
                    // Two more round trips, and no wait for the disk.
                    let mut tx = self.begin_ephemeral().await?;
                    insert.execute(&mut *tx).await.map_err(db_err)?;
                    tx.commit().await.map_err(db_err)
                } else {
                    insert.execute(&self.pool).await.map_err(db_err).map(drop)
                }
            }

            async fn find_flow(&self, tenant: TenantId, flow: FlowId, now: UnixTime) -> Result<Option<FlowRecord>, StoreError> {
                sqlx::query(
                    "SELECT tenant_id, id, client_id, state, version, created_at, expires_at, spent_at FROM signin_flows \
                     WHERE tenant_id = $1 AND id = $2 AND expires_at > $3 AND spent_at IS NULL",
                )
                .bind(tenant.to_string())
                .bind(flow.to_string())
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?
                .map(|row| Self::flow(&row))
                .transpose()
            }

            async fn save_flow(&self, flow: &FlowRecord, writes: &[FlowWrite]) -> Result<(), StoreError> {
                // A step that writes only the flow's own state need not wait for the disk;
                // one that creates a user, sets a password or adds a factor must.
                let mut tx = if writes.is_empty() {
                    self.begin_ephemeral().await?
                } else {
                    self.begin_write().await?
                };
                let result = sqlx::query(
                    "UPDATE signin_flows SET state = $3, version = $4, expires_at = $5, spent_at = $6 \
                     WHERE tenant_id = $1 AND id = $2 AND version = $4 - 1 AND spent_at IS NULL",
                )
                .bind(flow.tenant_id.to_string())
                .bind(flow.id.to_string())
                .bind(&flow.state)
                .bind(flow.version)
                .bind(flow.expires_at)
                .bind(flow.spent_at)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                if result.rows_affected() != 1 {
                    return Err(StoreError::Contended);
                }
                for write in writes {
                    match write {
                        FlowWrite::CreateUser(user) => Self::insert_user(&mut tx, user).await?,
                        FlowWrite::SetPassword { user, password_hash, keep, now, seen_sign_out, signs_out_at } => {
                            let stamp = SignOut::From { seen: *seen_sign_out, to: *signs_out_at };
                            Self::write_password(&mut tx, flow.tenant_id, *user, password_hash, *keep, *now, stamp).await?
                        }
                        FlowWrite::AddMethod { method, only_if_none, recovery_digests, totp_step } => {
                            if *only_if_none {
                                // Lock the user's row first (PostgreSQL; SQLite's BEGIN
                                // IMMEDIATE already serialises writers), so of two flows
                                // registering a first factor at once the second sees the first.
                                // A non-key column, so SQLite checks no referring rows.
                                sqlx::query("UPDATE users SET enabled = enabled WHERE tenant_id = $1 AND id = $2")
                                    .bind(method.tenant_id.to_string())
                                    .bind(method.user_id.to_string())
                                    .execute(&mut *tx)
                                    .await
                                    .map_err(db_err)?;
                                let existing: Option<String> = sqlx::query_scalar(
                                    "SELECT id FROM auth_methods WHERE tenant_id = $1 AND user_id = $2 LIMIT 1",
                                )
                                .bind(method.tenant_id.to_string())
                                .bind(method.user_id.to_string())
                                .fetch_optional(&mut *tx)
                                .await
                                .map_err(db_err)?;
                                if existing.is_some() {
                                    return Err(StoreError::Conflict("second factor"));
                                }
                            }
                            Self::insert_auth_method(&mut tx, method, recovery_digests).await?;
                            if let Some(step) = totp_step {
                                sqlx::query("UPDATE auth_methods SET last_used_step = $3 WHERE tenant_id = $1 AND id = $2")
                                    .bind(flow.tenant_id.to_string())
                                    .bind(method.id.to_string())
                                    .bind(*step)
                                    .execute(&mut *tx)
                                    .await
                                    .map_err(db_err)?;
                            }
                        }
                        FlowWrite::Consent(consents) => {
                            for consent in consents {
                                sqlx::query(
                                    "INSERT INTO user_consents (tenant_id, user_id, client_id, api_client_id, scope, created_at) \
                                     VALUES ($1, $2, $3, $4, $5, $6) \
                                     ON CONFLICT (tenant_id, user_id, client_id, api_client_id, scope) DO NOTHING",
                                )
                                .bind(flow.tenant_id.to_string())
                                .bind(consent.user_id.to_string())
                                .bind(consent.client_id.to_string())
                                .bind(consent.api_client_id.to_string())
                                .bind(&consent.scope)
                                .bind(consent.created_at)
                                .execute(&mut *tx)
                                .await
                                .map_err(db_err)?;
                            }
                        }
                    }
                }
                tx.commit().await.map_err(db_err)
            }
        }
    };
}

flows_queries!(SqliteStore, sqlx::sqlite::SqliteRow);
flows_queries!(PgStore, sqlx::postgres::PgRow);
