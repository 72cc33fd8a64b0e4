//! The userinfo endpoint (OIDC Core §5.3), for bearer and DPoP-bound tokens (RFC 9449 §7).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use portico_core::oauth::{DPOP_ALGORITHMS, DpopRequest, OAuthError, OAuthErrorCode, Presentation};

use super::tenant_for_api;
use crate::AppState;
use crate::error::OAuthJson;

/// `GET|POST /{tenant}/oidc/userinfo` with an access token: `Bearer`, or `DPoP` with a proof.
pub async fn userinfo(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, OAuthJson> {
    let tenant = tenant_for_api(&state, &tenant).await?;
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (scheme, token) = authorization
        .split_once(' ')
        .map(|(scheme, token)| (scheme, token.trim()))
        .filter(|(_, token)| !token.is_empty())
        .ok_or_else(|| {
            OAuthJson(OAuthError::new(
                OAuthErrorCode::InvalidToken,
                "an access token is required (Bearer or DPoP)",
            ))
        })?;
    let dpop = match super::token::dpop_header(&state, &uri, &headers) {
        Ok(dpop) => dpop,
        Err(OAuthJson(err)) => return Ok(dpop_challenge(err)),
    };
    let presented = if scheme.eq_ignore_ascii_case("dpop") {
        Presentation::Dpop(dpop.as_ref().map(|header| DpopRequest {
            proof: &header.proof,
            method: method.as_str(),
            uri: &header.uri,
        }))
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Presentation::Bearer
    } else {
        return Err(OAuthJson(OAuthError::new(
            OAuthErrorCode::InvalidToken,
            "the Authorization scheme must be Bearer or DPoP",
        )));
    };
    match state.portico.userinfo(&tenant, token, presented).await {
        Ok(info) => Ok(([(header::CACHE_CONTROL, "no-store")], axum::Json(info)).into_response()),
        Err(err) if matches!(presented, Presentation::Dpop(_)) => Ok(dpop_challenge(err)),
        Err(err) => {
            // Both schemes are offered (RFC 9449 §7.2): a client holding a bound token
            // learns to present it with DPoP.
            let mut response = OAuthJson(err).into_response();
            if response.status() == StatusCode::UNAUTHORIZED
                && let Ok(value) =
                    HeaderValue::from_str(&format!("DPoP algs=\"{}\"", DPOP_ALGORITHMS.join(" ")))
            {
                response
                    .headers_mut()
                    .append(header::WWW_AUTHENTICATE, value);
            }
            Ok(response)
        }
    }
}

/// A resource's answer to a DPoP request it refuses (RFC 9449 §7.1): 401 with a `DPoP`
/// challenge naming the error and the algorithms proofs may use.
fn dpop_challenge(err: OAuthError) -> Response {
    let code = err.code;
    let mut response = OAuthJson(err).into_response();
    if matches!(
        code,
        OAuthErrorCode::InvalidToken | OAuthErrorCode::InvalidDpopProof
    ) {
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        let challenge = format!(
            "DPoP error=\"{}\", algs=\"{}\"",
            code.as_str(),
            DPOP_ALGORITHMS.join(" ")
        );
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
    }
    response
}

/// `GET|POST /{tenant}/users/{oid}/getMemberObjects`: where a token's overage claims point
/// (Entra's shape: `{"value": [group ids]}`), for a bearer access token of that user.
pub async fn member_objects(
    State(state): State<AppState>,
    Path((tenant, user)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, OAuthJson> {
    let tenant = tenant_for_api(&state, &tenant).await?;
    let token = crate::bearer::bearer_token(&headers).ok_or_else(|| {
        OAuthJson(OAuthError::new(
            OAuthErrorCode::InvalidToken,
            "a bearer access token of the user is required",
        ))
    })?;
    let groups = state
        .portico
        .member_objects(&tenant, token, &user)
        .await
        .map_err(OAuthJson)?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({ "value": groups })),
    )
        .into_response())
}
