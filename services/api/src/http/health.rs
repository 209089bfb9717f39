//! Probes and operational endpoints: liveness, readiness, metrics.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// Shorter than a typical probe timeout, so the probe gets our 503 rather than timing out.
const READY_CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// The process is up and serving HTTP. Deliberately checks nothing else: a database outage must
/// not make Kubernetes restart every replica.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Requests can be served: not shutting down, and the database answers.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    if state.lifecycle.is_draining() {
        return Err(ApiError::NotReady("shutting down".into()));
    }
    match state.db.check_ready(READY_CHECK_TIMEOUT).await {
        Ok(()) => Ok(Json(json!({ "status": "ok", "database": state.db.backend() }))),
        Err(e) => {
            // The cause may name hosts or files: logged for operators, not sent.
            tracing::warn!(error = %e, "not ready");
            Err(ApiError::NotReady("the database is not reachable".into()))
        }
    }
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(state.db.pool_stats(), state.db.backend()),
    )
}
