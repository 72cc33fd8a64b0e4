//! Second factors: a user's methods, recovery codes and wrong-code counts.

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::clock::UnixTime;
use portico_core::ids::{AuthMethodId, TenantId, UserId};
use portico_core::store::AuthMethodRecord;
use portico_core::store::FactorStore;
use sqlx::Row as _;

use crate::rows::{parse, to_u32};
use crate::{PgStore, SqliteStore, db_err};

macro_rules! factors_queries {
    ($store:ty, $row:ty) => {
        impl $store {
            fn auth_method(row: &$row) -> Result<AuthMethodRecord, StoreError> {
                Ok(AuthMethodRecord {
                    id: parse(&row.try_get::<String, _>("id").map_err(db_err)?, "id")?,
                    tenant_id: parse(&row.try_get::<String, _>("tenant_id").map_err(db_err)?, "tenant_id")?,
                    user_id: parse(&row.try_get::<String, _>("user_id").map_err(db_err)?, "user_id")?,
                    kind: parse(&row.try_get::<String, _>("kind").map_err(db_err)?, "kind")?,
                    target: row.try_get("target").map_err(db_err)?,
                    sealed_secret: row.try_get("sealed_secret").map_err(db_err)?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                })
            }
        }

        #[async_trait]
        impl FactorStore for $store {
            async fn add_auth_method(&self, method: &AuthMethodRecord, recovery_digests: &[String]) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::insert_auth_method(&mut tx, method, recovery_digests).await?;
                tx.commit().await.map_err(db_err)
            }

            async fn auth_methods(&self, tenant: TenantId, user: UserId) -> Result<Vec<AuthMethodRecord>, StoreError> {
                sqlx::query(
                    "SELECT id, tenant_id, user_id, kind, target, sealed_secret, created_at FROM auth_methods \
                     WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, id",
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?
                .iter()
                .map(Self::auth_method)
                .collect()
            }

            async fn use_totp_step(&self, tenant: TenantId, method: AuthMethodId, step: i64) -> Result<bool, StoreError> {
                let result = sqlx::query(
                    "UPDATE auth_methods SET last_used_step = $3 WHERE tenant_id = $1 AND id = $2 AND last_used_step < $3",
                )
                .bind(tenant.to_string())
                .bind(method.to_string())
                .bind(step)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(result.rows_affected() == 1)
            }

            async fn use_recovery_code(&self, tenant: TenantId, user: UserId, digest: &str, now: UnixTime) -> Result<bool, StoreError> {
                let result = sqlx::query(
                    "UPDATE recovery_codes SET used_at = $4 \
                     WHERE tenant_id = $1 AND user_id = $2 AND code_digest = $3 AND used_at IS NULL",
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
                .bind(digest)
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(result.rows_affected() == 1)
            }

            async fn add_second_factor_failure(
                &self,
                tenant: TenantId,
                user: UserId,
                attempt: &str,
                now: UnixTime,
            ) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO second_factor_failures (tenant_id, user_id, failed_at, attempt) VALUES ($1, $2, $3, $4)")
                    .bind(tenant.to_string())
                    .bind(user.to_string())
                    .bind(now)
                    .bind(attempt)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn withdraw_second_factor_failure(&self, tenant: TenantId, attempt: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM second_factor_failures WHERE tenant_id = $1 AND attempt = $2")
                    .bind(tenant.to_string())
                    .bind(attempt)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn second_factor_failures(
                &self,
                tenant: TenantId,
                user: UserId,
                since: UnixTime,
                except: &str,
            ) -> Result<(u32, Option<UnixTime>), StoreError> {
                let row = sqlx::query(
                    "SELECT COUNT(*) AS failures, MAX(failed_at) AS newest FROM second_factor_failures \
                     WHERE tenant_id = $1 AND user_id = $2 AND failed_at > $3 AND COALESCE(attempt, '') <> $4",
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
                .bind(since)
                .bind(except)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                Ok((
                    to_u32(row.try_get("failures").map_err(db_err)?),
                    row.try_get("newest").map_err(db_err)?,
                ))
            }
        }
    };
}

factors_queries!(SqliteStore, sqlx::sqlite::SqliteRow);
factors_queries!(PgStore, sqlx::postgres::PgRow);
