//! Hosted pages: server-rendered, accessible HTML that works without JavaScript, with a
//! per-response CSP nonce, CSRF tokens bound to a cookie, and no caching.

pub mod device;
pub mod i18n;
mod qr;
pub mod security;
pub mod signin;

use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use minijinja::Environment;
use portico_core::directory::{Branding, Tenant};
use portico_core::secret::random_token;

use crate::AppState;

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // A tenant's own text for a key (from its branding, in the render context) wins.
    env.add_function("t", |state: &minijinja::State, key: &str| {
        state
            .lookup("texts")
            .and_then(|texts| texts.get_attr(key).ok())
            .and_then(|text| text.as_str().map(str::to_owned))
            .unwrap_or_else(|| i18n::text(key))
    });
    env.add_function("lang", i18n::current);
    for (name, source) in [
        ("base.html", include_str!("../../templates/base.html")),
        ("flow.html", include_str!("../../templates/flow.html")),
        ("error.html", include_str!("../../templates/error.html")),
        ("device.html", include_str!("../../templates/device.html")),
        (
            "security.html",
            include_str!("../../templates/security.html"),
        ),
        (
            "passkey_codec.html",
            include_str!("../../templates/passkey_codec.html"),
        ),
        (
            "passkey_create.html",
            include_str!("../../templates/passkey_create.html"),
        ),
        (
            "form_post.html",
            include_str!("../../templates/form_post.html"),
        ),
        (
            "signed_out.html",
            include_str!("../../templates/signed_out.html"),
        ),
        (
            "logout_confirm.html",
            include_str!("../../templates/logout_confirm.html"),
        ),
    ] {
        if let Err(err) = env.add_template(name, source) {
            tracing::error!(template = name, error = %err, "template does not compile");
        }
    }
    env
});

/// The CSP source that lets a form on a page lead to `uri`: its origin for http(s), its scheme
/// for a native app's private-use scheme (`com.example.app:`), none for what is not a URL or
/// is a scheme that would let a form run or carry content of its own (`javascript:`, `data:`,
/// `blob:` and the like; redirect URIs never have them, this is the second line).
///
/// CSP 3 applies `form-action` to the redirects that follow a form's POST too, so a page whose
/// form ends in a redirect to the app (sign-in, logout confirmation) must name the app's origin.
pub(crate) fn form_target(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    match url.scheme() {
        "http" | "https" => Some(url.origin().ascii_serialization()),
        "javascript" | "data" | "blob" | "filesystem" | "about" | "file" | "ws" | "wss" => None,
        scheme
            if scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')) =>
        {
            Some(format!("{scheme}:"))
        }
        _ => None,
    }
}

/// Renders a page with security headers. `form_action` widens the CSP's `form-action` to
/// another origin (a source from [`form_target`]): the client a form posts to (`form_post`), or
/// the one its answer redirects to.
pub(crate) fn render(
    status: StatusCode,
    template: &str,
    context: minijinja::Value,
    nonce: &str,
    form_action: Option<&str>,
) -> Response {
    render_with_frames(status, template, context, nonce, form_action, &[])
}

/// [`render`] for a page that frames other origins' pages (`frame_src`: sources from
/// [`form_target`]), as the sign-out page frames the apps' front-channel logout pages. Every
/// other page may frame nothing.
pub(crate) fn render_with_frames(
    status: StatusCode,
    template: &str,
    context: minijinja::Value,
    nonce: &str,
    form_action: Option<&str>,
    frame_src: &[String],
) -> Response {
    let html = TEMPLATES
        .get_template(template)
        .and_then(|t| t.render(context));
    let html = match html {
        Ok(html) => html,
        Err(err) => {
            tracing::error!(template, error = %err, "template rendering failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response();
        }
    };
    let form_action = match form_action {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
    };
    let frames = if frame_src.is_empty() {
        String::new()
    } else {
        format!("; frame-src {}", frame_src.join(" "))
    };
    let csp = format!(
        "default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; img-src 'self' data:; \
         form-action {form_action}; frame-ancestors 'none'; base-uri 'none'{frames}"
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The branding part of a page's context: colours, CSS, text overrides and the logo URL.
pub(crate) fn brand_context(
    state: &AppState,
    tenant: &Tenant,
    branding: &Branding,
) -> minijinja::Value {
    minijinja::context! {
        brand_primary => branding.primary_color.clone(),
        brand_background => branding.background_color.clone(),
        brand_css => branding.custom_css.clone(),
        texts => branding.texts.clone(),
        logo_url => branding.logo.is_some().then(|| {
            format!("{}/{}/branding/logo", state.portico.settings.public_url, tenant.id)
        }),
        tenant_name => tenant.name.clone(),
    }
}

/// A tenant's branding, or none when it cannot be read (pages still render, unbranded).
pub(crate) async fn branding(state: &AppState, tenant: &Tenant) -> std::sync::Arc<Branding> {
    match state.portico.branding(tenant.id).await {
        Ok(branding) => branding,
        Err(err) => {
            tracing::warn!(error = %err, "branding unavailable");
            std::sync::Arc::default()
        }
    }
}

/// `GET /{tenant}/branding/logo`.
pub async fn logo(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::Path(tenant): axum::extract::Path<String>,
) -> Response {
    let tenant = match state
        .portico
        .tenant(&portico_core::directory::TenantRef::parse(&tenant))
        .await
    {
        Ok(tenant) => tenant,
        Err(err) => return crate::error::HtmlError::from(err).into_response(),
    };
    let branding = branding(&state, &tenant).await;
    match (&branding.logo, &branding.logo_type) {
        (Some(bytes), Some(kind)) => (
            [
                (header::CONTENT_TYPE, kind.clone()),
                (header::CACHE_CONTROL, "public, max-age=300".to_owned()),
            ],
            bytes.clone(),
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A fresh CSP nonce.
pub(crate) fn nonce() -> String {
    random_token().unwrap_or_else(|_| "fallback".to_owned())
}

/// The friendly error page; `title` is a message key, `message` is shown as given.
pub(crate) fn render_error(status: StatusCode, title: &str, message: &str) -> Response {
    let nonce = nonce();
    render(
        status,
        "error.html",
        minijinja::context! { title => i18n::text(title), message, nonce => nonce.clone() },
        &nonce,
        None,
    )
}

/// The SSO cookie's name: one per tenant, whichever URL form (name or GUID) was used. Over
/// HTTPS it carries the `__Host-` prefix, so the browser keeps it only when it was set Secure,
/// for `/`, without a domain: no sibling subdomain can plant or overwrite it.
pub(crate) fn session_cookie_name(state: &AppState, tenant: &Tenant) -> String {
    format!(
        "{}portico_session_{}",
        host_prefix(state),
        tenant.id.0.simple()
    )
}

fn host_prefix(state: &AppState) -> &'static str {
    if state.config.secure_cookies {
        "__Host-"
    } else {
        ""
    }
}

/// The session cookie: HttpOnly, SameSite=Lax (it must ride along on the app's redirect to
/// /authorize), Secure on https; persistent only with "keep me signed in".
pub(crate) fn session_cookie(
    state: &AppState,
    tenant: &Tenant,
    secret: String,
    max_age_secs: Option<i64>,
) -> Cookie<'static> {
    let mut cookie = Cookie::build((session_cookie_name(state, tenant), secret))
        .path("/")
        .http_only(true)
        .secure(state.config.secure_cookies)
        .same_site(SameSite::Lax);
    if let Some(secs) = max_age_secs {
        cookie = cookie.max_age(cookie::time::Duration::seconds(secs));
    }
    cookie.build()
}

/// Removes the session cookie.
pub(crate) fn clear_session_cookie(state: &AppState, tenant: &Tenant) -> Cookie<'static> {
    let mut cookie = session_cookie(state, tenant, String::new(), Some(0));
    cookie.make_removal();
    cookie
}

/// The anti-forgery cookie's name (`__Host-` over HTTPS, as the session cookie).
fn csrf_cookie_name(state: &AppState) -> String {
    format!("{}portico_csrf", host_prefix(state))
}

/// Makes sure the browser has an anti-forgery cookie; returns the jar and the form token
/// bound to it.
pub(crate) fn csrf(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    let (jar, binding) = csrf_binding(state, jar);
    let token = state.portico.form_token(&binding);
    (jar, token)
}

/// The browser's anti-forgery cookie value, if it has a well-formed one.
pub(crate) fn csrf_cookie(state: &AppState, jar: &CookieJar) -> Option<String> {
    jar.get(&csrf_cookie_name(state))
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 43)
}

/// Makes sure the browser has an anti-forgery cookie; returns the jar and the cookie's value
/// (what flows and form tokens are bound to).
pub(crate) fn csrf_binding(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    let existing = csrf_cookie(state, &jar);
    match existing {
        Some(value) => (jar, value),
        None => {
            let value = random_token().unwrap_or_default();
            // Lax, not Strict: an app's link to /authorize in a second tab is a cross-site
            // navigation, and a Strict cookie would be missing there, so the page would mint a
            // new one and the first tab's flow would no longer be this browser's. Lax keeps
            // it off cross-site POSTs, which is what forgery needs.
            let cookie = Cookie::build((csrf_cookie_name(state), value.clone()))
                .path("/")
                .http_only(true)
                .secure(state.config.secure_cookies)
                .same_site(SameSite::Lax)
                .build();
            (jar.add(cookie), value)
        }
    }
}

/// Whether a submitted form token matches the browser's anti-forgery cookie.
pub(crate) fn csrf_ok(state: &AppState, jar: &CookieJar, token: Option<&str>) -> bool {
    match (jar.get(&csrf_cookie_name(state)), token) {
        (Some(cookie), Some(token)) => state.portico.form_token_matches(cookie.value(), token),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::form_target;

    #[test]
    fn form_targets_name_an_origin_or_a_private_scheme_and_nothing_dangerous() {
        assert_eq!(
            form_target("https://app.example:8443/callback?x=1").as_deref(),
            Some("https://app.example:8443")
        );
        assert_eq!(
            form_target("com.example.app:/oauth2redirect").as_deref(),
            Some("com.example.app:")
        );
        for refused in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<form>",
            "blob:https://app.example/uuid",
            "about:blank",
            "file:///etc/passwd",
            "not a url",
            "",
        ] {
            assert_eq!(form_target(refused), None, "{refused}");
        }
    }
}
