//! SCIM's view of users, filtered in SQL, and the audit log of provisioning changes.

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::clock::UnixTime;
use portico_core::ids::{TenantId, UserId};
use portico_core::store::{AuditEntry, ScimQuery, ScimUserRecord, ScimUserStore};
use sqlx::Row as _;

use super::SignOut;
use super::json_text;
use crate::filter_sql::{Dialect, Table, order_by, where_clause};
use crate::rows::parse;
use crate::{PgStore, SqliteStore, db_err};

macro_rules! scim_user_columns {
    () => {
        concat!(user_columns!(), ", external_id, scim, version, updated_at")
    };
}

/// The user tables without a foreign key to `users`, cleared by hand when a user goes.
const USER_LEFTOVERS: [&str; 6] = [
    "DELETE FROM group_members WHERE tenant_id = $1 AND member_id = $2",
    "DELETE FROM authorization_codes WHERE tenant_id = $1 AND user_id = $2",
    "DELETE FROM refresh_tokens WHERE tenant_id = $1 AND user_id = $2",
    "DELETE FROM second_factor_failures WHERE tenant_id = $1 AND user_id = $2",
    "DELETE FROM phone_verifications WHERE tenant_id = $1 AND user_id = $2",
    "DELETE FROM device_codes WHERE tenant_id = $1 AND user_id = $2",
];

macro_rules! scim_users_queries {
    ($store:ty, $row:ty, $dialect:expr) => {
        impl $store {
            fn scim_user_row(row: &$row) -> Result<ScimUserRecord, StoreError> {
                let user = Self::user(row)?;
                let profile = match serde_json::from_str(&row.try_get::<String, _>("scim").map_err(db_err)?) {
                    Ok(serde_json::Value::Object(map)) => map,
                    _ => return Err(StoreError::Backend("unreadable SCIM document".into())),
                };
                let updated_at: Option<i64> = row.try_get("updated_at").map_err(db_err)?;
                Ok(ScimUserRecord {
                    external_id: row.try_get("external_id").map_err(db_err)?,
                    profile,
                    version: row.try_get("version").map_err(db_err)?,
                    updated_at: updated_at.unwrap_or(user.created_at),
                    user,
                })
            }

            async fn write_scim_fields(
                tx: &mut sqlx::Transaction<'_, <$row as sqlx::Row>::Database>,
                record: &ScimUserRecord,
                expected: Option<i64>,
            ) -> Result<u64, StoreError> {
                let user = &record.user;
                let result = sqlx::query(
                    "UPDATE users SET email = $3, display_name = $4, enabled = $5, attributes = $6, \
                     external_id = $7, scim = $8, version = $9, updated_at = $10 \
                     WHERE tenant_id = $1 AND id = $2 AND ($11 IS NULL OR version = $11)",
                )
                .bind(user.tenant_id.to_string())
                .bind(user.id.to_string())
                .bind(&user.email)
                .bind(&user.display_name)
                .bind(user.enabled)
                .bind(json_text(&user.attributes)?)
                .bind(&record.external_id)
                .bind(json_text(&record.profile)?)
                .bind(record.version)
                .bind(record.updated_at)
                .bind(expected)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
                Ok(result.rows_affected())
            }

            /// NotFound when the user is gone, Contended when only the version moved.
            async fn version_mismatch(
                tx: &mut sqlx::Transaction<'_, <$row as sqlx::Row>::Database>,
                tenant: TenantId,
                user: UserId,
            ) -> StoreError {
                let found: Result<Option<i64>, _> =
                    sqlx::query_scalar("SELECT version FROM users WHERE tenant_id = $1 AND id = $2")
                        .bind(tenant.to_string())
                        .bind(user.to_string())
                        .fetch_optional(&mut **tx)
                        .await;
                match found {
                    Ok(Some(_)) => StoreError::Contended,
                    Ok(None) => StoreError::NotFound("user"),
                    Err(err) => db_err(err),
                }
            }
        }

        #[async_trait]
        impl ScimUserStore for $store {
            async fn scim_user(&self, tenant: TenantId, user: UserId) -> Result<Option<ScimUserRecord>, StoreError> {
                let sql = concat!("SELECT ", scim_user_columns!(), " FROM users WHERE tenant_id = $1 AND id = $2");
                sqlx::query(sql)
                    .bind(tenant.to_string())
                    .bind(user.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?
                    .map(|row| Self::scim_user_row(&row))
                    .transpose()
            }

            async fn scim_users(&self, tenant: TenantId, query: &ScimQuery) -> Result<(u64, Vec<ScimUserRecord>), StoreError> {
                let (condition, binds) = match &query.filter {
                    Some(filter) => {
                        let sql = where_clause($dialect, Table::Users, filter, 2)?;
                        (sql.text, sql.binds)
                    }
                    None => ("1 = 1".to_owned(), Vec::new()),
                };
                let total: i64 = if query.filter.is_none() {
                    // Kept by triggers: no count of every row of a large tenant.
                    sqlx::query_scalar("SELECT users FROM user_counts WHERE tenant_id = $1")
                        .bind(tenant.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?
                        .unwrap_or(0)
                } else {
                    // Built from fixed fragments and checked attribute names; every value is bound.
                    let count_sql = format!("SELECT COUNT(*) FROM users r WHERE r.tenant_id = $1 AND {condition}");
                    bind_all!(
                        sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql)).bind(tenant.to_string()),
                        &binds
                    )
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?
                };
                let total = u64::try_from(total).unwrap_or_default();
                if query.limit == 0 || query.offset >= total {
                    return Ok((total, Vec::new()));
                }
                let page_sql = format!(
                    concat!("SELECT ", scim_user_columns!(), " FROM users r WHERE r.tenant_id = $1 AND {} ORDER BY {} LIMIT {} OFFSET {}"),
                    condition,
                    order_by($dialect, Table::Users, query.sort.as_ref(), query.descending)?,
                    query.limit,
                    query.offset,
                );
                let rows = bind_all!(
                    sqlx::query(sqlx::AssertSqlSafe(page_sql)).bind(tenant.to_string()),
                    &binds
                )
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                let users = rows.iter().map(|row| Self::scim_user_row(row)).collect::<Result<_, _>>()?;
                Ok((total, users))
            }

            async fn create_scim_user(&self, record: &ScimUserRecord, audit: &AuditEntry) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::insert_user(&mut tx, &record.user).await?;
                Self::write_scim_fields(&mut tx, record, None).await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await.map_err(db_err)
            }

            async fn replace_scim_user(
                &self,
                record: &ScimUserRecord,
                expected: i64,
                password: Option<(&str, u32)>,
                audit: &AuditEntry,
            ) -> Result<(), StoreError> {
                let (tenant, user) = (record.user.tenant_id, record.user.id);
                let mut tx = self.begin_write().await?;
                let old_email: Option<String> = sqlx::query_scalar("SELECT email FROM users WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.to_string())
                    .bind(user.to_string())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if Self::write_scim_fields(&mut tx, record, Some(expected)).await? == 0 {
                    return Err(Self::version_mismatch(&mut tx, tenant, user).await);
                }
                let now = record.updated_at;
                // A new sign-in address is a new identity to prove: sessions under the old one end.
                let moved = old_email.as_deref() != Some(record.user.email.as_str());
                if let Some((hash, keep)) = password {
                    Self::write_password(&mut tx, tenant, user, hash, keep, now, SignOut::Next).await?;
                } else if !record.user.enabled || moved {
                    Self::end_user_sessions(&mut tx, tenant, user, now, SignOut::Next).await?;
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await.map_err(db_err)
            }

            async fn delete_scim_user(
                &self,
                tenant: TenantId,
                user: UserId,
                expected: Option<i64>,
                audit: &AuditEntry,
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                let version: Option<i64> =
                    sqlx::query_scalar("SELECT version FROM users WHERE tenant_id = $1 AND id = $2")
                        .bind(tenant.to_string())
                        .bind(user.to_string())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?;
                match (version, expected) {
                    (None, _) => return Err(StoreError::NotFound("user")),
                    (Some(v), Some(e)) if v != e => return Err(StoreError::Contended),
                    _ => {}
                }
                // Signed out first: the apps that listen hear of it, and flows under way stop.
                Self::end_user_sessions(&mut tx, tenant, user, audit.at, SignOut::Next).await?;
                for sql in USER_LEFTOVERS {
                    sqlx::query(sql)
                        .bind(tenant.to_string())
                        .bind(user.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.to_string())
                    .bind(user.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await.map_err(db_err)
            }

            async fn audit_entries(&self, tenant: TenantId, since: UnixTime, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
                let rows = sqlx::query(
                    "SELECT tenant_id, id, at, actor, action, target, detail FROM audit_log \
                     WHERE tenant_id = $1 AND at >= $2 ORDER BY at, id LIMIT $3",
                )
                .bind(tenant.to_string())
                .bind(since)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter()
                    .map(|row| {
                        Ok(AuditEntry {
                            tenant_id: parse(&row.try_get::<String, _>("tenant_id").map_err(db_err)?, "tenant_id")?,
                            id: row.try_get("id").map_err(db_err)?,
                            at: row.try_get("at").map_err(db_err)?,
                            actor: row.try_get("actor").map_err(db_err)?,
                            action: row.try_get("action").map_err(db_err)?,
                            target: row.try_get("target").map_err(db_err)?,
                            detail: serde_json::from_str(&row.try_get::<String, _>("detail").map_err(db_err)?)
                                .map_err(|e| StoreError::Backend(format!("unreadable audit detail: {e}")))?,
                        })
                    })
                    .collect()
            }
        }
    };
}

scim_users_queries!(SqliteStore, sqlx::sqlite::SqliteRow, Dialect::Sqlite);
scim_users_queries!(PgStore, sqlx::postgres::PgRow, Dialect::Postgres);
