//! What every native endpoint does with its flow: open the call, start a flow from a username
//! (sign-in, sign-up and reset all begin this way), feed engine events, issue continuation
//! tokens, announce a sent code, and redeem a finished flow for tokens.

use std::net::IpAddr;

use axum::http::{HeaderMap, header};
use axum::response::Response;
use portico_core::directory::{Email, MfaMethod, UserFlowConfig};
use portico_core::oauth::{OAuthError, OAuthErrorCode};
use portico_core::otp::CODE_LENGTH;
use portico_core::signin::engine::{Event, Journey, MethodFacts, Step, mask_email};
use portico_core::signin::{Advanced, Caller, FlowError, FlowOrigin, NativeClient, SignInFlow};
use serde_json::{Value, json};

use super::problems::problem_error;
use super::{Call, NativeError, Wire, client_abilities};
use crate::AppState;
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
pub(super) async fn answer<F, Fut>(
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

/// A flow begun from a username, or the web fallback before any flow existed.
pub(super) enum Begun {
    /// The flow, past its first step, and what the client said it can do.
    Flow(Box<SignInFlow>, NativeClient),
    /// The redirect answer.
    Redirect(Value),
}

impl Begun {
    /// The answer of a start whose code went out with its first step: a token for `stage`
    /// (the next challenge announces the code), or the redirect.
    pub(super) fn answer(
        self,
        state: &AppState,
        call: &Call,
        stage: &str,
    ) -> Result<Value, NativeError> {
        match self {
            Self::Flow(flow, _) => continued(state, call, &flow, stage, true),
            Self::Redirect(answer) => Ok(answer),
        }
    }
}

/// How a journey decides, from the rules alone, whether the client can go on natively.
pub(super) type Precheck<'a> = &'a (
        dyn Fn(&UserFlowConfig, NativeClient, &Email) -> Result<Option<&'static str>, NativeError>
            + Sync
    );

/// The start of sign-in, sign-up and reset: what the client can do, the username, the
/// per-address lookup limit and the journey's own checks, all before a flow exists (so a
/// refusal leaves nothing behind and sends no code); then the flow, fed the address and
/// `more` events.
pub(super) async fn begin(
    state: &AppState,
    call: &Call,
    ip: IpAddr,
    journey: Journey,
    precheck: Precheck<'_>,
    more: Vec<Event>,
) -> Result<Begun, NativeError> {
    let client = client_abilities(&call.params)?;
    let username = call.params.one("username")?.ok_or_else(bad_username)?;
    let email = Email::parse(&username).map_err(|_| bad_username())?;
    // The contract answers `user_not_found` and `user_already_exists`, so these calls reveal
    // whether an account exists: each lookup costs the caller's network from a lookup budget.
    if !state.portico.rate_limits.allow_lookup(call.tenant.id, ip) {
        return Err(NativeError::throttled());
    }
    let config = state
        .portico
        .user_flow_for_app(&call.tenant, call.app.client_id)
        .await?
        .config;
    if let Some(reason) = precheck(&config, client, &email)? {
        return Ok(Begun::Redirect(super::redirect(reason)));
    }
    let flow = state
        .portico
        .start_flow_under(
            &call.tenant,
            Some(call.app.client_id),
            journey,
            FlowOrigin {
                native: Some(client),
                ..FlowOrigin::default()
            },
            config,
            ip,
        )
        .await?;
    let mut events = vec![Event::Identify {
        email: email.as_str().to_owned(),
        keep_signed_in: false,
    }];
    events.extend(more);
    let advanced = advance(state, call, flow, events, ip).await?;
    if let Some(problem) = advanced.problem {
        return Err(problem_error(&problem));
    }
    Ok(Begun::Flow(Box::new(advanced.flow), client))
}

/// Issues a continuation token for the flow's current step.
pub(super) fn token(
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

/// `{ "continuation_token": ... }`, the answer of most steps.
pub(super) fn continued(
    state: &AppState,
    call: &Call,
    flow: &SignInFlow,
    stage: &str,
    code_fresh: bool,
) -> Result<Value, NativeError> {
    Ok(json!({ "continuation_token": token(state, call, flow, stage, code_fresh)? }))
}

/// Runs events through the engine; the native contract may say whether an account exists.
pub(super) async fn advance(
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

/// Runs one event and fails with the engine's problem, if any.
pub(super) async fn step(
    state: &AppState,
    call: &Call,
    flow: SignInFlow,
    event: Event,
    ip: IpAddr,
) -> Result<SignInFlow, NativeError> {
    let advanced = advance(state, call, flow, vec![event], ip).await?;
    match advanced.problem {
        Some(problem) => Err(problem_error(&problem)),
        None => Ok(advanced.flow),
    }
}

/// The token's step is not one this endpoint serves.
pub(super) fn wrong_endpoint() -> NativeError {
    NativeError::invalid_request(
        901007,
        "The continuation_token provided is not valid for this endpoint.",
    )
}

pub(super) fn bad_username() -> NativeError {
    NativeError::invalid_request(90100, "The username parameter is empty or not valid.")
}

/// The method the flow's second-factor step waits for.
pub(super) fn current_method(flow: &SignInFlow) -> Option<MethodFacts> {
    match &flow.flow.step {
        Step::SecondFactor { method, .. } => {
            flow.flow.methods.iter().find(|m| m.id == *method).cloned()
        }
        _ => None,
    }
}

/// Methods the native contract can carry: codes by mail or text.
pub(super) fn listable(method: Option<&MethodFacts>) -> bool {
    method.is_some_and(|m| {
        matches!(m.kind, MfaMethod::EmailOtp | MfaMethod::Sms) && m.target.is_some()
    })
}

/// The contract's name for a code channel.
pub(super) fn channel_name(kind: MfaMethod) -> &'static str {
    if kind == MfaMethod::Sms {
        "sms"
    } else {
        "email"
    }
}

/// A code step: announce the code the engine just sent, or send another.
pub(super) async fn resend_unless_fresh(
    state: &AppState,
    call: &Call,
    flow: SignInFlow,
    fresh: bool,
    ip: IpAddr,
    stage: &str,
) -> Result<Value, NativeError> {
    let flow = if fresh {
        flow
    } else {
        step(state, call, flow, Event::ResendCode, ip).await?
    };
    oob_answer(state, call, &flow, stage)
}

/// The `oob` challenge answer for the code the flow's step waits for: where it went (masked)
/// and how long it is.
pub(super) fn oob_answer(
    state: &AppState,
    call: &Call,
    flow: &SignInFlow,
    stage: &str,
) -> Result<Value, NativeError> {
    let (channel, label) = match current_method(flow) {
        Some(method) => (
            channel_name(method.kind),
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

/// Adds members to a JSON object answer.
pub(super) fn with(mut answer: Value, members: Value) -> Value {
    if let (Some(answer), Value::Object(members)) = (answer.as_object_mut(), members) {
        answer.extend(members);
    }
    answer
}

/// Tokens for a finished flow: the standard response plus `client_info`, which the native
/// SDKs require.
pub(super) async fn issue(
    state: &AppState,
    call: &Call,
    flow: SignInFlow,
) -> Result<Value, NativeError> {
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
