//! Initial access tokens (RFC 7591 §3): what an operator hands out so that its holder may
//! register apps in one tenant, a number of times, until it expires.

use crate::directory::TenantRef;
use crate::secret::{digest_secret, random_token};
use crate::store::InitialAccessTokenRecord;
use crate::{CoreError, Portico};

/// Days an initial access token works unless its operator says otherwise.
pub const DEFAULT_INITIAL_TOKEN_DAYS: u32 = 7;

impl Portico {
    /// Makes an initial access token for a tenant: good for `uses` registrations within
    /// `days` days. The token is returned only here.
    pub async fn create_initial_access_token(
        &self,
        tenant: &TenantRef,
        days: Option<u32>,
        uses: Option<u32>,
    ) -> Result<(String, InitialAccessTokenRecord), CoreError> {
        let tenant = self.tenant(tenant).await?;
        let days = days.unwrap_or(DEFAULT_INITIAL_TOKEN_DAYS);
        let uses = uses.unwrap_or(1);
        if !(1..=90).contains(&days) || !(1..=10_000).contains(&uses) {
            return Err(CoreError::Invalid(
                "an initial access token works 1 to 90 days, for 1 to 10000 registrations".into(),
            ));
        }
        let token = random_token()?;
        let now = self.now();
        let record = InitialAccessTokenRecord {
            tenant_id: tenant.id,
            id: uuid::Uuid::new_v4().to_string(),
            token_digest: digest_secret(&token),
            max_uses: uses,
            uses: 0,
            created_at: now,
            expires_at: now + i64::from(days) * 86_400,
        };
        self.store.create_initial_access_token(&record).await?;
        tracing::info!(tenant.id = %tenant.id, token.id = %record.id, "initial access token created");
        Ok((token, record))
    }

    /// A tenant's initial access tokens (digests only), oldest first.
    pub async fn initial_access_tokens(
        &self,
        tenant: &TenantRef,
    ) -> Result<Vec<InitialAccessTokenRecord>, CoreError> {
        let tenant = self.tenant(tenant).await?;
        Ok(self.store.initial_access_tokens(tenant.id).await?)
    }

    /// Revokes an initial access token (apps registered with it stay).
    pub async fn revoke_initial_access_token(
        &self,
        tenant: &TenantRef,
        id: &str,
    ) -> Result<(), CoreError> {
        let tenant = self.tenant(tenant).await?;
        if !self
            .store
            .revoke_initial_access_token(tenant.id, id)
            .await?
        {
            return Err(CoreError::NotFound("initial access token"));
        }
        Ok(())
    }
}
