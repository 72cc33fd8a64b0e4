//! Operator operations on APIs: expose one, grant a client app permissions on it (admin
//! consent for the tenant), and assign its app roles to users.

use super::{
    ApiScope, AppChanges, AppRole, Application, ExchangeRule, ExposedApi, TenantRef, User,
};
use crate::ids::ClientId;
use crate::store::{GroupRoleAssignment, PermissionGrant, PermissionKind, RoleAssignment};
use crate::{CoreError, Portico};

/// What `app expose` sets: the API's name and everything it defines (replacing the old
/// definition).
#[derive(Debug, Clone)]
pub struct ExposeApi {
    /// Application ID URI (`api://…` or `https://…`).
    pub identifier_uri: String,
    /// Delegated scopes.
    pub scopes: Vec<ApiScope>,
    /// App roles.
    pub roles: Vec<AppRole>,
    /// Clients that may exchange users' tokens for this API (RFC 8693).
    pub token_exchange: Vec<ExchangeRule>,
}

/// Permissions an administrator grants a client app on one API, for the whole tenant.
#[derive(Debug, Clone, Default)]
pub struct PermissionRequest {
    /// Delegated scopes (the client may ask for them on behalf of any user, who is then not
    /// asked to consent).
    pub scopes: Vec<String>,
    /// App roles the client holds itself (they appear in its app-only tokens).
    pub roles: Vec<String>,
}

impl Portico {
    /// Makes an app an API (or changes what it exposes) and returns it as stored. Scopes and
    /// roles left out of the new definition stop appearing in tokens at once, and the grants,
    /// role assignments and user consents of them go in the same transaction (a name defined
    /// again later starts with none).
    pub async fn expose_api(
        &self,
        tenant: &TenantRef,
        client_id: ClientId,
        expose: ExposeApi,
    ) -> Result<Application, CoreError> {
        // A rule may name only apps of this tenant.
        for rule in &expose.token_exchange {
            for app in [rule.client_id, rule.subject_audience] {
                self.show_application(tenant, app)
                    .await
                    .map_err(|err| match err {
                        CoreError::NotFound(_) => CoreError::Invalid(format!(
                            "token exchange: no application {app} in this tenant"
                        )),
                        other => other,
                    })?;
            }
        }
        self.update_application(
            tenant,
            client_id,
            AppChanges {
                identifier_uri: Some(expose.identifier_uri),
                api: Some(ExposedApi {
                    scopes: expose.scopes,
                    roles: expose.roles,
                    token_exchange: expose.token_exchange,
                }),
                ..AppChanges::default()
            },
        )
        .await
    }

    /// Grants `client_id` permissions on the API `api_client_id` (Entra's admin consent) and
    /// returns everything the client now holds. Every scope must be one the API exposes, and
    /// every role one that apps may hold; nothing is granted unless all are.
    pub async fn grant_permissions(
        &self,
        tenant: &TenantRef,
        client_id: ClientId,
        api_client_id: ClientId,
        request: PermissionRequest,
    ) -> Result<Vec<PermissionGrant>, CoreError> {
        let client = self.show_application(tenant, client_id).await?;
        let api = self
            .show_application(tenant, api_client_id)
            .await
            .map_err(|err| match err {
                CoreError::NotFound(_) => CoreError::NotFound("api"),
                other => other,
            })?;
        if request.scopes.is_empty() && request.roles.is_empty() {
            return Err(CoreError::Invalid(
                "name at least one scope or role to grant".into(),
            ));
        }
        for scope in &request.scopes {
            if api.api.scope(scope).is_none() {
                return Err(CoreError::Invalid(format!(
                    "{} exposes no scope {scope:?}",
                    api.client_id
                )));
            }
        }
        for role in &request.roles {
            if !api.api.role(role).is_some_and(|r| r.allowed.apps()) {
                return Err(CoreError::Invalid(format!(
                    "{} has no app role {role:?} that applications may hold",
                    api.client_id
                )));
            }
        }
        let now = self.now();
        let grant = |kind, name: &String| PermissionGrant {
            tenant_id: client.tenant_id,
            client_id,
            api_client_id,
            kind,
            name: name.clone(),
            created_at: now,
        };
        let grants: Vec<PermissionGrant> = request
            .scopes
            .iter()
            .map(|s| grant(PermissionKind::Scope, s))
            .chain(request.roles.iter().map(|r| grant(PermissionKind::Role, r)))
            .collect();
        self.store.grant_permissions(&grants).await?;
        self.applications_changed();
        tracing::info!(tenant.id = %client.tenant_id, %client_id, api = %api_client_id,
            scopes = ?request.scopes, roles = ?request.roles, "permissions granted");
        self.permission_grants(&TenantRef::Id(client.tenant_id), client_id)
            .await
    }

    /// What a client app holds on every API.
    pub async fn permission_grants(
        &self,
        tenant: &TenantRef,
        client_id: ClientId,
    ) -> Result<Vec<PermissionGrant>, CoreError> {
        let client = self.show_application(tenant, client_id).await?;
        Ok(self
            .store
            .permission_grants(client.tenant_id, client_id)
            .await?)
    }

    /// Takes a granted permission back; tokens already issued keep it until they expire,
    /// new ones (also by refresh) go without.
    pub async fn revoke_permission(
        &self,
        tenant: &TenantRef,
        client_id: ClientId,
        api_client_id: ClientId,
        kind: PermissionKind,
        name: &str,
    ) -> Result<(), CoreError> {
        let client = self.show_application(tenant, client_id).await?;
        if !self
            .store
            .revoke_permission_grant(client.tenant_id, client_id, api_client_id, kind, name)
            .await?
        {
            return Err(CoreError::NotFound("permission grant"));
        }
        self.applications_changed();
        tracing::info!(tenant.id = %client.tenant_id, %client_id, api = %api_client_id,
            kind = kind.as_str(), name, "permission revoked");
        Ok(())
    }

    /// Assigns an app role of `api_client_id` to a user (object id or sign-in email); the
    /// role must be one users may hold. Returns the user.
    pub async fn assign_role(
        &self,
        tenant: &TenantRef,
        api_client_id: ClientId,
        role: &str,
        user: &str,
    ) -> Result<User, CoreError> {
        let (api, user) = self
            .role_and_user(tenant, api_client_id, role, user)
            .await?;
        self.store
            .assign_role(&RoleAssignment {
                tenant_id: api.tenant_id,
                api_client_id,
                role: role.to_owned(),
                user_id: user.id,
                created_at: self.now(),
            })
            .await?;
        tracing::info!(tenant.id = %api.tenant_id, api = %api_client_id, role, user.id = %user.id, "role assigned");
        Ok(user)
    }

    /// Every assignment of the API's roles to users.
    pub async fn role_assignments(
        &self,
        tenant: &TenantRef,
        api_client_id: ClientId,
    ) -> Result<Vec<RoleAssignment>, CoreError> {
        let api = self.show_application(tenant, api_client_id).await?;
        Ok(self
            .store
            .role_assignments(api.tenant_id, api_client_id)
            .await?)
    }

    /// Takes an app role from a user.
    pub async fn unassign_role(
        &self,
        tenant: &TenantRef,
        api_client_id: ClientId,
        role: &str,
        user: &str,
    ) -> Result<User, CoreError> {
        let (api, user) = self
            .role_and_user(tenant, api_client_id, role, user)
            .await?;
        if !self
            .store
            .unassign_role(api.tenant_id, api_client_id, user.id, role)
            .await?
        {
            return Err(CoreError::NotFound("role assignment"));
        }
        tracing::info!(tenant.id = %api.tenant_id, api = %api_client_id, role, user.id = %user.id, "role unassigned");
        Ok(user)
    }

    /// The API and the user of a role assignment, checked: the role exists for users.
    /// Assigns an app role of `api_client_id` to a group: its members, and the members of
    /// groups nested in it, hold the role; the group is then assigned to the app.
    pub async fn assign_group_role(
        &self,
        tenant: &TenantRef,
        api_client_id: ClientId,
        role: &str,
        group: &str,
    ) -> Result<(), CoreError> {
        let assignment = self.group_role(tenant, api_client_id, role, group).await?;
        self.store
            .assign_group_role(assignment.0, &assignment.1, self.now())
            .await?;
        tracing::info!(tenant.id = %assignment.0, api = %api_client_id, role, group, "role assigned to a group");
        Ok(())
    }

    /// Takes an app role from a group.
    pub async fn unassign_group_role(
        &self,
        tenant: &TenantRef,
        api_client_id: ClientId,
        role: &str,
        group: &str,
    ) -> Result<(), CoreError> {
        let (tenant_id, assignment) = self.group_role(tenant, api_client_id, role, group).await?;
        if !self
            .store
            .unassign_group_role(tenant_id, &assignment)
            .await?
        {
            return Err(CoreError::NotFound("role assignment"));
        }
        tracing::info!(tenant.id = %tenant_id, api = %api_client_id, role, group, "role unassigned from a group");
        Ok(())
    }

    /// Every assignment of the API's roles to groups.
    pub async fn group_role_assignments(
        &self,
        tenant: &TenantRef,
        api_client_id: ClientId,
    ) -> Result<Vec<GroupRoleAssignment>, CoreError> {
        let api = self.show_application(tenant, api_client_id).await?;
        Ok(self
            .store
            .group_role_assignments(api.tenant_id, api_client_id)
            .await?)
    }

    /// The API, if `role` is one of its app roles that users (and so groups) may hold.
    async fn api_with_user_role(
        &self,
        tenant: &TenantRef,
        api_client_id: ClientId,
        role: &str,
    ) -> Result<Application, CoreError> {
        let api = self.show_application(tenant, api_client_id).await?;
        if !api.api.role(role).is_some_and(|r| r.allowed.users()) {
            return Err(CoreError::Invalid(format!(
                "{api_client_id} has no app role {role:?} that users may hold"
            )));
        }
        Ok(api)
    }

    async fn group_role(
        &self,
        tenant: &TenantRef,
        api_client_id: ClientId,
        role: &str,
        group: &str,
    ) -> Result<(crate::ids::TenantId, GroupRoleAssignment), CoreError> {
        let api = self.api_with_user_role(tenant, api_client_id, role).await?;
        let group = uuid::Uuid::parse_str(group)
            .map_err(|_| CoreError::NotFound("group"))?
            .to_string();
        Ok((
            api.tenant_id,
            GroupRoleAssignment {
                api_client_id,
                group_id: group,
                role: role.to_owned(),
            },
        ))
    }

    async fn role_and_user(
        &self,
        tenant: &TenantRef,
        api_client_id: ClientId,
        role: &str,
        user: &str,
    ) -> Result<(Application, User), CoreError> {
        let api = self.api_with_user_role(tenant, api_client_id, role).await?;
        let user = self.find_user(&TenantRef::Id(api.tenant_id), user).await?;
        Ok((api, user))
    }
}
