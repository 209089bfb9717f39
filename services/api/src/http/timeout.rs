//! Bounds the time a request may take end to end (reading its body included), so a stuck
//! database call or a client trickling its body cannot hold a connection and a pool slot forever.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

pub async fn timeout(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(state.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout = ?state.request_timeout, "request timed out");
            ApiError::Timeout(state.request_timeout).into_response()
        }
    }
}
