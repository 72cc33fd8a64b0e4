//! Applications and the user flows they use.

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::clock::UnixTime;
use portico_core::directory::{Application, LogoutUris, UserFlow, UserFlowConfig};
use portico_core::ids::{ClientId, TenantId};
use portico_core::store::{AppStore, ClientSecretRecord};
use sqlx::Row as _;

use crate::rows::{from_json_list, parse, to_json_list};
use crate::{PgStore, SqliteStore, db_err};

/// The stored form of an app's API definition.
fn api_json(app: &Application) -> Result<String, StoreError> {
    serde_json::to_string(&app.api).map_err(|e| StoreError::Backend(e.to_string()))
}

/// The stored form of an app's claim mappings.
fn mappings_json(app: &Application) -> Result<String, StoreError> {
    serde_json::to_string(&app.claim_mappings).map_err(|e| StoreError::Backend(e.to_string()))
}

/// The stored form of an app's client keys.
fn keys_json(app: &Application) -> Result<String, StoreError> {
    serde_json::to_string(&app.client_keys).map_err(|e| StoreError::Backend(e.to_string()))
}

macro_rules! apps_queries {
    ($store:ty, $row:ty) => {
        impl $store {
            /// The tenant's applications that `sql` (one `$1` for the tenant) selects.
            async fn tenant_apps(&self, tenant: TenantId, sql: &'static str) -> Result<Vec<Application>, StoreError> {
                sqlx::query(sql)
                    .bind(tenant.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?
                    .iter()
                    .map(Self::application)
                    .collect()
            }

            async fn insert_client_secret<'c, E>(executor: E, secret: &ClientSecretRecord) -> Result<(), StoreError>
            where
                E: sqlx::Executor<'c, Database = <$row as sqlx::Row>::Database>,
            {
                sqlx::query(
                    "INSERT INTO client_secrets (tenant_id, client_id, id, secret_digest, hint, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(secret.tenant_id.to_string())
                .bind(secret.client_id.to_string())
                .bind(&secret.id)
                .bind(&secret.secret_digest)
                .bind(&secret.hint)
                .bind(secret.created_at)
                .bind(secret.expires_at)
                .execute(executor)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            fn application(row: &$row) -> Result<Application, StoreError> {
                Ok(Application {
                    client_id: parse(&row.try_get::<String, _>("client_id").map_err(db_err)?, "client_id")?,
                    tenant_id: parse(&row.try_get::<String, _>("tenant_id").map_err(db_err)?, "tenant_id")?,
                    name: row.try_get("name").map_err(db_err)?,
                    kind: parse(&row.try_get::<String, _>("kind").map_err(db_err)?, "kind")?,
                    redirect_uris: from_json_list(&row.try_get::<String, _>("redirect_uris").map_err(db_err)?)?,
                    identifier_uri: row.try_get("identifier_uri").map_err(db_err)?,
                    optional_claims: from_json_list(&row.try_get::<String, _>("optional_claims").map_err(db_err)?)?,
                    native_auth: row.try_get("native_auth").map_err(db_err)?,
                    cors_origins: from_json_list(&row.try_get::<String, _>("cors_origins").map_err(db_err)?)?,
                    api: serde_json::from_str(&row.try_get::<String, _>("api").map_err(db_err)?)
                        .map_err(|e| StoreError::Backend(format!("unreadable API definition: {e}")))?,
                    assignment_required: row.try_get("assignment_required").map_err(db_err)?,
                    access_token_lifetime_secs: row.try_get("access_token_lifetime").map_err(db_err)?,
                    refresh_token_lifetime_secs: row.try_get("refresh_token_lifetime").map_err(db_err)?,
                    client_keys: serde_json::from_str(&row.try_get::<String, _>("client_keys").map_err(db_err)?)
                        .map_err(|e| StoreError::Backend(format!("unreadable client keys: {e}")))?,
                    implicit: parse(&row.try_get::<String, _>("implicit").map_err(db_err)?, "implicit")?,
                    device_code: row.try_get("device_code").map_err(db_err)?,
                    require_par: row.try_get("require_par").map_err(db_err)?,
                    require_dpop: row.try_get("require_dpop").map_err(db_err)?,
                    groups_claim: parse(&row.try_get::<String, _>("groups_claim").map_err(db_err)?, "groups_claim")?,
                    claim_mappings: serde_json::from_str(&row.try_get::<String, _>("claim_mappings").map_err(db_err)?)
                        .map_err(|e| StoreError::Backend(format!("unreadable claim mappings: {e}")))?,
                    logout: LogoutUris {
                        backchannel: row.try_get("backchannel_logout_uri").map_err(db_err)?,
                        frontchannel: row.try_get("frontchannel_logout_uri").map_err(db_err)?,
                    },
                    created_at: row.try_get("created_at").map_err(db_err)?,
                })
            }
        }

        impl $store {
            /// Inserts an application and its first secret inside the caller's transaction.
            pub(crate) async fn insert_application(
                tx: &mut sqlx::Transaction<'_, <$row as sqlx::Row>::Database>,
                app: &Application,
                secret: Option<&ClientSecretRecord>,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO applications (client_id, tenant_id, name, kind, redirect_uris, identifier_uri, created_at, \
                     optional_claims, native_auth, cors_origins, api, assignment_required, access_token_lifetime, \
                     refresh_token_lifetime, client_keys, implicit, device_code, require_par, backchannel_logout_uri, \
                     frontchannel_logout_uri, require_dpop, groups_claim, claim_mappings) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)",
                )
                .bind(app.client_id.to_string())
                .bind(app.tenant_id.to_string())
                .bind(&app.name)
                .bind(app.kind.as_str())
                .bind(to_json_list(&app.redirect_uris)?)
                .bind(&app.identifier_uri)
                .bind(app.created_at)
                .bind(to_json_list(&app.optional_claims)?)
                .bind(app.native_auth)
                .bind(to_json_list(&app.cors_origins)?)
                .bind(api_json(app)?)
                .bind(app.assignment_required)
                .bind(app.access_token_lifetime_secs)
                .bind(app.refresh_token_lifetime_secs)
                .bind(keys_json(app)?)
                .bind(app.implicit.as_str())
                .bind(app.device_code)
                .bind(app.require_par)
                .bind(&app.logout.backchannel)
                .bind(&app.logout.frontchannel)
                .bind(app.require_dpop)
                .bind(app.groups_claim.as_str())
                .bind(mappings_json(app)?)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
                if let Some(secret) = secret {
                    Self::insert_client_secret(&mut **tx, secret).await?;
                }
                Ok(())
            }
        }

        #[async_trait]
        impl AppStore for $store {
            async fn create_application(&self, app: &Application, secret: Option<&ClientSecretRecord>) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::insert_application(&mut tx, app, secret).await?;
                tx.commit().await.map_err(db_err)
            }

            async fn client_secrets(&self, tenant: TenantId, client_id: ClientId) -> Result<Vec<ClientSecretRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, secret_digest, hint, created_at, expires_at FROM client_secrets \
                     WHERE tenant_id = $1 AND client_id = $2 ORDER BY created_at, id",
                )
                .bind(tenant.to_string())
                .bind(client_id.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter()
                    .map(|row| {
                        Ok(ClientSecretRecord {
                            tenant_id: tenant,
                            client_id,
                            id: row.try_get("id").map_err(db_err)?,
                            secret_digest: row.try_get("secret_digest").map_err(db_err)?,
                            hint: row.try_get("hint").map_err(db_err)?,
                            created_at: row.try_get("created_at").map_err(db_err)?,
                            expires_at: row.try_get("expires_at").map_err(db_err)?,
                        })
                    })
                    .collect()
            }

            async fn add_client_secret(&self, secret: &ClientSecretRecord) -> Result<(), StoreError> {
                Self::insert_client_secret(&self.pool, secret).await
            }

            async fn record_client_assertion(
                &self,
                tenant: TenantId,
                client_id: ClientId,
                jti: &str,
                expires_at: UnixTime,
            ) -> Result<bool, StoreError> {
                let inserted = sqlx::query(
                    "INSERT INTO client_assertions (tenant_id, client_id, jti, expires_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (tenant_id, client_id, jti) DO NOTHING",
                )
                .bind(tenant.to_string())
                .bind(client_id.to_string())
                .bind(jti)
                .bind(expires_at)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(inserted.rows_affected() == 1)
            }

            async fn record_dpop_proof(
                &self,
                tenant: TenantId,
                jkt: &str,
                jti: &str,
                expires_at: UnixTime,
            ) -> Result<bool, StoreError> {
                let inserted = sqlx::query(
                    "INSERT INTO dpop_proofs (tenant_id, jkt, jti, expires_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (tenant_id, jkt, jti) DO NOTHING",
                )
                .bind(tenant.to_string())
                .bind(jkt)
                .bind(jti)
                .bind(expires_at)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(inserted.rows_affected() == 1)
            }

            async fn remove_client_secret(&self, tenant: TenantId, client_id: ClientId, id: &str) -> Result<bool, StoreError> {
                let removed = sqlx::query("DELETE FROM client_secrets WHERE tenant_id = $1 AND client_id = $2 AND id = $3")
                    .bind(tenant.to_string())
                    .bind(client_id.to_string())
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(removed.rows_affected() == 1)
            }

            async fn find_application(
                &self,
                tenant: TenantId,
                client_id: ClientId,
            ) -> Result<Option<Application>, StoreError> {
                let sql = concat!("SELECT ", app_columns!(), " FROM applications WHERE tenant_id = $1 AND client_id = $2");
                sqlx::query(sql)
                    .bind(tenant.to_string())
                    .bind(client_id.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?
                    .map(|row| Self::application(&row))
                    .transpose()
            }

            async fn applications(&self, tenant: TenantId) -> Result<Vec<Application>, StoreError> {
                self.tenant_apps(tenant, concat!("SELECT ", app_columns!(),
                    " FROM applications WHERE tenant_id = $1 ORDER BY created_at, client_id")).await
            }

            async fn update_application(&self, app: &Application) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                let updated = sqlx::query(
                    "UPDATE applications SET name = $3, redirect_uris = $4, optional_claims = $5, native_auth = $6, \
                     cors_origins = $7, identifier_uri = $8, api = $9, assignment_required = $10, \
                     access_token_lifetime = $11, refresh_token_lifetime = $12, client_keys = $13, implicit = $14, device_code = $15, require_par = $16, \
                     backchannel_logout_uri = $17, frontchannel_logout_uri = $18, require_dpop = $19, groups_claim = $20, claim_mappings = $21 \
                     WHERE tenant_id = $1 AND client_id = $2",
                )
                .bind(app.tenant_id.to_string())
                .bind(app.client_id.to_string())
                .bind(&app.name)
                .bind(to_json_list(&app.redirect_uris)?)
                .bind(to_json_list(&app.optional_claims)?)
                .bind(app.native_auth)
                .bind(to_json_list(&app.cors_origins)?)
                .bind(&app.identifier_uri)
                .bind(api_json(app)?)
                .bind(app.assignment_required)
                .bind(app.access_token_lifetime_secs)
                .bind(app.refresh_token_lifetime_secs)
                .bind(keys_json(app)?)
                .bind(app.implicit.as_str())
                .bind(app.device_code)
                .bind(app.require_par)
                .bind(&app.logout.backchannel)
                .bind(&app.logout.frontchannel)
                .bind(app.require_dpop)
                .bind(app.groups_claim.as_str())
                .bind(mappings_json(app)?)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                if updated.rows_affected() == 0 {
                    return Err(StoreError::NotFound("application"));
                }
                Self::prune_api_permissions(&mut tx, app).await?;
                tx.commit().await.map_err(db_err)
            }

            async fn delete_application(&self, tenant: TenantId, client_id: ClientId) -> Result<bool, StoreError> {
                let mut tx = self.begin_write().await?;
                // Its grants go with it (their codes and refresh tokens by cascade), and its
                // place in a user flow (by cascade).
                sqlx::query("DELETE FROM grants WHERE tenant_id = $1 AND client_id = $2")
                    .bind(tenant.to_string())
                    .bind(client_id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let deleted = sqlx::query("DELETE FROM applications WHERE tenant_id = $1 AND client_id = $2")
                    .bind(tenant.to_string())
                    .bind(client_id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?
                    .rows_affected();
                tx.commit().await.map_err(db_err)?;
                Ok(deleted == 1)
            }

            async fn browser_apps(&self, tenant: TenantId) -> Result<Vec<Application>, StoreError> {
                self.tenant_apps(tenant, concat!("SELECT ", app_columns!(),
                    " FROM applications WHERE tenant_id = $1 AND (native_auth = TRUE OR kind = 'spa') ORDER BY client_id")).await
            }

            async fn find_application_by_identifier_uri(
                &self,
                tenant: TenantId,
                identifier_uri: &str,
            ) -> Result<Option<Application>, StoreError> {
                let sql = concat!("SELECT ", app_columns!(), " FROM applications WHERE tenant_id = $1 AND identifier_uri = $2");
                sqlx::query(sql)
                    .bind(tenant.to_string())
                    .bind(identifier_uri)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?
                    .map(|row| Self::application(&row))
                    .transpose()
            }

            async fn create_user_flow(&self, flow: &UserFlow) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::insert_user_flow(&mut tx, flow).await?;
                tx.commit().await.map_err(db_err)
            }

            async fn user_flows(&self, tenant: TenantId) -> Result<Vec<UserFlow>, StoreError> {
                // One statement, so one snapshot: two reads could see an app moved to a flow
                // the first read did not see yet, and the app would be served by the default
                // flow (cached then, for the cache's lifetime).
                let rows = sqlx::query(
                    "SELECT f.id, f.name, f.config, f.is_default, f.created_at, a.client_id \
                     FROM user_flows f LEFT JOIN user_flow_apps a ON a.tenant_id = f.tenant_id AND a.flow_id = f.id \
                     WHERE f.tenant_id = $1 ORDER BY f.is_default DESC, f.name, f.id, a.client_id",
                )
                .bind(tenant.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                let mut flows: Vec<UserFlow> = Vec::new();
                for row in &rows {
                    let id = parse(&row.try_get::<String, _>("id").map_err(db_err)?, "id")?;
                    if flows.last().is_none_or(|flow| flow.id != id) {
                        let config: UserFlowConfig = serde_json::from_str(&row.try_get::<String, _>("config").map_err(db_err)?)
                            .map_err(|e| StoreError::Backend(format!("unreadable flow config: {e}")))?;
                        flows.push(UserFlow {
                            id,
                            tenant_id: tenant,
                            name: row.try_get("name").map_err(db_err)?,
                            config,
                            is_default: row.try_get("is_default").map_err(db_err)?,
                            apps: Vec::new(),
                            created_at: row.try_get("created_at").map_err(db_err)?,
                        });
                    }
                    if let (Some(flow), Some(app)) = (flows.last_mut(), row.try_get::<Option<String>, _>("client_id").map_err(db_err)?) {
                        flow.apps.push(parse(&app, "client_id")?);
                    }
                }
                Ok(flows)
            }
        }
    };
}

apps_queries!(SqliteStore, sqlx::sqlite::SqliteRow);
apps_queries!(PgStore, sqlx::postgres::PgRow);
