//! The hosted sign-in, sign-up and password-reset pages: one front door of the sign-in engine.
//! The page turns form fields into engine events and the engine's step and problem into HTML;
//! every flow rule is in `portico_core::signin`. The form carries only the flow id (the engine
//! keeps the authorization request) and a CSRF token; the flow is bound to the browser's
//! anti-forgery cookie.

mod complete;
mod view;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use portico_core::directory::{MfaMethod, Tenant, TenantRef};
use portico_core::ids::{AuthMethodId, FlowId};
use portico_core::oauth::AuthorizeParams;
use portico_core::secret::{digest_secret, secret_matches};
use portico_core::signin::engine::{Event, Journey, Problem, Step};
use portico_core::signin::{ActiveSession, Caller, FlowError, FlowOrigin, SignInFlow};

use crate::AppState;
use crate::client_ip::ClientIp;
use crate::error::HtmlError;
use crate::form::Params;
use crate::pages::{self, i18n};
pub(crate) use complete::continue_after_offer;
use complete::{complete, declined};
use view::{Shown, render, status_of};

/// Where a hosted-page flow comes from: the authorization request, bound to this browser's
/// anti-forgery cookie (set now if the browser has none).
fn browser_origin(
    state: &AppState,
    params: &AuthorizeParams,
    jar: CookieJar,
) -> (CookieJar, FlowOrigin) {
    let (jar, binding) = pages::csrf_binding(state, jar);
    let origin = FlowOrigin {
        authorize: Some(params.clone()),
        browser: Some(digest_secret(&binding)),
        ..FlowOrigin::default()
    };
    (jar, origin)
}

/// Starts a flow for a validated authorization request and renders its first page.
pub(crate) async fn begin(
    state: &AppState,
    tenant: &Tenant,
    params: &AuthorizeParams,
    client: portico_core::ids::ClientId,
    journey: Journey,
    ip: std::net::IpAddr,
    jar: CookieJar,
) -> Response {
    let (jar, origin) = browser_origin(state, params, jar);
    let flow = match state
        .portico
        .start_flow(tenant, Some(client), journey, origin, ip)
        .await
    {
        Ok(flow) => flow,
        Err(err) => return HtmlError::from(err).into_response(),
    };
    let shown = Shown {
        email: params.login_hint.clone(),
        ..Shown::default()
    };
    render(state, tenant, jar, &flow, shown, StatusCode::OK).await
}

/// Starts a step-up for a validated authorization request whose SSO session lacks the
/// second factor the app's flow requires, and renders its first page (the second factor).
pub(crate) async fn begin_step_up(
    state: &AppState,
    tenant: &Tenant,
    params: &AuthorizeParams,
    client: portico_core::ids::ClientId,
    session: &ActiveSession,
    ip: std::net::IpAddr,
    jar: CookieJar,
) -> Response {
    let (jar, origin) = browser_origin(state, params, jar);
    let caller = Caller {
        ip,
        texts: &i18n::RequestTexts,
        reveal_accounts: false,
    };
    match state
        .portico
        .start_step_up(tenant, client, origin, session, caller)
        .await
    {
        // Nothing left to ask (the user consented in another tab meanwhile).
        Ok(advanced) if advanced.flow.flow.is_done() => {
            complete(state, tenant, jar, &advanced.flow).await
        }
        Ok(advanced) => {
            let status = advanced.problem.as_ref().map_or(StatusCode::OK, status_of);
            let shown = Shown {
                problem: advanced.problem.as_ref(),
                ..Shown::default()
            };
            render(state, tenant, jar, &advanced.flow, shown, status).await
        }
        Err(FlowError::Core(err)) => HtmlError::from(err).into_response(),
        Err(_) => expired(),
    }
}

/// Starts the sign-in that approves the device authorization `device` for `client` (the
/// device page's "Continue"), bound to this browser, and sends the browser to its page.
pub(crate) async fn begin_device(
    state: &AppState,
    tenant: &Tenant,
    client: portico_core::ids::ClientId,
    device: portico_core::ids::DeviceCodeId,
    ip: std::net::IpAddr,
    jar: CookieJar,
) -> Response {
    let (jar, binding) = pages::csrf_binding(state, jar);
    let origin = FlowOrigin {
        browser: Some(digest_secret(&binding)),
        device: Some(device),
        ..FlowOrigin::default()
    };
    match state
        .portico
        .start_flow(tenant, Some(client), Journey::SignIn, origin, ip)
        .await
    {
        Ok(flow) => (jar, Redirect::to(&page_url(state, tenant, flow.id))).into_response(),
        Err(err) => HtmlError::from(err).into_response(),
    }
}

/// `GET /{tenant}/signin?flow=ID`: the flow's current page (after a reload or a link).
pub async fn show(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
    jar: CookieJar,
) -> Response {
    let (tenant, flow) = match load(&state, &tenant, query.as_deref(), &jar).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    render(
        &state,
        &tenant,
        jar,
        &flow,
        Shown::default(),
        StatusCode::OK,
    )
    .await
}

/// `GET /{tenant}/signin/switch?flow=ID&to=sign_up|reset_password|sign_in`: the "Create
/// account", "Forgot password?" and "Sign in" links start a sibling flow for the same request.
pub async fn switch(
    State(state): State<AppState>,
    Path(tenant_ref): Path<String>,
    ClientIp(client_ip): ClientIp,
    RawQuery(query): RawQuery,
    jar: CookieJar,
) -> Response {
    let (tenant, flow) = match load(&state, &tenant_ref, query.as_deref(), &jar).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let to = Params::parse(query.unwrap_or_default().as_bytes())
        .ok()
        .and_then(|p| p.get("to").ok().flatten());
    let journey = match to.as_deref() {
        Some("sign_up") => Journey::SignUp,
        Some("reset_password") => Journey::ResetPassword,
        _ => Journey::SignIn,
    };
    match state
        .portico
        .start_flow(
            &tenant,
            flow.client_id,
            journey,
            flow.origin.for_sibling(),
            client_ip,
        )
        .await
    {
        Ok(next) => Redirect::to(&page_url(&state, &tenant, next.id)).into_response(),
        Err(err) => HtmlError::from(err).into_response(),
    }
}

/// `POST /{tenant}/signin`: one step of a flow.
pub async fn submit(
    State(state): State<AppState>,
    Path(tenant_ref): Path<String>,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let form = match Params::from_form(&headers, &body) {
        Ok(form) => form,
        Err(message) => return HtmlError::bad_request(message).into_response(),
    };
    let flow_id = form.get("flow").ok().flatten();
    let query = flow_id.map(|id| format!("flow={id}"));
    let (tenant, flow) = match load(&state, &tenant_ref, query.as_deref(), &jar).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let csrf_token = form.get("csrf_token").ok().flatten();
    if !pages::csrf_ok(&state, &jar, csrf_token.as_deref()) {
        let shown = Shown {
            error: Some("signin-error-expired"),
            ..Shown::default()
        };
        return render(&state, &tenant, jar, &flow, shown, StatusCode::FORBIDDEN).await;
    }
    let typed_email = form.get("email").ok().flatten();
    let attributes = form.grouped("attr:");
    let events = match events_for(&flow, &form, attributes.clone()) {
        Ok(events) => events,
        Err(error) => {
            let shown = Shown {
                error: Some(error),
                email: typed_email,
                ..Shown::default()
            };
            return render(&state, &tenant, jar, &flow, shown, StatusCode::BAD_REQUEST).await;
        }
    };
    let caller = Caller {
        ip: client_ip,
        texts: &i18n::RequestTexts,
        reveal_accounts: false,
    };
    let advanced = match state
        .portico
        .advance_flow(&tenant, flow.clone(), events, caller)
        .await
    {
        Ok(advanced) => advanced,
        // A stale page (back button, second tab, double submit): show where the flow is now.
        Err(FlowError::Illegal(_) | FlowError::Contended) => {
            return match state.portico.find_flow(&tenant, flow.id).await {
                Ok(Some(now)) => {
                    render(
                        &state,
                        &tenant,
                        jar,
                        &now,
                        Shown::default(),
                        StatusCode::CONFLICT,
                    )
                    .await
                }
                Ok(None) => expired(),
                Err(err) => HtmlError::from(err).into_response(),
            };
        }
        Err(FlowError::NotFound) => return expired(),
        Err(FlowError::Core(err)) => return HtmlError::from(err).into_response(),
    };
    if advanced.flow.flow.is_done() {
        return complete(&state, &tenant, jar, &advanced.flow).await;
    }
    if advanced.flow.flow.step == Step::Declined {
        return declined(&state, &tenant, jar, &advanced.flow).await;
    }
    // A custom authentication extension stopped the sign-up: its page, and the flow ends.
    if let Step::Blocked { message } = &advanced.flow.flow.step {
        return HtmlError {
            status: StatusCode::FORBIDDEN,
            title: "blocked-title",
            message: message.clone().map_or(
                crate::error::PageMessage::Key("blocked-default"),
                crate::error::PageMessage::Detail,
            ),
        }
        .into_response();
    }
    // The flow has ended; its page would only lead to "expired".
    if advanced.problem == Some(Problem::TooManyWrongCodes) {
        return HtmlError::page(
            StatusCode::TOO_MANY_REQUESTS,
            "error-bad-request-title",
            "mfa-error-too-many",
        )
        .into_response();
    }
    let status = advanced.problem.as_ref().map_or(StatusCode::OK, status_of);
    let shown = Shown {
        problem: advanced.problem.as_ref(),
        recovery_codes: &advanced.recovery_codes,
        email: typed_email,
        attributes,
        ..Shown::default()
    };
    render(&state, &tenant, jar, &advanced.flow, shown, status).await
}

/// Turns the submitted form into engine events for the flow's current step.
fn events_for(
    flow: &SignInFlow,
    form: &Params,
    attributes: Vec<(String, String)>,
) -> Result<Vec<Event>, &'static str> {
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or_default();
    if let Some(method) = form.get("method").ok().flatten() {
        let method = method
            .parse::<AuthMethodId>()
            .map_err(|_| "signin-error-expired")?;
        return Ok(vec![Event::ChooseMethod { method }]);
    }
    if let Some(kind) = form.get("enrol").ok().flatten() {
        let kind = kind
            .parse::<MfaMethod>()
            .map_err(|_| "signin-error-expired")?;
        return Ok(vec![Event::Enrol { kind }]);
    }
    let identify = || Event::Identify {
        email: field("email"),
        keep_signed_in: form.flag("kmsi").unwrap_or(false),
    };
    let password = || Event::Password {
        password: field("password"),
    };
    let at_identify = flow.flow.step == Step::Identify;
    let action = form.get("action").ok().flatten();
    Ok(match (action.as_deref(), &flow.flow.step) {
        (Some("use_code"), Step::Identify) => vec![identify(), Event::UseEmailCode],
        (Some("use_code"), _) => vec![Event::UseEmailCode],
        (Some("identify"), _) => vec![identify()],
        (Some("sign_in") | None, Step::Identify | Step::Password) => {
            if at_identify && flow.flow.journey != Journey::SignIn {
                vec![identify()]
            } else if field("email").is_empty() && at_identify {
                return Err("signin-error-missing");
            } else if at_identify {
                vec![identify(), password()]
            } else {
                vec![password()]
            }
        }
        (Some("passkey_made"), _) => vec![Event::PasskeyMade {
            challenge_id: field("passkey_challenge"),
            response: field("passkey_response"),
        }],
        (Some("passkey"), _) => vec![Event::Passkey {
            challenge_id: field("passkey_challenge"),
            response: field("passkey_response"),
            keep_signed_in: form.flag("kmsi").unwrap_or(false),
        }],
        (Some("resend"), _) => vec![Event::ResendCode],
        (Some("recovery"), _) => vec![Event::RecoveryCode {
            code: field("recovery_code"),
        }],
        (Some("new_password"), _) | (None, Step::NewPassword) => {
            let new = field("new_password");
            if new != field("confirm_password") {
                return Err("password-error-mismatch");
            }
            vec![Event::NewPassword { password: new }]
        }
        (Some("attributes"), _) | (None, Step::Attributes) => vec![Event::Attributes {
            values: attributes.into_iter().collect(),
        }],
        (Some("phone"), _) => vec![Event::Phone {
            number: field("phone"),
        }],
        (Some("acknowledge"), _) => vec![Event::Acknowledge],
        (Some("consent"), _) => vec![Event::Consent { accept: true }],
        (Some("decline"), _) => vec![Event::Consent { accept: false }],
        _ => vec![Event::Code {
            code: field("code"),
        }],
    })
}

/// The flow named in the query, if it is live, in this tenant, and this browser's.
async fn load(
    state: &AppState,
    tenant: &str,
    query: Option<&str>,
    jar: &CookieJar,
) -> Result<(Tenant, SignInFlow), Response> {
    let tenant = state
        .portico
        .tenant(&TenantRef::parse(tenant))
        .await
        .map_err(|err| HtmlError::from(err).into_response())?;
    let id = Params::parse(query.unwrap_or_default().as_bytes())
        .ok()
        .and_then(|p| p.get("flow").ok().flatten())
        .and_then(|id| id.parse::<FlowId>().ok())
        .ok_or_else(expired)?;
    let flow = state
        .portico
        .find_flow(&tenant, id)
        .await
        .map_err(|err| HtmlError::from(err).into_response())?
        .ok_or_else(expired)?;
    let same_browser = match (&flow.origin.browser, pages::csrf_cookie(state, jar)) {
        (Some(bound), Some(cookie)) => secret_matches(&cookie, bound),
        _ => false,
    };
    if !same_browser {
        return Err(expired());
    }
    Ok((tenant, flow))
}

pub(super) fn expired() -> Response {
    HtmlError::page(
        StatusCode::BAD_REQUEST,
        "error-bad-request-title",
        "signin-error-expired",
    )
    .into_response()
}

fn page_url(state: &AppState, tenant: &Tenant, flow: FlowId) -> String {
    format!(
        "{}/{}/signin?flow={}&ui_locales={}",
        state.portico.settings.public_url,
        tenant.id,
        flow,
        i18n::current()
    )
}
