//! The security page, `/{tenant}/account/security`: a signed-in person's passkeys (names,
//! when made and last used), renamed, removed and added. It works from the browser's SSO
//! session; every change is a form with the anti-forgery token, and a registration
//! ceremony is bound to the session that started it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use portico_core::CoreError;
use portico_core::directory::{Tenant, TenantRef};
use portico_core::passkeys::{PasskeyError, PasskeyOptions};
use portico_core::signin::ActiveSession;

use crate::AppState;
use crate::error::HtmlError;
use crate::form::Params;
use crate::oidc::authorize::current_session;
use crate::pages::{self, i18n};

/// What the page says above the list.
#[derive(Default)]
struct Said {
    notice: Option<&'static str>,
    error: Option<&'static str>,
    error_text: Option<String>,
    /// The parked authorization request this page offers a passkey before answering.
    offer: Option<String>,
}

/// What binds a registration ceremony to the session on this page.
fn binding(session: &ActiveSession) -> String {
    format!("session:{}", session.record.id)
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    session: Option<&ActiveSession>,
    register: Option<PasskeyOptions>,
    said: Said,
    status: StatusCode,
    redirect_uri: Option<&str>,
) -> Response {
    let branding = pages::branding(state, tenant).await;
    let (jar, csrf_token) = pages::csrf(state, jar);
    let passkeys = match session {
        Some(session) => match state.portico.passkeys(tenant, &session.user).await {
            Ok(list) => list
                .into_iter()
                .map(|p| {
                    minijinja::context! {
                        credential_id => p.credential_id,
                        name => p.name,
                        created => portico_core::scim::rfc3339(p.created_at),
                        last_used => p.last_used_at.map(portico_core::scim::rfc3339),
                    }
                })
                .collect(),
            Err(err) => return HtmlError::from(err).into_response(),
        },
        None => Vec::new(),
    };
    let register = register.map(|options| {
        minijinja::context! {
            challenge_id => options.challenge_id,
            // Raw text in a JSON script element: only `<` could end it early.
            options => options.public_key.to_string().replace('<', "\\u003c"),
        }
    });
    let nonce = pages::nonce();
    let page = pages::render(
        status,
        "security.html",
        minijinja::context! {
            action => format!(
                "{}/{}/account/security?ui_locales={}",
                state.portico.settings.public_url,
                tenant.id,
                i18n::current()
            ),
            signed_in => session.is_some(),
            offer => said.offer,
            email => session.map(|s| s.user.email.clone()),
            passkeys,
            register,
            csrf_token,
            notice => said.notice,
            error => said.error,
            error_text => said.error_text,
            nonce => nonce.clone(),
            ..pages::brand_context(state, tenant, &branding)
        },
        &nonce,
        redirect_uri.and_then(pages::form_target).as_deref(),
    );
    (jar, page).into_response()
}

async fn tenant_and_session(
    state: &AppState,
    tenant: &str,
    jar: &CookieJar,
) -> Result<(Tenant, Option<ActiveSession>), Response> {
    let tenant = state
        .portico
        .tenant(&TenantRef::parse(tenant))
        .await
        .map_err(|err| HtmlError::from(err).into_response())?;
    let session = current_session(state, &tenant, jar)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((tenant, session))
}

/// `GET /{tenant}/account/security`.
pub async fn show(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    jar: CookieJar,
) -> Response {
    let (tenant, session) = match tenant_and_session(&state, &tenant, &jar).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let status = if session.is_some() {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    };
    let said = Said::default();
    render(
        &state,
        &tenant,
        jar,
        session.as_ref(),
        None,
        said,
        status,
        None,
    )
    .await
}

/// The offer after a sign-in: "make a passkey for faster sign-in next time", with the
/// ceremony ready; made or declined, the page goes on to the app.
pub(crate) async fn offer(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    session: &ActiveSession,
    request: &portico_core::oauth::AuthorizeParams,
) -> Response {
    offer_again(state, tenant, jar, session, Parking::First(request), None).await
}

/// The request an offer answers: parked for the first time, or again (keeping its deadline).
#[derive(Clone, Copy)]
enum Parking<'a> {
    First(&'a portico_core::oauth::AuthorizeParams),
    Again(&'a portico_core::passkeys::ParkedRequest),
}

/// The offer, shown first or again after a refused answer (`error`).
async fn offer_again(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    session: &ActiveSession,
    request: Parking<'_>,
    error: Option<&'static str>,
) -> Response {
    // The ceremony first: should it fail, the request is not parked under an id the page
    // never shows.
    let options = match state
        .portico
        .begin_passkey_registration(tenant, &session.user, &binding(session))
        .await
    {
        Ok(options) => options,
        Err(err) => return HtmlError::from(err).into_response(),
    };
    let portico = &state.portico;
    let redirect_uri = match request {
        Parking::First(params) => params.redirect_uri.clone(),
        Parking::Again(parked) => parked.params.redirect_uri.clone(),
    };
    let parked = match request {
        Parking::First(params) => {
            portico
                .park_authorize_request(tenant, &binding(session), params)
                .await
        }
        Parking::Again(parked) => {
            portico
                .repark_authorize_request(tenant, &binding(session), parked)
                .await
        }
    };
    let parked = match parked {
        Ok(parked) => parked,
        Err(err) => return HtmlError::from(err).into_response(),
    };
    let said = Said {
        offer: Some(parked),
        error,
        ..Said::default()
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render(
        state,
        tenant,
        jar,
        Some(session),
        Some(options),
        said,
        status,
        redirect_uri.as_deref(),
    )
    .await
}

/// `POST /{tenant}/account/security`: `add` (start a registration), `register` (finish it),
/// `rename`, `remove`.
pub async fn submit(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let (tenant, session) = match tenant_and_session(&state, &tenant, &jar).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let form = match Params::from_form(&headers, &body) {
        Ok(form) => form,
        Err(message) => return HtmlError::bad_request(message).into_response(),
    };
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or_default();
    let Some(session) = session else {
        let said = Said::default();
        return render(
            &state,
            &tenant,
            jar,
            None,
            None,
            said,
            StatusCode::UNAUTHORIZED,
            None,
        )
        .await;
    };
    let refuse = |error: &'static str| Said {
        error: Some(error),
        ..Said::default()
    };
    let portico = &state.portico;
    let user = &session.user;
    let action = field("action");
    // A form from elsewhere, or a change by a session that may not make one.
    let refused = if !pages::csrf_ok(&state, &jar, Some(field("csrf_token").as_str())) {
        Some("signin-error-expired")
    } else if matches!(action.as_str(), "add" | "register" | "remove") {
        match portico.may_change_passkeys(&tenant, &session).await {
            Ok(true) => None,
            Ok(false) => Some("security-error-stale"),
            Err(err) => return HtmlError::from(err).into_response(),
        }
    } else {
        None
    };
    if let Some(error) = refused {
        let said = refuse(error);
        return render(
            &state,
            &tenant,
            jar,
            Some(&session),
            None,
            said,
            StatusCode::FORBIDDEN,
            None,
        )
        .await;
    }
    // The offer after a sign-in: declined, or made, the person goes on to the app; a
    // failed attempt shows the offer again.
    let offered = field("continue");
    if !offered.is_empty() {
        if action == "register" {
            let made = portico
                .finish_passkey_registration(
                    &tenant,
                    user,
                    &binding(&session),
                    &field("passkey_challenge"),
                    &field("passkey_response"),
                    Some(&field("name")),
                )
                .await;
            if let Err(err) = made {
                tracing::info!(tenant = %tenant.id, error = %err, "passkey offer not taken up");
                // Shown again under a new id (the request is taken and parked anew, until
                // the time it was first parked for, which also tells where the app is);
                // gone, the sign-in just goes on.
                match portico
                    .resume_authorize_request(&tenant, &binding(&session), &offered)
                    .await
                {
                    Ok(Some(request)) => {
                        let error = Some("passkey-error-refused");
                        let again = Parking::Again(&request);
                        return offer_again(&state, &tenant, jar, &session, again, error).await;
                    }
                    Ok(None) => {}
                    Err(err) => return HtmlError::from(err).into_response(),
                }
            }
        }
        return crate::pages::signin::continue_after_offer(
            &state,
            &tenant,
            jar,
            &binding(&session),
            &offered,
            &session,
        )
        .await;
    }
    let outcome: Result<Said, Said> = match action.as_str() {
        "add" => match portico
            .begin_passkey_registration(&tenant, user, &binding(&session))
            .await
        {
            Ok(options) => {
                let said = Said::default();
                return render(
                    &state,
                    &tenant,
                    jar,
                    Some(&session),
                    Some(options),
                    said,
                    StatusCode::OK,
                    None,
                )
                .await;
            }
            Err(err) => return HtmlError::from(err).into_response(),
        },
        "register" => {
            let name = field("name");
            match portico
                .finish_passkey_registration(
                    &tenant,
                    user,
                    &binding(&session),
                    &field("passkey_challenge"),
                    &field("passkey_response"),
                    Some(&name),
                )
                .await
            {
                Ok(_) => Ok(Said {
                    notice: Some("security-added"),
                    ..Said::default()
                }),
                Err(PasskeyError::Core(CoreError::Invalid(message))) => Err(Said {
                    error: Some("attributes-error"),
                    error_text: Some(message),
                    ..Said::default()
                }),
                Err(PasskeyError::Core(err)) => return HtmlError::from(err).into_response(),
                Err(PasskeyError::ChallengeGone) => Err(refuse("passkey-error-expired")),
                Err(PasskeyError::AlreadyRegistered) => Err(refuse("passkey-error-already")),
                Err(PasskeyError::AuthenticatorNotAllowed) => {
                    Err(refuse("passkey-error-not-allowed"))
                }
                Err(other) => {
                    tracing::info!(tenant = %tenant.id, error = %other, "passkey registration refused");
                    Err(refuse("passkey-error-refused"))
                }
            }
        }
        "rename" => match portico
            .rename_passkey(&tenant, user, &field("credential_id"), &field("name"))
            .await
        {
            Ok(()) => Ok(Said {
                notice: Some("security-renamed"),
                ..Said::default()
            }),
            Err(err) => page_refusal(err),
        },
        "remove" => match portico
            .remove_passkey(&tenant, user, &field("credential_id"))
            .await
        {
            Ok(()) => Ok(Said {
                notice: Some("security-removed"),
                ..Said::default()
            }),
            Err(err) => page_refusal(err),
        },
        _ => Err(refuse("signin-error-expired")),
    };
    let (said, status) = match outcome {
        Ok(said) => (said, StatusCode::OK),
        Err(said) => (said, StatusCode::BAD_REQUEST),
    };
    render(
        &state,
        &tenant,
        jar,
        Some(&session),
        None,
        said,
        status,
        None,
    )
    .await
}

/// A refused rename or removal, in the page's words.
fn page_refusal(err: CoreError) -> Result<Said, Said> {
    match err {
        CoreError::Invalid(message) => Err(Said {
            error: Some("attributes-error"),
            error_text: Some(message),
            ..Said::default()
        }),
        CoreError::NotFound(_) => Err(Said {
            error: Some("signin-error-expired"),
            ..Said::default()
        }),
        other => {
            tracing::error!(error = %other, "security page failed");
            Err(Said {
                error: Some("error-internal"),
                ..Said::default()
            })
        }
    }
}
