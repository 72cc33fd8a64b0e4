//! Sign-in (spec §1.6): `initiate` → `challenge` → `token` (grants `password`, `oob`,
//! `mfa_oob`), with `introspect` for the second-factor methods, and the `continuation_token`
//! grant that ends sign-up and password reset. Beyond Entra: a client that lists the
//! `passkey` challenge type gets a passkey challenge (the WebAuthn request options) for an
//! account that has a passkey, and answers it with the `passkey` grant.
//!
//! Stages (which endpoint takes a token next): `signin` (after initiate), `signin_password`,
//! `signin_oob`, `signin_passkey`, `mfa` (after `mfa_required`), `mfa_oob`, and `done` (a
//! finished sign-up or reset, redeemed with `grant_type=continuation_token`).

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use portico_core::directory::SignInMethod;
use portico_core::ids::AuthMethodId;
use portico_core::passkeys::PasskeyUser;
use portico_core::signin::engine::{Event, Journey, Problem, Step};
use portico_core::signin::{NativeClient, SignInFlow};
use serde_json::{Value, json};

use super::flow::{
    Begun, advance, answer, begin, channel_name, continued, current_method, issue, listable,
    oob_answer, resend_unless_fresh, step, token, wrong_endpoint,
};
use super::problems::problem_error;
use super::{Call, NativeError, narrowed, redirect};
use crate::AppState;

endpoint!(initiate, start, "`POST /{tenant}/oauth2/v2.0/initiate`.");

async fn start(state: &AppState, call: &Call, ip: IpAddr) -> Result<Value, NativeError> {
    // A client that can do none of the methods the user flow offers goes to the browser
    // before any code is sent.
    let precheck = |config: &portico_core::directory::UserFlowConfig,
                    client: NativeClient,
                    _: &portico_core::directory::Email| {
        let offers = |method| config.methods.contains(&method);
        Ok((!(client.password && offers(SignInMethod::Password)
            || client.oob && offers(SignInMethod::EmailOtp)
            || client.passkey && offers(SignInMethod::Passkey)))
        .then_some("The client does not support the sign-in methods this application offers."))
    };
    let (flow, client) =
        match begin(state, call, ip, Journey::SignIn, &precheck, Vec::new()).await? {
            Begun::Flow(flow, client) => (flow, client),
            Begun::Redirect(answer) => return Ok(answer),
        };
    let passkeys = has_passkeys(state, call, &flow).await?;
    if first_factor(&flow, client, passkeys).is_none() {
        return Ok(redirect(
            "The client does not support the sign-in method this account uses.",
        ));
    }
    let fresh = flow.flow.step == Step::SignInCode;
    continued(state, call, &flow, "signin", fresh)
}

/// How the client will prove the first factor, given what it can do and what the account has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FirstFactor {
    Password,
    Code,
    Passkey,
}

/// Whether the flow's account has a passkey (the native API names accounts anyway: its
/// contract answers `user_not_found`).
async fn has_passkeys(
    state: &AppState,
    call: &Call,
    flow: &SignInFlow,
) -> Result<bool, NativeError> {
    match &flow.flow.user {
        Some(user) if flow.config.methods.contains(&SignInMethod::Passkey) => {
            Ok(state.portico.has_passkeys(&call.tenant, user.id).await?)
        }
        _ => Ok(false),
    }
}

/// A passkey first where the account has one and the client can answer it (it signs in
/// with no secret to phish); else the password; else a code.
fn first_factor(flow: &SignInFlow, client: NativeClient, passkeys: bool) -> Option<FirstFactor> {
    let has_password = flow.flow.user.as_ref().is_some_and(|u| u.has_password);
    let offers = |method| flow.config.methods.contains(&method);
    match flow.flow.step {
        Step::Password | Step::Passkey if client.passkey && passkeys => Some(FirstFactor::Passkey),
        Step::SignInCode => client.oob.then_some(FirstFactor::Code),
        Step::Password if client.password && has_password => Some(FirstFactor::Password),
        Step::Password if client.oob && offers(SignInMethod::EmailOtp) => Some(FirstFactor::Code),
        _ => None,
    }
}

endpoint!(
    challenge,
    challenge_step,
    "`POST /{tenant}/oauth2/v2.0/challenge`."
);

async fn challenge_step(state: &AppState, call: &Call, ip: IpAddr) -> Result<Value, NativeError> {
    let (_, fresh, flow) = call
        .resume(
            state,
            &["signin", "signin_password", "signin_oob", "mfa", "mfa_oob"],
            false,
        )
        .await?;
    let client = narrowed(&call.params, flow.origin.native.unwrap_or_default())?;
    let passkeys = has_passkeys(state, call, &flow).await?;
    match flow.flow.step.clone() {
        Step::Password | Step::Passkey => match first_factor(&flow, client, passkeys) {
            Some(FirstFactor::Passkey) => passkey_challenge(state, call, &flow).await,
            Some(FirstFactor::Password) => Ok(json!({
                "continuation_token": token(state, call, &flow, "signin_password", false)?,
                "challenge_type": "password",
            })),
            Some(FirstFactor::Code) => {
                let flow = step(state, call, flow, Event::UseEmailCode, ip).await?;
                oob_answer(state, call, &flow, "signin_oob")
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

/// A passkey challenge for the flow's account: the WebAuthn request options, to answer with
/// the `passkey` grant.
async fn passkey_challenge(
    state: &AppState,
    call: &Call,
    flow: &SignInFlow,
) -> Result<Value, NativeError> {
    let Some(user) = &flow.flow.user else {
        return Err(wrong_endpoint());
    };
    let options = state
        .portico
        .begin_passkey_sign_in(
            &call.tenant,
            PasskeyUser::Known(user.id),
            &flow.passkey_binding(),
        )
        .await?;
    Ok(json!({
        "continuation_token": token(state, call, flow, "signin_passkey", false)?,
        "challenge_type": "passkey",
        "passkey_options": options.public_key,
    }))
}

/// The `passkey` grant's fields (base64url, as `PublicKeyCredential.toJSON()` has them) as the
/// credential's JSON, and the ceremony its `clientDataJSON` names.
fn passkey_answer(call: &Call) -> Result<Event, NativeError> {
    let id = call.params.required("credential_id")?;
    let response = json!({
        "authenticatorData": call.params.required("authenticator_data")?,
        "clientDataJSON": call.params.required("client_data_json")?,
        "signature": call.params.required("signature")?,
        "userHandle": call.params.one("user_handle")?,
    });
    let response = json!({
        "id": id,
        "rawId": id,
        "type": "public-key",
        "response": response,
        "extensions": {},
    })
    .to_string();
    let challenge_id = portico_core::passkeys::challenge_of(&response).ok_or_else(|| {
        NativeError::invalid_request(90100, "client_data_json is not a WebAuthn client data.")
    })?;
    Ok(Event::Passkey {
        challenge_id,
        response,
        keep_signed_in: false,
    })
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
            let flow = step(state, call, flow, Event::ChooseMethod { method }, ip)
                .await
                .map_err(|err| match err.error {
                    "invalid_request" => NativeError::invalid_request(
                        90100,
                        "The id parameter is not a known method.",
                    ),
                    _ => err,
                })?;
            if !listable(current_method(&flow).as_ref()) {
                return Ok(authenticator_redirect());
            }
            oob_answer(state, call, &flow, "mfa_oob")
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
    resend_unless_fresh(state, call, flow, fresh, ip, "mfa_oob").await
}

const NO_USABLE_FACTOR: &str =
    "None of this account's second factors can be used for this sign-in through the API.";

fn authenticator_redirect() -> Value {
    redirect("This second factor (an authenticator app) is available only in the browser.")
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
        let methods: Vec<Value> = flow
            .flow
            .usable_second_factors(&flow.rules(true))
            .into_iter()
            .filter(|m| listable(Some(m)))
            .map(|m| {
                json!({
                    "id": m.id.to_string(),
                    "challenge_type": "oob",
                    "challenge_channel": channel_name(m.kind),
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
    let (stages, event): (&[&str], Option<Event>) = match grant_type.as_str() {
        "password" => (
            &["signin", "signin_password"],
            Some(Event::Password {
                password: call.params.required("password")?,
            }),
        ),
        "oob" => (
            &["signin_oob"],
            Some(Event::Code {
                code: call.params.required("oob")?,
            }),
        ),
        "mfa_oob" => (
            &["mfa_oob"],
            Some(Event::Code {
                code: call.params.required("oob")?,
            }),
        ),
        "passkey" => (&["signin_passkey"], Some(passkey_answer(call)?)),
        _ => (&["done"], None),
    };
    let (_, _, flow) = call.resume(state, stages, true).await?;
    let client = flow.origin.native.unwrap_or_default();
    let flow = match event {
        Some(event) => {
            let advanced = advance(state, call, flow, vec![event], ip).await?;
            match advanced.problem {
                // Factors the user has but cannot use here (and may not replace with one of
                // their choosing): the browser offers what the API cannot, or says why not.
                Some(Problem::NoSecondFactor) => return Ok(redirect(NO_USABLE_FACTOR)),
                Some(problem) => return Err(problem_error(&problem)),
                None => advanced.flow,
            }
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
        | Step::EnrolPasskey
        | Step::EnrolPhone
        | Step::EnrolTotp
        | Step::VerifyEnrolment { .. }
        | Step::RecoveryCodes => super::register::required(state, call, &flow, client),
        _ => Err(wrong_endpoint()),
    }
}
