//! What every handler can reach, cloned cheaply into each request.

use std::sync::Arc;
use std::time::Duration;

use crate::agent::ChatAgent;
use crate::auth::{Passwords, Tokens};
use crate::config::Config;
use crate::db::Db;
use crate::mcp::{self, McpService};
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;
use crate::shutdown::Lifecycle;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub tokens: Arc<Tokens>,
    pub passwords: Passwords,
    pub limiter: Arc<RateLimiter>,
    pub metrics: Arc<Metrics>,
    pub lifecycle: Lifecycle,
    pub trust_proxy_headers: bool,
    pub request_timeout: Duration,
    /// How long in-flight requests may finish once draining starts.
    pub shutdown_grace: Duration,
    pub agent: Arc<ChatAgent>,
    pub mcp: Arc<McpService>,
}

impl AppState {
    pub fn new(config: &Config, db: Db) -> Self {
        Self {
            agent: Arc::new(ChatAgent::new(&config.llm)),
            mcp: Arc::new(mcp::service(db.clone())),
            db,
            tokens: Arc::new(Tokens::new(&config.jwt_secret)),
            passwords: Passwords::new(),
            limiter: Arc::new(RateLimiter::new(config.rate_limits)),
            metrics: Arc::new(Metrics::new()),
            lifecycle: Lifecycle::new(),
            trust_proxy_headers: config.trust_proxy_headers,
            request_timeout: config.request_timeout,
            shutdown_grace: config.shutdown_grace,
        }
    }
}
