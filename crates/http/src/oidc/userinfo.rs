//! The userinfo endpoint (OIDC Core §5.3).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use portico_core::oauth::{OAuthError, OAuthErrorCode};

use super::tenant_for_api;
use crate::AppState;
use crate::error::OAuthJson;

/// `GET|POST /{tenant}/oidc/userinfo` with a bearer access token.
pub async fn userinfo(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Response, OAuthJson> {
    let tenant = tenant_for_api(&state, &tenant).await?;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            OAuthJson(OAuthError::new(
                OAuthErrorCode::InvalidToken,
                "a bearer access token is required",
            ))
        })?;
    let info = state.portico.userinfo(&tenant, token).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], axum::Json(info)).into_response())
}
