//! The device page (RFC 8628 §3.3): the person types the code their device shows, sees which
//! app asks, and continues to an ordinary sign-in on the engine, whose end approves the
//! device; or declines. A code in the link (`verification_uri_complete`) is only filled in:
//! the person still confirms, so a link from someone else cannot sign their device in.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use portico_core::CoreError;
use portico_core::directory::{Tenant, TenantRef};
use portico_core::oauth::display_user_code;

use crate::AppState;
use crate::client_ip::ClientIp;
use crate::error::HtmlError;
use crate::form::Params;
use crate::pages::{self, i18n, signin};

/// What the page shows.
pub(crate) enum Stage<'a> {
    /// The code field (with what was typed, and why it was refused).
    Enter {
        user_code: &'a str,
        error: Option<&'static str>,
    },
    /// Which app asks, for this code: continue or decline.
    Confirm { app: &'a str, user_code: &'a str },
    /// Signed in on the device.
    Done,
    /// Not signed in (declined, or refused by the app's rules).
    Denied { refused: bool },
}

/// Renders the device page at `stage`.
pub(crate) async fn render(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    stage: Stage<'_>,
    status: StatusCode,
) -> Response {
    let branding = pages::branding(state, tenant).await;
    let (jar, csrf_token) = pages::csrf(state, jar);
    let (name, user_code, error, confirm) = match stage {
        Stage::Enter { user_code, error } => ("enter", user_code.to_owned(), error, None),
        Stage::Confirm { app, user_code } => (
            "confirm",
            user_code.to_owned(),
            None,
            Some(i18n::text_with_args("device-confirm", &[("app", app)])),
        ),
        Stage::Done => ("done", String::new(), None, None),
        Stage::Denied { refused } => (
            "denied",
            String::new(),
            refused.then_some("device-refused"),
            None,
        ),
    };
    let nonce = pages::nonce();
    let page = pages::render(
        status,
        "device.html",
        minijinja::context! {
            stage => name,
            action => format!(
                "{}/{}/device?ui_locales={}",
                state.portico.settings.public_url,
                tenant.id,
                i18n::current()
            ),
            csrf_token,
            user_code,
            error,
            confirm,
            nonce => nonce.clone(),
            ..pages::brand_context(state, tenant, &branding)
        },
        &nonce,
        None,
    );
    (jar, page).into_response()
}

/// `GET /{tenant}/device[?user_code=…]`: the code field, filled in from the link if it has one.
pub async fn show(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
    jar: CookieJar,
) -> Response {
    let tenant = match state.portico.tenant(&TenantRef::parse(&tenant)).await {
        Ok(tenant) => tenant,
        Err(err) => return HtmlError::from(err).into_response(),
    };
    let typed = Params::parse(query.unwrap_or_default().as_bytes())
        .ok()
        .and_then(|p| p.get("user_code").ok().flatten())
        .unwrap_or_default();
    // Only a well-formed code is echoed back into the page.
    let user_code = portico_core::oauth::normalize_user_code(&typed)
        .map(|code| display_user_code(&code))
        .unwrap_or_default();
    let stage = Stage::Enter {
        user_code: &user_code,
        error: None,
    };
    render(&state, &tenant, jar, stage, StatusCode::OK).await
}

/// `POST /{tenant}/device`: look a code up (`lookup`), go on to sign in (`continue`), or
/// decline (`deny`).
pub async fn submit(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let tenant = match state.portico.tenant(&TenantRef::parse(&tenant)).await {
        Ok(tenant) => tenant,
        Err(err) => return HtmlError::from(err).into_response(),
    };
    let form = match Params::from_form(&headers, &body) {
        Ok(form) => form,
        Err(message) => return HtmlError::bad_request(message).into_response(),
    };
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or_default();
    let typed = field("user_code");
    let shown = typed.chars().take(20).collect::<String>();
    let enter = |error| Stage::Enter {
        user_code: &shown,
        error: Some(error),
    };
    if !pages::csrf_ok(&state, &jar, Some(field("csrf_token").as_str())) {
        let stage = enter("signin-error-expired");
        return render(&state, &tenant, jar, stage, StatusCode::FORBIDDEN).await;
    }
    let pending = match state.portico.pending_device(&tenant, &typed, ip).await {
        Ok(Some(pending)) => pending,
        Ok(None) => {
            let stage = enter("device-error-unknown");
            return render(&state, &tenant, jar, stage, StatusCode::BAD_REQUEST).await;
        }
        Err(CoreError::RateLimited) => {
            let stage = enter("signin-error-throttled");
            return render(&state, &tenant, jar, stage, StatusCode::TOO_MANY_REQUESTS).await;
        }
        Err(err) => return HtmlError::from(err).into_response(),
    };
    let user_code = display_user_code(&pending.record.user_code);
    match field("action").as_str() {
        "continue" => {
            let (client, device) = (pending.app.client_id, pending.record.id);
            signin::begin_device(&state, &tenant, client, device, ip, jar).await
        }
        "deny" => match state.portico.deny_device(&tenant, pending.record.id).await {
            Ok(_) => {
                let stage = Stage::Denied { refused: false };
                render(&state, &tenant, jar, stage, StatusCode::OK).await
            }
            Err(err) => HtmlError::from(err).into_response(),
        },
        _ => {
            let stage = Stage::Confirm {
                app: &pending.app.name,
                user_code: &user_code,
            };
            render(&state, &tenant, jar, stage, StatusCode::OK).await
        }
    }
}
