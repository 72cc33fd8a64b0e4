//! How a flow looks: the page of its current step, with the problem to show, in the
//! status that fits.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use portico_core::directory::{
    AttributeReason, AttributeSpec, InputKind, MfaMethod, SignInMethod, Tenant,
};
use portico_core::passkeys::PasskeyUser;
use portico_core::signin::SignInFlow;
use portico_core::signin::engine::{
    CredentialProblem, Journey, PasskeyProblem, PasswordProblem, Problem, Step, mask_email,
    mask_phone,
};

use crate::AppState;
use crate::error::HtmlError;
use crate::pages::{self, i18n};

/// What to show besides the step.
#[derive(Debug, Default)]
pub(super) struct Shown<'a> {
    /// The engine's problem with the last step.
    pub(super) problem: Option<&'a Problem>,
    /// A page-level error key that is not an engine problem (CSRF, password confirmation).
    pub(super) error: Option<&'static str>,
    /// Recovery codes just made, shown once.
    pub(super) recovery_codes: &'a [String],
    /// Values the person typed, shown again after a problem.
    pub(super) email: Option<String>,
    /// Sign-up attributes typed so far.
    pub(super) attributes: Vec<(String, String)>,
}

pub(super) fn status_of(problem: &Problem) -> StatusCode {
    match problem {
        Problem::Credentials(CredentialProblem::Invalid) => StatusCode::UNAUTHORIZED,
        Problem::Credentials(CredentialProblem::LockedOut | CredentialProblem::Disabled)
        | Problem::AccountDisabled
        | Problem::NoSecondFactor => StatusCode::FORBIDDEN,
        Problem::Credentials(CredentialProblem::RateLimited)
        | Problem::RateLimited
        | Problem::Password(PasswordProblem::RateLimited)
        | Problem::TooManyWrongCodes
        | Problem::SecondFactorLocked
        | Problem::TooManyPhoneNumbers
        | Problem::SendThrottled { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The message key for a problem.
pub(super) fn message_of(problem: &Problem) -> &'static str {
    match problem {
        Problem::InvalidEmail => "flow-error-email",
        Problem::SignUpDisabled => "signin-notice-no-signup",
        // Not produced on the hosted pages (they never reveal accounts); worded neutrally.
        Problem::UserNotFound => "signin-error-incorrect",
        Problem::UserExists => "signup-error-exists",
        Problem::Credentials(CredentialProblem::Invalid) => "signin-error-incorrect",
        Problem::Credentials(CredentialProblem::LockedOut) => "signin-error-locked",
        Problem::Credentials(CredentialProblem::ResetRequired) => "signin-error-reset-required",
        Problem::Credentials(CredentialProblem::Disabled) | Problem::AccountDisabled => {
            "signin-error-disabled"
        }
        Problem::Credentials(CredentialProblem::RateLimited)
        | Problem::RateLimited
        | Problem::Password(PasswordProblem::RateLimited) => "signin-error-throttled",
        Problem::WrongCode { .. } => "code-error-wrong",
        Problem::CodeExpired => "code-error-expired",
        Problem::CodeDead => "code-error-dead",
        Problem::SendThrottled { .. } => "code-error-throttled",
        Problem::Password(PasswordProblem::TooShort) => "password-error-short",
        Problem::Password(PasswordProblem::TooLong) => "password-error-long",
        Problem::Password(PasswordProblem::Banned) => "password-error-banned",
        Problem::Password(PasswordProblem::RecentlyUsed) => "password-error-reused",
        Problem::Attributes(_) | Problem::AttributesRefused { .. } => "attributes-error",
        Problem::InvalidPhone => "phone-error-invalid",
        Problem::PhoneCountryNotAllowed => "phone-error-country",
        Problem::NoSecondFactor => "mfa-error-none",
        Problem::TooManyWrongCodes => "mfa-error-too-many",
        Problem::SecondFactorLocked => "mfa-error-locked",
        Problem::TooManyPhoneNumbers => "phone-error-too-many",
        Problem::Passkey(PasskeyProblem::NotRecognised) => "passkey-error-not-recognised",
        Problem::Passkey(PasskeyProblem::Expired) => "passkey-error-expired",
        Problem::Passkey(PasskeyProblem::Refused) => "passkey-error-refused",
        Problem::Passkey(PasskeyProblem::RateLimited) => "signin-error-throttled",
    }
}

pub(super) fn title_of(flow: &SignInFlow) -> String {
    let step = flow.flow.step.name();
    match (&flow.flow.step, flow.flow.journey) {
        (Step::Identify | Step::Password | Step::Passkey, Journey::SignIn) => "signin-title".into(),
        (Step::Identify, Journey::SignUp) => "signup-title".into(),
        (Step::Identify, Journey::ResetPassword) => "reset-title".into(),
        (Step::NewPassword, journey) => format!(
            "newpw-title-{}",
            if journey == Journey::SignUp {
                "sign_up"
            } else {
                "reset_password"
            }
        ),
        (Step::Attributes, _) => "attributes-title".into(),
        (
            Step::SecondFactor {
                kind: MfaMethod::Totp | MfaMethod::Passkey,
                ..
            },
            _,
        ) => "code-title-second_factor".into(),
        (Step::ChooseSecondFactor, _) => "mfa-choose-title".into(),
        (Step::ChooseEnrolment, _) => "enrol-title".into(),
        (Step::EnrolPhone, _) => "enrol-phone-title".into(),
        (Step::EnrolTotp, _) => "enrol-totp-title".into(),
        (Step::EnrolPasskey, _) => "enrol-passkey-title".into(),
        (Step::RecoveryCodes, _) => "recovery-title".into(),
        (Step::Consent { .. } | Step::Declined, _) => "consent-title".into(),
        _ => format!("code-title-{step}"),
    }
}

pub(super) async fn render(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    flow: &SignInFlow,
    shown: Shown<'_>,
    status: StatusCode,
) -> Response {
    let branding = pages::branding(state, tenant).await;
    let (jar, csrf_token) = pages::csrf(state, jar);
    let engine = &flow.flow;
    let email = engine.email.clone().or(shown.email).unwrap_or_default();
    let (kind, method, target) = match &engine.step {
        Step::SecondFactor { method, kind } => {
            let label = engine
                .methods
                .iter()
                .find(|m| m.id == *method)
                .and_then(|m| m.label());
            (kind.as_str(), Some(method.to_string()), label)
        }
        Step::VerifyEnrolment { kind, target } => (
            kind.as_str(),
            None,
            Some(match kind {
                MfaMethod::Sms => mask_phone(target),
                _ => mask_email(target),
            }),
        ),
        _ => ("", None, engine.email.as_deref().map(mask_email)),
    };
    let methods: Vec<minijinja::Value> = engine
        .methods
        .iter()
        .map(|m| {
            minijinja::context! { id => m.id.to_string(), kind => m.kind.as_str(), label => m.label() }
        })
        .collect();
    let choices: Vec<&str> = engine
        .enrolment_choices(&flow.rules(false))
        .into_iter()
        .map(MfaMethod::as_str)
        .collect();
    let attribute_errors = match shown.problem {
        Some(Problem::Attributes(errors)) => errors.clone(),
        _ => Vec::new(),
    };
    let refused = match shown.problem {
        Some(Problem::AttributesRefused { errors, .. }) => errors.clone(),
        _ => Default::default(),
    };
    // What the person typed; else what the flow holds (an extension may have refused it);
    // else what an extension gave to prefill.
    let mut values = shown.attributes.clone();
    let held = engine.attributes.iter().map(|(name, value)| {
        let text = match value {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        (name.clone(), text)
    });
    for (name, value) in held.chain(engine.prefill.clone()) {
        if !values.iter().any(|(known, _)| *known == name) {
            values.push((name, value));
        }
    }
    let attributes: Vec<minijinja::Value> = flow
        .config
        .attributes
        .iter()
        .map(|spec| attribute_context(spec, &values, &attribute_errors, &refused))
        .collect();
    let totp = match (&engine.step, &engine.pending_totp, &engine.user) {
        (Step::EnrolTotp, Some(sealed), Some(user)) => {
            match state
                .portico
                .totp_enrolment(tenant, user.id, &email, sealed)
            {
                Ok(enrolment) => Some(minijinja::context! {
                    secret => enrolment.secret,
                    qr => crate::pages::qr::svg(&enrolment.uri),
                }),
                Err(err) => {
                    tracing::error!(error = %err, "authenticator enrolment unavailable");
                    None
                }
            }
        }
        _ => None,
    };
    let switch = |to: &str| {
        format!(
            "{}/{}/signin/switch?flow={}&to={to}&ui_locales={}",
            state.portico.settings.public_url,
            tenant.id,
            flow.id,
            i18n::current()
        )
    };
    let error = shown.error.or_else(|| shown.problem.map(message_of));
    // An extension's message replaces the generic one (escaped like any text on the page).
    let error_text = match shown.problem {
        Some(Problem::AttributesRefused { message, .. }) => message.clone(),
        _ => None,
    };
    let error_detail = match shown.problem {
        Some(Problem::WrongCode {
            attempts_left: Some(left),
        }) => Some(i18n::text_with_count("code-attempts-left", *left)),
        _ => None,
    };
    let consent = match state.portico.consent_view(tenant, flow).await {
        Ok(view) => view.map(|view| {
            let scopes: Vec<minijinja::Value> = view
                .scopes
                .into_iter()
                .map(|(name, text)| minijinja::context! { name, text })
                .collect();
            let intro = i18n::text_with_args(
                "consent-intro",
                &[("app", &view.app_name), ("api", &view.api_name)],
            );
            minijinja::context! { intro, scopes }
        }),
        Err(err) => return HtmlError::from(err).into_response(),
    };
    // The app or its API went away mid-flow: nothing can be consented to any more.
    if matches!(engine.step, Step::Consent { .. }) && consent.is_none() {
        return super::expired();
    }
    // A failed lookup only costs the notice, never the page.
    let delayed = state
        .portico
        .delivery_delayed(tenant, flow)
        .await
        .unwrap_or_else(|err| {
            tracing::warn!(error = %err, "delivery status unavailable");
            false
        });
    let passkey = match passkey_ceremony(state, tenant, flow).await {
        Ok(passkey) => passkey,
        Err(err) => return HtmlError::from(err).into_response(),
    };
    let register = match passkey_enrolment(state, tenant, flow).await {
        Ok(register) => register,
        Err(err) => return HtmlError::from(err).into_response(),
    };
    let nonce = pages::nonce();
    let response = pages::render(
        status,
        "flow.html",
        minijinja::context! {
            title => title_of(flow),
            step => engine.step.name(),
            journey => match engine.journey {
                Journey::SignIn => "sign_in",
                Journey::SignUp => "sign_up",
                Journey::ResetPassword => "reset_password",
            },
            action => format!(
                "{}/{}/signin?ui_locales={}",
                state.portico.settings.public_url,
                tenant.id,
                i18n::current()
            ),
            flow => flow.id.to_string(),
            csrf_token,
            email,
            kind,
            method,
            target,
            // A second factor whose code has not gone out yet (a step-up waits for the
            // person to ask, so no page load sends a text).
            unsent => matches!(engine.step, Step::SecondFactor { .. } | Step::VerifyEnrolment { .. })
                && engine.challenge.is_none(),
            methods,
            choices,
            attributes,
            totp,
            recovery_codes => shown.recovery_codes.to_vec(),
            consent,
            error,
            error_text,
            error_detail,
            notice => delayed.then_some("delivery-delayed"),
            offers_password => flow.config.methods.contains(&SignInMethod::Password),
            offers_code => flow.config.methods.contains(&SignInMethod::EmailOtp),
            passkey,
            register,
            sign_up => flow.config.sign_up,
            links => minijinja::context! {
                sign_up => switch("sign_up"),
                reset => switch("reset_password"),
                sign_in => switch("sign_in"),
            },
            nonce => nonce.clone(),
            ..pages::brand_context(state, tenant, &branding)
        },
        &nonce,
        // The last step's POST answers with a redirect to the app, validated when the flow began.
        flow.origin
            .authorize
            .as_ref()
            .and_then(|params| params.redirect_uri.as_deref())
            .and_then(pages::form_target)
            .as_deref(),
    );
    (jar, response).into_response()
}

/// The passkey ceremony a sign-in page offers (the autofill list and the button), started
/// for this flow; none where the flow takes no passkey. Discoverable, so the page names no
/// account's keys.
async fn passkey_ceremony(
    state: &AppState,
    tenant: &Tenant,
    flow: &SignInFlow,
) -> Result<Option<minijinja::Value>, portico_core::CoreError> {
    let first_factor = flow.flow.journey == Journey::SignIn
        && flow.config.methods.contains(&SignInMethod::Passkey)
        && matches!(
            flow.flow.step,
            Step::Identify | Step::Password | Step::Passkey
        );
    // As the second factor: the account's own passkey.
    let second_factor = match (&flow.flow.step, &flow.flow.user) {
        (
            Step::SecondFactor {
                kind: MfaMethod::Passkey,
                ..
            },
            Some(user),
        ) => Some(PasskeyUser::Known(user.id)),
        _ => None,
    };
    let who = match (first_factor, second_factor) {
        (_, Some(known)) => known,
        (true, None) => PasskeyUser::Anyone,
        (false, None) => return Ok(None),
    };
    let options = state
        .portico
        .begin_passkey_sign_in(tenant, who, &flow.passkey_binding())
        .await?;
    Ok(Some(minijinja::context! {
        challenge_id => options.challenge_id,
        // Raw text in a JSON script element: only `<` could end it early.
        options => options.public_key.to_string().replace('<', "\\u003c"),
    }))
}

/// The registration ceremony of a passkey registered just in time (the second factor a
/// flow requires), bound to the flow.
async fn passkey_enrolment(
    state: &AppState,
    tenant: &Tenant,
    flow: &SignInFlow,
) -> Result<Option<minijinja::Value>, portico_core::CoreError> {
    let (Step::EnrolPasskey, Some(facts)) = (&flow.flow.step, &flow.flow.user) else {
        return Ok(None);
    };
    let Some(user) = state.portico.store.find_user(tenant.id, facts.id).await? else {
        return Ok(None);
    };
    let options = state
        .portico
        .begin_passkey_registration(tenant, &user, &flow.passkey_binding())
        .await?;
    Ok(Some(minijinja::context! {
        challenge_id => options.challenge_id,
        options => options.public_key.to_string().replace('<', "\\u003c"),
    }))
}

pub(super) fn attribute_context(
    spec: &AttributeSpec,
    submitted: &[(String, String)],
    errors: &[portico_core::directory::AttributeError],
    refused: &std::collections::BTreeMap<String, String>,
) -> minijinja::Value {
    let value = submitted
        .iter()
        .find(|(name, _)| *name == spec.name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let chosen: Vec<String> = value.split(',').map(str::to_owned).collect();
    let error = errors
        .iter()
        .find(|e| e.name == spec.name)
        .map(|e| match e.reason {
            AttributeReason::Required => "required",
            AttributeReason::WrongType => "wrong_type",
            AttributeReason::Pattern => "pattern",
            AttributeReason::NotAnOption => "not_an_option",
            AttributeReason::TooLong => "too_long",
        });
    // Browsers fill what they know of the person (WCAG 1.3.5).
    let autocomplete = match spec.name.as_str() {
        "displayName" => Some("name"),
        "givenName" => Some("given-name"),
        "surname" => Some("family-name"),
        "city" => Some("address-level2"),
        "country" => Some("country-name"),
        "postalCode" => Some("postal-code"),
        "state" => Some("address-level1"),
        "streetAddress" => Some("street-address"),
        "jobTitle" => Some("organization-title"),
        _ => None,
    };
    let input = match spec.input {
        InputKind::TextBox => "TextBox",
        InputKind::RadioSingleSelect => "RadioSingleSelect",
        InputKind::CheckboxMultiSelect => "CheckboxMultiSelect",
        InputKind::CheckboxSingleSelect => "CheckboxSingleSelect",
        InputKind::NumericTextBox => "NumericTextBox",
    };
    minijinja::context! {
        name => spec.name.clone(),
        label => spec.label.clone().unwrap_or_else(|| spec.name.clone()),
        input,
        required => spec.required,
        options => spec.options.clone(),
        value,
        chosen,
        error,
        // A custom authentication extension's own words about this field.
        message => refused.get(&spec.name).cloned(),
        autocomplete,
    }
}
