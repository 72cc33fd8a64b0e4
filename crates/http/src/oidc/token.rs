//! The token endpoint.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use portico_core::oauth::{
    ClientCredentials, DpopHeader, ExchangeParams, OAuthError, OAuthErrorCode, TokenRequest,
};
use portico_core::tokens::IssuedTokens;

use super::tenant_for_api;
use crate::AppState;
use crate::client_ip::ClientIp;
use crate::error::OAuthJson;
use crate::form::Params;

/// `POST /{tenant}/oauth2/v2.0/token`.
pub async fn token(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    ClientIp(ip): ClientIp,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthJson> {
    let params = Params::from_form(&headers, &body).map_err(OAuthJson::invalid_request)?;
    // The native API's grants answer in its own error format.
    if crate::native::is_native_grant(&params) {
        return Ok(crate::native::token_grant(&state, &tenant, ip, &headers, &body).await);
    }
    let tenant = tenant_for_api(&state, &tenant).await?;
    let dpop = dpop_header(&state, &uri, &headers)?;
    let uses_dpop = dpop.is_some();
    let get = |name: &str| params.get(name).map_err(OAuthJson::invalid_request);
    let request = TokenRequest {
        credentials: client_credentials(&headers, &params)?,
        grant_type: get("grant_type")?,
        code: get("code")?,
        redirect_uri: get("redirect_uri")?,
        code_verifier: get("code_verifier")?,
        refresh_token: get("refresh_token")?,
        device_code: get("device_code")?,
        assertion: get("assertion")?,
        requested_token_use: get("requested_token_use")?,
        exchange: ExchangeParams {
            subject_token: get("subject_token")?,
            subject_token_type: get("subject_token_type")?,
            actor_token: get("actor_token")?,
            actor_token_type: get("actor_token_type")?,
            requested_token_type: get("requested_token_type")?,
            audience: get("audience")?,
            resource: get("resource")?,
        },
        scope: get("scope")?,
        client_info: params
            .flag("client_info")
            .map_err(OAuthJson::invalid_request)?,
        origin: crate::native::cors::cross_origin(&state, &headers),
        dpop,
    };
    let issued = match state.portico.token(&tenant, request).await {
        Ok(issued) => issued,
        Err(err) => {
            // A client that speaks DPoP gets a nonce with every answer (RFC 9449 §8), the
            // `use_dpop_nonce` one above all.
            let mut response = OAuthJson(err).into_response();
            if uses_dpop {
                with_dpop_nonce(&state, &tenant, &mut response);
            }
            return Ok(response);
        }
    };
    let mut response = axum::Json(token_body(issued)).into_response();
    if uses_dpop {
        with_dpop_nonce(&state, &tenant, &mut response);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// The token response body (RFC 6749 §5.1, with Entra's `ext_expires_in` and `client_info`).
pub(crate) fn token_body(issued: IssuedTokens) -> serde_json::Value {
    let mut body = serde_json::json!({
        "token_type": issued.token_type,
        "scope": issued.scope,
        "expires_in": issued.expires_in,
        "ext_expires_in": issued.expires_in,
        "access_token": issued.access_token,
    });
    if let Some(map) = body.as_object_mut() {
        if let Some(refresh) = issued.refresh_token {
            map.insert("refresh_token".into(), refresh.into());
        }
        if let Some(id_token) = issued.id_token {
            map.insert("id_token".into(), id_token.into());
        }
        if let Some(client_info) = issued.client_info {
            map.insert("client_info".into(), client_info.into());
        }
        if let Some(kind) = issued.issued_token_type {
            map.insert("issued_token_type".into(), kind.into());
        }
    }
    body
}

/// The `DPoP` header of a request (RFC 9449 §4.1: at most one) and the URI the client sent
/// it to: Portico's public URL and the path.
pub(crate) fn dpop_header(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Option<DpopHeader>, OAuthJson> {
    let mut values = headers.get_all("dpop").iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let invalid = |why: &str| OAuthJson(OAuthError::new(OAuthErrorCode::InvalidDpopProof, why));
    if values.next().is_some() {
        return Err(invalid("send one DPoP header"));
    }
    let proof = value
        .to_str()
        .map_err(|_| invalid("the DPoP header is not a JWT"))?;
    Ok(Some(DpopHeader {
        proof: proof.trim().to_owned(),
        uri: format!(
            "{}{}",
            state.portico.settings.public_url.trim_end_matches('/'),
            uri.path()
        ),
    }))
}

/// Adds a fresh `DPoP-Nonce` for the tenant's token endpoint.
pub(crate) fn with_dpop_nonce(
    state: &AppState,
    tenant: &portico_core::directory::Tenant,
    response: &mut Response,
) {
    if let Ok(nonce) = HeaderValue::from_str(&state.portico.dpop_nonce(tenant)) {
        response.headers_mut().insert("dpop-nonce", nonce);
    }
}

/// Client authentication as a request presents it: Basic header, form fields, or an
/// assertion (RFC 6749 §2.3, RFC 7523).
pub(crate) fn client_credentials(
    headers: &HeaderMap,
    params: &Params,
) -> Result<ClientCredentials, OAuthJson> {
    let get = |name: &str| params.get(name).map_err(OAuthJson::invalid_request);
    Ok(ClientCredentials {
        basic: basic_credentials(headers)?,
        form_client_id: get("client_id")?,
        form_client_secret: get("client_secret")?,
        assertion_type: get("client_assertion_type")?,
        assertion: get("client_assertion")?,
    })
}

/// `client_secret_basic`: `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
pub(crate) fn basic_credentials(
    headers: &HeaderMap,
) -> Result<Option<(String, String)>, OAuthJson> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || OAuthJson::invalid_request("malformed Basic authorization header");
    let value = value.to_str().map_err(|_| malformed())?;
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return Err(OAuthJson::invalid_request(
            "only Basic authorization is accepted at the token endpoint",
        ));
    };
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}
