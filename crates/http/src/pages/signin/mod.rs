//! The hosted sign-in, sign-up and password-reset pages: one front door of the sign-in engine.
//! The page turns form fields into engine events and the engine's step and problem into HTML;
//! every flow rule is in `portico_core::signin`. The form carries only the flow id (the engine
//! keeps the authorization request) and a CSRF token; the flow is bound to the browser's
//! anti-forgery cookie.

mod view;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use portico_core::directory::{MfaMethod, Tenant, TenantRef};
use portico_core::ids::{AuthMethodId, FlowId};
use portico_core::oauth::{AuthorizeParams, OAuthError, OAuthErrorCode};
use portico_core::secret::{digest_secret, secret_matches};
use portico_core::signin::engine::{Event, Journey, Problem, Step};
use portico_core::signin::{ActiveSession, Caller, FlowError, FlowOrigin, SignInFlow};

use crate::AppState;
use crate::client_ip::ClientIp;
use crate::error::HtmlError;
use crate::form::Params;
use crate::oidc::authorize::{current_session, deliver, failure_response};
use crate::pages::{self, device, i18n};
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

/// The flow is done: start the SSO session and answer the authorization request.
async fn complete(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    flow: &SignInFlow,
) -> Response {
    if let Some(device) = flow.origin.device {
        return complete_device(state, tenant, jar, flow, device).await;
    }
    let Some(params) = &flow.origin.authorize else {
        return expired();
    };
    let request = match state.portico.validate_authorize(tenant, params).await {
        Ok(request) => request,
        Err(failure) => return failure_response(failure, StatusCode::SEE_OTHER),
    };
    let signed_in = match signed_in_user(state, tenant, flow).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    let (jar, session) = if flow.origin.step_up.is_some() {
        // Step-up: the browser's session, now strengthened; it must still be the one the
        // flow began from (not ended by a logout or a new password meanwhile).
        let current = match current_session(state, tenant, &jar).await {
            Ok(current) => current,
            Err(err) => return err.into_response(),
        };
        let strengthened = match current {
            Some(current) => state.portico.finish_step_up(tenant, flow, current).await,
            None => Ok(None),
        };
        match strengthened {
            // The stronger session gets a new cookie: one copied before the step-up is dead.
            Ok(Some((secret, session))) => {
                let record = &session.record;
                let max_age = record
                    .persistent
                    .then(|| record.expires_at - state.portico.now());
                let cookie = pages::session_cookie(state, tenant, secret, max_age);
                (jar.add(cookie), session)
            }
            Ok(None) => return expired(),
            Err(err) => return HtmlError::from(err).into_response(),
        }
    } else {
        match new_session(state, tenant, jar, flow, signed_in).await {
            Ok(started) => started,
            Err(response) => return response,
        }
    };
    // Someone without a passkey, in a flow that offers one, is asked first (the page
    // continues to the app either way).
    match passkey_offer(state, tenant, flow, &request, &session).await {
        Ok(true) => {
            return crate::pages::security::offer(state, tenant, jar, &session, params).await;
        }
        Ok(false) => {}
        Err(err) => return (jar, HtmlError::from(err)).into_response(),
    }
    answer_with_code(state, tenant, jar, &request, &session).await
}

/// Whether to offer `session`'s person a passkey before going back to the app: the flow
/// offers it, they signed in or up with something else and have none, the request is not a
/// silent one, and they may make one now.
async fn passkey_offer(
    state: &AppState,
    tenant: &Tenant,
    flow: &SignInFlow,
    request: &portico_core::oauth::AuthorizeRequest,
    session: &ActiveSession,
) -> Result<bool, portico_core::CoreError> {
    use portico_core::signin::engine::FirstFactor;
    if !flow.config.offer_passkey
        || !matches!(flow.flow.journey, Journey::SignIn | Journey::SignUp)
        || matches!(flow.flow.first_factor, Some(FirstFactor::Passkey { .. }))
        || request.prompt == Some(portico_core::oauth::Prompt::None)
    {
        return Ok(false);
    }
    Ok(!state.portico.has_passkeys(tenant, session.user.id).await?
        && state.portico.may_change_passkeys(tenant, session).await?)
}

/// After the passkey offer (made or declined): the code for the authorization request the
/// sign-in answers, kept for this session (`parked` names it; single use).
pub(crate) async fn continue_after_offer(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    binding: &str,
    parked: &str,
    session: &ActiveSession,
) -> Response {
    let params = match state
        .portico
        .resume_authorize_request(tenant, binding, parked)
        .await
    {
        Ok(Some(parked)) => parked.params,
        Ok(None) => return expired(),
        Err(err) => return HtmlError::from(err).into_response(),
    };
    let request = match state.portico.validate_authorize(tenant, &params).await {
        Ok(request) => request,
        Err(failure) => return failure_response(failure, StatusCode::SEE_OTHER),
    };
    answer_with_code(state, tenant, jar, &request, session).await
}

/// The authorization response (a code, and tokens for hybrid flows) for `session`.
async fn answer_with_code(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    request: &portico_core::oauth::AuthorizeRequest,
    session: &ActiveSession,
) -> Response {
    match state
        .portico
        .issue_authorization_code(tenant, request, session)
        .await
    {
        Ok(response) => (jar, deliver(response, StatusCode::SEE_OTHER)).into_response(),
        // The person did sign in (a token-issuance extension failed, say): the session
        // stands, so trying again later needs no second sign-in.
        Err(err) => (jar, HtmlError::from(err)).into_response(),
    }
}

/// The user a finished flow signed in, or the page that says why nobody is.
async fn signed_in_user(
    state: &AppState,
    tenant: &Tenant,
    flow: &SignInFlow,
) -> Result<portico_core::signin::FlowUser, Response> {
    match state.portico.flow_user(tenant, flow).await {
        Ok(Some(signed_in)) => Ok(signed_in),
        Ok(None) => Err(HtmlError::page(
            StatusCode::FORBIDDEN,
            "error-bad-request-title",
            "signin-error-disabled",
        )
        .into_response()),
        Err(err) => Err(HtmlError::from(err).into_response()),
    }
}

/// Starts the browser's SSO session for a finished flow and sets its cookie.
async fn new_session(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    flow: &SignInFlow,
    signed_in: portico_core::signin::FlowUser,
) -> Result<(CookieJar, ActiveSession), Response> {
    let persistent = flow.flow.keep_signed_in;
    let (secret, record) = state
        .portico
        .start_session(tenant, &signed_in, persistent, &flow.flow)
        .await
        .map_err(|err| HtmlError::from(err).into_response())?;
    let max_age = persistent.then(|| record.expires_at - record.auth_time);
    let jar = jar.add(pages::session_cookie(state, tenant, secret, max_age));
    let user = signed_in.user;
    Ok((jar, ActiveSession { record, user }))
}

/// A device's sign-in is done: start the device's session and approve the device (the app's
/// rules for this user are decided now: a refusal denies the device).
async fn complete_device(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    flow: &SignInFlow,
    device: portico_core::ids::DeviceCodeId,
) -> Response {
    let signed_in = match signed_in_user(state, tenant, flow).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    // The device gets a session of its own, without a cookie (as a native sign-in does): the
    // browser keeps whatever session it had, and signing out there does not sign the device
    // out.
    let session = match state
        .portico
        .start_session(tenant, &signed_in, false, &flow.flow)
        .await
    {
        Ok((_, record)) => ActiveSession {
            record,
            user: signed_in.user,
        },
        Err(err) => return HtmlError::from(err).into_response(),
    };
    let stage = match state.portico.approve_device(tenant, device, &session).await {
        Ok(Some(Ok(()))) => device::Stage::Done,
        Ok(Some(Err(_))) => device::Stage::Denied { refused: true },
        // Expired, or decided in another tab meanwhile.
        Ok(None) => return (jar, expired()).into_response(),
        Err(err) => return HtmlError::from(err).into_response(),
    };
    device::render(state, tenant, jar, stage, StatusCode::OK).await
}

/// The user declined the consent: the app hears `access_denied` (RFC 6749 §4.1.2.1), no
/// session is started and no code issued (a device: its next poll hears it).
async fn declined(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    flow: &SignInFlow,
) -> Response {
    if let Some(id) = flow.origin.device {
        return match state.portico.deny_device(tenant, id).await {
            Ok(_) => {
                let stage = device::Stage::Denied { refused: false };
                device::render(state, tenant, jar, stage, StatusCode::OK).await
            }
            Err(err) => HtmlError::from(err).into_response(),
        };
    }
    let Some(params) = &flow.origin.authorize else {
        return expired();
    };
    match state.portico.validate_authorize(tenant, params).await {
        Ok(request) => deliver(
            state.portico.authorize_error(
                tenant,
                &request.redirect_uri,
                request.response_mode,
                request.state.as_deref(),
                OAuthError::new(
                    OAuthErrorCode::AccessDenied,
                    "the user declined to give the application access",
                ),
            ),
            StatusCode::SEE_OTHER,
        ),
        Err(failure) => failure_response(failure, StatusCode::SEE_OTHER),
    }
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
