//! One span per request (carrying its id, so every log line of a request can be found by the id
//! the client got back), one access-log line, and the request metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::request_id::RequestId;
use crate::state::AppState;

pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let _in_flight = state.metrics.start();
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let request_id =
        request.extensions().get::<RequestId>().map(|id| id.as_str().to_owned()).unwrap_or_default();
    let span = tracing::info_span!("request", %request_id, %method, %route);

    let response = next.run(request).instrument(span.clone()).await;

    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.observe(method, &route, status, elapsed);
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| {
        // Probes and scrapes arrive every few seconds; logging each would drown the rest.
        if is_probe(&route) {
            tracing::debug!(status, latency_ms, "request completed");
        } else {
            tracing::info!(status, latency_ms, "request completed");
        }
    });
    response
}

fn is_probe(route: &str) -> bool {
    matches!(route, "/healthz" | "/readyz" | "/api/healthz" | "/api/readyz" | "/metrics")
}

/// Known methods by name; anything else as "other", so a client cannot mint metric series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
