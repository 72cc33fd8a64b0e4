//! `POST /{tenant}/oauth2/v2.0/devicecode`: the device authorization endpoint (RFC 8628 §3.1).
//! The person's side is the device page (`pages::device`); the device polls `/token`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use portico_core::oauth::DeviceAuthorizationRequest;

use super::tenant_for_api;
use super::token::client_credentials;
use crate::AppState;
use crate::client_ip::ClientIp;
use crate::error::OAuthJson;
use crate::form::Params;

/// `POST /{tenant}/oauth2/v2.0/devicecode`.
pub async fn device_authorization(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthJson> {
    let params = Params::from_form(&headers, &body).map_err(OAuthJson::invalid_request)?;
    let tenant = tenant_for_api(&state, &tenant).await?;
    let request = DeviceAuthorizationRequest {
        scope: params.get("scope").map_err(OAuthJson::invalid_request)?,
        credentials: client_credentials(&headers, &params)?,
    };
    let issued = state
        .portico
        .device_authorization(&tenant, &request, ip)
        .await?;
    let mut response = axum::Json(issued).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
