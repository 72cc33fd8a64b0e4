//! Who may use which API: permissions granted to client apps by an administrator (scopes for
//! delegated tokens, app roles for app-only tokens) and app roles assigned to users.

use async_trait::async_trait;

use crate::StoreError;
use crate::clock::UnixTime;
use crate::ids::{ClientId, TenantId, UserId};

/// What a permission grant gives: a delegated scope or an app role of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PermissionKind {
    /// A delegated scope (admin consent for every user of the tenant).
    Scope,
    /// An app role the client holds itself (an application permission).
    Role,
}

impl PermissionKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scope => "scope",
            Self::Role => "role",
        }
    }

    /// The kind a stored name stands for.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "scope" => Some(Self::Scope),
            "role" => Some(Self::Role),
            _ => None,
        }
    }
}

/// A permission on an API granted to a client app, for the whole tenant (Entra's admin
/// consent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionGrant {
    /// Tenant.
    pub tenant_id: TenantId,
    /// The client app that holds the permission.
    pub client_id: ClientId,
    /// The API (resource app) it is a permission of.
    pub api_client_id: ClientId,
    /// Scope or role.
    pub kind: PermissionKind,
    /// The scope's or role's name.
    pub name: String,
    /// When it was granted.
    pub created_at: UnixTime,
}

/// An app role of an API assigned to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignment {
    /// Tenant.
    pub tenant_id: TenantId,
    /// The API whose role it is.
    pub api_client_id: ClientId,
    /// The role's name.
    pub role: String,
    /// The user holding it.
    pub user_id: UserId,
    /// When it was assigned.
    pub created_at: UnixTime,
}

/// A delegated scope a user consented to for one client app, on the consent page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserConsent {
    /// Tenant.
    pub tenant_id: TenantId,
    /// Who consented.
    pub user_id: UserId,
    /// The client app the consent is for.
    pub client_id: ClientId,
    /// The API whose scope it is.
    pub api_client_id: ClientId,
    /// The scope's name.
    pub scope: String,
    /// When it was given.
    pub created_at: UnixTime,
}

/// Storage of permission grants and role assignments (part of [`super::Store`]).
#[async_trait]
pub trait PermissionStore: Send + Sync {
    /// Records grants in one transaction; ones already there stay as they were.
    async fn grant_permissions(&self, grants: &[PermissionGrant]) -> Result<(), StoreError>;
    /// Everything granted to a client app, on every API, in grant order.
    async fn permission_grants(
        &self,
        tenant: TenantId,
        client_id: ClientId,
    ) -> Result<Vec<PermissionGrant>, StoreError>;
    /// Takes a grant back; false if there was none.
    async fn revoke_permission_grant(
        &self,
        tenant: TenantId,
        client_id: ClientId,
        api_client_id: ClientId,
        kind: PermissionKind,
        name: &str,
    ) -> Result<bool, StoreError>;
    /// Assigns a role to a user; an assignment already there stays as it was.
    async fn assign_role(&self, assignment: &RoleAssignment) -> Result<(), StoreError>;
    /// Takes a role from a user; false if they did not hold it.
    async fn unassign_role(
        &self,
        tenant: TenantId,
        api_client_id: ClientId,
        user: UserId,
        role: &str,
    ) -> Result<bool, StoreError>;
    /// Every assignment of one API's roles, by role then user.
    async fn role_assignments(
        &self,
        tenant: TenantId,
        api_client_id: ClientId,
    ) -> Result<Vec<RoleAssignment>, StoreError>;
    /// The roles of one API a user holds, by name.
    async fn user_roles(
        &self,
        tenant: TenantId,
        api_client_id: ClientId,
        user: UserId,
    ) -> Result<Vec<String>, StoreError>;
    /// The consents a user gave, to one client app or (with `None`) to all, oldest first.
    /// Written by a flow's consent step ([`super::FlowWrite::Consent`]).
    async fn user_consents(
        &self,
        tenant: TenantId,
        user: UserId,
        client_id: Option<ClientId>,
    ) -> Result<Vec<UserConsent>, StoreError>;
    /// Takes back what a user consented to for one client app (or with `None`, for every
    /// app); the number of scopes revoked.
    async fn revoke_user_consents(
        &self,
        tenant: TenantId,
        user: UserId,
        client_id: Option<ClientId>,
    ) -> Result<u64, StoreError>;
}
