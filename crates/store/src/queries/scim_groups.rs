//! Groups and their members: each change one transaction with its audit entry; members read
//! for a whole page in one query, and a user's groups (nested ones too) in one recursive query.

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::clock::UnixTime;
use portico_core::ids::{ClientId, TenantId, UserId};
use portico_core::store::{
    AuditEntry, GroupChange, GroupRecord, GroupRoleAssignment, GroupStore, Member, MemberKind,
    MembersChange, ScimQuery, UserGroup,
};
use sqlx::Row as _;

use super::placeholders;
use crate::filter_sql::{Dialect, Table, order_by, where_clause};
use crate::rows::parse;
use crate::{PgStore, SqliteStore, db_err};

macro_rules! group_columns {
    () => {
        "r.tenant_id, r.id, r.display_name, r.external_id, r.created_at, r.updated_at, r.version"
    };
}

fn kind(text: &str) -> MemberKind {
    if text == "Group" {
        MemberKind::Group
    } else {
        MemberKind::User
    }
}

macro_rules! scim_groups_queries {
    ($store:ty, $row:ty, $dialect:expr) => {
        impl $store {
            fn group_row(row: &$row) -> Result<GroupRecord, StoreError> {
                Ok(GroupRecord {
                    tenant_id: parse(&row.try_get::<String, _>("tenant_id").map_err(db_err)?, "tenant_id")?,
                    id: row.try_get("id").map_err(db_err)?,
                    display_name: row.try_get("display_name").map_err(db_err)?,
                    external_id: row.try_get("external_id").map_err(db_err)?,
                    members: Vec::new(),
                    created_at: row.try_get("created_at").map_err(db_err)?,
                    updated_at: row.try_get("updated_at").map_err(db_err)?,
                    version: row.try_get("version").map_err(db_err)?,
                })
            }

            /// Fills in the members of these groups, in one query.
            async fn load_members(&self, tenant: TenantId, groups: &mut [GroupRecord]) -> Result<(), StoreError> {
                if groups.is_empty() {
                    return Ok(());
                }
                let sql = format!(
                    "SELECT m.group_id, m.member_id, m.member_type, COALESCE(u.display_name, u.email, g.display_name) AS display \
                     FROM group_members m \
                     LEFT JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.member_id AND m.member_type = 'User' \
                     LEFT JOIN directory_groups g ON g.tenant_id = m.tenant_id AND g.id = m.member_id AND m.member_type = 'Group' \
                     WHERE m.tenant_id = $1 AND m.group_id IN ({}) ORDER BY m.group_id, m.member_id",
                    placeholders(2, groups.len())
                );
                // Built from fixed text and numbered placeholders; the ids are bound.
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.to_string());
                for group in groups.iter() {
                    query = query.bind(group.id.clone());
                }
                let rows = query.fetch_all(&self.pool).await.map_err(db_err)?;
                for row in &rows {
                    let group_id: String = row.try_get("group_id").map_err(db_err)?;
                    let member = Member {
                        id: row.try_get("member_id").map_err(db_err)?,
                        kind: kind(&row.try_get::<String, _>("member_type").map_err(db_err)?),
                        display: row.try_get("display").map_err(db_err)?,
                    };
                    if let Some(group) = groups.iter_mut().find(|g| g.id == group_id) {
                        group.members.push(member);
                    }
                }
                Ok(())
            }

            /// Adds members inside the caller's transaction; the kind is what the id is in
            /// this tenant, and an id that is neither a user nor a group is NotFound.
            async fn insert_members(
                tx: &mut sqlx::Transaction<'_, <$row as sqlx::Row>::Database>,
                tenant: TenantId,
                group: &str,
                members: &[Member],
            ) -> Result<(), StoreError> {
                for member in members {
                    if member.id == group {
                        return Err(StoreError::Conflict("group containing itself"));
                    }
                    sqlx::query(
                        "INSERT INTO group_members (tenant_id, group_id, member_id, member_type) \
                         SELECT $1, CAST($2 AS TEXT), $3, CASE \
                           WHEN EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND id = $3) THEN 'User' \
                           WHEN EXISTS (SELECT 1 FROM directory_groups WHERE tenant_id = $1 AND id = $3) THEN 'Group' \
                           ELSE '' END \
                         WHERE 1 = 1 ON CONFLICT DO NOTHING",
                    )
                    .bind(tenant.to_string())
                    .bind(group)
                    .bind(&member.id)
                    .execute(&mut **tx)
                    .await
                    .map_err(db_err)?;
                }
                let unknown: Option<String> = sqlx::query_scalar(
                    "SELECT member_id FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND member_type = '' LIMIT 1",
                )
                .bind(tenant.to_string())
                .bind(group)
                .fetch_optional(&mut **tx)
                .await
                .map_err(db_err)?;
                match unknown {
                    Some(_) => Err(StoreError::NotFound("member")),
                    None => Ok(()),
                }
            }
        }

        #[async_trait]
        impl GroupStore for $store {
            async fn create_group(&self, group: &GroupRecord, audit: &AuditEntry) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO directory_groups (tenant_id, id, display_name, external_id, created_at, updated_at, version) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(group.tenant_id.to_string())
                .bind(&group.id)
                .bind(&group.display_name)
                .bind(&group.external_id)
                .bind(group.created_at)
                .bind(group.updated_at)
                .bind(group.version)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                Self::insert_members(&mut tx, group.tenant_id, &group.id, &group.members).await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await.map_err(db_err)
            }

            async fn group(&self, tenant: TenantId, id: &str, members: bool) -> Result<Option<GroupRecord>, StoreError> {
                let sql = concat!("SELECT ", group_columns!(), " FROM directory_groups r WHERE r.tenant_id = $1 AND r.id = $2");
                let row = sqlx::query(sql)
                    .bind(tenant.to_string())
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                let Some(row) = row else { return Ok(None) };
                let mut groups = [Self::group_row(&row)?];
                if members {
                    self.load_members(tenant, &mut groups).await?;
                }
                let [group] = groups;
                Ok(Some(group))
            }

            async fn groups(&self, tenant: TenantId, query: &ScimQuery, members: bool) -> Result<(u64, Vec<GroupRecord>), StoreError> {
                let (condition, binds) = match &query.filter {
                    Some(filter) => {
                        let sql = where_clause($dialect, Table::Groups, filter, 2)?;
                        (sql.text, sql.binds)
                    }
                    None => ("1 = 1".to_owned(), Vec::new()),
                };
                // Built from fixed fragments; every value is bound.
                let count_sql = format!("SELECT COUNT(*) FROM directory_groups r WHERE r.tenant_id = $1 AND {condition}");
                let total: i64 = bind_all!(
                    sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql)).bind(tenant.to_string()),
                    &binds
                )
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                let total = u64::try_from(total).unwrap_or_default();
                if query.limit == 0 || query.offset >= total {
                    return Ok((total, Vec::new()));
                }
                let page_sql = format!(
                    concat!("SELECT ", group_columns!(), " FROM directory_groups r WHERE r.tenant_id = $1 AND {} ORDER BY {} LIMIT {} OFFSET {}"),
                    condition,
                    order_by($dialect, Table::Groups, query.sort.as_ref(), query.descending)?,
                    query.limit,
                    query.offset,
                );
                let rows = bind_all!(sqlx::query(sqlx::AssertSqlSafe(page_sql)).bind(tenant.to_string()), &binds)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                let mut groups = rows.iter().map(|row| Self::group_row(row)).collect::<Result<Vec<_>, _>>()?;
                if members {
                    self.load_members(tenant, &mut groups).await?;
                }
                Ok((total, groups))
            }

            async fn change_group(&self, change: &GroupChange, audit: &AuditEntry) -> Result<i64, StoreError> {
                let tenant = change.tenant_id;
                let mut tx = self.begin_write().await?;
                let version: Option<i64> = sqlx::query_scalar(
                    "UPDATE directory_groups SET display_name = $3, external_id = $4, updated_at = $5, version = version + 1 \
                     WHERE tenant_id = $1 AND id = $2 AND ($6 IS NULL OR version = $6) RETURNING version",
                )
                .bind(tenant.to_string())
                .bind(&change.id)
                .bind(&change.display_name)
                .bind(&change.external_id)
                .bind(change.at)
                .bind(change.expected)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
                let Some(version) = version else {
                    let exists: Option<i64> = sqlx::query_scalar("SELECT version FROM directory_groups WHERE tenant_id = $1 AND id = $2")
                        .bind(tenant.to_string())
                        .bind(&change.id)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    return Err(match exists {
                        Some(_) => StoreError::Contended,
                        None => StoreError::NotFound("group"),
                    });
                };
                let remove_all = "DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2";
                match &change.members {
                    MembersChange::Keep => {}
                    MembersChange::Replace(members) => {
                        sqlx::query(remove_all)
                            .bind(tenant.to_string())
                            .bind(&change.id)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                        Self::insert_members(&mut tx, tenant, &change.id, members).await?;
                    }
                    MembersChange::Edit { add, remove } => {
                        for id in remove {
                            sqlx::query("DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND member_id = $3")
                                .bind(tenant.to_string())
                                .bind(&change.id)
                                .bind(id)
                                .execute(&mut *tx)
                                .await
                                .map_err(db_err)?;
                        }
                        Self::insert_members(&mut tx, tenant, &change.id, add).await?;
                    }
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(version)
            }

            async fn delete_group(&self, tenant: TenantId, id: &str, expected: Option<i64>, audit: &AuditEntry) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                let version: Option<i64> = sqlx::query_scalar("SELECT version FROM directory_groups WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.to_string())
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                match (version, expected) {
                    (None, _) => return Err(StoreError::NotFound("group")),
                    (Some(v), Some(e)) if v != e => return Err(StoreError::Contended),
                    _ => {}
                }
                for sql in [
                    "DELETE FROM group_members WHERE tenant_id = $1 AND member_id = $2",
                    "DELETE FROM directory_groups WHERE tenant_id = $1 AND id = $2",
                ] {
                    sqlx::query(sql)
                        .bind(tenant.to_string())
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await.map_err(db_err)
            }

            async fn assign_group_role(&self, tenant: TenantId, assignment: &GroupRoleAssignment, at: UnixTime) -> Result<(), StoreError> {
                let inserted = sqlx::query(
                    "INSERT INTO group_role_assignments (tenant_id, api_client_id, group_id, role, created_at) \
                     SELECT $1, $2, id, $4, $5 FROM directory_groups WHERE tenant_id = $1 AND id = $3 \
                     ON CONFLICT DO NOTHING",
                )
                .bind(tenant.to_string())
                .bind(assignment.api_client_id.to_string())
                .bind(&assignment.group_id)
                .bind(&assignment.role)
                .bind(at)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                if inserted.rows_affected() == 0 && self.group(tenant, &assignment.group_id, false).await?.is_none() {
                    return Err(StoreError::NotFound("group"));
                }
                Ok(())
            }

            async fn unassign_group_role(&self, tenant: TenantId, assignment: &GroupRoleAssignment) -> Result<bool, StoreError> {
                let result = sqlx::query(
                    "DELETE FROM group_role_assignments WHERE tenant_id = $1 AND api_client_id = $2 AND group_id = $3 AND role = $4",
                )
                .bind(tenant.to_string())
                .bind(assignment.api_client_id.to_string())
                .bind(&assignment.group_id)
                .bind(&assignment.role)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(result.rows_affected() > 0)
            }

            async fn group_role_assignments(&self, tenant: TenantId, api_client_id: ClientId) -> Result<Vec<GroupRoleAssignment>, StoreError> {
                let rows = sqlx::query(
                    "SELECT group_id, role FROM group_role_assignments WHERE tenant_id = $1 AND api_client_id = $2 ORDER BY role, group_id",
                )
                .bind(tenant.to_string())
                .bind(api_client_id.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter()
                    .map(|row| {
                        Ok(GroupRoleAssignment {
                            api_client_id,
                            group_id: row.try_get("group_id").map_err(db_err)?,
                            role: row.try_get("role").map_err(db_err)?,
                        })
                    })
                    .collect()
            }

            async fn groups_of_users(&self, tenant: TenantId, users: &[UserId]) -> Result<Vec<UserGroup>, StoreError> {
                if users.is_empty() {
                    return Ok(Vec::new());
                }
                // UNION (not UNION ALL) ends the recursion even if groups contain each other.
                let sql = format!(
                    "WITH RECURSIVE memberships (user_id, group_id, direct) AS ( \
                       SELECT member_id, group_id, 1 FROM group_members \
                       WHERE tenant_id = $1 AND member_type = 'User' AND member_id IN ({}) \
                       UNION \
                       SELECT ms.user_id, gm.group_id, 0 FROM memberships ms \
                       JOIN group_members gm ON gm.tenant_id = $1 AND gm.member_id = ms.group_id AND gm.member_type = 'Group' \
                     ) \
                     SELECT ms.user_id, ms.group_id, g.display_name, (MAX(ms.direct) = 1) AS direct \
                     FROM memberships ms JOIN directory_groups g ON g.tenant_id = $1 AND g.id = ms.group_id \
                     GROUP BY ms.user_id, ms.group_id, g.display_name ORDER BY ms.user_id, g.display_name, ms.group_id",
                    placeholders(2, users.len())
                );
                // Built from fixed text and numbered placeholders; the ids are bound.
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.to_string());
                for user in users {
                    query = query.bind(user.to_string());
                }
                let rows = query.fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter()
                    .map(|row| {
                        Ok(UserGroup {
                            user: parse(&row.try_get::<String, _>("user_id").map_err(db_err)?, "user_id")?,
                            group: row.try_get("group_id").map_err(db_err)?,
                            display_name: row.try_get("display_name").map_err(db_err)?,
                            direct: row.try_get("direct").map_err(db_err)?,
                        })
                    })
                    .collect()
            }
        }
    };
}

scim_groups_queries!(SqliteStore, sqlx::sqlite::SqliteRow, Dialect::Sqlite);
scim_groups_queries!(PgStore, sqlx::postgres::PgRow, Dialect::Postgres);
