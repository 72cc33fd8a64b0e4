//! Custom authentication extensions, their apps, and the log of calls.

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::clock::UnixTime;
use portico_core::directory::Application;
use portico_core::extensions::{Extension, ExtensionCall};
use portico_core::ids::TenantId;
use portico_core::store::ExtensionStore;
use sqlx::Row as _;

use crate::rows::{from_json_list, parse, to_json_list};
use crate::{PgStore, SqliteStore, db_err};

/// A stored small number that must fit its field.
fn narrow<T: TryFrom<i64>>(value: i64, what: &str) -> Result<T, StoreError> {
    T::try_from(value).map_err(|_| StoreError::Backend(format!("{what} out of range: {value}")))
}

macro_rules! extensions_queries {
    ($store:ty, $row:ty) => {
        impl $store {
            fn extension(row: &$row) -> Result<Extension, StoreError> {
                Ok(Extension {
                    tenant_id: parse(&row.try_get::<String, _>("tenant_id").map_err(db_err)?, "tenant_id")?,
                    id: row.try_get("id").map_err(db_err)?,
                    name: row.try_get("name").map_err(db_err)?,
                    event: parse(&row.try_get::<String, _>("event").map_err(db_err)?, "event")?,
                    target_url: row.try_get("target_url").map_err(db_err)?,
                    resource_app_id: row.try_get("resource_app_id").map_err(db_err)?,
                    timeout_ms: narrow(row.try_get("timeout_ms").map_err(db_err)?, "timeout_ms")?,
                    retries: narrow(row.try_get("retries").map_err(db_err)?, "retries")?,
                    claims: from_json_list(&row.try_get::<String, _>("claims").map_err(db_err)?)?,
                    fallback: row.try_get("fallback").map_err(db_err)?,
                    all_apps: row.try_get("all_apps").map_err(db_err)?,
                    apps: Vec::new(),
                    encryption_key: row.try_get("encryption_key").map_err(db_err)?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                })
            }

            fn extension_call(row: &$row) -> Result<ExtensionCall, StoreError> {
                let client: Option<String> = row.try_get("client_id").map_err(db_err)?;
                let code: Option<i64> = row.try_get("error_code").map_err(db_err)?;
                Ok(ExtensionCall {
                    tenant_id: parse(&row.try_get::<String, _>("tenant_id").map_err(db_err)?, "tenant_id")?,
                    extension_id: row.try_get("extension_id").map_err(db_err)?,
                    event: parse(&row.try_get::<String, _>("event").map_err(db_err)?, "event")?,
                    correlation_id: row.try_get("correlation_id").map_err(db_err)?,
                    client_id: client.map(|c| parse(&c, "client_id")).transpose()?,
                    at: row.try_get("at").map_err(db_err)?,
                    outcome: row.try_get("outcome").map_err(db_err)?,
                    error_code: code.map(|c| narrow(c, "error_code")).transpose()?,
                    detail: row.try_get("detail").map_err(db_err)?,
                    latency_ms: narrow(row.try_get("latency_ms").map_err(db_err)?, "latency_ms")?,
                    attempts: narrow(row.try_get("attempts").map_err(db_err)?, "attempts")?,
                })
            }
        }

        #[async_trait]
        impl ExtensionStore for $store {
            async fn create_extension(&self, extension: &Extension, resource_app: Option<&Application>) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                if let Some(app) = resource_app {
                    Self::insert_application(&mut tx, app, None).await?;
                }
                sqlx::query(
                    "INSERT INTO extensions (tenant_id, id, name, event, target_url, resource_app_id, timeout_ms, retries, claims, fallback, created_at, encryption_key, all_apps) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(extension.tenant_id.to_string())
                .bind(&extension.id)
                .bind(&extension.name)
                .bind(extension.event.as_str())
                .bind(&extension.target_url)
                .bind(&extension.resource_app_id)
                .bind(i64::from(extension.timeout_ms))
                .bind(i64::from(extension.retries))
                .bind(to_json_list(&extension.claims)?)
                .bind(extension.fallback)
                .bind(extension.created_at)
                .bind(&extension.encryption_key)
                .bind(extension.all_apps)
                .execute(&mut *tx)
                .await
                .map_err(|e| match db_err(e) {
                    StoreError::Conflict(_) => StoreError::Conflict("extension"),
                    other => other,
                })?;
                for client in &extension.apps {
                    sqlx::query("INSERT INTO extension_apps (tenant_id, extension_id, client_id) VALUES ($1, $2, $3)")
                        .bind(extension.tenant_id.to_string())
                        .bind(&extension.id)
                        .bind(client.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)
            }

            async fn extensions(&self, tenant: TenantId) -> Result<Vec<Extension>, StoreError> {
                let mut extensions: Vec<Extension> = sqlx::query(
                    "SELECT tenant_id, id, name, event, target_url, resource_app_id, timeout_ms, retries, claims, fallback, created_at, encryption_key, all_apps \
                     FROM extensions WHERE tenant_id = $1 ORDER BY created_at, id",
                )
                .bind(tenant.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?
                .iter()
                .map(Self::extension)
                .collect::<Result<_, _>>()?;
                let attached = sqlx::query(
                    "SELECT extension_id, client_id FROM extension_apps WHERE tenant_id = $1 ORDER BY client_id",
                )
                .bind(tenant.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                for row in &attached {
                    let id: String = row.try_get("extension_id").map_err(db_err)?;
                    let client = parse(&row.try_get::<String, _>("client_id").map_err(db_err)?, "client_id")?;
                    if let Some(extension) = extensions.iter_mut().find(|e| e.id == id) {
                        extension.apps.push(client);
                    }
                }
                Ok(extensions)
            }

            async fn delete_extension(&self, tenant: TenantId, id: &str) -> Result<bool, StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM extension_apps WHERE tenant_id = $1 AND extension_id = $2")
                    .bind(tenant.to_string())
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let deleted = sqlx::query("DELETE FROM extensions WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.to_string())
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?
                    .rows_affected();
                tx.commit().await.map_err(db_err)?;
                Ok(deleted == 1)
            }

            async fn record_extension_call(&self, call: &ExtensionCall) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO extension_calls (tenant_id, extension_id, event, correlation_id, client_id, at, outcome, error_code, detail, latency_ms, attempts) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(call.tenant_id.to_string())
                .bind(&call.extension_id)
                .bind(call.event.as_str())
                .bind(&call.correlation_id)
                .bind(call.client_id.map(|c| c.to_string()))
                .bind(call.at)
                .bind(&call.outcome)
                .bind(call.error_code.map(i64::from))
                .bind(&call.detail)
                .bind(i64::from(call.latency_ms))
                .bind(i64::from(call.attempts))
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn extension_calls(&self, tenant: TenantId, since: UnixTime, limit: u32) -> Result<Vec<ExtensionCall>, StoreError> {
                sqlx::query(
                    "SELECT tenant_id, extension_id, event, correlation_id, client_id, at, outcome, error_code, detail, latency_ms, attempts \
                     FROM extension_calls WHERE tenant_id = $1 AND at >= $2 ORDER BY at DESC LIMIT $3",
                )
                .bind(tenant.to_string())
                .bind(since)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?
                .iter()
                .map(Self::extension_call)
                .collect()
            }
        }
    };
}

extensions_queries!(SqliteStore, sqlx::sqlite::SqliteRow);
extensions_queries!(PgStore, sqlx::postgres::PgRow);
