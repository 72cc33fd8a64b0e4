//! `/admin/api/v1/tenants/{tenant}/groups`: groups made, listed and given members;
//! `…/applications/{client_id}/group-role-assignments`: app roles held by groups; and
//! `…/audit`: the tenant's log of directory changes. Changes are logged as made by the admin
//! token.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portico_core::CoreError;
use portico_core::directory::TenantRef;
use portico_core::store::{AuditEntry, GroupRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AdminAuth;
use super::apps::client_id;
use super::body::Body;
use crate::AppState;
use crate::error::Problem;

fn actor(auth: &AdminAuth) -> String {
    format!("admin-token:{}", auth.token_id)
}

/// A new group.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    /// Its name (1 to 256 characters).
    #[schema(min_length = 1, max_length = 256)]
    pub display_name: String,
}

/// A member of a group.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberOut {
    /// The user's or group's id.
    pub id: String,
    /// `User` or `Group`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its display name.
    pub display: Option<String>,
}

/// A group.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupOut {
    /// Its id.
    pub id: String,
    /// Its name.
    pub display_name: String,
    /// The provisioning client's id for it.
    pub external_id: Option<String>,
    /// Direct members.
    pub members: Vec<MemberOut>,
}

impl From<GroupRecord> for GroupOut {
    fn from(group: GroupRecord) -> Self {
        Self {
            id: group.id,
            display_name: group.display_name,
            external_id: group.external_id,
            members: group
                .members
                .into_iter()
                .map(|m| MemberOut {
                    id: m.id,
                    kind: m.kind.as_str().to_owned(),
                    display: m.display,
                })
                .collect(),
        }
    }
}

/// Who joins a group: a user (object id or sign-in email) or a group (id).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    /// A user's object id or sign-in email.
    #[serde(default)]
    pub user: Option<String>,
    /// A group's id (nested).
    #[serde(default)]
    pub group: Option<String>,
}

/// List the tenant's groups with their members, by name.
#[utoipa::path(get, path = "/admin/api/v1/tenants/{tenant}/groups",
    params(("tenant" = String, Path, description = "Tenant name or id")),
    responses((status = 200, body = [GroupOut]), (status = 401), (status = 404)))]
pub(crate) async fn list_groups(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<axum::Json<Vec<GroupOut>>, Problem> {
    let groups = state
        .portico
        .list_groups(&TenantRef::parse(&tenant))
        .await?;
    Ok(axum::Json(groups.into_iter().map(Into::into).collect()))
}

/// Make a group.
#[utoipa::path(post, path = "/admin/api/v1/tenants/{tenant}/groups",
    request_body = CreateGroup,
    params(("tenant" = String, Path, description = "Tenant name or id")),
    responses((status = 201, body = GroupOut), (status = 400), (status = 401), (status = 404),
              (status = 413), (status = 415), (status = 422)))]
pub(crate) async fn create_group(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Body(body): Body<CreateGroup>,
) -> Result<Response, Problem> {
    let group = state
        .portico
        .create_group(
            &TenantRef::parse(&tenant),
            &body.display_name,
            &actor(&auth),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(GroupOut::from(group))).into_response())
}

/// Add a user or a group to a group.
#[utoipa::path(post, path = "/admin/api/v1/tenants/{tenant}/groups/{group}/members",
    request_body = AddMember,
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("group" = String, Path, description = "The group's id")),
    responses((status = 204), (status = 400), (status = 401), (status = 404),
              (status = 413), (status = 415), (status = 422)))]
pub(crate) async fn add_member(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, group)): Path<(String, String)>,
    Body(body): Body<AddMember>,
) -> Result<StatusCode, Problem> {
    let tenant = TenantRef::parse(&tenant);
    let member = match (body.user, body.group) {
        (Some(user), None) => state
            .portico
            .find_user(&tenant, &user)
            .await
            .map_err(|err| match err {
                CoreError::NotFound(_) => Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("no user {user:?} in this tenant"),
                ),
                other => other.into(),
            })?
            .id
            .to_string(),
        (None, Some(group)) => group,
        _ => {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "name one member: user or group",
            ));
        }
    };
    state
        .portico
        .change_group_member(&tenant, &group, &member, true, &actor(&auth))
        .await
        .map_err(|err| match err {
            // The member is named in the body: unprocessable, not a missing resource.
            CoreError::NotFound("member") => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("no user or group {member:?} in this tenant"),
            ),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

/// Take a member out of a group.
#[utoipa::path(delete, path = "/admin/api/v1/tenants/{tenant}/groups/{group}/members/{member}",
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("group" = String, Path, description = "The group's id"),
           ("member" = String, Path, description = "The member's id")),
    responses((status = 204), (status = 401), (status = 404)))]
pub(crate) async fn remove_member(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, group, member)): Path<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    state
        .portico
        .change_group_member(
            &TenantRef::parse(&tenant),
            &group,
            &member,
            false,
            &actor(&auth),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An app role held by a group.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupRoleAssignmentBody {
    /// The role's name (one users may hold).
    pub role: String,
    /// The group's id.
    pub group: String,
}

/// List the API's app roles held by groups.
#[utoipa::path(get, path = "/admin/api/v1/tenants/{tenant}/applications/{client_id}/group-role-assignments",
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("client_id" = String, Path, description = "The API's client id")),
    responses((status = 200, body = [GroupRoleAssignmentBody]), (status = 401), (status = 404)))]
pub(crate) async fn list_group_roles(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, app)): Path<(String, String)>,
) -> Result<axum::Json<Vec<GroupRoleAssignmentBody>>, Problem> {
    let held = state
        .portico
        .group_role_assignments(&TenantRef::parse(&tenant), client_id(&app)?)
        .await?;
    Ok(axum::Json(
        held.into_iter()
            .map(|a| GroupRoleAssignmentBody {
                role: a.role,
                group: a.group_id,
            })
            .collect(),
    ))
}

/// Give a group one of the API's app roles: its members, and members of groups nested in
/// it, hold the role.
#[utoipa::path(post, path = "/admin/api/v1/tenants/{tenant}/applications/{client_id}/group-role-assignments",
    request_body = GroupRoleAssignmentBody,
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("client_id" = String, Path, description = "The API's client id")),
    responses((status = 201, body = GroupRoleAssignmentBody), (status = 400), (status = 401),
              (status = 404), (status = 413), (status = 415), (status = 422)))]
pub(crate) async fn assign_group_role(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, app)): Path<(String, String)>,
    Body(body): Body<GroupRoleAssignmentBody>,
) -> Result<Response, Problem> {
    state
        .portico
        .assign_group_role(
            &TenantRef::parse(&tenant),
            client_id(&app)?,
            &body.role,
            &body.group,
        )
        .await
        .map_err(|err| match err {
            // The group is named in the body: unprocessable, not a missing resource.
            CoreError::NotFound("group") => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("no group {:?} in this tenant", body.group),
            ),
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// Take an app role from a group.
#[utoipa::path(delete, path = "/admin/api/v1/tenants/{tenant}/applications/{client_id}/group-role-assignments/{role}/{group}",
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("client_id" = String, Path, description = "The API's client id"),
           ("role" = String, Path, description = "The role"),
           ("group" = String, Path, description = "The group's id")),
    responses((status = 204), (status = 401), (status = 404), (status = 422)))]
pub(crate) async fn unassign_group_role(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, app, role, group)): Path<(String, String, String, String)>,
) -> Result<StatusCode, Problem> {
    state
        .portico
        .unassign_group_role(&TenantRef::parse(&tenant), client_id(&app)?, &role, &group)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which audit entries.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only entries at or after this time (Unix seconds).
    #[param(minimum = 0)]
    pub since: Option<i64>,
    /// At most this many (1 to 10000; default 1000).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}

/// One recorded change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryOut {
    /// Its id.
    pub id: String,
    /// When (Unix seconds).
    pub at: i64,
    /// Who: `scim-token:<id>`, `admin-token:<id>`, `cli`.
    pub actor: String,
    /// What: `user.create`, `group.patch`, ….
    pub action: String,
    /// On what: `User/<id>`, `Group/<id>`.
    pub target: String,
    /// Details (attribute names, never secrets).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<AuditEntry> for AuditEntryOut {
    fn from(entry: AuditEntry) -> Self {
        Self {
            id: entry.id,
            at: entry.at,
            actor: entry.actor,
            action: entry.action,
            target: entry.target,
            detail: entry.detail,
        }
    }
}

/// Read the tenant's audit log of directory changes, oldest first.
#[utoipa::path(get, path = "/admin/api/v1/tenants/{tenant}/audit",
    params(("tenant" = String, Path, description = "Tenant name or id"), AuditQuery),
    responses((status = 200, body = [AuditEntryOut]), (status = 400), (status = 401), (status = 404)))]
pub(crate) async fn audit_log(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<axum::Json<Vec<AuditEntryOut>>, Problem> {
    let query: AuditQuery = serde_urlencoded::from_str(raw.as_deref().unwrap_or_default())
        .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, format!("bad query: {e}")))?;
    let limit = query.limit.unwrap_or(1000);
    if !(1..=10_000).contains(&limit) || query.since.is_some_and(|s| s < 0) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "since is Unix seconds (0 or more); limit is 1 to 10000",
        ));
    }
    let entries = state
        .portico
        .audit_log(&TenantRef::parse(&tenant), query.since.unwrap_or(0), limit)
        .await?;
    Ok(axum::Json(entries.into_iter().map(Into::into).collect()))
}
