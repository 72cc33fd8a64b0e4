//! OnPasswordSubmit: just-in-time password migration. An account imported with its password
//! still in a legacy store has no hash here; at its first password sign-in the extension
//! gets the password (encrypted to the extension's RSA key, in a JWE, as Entra sends it) and
//! says whether it is right. A right one is hashed and kept, and the extension is never asked
//! about this account again.

use serde_json::{Map, json};

use super::callout::CallFor;
use super::payload::{CalloutContext, envelope};
use super::{Answer, ExtensionEvent, jwe};
use crate::directory::{Tenant, User};
use crate::ids::ClientId;
use crate::{CoreError, Portico};

/// What the legacy store said of a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Migration {
    /// Right: its hash is now the account's.
    Migrated,
    /// Wrong (or no extension can tell).
    Wrong,
    /// Right, but the person must choose a new one.
    ResetRequired,
    /// The account may not sign in.
    Blocked,
}

/// The inner token of the password context: unsigned, as in Microsoft's sample (the JWE
/// around it is what protects it).
pub(crate) fn password_context(user: &User, password: &str, nonce: &str, now: i64) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = json!({"alg": "none", "typ": "JWT"});
    let claims = json!({
        "user-password": password,
        "username": user.email,
        "nonce": nonce,
        "iat": now,
        "exp": now + 300,
    });
    format!(
        "{}.{}.",
        b64.encode(header.to_string()),
        b64.encode(claims.to_string())
    )
}

impl Portico {
    /// The `encryptedPasswordContext` of a call to `extension`.
    pub(crate) fn encrypted_password(
        &self,
        extension: &super::Extension,
        user: &User,
        password: &str,
        nonce: &str,
    ) -> Result<String, CoreError> {
        use base64::Engine as _;
        let stored = extension.encryption_key.as_deref().unwrap_or_default();
        let der = base64::engine::general_purpose::STANDARD
            .decode(stored)
            .map_err(|_| CoreError::Internal("stored encryption key unreadable".into()))?;
        let inner = password_context(user, password, nonce, self.now());
        jwe::encrypt(&der, &jwe::key_id(&der), inner.as_bytes())
    }

    /// Asks the password-submit extension serving `client` about `password` for `user`,
    /// whose password is in a legacy store; keeps the hash of a right one.
    pub(crate) async fn submit_legacy_password(
        &self,
        tenant: &Tenant,
        client: Option<ClientId>,
        user: &User,
        password: &str,
        ip: std::net::IpAddr,
    ) -> Result<Migration, CoreError> {
        let Some(extension) = self
            .extension_for(tenant.id, ExtensionEvent::PasswordSubmit, client)
            .await?
        else {
            tracing::warn!(tenant.id = %tenant.id, user.id = %user.id, "a legacy password, and no password-submit extension to check it");
            // As long as a wrong password takes: the answer's timing tells nothing.
            self.passwords.verify(password.to_owned(), None).await?;
            return Ok(Migration::Wrong);
        };
        let nonce = crate::secret::random_token()?;
        let encrypted = self.encrypted_password(&extension, user, password, &nonce)?;
        let app = self.app_of(tenant.id, client).await?;
        let correlation_id = uuid::Uuid::new_v4().to_string();
        let context = CalloutContext {
            tenant,
            extension: &extension,
            correlation_id: &correlation_id,
            client: app.as_ref(),
            resource: None,
            client_ip: Some(ip),
            locale: None,
            user: Some(user),
            request_type: None,
        };
        let mut data = Map::new();
        data.insert("encryptedPasswordContext".into(), encrypted.into());
        let payload = envelope(&context, data);
        let call = CallFor {
            correlation_id: &correlation_id,
            client,
            nonce: Some(&nonce),
        };
        Ok(
            match self
                .call_extension(tenant, &extension, &payload, call)
                .await?
            {
                Answer::MigratePassword => {
                    let hash = self.passwords.hash(password.to_owned()).await?;
                    // False only if another sign-in migrated it first: the extension vouched
                    // for this password all the same.
                    self.store
                        .migrate_password(tenant.id, user.id, &hash)
                        .await?;
                    tracing::info!(tenant.id = %tenant.id, user.id = %user.id, "password migrated");
                    Migration::Migrated
                }
                Answer::UpdatePassword => Migration::ResetRequired,
                Answer::Block { .. } => Migration::Blocked,
                _ => Migration::Wrong,
            },
        )
    }
}
