use std::fmt;

/// The OAuth/OIDC error codes Portico returns (RFC 6749 §4.1.2.1 and §5.2, OIDC Core §3.1.2.6,
/// RFC 6750 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthErrorCode {
    /// Malformed or missing parameter.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// Code, refresh token or credentials invalid, expired, revoked or mismatched.
    InvalidGrant,
    /// The client may not use this grant or response type.
    UnauthorizedClient,
    /// Unknown grant type.
    UnsupportedGrantType,
    /// Unknown or disallowed scope.
    InvalidScope,
    /// The user or server denied the request.
    AccessDenied,
    /// Unknown response type.
    UnsupportedResponseType,
    /// `prompt=none` but the user must sign in.
    LoginRequired,
    /// `prompt=none` but the user must interact.
    InteractionRequired,
    /// `prompt=none` but the user must consent (OpenID Connect Core §3.1.2.6).
    ConsentRequired,
    /// Device flow: the person has not finished yet (RFC 8628 §3.5).
    AuthorizationPending,
    /// Device flow: polled too often; wait five seconds longer from now on.
    SlowDown,
    /// Device flow: the device code expired.
    ExpiredToken,
    /// Token exchange: the target is unknown or not allowed (RFC 8693 §2.2.2).
    InvalidTarget,
    /// Bearer token invalid (RFC 6750).
    InvalidToken,
    /// A DPoP proof is missing or invalid (RFC 9449 §5.2, §7.1).
    InvalidDpopProof,
    /// The DPoP proof must carry a server nonce (RFC 9449 §8): retry with the `DPoP-Nonce`.
    UseDpopNonce,
    /// The server failed.
    ServerError,
    /// The server is overloaded.
    TemporarilyUnavailable,
}

impl OAuthErrorCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::LoginRequired => "login_required",
            Self::InteractionRequired => "interaction_required",
            Self::ConsentRequired => "consent_required",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
            Self::InvalidTarget => "invalid_target",
            Self::InvalidToken => "invalid_token",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// An OAuth error with a human-readable description safe to return to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The error code.
    pub code: OAuthErrorCode,
    /// `error_description`.
    pub description: String,
}

impl OAuthError {
    /// Builds an error.
    pub fn new(code: OAuthErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    /// `invalid_request` with a description.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest, description)
    }

    /// `invalid_grant` with a description.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidGrant, description)
    }

    /// `invalid_client` with the one description we give (no hint which part was wrong).
    pub fn invalid_client() -> Self {
        Self::new(
            OAuthErrorCode::InvalidClient,
            "client authentication failed",
        )
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}

impl From<crate::CoreError> for OAuthError {
    fn from(err: crate::CoreError) -> Self {
        match err {
            crate::CoreError::Busy => Self::new(
                OAuthErrorCode::TemporarilyUnavailable,
                "the server is busy; retry shortly",
            ),
            crate::CoreError::Invalid(msg) => Self::invalid_request(msg),
            // Entra answers an OIDC app with a generic error and no token; the number tells
            // its operator which failure it was (the call log has the particulars).
            crate::CoreError::Extension { code, name } => Self::new(
                OAuthErrorCode::TemporarilyUnavailable,
                format!(
                    "a custom authentication extension failed ({code} {name}); no token was issued"
                ),
            ),
            crate::CoreError::SessionEnded => Self::invalid_grant("the sign-in has ended"),
            // No OAuth error code means "slow down" at these endpoints; the closest is
            // temporarily_unavailable (RFC 6749 §4.1.2.1).
            crate::CoreError::RateLimited => Self::new(
                OAuthErrorCode::TemporarilyUnavailable,
                "too many requests from this client; retry later",
            ),
            other => {
                tracing::error!(error = %other, "internal error in OAuth handling");
                Self::new(OAuthErrorCode::ServerError, "internal server error")
            }
        }
    }
}
