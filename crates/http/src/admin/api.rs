//! An application's API and who may use it: `PUT …/applications/{client_id}/api` (expose
//! scopes and roles), `…/permissions` (admin consent for a client app) and
//! `…/role-assignments` (app roles for users).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portico_core::CoreError;
use portico_core::directory::{ExposeApi, PermissionRequest, TenantRef};
use portico_core::store::{PermissionGrant, PermissionKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AdminAuth;
use super::api_body::{ApiBody, ApiScopeBody, AppRoleBody, ExchangeRuleBody};
use super::apps::{ApplicationOut, client_id};
use super::body::Body;
use crate::AppState;
use crate::error::Problem;

/// What an application exposes; replaces the old definition.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExposeApiBody {
    /// Application ID URI (`api://…` or `https://…`, no query, fragment or trailing slash),
    /// how clients name the API in scopes.
    #[schema(pattern = "^(api|https)://[!#-\\[\\]-~]*[^/\\s?#]$", max_length = 380)]
    pub identifier_uri: String,
    /// Delegated scopes (in `scp`).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub scopes: Vec<ApiScopeBody>,
    /// App roles (in `roles`).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub roles: Vec<AppRoleBody>,
    /// Clients that may exchange users' tokens for this API (RFC 8693).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub token_exchange: Vec<ExchangeRuleBody>,
}

/// Permissions to grant a client app on one API, for the whole tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantPermissions {
    /// The API's client id.
    pub api: String,
    /// Delegated scopes of the API.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// App roles of the API (ones applications may hold).
    #[serde(default)]
    pub roles: Vec<String>,
}

/// A permission a client app holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionOut {
    /// The API's client id.
    pub api: String,
    /// `scope` or `role`.
    pub kind: String,
    /// The scope's or role's name.
    pub name: String,
    /// Granted at (Unix seconds).
    pub created_at: i64,
}

impl From<PermissionGrant> for PermissionOut {
    fn from(grant: PermissionGrant) -> Self {
        Self {
            api: grant.api_client_id.to_string(),
            kind: grant.kind.as_str().to_owned(),
            name: grant.name,
            created_at: grant.created_at,
        }
    }
}

/// An app role to assign to a user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRole {
    /// The role's name (one users may hold).
    pub role: String,
    /// The user's object id or sign-in email.
    pub user: String,
}

/// A role assignment.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleAssignmentOut {
    /// The API's client id.
    pub api: String,
    /// The role.
    pub role: String,
    /// The user's object id.
    pub user_id: String,
}

/// Expose an API: its identifier URI, delegated scopes and app roles.
#[utoipa::path(put, path = "/admin/api/v1/tenants/{tenant}/applications/{client_id}/api",
    request_body = ExposeApiBody,
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("client_id" = String, Path, description = "Client id")),
    responses((status = 200, body = ApplicationOut), (status = 400), (status = 401), (status = 404),
              (status = 409), (status = 413), (status = 415), (status = 422)))]
pub(crate) async fn expose_api(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, app)): Path<(String, String)>,
    Body(body): Body<ExposeApiBody>,
) -> Result<axum::Json<ApplicationOut>, Problem> {
    let api = ApiBody {
        scopes: body.scopes,
        roles: body.roles,
        token_exchange: body.token_exchange,
    }
    .into_api()?;
    let app = state
        .portico
        .expose_api(
            &TenantRef::parse(&tenant),
            client_id(&app)?,
            ExposeApi {
                identifier_uri: body.identifier_uri,
                scopes: api.scopes,
                roles: api.roles,
                token_exchange: api.token_exchange,
            },
        )
        .await?;
    Ok(axum::Json(app.into()))
}

/// List what a client app holds on every API.
#[utoipa::path(get, path = "/admin/api/v1/tenants/{tenant}/applications/{client_id}/permissions",
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("client_id" = String, Path, description = "Client id")),
    responses((status = 200, body = [PermissionOut]), (status = 401), (status = 404)))]
pub(crate) async fn list_permissions(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, app)): Path<(String, String)>,
) -> Result<axum::Json<Vec<PermissionOut>>, Problem> {
    let grants = state
        .portico
        .permission_grants(&TenantRef::parse(&tenant), client_id(&app)?)
        .await?;
    Ok(axum::Json(grants.into_iter().map(Into::into).collect()))
}

/// Grant a client app scopes or roles of an API (admin consent); answers with everything the
/// client now holds.
#[utoipa::path(post, path = "/admin/api/v1/tenants/{tenant}/applications/{client_id}/permissions",
    request_body = GrantPermissions,
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("client_id" = String, Path, description = "The client app's id")),
    responses((status = 200, body = [PermissionOut]), (status = 400), (status = 401), (status = 404),
              (status = 413), (status = 415), (status = 422)))]
pub(crate) async fn grant_permissions(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, app)): Path<(String, String)>,
    Body(body): Body<GrantPermissions>,
) -> Result<axum::Json<Vec<PermissionOut>>, Problem> {
    // The API is named in the body: one that does not exist makes the body unprocessable,
    // while the client in the path is the resource (404).
    let api = body.api.parse().map_err(|_| unknown_api(&body.api))?;
    let grants = state
        .portico
        .grant_permissions(
            &TenantRef::parse(&tenant),
            client_id(&app)?,
            api,
            PermissionRequest {
                scopes: body.scopes,
                roles: body.roles,
            },
        )
        .await
        .map_err(|err| match err {
            CoreError::NotFound("api") => unknown_api(&body.api),
            other => other.into(),
        })?;
    Ok(axum::Json(grants.into_iter().map(Into::into).collect()))
}

fn unknown_api(name: &str) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        format!("no API {name:?} is registered in this tenant"),
    )
}

/// Take a granted scope or role back.
#[utoipa::path(delete, path = "/admin/api/v1/tenants/{tenant}/applications/{client_id}/permissions/{api}/{kind}/{name}",
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("client_id" = String, Path, description = "The client app's id"),
           ("api" = String, Path, description = "The API's client id"),
           ("kind" = String, Path, description = "`scope` or `role`"),
           ("name" = String, Path, description = "The scope's or role's name")),
    responses((status = 204), (status = 401), (status = 404)))]
pub(crate) async fn revoke_permission(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, app, api, kind, name)): Path<(String, String, String, String, String)>,
) -> Result<StatusCode, Problem> {
    let kind = PermissionKind::parse(&kind)
        .ok_or_else(|| Problem::new(StatusCode::NOT_FOUND, "permission grant not found"))?;
    state
        .portico
        .revoke_permission(
            &TenantRef::parse(&tenant),
            client_id(&app)?,
            client_id(&api)?,
            kind,
            &name,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List who holds the API's app roles.
#[utoipa::path(get, path = "/admin/api/v1/tenants/{tenant}/applications/{client_id}/role-assignments",
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("client_id" = String, Path, description = "The API's client id")),
    responses((status = 200, body = [RoleAssignmentOut]), (status = 401), (status = 404)))]
pub(crate) async fn list_role_assignments(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, app)): Path<(String, String)>,
) -> Result<axum::Json<Vec<RoleAssignmentOut>>, Problem> {
    let assignments = state
        .portico
        .role_assignments(&TenantRef::parse(&tenant), client_id(&app)?)
        .await?;
    Ok(axum::Json(
        assignments
            .into_iter()
            .map(|a| RoleAssignmentOut {
                api: a.api_client_id.to_string(),
                role: a.role,
                user_id: a.user_id.to_string(),
            })
            .collect(),
    ))
}

/// Take an app role from a user: their next token for the API goes without it.
#[utoipa::path(delete, path = "/admin/api/v1/tenants/{tenant}/applications/{client_id}/role-assignments/{role}/{user}",
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("client_id" = String, Path, description = "The API's client id"),
           ("role" = String, Path, description = "The role"),
           ("user" = String, Path, description = "Object id or sign-in email")),
    responses((status = 204), (status = 401), (status = 404), (status = 422)))]
pub(crate) async fn unassign_role(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, app, role, user)): Path<(String, String, String, String)>,
) -> Result<StatusCode, Problem> {
    state
        .portico
        .unassign_role(&TenantRef::parse(&tenant), client_id(&app)?, &role, &user)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Assign one of the API's app roles to a user.
#[utoipa::path(post, path = "/admin/api/v1/tenants/{tenant}/applications/{client_id}/role-assignments",
    request_body = AssignRole,
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("client_id" = String, Path, description = "The API's client id")),
    responses((status = 201, body = RoleAssignmentOut), (status = 400), (status = 401), (status = 404),
              (status = 413), (status = 415), (status = 422)))]
pub(crate) async fn assign_role(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, app)): Path<(String, String)>,
    Body(body): Body<AssignRole>,
) -> Result<Response, Problem> {
    let api = client_id(&app)?;
    let user = state
        .portico
        .assign_role(&TenantRef::parse(&tenant), api, &body.role, &body.user)
        .await
        .map_err(|err| match err {
            // The user is named in the body: unprocessable, not a missing resource.
            CoreError::NotFound("user") => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("no user {:?} in this tenant", body.user),
            ),
            other => other.into(),
        })?;
    Ok((
        StatusCode::CREATED,
        axum::Json(RoleAssignmentOut {
            api: api.to_string(),
            role: body.role,
            user_id: user.id.to_string(),
        }),
    )
        .into_response())
}
