//! The little HTTP `verify` needs: plain-HTTP requests to an ingress controller, with a Host header
//! of our choosing (so no /etc/hosts entry is needed) and a hard timeout.
//!
//! HTTP/1.0 with `Connection: close` keeps it to a few lines: the server must answer without
//! chunked encoding and close the connection, so the body is everything after the headers. An
//! HTTP client crate would add TLS and a dozen crates to xtask for this one phase.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

/// Where requests go: `http://HOST[:PORT]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint> {
        let rest = url.trim_end_matches('/').strip_prefix("http://").with_context(|| {
            format!("`{url}` is not an http:// URL (verify speaks plain HTTP to the ingress controller)")
        })?;
        if rest.contains('/') {
            bail!("`{url}` has a path; give only http://HOST[:PORT]");
        }
        // An IPv6 address is bracketed, `[::1]:8080`: its colons are not the port's.
        let (host, port) = match rest.strip_prefix('[') {
            Some(bracketed) => {
                let (host, after) =
                    bracketed.split_once(']').with_context(|| format!("`{url}`: `[` without `]`"))?;
                (host, after.strip_prefix(':'))
            }
            None => match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            },
        };
        let port = match port {
            Some(port) => port.parse().with_context(|| format!("`{url}`: `{port}` is not a port"))?,
            None => 80,
        };
        if host.is_empty() {
            bail!("`{url}` has no host");
        }
        Ok(Endpoint { host: host.to_owned(), port })
    }

    pub fn url(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        match self.port {
            80 => format!("http://{host}"),
            port => format!("http://{host}:{port}"),
        }
    }
}

pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The virtual host the ingress routes on.
    pub host: &'a str,
    pub bearer: Option<&'a str>,
    pub json: Option<&'a serde_json::Value>,
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

impl Response {
    /// The start of the body, on one line, for error messages.
    pub fn snippet(&self) -> String {
        let flat: String = self.body.split_whitespace().collect::<Vec<_>>().join(" ");
        match flat.char_indices().nth(200) {
            Some((i, _)) => format!("{}…", &flat[..i]),
            None => flat,
        }
    }

    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_str(&self.body)
            .with_context(|| format!("the answer is not JSON: {}", self.snippet()))
    }
}

pub fn send(endpoint: &Endpoint, request: &Request, timeout: Duration) -> Result<Response> {
    let address = (endpoint.host.as_str(), endpoint.port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {}", endpoint.host))?
        .next()
        .with_context(|| format!("{} has no address", endpoint.host))?;
    let mut stream = TcpStream::connect_timeout(&address, timeout)
        .with_context(|| format!("cannot connect to {}", endpoint.url()))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;

    let body = request.json.map(|json| json.to_string()).unwrap_or_default();
    let mut head = format!(
        "{} {} HTTP/1.0\r\nHost: {}\r\nUser-Agent: cargo-xtask-verify\r\nAccept: */*\r\nConnection: close\r\n",
        request.method, request.path, request.host
    );
    if let Some(token) = request.bearer {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if request.json.is_some() {
        head.push_str("Content-Type: application/json\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;

    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).with_context(|| format!("reading the answer from {}", endpoint.url()))?;
    parse(&raw)
}

fn parse(raw: &[u8]) -> Result<Response> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").context("the server closed the connection mid-answer")?;
    let status_line = head.lines().next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("not an HTTP answer: `{status_line}`"))?;
    Ok(Response { status, body: body.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_http_host_and_port_only() {
        assert_eq!(
            Endpoint::parse("http://127.0.0.1:18080").unwrap(),
            Endpoint { host: "127.0.0.1".into(), port: 18080 }
        );
        assert_eq!(Endpoint::parse("http://192.168.49.2/").unwrap().port, 80);
        assert_eq!(
            Endpoint::parse("http://[::1]:8080").unwrap(),
            Endpoint { host: "::1".into(), port: 8080 }
        );
        assert_eq!(Endpoint::parse("http://[::1]").unwrap(), Endpoint { host: "::1".into(), port: 80 });
        assert_eq!(Endpoint::parse("http://[::1]:8080").unwrap().url(), "http://[::1]:8080");
        assert!(Endpoint::parse("https://example.com").unwrap_err().to_string().contains("plain HTTP"));
        assert!(Endpoint::parse("http://example.com/api").is_err());
    }

    #[test]
    fn a_request_reaches_a_server_with_the_host_header_and_the_answer_is_read() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 1024];
            while !String::from_utf8_lossy(&seen).contains("{\"a\":1}") {
                let n = stream.read(&mut buf).unwrap();
                seen.extend_from_slice(&buf[..n]);
            }
            stream
                .write_all(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\r\n{\"id\":7}")
                .unwrap();
            String::from_utf8(seen).unwrap()
        });
        let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let json = serde_json::json!({"a": 1});
        let request = Request {
            method: "POST",
            path: "/api/tasks",
            host: "todo.local",
            bearer: Some("t0k"),
            json: Some(&json),
        };
        let response = send(&endpoint, &request, Duration::from_secs(5)).unwrap();
        assert_eq!(response.status, 201);
        assert_eq!(response.json().unwrap()["id"], 7);
        let seen = server.join().unwrap();
        assert!(seen.starts_with("POST /api/tasks HTTP/1.0\r\nHost: todo.local\r\n"), "{seen}");
        assert!(seen.contains("Authorization: Bearer t0k\r\n"), "{seen}");
    }
}
