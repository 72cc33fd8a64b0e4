//! Which API an access token is for and what it carries there. A request names at most one
//! API (Entra's rule: one resource per token); its scopes are `{API}/{scope}`, where the API
//! is named by Application ID URI, client id or `api://{client id}`, and `{API}/.default`
//! means everything granted to the client on it (by an administrator, or by the user's
//! consent). A scope the API does not expose is `invalid_scope` at once; one exposed but
//! neither granted nor consented leads the hosted sign-in to the consent step
//! (`consent.rs`), and is `invalid_scope` at the token endpoint. The OpenID Connect scopes
//! are always available. A request naming no API gets a token for the client itself, as before
//! APIs existed.

use super::scope::OIDC_SCOPES;
use super::{OAuthError, OAuthErrorCode, Scope};
use crate::directory::{Application, Tenant};
use crate::ids::{ClientId, UserId};
use crate::store::PermissionKind;
use crate::{CoreError, Portico};

/// The scope value that asks for everything granted on an API.
pub(super) const DEFAULT_SCOPE: &str = ".default";

/// A requested scope split into the OpenID Connect scopes and the one API it names.
#[derive(Debug, Clone)]
pub(crate) struct RequestedScope {
    /// `openid`, `profile`, `email`, `offline_access` as asked.
    pub oidc: Vec<String>,
    /// The API, the name the request used for it, and the scope names asked of it.
    pub api: Option<(Application, String, Vec<String>)>,
}

/// What an access token is for and carries, decided from what is granted now.
#[derive(Debug, Clone)]
pub struct Audience {
    /// The app the access token is for (`aud`): the API asked for, or the client itself.
    pub app: Application,
    /// `scp`: the API's delegated scopes, or for the client itself the OpenID Connect scopes
    /// (without `offline_access`); empty in app-only tokens.
    pub scp: Vec<String>,
    /// `roles`: the app roles of the audience the user (or, app-only, the client) holds.
    pub roles: Vec<String>,
    /// The scope the token response reports (`.default` expanded).
    pub granted: Scope,
}

fn invalid_scope(description: impl Into<String>) -> OAuthError {
    OAuthError::new(OAuthErrorCode::InvalidScope, description)
}

impl Portico {
    /// Splits a requested scope and finds the API it names: unknown APIs, scopes of more than
    /// one API, scopes the API does not expose and `.default` mixed with named scopes are
    /// `invalid_scope`.
    pub(crate) async fn split_scope(
        &self,
        tenant: &Tenant,
        scope: &Scope,
    ) -> Result<RequestedScope, OAuthError> {
        let mut oidc = Vec::new();
        let mut api: Option<(Application, String, Vec<String>)> = None;
        for token in scope.iter() {
            if OIDC_SCOPES.contains(&token) {
                oidc.push(token.to_owned());
                continue;
            }
            let Some((resource, name)) = token
                .rsplit_once('/')
                .filter(|(r, n)| !r.is_empty() && !n.is_empty())
            else {
                return Err(invalid_scope(format!(
                    "scope {token:?} is not available: name an API's scopes as {{API}}/{{scope}}"
                )));
            };
            match &mut api {
                Some((app, used, names)) => {
                    if resource != used.as_str() && !self.names_app(tenant, resource, app).await? {
                        return Err(invalid_scope(
                            "the scopes name more than one API: request a token for one API at a time",
                        ));
                    }
                    // One scope named twice (by two names of the API) counts once.
                    if !names.iter().any(|n| n == name) {
                        names.push(name.to_owned());
                    }
                }
                None => {
                    let found = self.find_resource(tenant, resource).await?.ok_or_else(|| {
                        invalid_scope(format!("no API {resource:?} is registered in this tenant"))
                    })?;
                    api = Some((found, resource.to_owned(), vec![name.to_owned()]));
                }
            }
        }
        if let Some((app, _, names)) = &api {
            if names.iter().any(|n| n == DEFAULT_SCOPE) && names.len() > 1 {
                return Err(invalid_scope(
                    "/.default cannot be combined with other scopes of the same API",
                ));
            }
            if let Some(unknown) = names
                .iter()
                .find(|n| *n != DEFAULT_SCOPE && app.api.scope(n).is_none())
            {
                return Err(invalid_scope(format!(
                    "the API exposes no scope {unknown:?}"
                )));
            }
        }
        Ok(RequestedScope { oidc, api })
    }

    /// A resource named by Application ID URI, client id, or `api://{client id}`.
    pub(crate) async fn find_resource(
        &self,
        tenant: &Tenant,
        name: &str,
    ) -> Result<Option<Application>, OAuthError> {
        if let Some(found) = self.application_by_identifier_uri(tenant.id, name).await? {
            return Ok(Some(found));
        }
        let bare = name.strip_prefix("api://").unwrap_or(name);
        match bare.parse::<ClientId>() {
            Ok(client_id) => Ok(self
                .application(tenant.id, client_id)
                .await
                .map_err(CoreError::from)?),
            Err(_) => Ok(None),
        }
    }

    /// Whether `name` is another name of `app` (its client id, `api://{client id}` or
    /// identifier URI), so that one request may mix them.
    async fn names_app(
        &self,
        tenant: &Tenant,
        name: &str,
        app: &Application,
    ) -> Result<bool, OAuthError> {
        Ok(self
            .find_resource(tenant, name)
            .await?
            .is_some_and(|other| other.client_id == app.client_id))
    }

    /// The names of what `client` holds on `api` of one kind, limited to what the API still
    /// defines (a scope or role taken off the API stops counting at once).
    pub(super) async fn granted_on(
        &self,
        client: &Application,
        api: &Application,
        kind: PermissionKind,
    ) -> Result<Vec<String>, CoreError> {
        Ok(self
            .cached_permission_grants(client.tenant_id, client.client_id)
            .await?
            .iter()
            .filter(|g| g.api_client_id == api.client_id && g.kind == kind)
            .map(|g| g.name.clone())
            .filter(|name| match kind {
                PermissionKind::Scope => api.api.scope(name).is_some(),
                PermissionKind::Role => api.api.role(name).is_some_and(|r| r.allowed.apps()),
            })
            .collect())
    }

    /// The delegated scopes of the API a request asks for that `client` may have for
    /// `user`: all that is granted (by an administrator, or the user's consent) for
    /// `.default`, else every name asked, each of which must be granted.
    async fn delegated_scopes(
        &self,
        tenant: &Tenant,
        client: &Application,
        api: &Application,
        asked: &[String],
        user: UserId,
    ) -> Result<Vec<String>, OAuthError> {
        let mut granted = self.granted_on(client, api, PermissionKind::Scope).await?;
        for name in self
            .consented_on(tenant, client.client_id, user, api.client_id)
            .await?
        {
            if api.api.user_consentable(&name) && !granted.contains(&name) {
                granted.push(name);
            }
        }
        if asked.iter().any(|n| n == DEFAULT_SCOPE) {
            if granted.is_empty() {
                return Err(invalid_scope(
                    "nothing of this API is granted to the application",
                ));
            }
            return Ok(granted);
        }
        if let Some(missing) = asked.iter().find(|n| !granted.contains(n)) {
            return Err(invalid_scope(format!(
                "scope {missing:?} is neither granted to this application nor consented"
            )));
        }
        Ok(asked.to_vec())
    }

    /// Checks a requested scope before anyone signs in: the authorization endpoint refuses
    /// what no sign-in could make acceptable (an unknown API or scope, two APIs, a scope only
    /// an administrator may consent to that none granted `client`); the rest may still be
    /// consented to by the user.
    pub(crate) async fn check_requested_scope(
        &self,
        tenant: &Tenant,
        client: &Application,
        scope: &Scope,
    ) -> Result<(), OAuthError> {
        let Some((api, _, asked)) = self.split_scope(tenant, scope).await?.api else {
            return Ok(());
        };
        let granted = self.granted_on(client, &api, PermissionKind::Scope).await?;
        match asked.iter().find(|name| {
            *name != DEFAULT_SCOPE && !api.api.user_consentable(name) && !granted.contains(name)
        }) {
            Some(name) => Err(invalid_scope(format!(
                "scope {name:?} needs an administrator's consent (app grant), which this application does not have"
            ))),
            None => Ok(()),
        }
    }

    /// The audience of a user's access token for `scope`, from the grants and role
    /// assignments as they are now. Where the client or the API requires assignment, a user
    /// holding none of its roles gets `invalid_grant`, never a token without roles.
    pub async fn delegated_audience(
        &self,
        tenant: &Tenant,
        client: &Application,
        scope: &Scope,
        user: UserId,
    ) -> Result<Audience, OAuthError> {
        let requested = self.split_scope(tenant, scope).await?;
        let (app, scp, granted) = match requested.api {
            Some((api, used, asked)) => {
                let scp = self
                    .delegated_scopes(tenant, client, &api, &asked, user)
                    .await?;
                let mut granted = Scope::default();
                for name in &scp {
                    granted = granted.with(&format!("{used}/{name}"));
                }
                (api, scp, granted)
            }
            None => {
                let scp = requested
                    .oidc
                    .iter()
                    .filter(|s| *s != "offline_access")
                    .cloned()
                    .collect();
                (client.clone(), scp, Scope::default())
            }
        };
        let granted = requested.oidc.iter().fold(granted, |s, t| s.with(t));
        if client.assignment_required
            && client.client_id != app.client_id
            && self.user_roles_on(client, user).await?.is_empty()
        {
            return Err(not_assigned(client));
        }
        let roles = self.user_roles_on(&app, user).await?;
        if app.assignment_required && roles.is_empty() {
            return Err(not_assigned(&app));
        }
        Ok(Audience {
            app,
            scp,
            roles,
            granted,
        })
    }

    /// The audience of an app-only token: the roles granted to `client` on `api`.
    pub(crate) async fn app_audience(
        &self,
        client: &Application,
        api: Application,
        scope: String,
    ) -> Result<Audience, OAuthError> {
        let roles = self.granted_on(client, &api, PermissionKind::Role).await?;
        if api.assignment_required && roles.is_empty() {
            return Err(not_assigned(&api));
        }
        let granted = Scope::parse(&scope)?;
        Ok(Audience {
            app: api,
            scp: Vec::new(),
            roles,
            granted,
        })
    }

    /// The roles of `app` a user holds, limited to roles it still defines for users.
    async fn user_roles_on(
        &self,
        app: &Application,
        user: UserId,
    ) -> Result<Vec<String>, CoreError> {
        if app.api.roles.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .store
            .user_roles(app.tenant_id, app.client_id, user)
            .await?
            .into_iter()
            .filter(|name| app.api.role(name).is_some_and(|r| r.allowed.users()))
            .collect())
    }
}

fn not_assigned(app: &Application) -> OAuthError {
    OAuthError::invalid_grant(format!(
        "{} requires assignment, and no role of it is assigned here",
        app.client_id
    ))
}
