use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};

use crate::AppState;
use crate::error::Problem;

/// Proof that the request carried a valid admin token, and which.
#[derive(Debug)]
pub(crate) struct AdminAuth {
    /// The token's id.
    pub(crate) token_id: String,
    /// When it expires (`None`: never).
    pub(crate) expires_at: Option<i64>,
}

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "an admin bearer token is required",
                )
            })?;
        match state.portico.admin_token(token).await? {
            Some(record) => Ok(Self {
                token_id: record.id,
                expires_at: record.expires_at,
            }),
            None => Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "the admin token is not valid",
            )),
        }
    }
}
