//! SCIM clients' bearer tokens.

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::clock::UnixTime;
use portico_core::ids::TenantId;
use portico_core::store::{ScimTokenRecord, ScimTokenStore};
use sqlx::Row as _;

use crate::rows::parse;
use crate::{PgStore, SqliteStore, db_err};

macro_rules! scim_tokens_queries {
    ($store:ty, $row:ty) => {
        impl $store {
            fn scim_token(row: &$row) -> Result<ScimTokenRecord, StoreError> {
                Ok(ScimTokenRecord {
                    tenant_id: parse(&row.try_get::<String, _>("tenant_id").map_err(db_err)?, "tenant_id")?,
                    id: row.try_get("id").map_err(db_err)?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                    expires_at: row.try_get("expires_at").map_err(db_err)?,
                    revoked_at: row.try_get("revoked_at").map_err(db_err)?,
                })
            }
        }

        #[async_trait]
        impl ScimTokenStore for $store {
            async fn create_scim_token(&self, token: &ScimTokenRecord, digest: &str) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO scim_tokens (tenant_id, id, token_digest, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(token.tenant_id.to_string())
                .bind(&token.id)
                .bind(digest)
                .bind(token.created_at)
                .bind(token.expires_at)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn scim_token_valid(&self, tenant: TenantId, digest: &str, now: UnixTime) -> Result<Option<ScimTokenRecord>, StoreError> {
                sqlx::query(
                    "SELECT tenant_id, id, created_at, expires_at, revoked_at FROM scim_tokens \
                     WHERE tenant_id = $1 AND token_digest = $2 AND revoked_at IS NULL \
                     AND (expires_at IS NULL OR expires_at > $3)",
                )
                .bind(tenant.to_string())
                .bind(digest)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?
                .map(|row| Self::scim_token(&row))
                .transpose()
            }

            async fn scim_tokens(&self, tenant: TenantId) -> Result<Vec<ScimTokenRecord>, StoreError> {
                sqlx::query(
                    "SELECT tenant_id, id, created_at, expires_at, revoked_at FROM scim_tokens \
                     WHERE tenant_id = $1 ORDER BY created_at, id",
                )
                .bind(tenant.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?
                .iter()
                .map(Self::scim_token)
                .collect()
            }

            async fn revoke_scim_token(&self, tenant: TenantId, id: &str, now: UnixTime) -> Result<bool, StoreError> {
                let result = sqlx::query(
                    "UPDATE scim_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
                )
                .bind(tenant.to_string())
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

scim_tokens_queries!(SqliteStore, sqlx::sqlite::SqliteRow);
scim_tokens_queries!(PgStore, sqlx::postgres::PgRow);
