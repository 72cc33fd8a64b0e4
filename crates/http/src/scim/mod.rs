//! `/{tenant}/scim/v2/`: SCIM 2.0 provisioning (RFC 7644). Every call carries a bearer SCIM
//! token of the tenant (`portico scim-token create`); errors are RFC 7644 §3.12's error
//! schema, as `application/scim+json`. `users.rs` serves Users; `discovery.rs` the
//! endpoints that describe the server (`ServiceProviderConfig`, `ResourceTypes`, `Schemas`).

mod bulk;
mod discovery;
mod groups;
mod request;
mod users;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use axum::extract::{Path, State};
use axum::routing::get;
use portico_core::directory::TenantRef;
use portico_core::scim::{ScimCaller, ScimProblem};

use crate::AppState;

/// The media type of SCIM bodies (RFC 7644 §8.1).
const SCIM_JSON: &str = "application/scim+json";

/// A SCIM error (RFC 7644 §3.12).
#[derive(Debug)]
pub(crate) struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
}

impl ScimError {
    pub(crate) fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type: None,
            detail: detail.into(),
        }
    }
}

impl ScimError {
    /// The status and the error document (also an operation's `response` in a Bulk answer).
    pub(crate) fn document(&self) -> (StatusCode, serde_json::Value) {
        let mut body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let (Some(kind), Some(map)) = (self.scim_type, body.as_object_mut()) {
            map.insert("scimType".into(), kind.into());
        }
        (self.status, body)
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let (status, body) = self.document();
        let mut response = scim_json(status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        response
    }
}

impl From<ScimProblem> for ScimError {
    fn from(problem: ScimProblem) -> Self {
        let bad = |kind: &'static str, detail: String| Self {
            status: StatusCode::BAD_REQUEST,
            scim_type: Some(kind),
            detail,
        };
        match problem {
            ScimProblem::InvalidFilter(d) => bad("invalidFilter", d),
            ScimProblem::InvalidPath(d) => bad("invalidPath", d),
            ScimProblem::InvalidValue(d) => bad("invalidValue", d),
            ScimProblem::InvalidSyntax(d) => bad("invalidSyntax", d),
            ScimProblem::Mutability(d) => bad("mutability", d),
            ScimProblem::NoTarget(d) => bad("noTarget", d),
            ScimProblem::TooMany(d) => bad("tooMany", d),
            ScimProblem::InvalidVersion(d) => bad("invalidVers", d),
            ScimProblem::Uniqueness(d) => Self {
                status: StatusCode::CONFLICT,
                scim_type: Some("uniqueness"),
                detail: d,
            },
            ScimProblem::Forbidden(d) => Self::new(StatusCode::FORBIDDEN, d),
            ScimProblem::PreconditionFailed => Self::new(
                StatusCode::PRECONDITION_FAILED,
                ScimProblem::PreconditionFailed.to_string(),
            ),
            ScimProblem::NotFound(what) => {
                Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
            }
            ScimProblem::Core(err) => err.into(),
        }
    }
}

impl From<portico_core::CoreError> for ScimError {
    fn from(err: portico_core::CoreError) -> Self {
        match err {
            portico_core::CoreError::NotFound(what) => {
                Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
            }
            other => {
                tracing::error!(error = %other, "SCIM request failed");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
            }
        }
    }
}

/// A SCIM body with its media type and no caching.
pub(crate) fn scim_json(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The tenant a SCIM URL names and the provisioning client its bearer token belongs to;
/// 401 for a missing, unknown, revoked or expired token, or one of another tenant (which
/// also answers for a tenant that does not exist: nothing to learn about tenants here).
pub(crate) async fn caller(
    state: &AppState,
    tenant: &str,
    headers: &HeaderMap,
) -> Result<(portico_core::directory::Tenant, ScimCaller), ScimError> {
    let (tenant, bearer) = bearer_at(state, tenant, headers).await?;
    let caller = state
        .portico
        .scim_caller(&tenant, bearer)
        .await?
        .ok_or_else(refused)?;
    Ok((tenant, caller))
}

fn refused() -> ScimError {
    ScimError::new(
        StatusCode::UNAUTHORIZED,
        "a valid SCIM bearer token is required",
    )
}

/// The tenant a SCIM URL names and the bearer token the request carries (401 without one,
/// or for a tenant that does not exist).
pub(crate) async fn bearer_at<'h>(
    state: &AppState,
    tenant: &str,
    headers: &'h HeaderMap,
) -> Result<(portico_core::directory::Tenant, &'h str), ScimError> {
    let bearer = crate::bearer::bearer_token(headers).ok_or_else(refused)?;
    let tenant = match state.portico.tenant(&TenantRef::parse(tenant)).await {
        Ok(tenant) => tenant,
        Err(portico_core::CoreError::NotFound(_)) => return Err(refused()),
        Err(err) => return Err(err.into()),
    };
    Ok((tenant, bearer))
}

/// `POST /.search` at the root (RFC 7644 §3.4.3) would search every resource type at once;
/// Portico searches one at a time, and says so with 501 as the RFC provides.
async fn search_everything(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    caller(&state, &tenant, &headers).await?;
    Err(ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        "search one resource type at a time: POST /Users/.search or /Groups/.search",
    ))
}

/// Any other path under `/scim/v2/`: a SCIM 404 (after the token is checked).
async fn unknown(
    State(state): State<AppState>,
    Path((tenant, _)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    caller(&state, &tenant, &headers).await?;
    Err(ScimError::new(
        StatusCode::NOT_FOUND,
        "no such SCIM endpoint",
    ))
}

/// A body over the limit, refused in the SCIM error schema (RFC 7644 §3.7.4) rather than
/// as plain text.
async fn too_large(response: Response) -> Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            != Some(SCIM_JSON)
    {
        return ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {} bytes", bulk::MAX_PAYLOAD),
        )
        .into_response();
    }
    response
}

/// The SCIM routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/{tenant}/scim/v2/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route(
            "/{tenant}/scim/v2/ResourceTypes",
            get(discovery::resource_types),
        )
        .route(
            "/{tenant}/scim/v2/ResourceTypes/{id}",
            get(discovery::resource_type),
        )
        .route("/{tenant}/scim/v2/Schemas", get(discovery::schemas))
        .route("/{tenant}/scim/v2/Schemas/{id}", get(discovery::schema))
        .route("/{tenant}/scim/v2/Bulk", axum::routing::post(bulk::bulk))
        .route(
            "/{tenant}/scim/v2/.search",
            axum::routing::post(search_everything),
        )
        .route("/{tenant}/scim/v2/{*rest}", axum::routing::any(unknown))
        .merge(users::routes())
        .merge(groups::routes())
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            bulk::MAX_PAYLOAD,
        ))
        .layer(axum::middleware::map_response(too_large))
}
