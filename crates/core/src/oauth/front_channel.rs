//! Response types beyond `code` (OpenID Connect Core §3.2 implicit, §3.3 hybrid): `id_token`,
//! `id_token token` and `code id_token`, for apps an operator enabled them for. ID tokens from
//! the authorization endpoint always carry the request's `nonce` (required) and bind what
//! travels beside them: `at_hash` the access token, `c_hash` the code.

use super::{OAuthError, OAuthErrorCode};
use crate::directory::{Application, ImplicitGrant};

/// What the authorization endpoint returns, from `response_type` (order does not matter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseType {
    /// An authorization code.
    pub code: bool,
    /// An ID token.
    pub id_token: bool,
    /// An access token.
    pub token: bool,
}

impl ResponseType {
    /// The code flow.
    pub const CODE: Self = Self {
        code: true,
        id_token: false,
        token: false,
    };

    /// Reads `response_type`: `code`, `id_token`, `id_token token` or `code id_token`, in any
    /// order. `token` alone and `code token` put an access token in the front channel with
    /// nothing binding it (RFC 9700 §2.1.2), and `code id_token token` is not offered.
    pub fn parse(text: &str) -> Result<Self, OAuthError> {
        let mut kind = Self {
            code: false,
            id_token: false,
            token: false,
        };
        for part in text.split(' ').filter(|p| !p.is_empty()) {
            let seen = match part {
                "code" => &mut kind.code,
                "id_token" => &mut kind.id_token,
                "token" => &mut kind.token,
                _ => return Err(unsupported()),
            };
            if *seen {
                return Err(unsupported());
            }
            *seen = true;
        }
        match (kind.code, kind.id_token, kind.token) {
            (true, false, false)
            | (false, true, false)
            | (false, true, true)
            | (true, true, false) => Ok(kind),
            _ => Err(unsupported()),
        }
    }

    /// Whether anything but a code comes back (tokens in the front channel).
    pub fn has_tokens(self) -> bool {
        self.id_token || self.token
    }

    /// Whether `app` may receive this response type.
    pub fn allowed_for(self, app: &Application) -> Result<(), OAuthError> {
        let allowed = match app.implicit {
            ImplicitGrant::Off => !self.has_tokens(),
            ImplicitGrant::IdToken => !self.token,
            ImplicitGrant::IdTokenAndToken => true,
        };
        if allowed {
            Ok(())
        } else {
            Err(OAuthError::new(
                OAuthErrorCode::UnauthorizedClient,
                "this application may not receive tokens from the authorization endpoint: enable them with --implicit",
            ))
        }
    }
}

fn unsupported() -> OAuthError {
    OAuthError::new(
        OAuthErrorCode::UnsupportedResponseType,
        "response_type must be code, id_token, id_token token or code id_token",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offered_response_types_parse_in_any_order_and_others_do_not() {
        assert_eq!(ResponseType::parse("code").unwrap(), ResponseType::CODE);
        assert!(ResponseType::parse("token id_token").unwrap().token);
        assert!(ResponseType::parse("id_token code").unwrap().code);
        for bad in [
            "token",
            "code token",
            "code id_token token",
            "id_token id_token",
            "",
            "none",
            "code  x",
        ] {
            assert!(ResponseType::parse(bad).is_err(), "{bad:?}");
        }
    }
}
