//! OpenID Connect and OAuth 2.0 endpoints.

pub mod authorize;
pub mod device;
pub mod discovery;
pub mod introspection;
pub mod logout;
pub mod par;
pub mod register;
pub mod token;
pub mod userinfo;

use portico_core::directory::{Tenant, TenantRef};
use portico_core::oauth::{OAuthError, OAuthErrorCode};

use crate::AppState;
use crate::error::OAuthJson;

/// Resolves the `{tenant}` path segment for JSON endpoints.
pub(crate) async fn tenant_for_api(state: &AppState, raw: &str) -> Result<Tenant, OAuthJson> {
    state
        .portico
        .tenant(&TenantRef::parse(raw))
        .await
        .map_err(|err| match err {
            portico_core::CoreError::NotFound(_) => OAuthJson(OAuthError::new(
                OAuthErrorCode::InvalidRequest,
                format!("tenant {raw:?} not found"),
            )),
            other => other.into(),
        })
}
