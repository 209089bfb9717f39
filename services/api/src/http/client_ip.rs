//! The address a request came from, for per-IP limits and logs.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;

/// The peer's address, or, when `trust_proxy_headers` is set (we run behind an ingress), the
/// last address in `X-Forwarded-For`: the one our own proxy appended. Earlier entries are
/// whatever the client claimed and are never trusted.
pub fn client_ip(parts: &Parts, trust_proxy_headers: bool) -> Option<IpAddr> {
    if trust_proxy_headers && let Some(ip) = forwarded_for(parts) {
        return Some(ip);
    }
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip())
}

fn forwarded_for(parts: &Parts) -> Option<IpAddr> {
    let last_header = parts.headers.get_all("x-forwarded-for").iter().next_back()?;
    let last_hop = last_header.to_str().ok()?.rsplit(',').next()?.trim();
    last_hop
        .parse::<IpAddr>()
        .ok()
        // Some proxies write "ip:port".
        .or_else(|| last_hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(xff: &[&str]) -> Parts {
        let mut builder = Request::builder();
        for v in xff {
            builder = builder.header("x-forwarded-for", *v);
        }
        let (mut parts, ()) = builder.body(()).unwrap().into_parts();
        parts.extensions.insert(ConnectInfo::<SocketAddr>("10.0.0.9:4321".parse().unwrap()));
        parts
    }

    #[test]
    fn forwarded_for_is_ignored_unless_trusted() {
        let p = parts(&["203.0.113.7"]);
        assert_eq!(client_ip(&p, false), Some("10.0.0.9".parse().unwrap()));
        assert_eq!(client_ip(&p, true), Some("203.0.113.7".parse().unwrap()));
    }

    #[test]
    fn the_hop_our_proxy_added_wins_over_what_the_client_claimed() {
        let p = parts(&["1.1.1.1, 198.51.100.4", "203.0.113.7:5555"]);
        assert_eq!(client_ip(&p, true), Some("203.0.113.7".parse().unwrap()));
        let garbage = parts(&["not-an-ip"]);
        assert_eq!(client_ip(&garbage, true), Some("10.0.0.9".parse().unwrap()));
    }
}
