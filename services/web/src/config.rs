//! Settings read from the environment, validated all at once so a misconfigured deployment
//! reports every problem in one go (the same rules as todo-api's).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::http::Uri;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// Where `/api/*` is forwarded; `None` when something in front (the ingress) routes it.
    pub api_upstream: Option<Uri>,
    pub log_format: LogFormat,
    /// An `EnvFilter` directive string.
    pub log_filter: String,
    /// How long in-flight requests may take to finish after SIGTERM.
    pub shutdown_grace: Duration,
    /// How long a client may take to send a request header, and may leave a keep-alive
    /// connection idle, before the connection is closed.
    pub connection_timeouts: todo_serve::Timeouts,
}

/// One problem with one variable; `Display` gives the line a user sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    pub key: &'static str,
    pub message: String,
}

/// Every problem found, one a line.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl Config {
    pub fn from_env() -> Result<Config, ConfigErrors> {
        Config::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads settings through `lookup`, so tests pass a map instead of changing the process's
    /// environment. Empty values count as unset (`KEY=` in a .env file means "not set").
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigErrors> {
        let get = |key: &str| lookup(key).filter(|value| !value.trim().is_empty());
        let mut errors = Vec::new();
        let mut error = |key, message: String| errors.push(ConfigError { key, message });

        let port = match get("PORT") {
            None => 8081,
            Some(value) => value.trim().parse::<u16>().unwrap_or_else(|_| {
                error("PORT", format!("must be a port number (0-65535), got `{value}`"));
                0
            }),
        };
        // The image runs behind a Service, so it listens on every interface by default;
        // `cargo xtask up` passes 127.0.0.1.
        let ip = match get("BIND_ADDR") {
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Some(value) => value.trim().parse::<IpAddr>().unwrap_or_else(|_| {
                error(
                    "BIND_ADDR",
                    format!("must be an IP address such as 0.0.0.0 or :: (the port comes from PORT), got `{value}`"),
                );
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            }),
        };

        let api_upstream = get("API_UPSTREAM").and_then(|value| match parse_upstream(value.trim()) {
            Ok(uri) => Some(uri),
            Err(message) => {
                error("API_UPSTREAM", message);
                None
            }
        });

        let log_format = match get("LOG_FORMAT").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("json") => LogFormat::Json,
            Some("pretty" | "text") => LogFormat::Pretty,
            Some(other) => {
                error("LOG_FORMAT", format!("must be `json` or `pretty`, got `{other}`"));
                LogFormat::Json
            }
        };
        let log_filter = match (get("RUST_LOG"), get("LOG_LEVEL")) {
            (Some(filter), _) => filter,
            (None, Some(level)) => {
                let level = level.trim().to_ascii_lowercase();
                if !["trace", "debug", "info", "warn", "error", "off"].contains(&level.as_str()) {
                    error(
                        "LOG_LEVEL",
                        format!("must be one of trace, debug, info, warn, error, off, got `{level}`"),
                    );
                }
                level
            }
            (None, None) => "info".to_owned(),
        };
        if tracing_subscriber::EnvFilter::try_new(&log_filter).is_err() {
            error("RUST_LOG", format!("`{log_filter}` is not a valid filter, e.g. `info,todo_web=debug`"));
        }

        let mut seconds = |key: &'static str, default: u64| match get(key) {
            None => Duration::from_secs(default),
            Some(value) => match value.trim().parse::<u64>() {
                Ok(secs @ 1..=3600) => Duration::from_secs(secs),
                _ => {
                    error(key, format!("must be a whole number of seconds from 1 to 3600, got `{value}`"));
                    Duration::from_secs(default)
                }
            },
        };
        let shutdown_grace = seconds("SHUTDOWN_GRACE_SECS", 20);
        let connection_timeouts = todo_serve::Timeouts {
            header_read: seconds("HEADER_READ_TIMEOUT_SECS", 10),
            idle: seconds("IDLE_TIMEOUT_SECS", 60),
        };

        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        Ok(Config {
            listen: SocketAddr::new(ip, port),
            api_upstream,
            log_format,
            log_filter,
            shutdown_grace,
            connection_timeouts,
        })
    }
}

/// `http://host:port` with an optional path prefix; the proxy appends the request's path.
fn parse_upstream(value: &str) -> Result<Uri, String> {
    let uri: Uri =
        value.parse().map_err(|_| format!("`{value}` is not a URL such as http://127.0.0.1:8080"))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http"), Some(_)) if uri.query().is_none() => Ok(uri),
        (Some("https"), _) => Err(format!(
            "`{value}`: the proxy speaks plain HTTP to an upstream on the same host or cluster network; use http://"
        )),
        _ => Err(format!("`{value}` must look like http://HOST:PORT (an optional path prefix, no query)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
        Config::from_lookup(|key| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_serve_every_interface_on_8081_without_a_proxy() {
        let config = config(&[]).unwrap();
        assert_eq!(config.listen, "0.0.0.0:8081".parse().unwrap());
        assert!(config.api_upstream.is_none());
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.log_filter, "info");
        assert_eq!(config.shutdown_grace, Duration::from_secs(20));
        assert_eq!(config.connection_timeouts.header_read, Duration::from_secs(10));
        assert_eq!(config.connection_timeouts.idle, Duration::from_secs(60));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let errors = config(&[
            ("PORT", "80a"),
            ("BIND_ADDR", "localhost"),
            ("API_UPSTREAM", "https://api"),
            ("LOG_FORMAT", "xml"),
            ("HEADER_READ_TIMEOUT_SECS", "0"),
            ("IDLE_TIMEOUT_SECS", "a minute"),
        ])
        .unwrap_err();
        let keys: Vec<&str> = errors.0.iter().map(|e| e.key).collect();
        assert_eq!(
            keys,
            [
                "PORT",
                "BIND_ADDR",
                "API_UPSTREAM",
                "LOG_FORMAT",
                "HEADER_READ_TIMEOUT_SECS",
                "IDLE_TIMEOUT_SECS"
            ]
        );
        assert!(errors.to_string().contains("use http://"), "{errors}");
    }

    #[test]
    fn upstream_and_bind_address_are_read() {
        let config = config(&[
            ("PORT", "0"),
            ("BIND_ADDR", "127.0.0.1"),
            ("API_UPSTREAM", "http://127.0.0.1:8080"),
            ("LOG_FORMAT", "pretty"),
            ("SHUTDOWN_GRACE_SECS", " "),
        ])
        .unwrap();
        assert_eq!(config.listen, "127.0.0.1:0".parse().unwrap());
        assert_eq!(config.api_upstream.unwrap().to_string(), "http://127.0.0.1:8080/");
        assert_eq!(config.log_format, LogFormat::Pretty);
    }
}
