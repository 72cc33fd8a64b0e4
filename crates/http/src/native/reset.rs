//! Self-service password reset (spec §1.8): `start` → `challenge` → `continue` (the code) →
//! `submit` (the new password) → `poll_completion`, then the token endpoint's
//! `continuation_token` grant.
//!
//! The engine sets the password while handling `submit`, so by the first poll the reset has
//! finished: `poll_completion` answers `succeeded` at once.
//!
//! Stages: `reset` (after start; the code is out but not yet announced), `reset_oob` (code
//! announced), `reset_password` (code proven), `reset_poll` (password set), then `done`.

use std::net::IpAddr;

use portico_core::directory::{Email, MfaPolicy, SignInMethod, UserFlowConfig};
use portico_core::signin::engine::{Event, Journey, Step};
use portico_core::signin::{CONTINUATION_LIFETIME_SECS, NativeClient};
use serde_json::{Value, json};

use super::flow::{begin, resend_unless_fresh, step, token, wrong_endpoint};
use super::{Call, NativeError, narrowed, redirect};
use crate::AppState;

/// Seconds the client waits between polls. The reset is finished before the first poll, so
/// the shortest wait MSAL honours (0 means its default of 2) is the right one.
const POLL_INTERVAL_SECS: i64 = 1;

const NO_OOB: &str = "The client does not support one-time codes, which password reset needs.";

/// The contract's reset has no second-factor step, and a reset where the flow requires MFA
/// passes it before the password changes: such resets happen in the browser.
const NEEDS_MFA: &str =
    "Password reset for this application needs a second factor, which happens in the browser.";

endpoint!(
    start,
    start_step,
    "`POST /{tenant}/resetpassword/v1.0/start`."
);
endpoint!(
    challenge,
    challenge_step,
    "`POST /{tenant}/resetpassword/v1.0/challenge`: announces (or resends) the code."
);
endpoint!(
    proceed,
    proceed_step,
    "`POST /{tenant}/resetpassword/v1.0/continue`: the code."
);
endpoint!(
    submit,
    submit_step,
    "`POST /{tenant}/resetpassword/v1.0/submit`: the new password."
);
endpoint!(
    poll_completion,
    poll_step,
    "`POST /{tenant}/resetpassword/v1.0/poll_completion`."
);

async fn start_step(state: &AppState, call: &Call, ip: IpAddr) -> Result<Value, NativeError> {
    let precheck = |config: &UserFlowConfig, client: NativeClient, _: &Email| {
        if !config.methods.contains(&SignInMethod::Password) {
            // UNCONFIRMED number: no public source gives Entra's code for this case.
            return Err(NativeError::new(
                "unauthorized_client",
                500222,
                "Password reset is not available: this application's accounts have no password.",
            ));
        }
        if config.mfa == MfaPolicy::Required {
            return Ok(Some(NEEDS_MFA));
        }
        Ok((!client.oob).then_some(NO_OOB))
    };
    begin(
        state,
        call,
        ip,
        Journey::ResetPassword,
        &precheck,
        Vec::new(),
    )
    .await?
    .answer(state, call, "reset")
}

async fn challenge_step(state: &AppState, call: &Call, ip: IpAddr) -> Result<Value, NativeError> {
    let (_, fresh, flow) = call.resume(state, &["reset", "reset_oob"], false).await?;
    let client = narrowed(&call.params, flow.origin.native.unwrap_or_default())?;
    match flow.flow.step {
        Step::ResetCode if !client.oob => Ok(redirect(NO_OOB)),
        Step::ResetCode => resend_unless_fresh(state, call, flow, fresh, ip, "reset_oob").await,
        _ => Err(wrong_endpoint()),
    }
}

async fn proceed_step(state: &AppState, call: &Call, ip: IpAddr) -> Result<Value, NativeError> {
    let grant_type = call.params.required("grant_type")?;
    if grant_type != "oob" {
        return Err(NativeError::unsupported_grant(&grant_type));
    }
    let code = call.params.required("oob")?;
    let (_, _, flow) = call.resume(state, &["reset_oob"], false).await?;
    let flow = step(state, call, flow, Event::Code { code }, ip).await?;
    match flow.flow.step {
        Step::NewPassword => {}
        // The start refuses such resets; should one get here, the browser can finish it.
        Step::ChooseSecondFactor
        | Step::SecondFactor { .. }
        | Step::ChooseEnrolment
        | Step::EnrolPhone
        | Step::EnrolTotp
        | Step::VerifyEnrolment { .. } => return Ok(redirect(NEEDS_MFA)),
        _ => return Err(wrong_endpoint()),
    }
    Ok(json!({
        "continuation_token": token(state, call, &flow, "reset_password", false)?,
        "expires_in": CONTINUATION_LIFETIME_SECS,
    }))
}

async fn submit_step(state: &AppState, call: &Call, ip: IpAddr) -> Result<Value, NativeError> {
    let password = call.params.required("new_password")?;
    let (_, _, flow) = call.resume(state, &["reset_password"], false).await?;
    let flow = step(state, call, flow, Event::NewPassword { password }, ip).await?;
    if flow.flow.step == Step::NewPassword {
        return Err(wrong_endpoint());
    }
    Ok(json!({
        "continuation_token": token(state, call, &flow, "reset_poll", false)?,
        "poll_interval": POLL_INTERVAL_SECS,
    }))
}

async fn poll_step(state: &AppState, call: &Call, _: IpAddr) -> Result<Value, NativeError> {
    let (_, _, flow) = call.resume(state, &["reset_poll"], false).await?;
    Ok(json!({
        "status": "succeeded",
        "continuation_token": token(state, call, &flow, "done", false)?,
    }))
}
