//! The email + password sign-in page. The page only collects input; the sign-in engine
//! (`Portico::sign_in_with_password`) decides.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use portico_core::directory::{Tenant, TenantRef};
use portico_core::oauth::AuthorizeParams;
use portico_core::signin::{ActiveSession, SignInError};

use crate::AppState;
use crate::client_ip::ClientIp;
use crate::error::HtmlError;
use crate::form::Params;
use crate::oidc::authorize::{authorize_params, deliver, failure_response};
use crate::pages;

/// What the page shows besides the form (messages are keys of the page catalogs).
#[derive(Debug, Default)]
pub(crate) struct PageState {
    pub error: Option<&'static str>,
    pub notice: Option<&'static str>,
    pub email: Option<String>,
    pub status: Option<StatusCode>,
}

/// Renders the sign-in page for an authorization request (carried in hidden fields, and
/// validated again on submit).
pub(crate) async fn page(
    state: &AppState,
    tenant: &Tenant,
    params: &AuthorizeParams,
    jar: CookieJar,
    page: PageState,
) -> Response {
    let branding = pages::branding(state, tenant).await;
    let (jar, csrf_token) = pages::csrf(state, jar);
    let hidden = hidden_fields(params);
    let email = page
        .email
        .or_else(|| params.login_hint.clone())
        .unwrap_or_default();
    let nonce = pages::nonce();
    let response = pages::render(
        page.status.unwrap_or(StatusCode::OK),
        "signin.html",
        minijinja::context! {
            action => format!(
                "{}/{}/signin?ui_locales={}",
                state.portico.settings.public_url,
                tenant.id,
                pages::i18n::current()
            ),
            csrf_token,
            hidden,
            email,
            error => page.error,
            notice => page.notice,
            nonce => nonce.clone(),
            ..pages::brand_context(state, tenant, &branding)
        },
        &nonce,
        None,
    );
    (jar, response).into_response()
}

fn hidden_fields(params: &AuthorizeParams) -> Vec<(String, String)> {
    match serde_json::to_value(params) {
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned())))
            .collect(),
        _ => Vec::new(),
    }
}

/// `POST /{tenant}/signin`: checks the password, starts the SSO session, completes the
/// authorization request.
pub async fn submit(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let tenant = match state.portico.tenant(&TenantRef::parse(&tenant)).await {
        Ok(tenant) => tenant,
        Err(err) => return HtmlError::from(err).into_response(),
    };
    let form = match Params::from_form(&headers, &body) {
        Ok(form) => form,
        Err(message) => return HtmlError::bad_request(message).into_response(),
    };
    let fields = (|| {
        Ok::<_, String>((
            authorize_params(&form)?,
            form.get("csrf_token")?,
            form.get("email")?.unwrap_or_default(),
            form.get("password")?.unwrap_or_default(),
            form.flag("kmsi")?,
        ))
    })();
    let (params, csrf_token, email, password, keep_signed_in) = match fields {
        Ok(fields) => fields,
        Err(message) => return HtmlError::bad_request(message).into_response(),
    };
    let request = match state.portico.validate_authorize(&tenant, &params).await {
        Ok(request) => request,
        Err(failure) => return failure_response(failure, StatusCode::SEE_OTHER),
    };
    let retry = async |error: &'static str, status: StatusCode, jar: CookieJar| {
        page(
            &state,
            &tenant,
            &params,
            jar,
            PageState {
                error: Some(error),
                email: Some(email.clone()),
                status: Some(status),
                ..Default::default()
            },
        )
        .await
    };
    if !pages::csrf_ok(&state, &jar, csrf_token.as_deref()) {
        return retry("signin-error-expired", StatusCode::FORBIDDEN, jar).await;
    }
    if email.is_empty() || password.is_empty() {
        return retry("signin-error-missing", StatusCode::BAD_REQUEST, jar).await;
    }
    let user = match state
        .portico
        .sign_in_with_password(&tenant, &email, &password, client_ip)
        .await
    {
        Ok(user) => user,
        Err(SignInError::InvalidCredentials) => {
            return retry("signin-error-incorrect", StatusCode::UNAUTHORIZED, jar).await;
        }
        Err(SignInError::LockedOut { .. }) => {
            return retry("signin-error-locked", StatusCode::FORBIDDEN, jar).await;
        }
        Err(SignInError::AccountDisabled) => {
            return retry("signin-error-disabled", StatusCode::FORBIDDEN, jar).await;
        }
        Err(SignInError::RateLimited) => {
            return retry("signin-error-throttled", StatusCode::TOO_MANY_REQUESTS, jar).await;
        }
        Err(SignInError::Core(err)) => return HtmlError::from(err).into_response(),
    };
    let (secret, record) = match state
        .portico
        .start_session(&tenant, &user, keep_signed_in)
        .await
    {
        Ok(started) => started,
        Err(err) => return HtmlError::from(err).into_response(),
    };
    let max_age = keep_signed_in.then(|| record.expires_at - record.auth_time);
    let jar = jar.add(pages::session_cookie(&state, &tenant, secret, max_age));
    let session = ActiveSession { record, user };
    match state
        .portico
        .issue_authorization_code(&tenant, &request, &session)
        .await
    {
        Ok(response) => (jar, deliver(response, StatusCode::SEE_OTHER)).into_response(),
        Err(err) => HtmlError::from(err).into_response(),
    }
}
