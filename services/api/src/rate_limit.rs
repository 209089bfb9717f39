//! Per-client request budgets (token buckets) for the endpoints worth abusing: signup and login
//! (password guessing, account spam) and task writes.
//!
//! State is per process: with N replicas a client gets up to N times the budget. That bounds
//! abuse well enough here without a shared store; an ingress-level limit can tighten it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::CurrentUser;
use crate::config::{RateLimits, WRITES_PER_IP_FACTOR};
use crate::error::ApiError;
use crate::http::client_ip::client_ip;
use crate::state::AppState;

/// What a budget is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    AuthPerIp,
    LoginPerAccount,
    WritesPerUser,
    WritesPerIp,
}

const SWEEP_EVERY: Duration = Duration::from_secs(60);

pub struct RateLimiter {
    limits: RateLimits,
    state: Mutex<Buckets>,
}

struct Buckets {
    map: HashMap<(Scope, String), Bucket>,
    last_sweep: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        Self { limits, state: Mutex::new(Buckets { map: HashMap::new(), last_sweep: Instant::now() }) }
    }

    fn per_minute(&self, scope: Scope) -> u32 {
        match scope {
            Scope::AuthPerIp | Scope::LoginPerAccount => self.limits.auth_per_minute,
            Scope::WritesPerUser => self.limits.writes_per_minute,
            Scope::WritesPerIp => self.limits.writes_per_minute.saturating_mul(WRITES_PER_IP_FACTOR),
        }
    }

    /// Takes one request from `subject`'s budget. A full budget allows a burst of the whole
    /// per-minute amount, then refills evenly over the minute. `Err` says how long until the
    /// next request would be allowed.
    pub fn check(&self, scope: Scope, subject: &str) -> Result<(), Duration> {
        self.check_at(scope, subject, Instant::now())
    }

    fn check_at(&self, scope: Scope, subject: &str, now: Instant) -> Result<(), Duration> {
        let capacity = f64::from(self.per_minute(scope));
        let per_second = capacity / 60.0;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if now.duration_since(state.last_sweep) >= SWEEP_EVERY {
            // Buckets that have refilled completely are the same as absent ones: drop them so
            // the map holds only clients seen in the last minute or so.
            state.map.retain(|(scope, _), b| {
                let cap = f64::from(self.per_minute(*scope));
                b.tokens + now.duration_since(b.updated).as_secs_f64() * cap / 60.0 < cap
            });
            state.last_sweep = now;
        }
        let bucket =
            state.map.entry((scope, subject.to_owned())).or_insert(Bucket { tokens: capacity, updated: now });
        let refilled = bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * per_second;
        bucket.tokens = refilled.min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }
}

/// IPv6 clients usually control a whole /64: count them as one.
fn ip_subject(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or_else(String::new, |v4| v4.to_string()),
        Some(ip) => ip.to_string(),
        None => "unknown".to_owned(),
    }
}

/// Middleware for signup and login: a budget per client IP.
pub async fn limit_auth(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let ip = client_ip(&parts, state.trust_proxy_headers);
    state.limiter.check(Scope::AuthPerIp, &ip_subject(ip)).map_err(ApiError::RateLimited)?;
    Ok(next.run(Request::from_parts(parts, body)).await)
}

/// The write budgets a request was charged to, left on it by [`limit_writes`]: a handler that
/// makes several writes for one request (a chat turn running tools) charges each further one here,
/// so one request cannot buy many writes.
#[derive(Clone)]
pub struct WriteBudget {
    limiter: Arc<RateLimiter>,
    user: String,
    ip: String,
}

impl WriteBudget {
    /// Takes one more write from the user's and the IP's budgets, as [`limit_writes`] does.
    pub fn take(&self) -> Result<(), Duration> {
        self.limiter.check(Scope::WritesPerUser, &self.user)?;
        self.limiter.check(Scope::WritesPerIp, &self.ip)
    }
}

/// Middleware for writes, after authentication: a budget per user and a larger one per IP.
pub async fn limit_writes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let CurrentUser(user) = parts
        .extensions
        .get::<CurrentUser>()
        .copied()
        .ok_or_else(|| ApiError::internal("limit_writes must run after require_user"))?;
    let ip = client_ip(&parts, state.trust_proxy_headers);
    let budget = WriteBudget { limiter: state.limiter.clone(), user: user.0.to_string(), ip: ip_subject(ip) };
    budget.take().map_err(ApiError::RateLimited)?;
    let mut request = Request::from_parts(parts, body);
    request.extensions_mut().insert(budget);
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(auth: u32, writes: u32) -> RateLimiter {
        RateLimiter::new(RateLimits { auth_per_minute: auth, writes_per_minute: writes })
    }

    #[test]
    fn a_full_budget_allows_a_burst_then_refills_evenly() {
        let l = limiter(3, 100);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check_at(Scope::AuthPerIp, "a", t0).is_ok());
        }
        let wait = l.check_at(Scope::AuthPerIp, "a", t0).unwrap_err();
        assert!((19.9..=20.1).contains(&wait.as_secs_f64()), "{wait:?}");
        assert!(l.check_at(Scope::AuthPerIp, "a", t0 + Duration::from_secs(19)).is_err());
        assert!(l.check_at(Scope::AuthPerIp, "a", t0 + Duration::from_secs(21)).is_ok());
    }

    #[test]
    fn subjects_and_scopes_have_separate_budgets() {
        let l = limiter(1, 1);
        let t0 = Instant::now();
        assert!(l.check_at(Scope::AuthPerIp, "a", t0).is_ok());
        assert!(l.check_at(Scope::AuthPerIp, "a", t0).is_err());
        assert!(l.check_at(Scope::AuthPerIp, "b", t0).is_ok());
        assert!(l.check_at(Scope::LoginPerAccount, "a", t0).is_ok());
        // Per IP, writes get ten times the per-user budget.
        for _ in 0..10 {
            assert!(l.check_at(Scope::WritesPerIp, "a", t0).is_ok());
        }
        assert!(l.check_at(Scope::WritesPerIp, "a", t0).is_err());
    }

    #[test]
    fn idle_clients_are_forgotten() {
        let l = limiter(2, 2);
        let t0 = Instant::now();
        l.check_at(Scope::AuthPerIp, "a", t0).unwrap();
        l.check_at(Scope::AuthPerIp, "b", t0).unwrap();
        l.check_at(Scope::AuthPerIp, "b", t0).unwrap();
        l.check_at(Scope::AuthPerIp, "c", t0 + Duration::from_secs(61)).unwrap();
        let state = l.state.lock().unwrap();
        let keys: Vec<_> = state.map.keys().map(|(_, s)| s.as_str()).collect();
        // "a" and "b" refilled during the minute; only the new client is tracked.
        assert_eq!(keys, ["c"]);
    }

    #[test]
    fn ipv6_clients_are_grouped_by_their_64_prefix() {
        let a = ip_subject(Some("2001:db8:1:2:aaaa::1".parse().unwrap()));
        let b = ip_subject(Some("2001:db8:1:2:bbbb::2".parse().unwrap()));
        let c = ip_subject(Some("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(ip_subject(Some("::ffff:192.0.2.1".parse().unwrap())), "192.0.2.1");
    }
}
