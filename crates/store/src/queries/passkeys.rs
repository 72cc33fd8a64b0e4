//! Passkeys and WebAuthn ceremonies.

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::clock::UnixTime;
use portico_core::ids::{TenantId, UserId};
use portico_core::store::{PasskeyRecord, PasskeyStore, PasskeyUse, WebauthnChallengeRecord};
use sqlx::Row as _;

use crate::rows::parse;
use crate::{PgStore, SqliteStore, db_err};

macro_rules! passkey_columns {
    () => {
        "tenant_id, credential_id, user_id, user_handle, name, credential, aaguid, \
         backup_eligible, backup_state, sign_count, created_at, last_used_at"
    };
}

macro_rules! passkeys_queries {
    ($store:ty, $row:ty) => {
        impl $store {
            fn passkey_record(row: &$row) -> Result<PasskeyRecord, StoreError> {
                Ok(PasskeyRecord {
                    tenant_id: parse(&row.try_get::<String, _>("tenant_id").map_err(db_err)?, "tenant_id")?,
                    credential_id: row.try_get("credential_id").map_err(db_err)?,
                    user_id: parse(&row.try_get::<String, _>("user_id").map_err(db_err)?, "user_id")?,
                    user_handle: row.try_get("user_handle").map_err(db_err)?,
                    name: row.try_get("name").map_err(db_err)?,
                    credential: row.try_get("credential").map_err(db_err)?,
                    aaguid: row.try_get("aaguid").map_err(db_err)?,
                    backup_eligible: row.try_get("backup_eligible").map_err(db_err)?,
                    backup_state: row.try_get("backup_state").map_err(db_err)?,
                    sign_count: row.try_get("sign_count").map_err(db_err)?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                    last_used_at: row.try_get("last_used_at").map_err(db_err)?,
                })
            }
        }

        #[async_trait]
        impl PasskeyStore for $store {
            async fn add_passkey(&self, passkey: &PasskeyRecord) -> Result<bool, StoreError> {
                let added = sqlx::query(concat!(
                    "INSERT INTO passkeys (", passkey_columns!(), ") \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     ON CONFLICT (tenant_id, credential_id) DO NOTHING"
                ))
                .bind(passkey.tenant_id.to_string())
                .bind(&passkey.credential_id)
                .bind(passkey.user_id.to_string())
                .bind(&passkey.user_handle)
                .bind(&passkey.name)
                .bind(&passkey.credential)
                .bind(&passkey.aaguid)
                .bind(passkey.backup_eligible)
                .bind(passkey.backup_state)
                .bind(passkey.sign_count)
                .bind(passkey.created_at)
                .bind(passkey.last_used_at)
                .execute(&self.pool)
                .await
                .map_err(db_err)?
                .rows_affected();
                Ok(added == 1)
            }

            async fn passkeys_of(&self, tenant: TenantId, user: UserId) -> Result<Vec<PasskeyRecord>, StoreError> {
                let rows = sqlx::query(concat!(
                    "SELECT ", passkey_columns!(), " FROM passkeys WHERE tenant_id = $1 AND user_id = $2 \
                     ORDER BY created_at, credential_id"
                ))
                .bind(tenant.to_string())
                .bind(user.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter().map(Self::passkey_record).collect()
            }

            async fn passkey(&self, tenant: TenantId, credential_id: &str) -> Result<Option<PasskeyRecord>, StoreError> {
                sqlx::query(concat!(
                    "SELECT ", passkey_columns!(), " FROM passkeys WHERE tenant_id = $1 AND credential_id = $2"
                ))
                .bind(tenant.to_string())
                .bind(credential_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?
                .as_ref()
                .map(Self::passkey_record)
                .transpose()
            }

            async fn record_passkey_use(&self, tenant: TenantId, credential_id: &str, seen: i64, used: &PasskeyUse) -> Result<bool, StoreError> {
                let updated = sqlx::query(
                    "UPDATE passkeys SET credential = $3, sign_count = $4, backup_eligible = $5, backup_state = $6, \
                     last_used_at = $7 WHERE tenant_id = $1 AND credential_id = $2 AND sign_count = $8",
                )
                .bind(tenant.to_string())
                .bind(credential_id)
                .bind(&used.credential)
                .bind(used.sign_count)
                .bind(used.backup_eligible)
                .bind(used.backup_state)
                .bind(used.used_at)
                .bind(seen)
                .execute(&self.pool)
                .await
                .map_err(db_err)?
                .rows_affected();
                Ok(updated == 1)
            }

            async fn rename_passkey(&self, tenant: TenantId, user: UserId, credential_id: &str, name: &str) -> Result<bool, StoreError> {
                let renamed = sqlx::query(
                    "UPDATE passkeys SET name = $4 WHERE tenant_id = $1 AND user_id = $2 AND credential_id = $3",
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
                .bind(credential_id)
                .bind(name)
                .execute(&self.pool)
                .await
                .map_err(db_err)?
                .rows_affected();
                Ok(renamed == 1)
            }

            async fn remove_passkey(&self, tenant: TenantId, user: UserId, credential_id: &str) -> Result<bool, StoreError> {
                let removed = sqlx::query(
                    "DELETE FROM passkeys WHERE tenant_id = $1 AND user_id = $2 AND credential_id = $3",
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
                .bind(credential_id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?
                .rows_affected();
                Ok(removed == 1)
            }

            async fn create_webauthn_challenge(&self, challenge: &WebauthnChallengeRecord) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO webauthn_challenges (tenant_id, id, purpose, binding, user_id, state, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(challenge.tenant_id.to_string())
                .bind(&challenge.id)
                .bind(&challenge.purpose)
                .bind(&challenge.binding)
                .bind(challenge.user_id.map(|u| u.to_string()))
                .bind(&challenge.state)
                .bind(challenge.expires_at)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn take_webauthn_challenge(&self, tenant: TenantId, id: &str, now: UnixTime) -> Result<Option<WebauthnChallengeRecord>, StoreError> {
                let row = sqlx::query(
                    "DELETE FROM webauthn_challenges WHERE tenant_id = $1 AND id = $2 \
                     RETURNING purpose, binding, user_id, state, expires_at",
                )
                .bind(tenant.to_string())
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                let Some(row) = row else { return Ok(None) };
                let expires_at: i64 = row.try_get("expires_at").map_err(db_err)?;
                if expires_at <= now {
                    return Ok(None);
                }
                let user: Option<String> = row.try_get("user_id").map_err(db_err)?;
                Ok(Some(WebauthnChallengeRecord {
                    tenant_id: tenant,
                    id: id.to_owned(),
                    purpose: row.try_get("purpose").map_err(db_err)?,
                    binding: row.try_get("binding").map_err(db_err)?,
                    user_id: user.map(|u| parse(&u, "user_id")).transpose()?,
                    state: row.try_get("state").map_err(db_err)?,
                    expires_at,
                }))
            }
        }
    };
}

passkeys_queries!(SqliteStore, sqlx::sqlite::SqliteRow);
passkeys_queries!(PgStore, sqlx::postgres::PgRow);
