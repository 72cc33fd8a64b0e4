//! `/admin/api/v1/tenants/{tenant}/registration-tokens`: initial access tokens for dynamic
//! client registration (RFC 7591), made, listed and revoked.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portico_core::directory::TenantRef;
use portico_core::store::InitialAccessTokenRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AdminAuth;
use super::body::OptionalBody;
use crate::AppState;
use crate::error::Problem;

/// Options of a new initial access token (all optional; the body may be left out).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRegistrationToken {
    /// Days it works (1 to 90); absent: 7.
    #[schema(minimum = 1, maximum = 90)]
    #[serde(default, deserialize_with = "super::body::whole_number")]
    pub days: Option<u32>,
    /// Registrations it allows (1 to 10000); absent: 1.
    #[schema(minimum = 1, maximum = 10000)]
    #[serde(default, deserialize_with = "super::body::whole_number")]
    pub uses: Option<u32>,
}

/// An initial access token as listed (never the token).
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationTokenOut {
    /// Id, to revoke it by.
    pub id: String,
    /// Registrations it allows.
    pub max_uses: u32,
    /// Registrations made with it.
    pub uses: u32,
    /// Made at (Unix seconds).
    pub created_at: i64,
    /// Stops working at (Unix seconds).
    pub expires_at: i64,
}

/// A new initial access token: the listing's fields and the token itself (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationTokenCreated {
    /// The bearer token for `POST …/oauth2/v2.0/register` (shown only here).
    pub initial_access_token: String,
    /// Its record.
    #[serde(flatten)]
    pub record: RegistrationTokenOut,
}

impl From<InitialAccessTokenRecord> for RegistrationTokenOut {
    fn from(record: InitialAccessTokenRecord) -> Self {
        Self {
            id: record.id,
            max_uses: record.max_uses,
            uses: record.uses,
            created_at: record.created_at,
            expires_at: record.expires_at,
        }
    }
}

/// Make an initial access token.
#[utoipa::path(post, path = "/admin/api/v1/tenants/{tenant}/registration-tokens",
    request_body = Option<CreateRegistrationToken>,
    params(("tenant" = String, Path, description = "Tenant name or id")),
    responses((status = 201, body = RegistrationTokenCreated), (status = 400), (status = 401),
              (status = 404), (status = 413), (status = 415), (status = 422)))]
pub(crate) async fn create_registration_token(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    OptionalBody(body): OptionalBody<CreateRegistrationToken>,
) -> Result<Response, Problem> {
    let (token, record) = state
        .portico
        .create_initial_access_token(&TenantRef::parse(&tenant), body.days, body.uses)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(RegistrationTokenCreated {
            initial_access_token: token,
            record: record.into(),
        }),
    )
        .into_response())
}

/// List a tenant's initial access tokens.
#[utoipa::path(get, path = "/admin/api/v1/tenants/{tenant}/registration-tokens",
    params(("tenant" = String, Path, description = "Tenant name or id")),
    responses((status = 200, body = [RegistrationTokenOut]), (status = 401), (status = 404)))]
pub(crate) async fn list_registration_tokens(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<axum::Json<Vec<RegistrationTokenOut>>, Problem> {
    let tokens = state
        .portico
        .initial_access_tokens(&TenantRef::parse(&tenant))
        .await?;
    Ok(axum::Json(tokens.into_iter().map(Into::into).collect()))
}

/// Revoke an initial access token (apps registered with it stay).
#[utoipa::path(delete, path = "/admin/api/v1/tenants/{tenant}/registration-tokens/{id}",
    params(("tenant" = String, Path, description = "Tenant name or id"),
           ("id" = String, Path, description = "The token's id (from the listing)")),
    responses((status = 204), (status = 401), (status = 404)))]
pub(crate) async fn revoke_registration_token(
    _auth: AdminAuth,
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    state
        .portico
        .revoke_initial_access_token(&TenantRef::parse(&tenant), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
