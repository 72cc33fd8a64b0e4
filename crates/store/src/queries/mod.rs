//! The queries, written once: the SQL text is identical for SQLite and PostgreSQL. One module
//! per part of `Store` (tenants, apps, users, factors, flows, sessions, grants, otp, outbox,
//! admin tokens), each a macro that expands into its trait's implementation for both backend
//! types. This module holds what the parts share (`sql_store!`: the row mappers, the inserts
//! and checks used inside others' transactions) and `Store` itself (`ping`, `purge_expired`).

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::clock::UnixTime;
use portico_core::directory::{User, UserFlow};
use portico_core::ids::{ClientId, SessionId, TenantId, UserId};
use portico_core::outbox::{LogoutNotice, OutboxRecord};
use portico_core::store::{AuditEntry, AuthMethodRecord, Store};

use sqlx::Row as _;

use crate::rows::parse;
use crate::{PgStore, SqliteStore, db_err};

// Column lists as macros so every query stays a `&'static str` literal (sqlx refuses
// dynamically built SQL, a guard against injection).
macro_rules! tenant_columns {
    () => {
        "id, name, signing_alg, created_at"
    };
}
macro_rules! app_columns {
    () => {
        "client_id, tenant_id, name, kind, redirect_uris, identifier_uri, optional_claims, native_auth, cors_origins, \
         api, assignment_required, access_token_lifetime, refresh_token_lifetime, client_keys, implicit, device_code, require_par, require_dpop, groups_claim, claim_mappings, \
         backchannel_logout_uri, frontchannel_logout_uri, created_at"
    };
}
macro_rules! user_columns {
    () => {
        "id, tenant_id, email, display_name, password_hash, password_in_legacy_store, enabled, attributes, created_at"
    };
}
macro_rules! session_columns {
    () => {
        "id, secret_digest, tenant_id, user_id, auth_time, amr, expires_at, persistent, second_factors"
    };
}

/// A value as JSON text, for the JSON columns.
fn json_text(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(e.to_string()))
}

/// Binds a built fragment's values to a query, in order.
macro_rules! bind_all {
    ($query:expr, $binds:expr) => {{
        let mut query = $query;
        for bind in $binds {
            query = match bind {
                crate::filter_sql::Bind::Text(text) => query.bind(text.clone()),
                crate::filter_sql::Bind::Int(n) => query.bind(*n),
                crate::filter_sql::Bind::Float(n) => query.bind(*n),
                crate::filter_sql::Bind::Bool(b) => query.bind(*b),
            };
        }
        query
    }};
}

/// `$first, $first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

// The queries of each area, in its own module (after the column macros, which they use).
mod admin_tokens;
mod apps;
mod device_codes;
mod extensions;
mod factors;
mod flows;
mod grants;
mod otp;
mod outbox;
mod passkeys;
mod permissions;
mod pushed_requests;
mod registrations;
mod scim_groups;
mod scim_tokens;
mod scim_users;
mod sessions;
mod tenants;
mod users;

/// How a sign-out everywhere stamps the user's `signed_out_at`.
#[derive(Debug, Clone, Copy)]
enum SignOut {
    /// With the next stamp (now, or one past the last one within the same second).
    Next,
    /// From the stamp a flow saw to the one it chose; refused if the stamp moved meanwhile.
    From {
        /// The stamp the flow saw (0: never).
        seen: UnixTime,
        /// The new stamp.
        to: UnixTime,
    },
}

/// A logout notice as an outbox row (a notice that cannot be written fails the transaction).
fn queued(
    notice: &LogoutNotice,
    tenant: TenantId,
    now: UnixTime,
) -> Result<OutboxRecord, StoreError> {
    notice
        .queued(tenant, now)
        .map_err(|e| StoreError::Backend(e.to_string()))
}

macro_rules! sql_store {
    ($store:ty, $row:ty) => {
        impl $store {
            /// Ends every live session of a user and revokes every grant made to them, inside
            /// the caller's transaction (a disabled account or a new password signs out
            /// everywhere), stamping the user's `signed_out_at` as `stamp` says.
            async fn end_user_sessions(
                tx: &mut sqlx::Transaction<'_, <$row as sqlx::Row>::Database>,
                tenant: TenantId,
                user: UserId,
                now: UnixTime,
                stamp: SignOut,
            ) -> Result<(), StoreError> {
                // Sign-ins under way that began before this cannot finish. First, so the user's
                // row is locked before sessions are ended (`create_session` takes the same
                // lock), and always a new value, even within one second.
                let stamped = match stamp {
                    SignOut::Next => sqlx::query(
                        "UPDATE users SET signed_out_at = CASE WHEN COALESCE(signed_out_at, 0) >= $3 \
                         THEN signed_out_at + 1 ELSE $3 END WHERE tenant_id = $1 AND id = $2",
                    )
                    .bind(tenant.to_string())
                    .bind(user.to_string())
                    .bind(now),
                    SignOut::From { seen, to } => sqlx::query(
                        "UPDATE users SET signed_out_at = $4 WHERE tenant_id = $1 AND id = $2 \
                         AND COALESCE(signed_out_at, 0) = $3",
                    )
                    .bind(tenant.to_string())
                    .bind(user.to_string())
                    .bind(seen)
                    .bind(to),
                };
                if stamped.execute(&mut **tx).await.map_err(db_err)?.rows_affected() == 0 {
                    return Err(match stamp {
                        SignOut::Next => StoreError::NotFound("user"),
                        SignOut::From { .. } => StoreError::SessionEnded,
                    });
                }
                // Every app a live session served, told (through the outbox, in this
                // transaction) if it listens on the back channel.
                let served = sqlx::query(
                    "SELECT c.session_id, c.client_id FROM session_clients c \
                     JOIN sessions s ON s.tenant_id = c.tenant_id AND s.id = c.session_id \
                     JOIN applications a ON a.tenant_id = c.tenant_id AND a.client_id = c.client_id \
                     WHERE s.tenant_id = $1 AND s.user_id = $2 AND s.ended_at IS NULL AND s.expires_at > $3 \
                     AND a.backchannel_logout_uri IS NOT NULL ORDER BY c.session_id, c.client_id",
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
                .bind(now)
                .fetch_all(&mut **tx)
                .await
                .map_err(db_err)?;
                for row in &served {
                    let notice = LogoutNotice {
                        client_id: parse::<ClientId>(&row.try_get::<String, _>("client_id").map_err(db_err)?, "client_id")?,
                        user_id: user,
                        session_id: parse::<SessionId>(&row.try_get::<String, _>("session_id").map_err(db_err)?, "session_id")?,
                    };
                    Self::insert_outbox(&mut **tx, &queued(&notice, tenant, now)?).await?;
                }
                for sql in [
                    "UPDATE sessions SET ended_at = $3 WHERE tenant_id = $1 AND user_id = $2 AND ended_at IS NULL",
                    "UPDATE grants SET revoked_at = $3 WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL",
                ] {
                    sqlx::query(sql)
                        .bind(tenant.to_string())
                        .bind(user.to_string())
                        .bind(now)
                        .execute(&mut **tx)
                        .await
                        .map_err(db_err)?;
                }
                Ok(())
            }

            async fn insert_user(
                tx: &mut sqlx::Transaction<'_, <$row as sqlx::Row>::Database>,
                user: &User,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO users (id, tenant_id, email, display_name, password_hash, enabled, created_at, attributes, password_in_legacy_store) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(user.id.to_string())
                .bind(user.tenant_id.to_string())
                .bind(&user.email)
                .bind(&user.display_name)
                .bind(&user.password_hash)
                .bind(user.enabled)
                .bind(user.created_at)
                .bind(serde_json::to_string(&user.attributes).map_err(|e| StoreError::Backend(e.to_string()))?)
                .bind(user.password_in_legacy_store)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            /// Records a directory change inside the caller's transaction.
            async fn insert_audit(
                tx: &mut sqlx::Transaction<'_, <$row as sqlx::Row>::Database>,
                entry: &AuditEntry,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO audit_log (tenant_id, id, at, actor, action, target, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(entry.tenant_id.to_string())
                .bind(&entry.id)
                .bind(entry.at)
                .bind(&entry.actor)
                .bind(&entry.action)
                .bind(&entry.target)
                .bind(entry.detail.to_string())
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            /// Replaces a user's password inside the caller's transaction (see
            /// [`Store::set_password`]).
            async fn write_password(
                tx: &mut sqlx::Transaction<'_, <$row as sqlx::Row>::Database>,
                tenant: TenantId,
                user: UserId,
                password_hash: &str,
                keep: u32,
                now: UnixTime,
                stamp: SignOut,
            ) -> Result<(), StoreError> {
                let old: Option<Option<String>> = sqlx::query_scalar(
                    "SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
                .fetch_optional(&mut **tx)
                .await
                .map_err(db_err)?;
                let Some(old) = old else {
                    return Err(StoreError::NotFound("user"));
                };
                if let Some(old) = old {
                    sqlx::query(
                        "INSERT INTO password_history (tenant_id, user_id, password_hash, created_at) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(tenant.to_string())
                    .bind(user.to_string())
                    .bind(old)
                    .bind(now)
                    .execute(&mut **tx)
                    .await
                    .map_err(db_err)?;
                }
                sqlx::query(
                    "DELETE FROM password_history WHERE tenant_id = $1 AND user_id = $2 AND password_hash NOT IN \
                     (SELECT password_hash FROM password_history WHERE tenant_id = $1 AND user_id = $2 \
                      ORDER BY created_at DESC LIMIT $3)",
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
                .bind(i64::from(keep))
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
                sqlx::query("UPDATE users SET password_hash = $3, password_in_legacy_store = FALSE WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.to_string())
                    .bind(user.to_string())
                    .bind(password_hash)
                    .execute(&mut **tx)
                    .await
                    .map_err(db_err)?;
                sqlx::query("DELETE FROM password_lockouts WHERE tenant_id = $1 AND user_id = $2")
                    .bind(tenant.to_string())
                    .bind(user.to_string())
                    .execute(&mut **tx)
                    .await
                    .map_err(db_err)?;
                Self::end_user_sessions(tx, tenant, user, now, stamp).await
            }

            async fn insert_auth_method(
                tx: &mut sqlx::Transaction<'_, <$row as sqlx::Row>::Database>,
                method: &AuthMethodRecord,
                recovery_digests: &[String],
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO auth_methods (tenant_id, id, user_id, kind, target, sealed_secret, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(method.tenant_id.to_string())
                .bind(method.id.to_string())
                .bind(method.user_id.to_string())
                .bind(method.kind.as_str())
                .bind(&method.target)
                .bind(&method.sealed_secret)
                .bind(method.created_at)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
                if !recovery_digests.is_empty() {
                    sqlx::query("DELETE FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2")
                        .bind(method.tenant_id.to_string())
                        .bind(method.user_id.to_string())
                        .execute(&mut **tx)
                        .await
                        .map_err(db_err)?;
                    for digest in recovery_digests {
                        sqlx::query("INSERT INTO recovery_codes (tenant_id, user_id, code_digest) VALUES ($1, $2, $3)")
                            .bind(method.tenant_id.to_string())
                            .bind(method.user_id.to_string())
                            .bind(digest)
                            .execute(&mut **tx)
                            .await
                            .map_err(db_err)?;
                    }
                }
                Ok(())
            }

            async fn insert_user_flow(
                tx: &mut sqlx::Transaction<'_, <$row as sqlx::Row>::Database>,
                flow: &UserFlow,
            ) -> Result<(), StoreError> {
                let config = serde_json::to_string(&flow.config)
                    .map_err(|e| StoreError::Backend(format!("flow config: {e}")))?;
                sqlx::query(
                    "INSERT INTO user_flows (tenant_id, id, name, config, is_default, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(flow.tenant_id.to_string())
                .bind(flow.id.to_string())
                .bind(&flow.name)
                .bind(config)
                .bind(flow.is_default)
                .bind(flow.created_at)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
                for app in &flow.apps {
                    sqlx::query("DELETE FROM user_flow_apps WHERE tenant_id = $1 AND client_id = $2")
                        .bind(flow.tenant_id.to_string())
                        .bind(app.to_string())
                        .execute(&mut **tx)
                        .await
                        .map_err(db_err)?;
                    sqlx::query("INSERT INTO user_flow_apps (tenant_id, client_id, flow_id) VALUES ($1, $2, $3)")
                        .bind(flow.tenant_id.to_string())
                        .bind(app.to_string())
                        .bind(flow.id.to_string())
                        .execute(&mut **tx)
                        .await
                        .map_err(db_err)?;
                }
                Ok(())
            }

            async fn insert_outbox<'c, E>(executor: E, message: &OutboxRecord) -> Result<(), StoreError>
            where
                E: sqlx::Executor<'c, Database = <$row as sqlx::Row>::Database>,
            {
                sqlx::query(
                    "INSERT INTO outbox (id, tenant_id, channel, recipient, payload, created_at, attempts, next_attempt_at, discard_after) \
                     VALUES ($1, $2, $3, $4, $5, $6, 0, $6, $7)",
                )
                .bind(message.id.to_string())
                .bind(message.tenant_id.map(|t| t.to_string()))
                .bind(message.channel.as_str())
                .bind(&message.recipient)
                .bind(&message.payload)
                .bind(message.created_at)
                .bind(message.discard_after)
                .execute(executor)
                .await
                .map_err(db_err)?;
                Ok(())
            }
        }

        #[async_trait]
        impl Store for $store {
            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_err)?;
                Ok(())
            }

            async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError> {
                // Keep spent codes and tokens a while past expiry, so replays are still
                // recognised (and punished) rather than reported as unknown.
                let horizon = now - 24 * 3600;
                let mut tx = self.begin_write().await?;
                // A message that can no longer be useful (its code expired) loses its body now.
                let mut purged = sqlx::query(
                    "UPDATE outbox SET payload = '' WHERE discard_after < $1 AND payload <> ''",
                )
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?
                .rows_affected();
                for sql in [
                    "DELETE FROM authorization_codes WHERE expires_at < $1",
                    "DELETE FROM refresh_tokens WHERE expires_at < $1",
                    "DELETE FROM sessions WHERE expires_at < $1 OR ended_at < $1",
                    "DELETE FROM otp_challenges WHERE expires_at < $1",
                    "DELETE FROM outbox WHERE delivered_at < $1 OR discard_after < $1",
                    "DELETE FROM signin_flows WHERE expires_at < $1",
                    "DELETE FROM client_assertions WHERE expires_at < $1",
                    "DELETE FROM dpop_proofs WHERE expires_at < $1",
                    "DELETE FROM device_codes WHERE expires_at < $1",
                    "DELETE FROM webauthn_challenges WHERE expires_at < $1",
                    // The extension call log is kept 30 days (29 past the day's horizon).
                    "DELETE FROM extension_calls WHERE at < $1 - 2505600",
                    "DELETE FROM pushed_requests WHERE expires_at < $1",
                    "DELETE FROM second_factor_failures WHERE failed_at < $1",
                    "DELETE FROM phone_verifications WHERE created_at < $1",
                    "DELETE FROM grants WHERE created_at < $1 AND NOT EXISTS \
                     (SELECT 1 FROM refresh_tokens r WHERE r.tenant_id = grants.tenant_id AND r.grant_id = grants.id) \
                     AND NOT EXISTS (SELECT 1 FROM authorization_codes c WHERE c.tenant_id = grants.tenant_id AND c.grant_id = grants.id)",
                ] {
                    purged += sqlx::query(sql)
                        .bind(horizon)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?
                        .rows_affected();
                }
                // A decoy record goes an hour after core treats it as empty anyway (later, never
                // sooner, whatever the skew between servers' clocks), so an address without an
                // account behaves as an account does after the same wait.
                purged += sqlx::query("DELETE FROM decoy_lockouts WHERE updated_at < $1 AND locked_until < $1")
                    .bind(now - portico_core::lockout::IDLE_SECS - 3600)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?
                    .rows_affected();
                tx.commit().await.map_err(db_err)?;
                Ok(purged)
            }
        }
    };
}

sql_store!(SqliteStore, sqlx::sqlite::SqliteRow);
sql_store!(PgStore, sqlx::postgres::PgRow);
