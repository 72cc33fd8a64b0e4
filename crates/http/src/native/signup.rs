//! Sign-up (spec §1.5): `start` → `challenge` → `continue` (grants `oob`, `password`,
//! `attributes`), then the token endpoint's `continuation_token` grant.
//!
//! The engine sends the verification code as soon as it has the address, so `start` checks
//! everything it can (the password policy, the attributes sent along, what the client can do)
//! before the flow exists, and feeds the password and attributes to the flow's code step.
//!
//! Stages: `signup` (after start; the code is out but not yet announced), `signup_oob` (code
//! announced), `signup_credential` (after `credential_required`), `signup_password` (password
//! asked), `signup_attributes` (after `attributes_required`), then `done`.

use std::net::IpAddr;

use portico_core::directory::{AttributeType, Email, SignInMethod, UserFlowConfig};
use portico_core::signin::NativeClient;
use portico_core::signin::SignInFlow;
use portico_core::signin::engine::{Event, Flow, Journey, Problem, Step};
use serde_json::{Value, json};

use super::fields::attributes_param;
use super::flow::{advance, begin, continued, resend_unless_fresh, token, with, wrong_endpoint};
use super::problems::problem_error;
use super::{Call, NativeError, narrowed, redirect};
use crate::AppState;

/// Entra's default message for a sign-up an extension blocked.
pub(crate) const BLOCKED: &str =
    "You are not permitted to sign up. Please contact the owner of the application/website.";

const NO_OOB: &str =
    "The client does not support one-time codes, which sign-up needs to verify the email address.";
const NO_PASSWORD: &str =
    "The client does not support passwords, which this application's sign-up needs.";

endpoint!(start, start_step, "`POST /{tenant}/signup/v1.0/start`.");

async fn start_step(state: &AppState, call: &Call, ip: IpAddr) -> Result<Value, NativeError> {
    let password = call.params.one("password")?;
    let attributes = attributes_param(&call.params)?;
    let precheck = |config: &UserFlowConfig, client: NativeClient, email: &Email| {
        Flow::check_sign_up_details(config, email.as_str(), password.as_deref(), &attributes)
            .map_err(|problem| problem_error(&problem))?;
        let passwords = config.methods.contains(&SignInMethod::Password);
        if password.is_some() && !passwords {
            return Err(NativeError::invalid_request(
                90100,
                "This application's accounts have no password: its users sign in with emailed codes.",
            ));
        }
        Ok(if !client.oob {
            Some(NO_OOB)
        } else if passwords && !client.password {
            Some(NO_PASSWORD)
        } else {
            None
        })
    };
    let mut more = Vec::new();
    if let Some(password) = password.clone() {
        more.push(Event::NewPassword { password });
    }
    more.push(Event::Attributes {
        values: attributes.clone(),
    });
    begin(state, call, ip, Journey::SignUp, &precheck, more)
        .await?
        .answer(state, call, "signup")
}

endpoint!(
    challenge,
    challenge_step,
    "`POST /{tenant}/signup/v1.0/challenge`: announces (or resends) the verification code, or asks for the password after `credential_required`."
);

async fn challenge_step(state: &AppState, call: &Call, ip: IpAddr) -> Result<Value, NativeError> {
    let (_, fresh, flow) = call
        .resume(
            state,
            &[
                "signup",
                "signup_oob",
                "signup_credential",
                "signup_password",
            ],
            false,
        )
        .await?;
    let client = narrowed(&call.params, flow.origin.native.unwrap_or_default())?;
    match flow.flow.step {
        Step::VerifyEmail if !client.oob => Ok(redirect(NO_OOB)),
        Step::VerifyEmail => {
            let answer = resend_unless_fresh(state, call, flow, fresh, ip, "signup_oob").await?;
            // Seconds before another code may be asked for (the engine's resend throttle).
            let interval = state.portico.settings.otp.resend_interval_secs;
            Ok(with(answer, json!({ "interval": interval })))
        }
        Step::NewPassword if !client.password => Ok(redirect(NO_PASSWORD)),
        Step::NewPassword => Ok(json!({
            "continuation_token": token(state, call, &flow, "signup_password", false)?,
            "challenge_type": "password",
        })),
        _ => Err(wrong_endpoint()),
    }
}

endpoint!(
    proceed,
    proceed_step,
    "`POST /{tenant}/signup/v1.0/continue`."
);

async fn proceed_step(state: &AppState, call: &Call, ip: IpAddr) -> Result<Value, NativeError> {
    let grant_type = call.params.required("grant_type")?;
    let (stage, event) = match grant_type.as_str() {
        "oob" => (
            "signup_oob",
            Event::Code {
                code: call.params.required("oob")?,
            },
        ),
        "password" => (
            "signup_password",
            Event::NewPassword {
                password: call.params.required("password")?,
            },
        ),
        "attributes" => {
            call.params.required("attributes")?;
            (
                "signup_attributes",
                Event::Attributes {
                    values: attributes_param(&call.params)?,
                },
            )
        }
        other => return Err(NativeError::unsupported_grant(other)),
    };
    let (_, _, flow) = call.resume(state, &[stage], false).await?;
    let advanced = advance(state, call, flow, vec![event], ip).await?;
    match &advanced.problem {
        // An extension refused the attributes: the client sends them again, so it gets a
        // token for the attributes step with the error (the step may be new: the attributes
        // came with the start, and the code just proved the address).
        Some(refused @ Problem::AttributesRefused { .. }) => Err(problem_error(refused)
            .with_continuation(token(
                state,
                call,
                &advanced.flow,
                "signup_attributes",
                false,
            )?)),
        Some(problem) => Err(problem_error(problem)),
        None => next_need(state, call, &advanced.flow),
    }
}

/// What the sign-up needs next: a password, attributes, or nothing (the account exists and
/// the token can be redeemed).
fn next_need(state: &AppState, call: &Call, flow: &SignInFlow) -> Result<Value, NativeError> {
    match &flow.flow.step {
        Step::NewPassword => Err(NativeError::new(
            "credential_required",
            55103,
            "Credential required. Call the challenge endpoint to set a password.",
        )
        .with_continuation(token(state, call, flow, "signup_credential", false)?)),
        Step::Attributes => {
            let mut err =
                NativeError::new("attributes_required", 55106, "User attributes required")
                    .with_continuation(token(state, call, flow, "signup_attributes", false)?);
            err.extra
                .insert("required_attributes".into(), required_attributes(flow));
            Err(err)
        }
        // UNCONFIRMED: Entra documents no native answer for an extension's block page; the
        // closest is refusing the request with Entra's number for a blocked sign-up and the
        // extension's message.
        Step::Blocked { message } => Err(NativeError::new(
            "access_denied",
            1003023,
            message.clone().unwrap_or_else(|| BLOCKED.to_owned()),
        )),
        step if flow.flow.user.is_some() => {
            // A code for a second factor's registration may have gone out already.
            let fresh = matches!(step, Step::VerifyEnrolment { .. });
            continued(state, call, flow, "done", fresh)
        }
        _ => Err(wrong_endpoint()),
    }
}

/// The required attributes still missing, in the shape MSAL reads (`name`, `type`,
/// `required`, `options.regex`). UNCONFIRMED: the docs show only `"type": "string"`; the
/// other type names follow Entra's custom attribute types.
fn required_attributes(flow: &SignInFlow) -> Value {
    portico_core::directory::missing_required(&flow.config.attributes, &flow.flow.attributes)
        .map(|spec| {
            let mut attribute = json!({
                "name": spec.name,
                "type": match spec.value_type {
                    AttributeType::String => "string",
                    AttributeType::Int => "int",
                    AttributeType::Bool => "boolean",
                },
                "required": true,
            });
            if let (Some(regex), Some(map)) = (&spec.regex, attribute.as_object_mut()) {
                map.insert("options".into(), json!({ "regex": regex }));
            }
            attribute
        })
        .collect()
}
