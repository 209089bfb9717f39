//! `/api/*` forwarded to the API when `API_UPSTREAM` is set (`cargo xtask up`, a port-forward):
//! the browser then talks to one origin, as it does behind the cluster's ingress, so the UI and
//! its Content-Security-Policy need no cross-origin exception anywhere.
//!
//! Status codes, headers and bodies pass through unchanged (streamed, not buffered); only the
//! hop-by-hop headers of each connection are dropped, and `X-Forwarded-*` say who asked.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::uri::{PathAndQuery, Uri};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::error::JsonError;

/// Longer than any request the API lets run (its own timeout answers first), short enough that
/// a hung upstream does not hold a browser connection for ever.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(120);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Proxy {
    upstream: Uri,
    client: Client<HttpConnector, Body>,
}

impl Proxy {
    pub fn new(upstream: Uri) -> Proxy {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        // A pooled connection is dropped well before todo-api closes it as idle (its
        // IDLE_TIMEOUT_SECS, 60 by default), so a request never goes out on one being closed.
        let client =
            Client::builder(TokioExecutor::new()).pool_idle_timeout(POOL_IDLE_TIMEOUT).build(connector);
        Proxy { upstream, client }
    }

    pub async fn forward(&self, mut req: Request) -> Response {
        let target = match self.target(req.uri()) {
            Ok(uri) => uri,
            Err(err) => return err.into_response(),
        };
        let client_ip = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        let original_host = req.headers().get(header::HOST).cloned();
        *req.uri_mut() = target;
        let headers = req.headers_mut();
        strip_hop_by_hop(headers);
        // The client sets Host from the target URI; the original goes in X-Forwarded-Host.
        headers.remove(header::HOST);
        if let Some(host) = original_host {
            headers.insert(HeaderName::from_static("x-forwarded-host"), host);
        }
        headers.insert(HeaderName::from_static("x-forwarded-proto"), HeaderValue::from_static("http"));
        if let Some(ip) = client_ip {
            let forwarded_for = HeaderName::from_static("x-forwarded-for");
            let chain = match headers.get(&forwarded_for).and_then(|v| v.to_str().ok()) {
                Some(earlier) => format!("{earlier}, {ip}"),
                None => ip.to_string(),
            };
            if let Ok(value) = HeaderValue::from_str(&chain) {
                headers.insert(forwarded_for, value);
            }
        }

        let path = req.uri().path().to_owned();
        match tokio::time::timeout(RESPONSE_TIMEOUT, self.client.request(req)).await {
            Ok(Ok(response)) => {
                let (mut parts, body) = response.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Response::from_parts(parts, Body::new(body))
            }
            Ok(Err(err)) => {
                tracing::warn!(upstream = %self.upstream, %path, error = %err, "API upstream unreachable");
                JsonError::new(
                    StatusCode::BAD_GATEWAY,
                    "upstream_unavailable",
                    "The API is not reachable right now. Try again in a moment.",
                )
                .into_response()
            }
            Err(_) => {
                tracing::warn!(upstream = %self.upstream, %path, "API upstream timed out");
                JsonError::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream_timeout",
                    format!("The API did not answer within {} seconds.", RESPONSE_TIMEOUT.as_secs()),
                )
                .into_response()
            }
        }
    }

    /// The upstream's scheme and authority, its path prefix (if any), then the request's path
    /// and query.
    fn target(&self, uri: &Uri) -> Result<Uri, JsonError> {
        let prefix = self.upstream.path().trim_end_matches('/');
        let rest = uri.path_and_query().map_or("/", PathAndQuery::as_str);
        let mut parts = self.upstream.clone().into_parts();
        parts.path_and_query =
            Some(format!("{prefix}{rest}").parse().map_err(|_| {
                JsonError::new(StatusCode::BAD_REQUEST, "bad_request", "invalid request path")
            })?);
        Uri::from_parts(parts)
            .map_err(|_| JsonError::new(StatusCode::BAD_REQUEST, "bad_request", "invalid request path"))
    }
}

/// Headers that describe one connection (RFC 9110 §7.6.1), including any the `Connection`
/// header names; forwarding them would confuse the next hop.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        HeaderName::from_static("keep-alive"),
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ] {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_keeps_the_path_and_query_under_the_upstream_prefix() {
        let proxy = Proxy::new("http://127.0.0.1:8080".parse().unwrap());
        let uri = "/api/tasks?status=pending&q=milk".parse().unwrap();
        assert_eq!(
            proxy.target(&uri).unwrap().to_string(),
            "http://127.0.0.1:8080/api/tasks?status=pending&q=milk"
        );
        let proxy = Proxy::new("http://api.internal:80/base/".parse().unwrap());
        assert_eq!(
            proxy.target(&uri).unwrap().to_string(),
            "http://api.internal:80/base/api/tasks?status=pending&q=milk"
        );
    }

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_dropped() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, x-private"));
        headers.insert("x-private", HeaderValue::from_static("1"));
        headers.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key(header::AUTHORIZATION), "end-to-end headers pass");
    }
}
