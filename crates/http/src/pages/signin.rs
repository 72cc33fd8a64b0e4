//! The hosted sign-in, sign-up and password-reset pages: one front door of the sign-in engine.
//! The page turns form fields into engine events and the engine's step and problem into HTML;
//! every flow rule is in `portico_core::signin`. The form carries only the flow id (the engine
//! keeps the authorization request) and a CSRF token; the flow is bound to the browser's
//! anti-forgery cookie.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use portico_core::directory::{
    AttributeReason, AttributeSpec, InputKind, MfaMethod, SignInMethod, Tenant, TenantRef,
};
use portico_core::ids::{AuthMethodId, FlowId};
use portico_core::oauth::AuthorizeParams;
use portico_core::secret::{digest_secret, secret_matches};
use portico_core::signin::engine::{
    CredentialProblem, Event, Journey, PasswordProblem, Problem, Step, mask_email, mask_phone,
};
use portico_core::signin::{ActiveSession, Caller, FlowError, FlowOrigin, SignInFlow};

use crate::AppState;
use crate::client_ip::ClientIp;
use crate::error::HtmlError;
use crate::form::Params;
use crate::oidc::authorize::{current_session, deliver, failure_response};
use crate::pages::{self, i18n};

/// What to show besides the step.
#[derive(Debug, Default)]
struct Shown<'a> {
    problem: Option<&'a Problem>,
    /// A page-level error key that is not an engine problem (CSRF, password confirmation).
    error: Option<&'static str>,
    recovery_codes: &'a [String],
    /// Values the person typed, shown again after a problem.
    email: Option<String>,
    attributes: Vec<(String, String)>,
}

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

fn expired() -> Response {
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
    let Some(params) = &flow.origin.authorize else {
        return expired();
    };
    let request = match state.portico.validate_authorize(tenant, params).await {
        Ok(request) => request,
        Err(failure) => return failure_response(failure, StatusCode::SEE_OTHER),
    };
    let signed_in = match state.portico.flow_user(tenant, flow).await {
        Ok(Some(signed_in)) => signed_in,
        Ok(None) => {
            return HtmlError::page(
                StatusCode::FORBIDDEN,
                "error-bad-request-title",
                "signin-error-disabled",
            )
            .into_response();
        }
        Err(err) => return HtmlError::from(err).into_response(),
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
        let persistent = flow.flow.keep_signed_in;
        let (secret, record) = match state
            .portico
            .start_session(tenant, &signed_in, persistent, &flow.flow)
            .await
        {
            Ok(started) => started,
            Err(err) => return HtmlError::from(err).into_response(),
        };
        let max_age = persistent.then(|| record.expires_at - record.auth_time);
        let jar = jar.add(pages::session_cookie(state, tenant, secret, max_age));
        let user = signed_in.user;
        (jar, ActiveSession { record, user })
    };
    match state
        .portico
        .issue_authorization_code(tenant, &request, &session)
        .await
    {
        Ok(response) => (jar, deliver(response, StatusCode::SEE_OTHER)).into_response(),
        Err(err) => HtmlError::from(err).into_response(),
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

fn status_of(problem: &Problem) -> StatusCode {
    match problem {
        Problem::Credentials(CredentialProblem::Invalid) => StatusCode::UNAUTHORIZED,
        Problem::Credentials(CredentialProblem::LockedOut | CredentialProblem::Disabled)
        | Problem::AccountDisabled
        | Problem::NoSecondFactor => StatusCode::FORBIDDEN,
        Problem::Credentials(CredentialProblem::RateLimited)
        | Problem::RateLimited
        | Problem::Password(PasswordProblem::RateLimited)
        | Problem::TooManyWrongCodes
        | Problem::SecondFactorLocked
        | Problem::TooManyPhoneNumbers
        | Problem::SendThrottled { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The message key for a problem.
fn message_of(problem: &Problem) -> &'static str {
    match problem {
        Problem::InvalidEmail => "flow-error-email",
        Problem::SignUpDisabled => "signin-notice-no-signup",
        // Not produced on the hosted pages (they never reveal accounts); worded neutrally.
        Problem::UserNotFound => "signin-error-incorrect",
        Problem::UserExists => "signup-error-exists",
        Problem::Credentials(CredentialProblem::Invalid) => "signin-error-incorrect",
        Problem::Credentials(CredentialProblem::LockedOut) => "signin-error-locked",
        Problem::Credentials(CredentialProblem::Disabled) | Problem::AccountDisabled => {
            "signin-error-disabled"
        }
        Problem::Credentials(CredentialProblem::RateLimited)
        | Problem::RateLimited
        | Problem::Password(PasswordProblem::RateLimited) => "signin-error-throttled",
        Problem::WrongCode { .. } => "code-error-wrong",
        Problem::CodeExpired => "code-error-expired",
        Problem::CodeDead => "code-error-dead",
        Problem::SendThrottled { .. } => "code-error-throttled",
        Problem::Password(PasswordProblem::TooShort) => "password-error-short",
        Problem::Password(PasswordProblem::TooLong) => "password-error-long",
        Problem::Password(PasswordProblem::Banned) => "password-error-banned",
        Problem::Password(PasswordProblem::RecentlyUsed) => "password-error-reused",
        Problem::Attributes(_) => "attributes-error",
        Problem::InvalidPhone => "phone-error-invalid",
        Problem::PhoneCountryNotAllowed => "phone-error-country",
        Problem::NoSecondFactor => "mfa-error-none",
        Problem::TooManyWrongCodes => "mfa-error-too-many",
        Problem::SecondFactorLocked => "mfa-error-locked",
        Problem::TooManyPhoneNumbers => "phone-error-too-many",
    }
}

fn title_of(flow: &SignInFlow) -> String {
    let step = flow.flow.step.name();
    match (&flow.flow.step, flow.flow.journey) {
        (Step::Identify | Step::Password, Journey::SignIn) => "signin-title".into(),
        (Step::Identify, Journey::SignUp) => "signup-title".into(),
        (Step::Identify, Journey::ResetPassword) => "reset-title".into(),
        (Step::NewPassword, journey) => format!(
            "newpw-title-{}",
            if journey == Journey::SignUp {
                "sign_up"
            } else {
                "reset_password"
            }
        ),
        (Step::Attributes, _) => "attributes-title".into(),
        (
            Step::SecondFactor {
                kind: MfaMethod::Totp,
                ..
            },
            _,
        ) => "code-title-second_factor".into(),
        (Step::ChooseSecondFactor, _) => "mfa-choose-title".into(),
        (Step::ChooseEnrolment, _) => "enrol-title".into(),
        (Step::EnrolPhone, _) => "enrol-phone-title".into(),
        (Step::EnrolTotp, _) => "enrol-totp-title".into(),
        (Step::RecoveryCodes, _) => "recovery-title".into(),
        _ => format!("code-title-{step}"),
    }
}

async fn render(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    flow: &SignInFlow,
    shown: Shown<'_>,
    status: StatusCode,
) -> Response {
    let branding = pages::branding(state, tenant).await;
    let (jar, csrf_token) = pages::csrf(state, jar);
    let engine = &flow.flow;
    let email = engine.email.clone().or(shown.email).unwrap_or_default();
    let (kind, method, target) = match &engine.step {
        Step::SecondFactor { method, kind } => {
            let label = engine
                .methods
                .iter()
                .find(|m| m.id == *method)
                .and_then(|m| m.label());
            (kind.as_str(), Some(method.to_string()), label)
        }
        Step::VerifyEnrolment { kind, target } => (
            kind.as_str(),
            None,
            Some(match kind {
                MfaMethod::Sms => mask_phone(target),
                _ => mask_email(target),
            }),
        ),
        _ => ("", None, engine.email.as_deref().map(mask_email)),
    };
    let methods: Vec<minijinja::Value> = engine
        .methods
        .iter()
        .map(|m| {
            minijinja::context! { id => m.id.to_string(), kind => m.kind.as_str(), label => m.label() }
        })
        .collect();
    let choices: Vec<&str> = engine
        .enrolment_choices(&flow.rules(false))
        .into_iter()
        .map(MfaMethod::as_str)
        .collect();
    let attribute_errors = match shown.problem {
        Some(Problem::Attributes(errors)) => errors.clone(),
        _ => Vec::new(),
    };
    let attributes: Vec<minijinja::Value> = flow
        .config
        .attributes
        .iter()
        .map(|spec| attribute_context(spec, &shown.attributes, &attribute_errors))
        .collect();
    let totp = match (&engine.step, &engine.pending_totp, &engine.user) {
        (Step::EnrolTotp, Some(sealed), Some(user)) => {
            match state
                .portico
                .totp_enrolment(tenant, user.id, &email, sealed)
            {
                Ok(enrolment) => Some(minijinja::context! {
                    secret => enrolment.secret,
                    qr => super::qr::svg(&enrolment.uri),
                }),
                Err(err) => {
                    tracing::error!(error = %err, "authenticator enrolment unavailable");
                    None
                }
            }
        }
        _ => None,
    };
    let switch = |to: &str| {
        format!(
            "{}/{}/signin/switch?flow={}&to={to}&ui_locales={}",
            state.portico.settings.public_url,
            tenant.id,
            flow.id,
            i18n::current()
        )
    };
    let error = shown.error.or_else(|| shown.problem.map(message_of));
    let error_detail = match shown.problem {
        Some(Problem::WrongCode {
            attempts_left: Some(left),
        }) => Some(i18n::text_with_count("code-attempts-left", *left)),
        _ => None,
    };
    // A failed lookup only costs the notice, never the page.
    let delayed = state
        .portico
        .delivery_delayed(tenant, flow)
        .await
        .unwrap_or_else(|err| {
            tracing::warn!(error = %err, "delivery status unavailable");
            false
        });
    let nonce = pages::nonce();
    let response = pages::render(
        status,
        "flow.html",
        minijinja::context! {
            title => title_of(flow),
            step => engine.step.name(),
            journey => match engine.journey {
                Journey::SignIn => "sign_in",
                Journey::SignUp => "sign_up",
                Journey::ResetPassword => "reset_password",
            },
            action => format!(
                "{}/{}/signin?ui_locales={}",
                state.portico.settings.public_url,
                tenant.id,
                i18n::current()
            ),
            flow => flow.id.to_string(),
            csrf_token,
            email,
            kind,
            method,
            target,
            // A second factor whose code has not gone out yet (a step-up waits for the
            // person to ask, so no page load sends a text).
            unsent => matches!(engine.step, Step::SecondFactor { .. } | Step::VerifyEnrolment { .. })
                && engine.challenge.is_none(),
            methods,
            choices,
            attributes,
            totp,
            recovery_codes => shown.recovery_codes.to_vec(),
            error,
            error_detail,
            notice => delayed.then_some("delivery-delayed"),
            offers_password => flow.config.methods.contains(&SignInMethod::Password),
            offers_code => flow.config.methods.contains(&SignInMethod::EmailOtp),
            sign_up => flow.config.sign_up,
            links => minijinja::context! {
                sign_up => switch("sign_up"),
                reset => switch("reset_password"),
                sign_in => switch("sign_in"),
            },
            nonce => nonce.clone(),
            ..pages::brand_context(state, tenant, &branding)
        },
        &nonce,
        // The last step's POST answers with a redirect to the app, validated when the flow began.
        flow.origin
            .authorize
            .as_ref()
            .and_then(|params| params.redirect_uri.as_deref())
            .and_then(pages::form_target)
            .as_deref(),
    );
    (jar, response).into_response()
}

fn attribute_context(
    spec: &AttributeSpec,
    submitted: &[(String, String)],
    errors: &[portico_core::directory::AttributeError],
) -> minijinja::Value {
    let value = submitted
        .iter()
        .find(|(name, _)| *name == spec.name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let chosen: Vec<String> = value.split(',').map(str::to_owned).collect();
    let error = errors
        .iter()
        .find(|e| e.name == spec.name)
        .map(|e| match e.reason {
            AttributeReason::Required => "required",
            AttributeReason::WrongType => "wrong_type",
            AttributeReason::Pattern => "pattern",
            AttributeReason::NotAnOption => "not_an_option",
            AttributeReason::TooLong => "too_long",
        });
    // Browsers fill what they know of the person (WCAG 1.3.5).
    let autocomplete = match spec.name.as_str() {
        "displayName" => Some("name"),
        "givenName" => Some("given-name"),
        "surname" => Some("family-name"),
        "city" => Some("address-level2"),
        "country" => Some("country-name"),
        "postalCode" => Some("postal-code"),
        "state" => Some("address-level1"),
        "streetAddress" => Some("street-address"),
        "jobTitle" => Some("organization-title"),
        _ => None,
    };
    let input = match spec.input {
        InputKind::TextBox => "TextBox",
        InputKind::RadioSingleSelect => "RadioSingleSelect",
        InputKind::CheckboxMultiSelect => "CheckboxMultiSelect",
        InputKind::CheckboxSingleSelect => "CheckboxSingleSelect",
        InputKind::NumericTextBox => "NumericTextBox",
    };
    minijinja::context! {
        name => spec.name.clone(),
        label => spec.label.clone().unwrap_or_else(|| spec.name.clone()),
        input,
        required => spec.required,
        options => spec.options.clone(),
        value,
        chosen,
        error,
        autocomplete,
    }
}
