//! Managing applications: register, list, show, change and delete. Every field an operator
//! sets is checked by the same rules whether the app is new or changed.

use super::application::{normalize_cors_origin, validate_optional_claim, validate_redirect_uri};
use super::{Application, NewApplication, TenantRef};
use crate::ids::ClientId;
use crate::secret::{digest_secret, random_token};
use crate::{CoreError, Portico};

/// A freshly registered application and, for confidential clients, its secret (shown once).
#[derive(Debug, Clone)]
pub struct CreatedApplication {
    /// The stored application.
    pub application: Application,
    /// The client secret in clear; only ever returned here.
    pub client_secret: Option<String>,
}

/// Changes to an application: what is left out stays as it is, and a list given replaces
/// the old one.
#[derive(Debug, Clone, Default)]
pub struct AppChanges {
    /// Display name.
    pub name: Option<String>,
    /// Redirect URIs (matched exactly; also the allowed post-logout redirect URIs).
    pub redirect_uris: Option<Vec<String>>,
    /// User attributes to put into the app's tokens.
    pub optional_claims: Option<Vec<String>>,
    /// The native-authentication API (public clients only).
    pub native_auth: Option<bool>,
    /// Origins allowed to call the native-authentication API from a browser.
    pub cors_origins: Option<Vec<String>>,
}

/// `app` as an operator may store it: every rule checked, lists without repeats, origins in
/// the form browsers send.
fn checked(mut app: Application) -> Result<Application, CoreError> {
    let name = app.name.trim();
    if name.is_empty() || name.chars().count() > 256 {
        return Err(CoreError::Invalid(
            "application name must be 1-256 characters".into(),
        ));
    }
    app.name = name.to_owned();
    for uri in &app.redirect_uris {
        validate_redirect_uri(app.kind, uri).map_err(CoreError::Invalid)?;
    }
    dedup(&mut app.redirect_uris);
    if let Some(uri) = &app.identifier_uri {
        url::Url::parse(uri).map_err(|_| {
            CoreError::Invalid(format!("identifier URI {uri:?} is not an absolute URI"))
        })?;
    }
    for claim in &app.optional_claims {
        validate_optional_claim(claim).map_err(CoreError::Invalid)?;
    }
    dedup(&mut app.optional_claims);
    if app.native_auth && app.kind.is_confidential() {
        return Err(CoreError::Invalid(
            "the native authentication API is for public clients (spa or native apps)".into(),
        ));
    }
    if !app.cors_origins.is_empty() && !app.native_auth {
        return Err(CoreError::Invalid(
            "CORS origins apply to the native authentication API: enable it too".into(),
        ));
    }
    app.cors_origins = app
        .cors_origins
        .iter()
        .map(|origin| normalize_cors_origin(origin).map_err(CoreError::Invalid))
        .collect::<Result<_, _>>()?;
    dedup(&mut app.cors_origins);
    Ok(app)
}

/// Drops repeats, keeping the first of each.
fn dedup(list: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    list.retain(|item| seen.insert(item.clone()));
}

impl Portico {
    /// Registers an application; confidential clients get a secret, returned only here.
    pub async fn create_application(
        &self,
        tenant: &TenantRef,
        new: NewApplication,
    ) -> Result<CreatedApplication, CoreError> {
        let tenant = self.tenant(tenant).await?;
        let client_secret = if new.kind.is_confidential() {
            Some(random_token()?)
        } else {
            None
        };
        let application = checked(Application {
            client_id: ClientId::new_random(),
            tenant_id: tenant.id,
            name: new.name,
            kind: new.kind,
            secret_digest: client_secret.as_deref().map(digest_secret),
            redirect_uris: new.redirect_uris,
            identifier_uri: new.identifier_uri,
            optional_claims: new.optional_claims,
            native_auth: new.native_auth,
            cors_origins: new.cors_origins,
            created_at: self.now(),
        })?;
        self.store.create_application(&application).await?;
        self.applications_changed();
        Ok(CreatedApplication {
            application,
            client_secret,
        })
    }

    /// The tenant's applications, oldest first.
    pub async fn list_applications(
        &self,
        tenant: &TenantRef,
    ) -> Result<Vec<Application>, CoreError> {
        let tenant = self.tenant(tenant).await?;
        Ok(self.store.applications(tenant.id).await?)
    }

    /// One application of the tenant, read from the store (not the cache: an operator sees
    /// what is stored).
    pub async fn show_application(
        &self,
        tenant: &TenantRef,
        client_id: ClientId,
    ) -> Result<Application, CoreError> {
        let tenant = self.tenant(tenant).await?;
        self.store
            .find_application(tenant.id, client_id)
            .await?
            .ok_or(CoreError::NotFound("application"))
    }

    /// Changes an application and returns it as stored. A redirect URI taken off is refused
    /// at once on this node, and within the application cache's lifetime on the others.
    pub async fn update_application(
        &self,
        tenant: &TenantRef,
        client_id: ClientId,
        changes: AppChanges,
    ) -> Result<Application, CoreError> {
        let mut app = self.show_application(tenant, client_id).await?;
        let AppChanges {
            name,
            redirect_uris,
            optional_claims,
            native_auth,
            cors_origins,
        } = changes;
        app.name = name.unwrap_or(app.name);
        app.redirect_uris = redirect_uris.unwrap_or(app.redirect_uris);
        app.optional_claims = optional_claims.unwrap_or(app.optional_claims);
        app.native_auth = native_auth.unwrap_or(app.native_auth);
        // Turning the native API off takes its browser origins with it, unless new ones are
        // given (which the check then refuses).
        app.cors_origins = match cors_origins {
            Some(origins) => origins,
            None if !app.native_auth => Vec::new(),
            None => app.cors_origins,
        };
        let app = checked(app)?;
        self.store.update_application(&app).await?;
        self.applications_changed();
        tracing::info!(tenant.id = %app.tenant_id, client_id = %app.client_id, "application changed");
        Ok(app)
    }

    /// Deletes an application: its grants end (codes and refresh tokens stop working) and it
    /// leaves its user flow. SSO sessions stay: they belong to people, not to apps.
    pub async fn delete_application(
        &self,
        tenant: &TenantRef,
        client_id: ClientId,
    ) -> Result<(), CoreError> {
        let tenant = self.tenant(tenant).await?;
        if !self.store.delete_application(tenant.id, client_id).await? {
            return Err(CoreError::NotFound("application"));
        }
        self.applications_changed();
        tracing::info!(tenant.id = %tenant.id, %client_id, "application deleted");
        Ok(())
    }
}
