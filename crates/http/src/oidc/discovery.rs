//! Discovery (OIDC Discovery 1.0, RFC 8414) and the JWKS.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use portico_core::directory::ImplicitGrant;
use portico_core::oauth::{DEVICE_CODE_GRANT, JWT_BEARER_GRANT, TOKEN_EXCHANGE_GRANT};

use super::tenant_for_api;

use crate::AppState;
use crate::error::OAuthJson;

/// The algorithms a `private_key_jwt` assertion may be signed with (what
/// `portico_core::directory::allowed_algorithms` allows for some key type).
const ASSERTION_ALGS: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// The provider metadata, Entra-shaped, with the tenant GUID in every URL.
pub async fn openid_configuration(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Response, OAuthJson> {
    let tenant = tenant_for_api(&state, &tenant).await?;
    let base = format!("{}/{}", state.portico.settings.public_url, tenant.id);
    let apps = state
        .portico
        .list_applications(&portico_core::directory::TenantRef::Id(tenant.id))
        .await?;
    // The device code flow, and the implicit and hybrid response types, only where some app
    // of the tenant may use them.
    let device_code = apps.iter().any(|app| app.device_code);
    // Token exchange only where some API's policy lets a client exchange.
    let token_exchange = apps.iter().any(|app| !app.api.token_exchange.is_empty());
    let implicit = apps
        .iter()
        .map(|app| app.implicit)
        .max_by_key(|grant| *grant as u8)
        .unwrap_or_default();
    let response_types: &[&str] = match implicit {
        ImplicitGrant::Off => &["code"],
        ImplicitGrant::IdToken => &["code", "id_token", "code id_token"],
        ImplicitGrant::IdTokenAndToken => &["code", "id_token", "id_token token", "code id_token"],
    };
    let mut grant_types = vec![
        "authorization_code",
        "refresh_token",
        "client_credentials",
        JWT_BEARER_GRANT,
    ];
    if token_exchange {
        grant_types.push(TOKEN_EXCHANGE_GRANT);
    }
    if device_code {
        grant_types.push(DEVICE_CODE_GRANT);
    }
    let mut document = json!({
        "issuer": state.portico.issuer(&tenant),
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
        "introspection_endpoint": format!("{base}/oauth2/v2.0/introspect"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "private_key_jwt"],
        "revocation_endpoint": format!("{base}/oauth2/v2.0/revoke"),
        "pushed_authorization_request_endpoint": format!("{base}/oauth2/v2.0/par"),
        "require_pushed_authorization_requests": false,
        "revocation_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "private_key_jwt", "none"],
        "response_types_supported": response_types,
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": grant_types,
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": [tenant.signing_alg.as_str()],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "nbf", "auth_time", "nonce", "sid",
            "name", "preferred_username", "email", "oid", "tid", "ver", "amr"
        ],
        "prompt_values_supported": ["none", "login", "select_account", "consent", "create"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
        // Front- and back-channel logout, each with `iss` and `sid` (per app, when it
        // registers a logout URI); `http_logout_supported` is the old name Entra still sends.
        "frontchannel_logout_supported": true,
        "frontchannel_logout_session_supported": true,
        "http_logout_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        // DPoP (RFC 9449 §5.1): proofs in these algorithms; tokens bound on request.
        "dpop_signing_alg_values_supported": portico_core::oauth::DPOP_ALGORITHMS,
        "tenant_region_scope": null,
        "cloud_instance_name": state.portico.settings.public_url,
    });
    // Dynamic client registration (RFC 7591) where the tenant offers it.
    if state.portico.registration_enabled(tenant.id).await?
        && let Some(map) = document.as_object_mut()
    {
        map.insert(
            "registration_endpoint".into(),
            format!("{base}/oauth2/v2.0/register").into(),
        );
    }
    if device_code && let Some(map) = document.as_object_mut() {
        map.insert(
            "device_authorization_endpoint".into(),
            format!("{base}/oauth2/v2.0/devicecode").into(),
        );
    }
    let mut response = (StatusCode::OK, axum::Json(document)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(response)
}

/// The tenant's published keys. Kept short-cached: a rotated-in key must reach verifiers
/// before it signs.
pub async fn jwks(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Response, OAuthJson> {
    let tenant = tenant_for_api(&state, &tenant).await?;
    let keys = state
        .portico
        .keys
        .tenant_keys(state.portico.store.as_ref(), tenant.id, state.portico.now())
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        keys.jwks_json.clone(),
    )
        .into_response())
}
