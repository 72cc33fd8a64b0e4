//! Wire errors. Each front door renders domain errors its own way: OAuth JSON for protocol
//! endpoints, RFC 9457 problem JSON for the admin API, a friendly HTML page for browsers.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portico_core::CoreError;
use portico_core::oauth::{OAuthError, OAuthErrorCode};

use crate::pages;

/// An OAuth error response (RFC 6749 §5.2, RFC 6750 §3).
#[derive(Debug)]
pub struct OAuthJson(pub OAuthError);

impl OAuthJson {
    /// `invalid_request` with a description.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self(OAuthError::invalid_request(description))
    }
}

impl From<OAuthError> for OAuthJson {
    fn from(err: OAuthError) -> Self {
        Self(err)
    }
}

impl From<CoreError> for OAuthJson {
    fn from(err: CoreError) -> Self {
        Self(err.into())
    }
}

fn oauth_status(code: OAuthErrorCode) -> StatusCode {
    match code {
        OAuthErrorCode::InvalidClient | OAuthErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        OAuthErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        OAuthErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl IntoResponse for OAuthJson {
    fn into_response(self) -> Response {
        let status = oauth_status(self.0.code);
        let body = serde_json::json!({
            "error": self.0.code.as_str(),
            "error_description": self.0.description,
        });
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        let challenge = match self.0.code {
            OAuthErrorCode::InvalidClient => Some("Basic realm=\"portico\"".to_owned()),
            OAuthErrorCode::InvalidToken => Some(format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                self.0.description.replace('"', "'")
            )),
            _ => None,
        };
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// An RFC 9457 problem document (admin API).
#[derive(Debug)]
pub struct Problem {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong, for people.
    pub detail: String,
}

impl Problem {
    /// A problem with a status and detail.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
        }
    }
}

impl From<CoreError> for Problem {
    fn from(err: CoreError) -> Self {
        match err {
            // The request was well-formed (its schema holds) but breaks a rule the schema
            // cannot say (a cross-field rule, a banned password, a logo that is no image):
            // 422, as RFC 9110 §15.5.21 has it; malformed input is a 400 at the extractor.
            CoreError::Invalid(msg) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, msg),
            CoreError::NotFound(what) => {
                Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
            }
            CoreError::Conflict(what) => {
                Self::new(StatusCode::CONFLICT, format!("{what} already exists"))
            }
            CoreError::Busy => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "server busy, retry shortly",
            ),
            CoreError::RateLimited => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too many requests, retry later",
            ),
            CoreError::Extension { code, name } => Self::new(
                StatusCode::BAD_GATEWAY,
                format!("the custom authentication extension failed: {code} {name}"),
            ),
            other => {
                tracing::error!(error = %other, "admin API internal error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// What an error page says: a localized message, or technical detail shown as is (problems
/// with the app's request, written for its developers).
#[derive(Debug)]
pub enum PageMessage {
    /// A message key.
    Key(&'static str),
    /// Text as given.
    Detail(String),
}

/// A friendly HTML error page for browsers.
#[derive(Debug)]
pub struct HtmlError {
    /// HTTP status.
    pub status: StatusCode,
    /// Message key of the one-line summary.
    pub title: &'static str,
    /// What happened and what to do.
    pub message: PageMessage,
}

impl HtmlError {
    /// A 400 page about a bad sign-in request.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            title: "error-bad-request-title",
            message: PageMessage::Detail(detail.into()),
        }
    }

    /// A page with a localized title and message.
    pub fn page(status: StatusCode, title: &'static str, message: &'static str) -> Self {
        Self {
            status,
            title,
            message: PageMessage::Key(message),
        }
    }
}

impl From<CoreError> for HtmlError {
    fn from(err: CoreError) -> Self {
        match err {
            CoreError::NotFound("tenant") => Self {
                status: StatusCode::NOT_FOUND,
                title: "error-unknown-tenant-title",
                message: PageMessage::Key("error-unknown-tenant"),
            },
            CoreError::Busy => Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                title: "error-busy-title",
                message: PageMessage::Key("error-busy"),
            },
            CoreError::RateLimited => Self {
                status: StatusCode::TOO_MANY_REQUESTS,
                title: "error-bad-request-title",
                message: PageMessage::Key("signin-error-throttled"),
            },
            CoreError::SessionEnded => Self {
                status: StatusCode::BAD_REQUEST,
                title: "error-bad-request-title",
                message: PageMessage::Key("signin-error-expired"),
            },
            CoreError::Extension { .. } => Self {
                status: StatusCode::BAD_GATEWAY,
                title: "error-extension-title",
                message: PageMessage::Key("error-extension"),
            },
            other => {
                tracing::error!(error = %other, "page internal error");
                Self {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    title: "error-internal-title",
                    message: PageMessage::Key("error-internal"),
                }
            }
        }
    }
}

impl IntoResponse for HtmlError {
    fn into_response(self) -> Response {
        let message = match self.message {
            PageMessage::Key(key) => pages::i18n::text(key),
            PageMessage::Detail(text) => text,
        };
        pages::render_error(self.status, self.title, &message)
    }
}
