//! What each path answers: the probes, the versioned assets, `/api` (proxied or refused), and
//! the page for every other path, so the app's own routes survive a reload.

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::assets::{Asset, AssetSource};
use crate::error::JsonError;
use crate::proxy::Proxy;

/// Fingerprinted URLs never change content: cache for a year, never revalidate.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The page names the current asset version: always revalidate (cheap, thanks to the ETag).
const REVALIDATE: &str = "no-cache";

#[derive(Clone)]
pub struct AppState {
    pub assets: AssetSource,
    pub proxy: Option<Proxy>,
}

/// The probes, outside the request log (a kubelet probing every few seconds is noise).
pub fn probes(state: AppState) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).with_state(state)
}

/// Everything a browser asks for.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/assets/{version}/{*path}", get(asset))
        .route("/api", axum::routing::any(api))
        .route("/api/{*rest}", axum::routing::any(api))
        .fallback(page)
        .with_state(state)
}

async fn healthz() -> impl IntoResponse {
    no_store(axum::Json(json!({ "status": "ok" })))
}

/// Ready once the UI's files load: in release builds they are in the binary, so this fails only
/// for a broken build; in debug builds it catches a missing assets folder.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.assets.current() {
        Ok(_) => no_store(axum::Json(json!({ "status": "ready" }))).into_response(),
        Err(reason) => {
            tracing::error!(%reason, "not ready: the UI's assets cannot be loaded");
            let body = json!({ "status": "not_ready", "reason": reason });
            no_store((StatusCode::SERVICE_UNAVAILABLE, axum::Json(body))).into_response()
        }
    }
}

async fn asset(
    State(state): State<AppState>,
    Path((version, path)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let assets = match state.assets.current() {
        Ok(assets) => assets,
        Err(reason) => return unavailable(&reason),
    };
    match assets.get(&version, &path) {
        Some(asset) => serve(asset, IMMUTABLE, &headers),
        // An old version (a page loaded before a deploy) or a wrong path: not cacheable.
        None => not_found(),
    }
}

async fn api(State(state): State<AppState>, req: Request) -> Response {
    match &state.proxy {
        Some(proxy) => proxy.forward(req).await,
        None => JsonError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "This server does not serve the API: route /api to todo-api, or set API_UPSTREAM.",
        )
        .into_response(),
    }
}

/// The app's page for any route it might own (`/`, `/tasks`, `/login`...); a missing file (a
/// path whose last segment has an extension) is a plain 404, so a broken link to an image does
/// not answer with HTML.
async fn page(State(state): State<AppState>, method: Method, req: Request) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut response = StatusCode::METHOD_NOT_ALLOWED.into_response();
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let path = req.uri().path();
    let last = path.rsplit('/').next().unwrap_or_default();
    if path.starts_with("/assets/") || last.contains('.') {
        return not_found();
    }
    match state.assets.current() {
        Ok(assets) => serve(assets.page(), REVALIDATE, req.headers()),
        Err(reason) => unavailable(&reason),
    }
}

fn serve(asset: &Asset, cache_control: &'static str, request: &HeaderMap) -> Response {
    let fresh = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*"
                || tag.trim_start_matches("W/")
                    == asset.etag.to_str().unwrap_or_default().trim_start_matches("W/")
        });
    let cache_headers = [
        (header::CACHE_CONTROL, HeaderValue::from_static(cache_control)),
        (header::ETAG, asset.etag.clone()),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, cache_headers).into_response();
    }
    let content_type = (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    (cache_headers, [content_type], asset.body.clone()).into_response()
}

fn not_found() -> Response {
    no_store((StatusCode::NOT_FOUND, "Not found\n")).into_response()
}

fn unavailable(reason: &str) -> Response {
    tracing::error!(%reason, "the UI's assets cannot be loaded");
    no_store((StatusCode::SERVICE_UNAVAILABLE, "The UI is unavailable: its files cannot be loaded.\n"))
        .into_response()
}

fn no_store(response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
