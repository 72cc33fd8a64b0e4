//! Browser SSO sessions.

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::clock::UnixTime;
use portico_core::directory::MfaMethod;
use portico_core::ids::{ClientId, SessionId, TenantId, UserId};
use portico_core::outbox::LogoutNotice;
use portico_core::store::SessionRecord;
use portico_core::store::SessionStore;
use sqlx::Row as _;

use crate::queries::queued;
use crate::rows::parse;
use crate::{PgStore, SqliteStore, db_err};

/// Second-factor kinds as stored: their names, space-separated.
fn second_factor_names(kinds: &[MfaMethod]) -> String {
    kinds
        .iter()
        .map(|kind| kind.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

macro_rules! sessions_queries {
    ($store:ty, $row:ty) => {
        impl $store {
            fn session(row: &$row) -> Result<SessionRecord, StoreError> {
                Ok(SessionRecord {
                    id: parse(&row.try_get::<String, _>("id").map_err(db_err)?, "id")?,
                    secret_digest: row.try_get("secret_digest").map_err(db_err)?,
                    tenant_id: parse(&row.try_get::<String, _>("tenant_id").map_err(db_err)?, "tenant_id")?,
                    user_id: parse(&row.try_get::<String, _>("user_id").map_err(db_err)?, "user_id")?,
                    auth_time: row.try_get("auth_time").map_err(db_err)?,
                    amr: row.try_get("amr").map_err(db_err)?,
                    expires_at: row.try_get("expires_at").map_err(db_err)?,
                    persistent: row.try_get("persistent").map_err(db_err)?,
                    // Names this version does not know are skipped: they serve no flow here.
                    second_factors: row
                        .try_get::<String, _>("second_factors")
                        .map_err(db_err)?
                        .split_whitespace()
                        .filter_map(|kind| kind.parse().ok())
                        .collect(),
                })
            }

            /// Inserts a session in `tx` once its user's row is locked (see
            /// `SessionStore::create_session`): [`StoreError::SessionEnded`] if the user was
            /// disabled or signed out everywhere since `signed_out_at`.
            pub(crate) async fn insert_session(
                tx: &mut sqlx::Transaction<'_, <$row as sqlx::Row>::Database>,
                session: &SessionRecord,
                signed_out_at: UnixTime,
            ) -> Result<(), StoreError> {
                // The user's row lock (see `Store::create_session`): a sign-out everywhere
                // writes `signed_out_at` before it ends sessions.
                let current = sqlx::query(
                    "UPDATE users SET signed_out_at = signed_out_at WHERE tenant_id = $1 AND id = $2 \
                     AND enabled = TRUE AND COALESCE(signed_out_at, 0) = $3",
                )
                .bind(session.tenant_id.to_string())
                .bind(session.user_id.to_string())
                .bind(signed_out_at)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
                if current.rows_affected() == 0 {
                    return Err(StoreError::SessionEnded);
                }
                sqlx::query(
                    "INSERT INTO sessions (id, secret_digest, tenant_id, user_id, auth_time, expires_at, persistent, amr, second_factors) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(session.id.to_string())
                .bind(&session.secret_digest)
                .bind(session.tenant_id.to_string())
                .bind(session.user_id.to_string())
                .bind(session.auth_time)
                .bind(session.expires_at)
                .bind(session.persistent)
                .bind(&session.amr)
                .bind(second_factor_names(&session.second_factors))
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
                Ok(())
            }
        }

        #[async_trait]
        impl SessionStore for $store {
            async fn create_session(&self, session: &SessionRecord, signed_out_at: UnixTime) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::insert_session(&mut tx, session, signed_out_at).await?;
                tx.commit().await.map_err(db_err)
            }

            async fn find_session(
                &self,
                tenant: TenantId,
                secret_digest: &str,
                now: UnixTime,
            ) -> Result<Option<SessionRecord>, StoreError> {
                let sql = concat!("SELECT ", session_columns!(), " FROM sessions WHERE tenant_id = $1 AND secret_digest = $2 \
                     AND ended_at IS NULL AND expires_at > $3");
                sqlx::query(sql)
                    .bind(tenant.to_string())
                    .bind(secret_digest)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?
                    .map(|row| Self::session(&row))
                    .transpose()
            }

            async fn strengthen_session(
                &self,
                tenant: TenantId,
                session: &SessionRecord,
                old_digest: &str,
                now: UnixTime,
            ) -> Result<bool, StoreError> {
                let updated = sqlx::query(
                    "UPDATE sessions SET amr = $3, second_factors = $4, secret_digest = $5 \
                     WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL AND expires_at > $6 \
                     AND secret_digest = $7",
                )
                .bind(tenant.to_string())
                .bind(session.id.to_string())
                .bind(&session.amr)
                .bind(second_factor_names(&session.second_factors))
                .bind(&session.secret_digest)
                .bind(now)
                .bind(old_digest)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(updated.rows_affected() == 1)
            }

            async fn end_session(
                &self,
                tenant: TenantId,
                session: SessionId,
                now: UnixTime,
            ) -> Result<Vec<ClientId>, StoreError> {
                let mut tx = self.begin_write().await?;
                let ended = sqlx::query(
                    "UPDATE sessions SET ended_at = $3 WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL RETURNING user_id",
                )
                .bind(tenant.to_string())
                .bind(session.to_string())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
                let Some(ended) = ended else {
                    return Ok(Vec::new());
                };
                let user: UserId = parse(&ended.try_get::<String, _>("user_id").map_err(db_err)?, "user_id")?;
                sqlx::query("UPDATE grants SET revoked_at = $3 WHERE tenant_id = $1 AND session_id = $2 AND revoked_at IS NULL")
                    .bind(tenant.to_string())
                    .bind(session.to_string())
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let served = sqlx::query(
                    "SELECT c.client_id, a.backchannel_logout_uri FROM session_clients c \
                     JOIN applications a ON a.tenant_id = c.tenant_id AND a.client_id = c.client_id \
                     WHERE c.tenant_id = $1 AND c.session_id = $2 ORDER BY c.client_id",
                )
                .bind(tenant.to_string())
                .bind(session.to_string())
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
                let mut clients = Vec::with_capacity(served.len());
                for row in &served {
                    let client: ClientId = parse(&row.try_get::<String, _>("client_id").map_err(db_err)?, "client_id")?;
                    let backchannel: Option<String> = row.try_get("backchannel_logout_uri").map_err(db_err)?;
                    if backchannel.is_some() {
                        let notice = LogoutNotice { client_id: client, user_id: user, session_id: session };
                        Self::insert_outbox(&mut *tx, &queued(&notice, tenant, now)?).await?;
                    }
                    clients.push(client);
                }
                tx.commit().await.map_err(db_err)?;
                Ok(clients)
            }
        }
    };
}

sessions_queries!(SqliteStore, sqlx::sqlite::SqliteRow);
sessions_queries!(PgStore, sqlx::postgres::PgRow);
