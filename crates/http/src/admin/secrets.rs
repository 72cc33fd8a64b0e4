//! `/admin/api/v1/tenants/{tenant}/applications/{client_id}/secrets`: a confidential app's
//! client secrets, added (shown once), listed and removed, so that secrets rotate without
//! downtime.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portico_core::directory::TenantRef;
use portico_core::store::ClientSecretRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AdminAuth;
use super::apps::client_id;
use super::body::OptionalBody;
use crate::AppState;
use crate::error::Problem;

/// Options of a new client secret (the body may be left out).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClientSecret {
    /// Days the secret works (1 to 730); absent: 365.
    #[schema(minimum = 1, maximum = 730)]
    #[serde(default, deserialize_with = "super::body::whole_number")]
    pub expires_in_days: Option<u32>,
}

/// A client secret as listed: its id, the first characters and its lifetime, never the
/// secret (only a digest is stored).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientSecretOut {
    /// Id, to remove it by.
    pub id: String,
    /// The secret's first characters, to tell secrets apart.
    pub hint: String,
    /// Added at (Unix seconds).
    pub created_at: i64,
    /// Stops working at (Unix seconds); absent: never (a secret from before expiries).
    pub expires_at: Option<i64>,
}

/// A new client secret: the listing's fields and the secret itself (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientSecretCreated {
    /// The secret (shown only here).
    pub secret: String,
    /// Its record.
    #[serde(flatten)]
    pub record: ClientSecretOut,
}

impl From<ClientSecretRecord> for ClientSecretOut {
    fn from(record: ClientSecretRecord) -> Self {
        Self {
            id: record.id,
            hint: record.hint,
            created_at: record.created_at,
            expires_at: record.expires_at,
        }
    }
}

/// Add a client secret; the app's other secrets keep working.
#[utoipa::path(post, path = "/admin/api/v1/tenants/{tenant}/applications/{client_id}/secrets",
    request_body = Option<CreateClientSecret>,
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("client_id" = String, Path, description = "Client id")),
    responses((status = 201, body = ClientSecretCreated), (status = 400), (status = 401), (status = 404),
              (status = 413), (status = 415), (status = 422)))]
pub(crate) async fn add_client_secret(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, app)): Path<(String, String)>,
    OptionalBody(body): OptionalBody<CreateClientSecret>,
) -> Result<Response, Problem> {
    let made = state
        .portico
        .add_client_secret(
            &TenantRef::parse(&tenant),
            client_id(&app)?,
            body.expires_in_days,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ClientSecretCreated {
            secret: made.secret,
            record: made.record.into(),
        }),
    )
        .into_response())
}

/// List an application's client secrets, oldest first.
#[utoipa::path(get, path = "/admin/api/v1/tenants/{tenant}/applications/{client_id}/secrets",
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("client_id" = String, Path, description = "Client id")),
    responses((status = 200, body = [ClientSecretOut]), (status = 401), (status = 404)))]
pub(crate) async fn list_client_secrets(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, app)): Path<(String, String)>,
) -> Result<axum::Json<Vec<ClientSecretOut>>, Problem> {
    let secrets = state
        .portico
        .list_client_secrets(&TenantRef::parse(&tenant), client_id(&app)?)
        .await?;
    Ok(axum::Json(secrets.into_iter().map(Into::into).collect()))
}

/// Remove a client secret: it stops working at once.
#[utoipa::path(delete, path = "/admin/api/v1/tenants/{tenant}/applications/{client_id}/secrets/{id}",
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("client_id" = String, Path, description = "Client id"),
           ("id" = String, Path, description = "The secret's id (from the listing)")),
    responses((status = 204), (status = 401), (status = 404)))]
pub(crate) async fn remove_client_secret(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, app, id)): Path<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    state
        .portico
        .remove_client_secret(&TenantRef::parse(&tenant), client_id(&app)?, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
