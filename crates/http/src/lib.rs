//! Portico's front doors over HTTP: OpenID Connect / OAuth endpoints, hosted pages, the admin
//! API and operational endpoints. Handlers translate wire formats into calls on
//! [`portico_core::Portico`] and domain errors into wire errors; they hold no business rules.
//! This is the only crate that knows axum and status codes.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::indexing_slicing))]

mod admin;
mod bearer;
mod client_ip;
mod error;
pub mod form;
mod middleware;
mod native;
pub use native::fields as native_fields;
mod oidc;
mod ops;
mod pages;
mod scim;

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use portico_core::Portico;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use admin::{ApplicationOut, ExtensionCallOut, ExtensionOut, openapi_document};

/// Whether `key` names a page text a tenant's branding may override.
pub fn is_page_text_key(key: &str) -> bool {
    pages::i18n::is_known_key(key)
}

/// Renders the Prometheus exposition text.
pub type MetricsRenderer = Arc<dyn Fn() -> String + Send + Sync>;

/// HTTP-level settings.
#[derive(Debug, Clone, Default)]
pub struct HttpConfig {
    /// Peers whose `X-Forwarded-For` is believed (reverse proxies).
    pub trusted_proxies: Vec<IpAddr>,
    /// Whether cookies get the `Secure` attribute (the public URL is https).
    pub secure_cookies: bool,
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// The domain services.
    pub portico: Arc<Portico>,
    /// HTTP settings.
    pub config: Arc<HttpConfig>,
    /// Prometheus renderer for `/metrics`.
    pub metrics: Option<MetricsRenderer>,
}

/// Largest request body accepted almost everywhere (forms and admin JSON are small).
const BODY_LIMIT: usize = 64 * 1024;
/// Largest body of the branding endpoint: a 256 KiB logo as base64, and the rest.
const LARGE_BODY_LIMIT: usize = 384 * 1024;

/// The router of a metrics-only listener (`serve --metrics-listen`): `/metrics` and nothing
/// else.
pub fn metrics_router(render: Option<MetricsRenderer>) -> Router {
    let state = MetricsOnly(render);
    Router::new()
        .route("/metrics", get(ops::metrics_only))
        .fallback(ops::not_found)
        .with_state(state)
}

/// What a metrics-only listener holds.
#[derive(Clone)]
pub(crate) struct MetricsOnly(pub(crate) Option<MetricsRenderer>);

/// Builds the complete router.
pub fn router(state: AppState) -> Router {
    let tenant_routes = Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(oidc::discovery::openid_configuration),
        )
        .route(
            "/{tenant}/v2.0/.well-known/oauth-authorization-server",
            get(oidc::discovery::openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server/{tenant}/v2.0",
            get(oidc::discovery::openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(oidc::discovery::jwks))
        .route(
            "/{tenant}/oauth2/v2.0/par",
            axum::routing::post(oidc::par::push),
        )
        .route(
            "/{tenant}/oauth2/v2.0/register",
            axum::routing::post(oidc::register::register),
        )
        .route(
            "/{tenant}/oauth2/v2.0/register/{client_id}",
            get(oidc::register::read)
                .put(oidc::register::update)
                .delete(oidc::register::delete),
        )
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            axum::routing::post(oidc::device::device_authorization),
        )
        .route("/{tenant}/branding/logo", get(pages::logo))
        .route(
            "/{tenant}/oidc/userinfo",
            get(oidc::userinfo::userinfo).post(oidc::userinfo::userinfo),
        )
        .route(
            "/{tenant}/users/{user}/getMemberObjects",
            get(oidc::userinfo::member_objects).post(oidc::userinfo::member_objects),
        );
    // Pages render in the language the request negotiates.
    let page_routes = Router::new()
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(oidc::authorize::authorize_get).post(oidc::authorize::authorize_post),
        )
        .route(
            "/{tenant}/oauth2/v2.0/logout",
            get(oidc::logout::logout_get).post(oidc::logout::logout_post),
        )
        .route(
            "/{tenant}/signin",
            get(pages::signin::show).post(pages::signin::submit),
        )
        .route("/{tenant}/signin/switch", get(pages::signin::switch))
        .route(
            "/{tenant}/device",
            get(pages::device::show).post(pages::device::submit),
        )
        .route(
            "/{tenant}/account/security",
            get(pages::security::show).post(pages::security::submit),
        )
        .route_layer(axum::middleware::from_fn(pages::i18n::language_scope));
    let router = Router::new()
        .merge(tenant_routes)
        .merge(native::routes(state.clone()))
        .merge(page_routes)
        .merge(admin::routes())
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .merge(admin::large_body_routes().layer(RequestBodyLimitLayer::new(LARGE_BODY_LIMIT)))
        // SCIM takes Bulk requests and large groups: its routes set their own limit.
        .merge(scim::routes())
        .fallback(ops::not_found);
    // Over HTTPS browsers are told to use nothing else (RFC 6797); never over plain http,
    // where the header would pin a scheme the server does not serve.
    let router = if state.config.secure_cookies {
        router.layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::STRICT_TRANSPORT_SECURITY,
            axum::http::HeaderValue::from_static("max-age=31536000"),
        ))
    } else {
        router
    };
    router
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(axum::middleware::from_fn(middleware::track_metrics))
        // Per-request spans and events at DEBUG: free at the default INFO level.
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .with_state(state)
}
