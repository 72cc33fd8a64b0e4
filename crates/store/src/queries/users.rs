//! Users: accounts, passwords, lockouts and signing out everywhere.

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::clock::UnixTime;
use portico_core::directory::User;
use portico_core::ids::{TenantId, UserId};
use portico_core::store::UserStore;
use portico_core::store::{LockoutRecord, LockoutSubject};
use sqlx::Row as _;

use super::SignOut;
use crate::rows::{from_json_list, parse, to_json_list, to_u32};
use crate::{PgStore, SqliteStore, db_err};

macro_rules! users_queries {
    ($store:ty, $row:ty) => {
        impl $store {
            pub(super) fn user(row: &$row) -> Result<User, StoreError> {
                Ok(User {
                    id: parse(&row.try_get::<String, _>("id").map_err(db_err)?, "id")?,
                    tenant_id: parse(&row.try_get::<String, _>("tenant_id").map_err(db_err)?, "tenant_id")?,
                    email: row.try_get("email").map_err(db_err)?,
                    display_name: row.try_get("display_name").map_err(db_err)?,
                    password_hash: row.try_get("password_hash").map_err(db_err)?,
                    password_in_legacy_store: row.try_get("password_in_legacy_store").map_err(db_err)?,
                    enabled: row.try_get("enabled").map_err(db_err)?,
                    attributes: serde_json::from_str(&row.try_get::<String, _>("attributes").map_err(db_err)?)
                        .map_err(|e| StoreError::Backend(format!("unreadable attributes: {e}")))?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                })
            }
        }

        #[async_trait]
        impl UserStore for $store {
            async fn create_user(&self, user: &User) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::insert_user(&mut tx, user).await?;
                tx.commit().await.map_err(db_err)
            }

            async fn find_user(&self, tenant: TenantId, user: UserId) -> Result<Option<User>, StoreError> {
                let sql = concat!("SELECT ", user_columns!(), " FROM users WHERE tenant_id = $1 AND id = $2");
                sqlx::query(sql)
                    .bind(tenant.to_string())
                    .bind(user.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?
                    .map(|row| Self::user(&row))
                    .transpose()
            }

            async fn find_user_by_email(
                &self,
                tenant: TenantId,
                email: &str,
            ) -> Result<Option<User>, StoreError> {
                let sql = concat!("SELECT ", user_columns!(), " FROM users WHERE tenant_id = $1 AND email = $2");
                sqlx::query(sql)
                    .bind(tenant.to_string())
                    .bind(email)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?
                    .map(|row| Self::user(&row))
                    .transpose()
            }

            async fn set_user_enabled(
                &self,
                tenant: TenantId,
                user: UserId,
                enabled: bool,
                now: UnixTime,
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                let result = sqlx::query(
                    "UPDATE users SET enabled = $3, version = version + 1, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
                )
                    .bind(tenant.to_string())
                    .bind(user.to_string())
                    .bind(enabled)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if result.rows_affected() == 0 {
                    return Err(StoreError::NotFound("user"));
                }
                if !enabled {
                    Self::end_user_sessions(&mut tx, tenant, user, now, SignOut::Next).await?;
                }
                tx.commit().await.map_err(db_err)
            }

            async fn sign_out_user(&self, tenant: TenantId, user: UserId, now: UnixTime) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::end_user_sessions(&mut tx, tenant, user, now, SignOut::Next).await?;
                tx.commit().await.map_err(db_err)
            }

            async fn set_password(
                &self,
                tenant: TenantId,
                user: UserId,
                password_hash: &str,
                keep: u32,
                now: UnixTime,
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::write_password(&mut tx, tenant, user, password_hash, keep, now, SignOut::Next).await?;
                tx.commit().await.map_err(db_err)
            }

            async fn migrate_password(&self, tenant: TenantId, user: UserId, password_hash: &str) -> Result<bool, StoreError> {
                let updated = sqlx::query(
                    "UPDATE users SET password_hash = $3, password_in_legacy_store = FALSE \
                     WHERE tenant_id = $1 AND id = $2 AND password_in_legacy_store",
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
                .bind(password_hash)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(updated.rows_affected() == 1)
            }

            async fn user_signed_out_at(&self, tenant: TenantId, user: UserId) -> Result<Option<UnixTime>, StoreError> {
                let at: Option<Option<i64>> = sqlx::query_scalar(
                    "SELECT signed_out_at FROM users WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(at.flatten())
            }

            async fn password_history(&self, tenant: TenantId, user: UserId) -> Result<Vec<String>, StoreError> {
                sqlx::query_scalar(
                    "SELECT password_hash FROM password_history WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at DESC",
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)
            }

            async fn lockout(&self, tenant: TenantId, subject: LockoutSubject<'_>) -> Result<LockoutRecord, StoreError> {
                let (sql, key) = match subject {
                    LockoutSubject::User(user) => (
                        "SELECT failures, locked_until, lockouts, recent_fingerprints, version, updated_at \
                         FROM password_lockouts WHERE tenant_id = $1 AND user_id = $2",
                        user.to_string(),
                    ),
                    LockoutSubject::Decoy(key) => (
                        "SELECT failures, locked_until, lockouts, recent_fingerprints, version, updated_at \
                         FROM decoy_lockouts WHERE tenant_id = $1 AND subject = $2",
                        key.to_owned(),
                    ),
                };
                let row = sqlx::query(sql)
                    .bind(tenant.to_string())
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                let Some(row) = row else {
                    return Ok(LockoutRecord::default());
                };
                Ok(LockoutRecord {
                    failures: to_u32(row.try_get("failures").map_err(db_err)?),
                    locked_until: row.try_get("locked_until").map_err(db_err)?,
                    lockouts: to_u32(row.try_get("lockouts").map_err(db_err)?),
                    recent_fingerprints: from_json_list(&row.try_get::<String, _>("recent_fingerprints").map_err(db_err)?)?,
                    version: row.try_get("version").map_err(db_err)?,
                    updated_at: row.try_get("updated_at").map_err(db_err)?,
                })
            }

            async fn save_lockout(
                &self,
                tenant: TenantId,
                subject: LockoutSubject<'_>,
                record: &LockoutRecord,
                now: UnixTime,
            ) -> Result<(), StoreError> {
                // The same statements for both tables; only the names differ.
                let (insert, update, key) = match subject {
                    LockoutSubject::User(user) => (
                        "INSERT INTO password_lockouts (tenant_id, user_id, failures, locked_until, lockouts, recent_fingerprints, version, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, 1, $7) ON CONFLICT (tenant_id, user_id) DO NOTHING",
                        "UPDATE password_lockouts SET failures = $3, locked_until = $4, lockouts = $5, \
                         recent_fingerprints = $6, version = version + 1, updated_at = $7 \
                         WHERE tenant_id = $1 AND user_id = $2 AND version = $8",
                        user.to_string(),
                    ),
                    LockoutSubject::Decoy(key) => (
                        "INSERT INTO decoy_lockouts (tenant_id, subject, failures, locked_until, lockouts, recent_fingerprints, version, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, 1, $7) ON CONFLICT (tenant_id, subject) DO NOTHING",
                        "UPDATE decoy_lockouts SET failures = $3, locked_until = $4, lockouts = $5, \
                         recent_fingerprints = $6, version = version + 1, updated_at = $7 \
                         WHERE tenant_id = $1 AND subject = $2 AND version = $8",
                        key.to_owned(),
                    ),
                };
                let query = sqlx::query(if record.version == 0 { insert } else { update })
                    .bind(tenant.to_string())
                    .bind(key)
                    .bind(i64::from(record.failures))
                    .bind(record.locked_until)
                    .bind(i64::from(record.lockouts))
                    .bind(to_json_list(&record.recent_fingerprints)?)
                    .bind(now);
                let query = if record.version == 0 { query } else { query.bind(record.version) };
                let result = query.execute(&self.pool).await.map_err(db_err)?;
                if result.rows_affected() == 1 {
                    Ok(())
                } else {
                    Err(StoreError::Contended)
                }
            }
        }
    };
}

users_queries!(SqliteStore, sqlx::sqlite::SqliteRow);
users_queries!(PgStore, sqlx::postgres::PgRow);
