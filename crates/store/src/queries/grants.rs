//! Grants: authorization codes, refresh tokens and their revocation.

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::clock::UnixTime;
use portico_core::ids::{ClientId, GrantId, TenantId};
use portico_core::store::GrantStore;
use portico_core::store::{
    AuthCodeRecord, CodeRedemption, GrantRecord, RefreshLifetime, RefreshPins, RefreshRedemption,
    RefreshTokenRecord, SessionRecord,
};
use sqlx::Row as _;

use crate::rows::parse;
use crate::{PgStore, SqliteStore, db_err};

macro_rules! grants_queries {
    ($store:ty, $row:ty) => {
        impl $store {
            /// A refresh token from a row of `grant_id, client_id, user_id, session_id, scope,
            /// auth_time, amr, created_at, expires_at, audience, dpop_jkt`.
            fn refresh_record(row: &$row, digest: &str, tenant: TenantId) -> Result<RefreshTokenRecord, StoreError> {
                Ok(RefreshTokenRecord {
                    token_digest: digest.to_owned(),
                    tenant_id: tenant,
                    grant_id: parse(&row.try_get::<String, _>("grant_id").map_err(db_err)?, "grant_id")?,
                    client_id: parse(&row.try_get::<String, _>("client_id").map_err(db_err)?, "client_id")?,
                    user_id: parse(&row.try_get::<String, _>("user_id").map_err(db_err)?, "user_id")?,
                    session_id: parse(&row.try_get::<String, _>("session_id").map_err(db_err)?, "session_id")?,
                    scope: row.try_get("scope").map_err(db_err)?,
                    auth_time: row.try_get("auth_time").map_err(db_err)?,
                    amr: row.try_get("amr").map_err(db_err)?,
                    issued_at: row.try_get("created_at").map_err(db_err)?,
                    expires_at: row.try_get("expires_at").map_err(db_err)?,
                    audience: row
                        .try_get::<Option<String>, _>("audience")
                        .map_err(db_err)?
                        .map(|a| parse(&a, "audience"))
                        .transpose()?,
                    dpop_jkt: row.try_get("dpop_jkt").map_err(db_err)?,
                })
            }

            /// Inserts a grant under its live session. The session's row is locked first (a
            /// no-op update: PostgreSQL re-checks `ended_at` once a concurrent sign-out
            /// commits), so a sign-out either came first (the session is gone:
            /// [`StoreError::SessionEnded`]) or waits for this grant and revokes it too.
            pub(crate) async fn insert_grant(
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
                // The session's apps outlive the grant rows (purged a day after their last
                // token): logout must reach every app the session ever served.
                sqlx::query(
                    "INSERT INTO session_clients (tenant_id, session_id, client_id) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(grant.tenant_id.to_string())
                .bind(grant.session_id.to_string())
                .bind(grant.client_id.to_string())
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
                     auth_time, created_at, expires_at, amr, audience, dpop_jkt) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
                .bind(token.audience.map(|a| a.to_string()))
                .bind(&token.dpop_jkt)
                .execute(executor)
                .await
                .map_err(db_err)?;
                Ok(())
            }
        }

        #[async_trait]
        impl GrantStore for $store {
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
                     redirect_uri, scope, nonce, code_challenge, auth_time, expires_at, amr, dpop_jkt, extension_claims) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
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
                .bind(&code.dpop_jkt)
                .bind(&code.extension_claims)
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
                     RETURNING client_id, user_id, grant_id, session_id, redirect_uri, scope, nonce, code_challenge, auth_time, amr, expires_at, dpop_jkt, extension_claims",
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
                        dpop_jkt: row.try_get("dpop_jkt").map_err(db_err)?,
                        extension_claims: row.try_get("extension_claims").map_err(db_err)?,
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

            async fn create_session_grant(
                &self,
                session: &SessionRecord,
                signed_out_at: UnixTime,
                grant: &GrantRecord,
                refresh: Option<&RefreshTokenRecord>,
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::insert_session(&mut tx, session, signed_out_at).await?;
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
                pins: RefreshPins,
                now: UnixTime,
            ) -> Result<RefreshRedemption, StoreError> {
                let mut tx = self.begin_write().await?;
                let spent = sqlx::query(
                    "UPDATE refresh_tokens SET used_at = $3 \
                     WHERE tenant_id = $1 AND token_digest = $2 AND used_at IS NULL AND expires_at > $3 \
                     RETURNING grant_id, client_id, user_id, session_id, scope, auth_time, amr, created_at, expires_at, audience, dpop_jkt",
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
                let record = Self::refresh_record(&row, old_digest, tenant)?;
                let successor = RefreshTokenRecord {
                    token_digest: new_digest.to_owned(),
                    issued_at: now,
                    expires_at: new_expires_at,
                    audience: record.audience.or(pins.audience),
                    dpop_jkt: record.dpop_jkt.clone().or(pins.dpop_jkt),
                    ..record.clone()
                };
                Self::insert_refresh_token(&mut *tx, &successor).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(RefreshRedemption::Rotated(Box::new(record)))
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

            async fn grant_client(&self, tenant: TenantId, grant: GrantId) -> Result<Option<ClientId>, StoreError> {
                let row = sqlx::query("SELECT client_id FROM grants WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.to_string())
                    .bind(grant.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.map(|row| parse(&row.try_get::<String, _>("client_id").map_err(db_err)?, "client_id"))
                    .transpose()
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

            async fn live_refresh_token(
                &self,
                tenant: TenantId,
                digest: &str,
                now: UnixTime,
            ) -> Result<Option<RefreshTokenRecord>, StoreError> {
                let row = sqlx::query(
                    "SELECT r.grant_id, r.client_id, r.user_id, r.session_id, r.scope, r.auth_time, r.amr, \
                     r.created_at, r.expires_at, r.audience, r.dpop_jkt FROM refresh_tokens r \
                     JOIN grants g ON g.tenant_id = r.tenant_id AND g.id = r.grant_id \
                     WHERE r.tenant_id = $1 AND r.token_digest = $2 AND r.used_at IS NULL AND r.expires_at > $3 \
                     AND g.revoked_at IS NULL",
                )
                .bind(tenant.to_string())
                .bind(digest)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                row.map(|row| Self::refresh_record(&row, digest, tenant))
                .transpose()
            }
        }
    };
}

grants_queries!(SqliteStore, sqlx::sqlite::SqliteRow);
grants_queries!(PgStore, sqlx::postgres::PgRow);
