//! The authorization endpoint (RFC 6749 §4.1, OIDC Core §3.1.2).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use portico_core::CoreError;
use portico_core::directory::{Tenant, TenantRef};
use portico_core::oauth::{
    AuthorizeDecision, AuthorizeFailure, AuthorizeParams, AuthorizeResponse, ResponseMode,
};
use portico_core::signin::ActiveSession;
use portico_core::signin::engine::Journey;

use crate::AppState;
use crate::client_ip::ClientIp;
use crate::error::HtmlError;
use crate::form::Params;
use crate::pages::{self, signin};

/// `GET /{tenant}/oauth2/v2.0/authorize`.
pub async fn authorize_get(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    ClientIp(ip): ClientIp,
    RawQuery(query): RawQuery,
    jar: CookieJar,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    authorize(state, &tenant, params, ip, jar).await
}

/// `POST /{tenant}/oauth2/v2.0/authorize` (form-encoded authorization request).
pub async fn authorize_post(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let params = Params::from_form(&headers, &body);
    authorize(state, &tenant, params, ip, jar).await
}

async fn authorize(
    state: AppState,
    tenant: &str,
    params: Result<Params, String>,
    ip: std::net::IpAddr,
    jar: CookieJar,
) -> Response {
    let tenant = match state.portico.tenant(&TenantRef::parse(tenant)).await {
        Ok(tenant) => tenant,
        Err(err) => return HtmlError::from(err).into_response(),
    };
    let params = match params.and_then(|p| authorize_params(&p)) {
        Ok(params) => params,
        Err(message) => return HtmlError::bad_request(message).into_response(),
    };
    // A pushed request (RFC 9126) stands in for the parameters, once.
    let params = match state.portico.resolve_pushed(&tenant, &params).await {
        Ok(Some(pushed)) => pushed,
        Ok(None) => params,
        Err(failure) => return failure_response(failure, StatusCode::FOUND),
    };
    let request = match state.portico.validate_authorize(&tenant, &params).await {
        Ok(request) => request,
        Err(failure) => return failure_response(failure, StatusCode::FOUND),
    };
    let session = match current_session(&state, &tenant, &jar).await {
        Ok(session) => session,
        Err(err) => return err.into_response(),
    };
    let mut decision = state
        .portico
        .decide_authorize(&tenant, &request, session)
        .await;
    if let Ok(AuthorizeDecision::Complete(session)) = &decision {
        match state
            .portico
            .issue_authorization_code(&tenant, &request, session)
            .await
        {
            Ok(response) => return deliver(response, StatusCode::FOUND),
            // The session ended between its check and the code (a sign-out elsewhere): the
            // request is decided again as one without a session (sign in, or login_required).
            Err(CoreError::SessionEnded) => {
                decision = state
                    .portico
                    .decide_authorize(&tenant, &request, None)
                    .await;
            }
            Err(err) => return HtmlError::from(err).into_response(),
        }
    }
    let decision = match decision {
        Ok(decision) => decision,
        Err(err) => return HtmlError::from(err).into_response(),
    };
    match decision {
        // Decided without a session, so never again a code from one.
        AuthorizeDecision::Complete(_) => HtmlError::from(CoreError::SessionEnded).into_response(),
        AuthorizeDecision::SignIn => {
            let client = request.app.client_id;
            signin::begin(&state, &tenant, &params, client, Journey::SignIn, ip, jar).await
        }
        AuthorizeDecision::SignUp => {
            let client = request.app.client_id;
            signin::begin(&state, &tenant, &params, client, Journey::SignUp, ip, jar).await
        }
        AuthorizeDecision::StepUp(session) => {
            let client = request.app.client_id;
            signin::begin_step_up(&state, &tenant, &params, client, &session, ip, jar).await
        }
        AuthorizeDecision::Respond(response) => deliver(response, StatusCode::FOUND),
    }
}

/// Reads the authorization parameters, each at most once.
pub(crate) fn authorize_params(params: &Params) -> Result<AuthorizeParams, String> {
    Ok(AuthorizeParams {
        client_id: params.get("client_id")?,
        redirect_uri: params.get("redirect_uri")?,
        response_type: params.get("response_type")?,
        response_mode: params.get("response_mode")?,
        scope: params.get("scope")?,
        state: params.get("state")?,
        nonce: params.get("nonce")?,
        code_challenge: params.get("code_challenge")?,
        code_challenge_method: params.get("code_challenge_method")?,
        prompt: params.get("prompt")?,
        login_hint: params.get("login_hint")?,
        max_age: params.get("max_age")?,
        request: params.get("request")?,
        request_uri: params.get("request_uri")?,
        dpop_jkt: params.get("dpop_jkt")?,
        pushed: false,
    })
}

/// The browser's live SSO session for this tenant, if any.
pub(crate) async fn current_session(
    state: &AppState,
    tenant: &Tenant,
    jar: &CookieJar,
) -> Result<Option<ActiveSession>, HtmlError> {
    let Some(cookie) = jar.get(&pages::session_cookie_name(state, tenant)) else {
        return Ok(None);
    };
    Ok(state.portico.resume_session(tenant, cookie.value()).await?)
}

/// An invalid request: an error page, or an error sent to the verified redirect URI.
pub(crate) fn failure_response(failure: AuthorizeFailure, redirect_status: StatusCode) -> Response {
    match failure {
        AuthorizeFailure::NoRedirect(message) => HtmlError::bad_request(message).into_response(),
        AuthorizeFailure::Redirect(response) => deliver(response, redirect_status),
    }
}

/// Sends an authorization response to the client: a redirect, or an auto-submitting form.
pub(crate) fn deliver(response: AuthorizeResponse, redirect_status: StatusCode) -> Response {
    match response.mode {
        ResponseMode::FormPost => {
            let origin = pages::form_target(&response.redirect_uri);
            let nonce = pages::nonce();
            pages::render(
                StatusCode::OK,
                "form_post.html",
                minijinja::context! {
                    action => response.redirect_uri,
                    fields => response.params,
                    nonce => nonce.clone(),
                },
                &nonce,
                origin.as_deref(),
            )
        }
        ResponseMode::Query | ResponseMode::Fragment => {
            let location = response.location();
            match redirect_status {
                StatusCode::SEE_OTHER => Redirect::to(&location).into_response(),
                _ => (
                    StatusCode::FOUND,
                    [
                        (header::LOCATION, location),
                        (header::CACHE_CONTROL, "no-store".into()),
                    ],
                )
                    .into_response(),
            }
        }
    }
}
