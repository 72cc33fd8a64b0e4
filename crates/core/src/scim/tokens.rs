use crate::directory::{Tenant, TenantRef};
use crate::secret::{digest_secret, random_token};
use crate::store::ScimTokenRecord;
use crate::{CoreError, Portico};

/// The longest an operator may let a SCIM token live, in days (ten years: provisioning
/// connectors are configured once and forgotten; a token without expiry is also allowed).
pub const MAX_SCIM_TOKEN_DAYS: u32 = 3650;

/// The app role that lets an OAuth access token read and change a tenant's directory over
/// SCIM (held by a client app, app-only, or by a user, in delegated tokens).
pub const SCIM_WRITE_ROLE: &str = "SCIM.ReadWrite";
/// The app role that lets an OAuth access token read it.
pub const SCIM_READ_ROLE: &str = "SCIM.Read";

/// Who is provisioning: a SCIM token, or an OAuth client holding a SCIM role (named in the
/// audit log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimCaller {
    actor: String,
    writes: bool,
}

impl ScimCaller {
    /// How the audit log names it: `scim-token:<id>` or `oauth-client:<client id>`.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The actor, if it may change the directory; `Forbidden` for read-only callers.
    pub fn writer(&self) -> Result<&str, super::ScimProblem> {
        if self.writes {
            Ok(&self.actor)
        } else {
            Err(super::ScimProblem::Forbidden(format!(
                "the token holds {SCIM_READ_ROLE}, not {SCIM_WRITE_ROLE}"
            )))
        }
    }
}

impl Portico {
    /// Makes a SCIM token for a tenant, working for `days` days (`None`: until revoked). The
    /// token is returned only here; a digest is stored.
    pub async fn create_scim_token(
        &self,
        tenant: &TenantRef,
        days: Option<u32>,
    ) -> Result<(String, ScimTokenRecord), CoreError> {
        let tenant = self.tenant(tenant).await?;
        if days.is_some_and(|d| !(1..=MAX_SCIM_TOKEN_DAYS).contains(&d)) {
            return Err(CoreError::Invalid(format!(
                "a SCIM token works 1 to {MAX_SCIM_TOKEN_DAYS} days (or, without --expires-in, until revoked)"
            )));
        }
        let token = random_token()?;
        let now = self.now();
        let record = ScimTokenRecord {
            tenant_id: tenant.id,
            id: uuid::Uuid::new_v4().to_string(),
            created_at: now,
            expires_at: days.map(|d| now + i64::from(d) * 86_400),
            revoked_at: None,
        };
        self.store
            .create_scim_token(&record, &digest_secret(&token))
            .await?;
        tracing::info!(tenant.id = %tenant.id, token.id = %record.id, "SCIM token created");
        Ok((token, record))
    }

    /// A tenant's SCIM tokens (never the tokens themselves), oldest first.
    pub async fn scim_tokens(&self, tenant: &TenantRef) -> Result<Vec<ScimTokenRecord>, CoreError> {
        let tenant = self.tenant(tenant).await?;
        Ok(self.store.scim_tokens(tenant.id).await?)
    }

    /// Revokes a SCIM token: it stops working at once, on every node.
    pub async fn revoke_scim_token(&self, tenant: &TenantRef, id: &str) -> Result<(), CoreError> {
        let tenant = self.tenant(tenant).await?;
        if !self
            .store
            .revoke_scim_token(tenant.id, id, self.now())
            .await?
        {
            return Err(CoreError::NotFound("SCIM token"));
        }
        tracing::info!(tenant.id = %tenant.id, token.id = %id, "SCIM token revoked");
        Ok(())
    }

    /// The provisioning client behind a bearer token, if it is a live SCIM token of this
    /// tenant (another tenant's token is not).
    pub async fn scim_caller(
        &self,
        tenant: &Tenant,
        bearer: &str,
    ) -> Result<Option<ScimCaller>, CoreError> {
        if let Some(record) = self
            .store
            .scim_token_valid(tenant.id, &digest_secret(bearer), self.now())
            .await?
        {
            return Ok(Some(ScimCaller {
                actor: format!("scim-token:{}", record.id),
                writes: true,
            }));
        }
        // Otherwise an OAuth access token of this tenant for the API the operator named for
        // SCIM (roles are an API's own: another API's `SCIM.ReadWrite` means nothing here),
        // presented as a bearer token (a DPoP-bound one is refused here), whose roles
        // include a SCIM role.
        let Some(scim_api) = self.tenant_settings(tenant.id).await?.scim_api else {
            return Ok(None);
        };
        let Ok(claims) = self.verify_access_token(tenant, bearer).await else {
            return Ok(None);
        };
        if claims.aud != scim_api.to_string() {
            return Ok(None);
        }
        if self
            .check_presentation(tenant, bearer, &claims, crate::oauth::Presentation::Bearer)
            .await
            .is_err()
        {
            return Ok(None);
        }
        let roles = claims.roles.unwrap_or_default();
        let writes = roles.iter().any(|r| r == SCIM_WRITE_ROLE);
        if !writes && !roles.iter().any(|r| r == SCIM_READ_ROLE) {
            return Ok(None);
        }
        // A delegated token acts for a person: the audit log names them too.
        let actor = match claims.scp {
            Some(_) => format!("oauth-user:{}@{}", claims.oid, claims.azp),
            None => format!("oauth-client:{}", claims.azp),
        };
        Ok(Some(ScimCaller { actor, writes }))
    }
}
