//! `POST /{tenant}/oauth2/v2.0/introspect` (RFC 7662) and `POST /{tenant}/oauth2/v2.0/revoke`
//! (RFC 7009). The introspection path is shared with the native-authentication API, whose
//! requests carry a `continuation_token` instead of a `token`: those go to it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portico_core::oauth::ClientCredentials;

use super::tenant_for_api;
use super::token::client_credentials;
use crate::AppState;
use crate::error::OAuthJson;
use crate::form::Params;

/// The form of an introspection or revocation request: the token and the client's
/// credentials (`token_type_hint` is read and ignored: both kinds are tried).
fn token_and_client(
    headers: &HeaderMap,
    params: &Params,
) -> Result<(Option<String>, ClientCredentials), OAuthJson> {
    let get = |name: &str| params.get(name).map_err(OAuthJson::invalid_request);
    get("token_type_hint")?;
    Ok((get("token")?, client_credentials(headers, params)?))
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /{tenant}/oauth2/v2.0/introspect`.
pub async fn introspect(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthJson> {
    let parsed = Params::from_form(&headers, &body);
    let present = |name: &str| {
        parsed
            .as_ref()
            .is_ok_and(|p| p.get(name).ok().flatten().is_some())
    };
    // A native call answers in the native API's own format, also when its form is bad.
    let native = match &parsed {
        Ok(_) => present("continuation_token") && !present("token"),
        Err(_) => body.windows(19).any(|w| w == b"continuation_token="),
    };
    if native {
        return Ok(
            crate::native::signin::introspect(State(state), Path(tenant), headers, body).await,
        );
    }
    let params = parsed.map_err(OAuthJson::invalid_request)?;
    let tenant = tenant_for_api(&state, &tenant).await?;
    let (token, credentials) = token_and_client(&headers, &params)?;
    let answer = state
        .portico
        .introspect(&tenant, &credentials, token.as_deref())
        .await?;
    Ok(no_store(axum::Json(answer).into_response()))
}

/// `POST /{tenant}/oauth2/v2.0/revoke`: 200 with an empty body whether or not there was
/// anything to revoke (RFC 7009 §2.2).
pub async fn revoke(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthJson> {
    let params = Params::from_form(&headers, &body).map_err(OAuthJson::invalid_request)?;
    let tenant = tenant_for_api(&state, &tenant).await?;
    let (token, credentials) = token_and_client(&headers, &params)?;
    state
        .portico
        .revoke_token(&tenant, &credentials, token.as_deref())
        .await?;
    Ok(no_store(StatusCode::OK.into_response()))
}
