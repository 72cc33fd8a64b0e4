//! `POST /{tenant}/oauth2/v2.0/par`: pushed authorization requests (RFC 9126).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::authorize::authorize_params;
use super::tenant_for_api;
use super::token::{client_credentials, dpop_header, with_dpop_nonce};
use crate::AppState;
use crate::client_ip::ClientIp;
use crate::error::OAuthJson;
use crate::form::Params;

/// `POST /{tenant}/oauth2/v2.0/par`: 201 with `request_uri` and `expires_in`.
pub async fn push(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    ClientIp(ip): ClientIp,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthJson> {
    let params = Params::from_form(&headers, &body).map_err(OAuthJson::invalid_request)?;
    let tenant = tenant_for_api(&state, &tenant).await?;
    let request = authorize_params(&params).map_err(OAuthJson::invalid_request)?;
    let credentials = client_credentials(&headers, &params)?;
    let dpop = dpop_header(&state, &uri, &headers)?;
    let pushed = match state
        .portico
        .push_authorization_request(&tenant, request, &credentials, dpop.as_ref(), ip)
        .await
    {
        Ok(pushed) => pushed,
        Err(err) => {
            let mut response = OAuthJson(err).into_response();
            if dpop.is_some() {
                with_dpop_nonce(&state, &tenant, &mut response);
            }
            return Ok(response);
        }
    };
    let mut response = (StatusCode::CREATED, axum::Json(pushed)).into_response();
    if dpop.is_some() {
        with_dpop_nonce(&state, &tenant, &mut response);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
