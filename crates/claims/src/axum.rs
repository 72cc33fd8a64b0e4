//! The axum integration: mount a [`Receiver`] as a POST route.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::receiver::{Receiver, Reply};

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self.body)).into_response()
    }
}

/// The axum handler: `post(portico_claims::axum::handle).with_state(receiver)`.
pub async fn handle(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> Reply {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    receiver.handle(authorization, &body).await
}

impl Receiver {
    /// A router answering POST `path` with this receiver.
    pub fn router(self, path: &str) -> axum::Router {
        axum::Router::new()
            .route(path, post(handle))
            .with_state(self)
    }
}
