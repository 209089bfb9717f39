//! The HTTP surface: the route table, and the middleware every request passes through.

pub mod client_ip;
pub mod extract;
mod headers;
mod health;
mod observe;
pub mod request_id;
mod timeout;

use std::any::Any;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::ApiError;
use crate::state::AppState;
use crate::{agent, auth, conversations, mcp, openapi, rate_limit, tasks};

/// Who may call an endpoint, and which budget it spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone; probes and documents.
    Public,
    /// Anyone, within the per-IP signup/login budget.
    Auth,
    /// A signed-in user.
    Read,
    /// A signed-in user, within the write budgets.
    Write,
}

pub struct Endpoint {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    handler: MethodRouter<AppState>,
}

fn endpoint<H, T>(method: Method, path: &'static str, access: Access, handler: H) -> Endpoint
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
    Endpoint { method, path, access, handler: on(filter, handler) }
}

/// Every route the service answers: the router is built from this list, and a test checks it
/// against the OpenAPI document in both directions.
pub fn endpoints() -> Vec<Endpoint> {
    use Access::*;
    use Method as M;
    vec![
        endpoint(M::GET, "/healthz", Public, health::healthz),
        endpoint(M::GET, "/readyz", Public, health::readyz),
        // The ingress sends only /api/* here; these let the probes be checked through it.
        endpoint(M::GET, "/api/healthz", Public, health::healthz),
        endpoint(M::GET, "/api/readyz", Public, health::readyz),
        endpoint(M::GET, "/metrics", Public, health::metrics),
        endpoint(M::GET, "/api/openapi.json", Public, openapi::document),
        endpoint(M::POST, "/api/auth/signup", Auth, auth::signup),
        endpoint(M::POST, "/api/auth/login", Auth, auth::login),
        endpoint(M::GET, "/api/auth/me", Read, auth::me),
        endpoint(M::GET, "/api/tasks", Read, tasks::list_tasks),
        endpoint(M::POST, "/api/tasks", Write, tasks::create_task),
        endpoint(M::GET, "/api/tasks/{id}", Read, tasks::get_task),
        endpoint(M::PATCH, "/api/tasks/{id}", Write, tasks::update_task),
        endpoint(M::DELETE, "/api/tasks/{id}", Write, tasks::delete_task),
        endpoint(M::GET, "/api/conversations", Read, conversations::list_conversations),
        endpoint(M::GET, "/api/conversations/{id}/messages", Read, conversations::list_messages),
        endpoint(M::POST, "/api/chat", Write, agent::chat),
        // MCP over streamable HTTP. /api/mcp is the one the ingress routes; /mcp is the path MCP
        // clients expect by convention, for in-cluster and local use.
        endpoint(M::POST, "/mcp", Write, mcp::serve),
        endpoint(M::POST, "/api/mcp", Write, mcp::serve),
    ]
}

impl Endpoint {
    fn into_method_router(self, state: &AppState) -> MethodRouter<AppState> {
        // `route_layer` wraps only the matched method, so a wrong method still gets its 405
        // rather than a 401 or a spent budget. Layers added later run first: authentication
        // happens before the write budget is charged to the user.
        let authenticate = from_fn_with_state(state.clone(), auth::require_user);
        match self.access {
            Access::Public => self.handler,
            Access::Auth => {
                self.handler.route_layer(from_fn_with_state(state.clone(), rate_limit::limit_auth))
            }
            Access::Read => self.handler.route_layer(authenticate),
            Access::Write => self
                .handler
                .route_layer(from_fn_with_state(state.clone(), rate_limit::limit_writes))
                .route_layer(authenticate),
        }
    }
}

/// The whole service as a router, ready for `axum::serve` (with connect info: per-IP limits
/// need the peer address).
pub fn app(state: AppState) -> Router {
    let mut router = Router::new();
    for endpoint in endpoints() {
        let path = endpoint.path;
        router = router.route(path, endpoint.into_method_router(&state));
    }
    // Outermost last: request id → span, log and metrics → response headers → panic guard →
    // timeout → handler.
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .layer(from_fn_with_state(state.clone(), timeout::timeout))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(from_fn(headers::security_headers))
        .layer(from_fn_with_state(state.clone(), observe::observe))
        .layer(from_fn(request_id::request_id))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_owned());
    ApiError::internal(format!("handler panicked: {message}")).into_response()
}
