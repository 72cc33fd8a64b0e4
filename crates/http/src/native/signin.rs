//! Sign-in (spec §1.6): `initiate` → `challenge` → `token` (grants `password`, `oob`,
//! `mfa_oob`), with `introspect` for the second-factor methods, and the `continuation_token`
//! grant that ends sign-up and password reset.
//!
//! Stages (which endpoint takes a token next): `signin` (after initiate), `signin_password`,
//! `signin_oob`, `mfa` (after `mfa_required`), `mfa_oob`, and `done` (a finished sign-up or
//! reset, redeemed with `grant_type=continuation_token`).

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use portico_core::directory::{MfaMethod, SignInMethod};
use portico_core::ids::AuthMethodId;
use portico_core::oauth::{OAuthError, OAuthErrorCode};
use portico_core::otp::CODE_LENGTH;
use portico_core::signin::engine::{
    CredentialProblem, Event, Journey, MethodFacts, PasswordProblem, Problem, Rules, Step,
    mask_email,
};
use portico_core::signin::{Advanced, Caller, FlowError, FlowOrigin, NativeClient, SignInFlow};
use serde_json::{Value, json};

use super::{Call, NativeError, Wire, client_abilities, narrowed, redirect};
use crate::AppState;
use crate::client_ip::ClientIp;
use crate::form::Params;
use crate::pages::i18n;

/// Reads the form and opens the call (tenant, app, origin check).
async fn open_call(
    state: &AppState,
    tenant: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Call, NativeError> {
    let params = Params::from_form(headers, body)
        .map_err(|message| NativeError::invalid_request(90100, message))?;
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| *o != "null");
    Call::open(state, tenant, params, origin).await
}

/// Answers one native call: opens it (form, tenant, app, origin), runs `step`, and writes the
/// JSON with this request's ids.
async fn answer<F, Fut>(
    state: &AppState,
    tenant: &str,
    headers: &HeaderMap,
    body: &[u8],
    step: F,
) -> Response
where
    F: FnOnce(Call) -> Fut,
    Fut: Future<Output = Result<Value, NativeError>>,
{
    let wire = Wire::new(headers, state.portico.now());
    let result = match open_call(state, tenant, headers, body).await {
        Ok(call) => step(call).await,
        Err(err) => Err(err),
    };
    wire.respond(result)
}

/// `POST /{tenant}/oauth2/v2.0/initiate`.
pub(crate) async fn initiate(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let state = &state;
    answer(state, &tenant, &headers, &body, |call| async move {
        start(state, &call, ip).await
    })
    .await
}

async fn start(state: &AppState, call: &Call, ip: IpAddr) -> Result<Value, NativeError> {
    let client = client_abilities(&call.params)?;
    let username = call.params.one("username")?.ok_or_else(bad_username)?;
    let flow = state
        .portico
        .start_flow(
            &call.tenant,
            Some(call.app.client_id),
            Journey::SignIn,
            FlowOrigin {
                native: Some(client),
                ..FlowOrigin::default()
            },
        )
        .await?;
    // A client that can do none of the methods the user flow offers goes to the browser
    // before any code is sent.
    let offers = |method| flow.config.methods.contains(&method);
    if !(client.password && offers(SignInMethod::Password)
        || client.oob && offers(SignInMethod::EmailOtp))
    {
        return Ok(redirect(
            "The client does not support the sign-in methods this application offers.",
        ));
    }
    let advanced = advance(
        state,
        call,
        flow,
        vec![Event::Identify {
            email: username,
            keep_signed_in: false,
        }],
        ip,
    )
    .await?;
    if let Some(problem) = advanced.problem {
        return Err(problem_error(&problem));
    }
    let flow = advanced.flow;
    if first_factor(&flow, client).is_none() {
        return Ok(redirect(
            "The client does not support the sign-in method this account uses.",
        ));
    }
    let fresh = flow.flow.step == Step::SignInCode;
    Ok(json!({ "continuation_token": token(state, call, &flow, "signin", fresh)? }))
}

/// How the client will prove the first factor, given what it can do and what the account has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FirstFactor {
    Password,
    Code,
}

fn first_factor(flow: &SignInFlow, client: NativeClient) -> Option<FirstFactor> {
    let has_password = flow.flow.user.as_ref().is_some_and(|u| u.has_password);
    let offers = |method| flow.config.methods.contains(&method);
    match flow.flow.step {
        Step::SignInCode => client.oob.then_some(FirstFactor::Code),
        Step::Password if client.password && has_password => Some(FirstFactor::Password),
        Step::Password if client.oob && offers(SignInMethod::EmailOtp) => Some(FirstFactor::Code),
        _ => None,
    }
}

/// `POST /{tenant}/oauth2/v2.0/challenge`.
pub(crate) async fn challenge(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let state = &state;
    answer(state, &tenant, &headers, &body, |call| async move {
        challenge_step(state, &call, ip).await
    })
    .await
}

async fn challenge_step(state: &AppState, call: &Call, ip: IpAddr) -> Result<Value, NativeError> {
    let (_, fresh, flow) = call
        .resume(
            state,
            &["signin", "signin_password", "signin_oob", "mfa", "mfa_oob"],
            false,
        )
        .await?;
    let client = narrowed(&call.params, flow.origin.native.unwrap_or_default())?;
    match flow.flow.step.clone() {
        Step::Password => match first_factor(&flow, client) {
            Some(FirstFactor::Password) => Ok(json!({
                "continuation_token": token(state, call, &flow, "signin_password", false)?,
                "challenge_type": "password",
            })),
            Some(FirstFactor::Code) => {
                let advanced = advance(state, call, flow, vec![Event::UseEmailCode], ip).await?;
                code_sent(state, call, advanced, "signin_oob")
            }
            None => Ok(redirect(
                "The client does not support the sign-in method this account uses.",
            )),
        },
        Step::SignInCode if !client.oob => Ok(redirect(
            "The client does not support one-time codes, which this sign-in needs.",
        )),
        Step::SignInCode => resend_unless_fresh(state, call, flow, fresh, ip, "signin_oob").await,
        Step::ChooseSecondFactor | Step::SecondFactor { .. } => {
            second_factor_challenge(state, call, flow, fresh, ip).await
        }
        _ => Err(wrong_endpoint()),
    }
}

/// The second-factor challenge: the method the client picked (`id`, from introspect), or the
/// one the engine picked when the user has only one.
async fn second_factor_challenge(
    state: &AppState,
    call: &Call,
    flow: SignInFlow,
    fresh: bool,
    ip: IpAddr,
) -> Result<Value, NativeError> {
    let chosen = match call.params.one("id")? {
        Some(id) => Some(id.parse::<AuthMethodId>().map_err(|_| {
            NativeError::invalid_request(90100, "The id parameter is not a known method.")
        })?),
        None => None,
    };
    let current = match &flow.flow.step {
        Step::SecondFactor { method, .. } => Some(*method),
        _ => None,
    };
    match (chosen, current) {
        (None, None) => Err(NativeError::invalid_request(
            50076,
            "Several second factors are registered: list them with introspect and pick one by id.",
        )
        .with_suberror("introspect_required")
        .with_continuation(token(state, call, &flow, "mfa", false)?)),
        (Some(id), Some(current)) if id == current => mfa_code(state, call, flow, fresh, ip).await,
        (None, Some(_)) => mfa_code(state, call, flow, fresh, ip).await,
        (Some(method), _) => {
            let advanced = advance(state, call, flow, vec![Event::ChooseMethod { method }], ip)
                .await
                .map_err(|err| match err.error {
                    "invalid_request" => NativeError::invalid_request(
                        90100,
                        "The id parameter is not a known method.",
                    ),
                    _ => err,
                })?;
            mfa_answer(state, call, advanced)
        }
    }
}

async fn mfa_code(
    state: &AppState,
    call: &Call,
    flow: SignInFlow,
    fresh: bool,
    ip: IpAddr,
) -> Result<Value, NativeError> {
    if !listable(current_method(&flow).as_ref()) {
        return Ok(authenticator_redirect());
    }
    if fresh {
        return oob_answer(state, call, &flow, "mfa_oob");
    }
    let advanced = advance(state, call, flow, vec![Event::ResendCode], ip).await?;
    mfa_answer(state, call, advanced)
}

fn mfa_answer(state: &AppState, call: &Call, advanced: Advanced) -> Result<Value, NativeError> {
    if !listable(current_method(&advanced.flow).as_ref()) {
        return Ok(authenticator_redirect());
    }
    code_sent(state, call, advanced, "mfa_oob")
}

fn authenticator_redirect() -> Value {
    redirect("This second factor (an authenticator app) is available only in the browser.")
}

/// The method the flow's second-factor step waits for.
fn current_method(flow: &SignInFlow) -> Option<MethodFacts> {
    match &flow.flow.step {
        Step::SecondFactor { method, .. } => {
            flow.flow.methods.iter().find(|m| m.id == *method).cloned()
        }
        _ => None,
    }
}

/// Methods the native contract can carry: codes by mail or text.
fn listable(method: Option<&MethodFacts>) -> bool {
    method.is_some_and(|m| {
        matches!(m.kind, MfaMethod::EmailOtp | MfaMethod::Sms) && m.target.is_some()
    })
}

/// A code step: announce the code the engine just sent, or send another.
async fn resend_unless_fresh(
    state: &AppState,
    call: &Call,
    flow: SignInFlow,
    fresh: bool,
    ip: IpAddr,
    stage: &str,
) -> Result<Value, NativeError> {
    if fresh {
        return oob_answer(state, call, &flow, stage);
    }
    let advanced = advance(state, call, flow, vec![Event::ResendCode], ip).await?;
    code_sent(state, call, advanced, stage)
}

fn code_sent(
    state: &AppState,
    call: &Call,
    advanced: Advanced,
    stage: &str,
) -> Result<Value, NativeError> {
    if let Some(problem) = advanced.problem {
        return Err(problem_error(&problem));
    }
    oob_answer(state, call, &advanced.flow, stage)
}

/// The `oob` challenge answer for the code the flow's step waits for.
fn oob_answer(
    state: &AppState,
    call: &Call,
    flow: &SignInFlow,
    stage: &str,
) -> Result<Value, NativeError> {
    let (channel, label) = match current_method(flow) {
        Some(method) => (
            if method.kind == MfaMethod::Sms {
                "sms"
            } else {
                "email"
            },
            method.label().unwrap_or_default(),
        ),
        None => (
            "email",
            flow.flow
                .email
                .as_deref()
                .map(mask_email)
                .unwrap_or_default(),
        ),
    };
    Ok(json!({
        "continuation_token": token(state, call, flow, stage, false)?,
        "challenge_type": "oob",
        "binding_method": "prompt",
        "challenge_channel": channel,
        "challenge_target_label": label,
        "code_length": CODE_LENGTH,
    }))
}

/// `POST /{tenant}/oauth2/v2.0/introspect`: the second factors the client may pick from.
pub(crate) async fn introspect(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let state = &state;
    answer(state, &tenant, &headers, &body, |call| async move {
        let (stage, fresh, flow) = call.resume(state, &["mfa", "mfa_oob"], false).await?;
        let rules = Rules {
            config: &flow.config,
            reveal_accounts: true,
        };
        let methods: Vec<Value> = flow
            .flow
            .usable_second_factors(&rules)
            .into_iter()
            .filter(|m| listable(Some(m)))
            .map(|m| {
                json!({
                    "id": m.id.to_string(),
                    "challenge_type": "oob",
                    "challenge_channel": if m.kind == MfaMethod::Sms { "sms" } else { "email" },
                    "login_hint": m.label().unwrap_or_default(),
                })
            })
            .collect();
        if methods.is_empty() {
            return Ok(authenticator_redirect());
        }
        Ok(json!({
            "continuation_token": token(state, &call, &flow, &stage, fresh)?,
            "methods": methods,
        }))
    })
    .await
}

/// The native grants at `POST /{tenant}/oauth2/v2.0/token` (the OAuth handler hands them over).
pub(crate) async fn token_grant(
    state: &AppState,
    tenant: &str,
    ip: IpAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    answer(state, tenant, headers, body, |call| async move {
        grant(state, &call, ip).await
    })
    .await
}

async fn grant(state: &AppState, call: &Call, ip: IpAddr) -> Result<Value, NativeError> {
    let grant_type = call.params.one("grant_type")?.unwrap_or_default();
    let required = |name: &str| {
        call.params
            .one(name)?
            .ok_or_else(|| NativeError::missing(name))
    };
    let (stages, event): (&[&str], Option<Event>) = match grant_type.as_str() {
        "password" => (
            &["signin", "signin_password"],
            Some(Event::Password {
                password: required("password")?,
            }),
        ),
        "oob" => (
            &["signin_oob"],
            Some(Event::Code {
                code: required("oob")?,
            }),
        ),
        "mfa_oob" => (
            &["mfa_oob"],
            Some(Event::Code {
                code: required("oob")?,
            }),
        ),
        _ => (&["done"], None),
    };
    let (_, _, flow) = call.resume(state, stages, true).await?;
    let client = flow.origin.native.unwrap_or_default();
    let flow = match event {
        Some(event) => {
            let advanced = advance(state, call, flow, vec![event], ip).await?;
            if let Some(problem) = advanced.problem {
                return Err(problem_error(&problem));
            }
            advanced.flow
        }
        None => {
            // Sign-up sends the address again here; it must be the flow's.
            if let Some(username) = call.params.one("username")?
                && flow.flow.email.as_deref() != Some(username.trim().to_lowercase().as_str())
            {
                return Err(NativeError::invalid_grant(
                    55200,
                    "The username does not match the continuation token.",
                ));
            }
            flow
        }
    };
    match flow.flow.step {
        Step::Done => issue(state, call, flow).await,
        Step::ChooseSecondFactor | Step::SecondFactor { .. } if client.mfa => {
            let fresh = listable(current_method(&flow).as_ref());
            Err(NativeError::invalid_grant(
                50076,
                "Multi-factor authentication is required: challenge a second factor.",
            )
            .with_suberror("mfa_required")
            .with_continuation(token(state, call, &flow, "mfa", fresh)?))
        }
        Step::ChooseSecondFactor | Step::SecondFactor { .. } => {
            Ok(redirect("Client is missing mfa_required capability"))
        }
        Step::ChooseEnrolment
        | Step::EnrolPhone
        | Step::EnrolTotp
        | Step::VerifyEnrolment { .. }
        | Step::RecoveryCodes => Ok(redirect(if client.registration {
            "Registering a second factor is available only in the browser for now."
        } else {
            "Client is missing registration_required capability"
        })),
        _ => Err(wrong_endpoint()),
    }
}

/// Tokens for a finished flow: the standard response plus `client_info`, which the native
/// SDKs require.
async fn issue(state: &AppState, call: &Call, flow: SignInFlow) -> Result<Value, NativeError> {
    let scope = call.params.one("scope")?;
    let issued = state
        .portico
        .grant_finished_flow(&call.tenant, &call.app, flow, scope.as_deref(), true)
        .await
        .map_err(oauth_error)?;
    Ok(crate::oidc::token::token_body(issued))
}

fn oauth_error(err: OAuthError) -> NativeError {
    match err.code {
        OAuthErrorCode::InvalidScope => NativeError::new("invalid_scope", 70011, err.description),
        OAuthErrorCode::InvalidGrant => NativeError::invalid_grant(55200, err.description),
        OAuthErrorCode::TemporarilyUnavailable => NativeError::busy(),
        OAuthErrorCode::ServerError => NativeError::server_error(),
        _ => NativeError::invalid_request(90100, err.description),
    }
}

/// Issues a continuation token for the flow's current step.
fn token(
    state: &AppState,
    call: &Call,
    flow: &SignInFlow,
    stage: &str,
    code_fresh: bool,
) -> Result<String, NativeError> {
    Ok(state
        .portico
        .continuation_token(&call.tenant, flow, stage, code_fresh)?)
}

/// Runs events through the engine; the native contract may say whether an account exists.
pub(crate) async fn advance(
    state: &AppState,
    call: &Call,
    flow: SignInFlow,
    events: Vec<Event>,
    ip: IpAddr,
) -> Result<Advanced, NativeError> {
    let caller = Caller {
        ip,
        texts: &i18n::RequestTexts,
        reveal_accounts: true,
    };
    state
        .portico
        .advance_flow(&call.tenant, flow, events, caller)
        .await
        .map_err(|err| match err {
            FlowError::NotFound => NativeError::new(
                "expired_token",
                552003,
                "The continuation token has expired. Start the flow again.",
            ),
            FlowError::Illegal(_) => wrong_endpoint(),
            FlowError::Contended => NativeError::invalid_grant(
                55200,
                "The continuation token was used by another request.",
            ),
            FlowError::Core(err) => err.into(),
        })
}

fn wrong_endpoint() -> NativeError {
    NativeError::invalid_request(
        901007,
        "The continuation_token provided is not valid for this endpoint.",
    )
}

fn bad_username() -> NativeError {
    NativeError::invalid_request(90100, "The username parameter is empty or not valid.")
}

/// The engine's problem in the contract's words (spec §1.4–1.8; the numbers SDKs read).
pub(crate) fn problem_error(problem: &Problem) -> NativeError {
    match problem {
        Problem::InvalidEmail => bad_username(),
        Problem::UserNotFound => NativeError::new(
            "user_not_found",
            50034,
            "The user account does not exist in the directory.",
        ),
        Problem::UserExists => NativeError::new(
            "user_already_exists",
            1003037,
            "An account with this username already exists.",
        ),
        Problem::SignUpDisabled => NativeError::new(
            "unauthorized_client",
            500207,
            "Sign-up is not enabled for this application.",
        ),
        Problem::Credentials(CredentialProblem::Invalid) => NativeError::invalid_grant(
            50126,
            "Error validating credentials due to invalid username or password.",
        ),
        Problem::Credentials(CredentialProblem::LockedOut | CredentialProblem::RateLimited)
        | Problem::RateLimited => NativeError::invalid_grant(
            50053,
            "The account is locked or too many attempts were made. Try again later.",
        ),
        Problem::Credentials(CredentialProblem::Disabled) | Problem::AccountDisabled => {
            NativeError::invalid_grant(50057, "The user account is disabled.")
        }
        Problem::WrongCode { attempts_left } => NativeError::invalid_grant(
            50181,
            match attempts_left {
                Some(left) => format!("The code is incorrect. {left} attempts remain."),
                None => "The code is incorrect.".to_owned(),
            },
        )
        .with_suberror("invalid_oob_value"),
        Problem::CodeExpired | Problem::CodeDead => NativeError::invalid_grant(
            50181,
            "The code has expired or can no longer be used. Request a new code.",
        )
        .with_suberror("invalid_oob_value"),
        Problem::SendThrottled { retry_after_secs } => NativeError::invalid_request(
            50196,
            format!("Too many codes were requested. Retry in {retry_after_secs} seconds."),
        ),
        Problem::Password(why) => {
            let (suberror, text) = match why {
                PasswordProblem::TooShort => ("password_too_short", "The password is too short."),
                PasswordProblem::TooLong => ("password_too_long", "The password is too long."),
                PasswordProblem::Banned => (
                    "password_banned",
                    "The password is too common or easy to guess.",
                ),
                PasswordProblem::RecentlyUsed => (
                    "password_recently_used",
                    "The password was used recently. Choose another.",
                ),
            };
            NativeError::invalid_grant(399246, text).with_suberror(suberror)
        }
        Problem::Attributes(errors) => {
            let mut err =
                NativeError::invalid_grant(55107, "One or more user attributes are not valid.")
                    .with_suberror("attribute_validation_failed");
            let invalid: Vec<Value> = errors.iter().map(|e| json!({ "name": e.name })).collect();
            err.extra
                .insert("invalid_attributes".into(), invalid.into());
            err
        }
        Problem::InvalidPhone => NativeError::invalid_request(
            90100,
            "The phone number is not valid. Use the international format, such as +14255550123.",
        ),
        Problem::NoSecondFactor => NativeError::invalid_request(
            50076,
            "Multi-factor authentication is required, but no method is available to this account.",
        ),
    }
}
