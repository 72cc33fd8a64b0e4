use super::{OAuthError, OAuthErrorCode, Scope};
use crate::Portico;
use crate::directory::{Application, MfaPolicy, Tenant, UserFlowConfig};
use crate::ids::ClientId;
use crate::signin::ActiveSession;

/// The raw parameters of an authorization request, as the HTTP layer read them (query string
/// or form body, each parameter at most once).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuthorizeParams {
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `response_type`.
    pub response_type: Option<String>,
    /// `response_mode`.
    pub response_mode: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `code_challenge`.
    pub code_challenge: Option<String>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<String>,
    /// `prompt`.
    pub prompt: Option<String>,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// `max_age`.
    pub max_age: Option<String>,
    /// `request` (JAR; not supported).
    pub request: Option<String>,
    /// `request_uri` (a pushed request's reference, RFC 9126; resolved before validation).
    pub request_uri: Option<String>,
    /// `dpop_jkt` (RFC 9449 §10): the thumbprint of the DPoP key the code is bound to; set
    /// from the proof when a request is pushed with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// The parameters came from a pushed request (set by Portico, never read from a
    /// request), which apps that require PAR insist on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pushed: bool,
}

/// How the authorization response travels back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    /// Query string of the redirect URI (default for `code`).
    Query,
    /// Fragment of the redirect URI.
    Fragment,
    /// An auto-submitting HTML form POSTed to the redirect URI.
    FormPost,
}

/// The `prompt` values Portico acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// Never show UI; fail with `login_required` if there is no session.
    None,
    /// Always re-authenticate.
    Login,
    /// Show account selection (treated like a normal request: one account per session).
    SelectAccount,
    /// Ask for consent again, even to scopes the user consented to before.
    Consent,
    /// Open sign-up (OpenID Connect Prompt Create 1.0).
    Create,
}

/// A validated authorization request.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    /// The client.
    pub app: Application,
    /// The registered redirect URI, matched exactly.
    pub redirect_uri: String,
    /// What comes back: a code, tokens, or both.
    pub response_type: super::ResponseType,
    /// Response mode.
    pub response_mode: ResponseMode,
    /// Requested scope.
    pub scope: Scope,
    /// `state`, echoed back.
    pub state: Option<String>,
    /// `nonce`, put in the id token.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// `prompt`.
    pub prompt: Option<Prompt>,
    /// `login_hint`, to prefill the sign-in form.
    pub login_hint: Option<String>,
    /// `max_age` in seconds.
    pub max_age: Option<i64>,
    /// The DPoP key (thumbprint) whose proof must redeem the code (RFC 9449 §10).
    pub dpop_jkt: Option<String>,
}

/// An authorization response to deliver to the client's redirect URI.
#[derive(Debug, Clone)]
pub struct AuthorizeResponse {
    /// Where to deliver it.
    pub redirect_uri: String,
    /// How.
    pub mode: ResponseMode,
    /// Parameters (`code`, `state`, `iss`, or `error`, `error_description`, `state`, `iss`).
    pub params: Vec<(String, String)>,
}

impl AuthorizeResponse {
    /// The redirect target for query and fragment modes.
    pub fn location(&self) -> String {
        let encoded = serde_urlencoded::to_string(&self.params).unwrap_or_default();
        match self.mode {
            ResponseMode::Fragment => format!("{}#{encoded}", self.redirect_uri),
            _ => {
                let sep = if self.redirect_uri.contains('?') {
                    '&'
                } else {
                    '?'
                };
                format!("{}{sep}{encoded}", self.redirect_uri)
            }
        }
    }
}

/// Why an authorization request cannot proceed.
#[derive(Debug)]
pub enum AuthorizeFailure {
    /// The client or redirect URI cannot be trusted: show an error page, never redirect.
    NoRedirect(String),
    /// Send this error to the (verified) redirect URI.
    Redirect(AuthorizeResponse),
}

/// What to do with a validated request given the browser's session.
#[derive(Debug)]
pub enum AuthorizeDecision {
    /// The session satisfies the request: issue a code.
    Complete(Box<ActiveSession>),
    /// Show the sign-in page.
    SignIn,
    /// Show the sign-up page (`prompt=create`).
    SignUp,
    /// The session's user proved less than the app's flow requires (a second factor), or
    /// has yet to consent to scopes the request asks for: go on from the session (second
    /// factor, consent), then strengthen the session.
    StepUp(Box<ActiveSession>),
    /// Answer with an error at once (e.g. `login_required` for `prompt=none`).
    Respond(AuthorizeResponse),
}

/// Whether a session was authenticated as strongly as `config` asks: where the flow requires
/// MFA, with a second factor of a kind the flow accepts (an emailed code passed at one app
/// does not stand in for the authenticator app another app insists on). Sessions from before
/// the kinds were recorded have none, and step up once.
pub fn session_meets(config: &UserFlowConfig, session: &ActiveSession) -> bool {
    config.mfa != MfaPolicy::Required
        || session
            .record
            .second_factors
            .iter()
            .any(|kind| config.mfa_methods.contains(kind))
}

impl Portico {
    /// Validates an authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636).
    /// Client and redirect URI are checked first; only then are errors redirected.
    pub async fn validate_authorize(
        &self,
        tenant: &Tenant,
        params: &AuthorizeParams,
    ) -> Result<AuthorizeRequest, AuthorizeFailure> {
        let no_redirect = |msg: &str| AuthorizeFailure::NoRedirect(msg.to_owned());
        let client_id: ClientId = params
            .client_id
            .as_deref()
            .ok_or_else(|| no_redirect("The request has no client_id."))?
            .parse()
            .map_err(|_| no_redirect("The client_id is not a valid application id."))?;
        let app = self
            .application(tenant.id, client_id)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "application lookup failed");
                no_redirect("The server could not look up the application. Try again later.")
            })?
            .ok_or_else(|| no_redirect("No application with this client_id is registered here."))?;
        let redirect_uri = params
            .redirect_uri
            .as_deref()
            .ok_or_else(|| no_redirect("The request has no redirect_uri."))?;
        if !app.redirect_uris.iter().any(|uri| uri == redirect_uri) {
            return Err(no_redirect(
                "The redirect_uri does not match any redirect URI registered for this application.",
            ));
        }
        let redirect_uri = redirect_uri.to_owned();
        let require_par = app.require_par && !params.pushed;
        // Tokens never travel in a query string (OpenID Connect Core §3.2.2.5): a request
        // for them answers in the fragment unless it asks for form_post.
        let response_type = params
            .response_type
            .as_deref()
            .map(super::ResponseType::parse)
            .and_then(Result::ok);
        let tokens = response_type.is_some_and(super::ResponseType::has_tokens);
        let response_mode = match params.response_mode.as_deref() {
            None if tokens => ResponseMode::Fragment,
            Some("query") if tokens => ResponseMode::Fragment,
            None | Some("query") => ResponseMode::Query,
            Some("fragment") => ResponseMode::Fragment,
            Some("form_post") => ResponseMode::FormPost,
            Some(_) => ResponseMode::Query,
        };
        let fail = |error: OAuthError| {
            AuthorizeFailure::Redirect(self.authorize_error(
                tenant,
                &redirect_uri,
                response_mode,
                params.state.as_deref(),
                error,
            ))
        };
        if params
            .response_mode
            .as_deref()
            .is_some_and(|m| !matches!(m, "query" | "fragment" | "form_post"))
        {
            return Err(fail(OAuthError::invalid_request(
                "unsupported response_mode",
            )));
        }
        if require_par {
            return Err(fail(OAuthError::invalid_request(
                "this application sends its authorization requests pushed (PAR): use request_uri",
            )));
        }
        if params.request.is_some() {
            return Err(fail(OAuthError::new(
                OAuthErrorCode::InvalidRequest,
                "request objects are not supported",
            )));
        }
        if params.request_uri.is_some() {
            return Err(fail(OAuthError::invalid_request(
                "request_uri is not supported",
            )));
        }
        let response_type = match params.response_type.as_deref() {
            None => {
                return Err(fail(OAuthError::invalid_request(
                    "response_type is required",
                )));
            }
            Some(text) => super::ResponseType::parse(text).map_err(fail)?,
        };
        response_type.allowed_for(&app).map_err(fail)?;
        if tokens && params.response_mode.as_deref() == Some("query") {
            return Err(fail(OAuthError::invalid_request(
                "tokens are never sent in the query: use response_mode=fragment or form_post",
            )));
        }
        if response_type.id_token && params.nonce.is_none() {
            return Err(fail(OAuthError::invalid_request(
                "nonce is required when an id_token comes from the authorization endpoint",
            )));
        }
        let scope = Scope::parse(params.scope.as_deref().unwrap_or_default()).map_err(fail)?;
        if scope.is_empty() {
            return Err(fail(OAuthError::new(
                OAuthErrorCode::InvalidScope,
                "scope is required",
            )));
        }
        self.check_requested_scope(tenant, &app, &scope)
            .await
            .map_err(fail)?;
        let code_challenge = match (
            params.code_challenge.as_deref(),
            params.code_challenge_method.as_deref(),
        ) {
            // Without a code there is nothing for PKCE to bind.
            (None, None) if !response_type.code => None,
            (None, _) if !app.kind.is_confidential() => {
                return Err(fail(OAuthError::invalid_request(
                    "PKCE is required for public clients: send code_challenge with code_challenge_method=S256",
                )));
            }
            (None, None) => None,
            (None, Some(_)) => {
                return Err(fail(OAuthError::invalid_request(
                    "code_challenge_method without code_challenge",
                )));
            }
            (Some(challenge), Some("S256")) => {
                if !super::pkce::challenge_is_well_formed(challenge) {
                    return Err(fail(OAuthError::invalid_request(
                        "code_challenge must be the base64url SHA-256 of the code verifier",
                    )));
                }
                Some(challenge.to_owned())
            }
            (Some(_), _) => {
                return Err(fail(OAuthError::invalid_request(
                    "code_challenge_method must be S256",
                )));
            }
        };
        let prompt = match params.prompt.as_deref() {
            None | Some("") => None,
            Some("none") => Some(Prompt::None),
            Some("login") => Some(Prompt::Login),
            Some("select_account") => Some(Prompt::SelectAccount),
            Some("consent") => Some(Prompt::Consent),
            Some("create") => Some(Prompt::Create),
            Some(_) => {
                return Err(fail(OAuthError::invalid_request(
                    "prompt must be one of none, login, select_account, consent, create",
                )));
            }
        };
        let max_age =
            match params.max_age.as_deref() {
                None => None,
                Some(text) => Some(text.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(
                    || {
                        fail(OAuthError::invalid_request(
                            "max_age must be a non-negative integer",
                        ))
                    },
                )?),
            };
        let bounded = |value: &Option<String>, name: &str| match value {
            Some(v) if v.len() > 2048 => Err(fail(OAuthError::invalid_request(format!(
                "{name} is too long"
            )))),
            other => Ok(other.clone()),
        };
        let state = bounded(&params.state, "state")?;
        let nonce = bounded(&params.nonce, "nonce")?;
        let login_hint = bounded(&params.login_hint, "login_hint")?;
        // A SHA-256 thumbprint: 43 base64url characters.
        let dpop_jkt = match params.dpop_jkt.as_deref() {
            None => None,
            Some(jkt)
                if jkt.len() == 43
                    && jkt
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')) =>
            {
                Some(jkt.to_owned())
            }
            Some(_) => {
                return Err(fail(OAuthError::invalid_request(
                    "dpop_jkt must be the base64url SHA-256 thumbprint of a JWK",
                )));
            }
        };
        Ok(AuthorizeRequest {
            app,
            redirect_uri,
            response_type,
            response_mode,
            scope,
            state,
            nonce,
            code_challenge,
            prompt,
            login_hint,
            max_age,
            dpop_jkt,
        })
    }
}
