//! Tenants: their signing keys, branding and settings.

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::clock::UnixTime;
use portico_core::directory::{Branding, Tenant, TenantRef, UserFlow};
use portico_core::ids::TenantId;
use portico_core::store::TenantStore;
use portico_core::store::{KeyState, StoredSigningKey};
use sqlx::Row as _;

use crate::rows::{parse, parse_alg, parse_key_state};
use crate::{PgStore, SqliteStore, db_err};

macro_rules! tenants_queries {
    ($store:ty, $row:ty) => {
        impl $store {
            fn tenant(row: &$row) -> Result<Tenant, StoreError> {
                Ok(Tenant {
                    id: parse(&row.try_get::<String, _>("id").map_err(db_err)?, "id")?,
                    name: row.try_get("name").map_err(db_err)?,
                    signing_alg: parse_alg(&row.try_get::<String, _>("signing_alg").map_err(db_err)?)?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                })
            }

            fn signing_key(row: &$row) -> Result<StoredSigningKey, StoreError> {
                Ok(StoredSigningKey {
                    tenant_id: parse(&row.try_get::<String, _>("tenant_id").map_err(db_err)?, "tenant_id")?,
                    kid: row.try_get("kid").map_err(db_err)?,
                    alg: parse_alg(&row.try_get::<String, _>("alg").map_err(db_err)?)?,
                    state: parse_key_state(&row.try_get::<String, _>("state").map_err(db_err)?)?,
                    public_jwk: row.try_get("public_jwk").map_err(db_err)?,
                    sealed_private: row.try_get("sealed_private").map_err(db_err)?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                    publish_until: row.try_get("publish_until").map_err(db_err)?,
                })
            }
        }

        #[async_trait]
        impl TenantStore for $store {
            async fn create_tenant(
                &self,
                tenant: &Tenant,
                keys: &[StoredSigningKey],
                default_flow: &UserFlow,
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query("INSERT INTO tenants (id, name, signing_alg, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(tenant.id.to_string())
                    .bind(&tenant.name)
                    .bind(tenant.signing_alg.as_str())
                    .bind(tenant.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                for key in keys {
                    sqlx::query(
                        "INSERT INTO signing_keys (tenant_id, kid, alg, state, public_jwk, sealed_private, created_at, publish_until) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(tenant.id.to_string())
                    .bind(&key.kid)
                    .bind(key.alg.as_str())
                    .bind(key.state.as_str())
                    .bind(&key.public_jwk)
                    .bind(&key.sealed_private)
                    .bind(key.created_at)
                    .bind(key.publish_until)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                }
                Self::insert_user_flow(&mut tx, default_flow).await?;
                tx.commit().await.map_err(db_err)
            }

            async fn find_tenant(&self, tenant: &TenantRef) -> Result<Option<Tenant>, StoreError> {
                let (sql, value) = match tenant {
                    TenantRef::Id(id) => (
                        concat!("SELECT ", tenant_columns!(), " FROM tenants WHERE id = $1"),
                        id.to_string(),
                    ),
                    TenantRef::Name(name) => (
                        concat!("SELECT ", tenant_columns!(), " FROM tenants WHERE name = $1"),
                        name.clone(),
                    ),
                };
                sqlx::query(sql)
                    .bind(value)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?
                    .map(|row| Self::tenant(&row))
                    .transpose()
            }

            async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
                let sql = concat!("SELECT ", tenant_columns!(), " FROM tenants ORDER BY name");
                sqlx::query(sql)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?
                    .iter()
                    .map(Self::tenant)
                    .collect()
            }

            async fn set_branding(&self, tenant: TenantId, branding: &Branding, now: UnixTime) -> Result<(), StoreError> {
                let config = serde_json::to_string(branding)
                    .map_err(|e| StoreError::Backend(format!("branding: {e}")))?;
                sqlx::query(
                    "INSERT INTO tenant_branding (tenant_id, config, logo, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (tenant_id) DO UPDATE SET config = $2, logo = $3, updated_at = $4",
                )
                .bind(tenant.to_string())
                .bind(config)
                .bind(branding.logo.as_deref())
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn branding(&self, tenant: TenantId) -> Result<Branding, StoreError> {
                let row = sqlx::query("SELECT config, logo FROM tenant_branding WHERE tenant_id = $1")
                    .bind(tenant.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                let Some(row) = row else { return Ok(Branding::default()) };
                let mut branding: Branding = serde_json::from_str(&row.try_get::<String, _>("config").map_err(db_err)?)
                    .map_err(|e| StoreError::Backend(format!("unreadable branding: {e}")))?;
                branding.logo = row.try_get("logo").map_err(db_err)?;
                Ok(branding)
            }

            async fn signing_keys(&self, tenant: TenantId) -> Result<Vec<StoredSigningKey>, StoreError> {
                sqlx::query(
                    "SELECT tenant_id, kid, alg, state, public_jwk, sealed_private, created_at, publish_until \
                     FROM signing_keys WHERE tenant_id = $1 ORDER BY created_at, kid",
                )
                .bind(tenant.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?
                .iter()
                .map(Self::signing_key)
                .collect()
            }

            async fn rotate_signing_keys(
                &self,
                tenant: TenantId,
                new_next: &StoredSigningKey,
                retired_until: UnixTime,
                now: UnixTime,
            ) -> Result<(), StoreError> {
                let tenant = tenant.to_string();
                let mut tx = self.begin_write().await?;
                // Serialise rotations of one tenant (row lock on PostgreSQL, write lock on SQLite).
                let found = sqlx::query("UPDATE tenants SET name = name WHERE id = $1")
                    .bind(&tenant)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if found.rows_affected() == 0 {
                    return Err(StoreError::NotFound("tenant"));
                }
                sqlx::query("DELETE FROM signing_keys WHERE tenant_id = $1 AND state = 'retired' AND publish_until <= $2")
                    .bind(&tenant)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                sqlx::query("UPDATE signing_keys SET state = 'retired', publish_until = $2 WHERE tenant_id = $1 AND state = 'current'")
                    .bind(&tenant)
                    .bind(retired_until)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let promoted = sqlx::query("UPDATE signing_keys SET state = 'current' WHERE tenant_id = $1 AND state = 'next'")
                    .bind(&tenant)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                // Normally a published `next` key is promoted; if there was none, the new key
                // has to sign at once.
                let new_state = if promoted.rows_affected() == 0 {
                    KeyState::Current
                } else {
                    KeyState::Next
                };
                sqlx::query(
                    "INSERT INTO signing_keys (tenant_id, kid, alg, state, public_jwk, sealed_private, created_at, publish_until) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
                )
                .bind(&tenant)
                .bind(&new_next.kid)
                .bind(new_next.alg.as_str())
                .bind(new_state.as_str())
                .bind(&new_next.public_jwk)
                .bind(&new_next.sealed_private)
                .bind(new_next.created_at)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                tx.commit().await.map_err(db_err)
            }

            async fn tenant_settings(&self, tenant: TenantId) -> Result<Option<String>, StoreError> {
                sqlx::query_scalar("SELECT settings FROM tenant_settings WHERE tenant_id = $1")
                    .bind(tenant.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)
            }

            async fn set_tenant_settings(&self, tenant: TenantId, settings: &str, now: UnixTime) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO tenant_settings (tenant_id, settings, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (tenant_id) DO UPDATE SET settings = $2, updated_at = $3",
                )
                .bind(tenant.to_string())
                .bind(settings)
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }
        }
    };
}

tenants_queries!(SqliteStore, sqlx::sqlite::SqliteRow);
tenants_queries!(PgStore, sqlx::postgres::PgRow);
