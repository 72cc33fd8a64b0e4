//! The admin API's bearer tokens.

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::clock::UnixTime;
use portico_core::store::AdminTokenRecord;
use portico_core::store::AdminTokenStore;
use sqlx::Row as _;

use crate::{PgStore, SqliteStore, db_err};

macro_rules! admin_tokens_queries {
    ($store:ty, $row:ty) => {
        impl $store {
            fn admin_token(row: &$row) -> Result<AdminTokenRecord, StoreError> {
                Ok(AdminTokenRecord {
                    id: row.try_get("id").map_err(db_err)?,
                    name: row.try_get("name").map_err(db_err)?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                    expires_at: row.try_get("expires_at").map_err(db_err)?,
                    revoked_at: row.try_get("revoked_at").map_err(db_err)?,
                })
            }
        }

        #[async_trait]
        impl AdminTokenStore for $store {
            async fn create_admin_token(&self, token: &AdminTokenRecord, digest: &str) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO admin_tokens (digest, id, name, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(digest)
                .bind(&token.id)
                .bind(&token.name)
                .bind(token.created_at)
                .bind(token.expires_at)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn admin_token_valid(&self, digest: &str, now: UnixTime) -> Result<Option<AdminTokenRecord>, StoreError> {
                sqlx::query(
                    "SELECT id, name, created_at, expires_at, revoked_at FROM admin_tokens \
                     WHERE digest = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
                )
                .bind(digest)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?
                .map(|row| Self::admin_token(&row))
                .transpose()
            }

            async fn admin_tokens(&self) -> Result<Vec<AdminTokenRecord>, StoreError> {
                sqlx::query(
                    "SELECT id, name, created_at, expires_at, revoked_at FROM admin_tokens ORDER BY created_at, id",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?
                .iter()
                .map(Self::admin_token)
                .collect()
            }

            async fn revoke_admin_token(&self, id: &str, now: UnixTime) -> Result<bool, StoreError> {
                let result = sqlx::query("UPDATE admin_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(id)
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(result.rows_affected() == 1)
            }
        }
    };
}

admin_tokens_queries!(SqliteStore, sqlx::sqlite::SqliteRow);
admin_tokens_queries!(PgStore, sqlx::postgres::PgRow);
