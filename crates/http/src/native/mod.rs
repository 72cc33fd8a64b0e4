//! The native-authentication API (spec `entra-external-id-contracts.md` §1): Microsoft's wire
//! contract for apps that sign people in without a browser redirect. It is a front door of the
//! same sign-in engine as the hosted pages: each endpoint reads its form, turns it into engine
//! events on the flow its continuation token names, and turns the engine's step and problem
//! into the contract's JSON. No flow rule lives here; only the mapping.

/// A native endpoint's handler: opens the call (form, tenant, app, origin) and answers with
/// what `$step(state, &call, ip)` returns.
macro_rules! endpoint {
    ($name:ident, $step:ident, $doc:literal) => {
        #[doc = $doc]
        pub(crate) async fn $name(
            axum::extract::State(state): axum::extract::State<crate::AppState>,
            axum::extract::Path(tenant): axum::extract::Path<String>,
            crate::client_ip::ClientIp(ip): crate::client_ip::ClientIp,
            headers: axum::http::HeaderMap,
            body: axum::body::Bytes,
        ) -> axum::response::Response {
            let state = &state;
            super::flow::answer(state, &tenant, &headers, &body, |call| async move {
                $step(state, &call, ip).await
            })
            .await
        }
    };
}

pub(crate) mod cors;
mod error;
pub mod fields;
mod flow;
mod problems;
mod register;
mod reset;
pub(crate) mod signin;
mod signup;
mod wire;

use axum::Router;
use axum::routing::post;
use portico_core::directory::{Application, Tenant, TenantRef};
use portico_core::ids::ClientId;
use portico_core::signin::{ContinuationError, ResumeError, SignInFlow};

use crate::AppState;
use crate::form::Params;
pub(crate) use error::NativeError;
use fields::{client_abilities, list, narrowed};
pub(crate) use wire::Wire;

/// The native endpoints (the token endpoint is shared with OAuth and routed with it, as is
/// revocation, which single-page apps call from the browser like the token endpoint).
pub(crate) fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/{tenant}/oauth2/v2.0/initiate",
            post(signin::initiate).options(cors::preflight),
        )
        .route(
            "/{tenant}/oauth2/v2.0/challenge",
            post(signin::challenge).options(cors::preflight),
        )
        .route(
            "/{tenant}/oauth2/v2.0/introspect",
            post(crate::oidc::introspection::introspect).options(cors::preflight),
        )
        .route(
            "/{tenant}/oauth2/v2.0/token",
            post(crate::oidc::token::token).options(cors::preflight_token),
        )
        // A single-page app revokes its refresh token from the browser at sign-out (RFC
        // 7009), from the same origins as it redeems them.
        .route(
            "/{tenant}/oauth2/v2.0/revoke",
            post(crate::oidc::introspection::revoke).options(cors::preflight_token),
        )
        .route(
            "/{tenant}/signup/v1.0/start",
            post(signup::start).options(cors::preflight),
        )
        .route(
            "/{tenant}/signup/v1.0/challenge",
            post(signup::challenge).options(cors::preflight),
        )
        .route(
            "/{tenant}/signup/v1.0/continue",
            post(signup::proceed).options(cors::preflight),
        )
        .route(
            "/{tenant}/resetpassword/v1.0/start",
            post(reset::start).options(cors::preflight),
        )
        .route(
            "/{tenant}/resetpassword/v1.0/challenge",
            post(reset::challenge).options(cors::preflight),
        )
        .route(
            "/{tenant}/resetpassword/v1.0/continue",
            post(reset::proceed).options(cors::preflight),
        )
        .route(
            "/{tenant}/resetpassword/v1.0/submit",
            post(reset::submit).options(cors::preflight),
        )
        .route(
            "/{tenant}/resetpassword/v1.0/poll_completion",
            post(reset::poll_completion).options(cors::preflight),
        )
        .route(
            "/{tenant}/register/v1.0/introspect",
            post(register::introspect).options(cors::preflight),
        )
        .route(
            "/{tenant}/register/v1.0/challenge",
            post(register::challenge).options(cors::preflight),
        )
        .route(
            "/{tenant}/register/v1.0/continue",
            post(register::proceed).options(cors::preflight),
        )
        .route_layer(axum::middleware::from_fn_with_state(state, cors::decorate))
        // Mails and texts go out in the language the request negotiates (Accept-Language).
        .route_layer(axum::middleware::from_fn(
            crate::pages::i18n::language_scope,
        ))
}

pub(crate) use signin::token_grant;

/// Whether a token request belongs to the native API: one of its grants, with a continuation
/// token. Without one, `password` is the resource-owner password grant, which Portico never
/// offers (RFC 9700 §2.4), and the OAuth endpoint says `unsupported_grant_type`.
pub(crate) fn is_native_grant(params: &Params) -> bool {
    let grant = params.get("grant_type").ok().flatten();
    let continued = params.get("continuation_token").ok().flatten().is_some();
    continued
        && matches!(
            grant.as_deref(),
            Some("password" | "oob" | "mfa_oob" | "passkey" | "continuation_token")
        )
}

/// One native call: the tenant, the calling app (checked for native auth) and the form.
pub(crate) struct Call {
    pub tenant: Tenant,
    pub app: Application,
    pub params: Params,
}

impl Call {
    /// Resolves the tenant, reads the form and checks the app may use the native API.
    pub(crate) async fn open(
        state: &AppState,
        tenant: &str,
        params: Params,
        origin: Option<&str>,
    ) -> Result<Self, NativeError> {
        let tenant = match state.portico.tenant(&TenantRef::parse(tenant)).await {
            Ok(tenant) => tenant,
            Err(portico_core::CoreError::NotFound(_)) => {
                return Err(NativeError::invalid_request(
                    90002,
                    format!("Tenant '{tenant}' not found."),
                ));
            }
            Err(err) => return Err(err.into()),
        };
        let client = params
            .one("client_id")?
            .ok_or_else(|| NativeError::missing("client_id"))?;
        let unknown = || {
            NativeError::new(
                "invalid_client",
                700016,
                format!(
                    "Application with identifier '{client}' was not found in the directory '{}'.",
                    tenant.name
                ),
            )
        };
        let client_id: ClientId = client.parse().map_err(|_| unknown())?;
        let app = state
            .portico
            .application(tenant.id, client_id)
            .await?
            .ok_or_else(unknown)?;
        if !app.native_auth || app.kind.is_confidential() {
            // UNCONFIRMED: no public source gives Entra's number for this case; SDKs branch on
            // the suberror, so the number is ours.
            return Err(NativeError::new(
                "invalid_client",
                500208,
                "The application is not enabled for the native authentication API.",
            )
            .with_suberror("nativeauthapi_disabled"));
        }
        // A page on another origin may call only if this app lists that origin (the CORS
        // layer lets the browser read answers; this stops the call itself).
        if let Some(origin) = origin
            && !cors::same_origin(state, origin)
            && !app.cors_origins.iter().any(|o| o == origin)
        {
            return Err(NativeError::new(
                "invalid_client",
                500209,
                format!("The origin '{origin}' may not call the API for this application."),
            ));
        }
        Ok(Self {
            tenant,
            app,
            params,
        })
    }

    /// The flow the request's `continuation_token` names, at the step it was issued at, and the
    /// token's front-door stage, which must be one of `stages`.
    pub(crate) async fn resume(
        &self,
        state: &AppState,
        stages: &[&str],
        at_token_endpoint: bool,
    ) -> Result<(String, bool, SignInFlow), NativeError> {
        let token = self.params.required("continuation_token")?;
        let invalid = || {
            let description = "The continuation token is not valid. Start the flow again.";
            if at_token_endpoint {
                NativeError::invalid_grant(55200, description)
            } else {
                NativeError::invalid_request(55200, description)
            }
        };
        let (claims, flow) = match state
            .portico
            .resume_continuation(&self.tenant, self.app.client_id, &token)
            .await
        {
            Ok(found) => found,
            Err(ResumeError::Token(ContinuationError::Expired)) => {
                return Err(NativeError::new(
                    "expired_token",
                    552003,
                    "The continuation token has expired. Start the flow again.",
                ));
            }
            Err(ResumeError::Token(_)) => return Err(invalid()),
            Err(ResumeError::Core(err)) => return Err(err.into()),
        };
        if !stages.contains(&claims.stage.as_str()) {
            return Err(NativeError::invalid_request(
                901007,
                "The continuation_token provided is not valid for this endpoint.",
            ));
        }
        Ok((claims.stage, claims.code_fresh, flow))
    }
}

/// The web fallback (HTTP 200): the client must finish in a browser.
pub(crate) fn redirect(reason: &str) -> serde_json::Value {
    serde_json::json!({ "challenge_type": "redirect", "redirect_reason": reason })
}
