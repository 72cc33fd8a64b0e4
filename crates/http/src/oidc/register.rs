//! Dynamic client registration (RFC 7591) and its management (RFC 7592):
//! `POST /{tenant}/oauth2/v2.0/register` with an initial access token, then
//! `GET|PUT|DELETE /{tenant}/oauth2/v2.0/register/{client_id}` with the registration access
//! token. Errors are RFC 7591 §3.2.2's JSON.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portico_core::directory::{ClientMetadata, RegisteredClient, RegistrationError, TenantRef};

use super::tenant_for_api;
use crate::AppState;
use crate::error::OAuthJson;

use crate::bearer::bearer_token as bearer;

/// The metadata in a JSON body (RFC 7591 §3.1), or `invalid_client_metadata`.
fn metadata(headers: &HeaderMap, body: &Bytes) -> Result<ClientMetadata, RegistrationError> {
    let refused = |why: String| RegistrationError::InvalidClientMetadata(why);
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !json {
        return Err(refused(
            "send the client metadata as application/json".into(),
        ));
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| refused("the body is not JSON".into()))?;
    if !value.is_object() {
        return Err(refused("the client metadata must be a JSON object".into()));
    }
    serde_json::from_value(value).map_err(|e| refused(format!("unreadable client metadata: {e}")))
}

/// A refused registration request as RFC 7591 §3.2.2 and RFC 6750 describe it.
fn refusal(err: RegistrationError) -> Response {
    let description = err.to_string();
    let (status, code) = match err {
        RegistrationError::Core(core) => return OAuthJson::from(core).into_response(),
        RegistrationError::InvalidToken => (StatusCode::UNAUTHORIZED, "invalid_token"),
        RegistrationError::InvalidRedirectUri(_) => {
            (StatusCode::BAD_REQUEST, "invalid_redirect_uri")
        }
        RegistrationError::InvalidClientMetadata(_) => {
            (StatusCode::BAD_REQUEST, "invalid_client_metadata")
        }
    };
    let body = serde_json::json!({"error": code, "error_description": description});
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    no_store(response)
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn answer(status: StatusCode, result: Result<RegisteredClient, RegistrationError>) -> Response {
    match result {
        Ok(client) => no_store((status, axum::Json(client)).into_response()),
        Err(err) => refusal(err),
    }
}

/// `POST /{tenant}/oauth2/v2.0/register`: 201 with the client's id, secret and registration
/// access token.
pub async fn register(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthJson> {
    let tenant = tenant_for_api(&state, &tenant).await?;
    let metadata = match metadata(&headers, &body) {
        Ok(metadata) => metadata,
        Err(err) => return Ok(refusal(err)),
    };
    let result = state
        .portico
        .register_client(&TenantRef::Id(tenant.id), bearer(&headers), metadata)
        .await;
    Ok(answer(StatusCode::CREATED, result))
}

/// `GET /{tenant}/oauth2/v2.0/register/{client_id}`.
pub async fn read(
    State(state): State<AppState>,
    Path((tenant, client_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, OAuthJson> {
    let tenant = tenant_for_api(&state, &tenant).await?;
    let result = state
        .portico
        .read_registration(&TenantRef::Id(tenant.id), &client_id, bearer(&headers))
        .await;
    Ok(answer(StatusCode::OK, result))
}

/// `PUT /{tenant}/oauth2/v2.0/register/{client_id}`: the metadata replaced.
pub async fn update(
    State(state): State<AppState>,
    Path((tenant, client_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthJson> {
    let tenant = tenant_for_api(&state, &tenant).await?;
    let metadata = match metadata(&headers, &body) {
        Ok(metadata) => metadata,
        Err(err) => return Ok(refusal(err)),
    };
    let result = state
        .portico
        .update_registration(
            &TenantRef::Id(tenant.id),
            &client_id,
            bearer(&headers),
            metadata,
        )
        .await;
    Ok(answer(StatusCode::OK, result))
}

/// `DELETE /{tenant}/oauth2/v2.0/register/{client_id}`: 204, the app is gone.
pub async fn delete(
    State(state): State<AppState>,
    Path((tenant, client_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, OAuthJson> {
    let tenant = tenant_for_api(&state, &tenant).await?;
    Ok(
        match state
            .portico
            .delete_registration(&TenantRef::Id(tenant.id), &client_id, bearer(&headers))
            .await
        {
            Ok(()) => no_store(StatusCode::NO_CONTENT.into_response()),
            Err(err) => refusal(err),
        },
    )
}
