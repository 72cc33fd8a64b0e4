//! Operational endpoints.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the store answers.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.portico.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response()
        }
    }
}

/// Prometheus metrics.
pub async fn metrics(State(state): State<AppState>) -> Response {
    render_metrics(state.metrics.as_ref())
}

/// `GET /metrics` on a metrics-only listener.
pub(crate) async fn metrics_only(State(state): State<crate::MetricsOnly>) -> Response {
    render_metrics(state.0.as_ref())
}

fn render_metrics(render: Option<&crate::MetricsRenderer>) -> Response {
    match render {
        Some(render) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            render(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "metrics are disabled or served elsewhere",
        )
            .into_response(),
    }
}

/// Anything unrouted.
pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(
            serde_json::json!({"error": "not_found", "error_description": "no such endpoint"}),
        ),
    )
        .into_response()
}
