//! Dynamic client registration (RFC 7591/7592).

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::clock::UnixTime;
use portico_core::directory::Application;
use portico_core::ids::{ClientId, TenantId};
use portico_core::store::{
    ClientRegistration, ClientSecretRecord, InitialAccessTokenRecord, RegistrationStore,
};
use sqlx::Row as _;

use crate::rows::to_u32;
use crate::{PgStore, SqliteStore, db_err};

macro_rules! registrations_queries {
    ($store:ty, $row:ty) => {
        #[async_trait]
        impl RegistrationStore for $store {
            async fn create_initial_access_token(&self, token: &InitialAccessTokenRecord) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO initial_access_tokens (tenant_id, id, token_digest, max_uses, uses, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(token.tenant_id.to_string())
                .bind(&token.id)
                .bind(&token.token_digest)
                .bind(i64::from(token.max_uses))
                .bind(i64::from(token.uses))
                .bind(token.created_at)
                .bind(token.expires_at)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn initial_access_tokens(&self, tenant: TenantId) -> Result<Vec<InitialAccessTokenRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, token_digest, max_uses, uses, created_at, expires_at FROM initial_access_tokens \
                     WHERE tenant_id = $1 ORDER BY created_at, id",
                )
                .bind(tenant.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter()
                    .map(|row| {
                        Ok(InitialAccessTokenRecord {
                            tenant_id: tenant,
                            id: row.try_get("id").map_err(db_err)?,
                            token_digest: row.try_get("token_digest").map_err(db_err)?,
                            max_uses: to_u32(row.try_get("max_uses").map_err(db_err)?),
                            uses: to_u32(row.try_get("uses").map_err(db_err)?),
                            created_at: row.try_get("created_at").map_err(db_err)?,
                            expires_at: row.try_get("expires_at").map_err(db_err)?,
                        })
                    })
                    .collect()
            }

            async fn revoke_initial_access_token(&self, tenant: TenantId, id: &str) -> Result<bool, StoreError> {
                let deleted = sqlx::query("DELETE FROM initial_access_tokens WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.to_string())
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(deleted.rows_affected() == 1)
            }

            async fn register_application(
                &self,
                app: &Application,
                secret: Option<&ClientSecretRecord>,
                iat_digest: &str,
                registration: &ClientRegistration,
                now: UnixTime,
            ) -> Result<bool, StoreError> {
                let mut tx = self.begin_write().await?;
                let spent = sqlx::query(
                    "UPDATE initial_access_tokens SET uses = uses + 1 \
                     WHERE tenant_id = $1 AND token_digest = $2 AND uses < max_uses AND expires_at > $3",
                )
                .bind(app.tenant_id.to_string())
                .bind(iat_digest)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                if spent.rows_affected() == 0 {
                    tx.rollback().await.map_err(db_err)?;
                    return Ok(false);
                }
                Self::insert_application(&mut tx, app, secret).await?;
                sqlx::query(
                    "INSERT INTO client_registrations (tenant_id, client_id, token_digest, auth_method, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(app.tenant_id.to_string())
                .bind(app.client_id.to_string())
                .bind(&registration.token_digest)
                .bind(&registration.auth_method)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(true)
            }

            async fn registration(&self, tenant: TenantId, client: ClientId) -> Result<Option<ClientRegistration>, StoreError> {
                let row = sqlx::query(
                    "SELECT token_digest, auth_method FROM client_registrations WHERE tenant_id = $1 AND client_id = $2",
                )
                .bind(tenant.to_string())
                .bind(client.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                row.map(|row| {
                    Ok(ClientRegistration {
                        token_digest: row.try_get("token_digest").map_err(db_err)?,
                        auth_method: row.try_get("auth_method").map_err(db_err)?,
                    })
                })
                .transpose()
            }

            async fn set_registration_auth_method(&self, tenant: TenantId, client: ClientId, auth_method: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE client_registrations SET auth_method = $3 WHERE tenant_id = $1 AND client_id = $2")
                    .bind(tenant.to_string())
                    .bind(client.to_string())
                    .bind(auth_method)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }
        }
    };
}

registrations_queries!(SqliteStore, sqlx::sqlite::SqliteRow);
registrations_queries!(PgStore, sqlx::postgres::PgRow);
