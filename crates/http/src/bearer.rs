//! The bearer token of a request (`Authorization: Bearer …`, scheme case-insensitive).

use axum::http::{HeaderMap, header};

/// The request's bearer token, if it has a non-empty one.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}
