//! `/admin/api/v1/tenants/{tenant}/users/{user}/consents`: the delegated scopes a user
//! consented to on the consent page, per client app, listed and taken back.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use portico_core::directory::TenantRef;
use portico_core::store::UserConsent;
use serde::Serialize;
use utoipa::ToSchema;

use super::AdminAuth;
use super::apps::client_id;
use crate::AppState;
use crate::error::Problem;

/// One scope a user consented to for one client app.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentOut {
    /// The client app the consent is for.
    pub client_id: String,
    /// The client id of the API whose scope it is.
    pub api: String,
    /// The scope's name.
    pub scope: String,
    /// Given at (Unix seconds).
    pub created_at: i64,
}

impl From<UserConsent> for ConsentOut {
    fn from(consent: UserConsent) -> Self {
        Self {
            client_id: consent.client_id.to_string(),
            api: consent.api_client_id.to_string(),
            scope: consent.scope,
            created_at: consent.created_at,
        }
    }
}

/// List what a user consented to, for every client app, oldest first.
#[utoipa::path(get, path = "/admin/api/v1/tenants/{tenant}/users/{user}/consents",
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("user" = String, Path, description = "Object id or sign-in email")),
    responses((status = 200, body = [ConsentOut]), (status = 401), (status = 404)))]
pub(crate) async fn list_user_consents(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, user)): Path<(String, String)>,
) -> Result<axum::Json<Vec<ConsentOut>>, Problem> {
    let consents = state
        .portico
        .user_consents(&TenantRef::parse(&tenant), &user)
        .await?;
    Ok(axum::Json(consents.into_iter().map(Into::into).collect()))
}

/// Take back everything a user consented to: the next token for those scopes (a refresh
/// included) is refused, and the next sign-in asks again.
#[utoipa::path(delete, path = "/admin/api/v1/tenants/{tenant}/users/{user}/consents",
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("user" = String, Path, description = "Object id or sign-in email")),
    responses((status = 204), (status = 401), (status = 404)))]
pub(crate) async fn revoke_user_consents(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, user)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    state
        .portico
        .revoke_user_consents(&TenantRef::parse(&tenant), &user, None)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Take back what a user consented to for one client app.
#[utoipa::path(delete, path = "/admin/api/v1/tenants/{tenant}/users/{user}/consents/{client_id}",
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("user" = String, Path, description = "Object id or sign-in email"),
           ("client_id" = String, Path, description = "The client app's id")),
    responses((status = 204), (status = 401), (status = 404)))]
pub(crate) async fn revoke_user_app_consents(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, user, app)): Path<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    state
        .portico
        .revoke_user_consents(&TenantRef::parse(&tenant), &user, Some(client_id(&app)?))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
