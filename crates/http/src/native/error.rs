//! The native API's error body (spec §1.4): the string code, an optional `suberror`, the numeric
//! AADSTS code in `error_codes` and at the head of `error_description` (whose last lines carry
//! the trace id, correlation id and time, as Entra's do), and, where the client must act, a
//! fresh `continuation_token` and attribute lists.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::Wire;

/// A native-API error, before the request's ids are known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NativeError {
    pub status: StatusCode,
    pub error: &'static str,
    pub suberror: Option<&'static str>,
    /// The AADSTS number SDKs branch on (`error_codes[0]`).
    pub code: u32,
    pub description: String,
    pub continuation_token: Option<String>,
    /// Further members (`required_attributes`, `invalid_attributes`, ...); boxed, as most
    /// errors have none.
    pub extra: Box<Map<String, Value>>,
}

impl NativeError {
    pub(crate) fn new(error: &'static str, code: u32, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            suberror: None,
            code,
            description: description.into(),
            continuation_token: None,
            extra: Box::default(),
        }
    }

    pub(crate) fn with_suberror(mut self, suberror: &'static str) -> Self {
        self.suberror = Some(suberror);
        self
    }

    pub(crate) fn with_continuation(mut self, token: String) -> Self {
        self.continuation_token = Some(token);
        self
    }

    pub(crate) fn invalid_request(code: u32, description: impl Into<String>) -> Self {
        Self::new("invalid_request", code, description)
    }

    /// A required parameter is missing (Entra's AADSTS900144 wording).
    pub(crate) fn missing(name: &str) -> Self {
        Self::invalid_request(
            900144,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    }

    pub(crate) fn invalid_grant(code: u32, description: impl Into<String>) -> Self {
        Self::new("invalid_grant", code, description)
    }

    /// Something failed inside: HTTP 500, no detail.
    pub(crate) fn server_error() -> Self {
        let mut err = Self::new("server_error", 0, "An internal error occurred.");
        err.status = StatusCode::INTERNAL_SERVER_ERROR;
        err
    }

    /// The server is busy: HTTP 503.
    pub(crate) fn busy() -> Self {
        let mut err = Self::new(
            "temporarily_unavailable",
            0,
            "The server is busy. Retry shortly.",
        );
        err.status = StatusCode::SERVICE_UNAVAILABLE;
        err
    }

    /// A `grant_type` this endpoint does not take.
    pub(crate) fn unsupported_grant(grant_type: &str) -> Self {
        Self::new(
            "unsupported_grant_type",
            70003,
            format!("The grant_type '{grant_type}' is not supported by this endpoint."),
        )
    }

    /// Too many calls from this address: HTTP 429. UNCONFIRMED: no public source shows
    /// Entra's throttling body for these endpoints; this follows its AADSTS90055 wording.
    pub(crate) fn throttled() -> Self {
        let mut err = Self::new(
            "invalid_request",
            90055,
            "Too many requests from this client. Retry later.",
        );
        err.status = StatusCode::TOO_MANY_REQUESTS;
        err
    }

    /// The JSON body, stamped with this request's ids and time.
    pub(crate) fn body(&self, wire: &Wire) -> Value {
        let timestamp = wire.timestamp();
        let description = format!(
            "AADSTS{}: {}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {}",
            self.code, self.description, wire.trace_id, wire.correlation_id, timestamp
        );
        let mut body = json!({
            "error": self.error,
            "error_description": description,
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": wire.trace_id,
            "correlation_id": wire.correlation_id,
        });
        if let Some(map) = body.as_object_mut() {
            if let Some(suberror) = self.suberror {
                map.insert("suberror".into(), suberror.into());
            }
            if let Some(token) = &self.continuation_token {
                map.insert("continuation_token".into(), token.clone().into());
            }
            map.extend(*self.extra.clone());
        }
        body
    }
}

impl From<portico_core::CoreError> for NativeError {
    fn from(err: portico_core::CoreError) -> Self {
        match err {
            portico_core::CoreError::Busy => Self::busy(),
            portico_core::CoreError::RateLimited => Self::throttled(),
            portico_core::CoreError::Invalid(message) => Self::invalid_request(90100, message),
            // UNCONFIRMED: Entra's native API documents no answer for a failed extension; the
            // error number is the one Entra records for the failure.
            portico_core::CoreError::Extension { code, name } => Self::new(
                "invalid_request",
                code,
                format!("A custom authentication extension failed ({name}). Try again later."),
            ),
            // UNCONFIRMED: Entra documents no error for an account signed out everywhere (or
            // disabled) while its flow ran; `expired_token` is the documented answer that has
            // the SDKs start the flow again, which is what the person must do.
            portico_core::CoreError::SessionEnded => Self::new(
                "expired_token",
                552003,
                "The sign-in ended: the account was signed out everywhere. Start the flow again.",
            ),
            other => {
                tracing::error!(error = %other, "internal error in the native API");
                Self::server_error()
            }
        }
    }
}

impl From<portico_core::StoreError> for NativeError {
    fn from(err: portico_core::StoreError) -> Self {
        portico_core::CoreError::from(err).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_has_every_member_sdks_read() {
        let wire = Wire {
            trace_id: "11111111-1111-1111-1111-111111111111".into(),
            correlation_id: "22222222-2222-2222-2222-222222222222".into(),
            now: 1_767_225_600, // 2026-01-01 00:00:00Z
        };
        let body = NativeError::invalid_grant(50126, "Bad credentials.")
            .with_suberror("password_too_weak")
            .with_continuation("ct".into())
            .body(&wire);
        assert_eq!(body["error"], "invalid_grant");
        assert_eq!(body["error_codes"], json!([50126]));
        assert_eq!(body["timestamp"], "2026-01-01 00:00:00Z");
        assert_eq!(body["suberror"], "password_too_weak");
        assert_eq!(body["continuation_token"], "ct");
        assert_eq!(
            body["error_description"],
            "AADSTS50126: Bad credentials.\r\nTrace ID: 11111111-1111-1111-1111-111111111111\r\n\
             Correlation ID: 22222222-2222-2222-2222-222222222222\r\nTimestamp: 2026-01-01 00:00:00Z"
        );
    }
}
