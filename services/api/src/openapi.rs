//! The OpenAPI 3.1 description of the API, written by hand in `openapi.json` next to
//! Cargo.toml. A test holds it to the route table and to real responses, so it cannot drift.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

pub const DOCUMENT: &str = include_str!("../openapi.json");

pub async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT)
}
