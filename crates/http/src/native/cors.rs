//! CORS for the native API (beyond Entra, whose endpoints need a proxy): a browser app on an
//! origin that a native-auth app of the tenant lists may call the API directly. The token
//! endpoint also answers single-page apps on the origins of their redirect URIs, as Entra's
//! does (they redeem codes and refresh tokens from the browser); other origins get no CORS.
//!
//! A preflight names no client, so it is answered for the tenant's listed origins; the call
//! that follows is checked against its own app (`Call::open`). No cookies are involved, so
//! credentials are never allowed.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use portico_core::BrowserDoor;
use portico_core::directory::TenantRef;

use crate::AppState;

/// How long a browser may cache a preflight answer.
const MAX_AGE_SECS: &str = "600";

/// `OPTIONS` on a native endpoint: the CORS preflight.
pub(crate) async fn preflight(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    answer_preflight(&state, &tenant, &headers, BrowserDoor::NativeApi).await
}

/// `OPTIONS` on the token endpoint: the CORS preflight.
pub(crate) async fn preflight_token(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    answer_preflight(&state, &tenant, &headers, BrowserDoor::Token).await
}

async fn answer_preflight(
    state: &AppState,
    tenant: &str,
    headers: &HeaderMap,
    door: BrowserDoor,
) -> Response {
    let Some(origin) = origin_of(headers) else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let method_ok = headers
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .is_some_and(|m| m.as_bytes() == b"POST");
    if !method_ok || !allowed(state, tenant, &origin, door).await {
        return StatusCode::FORBIDDEN.into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let out = response.headers_mut();
    allow_origin(out, &origin);
    out.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    // The SDKs send telemetry headers of their own (x-client-*, client-request-id); any
    // well-formed header name may come, since none of them carries credentials here.
    if let Some(requested) = headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .filter(|v| {
            v.as_bytes()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b',' | b' '))
        })
    {
        out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
    }
    out.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(MAX_AGE_SECS),
    );
    response
}

/// Lets the browser read the answer to a cross-origin call from a listed origin.
pub(crate) async fn decorate(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let origin = (request.method() != Method::OPTIONS)
        .then(|| origin_of(request.headers()))
        .flatten();
    let path = request.uri().path();
    let tenant = path.split('/').nth(1).unwrap_or_default().to_owned();
    let door = if path.ends_with("/oauth2/v2.0/token") || path.ends_with("/oauth2/v2.0/revoke") {
        BrowserDoor::Token
    } else {
        BrowserDoor::NativeApi
    };
    let mut response = next.run(request).await;
    if let Some(origin) = origin
        && allowed(&state, &tenant, &origin, door).await
    {
        let out = response.headers_mut();
        allow_origin(out, &origin);
        // A browser client using DPoP reads the server's nonce at the token endpoint.
        let exposed = match door {
            BrowserDoor::Token => "client-request-id, DPoP-Nonce",
            BrowserDoor::NativeApi => "client-request-id",
        };
        out.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(exposed),
        );
    }
    response
}

/// Whether `origin` is this server's own (a page Portico serves calling the API).
pub(crate) fn same_origin(state: &AppState, origin: &str) -> bool {
    url::Url::parse(&state.portico.settings.public_url)
        .is_ok_and(|url| url.origin().ascii_serialization() == origin)
}

/// The `Origin` of a cross-origin browser request (`null` included: an opaque origin is
/// cross-origin too); none for other callers and Portico's own pages.
pub(crate) fn cross_origin(state: &AppState, headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or("null").to_owned())
        .filter(|origin| !same_origin(state, origin))
}

fn origin_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| *o != "null")
        .map(str::to_owned)
}

async fn allowed(state: &AppState, tenant: &str, origin: &str, door: BrowserDoor) -> bool {
    let Ok(tenant) = state.portico.tenant(&TenantRef::parse(tenant)).await else {
        return false;
    };
    match state
        .portico
        .browser_origin_known(tenant.id, door, origin)
        .await
    {
        Ok(known) => known,
        Err(err) => {
            tracing::warn!(error = %err, "CORS origins unavailable");
            false
        }
    }
}

fn allow_origin(headers: &mut HeaderMap, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}
