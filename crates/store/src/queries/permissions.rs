//! Permission grants (admin consent) and role assignments.

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::directory::Application;
use portico_core::ids::{ClientId, TenantId, UserId};
use portico_core::store::{
    PermissionGrant, PermissionKind, PermissionStore, RoleAssignment, UserConsent,
};
use sqlx::Row as _;

use crate::rows::parse;
use crate::{PgStore, SqliteStore, db_err};

macro_rules! permissions_queries {
    ($store:ty, $row:ty) => {
        impl $store {
            /// Inside the caller's transaction (an app's change), removes what was granted,
            /// assigned or consented on the app as an API that its new definition no longer
            /// allows: scopes it does not expose (for consents: or no longer lets users
            /// consent to), roles it does not define or no longer
            /// allows for apps (grants) or for users (assignments). Without this, a scope or
            /// role defined again later, perhaps with another meaning, would come back with
            /// the old grants.
            pub(crate) async fn prune_api_permissions(
                tx: &mut sqlx::Transaction<'_, <$row as sqlx::Row>::Database>,
                app: &Application,
            ) -> Result<(), StoreError> {
                let tenant = app.tenant_id.to_string();
                let api = app.client_id.to_string();
                let rows = sqlx::query(
                    "SELECT client_id, kind, name FROM permission_grants WHERE tenant_id = $1 AND api_client_id = $2",
                )
                .bind(&tenant)
                .bind(&api)
                .fetch_all(&mut **tx)
                .await
                .map_err(db_err)?;
                for row in rows {
                    let client: String = row.try_get("client_id").map_err(db_err)?;
                    let kind: String = row.try_get("kind").map_err(db_err)?;
                    let name: String = row.try_get("name").map_err(db_err)?;
                    let allowed = match PermissionKind::parse(&kind) {
                        Some(PermissionKind::Scope) => app.api.scope(&name).is_some(),
                        Some(PermissionKind::Role) => app.api.role(&name).is_some_and(|r| r.allowed.apps()),
                        None => false,
                    };
                    if !allowed {
                        sqlx::query(
                            "DELETE FROM permission_grants WHERE tenant_id = $1 AND api_client_id = $2 \
                             AND client_id = $3 AND kind = $4 AND name = $5",
                        )
                        .bind(&tenant)
                        .bind(&api)
                        .bind(&client)
                        .bind(&kind)
                        .bind(&name)
                        .execute(&mut **tx)
                        .await
                        .map_err(db_err)?;
                    }
                }
                let roles = sqlx::query(
                    "SELECT DISTINCT role FROM role_assignments WHERE tenant_id = $1 AND api_client_id = $2",
                )
                .bind(&tenant)
                .bind(&api)
                .fetch_all(&mut **tx)
                .await
                .map_err(db_err)?;
                for row in roles {
                    let role: String = row.try_get("role").map_err(db_err)?;
                    if !app.api.role(&role).is_some_and(|r| r.allowed.users()) {
                        sqlx::query("DELETE FROM role_assignments WHERE tenant_id = $1 AND api_client_id = $2 AND role = $3")
                            .bind(&tenant)
                            .bind(&api)
                            .bind(&role)
                            .execute(&mut **tx)
                            .await
                            .map_err(db_err)?;
                    }
                }
                let scopes = sqlx::query(
                    "SELECT DISTINCT scope FROM user_consents WHERE tenant_id = $1 AND api_client_id = $2",
                )
                .bind(&tenant)
                .bind(&api)
                .fetch_all(&mut **tx)
                .await
                .map_err(db_err)?;
                for row in scopes {
                    let scope: String = row.try_get("scope").map_err(db_err)?;
                    if !app.api.user_consentable(&scope) {
                        sqlx::query("DELETE FROM user_consents WHERE tenant_id = $1 AND api_client_id = $2 AND scope = $3")
                            .bind(&tenant)
                            .bind(&api)
                            .bind(&scope)
                            .execute(&mut **tx)
                            .await
                            .map_err(db_err)?;
                    }
                }
                Ok(())
            }
        }

        #[async_trait]
        impl PermissionStore for $store {
            async fn grant_permissions(&self, grants: &[PermissionGrant]) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                for grant in grants {
                    sqlx::query(
                        "INSERT INTO permission_grants (tenant_id, client_id, api_client_id, kind, name, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (tenant_id, client_id, api_client_id, kind, name) DO NOTHING",
                    )
                    .bind(grant.tenant_id.to_string())
                    .bind(grant.client_id.to_string())
                    .bind(grant.api_client_id.to_string())
                    .bind(grant.kind.as_str())
                    .bind(&grant.name)
                    .bind(grant.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)
            }

            async fn permission_grants(&self, tenant: TenantId, client_id: ClientId) -> Result<Vec<PermissionGrant>, StoreError> {
                let rows = sqlx::query(
                    "SELECT api_client_id, kind, name, created_at FROM permission_grants \
                     WHERE tenant_id = $1 AND client_id = $2 ORDER BY created_at, api_client_id, kind, name",
                )
                .bind(tenant.to_string())
                .bind(client_id.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter()
                    .map(|row| {
                        let kind: String = row.try_get("kind").map_err(db_err)?;
                        Ok(PermissionGrant {
                            tenant_id: tenant,
                            client_id,
                            api_client_id: parse(&row.try_get::<String, _>("api_client_id").map_err(db_err)?, "api_client_id")?,
                            kind: PermissionKind::parse(&kind)
                                .ok_or_else(|| StoreError::Backend("unreadable value in column kind".into()))?,
                            name: row.try_get("name").map_err(db_err)?,
                            created_at: row.try_get("created_at").map_err(db_err)?,
                        })
                    })
                    .collect()
            }

            async fn revoke_permission_grant(
                &self,
                tenant: TenantId,
                client_id: ClientId,
                api_client_id: ClientId,
                kind: PermissionKind,
                name: &str,
            ) -> Result<bool, StoreError> {
                let revoked = sqlx::query(
                    "DELETE FROM permission_grants WHERE tenant_id = $1 AND client_id = $2 AND api_client_id = $3 \
                     AND kind = $4 AND name = $5",
                )
                .bind(tenant.to_string())
                .bind(client_id.to_string())
                .bind(api_client_id.to_string())
                .bind(kind.as_str())
                .bind(name)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(revoked.rows_affected() == 1)
            }

            async fn assign_role(&self, assignment: &RoleAssignment) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO role_assignments (tenant_id, api_client_id, user_id, role, created_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, api_client_id, user_id, role) DO NOTHING",
                )
                .bind(assignment.tenant_id.to_string())
                .bind(assignment.api_client_id.to_string())
                .bind(assignment.user_id.to_string())
                .bind(&assignment.role)
                .bind(assignment.created_at)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn unassign_role(&self, tenant: TenantId, api_client_id: ClientId, user: UserId, role: &str) -> Result<bool, StoreError> {
                let removed = sqlx::query(
                    "DELETE FROM role_assignments WHERE tenant_id = $1 AND api_client_id = $2 AND user_id = $3 AND role = $4",
                )
                .bind(tenant.to_string())
                .bind(api_client_id.to_string())
                .bind(user.to_string())
                .bind(role)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(removed.rows_affected() == 1)
            }

            async fn role_assignments(
                &self,
                tenant: TenantId,
                api_client_id: ClientId,
            ) -> Result<Vec<RoleAssignment>, StoreError> {
                let rows = sqlx::query(
                    "SELECT role, user_id, created_at FROM role_assignments \
                     WHERE tenant_id = $1 AND api_client_id = $2",
                )
                .bind(tenant.to_string())
                .bind(api_client_id.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                let mut assignments = rows
                    .iter()
                    .map(|row| {
                        Ok(RoleAssignment {
                            tenant_id: tenant,
                            api_client_id,
                            role: row.try_get("role").map_err(db_err)?,
                            user_id: parse(&row.try_get::<String, _>("user_id").map_err(db_err)?, "user_id")?,
                            created_at: row.try_get("created_at").map_err(db_err)?,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                // Sorted here, byte-wise: SQLite and PostgreSQL collate text differently.
                assignments.sort_by(|a, b| (&a.role, a.user_id.to_string()).cmp(&(&b.role, b.user_id.to_string())));
                Ok(assignments)
            }

            async fn user_roles(&self, tenant: TenantId, api_client_id: ClientId, user: UserId) -> Result<Vec<String>, StoreError> {
                // The user's own roles, and those of every group it is in, directly or nested.
                let rows = sqlx::query(
                    "WITH RECURSIVE member_of (group_id) AS ( \
                       SELECT group_id FROM group_members WHERE tenant_id = $1 AND member_id = $3 AND member_type = 'User' \
                       UNION \
                       SELECT gm.group_id FROM member_of mo JOIN group_members gm \
                         ON gm.tenant_id = $1 AND gm.member_id = mo.group_id AND gm.member_type = 'Group' \
                     ) \
                     SELECT role FROM role_assignments WHERE tenant_id = $1 AND api_client_id = $2 AND user_id = $3 \
                     UNION \
                     SELECT role FROM group_role_assignments WHERE tenant_id = $1 AND api_client_id = $2 \
                       AND group_id IN (SELECT group_id FROM member_of) \
                     ORDER BY role",
                )
                .bind(tenant.to_string())
                .bind(api_client_id.to_string())
                .bind(user.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter().map(|row| row.try_get("role").map_err(db_err)).collect()
            }

            async fn user_consents(
                &self,
                tenant: TenantId,
                user: UserId,
                client_id: Option<ClientId>,
            ) -> Result<Vec<UserConsent>, StoreError> {
                let rows = sqlx::query(
                    "SELECT client_id, api_client_id, scope, created_at FROM user_consents \
                     WHERE tenant_id = $1 AND user_id = $2 AND (CAST($3 AS TEXT) IS NULL OR client_id = $3) \
                     ORDER BY created_at, client_id, api_client_id, scope",
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
                .bind(client_id.map(|c| c.to_string()))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter()
                    .map(|row| {
                        Ok(UserConsent {
                            tenant_id: tenant,
                            user_id: user,
                            client_id: parse(&row.try_get::<String, _>("client_id").map_err(db_err)?, "client_id")?,
                            api_client_id: parse(&row.try_get::<String, _>("api_client_id").map_err(db_err)?, "api_client_id")?,
                            scope: row.try_get("scope").map_err(db_err)?,
                            created_at: row.try_get("created_at").map_err(db_err)?,
                        })
                    })
                    .collect()
            }

            async fn revoke_user_consents(
                &self,
                tenant: TenantId,
                user: UserId,
                client_id: Option<ClientId>,
            ) -> Result<u64, StoreError> {
                let revoked = sqlx::query(
                    "DELETE FROM user_consents WHERE tenant_id = $1 AND user_id = $2 AND (CAST($3 AS TEXT) IS NULL OR client_id = $3)",
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
                .bind(client_id.map(|c| c.to_string()))
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(revoked.rows_affected())
            }
        }
    };
}

permissions_queries!(SqliteStore, sqlx::sqlite::SqliteRow);
permissions_queries!(PgStore, sqlx::postgres::PgRow);
