//! The end of a hosted-page flow: the SSO session starts (or a device is approved), the
//! passkey offer is made where the flow offers one, and the app gets its code, or hears that
//! the person declined.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use portico_core::directory::Tenant;
use portico_core::oauth::{OAuthError, OAuthErrorCode};
use portico_core::signin::engine::Journey;
use portico_core::signin::{ActiveSession, SignInFlow};

use super::expired;
use crate::AppState;
use crate::error::HtmlError;
use crate::oidc::authorize::{current_session, deliver, failure_response};
use crate::pages::{self, device};

/// The flow is done: start the SSO session and answer the authorization request.
pub(super) async fn complete(
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
pub(super) async fn declined(
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
