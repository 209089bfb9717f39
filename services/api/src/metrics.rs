//! Prometheus metrics, rendered by hand in the text exposition format (version 0.0.4): request
//! counts and latencies by route template and status, requests in flight, and pool state.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use crate::db::PoolStats;

/// Upper bounds in seconds, from a fast cached read to a request near the timeout.
const BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Labels of one series. `route` is the route template (`/api/tasks/{id}`), never the raw path,
/// so the number of series stays bounded whatever clients request.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Labels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Non-cumulative counts per bucket; the last slot is "above every bound".
    buckets: [u64; BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<Labels, Histogram>>,
    in_flight: AtomicI64,
}

/// Counts a request as in flight until dropped, including when its future is cancelled.
pub struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    pub fn in_flight(&self) -> i64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let slot = BUCKETS.iter().position(|bound| secs <= *bound).unwrap_or(BUCKETS.len());
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let h = requests
            .entry(Labels { method: method.to_owned(), route: route.to_owned(), status })
            .or_default();
        h.buckets[slot] += 1;
        h.sum += secs;
        h.count += 1;
    }

    pub fn render(&self, pool: PoolStats, backend: &str) -> String {
        let requests = self.requests.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut out = String::with_capacity(4096);
        let w = &mut out;

        header(w, "http_requests_total", "counter", "HTTP requests answered.");
        for (l, h) in &requests {
            let _ = writeln!(w, "http_requests_total{{{}}} {}", labels(l), h.count);
        }

        header(
            w,
            "http_request_duration_seconds",
            "histogram",
            "Time from receiving a request to sending its response headers.",
        );
        for (l, h) in &requests {
            let base = labels(l);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.buckets) {
                cumulative += n;
                let _ =
                    writeln!(w, "http_request_duration_seconds_bucket{{{base},le=\"{bound}\"}} {cumulative}");
            }
            let _ = writeln!(w, "http_request_duration_seconds_bucket{{{base},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(w, "http_request_duration_seconds_sum{{{base}}} {}", h.sum);
            let _ = writeln!(w, "http_request_duration_seconds_count{{{base}}} {}", h.count);
        }

        header(w, "http_requests_in_flight", "gauge", "Requests being served now.");
        let _ = writeln!(w, "http_requests_in_flight {}", self.in_flight());

        let backend = escape(backend);
        header(w, "db_pool_connections", "gauge", "Open database connections by state.");
        let _ = writeln!(w, "db_pool_connections{{backend=\"{backend}\",state=\"idle\"}} {}", pool.idle);
        let _ = writeln!(
            w,
            "db_pool_connections{{backend=\"{backend}\",state=\"in_use\"}} {}",
            pool.open.saturating_sub(pool.idle)
        );
        header(w, "db_pool_max_connections", "gauge", "Most connections the pool will open.");
        let _ = writeln!(w, "db_pool_max_connections{{backend=\"{backend}\"}} {}", pool.max);

        header(w, "todo_api_build_info", "gauge", "Always 1; labels identify the build.");
        let _ = writeln!(w, "todo_api_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
        out
    }
}

fn header(w: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(w, "# HELP {name} {help}");
    let _ = writeln!(w, "# TYPE {name} {kind}");
}

fn labels(l: &Labels) -> String {
    format!("method=\"{}\",route=\"{}\",status=\"{}\"", escape(&l.method), escape(&l.route), l.status)
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOL: PoolStats = PoolStats { open: 3, idle: 2, max: 10 };

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::new();
        m.observe("GET", "/api/tasks", 200, Duration::from_millis(3));
        m.observe("GET", "/api/tasks", 200, Duration::from_millis(40));
        m.observe("GET", "/api/tasks", 200, Duration::from_secs(60));
        let text = m.render(POOL, "sqlite");
        let l = r#"method="GET",route="/api/tasks",status="200""#;
        assert!(text.contains(&format!("http_requests_total{{{l}}} 3\n")), "{text}");
        assert!(text.contains(&format!("http_request_duration_seconds_bucket{{{l},le=\"0.005\"}} 1\n")));
        assert!(text.contains(&format!("http_request_duration_seconds_bucket{{{l},le=\"0.05\"}} 2\n")));
        assert!(text.contains(&format!("http_request_duration_seconds_bucket{{{l},le=\"30\"}} 2\n")));
        assert!(text.contains(&format!("http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} 3\n")));
        assert!(text.contains("db_pool_connections{backend=\"sqlite\",state=\"in_use\"} 1\n"));
    }

    #[test]
    fn in_flight_counts_until_dropped() {
        let m = Metrics::new();
        let a = m.start();
        let b = m.start();
        assert_eq!(m.in_flight(), 2);
        drop(a);
        drop(b);
        assert_eq!(m.in_flight(), 0);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
