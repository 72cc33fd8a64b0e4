use portico_keys::SigningAlgorithm;

use super::tenant::validate_tenant_name;
use super::{Email, NewUser, NewUserFlow, Tenant, TenantRef, User, UserFlow};
use crate::clock::UnixTime;
use crate::ids::UserFlowId;
use crate::ids::{TenantId, UserId};
use crate::secret::{digest_secret, random_token};
use crate::store::{AdminTokenRecord, KeyState};
use crate::{CoreError, Portico};

/// The longest password accepted; longer input is refused before hashing.
pub const MAX_PASSWORD_LEN: usize = 256;
/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Longest admin token name.
const MAX_ADMIN_TOKEN_NAME: usize = 100;
/// Longest admin token lifetime, in days (ten years).
const MAX_ADMIN_TOKEN_DAYS: i64 = 3650;

/// What an operator asks of a new admin token.
#[derive(Debug, Clone, Default)]
pub struct NewAdminToken {
    /// What it is for (shown in listings).
    pub name: Option<String>,
    /// Days until it stops working by itself (`None`: never).
    pub expires_in_days: Option<i64>,
    /// The expiry of the token that asks for this one: a token never outlives its issuer, so a
    /// short-lived token that leaks cannot mint a lasting one.
    pub issuer_expires_at: Option<UnixTime>,
}

/// Directory operations used by the CLI and the admin API.
impl Portico {
    /// Creates a tenant with a current and a next signing key, in one transaction.
    pub async fn create_tenant(
        &self,
        name: &str,
        signing_alg: SigningAlgorithm,
    ) -> Result<Tenant, CoreError> {
        let name = name.trim().to_ascii_lowercase();
        validate_tenant_name(&name).map_err(CoreError::Invalid)?;
        let now = self.now();
        let tenant = Tenant {
            id: TenantId::new_random(),
            name,
            signing_alg,
            created_at: now,
        };
        let current = self
            .keys
            .generate(tenant.id, signing_alg, KeyState::Current, now)
            .await?;
        let next = self
            .keys
            .generate(tenant.id, signing_alg, KeyState::Next, now)
            .await?;
        let default_flow = UserFlow::default_for(tenant.id, now);
        self.store
            .create_tenant(&tenant, &[current, next], &default_flow)
            .await?;
        tracing::info!(tenant.id = %tenant.id, tenant.name = %tenant.name, "tenant created");
        Ok(tenant)
    }

    /// Finds a tenant by id or name; [`CoreError::NotFound`] if there is none.
    pub async fn tenant(&self, tenant: &TenantRef) -> Result<Tenant, CoreError> {
        if let Some(found) = self.tenant_cache_get(tenant) {
            return Ok(found);
        }
        let found = self
            .store
            .find_tenant(tenant)
            .await?
            .ok_or(CoreError::NotFound("tenant"))?;
        self.tenant_cache_put(&found);
        Ok(found)
    }

    /// All tenants.
    pub async fn list_tenants(&self) -> Result<Vec<Tenant>, CoreError> {
        Ok(self.store.list_tenants().await?)
    }

    /// Creates the `default` tenant if the store has no tenant at all. Returns it if created.
    pub async fn bootstrap_default_tenant(&self) -> Result<Option<Tenant>, CoreError> {
        if !self.store.list_tenants().await?.is_empty() {
            return Ok(None);
        }
        match self.create_tenant("default", SigningAlgorithm::Rs256).await {
            Ok(tenant) => Ok(Some(tenant)),
            // Another node or process bootstrapped at the same moment.
            Err(CoreError::Conflict(_)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Rotates a tenant's signing keys (see [`crate::keyring`]).
    pub async fn rotate_keys(&self, tenant: &TenantRef) -> Result<(), CoreError> {
        let tenant = self.tenant(tenant).await?;
        let now = self.now();
        let next = self
            .keys
            .generate(tenant.id, tenant.signing_alg, KeyState::Next, now)
            .await?;
        // Tokens signed by the old key live at most this long.
        let retired_until = now
            + self
                .settings
                .access_token_lifetime_secs
                .max(self.settings.retired_key_publish_secs);
        self.store
            .rotate_signing_keys(tenant.id, &next, retired_until, now)
            .await?;
        self.keys.invalidate(tenant.id);
        tracing::info!(tenant.id = %tenant.id, "signing keys rotated");
        Ok(())
    }

    /// Creates a user flow; the listed apps move to it from whichever flow served them.
    pub async fn create_user_flow(
        &self,
        tenant: &TenantRef,
        new: NewUserFlow,
    ) -> Result<UserFlow, CoreError> {
        let tenant = self.tenant(tenant).await?;
        for client_id in &new.apps {
            if self.application(tenant.id, *client_id).await?.is_none() {
                return Err(CoreError::Invalid(format!(
                    "application {client_id} is not registered in this tenant"
                )));
            }
        }
        let flow = UserFlow {
            id: UserFlowId::new_random(),
            tenant_id: tenant.id,
            name: new.name.trim().to_owned(),
            config: new.config,
            is_default: false,
            apps: new.apps,
            created_at: self.now(),
        };
        flow.validate().map_err(CoreError::Invalid)?;
        self.store.create_user_flow(&flow).await?;
        self.user_flows_changed(tenant.id);
        Ok(flow)
    }

    /// The tenant's user flows, default first.
    pub async fn user_flows(&self, tenant: &TenantRef) -> Result<Vec<UserFlow>, CoreError> {
        let tenant = self.tenant(tenant).await?;
        Ok(self.store.user_flows(tenant.id).await?)
    }

    /// The flow that serves an application: the one it is attached to, else the default.
    pub async fn user_flow_for_app(
        &self,
        tenant: &Tenant,
        client_id: crate::ids::ClientId,
    ) -> Result<UserFlow, CoreError> {
        let flows = self.cached_user_flows(tenant.id).await?;
        Ok(flow_serving(tenant, &flows, client_id))
    }

    /// Creates a user, hashing the password (if any) on the blocking pool.
    pub async fn create_user(&self, tenant: &TenantRef, new: NewUser) -> Result<User, CoreError> {
        let tenant = self.tenant(tenant).await?;
        let email = Email::parse(&new.email).map_err(CoreError::Invalid)?;
        if new.legacy_password && new.password.is_some() {
            return Err(CoreError::Invalid(
                "a password in a legacy store is not given here".into(),
            ));
        }
        let password_hash = match new.password {
            Some(password) => {
                check_password_length(&password)?;
                Some(self.passwords.hash(password).await?)
            }
            None => None,
        };
        let display_name = new
            .display_name
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        let user = User {
            id: UserId::new_random(),
            tenant_id: tenant.id,
            email: email.as_str().to_owned(),
            display_name,
            password_hash,
            password_in_legacy_store: new.legacy_password,
            enabled: true,
            attributes: Default::default(),
            created_at: self.now(),
        };
        self.store.create_user(&user).await?;
        Ok(user)
    }

    /// A user of the tenant named by object id or by sign-in email.
    pub async fn find_user(&self, tenant: &TenantRef, user: &str) -> Result<User, CoreError> {
        let tenant = self.tenant(tenant).await?;
        self.find_tenant_user(&tenant, user).await
    }

    async fn find_tenant_user(&self, tenant: &Tenant, user: &str) -> Result<User, CoreError> {
        let found = match user.parse::<UserId>() {
            Ok(id) => self.store.find_user(tenant.id, id).await?,
            Err(_) => match Email::parse(user) {
                Ok(email) => {
                    self.store
                        .find_user_by_email(tenant.id, email.as_str())
                        .await?
                }
                Err(_) => None,
            },
        };
        found.ok_or(CoreError::NotFound("user"))
    }

    /// Enables or disables a user (by object id or email). Disabling signs the user out
    /// everywhere: sessions end and grants are revoked, so refresh tokens stop working too.
    pub async fn set_user_enabled(
        &self,
        tenant: &TenantRef,
        user: &str,
        enabled: bool,
    ) -> Result<User, CoreError> {
        let tenant = self.tenant(tenant).await?;
        let mut found = self.find_tenant_user(&tenant, user).await?;
        self.store
            .set_user_enabled(tenant.id, found.id, enabled, self.now())
            .await?;
        found.enabled = enabled;
        Ok(found)
    }

    /// Ends every SSO session and refresh-token family of a user (object id or sign-in
    /// email), as Entra's `revokeSignInSessions`: their apps' next refresh fails, and the
    /// next sign-in asks for credentials again. The account stays enabled.
    pub async fn revoke_sessions(&self, tenant: &TenantRef, user: &str) -> Result<User, CoreError> {
        let tenant = self.tenant(tenant).await?;
        let found = self.find_tenant_user(&tenant, user).await?;
        self.store
            .sign_out_user(tenant.id, found.id, self.now())
            .await?;
        tracing::info!(tenant.id = %tenant.id, user.id = %found.id, "sessions revoked");
        Ok(found)
    }

    /// Issues a new admin API token that never expires (the first start's token, tests).
    pub async fn create_admin_token(&self) -> Result<String, CoreError> {
        let (token, _) = self.issue_admin_token(NewAdminToken::default()).await?;
        Ok(token)
    }

    /// Issues an admin API token with a name and a lifetime; only its digest is stored.
    /// Returns the token (shown once) and its record.
    pub async fn issue_admin_token(
        &self,
        new: NewAdminToken,
    ) -> Result<(String, AdminTokenRecord), CoreError> {
        if let Some(name) = &new.name
            && (name.is_empty()
                || name.chars().count() > MAX_ADMIN_TOKEN_NAME
                || name.chars().any(char::is_control))
        {
            return Err(CoreError::Invalid(format!(
                "a token name is 1 to {MAX_ADMIN_TOKEN_NAME} characters, without control characters"
            )));
        }
        if let Some(days) = new.expires_in_days
            && !(1..=MAX_ADMIN_TOKEN_DAYS).contains(&days)
        {
            return Err(CoreError::Invalid(format!(
                "a token expires in 1 to {MAX_ADMIN_TOKEN_DAYS} days"
            )));
        }
        let now = self.now();
        let record = AdminTokenRecord {
            id: uuid::Uuid::new_v4().to_string(),
            name: new.name,
            created_at: now,
            expires_at: match (
                new.expires_in_days.map(|days| now + days * 24 * 3600),
                new.issuer_expires_at,
            ) {
                (Some(asked), Some(cap)) => Some(asked.min(cap)),
                (asked, cap) => asked.or(cap),
            },
            revoked_at: None,
        };
        let token = format!("pat_{}", random_token()?);
        self.store
            .create_admin_token(&record, &digest_secret(&token))
            .await?;
        Ok((token, record))
    }

    /// Every admin token (without secrets), revoked and expired ones too.
    pub async fn admin_tokens(&self) -> Result<Vec<AdminTokenRecord>, CoreError> {
        Ok(self.store.admin_tokens().await?)
    }

    /// Revokes an admin token at once (every node: tokens are checked in the store).
    pub async fn revoke_admin_token(&self, id: &str) -> Result<(), CoreError> {
        if self.store.revoke_admin_token(id, self.now()).await? {
            Ok(())
        } else {
            Err(CoreError::NotFound("live admin token with this id"))
        }
    }

    /// `token`'s record if it is a live admin API token (known, not revoked, not expired).
    pub async fn admin_token(&self, token: &str) -> Result<Option<AdminTokenRecord>, CoreError> {
        if !token.starts_with("pat_") || token.len() > 128 {
            return Ok(None);
        }
        Ok(self
            .store
            .admin_token_valid(&digest_secret(token), self.now())
            .await?)
    }
}

/// Passwords are 8 to 256 characters.
pub(crate) fn check_password_length(password: &str) -> Result<(), CoreError> {
    let len = password.chars().count();
    if (MIN_PASSWORD_LEN..=MAX_PASSWORD_LEN).contains(&len) {
        Ok(())
    } else {
        Err(CoreError::Invalid(format!(
            "password must be {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters"
        )))
    }
}

/// Which of a tenant's `flows` serves an application: the one it is attached to, else the
/// default (a tenant that has none yet gets the built-in default).
pub fn flow_serving(
    tenant: &Tenant,
    flows: &[UserFlow],
    client_id: crate::ids::ClientId,
) -> UserFlow {
    flows
        .iter()
        .find(|f| f.apps.contains(&client_id))
        .or_else(|| flows.iter().find(|f| f.is_default))
        .cloned()
        .unwrap_or_else(|| UserFlow::default_for(tenant.id, tenant.created_at))
}
