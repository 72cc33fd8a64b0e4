//! `/admin/api/v1/admin-tokens`: issue, list and revoke the admin API's own bearer tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portico_core::directory::NewAdminToken;
use portico_core::store::AdminTokenRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AdminAuth;
use super::body::OptionalBody;
use crate::AppState;
use crate::error::Problem;

/// Options of a new admin token (all optional; the body may be left out).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAdminToken {
    /// What the token is for, shown in listings (1 to 100 characters, no control characters).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    #[serde(default)]
    pub name: Option<String>,
    /// Days until the token stops working by itself (1 to 3650); absent: never.
    #[schema(minimum = 1, maximum = 3650)]
    #[serde(default, deserialize_with = "super::body::whole_number")]
    pub expires_in_days: Option<i64>,
}

/// An admin token as listed (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminTokenOut {
    /// Id, to revoke it by.
    pub id: String,
    /// Its name, if it was given one.
    pub name: Option<String>,
    /// Issued at (Unix seconds).
    pub created_at: i64,
    /// Stops working at (Unix seconds); absent: never.
    pub expires_at: Option<i64>,
    /// Revoked at (Unix seconds).
    pub revoked_at: Option<i64>,
    /// `active`, `expired` or `revoked`.
    pub status: String,
}

/// A new admin token: the listing's fields and the token itself (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminTokenCreated {
    /// The bearer token (shown only here; only a digest is stored).
    pub token: String,
    /// Its record.
    #[serde(flatten)]
    pub record: AdminTokenOut,
}

fn token_out(record: AdminTokenRecord, now: i64) -> AdminTokenOut {
    let status = record.status(now);
    AdminTokenOut {
        id: record.id,
        name: record.name,
        created_at: record.created_at,
        expires_at: record.expires_at,
        revoked_at: record.revoked_at,
        status: status.to_owned(),
    }
}

/// Issue an admin token. It never outlives the token that issues it.
#[utoipa::path(post, path = "/admin/api/v1/admin-tokens", request_body = Option<CreateAdminToken>,
    responses((status = 201, body = AdminTokenCreated), (status = 400), (status = 401),
              (status = 413), (status = 415), (status = 422)))]
pub(crate) async fn create_admin_token(
    auth: AdminAuth,
    State(state): State<AppState>,
    OptionalBody(body): OptionalBody<CreateAdminToken>,
) -> Result<Response, Problem> {
    let (token, record) = state
        .portico
        .issue_admin_token(NewAdminToken {
            name: body.name,
            expires_in_days: body.expires_in_days,
            issuer_expires_at: auth.expires_at,
        })
        .await?;
    let record = token_out(record, state.portico.now());
    Ok((
        StatusCode::CREATED,
        axum::Json(AdminTokenCreated { token, record }),
    )
        .into_response())
}

/// List admin tokens (revoked and expired ones too; never their secrets).
#[utoipa::path(get, path = "/admin/api/v1/admin-tokens",
    responses((status = 200, body = [AdminTokenOut]), (status = 401)))]
pub(crate) async fn list_admin_tokens(
    _auth: AdminAuth,
    State(state): State<AppState>,
) -> Result<axum::Json<Vec<AdminTokenOut>>, Problem> {
    let now = state.portico.now();
    let tokens = state.portico.admin_tokens().await?;
    Ok(axum::Json(
        tokens.into_iter().map(|t| token_out(t, now)).collect(),
    ))
}

/// Revoke an admin token: it stops working at once, on every node. A token cannot revoke
/// itself (409): an operator revokes with another, so nobody locks themselves out by mistake.
#[utoipa::path(delete, path = "/admin/api/v1/admin-tokens/{id}",
    params(("id" = String, Path, description = "The token's id (from the listing)")),
    responses((status = 204), (status = 401), (status = 404), (status = 409)))]
pub(crate) async fn revoke_admin_token(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    if auth.token_id == id {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "a token cannot revoke itself: revoke it with another admin token",
        ));
    }
    state.portico.revoke_admin_token(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
