//! Just-in-time registration of a second factor (spec §1.7): when the user flow requires MFA
//! and the account has no second factor, the token endpoint answers `registration_required`;
//! the client lists what may be registered (`introspect`), sends a code to the new contact
//! (`challenge`, or `preverified` for the mailbox the flow just proved), proves it
//! (`continue`), and redeems the last token at the token endpoint.
//!
//! Stages: `register` (after `registration_required`), `register_oob` (code announced),
//! `register_done` (registered without a code), then `done`.

use std::net::IpAddr;

use portico_core::directory::{Email, MfaMethod};
use portico_core::otp::CODE_LENGTH;
use portico_core::signin::engine::{Event, Step, mask_email, normalize_phone};
use portico_core::signin::{NativeClient, SignInFlow};
use serde_json::{Value, json};

use super::flow::{advance, channel_name, continued, step, token, wrong_endpoint};
use super::problems::problem_error;
use super::{Call, NativeError, redirect};
use crate::AppState;

endpoint!(
    introspect,
    introspect_step,
    "`POST /{tenant}/register/v1.0/introspect`: the kinds of second factor that may be registered."
);
endpoint!(
    challenge,
    challenge_step,
    "`POST /{tenant}/register/v1.0/challenge`: sends a code to the contact being registered."
);
endpoint!(
    proceed,
    proceed_step,
    "`POST /{tenant}/register/v1.0/continue`: the code, or the preverified registration."
);

/// The token endpoint's answer when the flow waits for a registration: `registration_required`
/// for a client that can do it, else the browser.
pub(super) fn required(
    state: &AppState,
    call: &Call,
    flow: &SignInFlow,
    client: NativeClient,
) -> Result<Value, NativeError> {
    if !client.registration {
        return Ok(redirect(
            "Client is missing registration_required capability",
        ));
    }
    if choices(flow).is_empty() {
        return Ok(browser_only());
    }
    let fresh = matches!(flow.flow.step, Step::VerifyEnrolment { .. });
    Err(NativeError::invalid_grant(
        50076,
        "A second factor must be registered before signing in.",
    )
    .with_suberror("registration_required")
    .with_continuation(token(state, call, flow, "register", fresh)?))
}

fn browser_only() -> Value {
    redirect("The second factors this application accepts can be registered only in the browser.")
}

/// The kinds the engine lets this flow register that the contract can carry (codes by mail
/// or text; an authenticator app needs the browser).
fn choices(flow: &SignInFlow) -> Vec<MfaMethod> {
    flow.flow
        .enrolment_choices(&flow.rules(true))
        .into_iter()
        .filter(|kind| matches!(kind, MfaMethod::EmailOtp | MfaMethod::Sms))
        .collect()
}

async fn introspect_step(state: &AppState, call: &Call, _: IpAddr) -> Result<Value, NativeError> {
    let (stage, fresh, flow) = call
        .resume(state, &["register", "register_oob"], false)
        .await?;
    let methods: Vec<Value> = choices(&flow)
        .into_iter()
        .map(|kind| {
            let mut method = json!({
                "id": channel_name(kind),
                "challenge_type": "oob",
                "challenge_channel": channel_name(kind),
            });
            // The mailbox to register is the account's own, so the client may show it.
            if kind == MfaMethod::EmailOtp
                && let (Some(email), Some(map)) = (&flow.flow.email, method.as_object_mut())
            {
                map.insert("login_hint".into(), mask_email(email).into());
            }
            method
        })
        .collect();
    if methods.is_empty() {
        return Ok(browser_only());
    }
    Ok(json!({
        "continuation_token": token(state, call, &flow, &stage, fresh)?,
        "methods": methods,
    }))
}

async fn challenge_step(state: &AppState, call: &Call, ip: IpAddr) -> Result<Value, NativeError> {
    let (_, fresh, flow) = call
        .resume(state, &["register", "register_oob"], false)
        .await?;
    if let Some(types) = call.params.one("challenge_type")?
        && !super::list(&types).any(|t| t == "oob")
    {
        return Err(NativeError::new(
            "unsupported_challenge_type",
            50199,
            "Registration takes the challenge_type 'oob'.",
        ));
    }
    let target = call.params.required("challenge_target")?;
    let kind = match call.params.one("challenge_channel")?.as_deref() {
        Some("email") => MfaMethod::EmailOtp,
        Some("sms") => MfaMethod::Sms,
        None if target.contains('@') => MfaMethod::EmailOtp,
        None => MfaMethod::Sms,
        Some(_) => {
            return Err(NativeError::invalid_request(
                90100,
                "The challenge_channel must be 'email' or 'sms'.",
            ));
        }
    };
    if !choices(&flow).contains(&kind) {
        return Err(NativeError::invalid_request(
            90100,
            "This kind of second factor cannot be registered for this application.",
        ));
    }
    // The contact, normalised as the engine keeps it; checked here so that a typo leaves the
    // flow (and so the client's token) where it was.
    let contact = match kind {
        MfaMethod::Sms => normalize_phone(&target)
            .ok_or_else(|| problem_error(&portico_core::signin::engine::Problem::InvalidPhone))?,
        _ => {
            let email = Email::parse(&target).ok().map(|e| e.as_str().to_owned());
            if email.is_none() || email != flow.flow.email {
                // UNCONFIRMED: Entra may register another mailbox; Portico's email second
                // factor is the account's own address.
                return Err(NativeError::invalid_request(
                    90100,
                    "The email second factor is the account's own address: register that one.",
                ));
            }
            target.trim().to_lowercase()
        }
    };
    let waiting_here = matches!(
        &flow.flow.step,
        Step::VerifyEnrolment { kind: k, target: t } if *k == kind && *t == contact
    );
    let flow = if waiting_here && fresh {
        flow
    } else if waiting_here {
        step(state, call, flow, Event::ResendCode, ip).await?
    } else {
        let mut events = vec![Event::Enrol { kind }];
        if kind == MfaMethod::Sms {
            events.push(Event::Phone {
                number: contact.clone(),
            });
        }
        let advanced = advance(state, call, flow, events, ip).await?;
        if let Some(problem) = advanced.problem {
            return Err(problem_error(&problem));
        }
        advanced.flow
    };
    match &flow.flow.step {
        Step::VerifyEnrolment { kind, target } => Ok(json!({
            "continuation_token": token(state, call, &flow, "register_oob", false)?,
            "challenge_type": "oob",
            "binding_method": "prompt",
            "challenge_target": target,
            "challenge_channel": channel_name(*kind),
            "code_length": CODE_LENGTH,
            "interval": state.portico.settings.otp.resend_interval_secs,
        })),
        // The mailbox was proven earlier in this flow: registered without another code.
        Step::Done => Ok(json!({
            "continuation_token": token(state, call, &flow, "register_done", false)?,
            "challenge_type": "preverified",
            "binding_method": "prompt",
            "challenge_target": contact,
            "challenge_channel": channel_name(kind),
            "code_length": CODE_LENGTH,
        })),
        _ => Err(wrong_endpoint()),
    }
}

async fn proceed_step(state: &AppState, call: &Call, ip: IpAddr) -> Result<Value, NativeError> {
    let grant_type = call.params.required("grant_type")?;
    let flow = match grant_type.as_str() {
        "oob" => {
            let code = call.params.required("oob")?;
            let (_, _, flow) = call.resume(state, &["register_oob"], false).await?;
            step(state, call, flow, Event::Code { code }, ip).await?
        }
        "continuation_token" => call.resume(state, &["register_done"], false).await?.2,
        other => return Err(NativeError::unsupported_grant(other)),
    };
    if !flow.flow.is_done() {
        return Err(wrong_endpoint());
    }
    continued(state, call, &flow, "done", false)
}
