//! The queries, written once. `sql_store!` expands them into a `Store` implementation for each
//! backend type; the SQL text is identical for SQLite and PostgreSQL.

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::clock::UnixTime;
use portico_core::directory::{
    Application, Branding, MfaMethod, Tenant, TenantRef, User, UserFlow, UserFlowConfig,
};
use portico_core::ids::{
    AuthMethodId, ClientId, FlowId, GrantId, OtpChallengeId, OutboxId, SessionId, TenantId, UserId,
};
use portico_core::otp::{LiveChallenge, OtpPurpose, OtpSendStats};
use portico_core::outbox::{Channel, OutboxRecord};
use portico_core::store::{
    AdminTokenRecord, AuthCodeRecord, AuthMethodRecord, CodeRedemption, FlowRecord, FlowWrite,
    GrantRecord, KeyState, LockoutRecord, LockoutSubject, OtpAttempt, OtpChallengeRecord,
    RefreshLifetime, RefreshRedemption, RefreshTokenRecord, SessionRecord, SmsBudget, Store,
    StoredSigningKey, TextRefused,
};
use sqlx::Row as _;

use crate::rows::{from_json_list, parse, parse_alg, parse_key_state, to_json_list, to_u32};
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
        "client_id, tenant_id, name, kind, secret_digest, redirect_uris, identifier_uri, optional_claims, native_auth, cors_origins, created_at"
    };
}
macro_rules! user_columns {
    () => {
        "id, tenant_id, email, display_name, password_hash, enabled, attributes, created_at"
    };
}
macro_rules! session_columns {
    () => {
        "id, secret_digest, tenant_id, user_id, auth_time, amr, expires_at, persistent, second_factors"
    };
}

/// Second-factor kinds as stored: their names, space-separated.
fn second_factor_names(kinds: &[MfaMethod]) -> String {
    kinds
        .iter()
        .map(|kind| kind.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

macro_rules! sql_store {
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

            fn application(row: &$row) -> Result<Application, StoreError> {
                Ok(Application {
                    client_id: parse(&row.try_get::<String, _>("client_id").map_err(db_err)?, "client_id")?,
                    tenant_id: parse(&row.try_get::<String, _>("tenant_id").map_err(db_err)?, "tenant_id")?,
                    name: row.try_get("name").map_err(db_err)?,
                    kind: parse(&row.try_get::<String, _>("kind").map_err(db_err)?, "kind")?,
                    secret_digest: row.try_get("secret_digest").map_err(db_err)?,
                    redirect_uris: from_json_list(&row.try_get::<String, _>("redirect_uris").map_err(db_err)?)?,
                    identifier_uri: row.try_get("identifier_uri").map_err(db_err)?,
                    optional_claims: from_json_list(&row.try_get::<String, _>("optional_claims").map_err(db_err)?)?,
                    native_auth: row.try_get("native_auth").map_err(db_err)?,
                    cors_origins: from_json_list(&row.try_get::<String, _>("cors_origins").map_err(db_err)?)?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                })
            }

            fn user(row: &$row) -> Result<User, StoreError> {
                Ok(User {
                    id: parse(&row.try_get::<String, _>("id").map_err(db_err)?, "id")?,
                    tenant_id: parse(&row.try_get::<String, _>("tenant_id").map_err(db_err)?, "tenant_id")?,
                    email: row.try_get("email").map_err(db_err)?,
                    display_name: row.try_get("display_name").map_err(db_err)?,
                    password_hash: row.try_get("password_hash").map_err(db_err)?,
                    enabled: row.try_get("enabled").map_err(db_err)?,
                    attributes: serde_json::from_str(&row.try_get::<String, _>("attributes").map_err(db_err)?)
                        .map_err(|e| StoreError::Backend(format!("unreadable attributes: {e}")))?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                })
            }

            fn auth_method(row: &$row) -> Result<AuthMethodRecord, StoreError> {
                Ok(AuthMethodRecord {
                    id: parse(&row.try_get::<String, _>("id").map_err(db_err)?, "id")?,
                    tenant_id: parse(&row.try_get::<String, _>("tenant_id").map_err(db_err)?, "tenant_id")?,
                    user_id: parse(&row.try_get::<String, _>("user_id").map_err(db_err)?, "user_id")?,
                    kind: parse(&row.try_get::<String, _>("kind").map_err(db_err)?, "kind")?,
                    target: row.try_get("target").map_err(db_err)?,
                    sealed_secret: row.try_get("sealed_secret").map_err(db_err)?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                })
            }

            fn flow(row: &$row) -> Result<FlowRecord, StoreError> {
                let client_id: Option<String> = row.try_get("client_id").map_err(db_err)?;
                Ok(FlowRecord {
                    id: parse(&row.try_get::<String, _>("id").map_err(db_err)?, "id")?,
                    tenant_id: parse(&row.try_get::<String, _>("tenant_id").map_err(db_err)?, "tenant_id")?,
                    client_id: client_id.map(|c| parse(&c, "client_id")).transpose()?,
                    state: row.try_get("state").map_err(db_err)?,
                    version: row.try_get("version").map_err(db_err)?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                    expires_at: row.try_get("expires_at").map_err(db_err)?,
                    spent_at: row.try_get("spent_at").map_err(db_err)?,
                })
            }

            fn admin_token(row: &$row) -> Result<AdminTokenRecord, StoreError> {
                Ok(AdminTokenRecord {
                    id: row.try_get("id").map_err(db_err)?,
                    name: row.try_get("name").map_err(db_err)?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                    expires_at: row.try_get("expires_at").map_err(db_err)?,
                    revoked_at: row.try_get("revoked_at").map_err(db_err)?,
                })
            }

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

            /// Ends every live session of a user and revokes every grant made to them, inside
            /// the caller's transaction (a disabled account or a new password signs out
            /// everywhere).
            async fn end_user_sessions(
                tx: &mut sqlx::Transaction<'_, <$row as sqlx::Row>::Database>,
                tenant: TenantId,
                user: UserId,
                now: UnixTime,
            ) -> Result<(), StoreError> {
                for sql in [
                    // Sign-ins under way that began before this cannot finish. First, so the
                    // user's row is locked before sessions are ended (`create_session` takes
                    // the same lock), and always a new value, even within one second.
                    "UPDATE users SET signed_out_at = CASE WHEN COALESCE(signed_out_at, 0) >= $3 \
                     THEN signed_out_at + 1 ELSE $3 END WHERE tenant_id = $1 AND id = $2",
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
                    "INSERT INTO users (id, tenant_id, email, display_name, password_hash, enabled, created_at, attributes) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(user.id.to_string())
                .bind(user.tenant_id.to_string())
                .bind(&user.email)
                .bind(&user.display_name)
                .bind(&user.password_hash)
                .bind(user.enabled)
                .bind(user.created_at)
                .bind(serde_json::to_string(&user.attributes).map_err(|e| StoreError::Backend(e.to_string()))?)
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
                sqlx::query("UPDATE users SET password_hash = $3 WHERE tenant_id = $1 AND id = $2")
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
                Self::end_user_sessions(tx, tenant, user, now).await
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

            /// Checks a text's limits inside the transaction that would queue it. The tenant's
            /// row lock comes first (PostgreSQL; SQLite's BEGIN IMMEDIATE serialises anyway):
            /// one text at a time per tenant, so every count below stays true until commit.
            async fn check_sms_budget(
                tx: &mut sqlx::Transaction<'_, <$row as sqlx::Row>::Database>,
                challenge: &OtpChallengeRecord,
                budget: &SmsBudget,
            ) -> Result<Result<(), TextRefused>, StoreError> {
                let tenant = challenge.tenant_id.to_string();
                sqlx::query("UPDATE tenants SET id = id WHERE id = $1")
                    .bind(&tenant)
                    .execute(&mut **tx)
                    .await
                    .map_err(db_err)?;
                if let Some(registration) = &budget.registers {
                    let numbers: Vec<String> = sqlx::query_scalar(
                        "SELECT DISTINCT number FROM phone_verifications \
                         WHERE tenant_id = $1 AND user_id = $2 AND created_at > $3",
                    )
                    .bind(&tenant)
                    .bind(registration.user.to_string())
                    .bind(registration.since)
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(db_err)?;
                    if !numbers.contains(&challenge.subject)
                        && numbers.len() >= registration.numbers as usize
                    {
                        return Ok(Err(TextRefused::TooManyNumbers));
                    }
                }
                let to_number: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM otp_challenges WHERE tenant_id = $1 AND subject = $2 \
                     AND sms_share IS NOT NULL AND created_at > $3",
                )
                .bind(&tenant)
                .bind(&challenge.subject)
                .bind(budget.since)
                .fetch_one(&mut **tx)
                .await
                .map_err(db_err)?;
                if to_u32(to_number) >= budget.per_number {
                    return Ok(Err(TextRefused::Number));
                }
                let texts: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM outbox WHERE tenant_id = $1 AND channel = 'sms' AND created_at > $2",
                )
                .bind(&tenant)
                .bind(budget.since)
                .fetch_one(&mut **tx)
                .await
                .map_err(db_err)?;
                if to_u32(texts) >= budget.texts {
                    return Ok(Err(TextRefused::TenantBudget));
                }
                if budget.to_new_number {
                    let to_new_numbers: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM otp_challenges WHERE tenant_id = $1 AND sms_share = 'new' AND created_at > $2",
                    )
                    .bind(&tenant)
                    .bind(budget.since)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(db_err)?;
                    if to_u32(to_new_numbers) >= budget.new_numbers {
                        return Ok(Err(TextRefused::NewNumbers));
                    }
                }
                Ok(Ok(()))
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

            /// Inserts a grant under its live session. The session's row is locked first (a
            /// no-op update: PostgreSQL re-checks `ended_at` once a concurrent sign-out
            /// commits), so a sign-out either came first (the session is gone:
            /// [`StoreError::SessionEnded`]) or waits for this grant and revokes it too.
            async fn insert_grant(
                tx: &mut sqlx::Transaction<'_, <$row as sqlx::Row>::Database>,
                grant: &GrantRecord,
            ) -> Result<(), StoreError> {
                let live = sqlx::query(
                    "UPDATE sessions SET ended_at = ended_at WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL",
                )
                .bind(grant.tenant_id.to_string())
                .bind(grant.session_id.to_string())
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
                if live.rows_affected() == 0 {
                    return Err(StoreError::SessionEnded);
                }
                sqlx::query(
                    "INSERT INTO grants (tenant_id, id, client_id, user_id, session_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(grant.tenant_id.to_string())
                .bind(grant.id.to_string())
                .bind(grant.client_id.to_string())
                .bind(grant.user_id.to_string())
                .bind(grant.session_id.to_string())
                .bind(grant.created_at)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn insert_refresh_token<'c, E>(executor: E, token: &RefreshTokenRecord) -> Result<(), StoreError>
            where
                E: sqlx::Executor<'c, Database = <$row as sqlx::Row>::Database>,
            {
                sqlx::query(
                    "INSERT INTO refresh_tokens (token_digest, tenant_id, grant_id, client_id, user_id, session_id, scope, \
                     auth_time, created_at, expires_at, amr) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(&token.token_digest)
                .bind(token.tenant_id.to_string())
                .bind(token.grant_id.to_string())
                .bind(token.client_id.to_string())
                .bind(token.user_id.to_string())
                .bind(token.session_id.to_string())
                .bind(&token.scope)
                .bind(token.auth_time)
                .bind(token.issued_at)
                .bind(token.expires_at)
                .bind(&token.amr)
                .execute(executor)
                .await
                .map_err(db_err)?;
                Ok(())
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
        impl Store for $store {
            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_err)?;
                Ok(())
            }

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

            async fn create_user_flow(&self, flow: &UserFlow) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::insert_user_flow(&mut tx, flow).await?;
                tx.commit().await.map_err(db_err)
            }

            async fn user_flows(&self, tenant: TenantId) -> Result<Vec<UserFlow>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, name, config, is_default, created_at FROM user_flows WHERE tenant_id = $1 \
                     ORDER BY is_default DESC, name",
                )
                .bind(tenant.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                let attached = sqlx::query("SELECT client_id, flow_id FROM user_flow_apps WHERE tenant_id = $1 ORDER BY client_id")
                    .bind(tenant.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                let mut links: Vec<(String, ClientId)> = Vec::with_capacity(attached.len());
                for row in &attached {
                    links.push((
                        row.try_get("flow_id").map_err(db_err)?,
                        parse(&row.try_get::<String, _>("client_id").map_err(db_err)?, "client_id")?,
                    ));
                }
                rows.iter()
                    .map(|row| {
                        let id: String = row.try_get("id").map_err(db_err)?;
                        let config: UserFlowConfig = serde_json::from_str(&row.try_get::<String, _>("config").map_err(db_err)?)
                            .map_err(|e| StoreError::Backend(format!("unreadable flow config: {e}")))?;
                        Ok(UserFlow {
                            id: parse(&id, "id")?,
                            tenant_id: tenant,
                            name: row.try_get("name").map_err(db_err)?,
                            config,
                            is_default: row.try_get("is_default").map_err(db_err)?,
                            apps: links.iter().filter(|(flow, _)| *flow == id).map(|(_, app)| *app).collect(),
                            created_at: row.try_get("created_at").map_err(db_err)?,
                        })
                    })
                    .collect()
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

            async fn create_application(&self, app: &Application) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO applications (client_id, tenant_id, name, kind, secret_digest, redirect_uris, identifier_uri, created_at, \
                     optional_claims, native_auth, cors_origins) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(app.client_id.to_string())
                .bind(app.tenant_id.to_string())
                .bind(&app.name)
                .bind(app.kind.as_str())
                .bind(&app.secret_digest)
                .bind(to_json_list(&app.redirect_uris)?)
                .bind(&app.identifier_uri)
                .bind(app.created_at)
                .bind(to_json_list(&app.optional_claims)?)
                .bind(app.native_auth)
                .bind(to_json_list(&app.cors_origins)?)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
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

            async fn create_user(&self, user: &User) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::insert_user(&mut tx, user).await?;
                tx.commit().await.map_err(db_err)
            }

            async fn find_user(&self, tenant: TenantId, user: UserId) -> Result<Option<User>, StoreError> {
                let sql = concat!("SELECT ", user_columns!(), " FROM users WHERE tenant_id = $1 AND id = $2");
                sqlx::query(sql)
                    .bind(tenant.to_string())
                    .bind(user.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?
                    .map(|row| Self::user(&row))
                    .transpose()
            }

            async fn find_user_by_email(
                &self,
                tenant: TenantId,
                email: &str,
            ) -> Result<Option<User>, StoreError> {
                let sql = concat!("SELECT ", user_columns!(), " FROM users WHERE tenant_id = $1 AND email = $2");
                sqlx::query(sql)
                    .bind(tenant.to_string())
                    .bind(email)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?
                    .map(|row| Self::user(&row))
                    .transpose()
            }

            async fn set_user_enabled(
                &self,
                tenant: TenantId,
                user: UserId,
                enabled: bool,
                now: UnixTime,
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                let result = sqlx::query("UPDATE users SET enabled = $3 WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.to_string())
                    .bind(user.to_string())
                    .bind(enabled)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if result.rows_affected() == 0 {
                    return Err(StoreError::NotFound("user"));
                }
                if !enabled {
                    Self::end_user_sessions(&mut tx, tenant, user, now).await?;
                }
                tx.commit().await.map_err(db_err)
            }

            async fn set_password(
                &self,
                tenant: TenantId,
                user: UserId,
                password_hash: &str,
                keep: u32,
                now: UnixTime,
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::write_password(&mut tx, tenant, user, password_hash, keep, now).await?;
                tx.commit().await.map_err(db_err)
            }

            async fn user_signed_out_at(&self, tenant: TenantId, user: UserId) -> Result<Option<UnixTime>, StoreError> {
                let at: Option<Option<i64>> = sqlx::query_scalar(
                    "SELECT signed_out_at FROM users WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(at.flatten())
            }

            async fn password_history(&self, tenant: TenantId, user: UserId) -> Result<Vec<String>, StoreError> {
                sqlx::query_scalar(
                    "SELECT password_hash FROM password_history WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at DESC",
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)
            }

            async fn add_auth_method(&self, method: &AuthMethodRecord, recovery_digests: &[String]) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::insert_auth_method(&mut tx, method, recovery_digests).await?;
                tx.commit().await.map_err(db_err)
            }

            async fn auth_methods(&self, tenant: TenantId, user: UserId) -> Result<Vec<AuthMethodRecord>, StoreError> {
                sqlx::query(
                    "SELECT id, tenant_id, user_id, kind, target, sealed_secret, created_at FROM auth_methods \
                     WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, id",
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?
                .iter()
                .map(Self::auth_method)
                .collect()
            }

            async fn use_totp_step(&self, tenant: TenantId, method: AuthMethodId, step: i64) -> Result<bool, StoreError> {
                let result = sqlx::query(
                    "UPDATE auth_methods SET last_used_step = $3 WHERE tenant_id = $1 AND id = $2 AND last_used_step < $3",
                )
                .bind(tenant.to_string())
                .bind(method.to_string())
                .bind(step)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(result.rows_affected() == 1)
            }

            async fn use_recovery_code(&self, tenant: TenantId, user: UserId, digest: &str, now: UnixTime) -> Result<bool, StoreError> {
                let result = sqlx::query(
                    "UPDATE recovery_codes SET used_at = $4 \
                     WHERE tenant_id = $1 AND user_id = $2 AND code_digest = $3 AND used_at IS NULL",
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
                .bind(digest)
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(result.rows_affected() == 1)
            }

            async fn create_flow(&self, flow: &FlowRecord) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO signin_flows (tenant_id, id, client_id, state, version, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(flow.tenant_id.to_string())
                .bind(flow.id.to_string())
                .bind(flow.client_id.map(|c| c.to_string()))
                .bind(&flow.state)
                .bind(flow.version)
                .bind(flow.created_at)
                .bind(flow.expires_at)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn find_flow(&self, tenant: TenantId, flow: FlowId, now: UnixTime) -> Result<Option<FlowRecord>, StoreError> {
                sqlx::query(
                    "SELECT tenant_id, id, client_id, state, version, created_at, expires_at, spent_at FROM signin_flows \
                     WHERE tenant_id = $1 AND id = $2 AND expires_at > $3 AND spent_at IS NULL",
                )
                .bind(tenant.to_string())
                .bind(flow.to_string())
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?
                .map(|row| Self::flow(&row))
                .transpose()
            }

            async fn save_flow(&self, flow: &FlowRecord, writes: &[FlowWrite]) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                let result = sqlx::query(
                    "UPDATE signin_flows SET state = $3, version = $4, expires_at = $5, spent_at = $6 \
                     WHERE tenant_id = $1 AND id = $2 AND version = $4 - 1 AND spent_at IS NULL",
                )
                .bind(flow.tenant_id.to_string())
                .bind(flow.id.to_string())
                .bind(&flow.state)
                .bind(flow.version)
                .bind(flow.expires_at)
                .bind(flow.spent_at)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                if result.rows_affected() != 1 {
                    return Err(StoreError::Contended);
                }
                for write in writes {
                    match write {
                        FlowWrite::CreateUser(user) => Self::insert_user(&mut tx, user).await?,
                        FlowWrite::SetPassword { user, password_hash, keep, now } => {
                            Self::write_password(&mut tx, flow.tenant_id, *user, password_hash, *keep, *now).await?
                        }
                        FlowWrite::AddMethod { method, only_if_none, recovery_digests, totp_step } => {
                            if *only_if_none {
                                // Lock the user's row first (PostgreSQL; SQLite's BEGIN
                                // IMMEDIATE already serialises writers), so of two flows
                                // registering a first factor at once the second sees the first.
                                sqlx::query("UPDATE users SET id = id WHERE tenant_id = $1 AND id = $2")
                                    .bind(method.tenant_id.to_string())
                                    .bind(method.user_id.to_string())
                                    .execute(&mut *tx)
                                    .await
                                    .map_err(db_err)?;
                                let existing: Option<String> = sqlx::query_scalar(
                                    "SELECT id FROM auth_methods WHERE tenant_id = $1 AND user_id = $2 LIMIT 1",
                                )
                                .bind(method.tenant_id.to_string())
                                .bind(method.user_id.to_string())
                                .fetch_optional(&mut *tx)
                                .await
                                .map_err(db_err)?;
                                if existing.is_some() {
                                    return Err(StoreError::Conflict("second factor"));
                                }
                            }
                            Self::insert_auth_method(&mut tx, method, recovery_digests).await?;
                            if let Some(step) = totp_step {
                                sqlx::query("UPDATE auth_methods SET last_used_step = $3 WHERE tenant_id = $1 AND id = $2")
                                    .bind(flow.tenant_id.to_string())
                                    .bind(method.id.to_string())
                                    .bind(*step)
                                    .execute(&mut *tx)
                                    .await
                                    .map_err(db_err)?;
                            }
                        }
                    }
                }
                tx.commit().await.map_err(db_err)
            }

            async fn lockout(&self, tenant: TenantId, subject: LockoutSubject<'_>) -> Result<LockoutRecord, StoreError> {
                let (sql, key) = match subject {
                    LockoutSubject::User(user) => (
                        "SELECT failures, locked_until, lockouts, recent_fingerprints, version \
                         FROM password_lockouts WHERE tenant_id = $1 AND user_id = $2",
                        user.to_string(),
                    ),
                    LockoutSubject::Decoy(key) => (
                        "SELECT failures, locked_until, lockouts, recent_fingerprints, version \
                         FROM decoy_lockouts WHERE tenant_id = $1 AND subject = $2",
                        key.to_owned(),
                    ),
                };
                let row = sqlx::query(sql)
                    .bind(tenant.to_string())
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                let Some(row) = row else {
                    return Ok(LockoutRecord::default());
                };
                Ok(LockoutRecord {
                    failures: to_u32(row.try_get("failures").map_err(db_err)?),
                    locked_until: row.try_get("locked_until").map_err(db_err)?,
                    lockouts: to_u32(row.try_get("lockouts").map_err(db_err)?),
                    recent_fingerprints: from_json_list(&row.try_get::<String, _>("recent_fingerprints").map_err(db_err)?)?,
                    version: row.try_get("version").map_err(db_err)?,
                })
            }

            async fn save_lockout(
                &self,
                tenant: TenantId,
                subject: LockoutSubject<'_>,
                record: &LockoutRecord,
                now: UnixTime,
            ) -> Result<(), StoreError> {
                // The same statements for both tables; only the names differ.
                let (insert, update, key) = match subject {
                    LockoutSubject::User(user) => (
                        "INSERT INTO password_lockouts (tenant_id, user_id, failures, locked_until, lockouts, recent_fingerprints, version, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, 1, $7) ON CONFLICT (tenant_id, user_id) DO NOTHING",
                        "UPDATE password_lockouts SET failures = $3, locked_until = $4, lockouts = $5, \
                         recent_fingerprints = $6, version = version + 1, updated_at = $7 \
                         WHERE tenant_id = $1 AND user_id = $2 AND version = $8",
                        user.to_string(),
                    ),
                    LockoutSubject::Decoy(key) => (
                        "INSERT INTO decoy_lockouts (tenant_id, subject, failures, locked_until, lockouts, recent_fingerprints, version, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, 1, $7) ON CONFLICT (tenant_id, subject) DO NOTHING",
                        "UPDATE decoy_lockouts SET failures = $3, locked_until = $4, lockouts = $5, \
                         recent_fingerprints = $6, version = version + 1, updated_at = $7 \
                         WHERE tenant_id = $1 AND subject = $2 AND version = $8",
                        key.to_owned(),
                    ),
                };
                let query = sqlx::query(if record.version == 0 { insert } else { update })
                    .bind(tenant.to_string())
                    .bind(key)
                    .bind(i64::from(record.failures))
                    .bind(record.locked_until)
                    .bind(i64::from(record.lockouts))
                    .bind(to_json_list(&record.recent_fingerprints)?)
                    .bind(now);
                let query = if record.version == 0 { query } else { query.bind(record.version) };
                let result = query.execute(&self.pool).await.map_err(db_err)?;
                if result.rows_affected() == 1 {
                    Ok(())
                } else {
                    Err(StoreError::Contended)
                }
            }

            async fn create_session(&self, session: &SessionRecord, signed_out_at: UnixTime) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                // The user's row lock (see `Store::create_session`): a sign-out everywhere
                // writes `signed_out_at` before it ends sessions.
                let current = sqlx::query(
                    "UPDATE users SET signed_out_at = signed_out_at WHERE tenant_id = $1 AND id = $2 \
                     AND enabled = TRUE AND COALESCE(signed_out_at, 0) = $3",
                )
                .bind(session.tenant_id.to_string())
                .bind(session.user_id.to_string())
                .bind(signed_out_at)
                .execute(&mut *tx)
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
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
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
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query("UPDATE sessions SET ended_at = $3 WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL")
                    .bind(tenant.to_string())
                    .bind(session.to_string())
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                sqlx::query("UPDATE grants SET revoked_at = $3 WHERE tenant_id = $1 AND session_id = $2 AND revoked_at IS NULL")
                    .bind(tenant.to_string())
                    .bind(session.to_string())
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                tx.commit().await.map_err(db_err)
            }

            async fn create_authorization_code(&self, code: &AuthCodeRecord) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::insert_grant(&mut tx, &GrantRecord {
                    tenant_id: code.tenant_id,
                    id: code.grant_id,
                    client_id: code.client_id,
                    user_id: code.user_id,
                    session_id: code.session_id,
                    created_at: code.expires_at,
                })
                .await?;
                sqlx::query(
                    "INSERT INTO authorization_codes (code_digest, tenant_id, client_id, user_id, grant_id, session_id, \
                     redirect_uri, scope, nonce, code_challenge, auth_time, expires_at, amr) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(&code.code_digest)
                .bind(code.tenant_id.to_string())
                .bind(code.client_id.to_string())
                .bind(code.user_id.to_string())
                .bind(code.grant_id.to_string())
                .bind(code.session_id.to_string())
                .bind(&code.redirect_uri)
                .bind(&code.scope)
                .bind(&code.nonce)
                .bind(&code.code_challenge)
                .bind(code.auth_time)
                .bind(code.expires_at)
                .bind(&code.amr)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                tx.commit().await.map_err(db_err)
            }

            async fn redeem_authorization_code(
                &self,
                tenant: TenantId,
                code_digest: &str,
                now: UnixTime,
            ) -> Result<CodeRedemption, StoreError> {
                let redeemed = sqlx::query(
                    "UPDATE authorization_codes SET redeemed_at = $3 \
                     WHERE tenant_id = $1 AND code_digest = $2 AND redeemed_at IS NULL \
                     RETURNING client_id, user_id, grant_id, session_id, redirect_uri, scope, nonce, code_challenge, auth_time, amr, expires_at",
                )
                .bind(tenant.to_string())
                .bind(code_digest)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                if let Some(row) = redeemed {
                    return Ok(CodeRedemption::Redeemed(Box::new(AuthCodeRecord {
                        code_digest: code_digest.to_owned(),
                        tenant_id: tenant,
                        client_id: parse(&row.try_get::<String, _>("client_id").map_err(db_err)?, "client_id")?,
                        user_id: parse(&row.try_get::<String, _>("user_id").map_err(db_err)?, "user_id")?,
                        grant_id: parse(&row.try_get::<String, _>("grant_id").map_err(db_err)?, "grant_id")?,
                        session_id: parse(&row.try_get::<String, _>("session_id").map_err(db_err)?, "session_id")?,
                        redirect_uri: row.try_get("redirect_uri").map_err(db_err)?,
                        scope: row.try_get("scope").map_err(db_err)?,
                        nonce: row.try_get("nonce").map_err(db_err)?,
                        code_challenge: row.try_get("code_challenge").map_err(db_err)?,
                        auth_time: row.try_get("auth_time").map_err(db_err)?,
                        amr: row.try_get("amr").map_err(db_err)?,
                        expires_at: row.try_get("expires_at").map_err(db_err)?,
                    })));
                }
                let spent = sqlx::query("SELECT grant_id FROM authorization_codes WHERE tenant_id = $1 AND code_digest = $2")
                    .bind(tenant.to_string())
                    .bind(code_digest)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                match spent {
                    Some(row) => Ok(CodeRedemption::Replayed(parse::<GrantId>(
                        &row.try_get::<String, _>("grant_id").map_err(db_err)?,
                        "grant_id",
                    )?)),
                    None => Ok(CodeRedemption::Unknown),
                }
            }

            async fn create_refresh_token(&self, token: &RefreshTokenRecord) -> Result<(), StoreError> {
                Self::insert_refresh_token(&self.pool, token).await
            }

            async fn create_grant(&self, grant: &GrantRecord, refresh: Option<&RefreshTokenRecord>) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::insert_grant(&mut tx, grant).await?;
                if let Some(token) = refresh {
                    Self::insert_refresh_token(&mut *tx, token).await?;
                }
                tx.commit().await.map_err(db_err)
            }

            async fn rotate_refresh_token(
                &self,
                tenant: TenantId,
                old_digest: &str,
                new_digest: &str,
                lifetime: RefreshLifetime,
                now: UnixTime,
            ) -> Result<RefreshRedemption, StoreError> {
                let mut tx = self.begin_write().await?;
                let spent = sqlx::query(
                    "UPDATE refresh_tokens SET used_at = $3 \
                     WHERE tenant_id = $1 AND token_digest = $2 AND used_at IS NULL AND expires_at > $3 \
                     RETURNING grant_id, client_id, user_id, session_id, scope, auth_time, amr, created_at, expires_at",
                )
                .bind(tenant.to_string())
                .bind(old_digest)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
                let Some(row) = spent else {
                    let previous = sqlx::query(
                        "SELECT grant_id, used_at FROM refresh_tokens WHERE tenant_id = $1 AND token_digest = $2",
                    )
                    .bind(tenant.to_string())
                    .bind(old_digest)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    tx.rollback().await.map_err(db_err)?;
                    return match previous {
                        Some(row) if row.try_get::<Option<i64>, _>("used_at").map_err(db_err)?.is_some() => {
                            Ok(RefreshRedemption::Reused(parse(
                                &row.try_get::<String, _>("grant_id").map_err(db_err)?,
                                "grant_id",
                            )?))
                        }
                        _ => Ok(RefreshRedemption::Invalid),
                    };
                };
                let grant_id: String = row.try_get("grant_id").map_err(db_err)?;
                let active = sqlx::query("SELECT created_at FROM grants WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL")
                    .bind(tenant.to_string())
                    .bind(&grant_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let Some(active) = active else {
                    tx.rollback().await.map_err(db_err)?;
                    return Ok(RefreshRedemption::Invalid);
                };
                let new_expires_at = lifetime.expires_at(active.try_get("created_at").map_err(db_err)?, now);
                let record = RefreshTokenRecord {
                    token_digest: old_digest.to_owned(),
                    tenant_id: tenant,
                    grant_id: parse(&grant_id, "grant_id")?,
                    client_id: parse(&row.try_get::<String, _>("client_id").map_err(db_err)?, "client_id")?,
                    user_id: parse(&row.try_get::<String, _>("user_id").map_err(db_err)?, "user_id")?,
                    session_id: parse(&row.try_get::<String, _>("session_id").map_err(db_err)?, "session_id")?,
                    scope: row.try_get("scope").map_err(db_err)?,
                    auth_time: row.try_get("auth_time").map_err(db_err)?,
                    amr: row.try_get("amr").map_err(db_err)?,
                    issued_at: row.try_get("created_at").map_err(db_err)?,
                    expires_at: row.try_get("expires_at").map_err(db_err)?,
                };
                sqlx::query(
                    "INSERT INTO refresh_tokens (token_digest, tenant_id, grant_id, client_id, user_id, session_id, scope, \
                     auth_time, created_at, expires_at, amr) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(new_digest)
                .bind(tenant.to_string())
                .bind(&grant_id)
                .bind(record.client_id.to_string())
                .bind(record.user_id.to_string())
                .bind(record.session_id.to_string())
                .bind(&record.scope)
                .bind(record.auth_time)
                .bind(now)
                .bind(new_expires_at)
                .bind(&record.amr)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(RefreshRedemption::Rotated(record))
            }

            async fn revoke_grant(
                &self,
                tenant: TenantId,
                grant: GrantId,
                now: UnixTime,
            ) -> Result<(), StoreError> {
                sqlx::query("UPDATE grants SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL")
                    .bind(tenant.to_string())
                    .bind(grant.to_string())
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn grant_is_active(&self, tenant: TenantId, grant: GrantId) -> Result<bool, StoreError> {
                let row = sqlx::query("SELECT 1 AS one FROM grants WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL")
                    .bind(tenant.to_string())
                    .bind(grant.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(row.is_some())
            }

            async fn add_second_factor_failure(
                &self,
                tenant: TenantId,
                user: UserId,
                attempt: &str,
                now: UnixTime,
            ) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO second_factor_failures (tenant_id, user_id, failed_at, attempt) VALUES ($1, $2, $3, $4)")
                    .bind(tenant.to_string())
                    .bind(user.to_string())
                    .bind(now)
                    .bind(attempt)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn withdraw_second_factor_failure(&self, tenant: TenantId, attempt: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM second_factor_failures WHERE tenant_id = $1 AND attempt = $2")
                    .bind(tenant.to_string())
                    .bind(attempt)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn second_factor_failures(
                &self,
                tenant: TenantId,
                user: UserId,
                since: UnixTime,
                except: &str,
            ) -> Result<(u32, Option<UnixTime>), StoreError> {
                let row = sqlx::query(
                    "SELECT COUNT(*) AS failures, MAX(failed_at) AS newest FROM second_factor_failures \
                     WHERE tenant_id = $1 AND user_id = $2 AND failed_at > $3 AND COALESCE(attempt, '') <> $4",
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
                .bind(since)
                .bind(except)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                Ok((
                    to_u32(row.try_get("failures").map_err(db_err)?),
                    row.try_get("newest").map_err(db_err)?,
                ))
            }

            async fn sms_sent_since(&self, tenant: TenantId, since: UnixTime) -> Result<u32, StoreError> {
                let row = sqlx::query(
                    "SELECT COUNT(*) AS sent FROM outbox WHERE tenant_id = $1 AND channel = 'sms' AND created_at > $2",
                )
                .bind(tenant.to_string())
                .bind(since)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(to_u32(row.try_get("sent").map_err(db_err)?))
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
                    "DELETE FROM second_factor_failures WHERE failed_at < $1",
                    "DELETE FROM phone_verifications WHERE created_at < $1",
                    "DELETE FROM decoy_lockouts WHERE updated_at < $1 AND locked_until < $1",
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
                tx.commit().await.map_err(db_err)?;
                Ok(purged)
            }

            async fn create_otp_challenge(
                &self,
                challenge: &OtpChallengeRecord,
                message: &OutboxRecord,
                budget: Option<&SmsBudget>,
            ) -> Result<Result<(), TextRefused>, StoreError> {
                let mut tx = self.begin_write().await?;
                if let Some(budget) = budget {
                    if let Err(refused) = Self::check_sms_budget(&mut tx, challenge, budget).await? {
                        return Ok(Err(refused));
                    }
                }
                sqlx::query(
                    "UPDATE otp_challenges SET consumed_at = $4 \
                     WHERE tenant_id = $1 AND purpose = $2 AND subject = $3 AND consumed_at IS NULL",
                )
                .bind(challenge.tenant_id.to_string())
                .bind(challenge.purpose.as_str())
                .bind(&challenge.subject)
                .bind(challenge.created_at)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                let share = budget.map(|b| if b.to_new_number { "new" } else { "known" });
                sqlx::query(
                    "INSERT INTO otp_challenges (tenant_id, id, purpose, subject, code_digest, attempts, created_at, expires_at, requester, sms_share) \
                     VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9)",
                )
                .bind(challenge.tenant_id.to_string())
                .bind(challenge.id.to_string())
                .bind(challenge.purpose.as_str())
                .bind(&challenge.subject)
                .bind(&challenge.code_digest)
                .bind(challenge.created_at)
                .bind(challenge.expires_at)
                .bind(&challenge.requester)
                .bind(share)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                if let Some(registration) = budget.and_then(|b| b.registers.as_ref()) {
                    sqlx::query("INSERT INTO phone_verifications (tenant_id, user_id, number, created_at) VALUES ($1, $2, $3, $4)")
                        .bind(challenge.tenant_id.to_string())
                        .bind(registration.user.to_string())
                        .bind(&challenge.subject)
                        .bind(challenge.created_at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                Self::insert_outbox(&mut *tx, message).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(Ok(()))
            }

            async fn otp_send_stats(
                &self,
                tenant: TenantId,
                purpose: OtpPurpose,
                subject: &str,
                requester: &str,
                since: UnixTime,
                now: UnixTime,
            ) -> Result<OtpSendStats, StoreError> {
                let row = sqlx::query(
                    "SELECT COUNT(*) AS sent, MAX(created_at) AS newest, MIN(created_at) AS oldest, \
                     SUM(CASE WHEN requester = $5 THEN 1 ELSE 0 END) AS mine, \
                     MIN(CASE WHEN requester = $5 THEN created_at END) AS my_oldest FROM otp_challenges \
                     WHERE tenant_id = $1 AND purpose = $2 AND subject = $3 AND created_at > $4",
                )
                .bind(tenant.to_string())
                .bind(purpose.as_str())
                .bind(subject)
                .bind(since)
                .bind(requester)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                let newest = sqlx::query(
                    "SELECT id, attempts, requester FROM otp_challenges \
                     WHERE tenant_id = $1 AND purpose = $2 AND subject = $3 AND consumed_at IS NULL AND expires_at > $4 \
                     ORDER BY created_at DESC LIMIT 1",
                )
                .bind(tenant.to_string())
                .bind(purpose.as_str())
                .bind(subject)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                let live = match newest {
                    Some(row) => Some(LiveChallenge {
                        id: parse(&row.try_get::<String, _>("id").map_err(db_err)?, "id")?,
                        attempts: to_u32(row.try_get("attempts").map_err(db_err)?),
                        requester: row.try_get("requester").map_err(db_err)?,
                    }),
                    None => None,
                };
                Ok(OtpSendStats {
                    sent_last_hour: to_u32(row.try_get("sent").map_err(db_err)?),
                    last_sent_at: row.try_get("newest").map_err(db_err)?,
                    oldest_in_hour: row.try_get("oldest").map_err(db_err)?,
                    sent_by_requester: to_u32(row.try_get::<Option<i64>, _>("mine").map_err(db_err)?.unwrap_or(0)),
                    oldest_by_requester: row.try_get("my_oldest").map_err(db_err)?,
                    live,
                })
            }

            async fn attempt_otp(
                &self,
                tenant: TenantId,
                challenge: OtpChallengeId,
                _now: UnixTime,
            ) -> Result<Option<OtpAttempt>, StoreError> {
                let row = sqlx::query(
                    "UPDATE otp_challenges SET attempts = attempts + 1 \
                     WHERE tenant_id = $1 AND id = $2 AND consumed_at IS NULL \
                     RETURNING purpose, code_digest, attempts, expires_at",
                )
                .bind(tenant.to_string())
                .bind(challenge.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some(OtpAttempt {
                    purpose: parse(&row.try_get::<String, _>("purpose").map_err(db_err)?, "purpose")?,
                    code_digest: row.try_get("code_digest").map_err(db_err)?,
                    attempts: to_u32(row.try_get("attempts").map_err(db_err)?),
                    expires_at: row.try_get("expires_at").map_err(db_err)?,
                }))
            }

            async fn consume_otp(
                &self,
                tenant: TenantId,
                challenge: OtpChallengeId,
                now: UnixTime,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE otp_challenges SET consumed_at = $3 WHERE tenant_id = $1 AND id = $2 AND consumed_at IS NULL",
                )
                .bind(tenant.to_string())
                .bind(challenge.to_string())
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn enqueue_message(&self, message: &OutboxRecord) -> Result<(), StoreError> {
                let mut conn = self.pool.acquire().await.map_err(db_err)?;
                Self::insert_outbox(&mut *conn, message).await
            }

            async fn claim_outbox(
                &self,
                now: UnixTime,
                lease_until: UnixTime,
                limit: u32,
            ) -> Result<Vec<OutboxRecord>, StoreError> {
                // The outer `next_attempt_at <= $1` is re-checked on the locked row, so two
                // workers (or nodes) never claim the same message.
                let rows = sqlx::query(
                    "UPDATE outbox SET next_attempt_at = $2, attempts = attempts + 1 \
                     WHERE delivered_at IS NULL AND next_attempt_at <= $1 AND id IN \
                     (SELECT id FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= $1 \
                      AND (discard_after IS NULL OR discard_after > $1) \
                      ORDER BY next_attempt_at LIMIT $3) \
                     RETURNING id, tenant_id, channel, recipient, payload, created_at, attempts, discard_after",
                )
                .bind(now)
                .bind(lease_until)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter()
                    .map(|row| {
                        let tenant: Option<String> = row.try_get("tenant_id").map_err(db_err)?;
                        Ok(OutboxRecord {
                            id: parse(&row.try_get::<String, _>("id").map_err(db_err)?, "id")?,
                            tenant_id: tenant.map(|t| parse(&t, "tenant_id")).transpose()?,
                            channel: Channel::parse(&row.try_get::<String, _>("channel").map_err(db_err)?)
                                .ok_or_else(|| StoreError::Backend("unreadable channel".into()))?,
                            recipient: row.try_get("recipient").map_err(db_err)?,
                            payload: row.try_get("payload").map_err(db_err)?,
                            created_at: row.try_get("created_at").map_err(db_err)?,
                            attempts: to_u32(row.try_get("attempts").map_err(db_err)?),
                            discard_after: row.try_get("discard_after").map_err(db_err)?,
                        })
                    })
                    .collect()
            }

            async fn outbox_delivered(&self, id: OutboxId, now: UnixTime) -> Result<(), StoreError> {
                sqlx::query("UPDATE outbox SET delivered_at = $2, last_error = NULL, payload = '' WHERE id = $1")
                    .bind(id.to_string())
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn outbox_failed(&self, id: OutboxId, retry_at: Option<UnixTime>, error: &str) -> Result<(), StoreError> {
                // Given up: never due again, and the body goes (it may hold a code).
                let sql = if retry_at.is_some() {
                    "UPDATE outbox SET next_attempt_at = $2, last_error = $3 WHERE id = $1 AND delivered_at IS NULL"
                } else {
                    "UPDATE outbox SET next_attempt_at = $2, last_error = $3, payload = '' WHERE id = $1 AND delivered_at IS NULL"
                };
                sqlx::query(sql)
                    .bind(id.to_string())
                    .bind(retry_at.unwrap_or(i64::MAX / 2))
                    .bind(error)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn browser_apps(&self, tenant: TenantId) -> Result<Vec<Application>, StoreError> {
                let sql = concat!("SELECT ", app_columns!(),
                    " FROM applications WHERE tenant_id = $1 AND (native_auth = TRUE OR kind = 'spa') ORDER BY client_id");
                sqlx::query(sql)
                    .bind(tenant.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?
                    .iter()
                    .map(Self::application)
                    .collect()
            }

            async fn delivery_delayed(&self, tenant: TenantId, recipient: &str) -> Result<bool, StoreError> {
                let row = sqlx::query(
                    "SELECT delivered_at, last_error FROM outbox WHERE tenant_id = $1 AND recipient = $2 \
                     ORDER BY created_at DESC, id DESC LIMIT 1",
                )
                .bind(tenant.to_string())
                .bind(recipient)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(match row {
                    Some(row) => {
                        let delivered: Option<i64> = row.try_get("delivered_at").map_err(db_err)?;
                        let error: Option<String> = row.try_get("last_error").map_err(db_err)?;
                        delivered.is_none() && error.is_some()
                    }
                    None => false,
                })
            }

            async fn create_admin_token(&self, token: &AdminTokenRecord, digest: &str) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO admin_tokens (digest, id, name, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(digest)
                .bind(&token.id)
                .bind(&token.name)
                .bind(token.created_at)
                .bind(token.expires_at)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn admin_token_valid(&self, digest: &str, now: UnixTime) -> Result<Option<AdminTokenRecord>, StoreError> {
                sqlx::query(
                    "SELECT id, name, created_at, expires_at, revoked_at FROM admin_tokens \
                     WHERE digest = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
                )
                .bind(digest)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?
                .map(|row| Self::admin_token(&row))
                .transpose()
            }

            async fn admin_tokens(&self) -> Result<Vec<AdminTokenRecord>, StoreError> {
                sqlx::query(
                    "SELECT id, name, created_at, expires_at, revoked_at FROM admin_tokens ORDER BY created_at, id",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?
                .iter()
                .map(Self::admin_token)
                .collect()
            }

            async fn revoke_admin_token(&self, id: &str, now: UnixTime) -> Result<bool, StoreError> {
                let result = sqlx::query("UPDATE admin_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
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

sql_store!(SqliteStore, sqlx::sqlite::SqliteRow);
sql_store!(PgStore, sqlx::postgres::PgRow);
