//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use portico_core::directory::TenantRef;
use portico_core::oauth::{LogoutOutcome, LogoutRequest};

use super::authorize::current_session;
use crate::AppState;
use crate::error::HtmlError;
use crate::form::Params;
use crate::pages;

/// `GET /{tenant}/oauth2/v2.0/logout`.
pub async fn logout_get(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
    jar: CookieJar,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    logout(state, &tenant, params, jar, false).await
}

/// `POST /{tenant}/oauth2/v2.0/logout` (also the confirmation form's target).
pub async fn logout_post(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let params = Params::from_form(&headers, &body);
    logout(state, &tenant, params, jar, true).await
}

async fn logout(
    state: AppState,
    tenant: &str,
    params: Result<Params, String>,
    jar: CookieJar,
    is_post: bool,
) -> Response {
    let tenant = match state.portico.tenant(&TenantRef::parse(tenant)).await {
        Ok(tenant) => tenant,
        Err(err) => return HtmlError::from(err).into_response(),
    };
    let fields = params.and_then(|p| {
        Ok((
            p.get("id_token_hint")?,
            p.get("client_id")?,
            p.get("post_logout_redirect_uri")?,
            p.get("state")?,
            p.flag("confirm")?,
            p.get("csrf_token")?,
        ))
    });
    let (hint, client_id, redirect, logout_state, confirm, csrf_token) = match fields {
        Ok(fields) => fields,
        Err(message) => return HtmlError::bad_request(message).into_response(),
    };
    let confirmed = is_post && confirm && pages::csrf_ok(&state, &jar, csrf_token.as_deref());
    let session = match current_session(&state, &tenant, &jar).await {
        Ok(session) => session,
        Err(err) => return err.into_response(),
    };
    let outcome = state
        .portico
        .logout(
            &tenant,
            LogoutRequest {
                id_token_hint: hint.as_deref(),
                client_id: client_id.as_deref(),
                post_logout_redirect_uri: redirect.as_deref(),
                state: logout_state.as_deref(),
                confirmed,
            },
            session.as_ref(),
        )
        .await;
    let signed_out = |jar: CookieJar| jar.add(pages::clear_session_cookie(&state, &tenant));
    match outcome {
        Ok(LogoutOutcome::SignedOut {
            redirect: Some(target),
            front_channel,
        }) if front_channel.is_empty() => (signed_out(jar), Redirect::to(&target)).into_response(),
        Ok(LogoutOutcome::SignedOut {
            redirect,
            front_channel,
        }) => {
            let jar = signed_out(jar);
            let mut frame_origins: Vec<String> = front_channel
                .iter()
                .filter_map(|url| pages::form_target(url))
                .collect();
            frame_origins.sort();
            frame_origins.dedup();
            let nonce = pages::nonce();
            let page = pages::render_with_frames(
                StatusCode::OK,
                "signed_out.html",
                minijinja::context! {
                    nonce => nonce.clone(),
                    redirect,
                    frames => front_channel,
                },
                &nonce,
                None,
                &frame_origins,
            );
            (jar, page).into_response()
        }
        Ok(LogoutOutcome::ConfirmationRequired) => {
            let (jar, csrf_token) = pages::csrf(&state, jar);
            // The confirmed logout redirects to the (already verified) app.
            let redirect_target = redirect.as_deref().and_then(pages::form_target);
            let hidden: Vec<(&str, String)> = [
                ("id_token_hint", hint),
                ("client_id", client_id),
                ("post_logout_redirect_uri", redirect),
                ("state", logout_state),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
            let nonce = pages::nonce();
            let page = pages::render(
                StatusCode::OK,
                "logout_confirm.html",
                minijinja::context! {
                    action => format!(
                        "{}/{}/oauth2/v2.0/logout?ui_locales={}",
                        state.portico.settings.public_url,
                        tenant.id,
                        pages::i18n::current()
                    ),
                    csrf_token,
                    hidden,
                    nonce => nonce.clone(),
                },
                &nonce,
                redirect_target.as_deref(),
            );
            (jar, page).into_response()
        }
        Err(err) => HtmlError::bad_request(err.description).into_response(),
    }
}
