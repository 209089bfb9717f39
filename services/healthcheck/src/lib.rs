//! `healthcheck [--retries N] URL...`: a GET to each plain-http URL, success when every answer is
//! 2xx. The images are `FROM scratch` (no shell, no curl), so the chart's `helm test` pods run the
//! app's own binary with this subcommand instead of pulling a curl image.
//!
//! One blocking HTTP/1.1 request per URL over a std `TcpStream`, 5 seconds at most each; only the
//! status line is read. Both binaries link this crate; it has no dependencies, so it costs the
//! images nothing.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The most one request may take: connecting, sending and reading the status line.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// The pause between two attempts at a failing URL (`--retries`).
pub const RETRY_DELAY: Duration = Duration::from_secs(2);

/// The subcommand: `args` are the words after `healthcheck`; `program` names the binary in
/// messages. Prints each URL's status on stdout and each failure on stderr; exits 1 when any URL
/// failed, 2 on a usage error.
pub fn main(program: &str, args: &[String]) -> ExitCode {
    let usage = format!(
        "usage: {program} healthcheck [--retries N] URL...\n  GET each http:// URL ({}s timeout \
         each); exit 0 if every answer is 2xx. --retries N tries a failing URL N more times, {}s \
         apart.",
        TIMEOUT.as_secs(),
        RETRY_DELAY.as_secs()
    );
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        println!("{usage}");
        return ExitCode::SUCCESS;
    }
    let (retries, urls) = match parse_args(args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{program} healthcheck: {message}\n{usage}");
            return ExitCode::from(2);
        }
    };
    let mut failed = false;
    for url in &urls {
        let mut attempt = 0;
        let result = loop {
            match check(url, TIMEOUT) {
                Err(error) if attempt < retries && error.retryable() => {
                    attempt += 1;
                    std::thread::sleep(RETRY_DELAY);
                }
                result => break result,
            }
        };
        match result {
            Ok(status) => println!("{url}: {status}"),
            Err(error) => {
                eprintln!("{program} healthcheck: {url}: {error}");
                failed = true;
            }
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

fn parse_args(args: &[String]) -> Result<(u32, Vec<String>), String> {
    let mut retries = 0;
    let mut urls = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--retries" => {
                let value = args.next().ok_or("--retries needs a number")?;
                retries = value.parse().map_err(|_| format!("--retries takes a number (got `{value}`)"))?;
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}`")),
            url => urls.push(url.to_owned()),
        }
    }
    if urls.is_empty() {
        return Err("no URL given".to_owned());
    }
    Ok((retries, urls))
}

/// Why a check failed.
#[derive(Debug)]
pub enum Failure {
    /// Not a URL this client can request (only plain http).
    BadUrl(String),
    /// No connection, no answer in time, or not HTTP.
    Io(String),
    /// The server answered with a status outside 2xx: the status line's code and reason.
    Status(String),
}

impl Failure {
    /// A bad URL stays bad; anything else may pass once the server is up.
    fn retryable(&self) -> bool {
        !matches!(self, Failure::BadUrl(_))
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::BadUrl(message) | Failure::Io(message) => f.write_str(message),
            Failure::Status(status) => write!(f, "answered {status}"),
        }
    }
}

/// One GET: `Ok` with the status (`200 OK`) when it is 2xx.
pub fn check(url: &str, timeout: Duration) -> Result<String, Failure> {
    let target = Target::parse(url).map_err(Failure::BadUrl)?;
    let deadline = Instant::now() + timeout;
    let io = |what: &str, error: io::Error| {
        let error = if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) {
            format!("timed out after {}s", timeout.as_secs_f32())
        } else {
            error.to_string()
        };
        Failure::Io(format!("{what}: {error}"))
    };
    let addrs: Vec<SocketAddr> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| io(&format!("cannot resolve {}", target.host), e))?
        .collect();
    let mut last = None;
    let mut stream = None;
    for addr in addrs {
        let left = remaining(deadline).map_err(|e| io("cannot connect", e))?;
        match TcpStream::connect_timeout(&addr, left) {
            Ok(connected) => {
                stream = Some(connected);
                break;
            }
            Err(e) => last = Some((addr, e)),
        }
    }
    let mut stream = match (stream, last) {
        (Some(stream), _) => stream,
        (None, Some((addr, e))) => return Err(io(&format!("cannot connect to {addr}"), e)),
        (None, None) => return Err(Failure::Io(format!("{} resolves to no address", target.host))),
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: todo-healthcheck\r\nAccept: */*\r\nConnection: \
         close\r\n\r\n",
        target.path, target.authority
    );
    stream.set_write_timeout(Some(remaining(deadline).map_err(|e| io("cannot send", e))?)).ok();
    stream.write_all(request.as_bytes()).map_err(|e| io("cannot send the request", e))?;

    // Only the status line matters; it fits in the first reads.
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let line = loop {
        if let Some(end) = head.windows(2).position(|w| w == b"\r\n") {
            break String::from_utf8_lossy(&head[..end]).into_owned();
        }
        if head.len() > 8192 {
            return Err(Failure::Io("no HTTP status line in the first 8 KiB".to_owned()));
        }
        stream.set_read_timeout(Some(remaining(deadline).map_err(|e| io("no answer", e))?)).ok();
        match stream.read(&mut buf) {
            Ok(0) => {
                return Err(Failure::Io(if head.is_empty() {
                    "the connection closed without an answer".to_owned()
                } else {
                    "the connection closed in the status line".to_owned()
                }));
            }
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io("no answer", e)),
        }
    };
    let mut parts = line.splitn(3, ' ');
    let (version, code, reason) = (parts.next(), parts.next(), parts.next().unwrap_or(""));
    let code = match (version, code.and_then(|c| c.parse::<u16>().ok())) {
        (Some(version), Some(code)) if version.starts_with("HTTP/") => code,
        _ => return Err(Failure::Io(format!("not an HTTP answer: {:?}", truncate(&line, 80)))),
    };
    let status = format!("{code} {reason}").trim_end().to_owned();
    if (200..300).contains(&code) { Ok(status) } else { Err(Failure::Status(status)) }
}

/// The time left before `deadline`, or a timeout error once it has passed.
fn remaining(deadline: Instant) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() { Err(io::Error::from(io::ErrorKind::TimedOut)) } else { Ok(left) }
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// What a request needs from an `http://host[:port][/path]` URL.
#[derive(Debug, PartialEq)]
struct Target {
    /// For resolving: without brackets around an IPv6 address.
    host: String,
    port: u16,
    /// For the Host header: as written in the URL.
    authority: String,
    /// Path and query; `/` when the URL has none.
    path: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err("not a URL (expected http://host[:port]/path)".to_owned());
        };
        if !scheme.eq_ignore_ascii_case("http") {
            return Err(format!("only http:// URLs are supported, not {scheme}://"));
        }
        let rest = rest.split('#').next().unwrap_or_default();
        let (authority, path) = match rest.find(['/', '?']) {
            Some(at) if rest[at..].starts_with('/') => (&rest[..at], rest[at..].to_owned()),
            Some(at) => (&rest[..at], format!("/{}", &rest[at..])),
            None => (rest, "/".to_owned()),
        };
        if authority.contains('@') {
            return Err("credentials in the URL are not supported".to_owned());
        }
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed.split_once(']').ok_or("unclosed [ in the host")?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err("no host in the URL".to_owned());
        }
        let port = match port {
            None | Some("") => 80,
            Some(port) => port.parse().map_err(|_| format!("`{port}` is not a port"))?,
        };
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("the path holds spaces or control characters".to_owned());
        }
        Ok(Target { host: host.to_owned(), port, authority: authority.to_owned(), path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(host: &str, port: u16, authority: &str, path: &str) -> Target {
        Target { host: host.into(), port, authority: authority.into(), path: path.into() }
    }

    #[test]
    fn urls_parse_into_host_port_and_path() {
        let parse = |url| Target::parse(url).unwrap();
        assert_eq!(
            parse("http://todo-api:8080/api/readyz"),
            target("todo-api", 8080, "todo-api:8080", "/api/readyz")
        );
        assert_eq!(parse("http://example"), target("example", 80, "example", "/"));
        assert_eq!(parse("HTTP://h:81?x=1"), target("h", 81, "h:81", "/?x=1"));
        assert_eq!(parse("http://[::1]:9/a#frag"), target("::1", 9, "[::1]:9", "/a"));
        assert_eq!(parse("http://[::1]/"), target("::1", 80, "[::1]", "/"));
    }

    #[test]
    fn what_it_cannot_request_is_refused_with_the_reason() {
        let error = |url| Target::parse(url).unwrap_err();
        assert_eq!(error("https://h/"), "only http:// URLs are supported, not https://");
        assert!(error("todo-api:8080/healthz").starts_with("not a URL"));
        assert_eq!(error("http://h:http/"), "`http` is not a port");
        assert_eq!(error("http:///x"), "no host in the URL");
        assert_eq!(error("http://u:p@h/"), "credentials in the URL are not supported");
    }

    #[test]
    fn arguments_take_retries_and_at_least_one_url() {
        let args = |words: &[&str]| parse_args(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>());
        assert_eq!(
            args(&["http://a/", "http://b/"]).unwrap(),
            (0, vec!["http://a/".into(), "http://b/".into()])
        );
        assert_eq!(args(&["--retries", "3", "http://a/"]).unwrap(), (3, vec!["http://a/".into()]));
        assert_eq!(args(&[]).unwrap_err(), "no URL given");
        assert_eq!(args(&["--retries", "x", "http://a/"]).unwrap_err(), "--retries takes a number (got `x`)");
        assert_eq!(args(&["--max-time", "http://a/"]).unwrap_err(), "unknown option `--max-time`");
    }

    /// A one-connection server answering `response`, on a free loopback port.
    fn serve_once(response: &'static str) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(response.as_bytes());
        });
        format!("http://{addr}/readyz")
    }

    #[test]
    fn the_status_line_decides() {
        let ok = serve_once("HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n");
        assert_eq!(check(&ok, TIMEOUT).unwrap(), "204 No Content");
        let down = serve_once("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n");
        assert_eq!(check(&down, TIMEOUT).unwrap_err().to_string(), "answered 503 Service Unavailable");
        let garbage = serve_once("SSH-2.0-OpenSSH\r\n");
        assert!(check(&garbage, TIMEOUT).unwrap_err().to_string().starts_with("not an HTTP answer"));
    }

    #[test]
    fn a_server_that_never_answers_times_out() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/healthz", listener.local_addr().unwrap());
        let started = Instant::now();
        let error = check(&url, Duration::from_millis(300)).unwrap_err().to_string();
        assert_eq!(error, "no answer: timed out after 0.3s");
        assert!(started.elapsed() < Duration::from_secs(3));
        drop(listener);
    }
}
