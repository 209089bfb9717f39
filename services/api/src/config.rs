//! Settings read from the environment, validated all at once so that a misconfigured deployment
//! reports every problem in one go instead of one per restart.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Known to everyone who reads this file, so it is only ever accepted when `TODO_ENV=local`.
const LOCAL_DEV_JWT_SECRET: &str = "todo-cloud-local-development-secret-do-not-deploy";
const MIN_JWT_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Local,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Clone)]
pub enum DatabaseConfig {
    Postgres {
        /// Holds the password: never log it.
        url: String,
        max_connections: u32,
    },
    Sqlite {
        path: PathBuf,
        max_connections: u32,
    },
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Postgres { max_connections, .. } => f
                .debug_struct("Postgres")
                .field("url", &"<redacted>")
                .field("max_connections", max_connections)
                .finish(),
            Self::Sqlite { path, max_connections } => f
                .debug_struct("Sqlite")
                .field("path", path)
                .field("max_connections", max_connections)
                .finish(),
        }
    }
}

/// The HMAC key for tokens. Debug output never shows it.
#[derive(Clone)]
pub struct JwtSecret(Vec<u8>);

impl JwtSecret {
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtSecret(<redacted>)")
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// Signup and login attempts per client IP, and login attempts per account.
    pub auth_per_minute: u32,
    /// Task writes per user; a client IP gets `WRITES_PER_IP_FACTOR` times as many so that people
    /// behind one NAT do not starve each other.
    pub writes_per_minute: u32,
}

pub const WRITES_PER_IP_FACTOR: u32 = 10;

const DEFAULT_LLM_BASE_URL: &str = "https://api.openai.com/v1";
const DEFAULT_LLM_MODEL: &str = "gpt-4o-mini";

/// A key for the language model provider. Debug output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Who answers `POST /api/chat`.
#[derive(Debug, Clone)]
pub enum LlmProvider {
    /// The built-in plain-English agent: no key, no network.
    Offline,
    /// Any OpenAI-compatible chat-completions endpoint with tool calling.
    OpenAi(OpenAiConfig),
}

#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// Without a trailing slash, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    pub model: String,
    pub api_key: ApiKey,
    /// Longest wait for one HTTP attempt, connecting included.
    pub timeout: Duration,
    /// Further attempts after a 429, a 5xx, a timeout or a connection failure.
    pub max_retries: u32,
}

#[derive(Debug, Clone)]
pub struct LlmConfig {
    pub provider: LlmProvider,
    /// Chat-completion requests one user may cause per UTC day (each tool-call round is one).
    pub daily_calls_per_user: u32,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    pub listen: SocketAddr,
    pub database: DatabaseConfig,
    pub data_dir: PathBuf,
    pub jwt_secret: JwtSecret,
    pub log_format: LogFormat,
    /// An `EnvFilter` directive string, already checked to parse.
    pub log_filter: String,
    pub rate_limits: RateLimits,
    pub trust_proxy_headers: bool,
    pub request_timeout: Duration,
    pub shutdown_grace: Duration,
    /// How long a client may take to send a request header, and may leave a keep-alive
    /// connection idle, before the connection is closed.
    pub connection_timeouts: todo_serve::Timeouts,
    pub llm: LlmConfig,
    /// Things worth a warning once logging is up (it is not yet while the config is read).
    pub warnings: Vec<String>,
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
    pub fn from_env() -> Result<Self, ConfigErrors> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads settings through `lookup` so tests can pass a map instead of mutating the process
    /// environment. Empty values count as unset: `.env` files and compose files often write
    /// `KEY=` for "not set".
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigErrors> {
        let mut r =
            Reader { lookup: &|key| lookup(key).filter(|v| !v.trim().is_empty()), errors: Vec::new() };
        let mut warnings = Vec::new();

        let environment = r
            .parse("TODO_ENV", "`local` or `production`", |v| match v.to_ascii_lowercase().as_str() {
                "local" => Some(Environment::Local),
                "production" | "prod" => Some(Environment::Production),
                _ => None,
            })
            .unwrap_or(Environment::Production);
        let local = environment == Environment::Local;

        let port = r.parse("PORT", "a port number (0-65535)", |v| v.parse::<u16>().ok()).unwrap_or(8080);
        // Local mode signs tokens with a public key, so it only listens on loopback unless told.
        let default_ip =
            if local { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { IpAddr::V4(Ipv4Addr::UNSPECIFIED) };
        let ip = r
            .parse("BIND_ADDR", "an IP address such as 0.0.0.0 or :: (the port comes from PORT)", |v| {
                v.parse::<IpAddr>().ok()
            })
            .unwrap_or(default_ip);

        let data_dir = r.get("TODO_DATA_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("./data"));
        let max_connections = r.parse("DATABASE_MAX_CONNECTIONS", "a whole number from 1 to 1000", |v| {
            v.parse::<u32>().ok().filter(|n| (1..=1000).contains(n))
        });
        let database = match r.secret("DATABASE_URL", "DATABASE_URL_FILE", Absent::Error) {
            Secret::Invalid => None,
            Secret::Set(url) => {
                let lower = url.to_ascii_lowercase();
                if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
                    Some(DatabaseConfig::Postgres { url, max_connections: max_connections.unwrap_or(10) })
                } else {
                    r.error(
                        "DATABASE_URL",
                        "must be a postgres:// or postgresql:// URL; leave it unset to use the \
                         embedded SQLite database in TODO_DATA_DIR",
                    );
                    None
                }
            }
            Secret::Unset => Some(DatabaseConfig::Sqlite {
                path: data_dir.join("todo.db"),
                max_connections: max_connections.unwrap_or(5),
            }),
        };

        let jwt_secret = match r.secret("JWT_SECRET", "JWT_SECRET_FILE", Absent::Error) {
            Secret::Invalid => None,
            Secret::Set(s) if s.len() < MIN_JWT_SECRET_BYTES => {
                r.error(
                    "JWT_SECRET",
                    format!(
                        "must be at least {MIN_JWT_SECRET_BYTES} bytes (got {}); generate one with \
                         `openssl rand -hex 32`",
                        s.len()
                    ),
                );
                None
            }
            Secret::Set(s) if s == LOCAL_DEV_JWT_SECRET && !local => {
                r.error("JWT_SECRET", "is the public local-development secret; set a private one");
                None
            }
            Secret::Set(s) => Some(JwtSecret(s.into_bytes())),
            Secret::Unset if local => {
                warnings.push(
                    "JWT_SECRET is not set: signing tokens with the built-in local development \
                     secret (TODO_ENV=local). Never use this outside your machine."
                        .to_owned(),
                );
                Some(JwtSecret(LOCAL_DEV_JWT_SECRET.as_bytes().to_vec()))
            }
            Secret::Unset => {
                r.error(
                    "JWT_SECRET",
                    format!("is required (at least {MIN_JWT_SECRET_BYTES} bytes) unless TODO_ENV=local"),
                );
                None
            }
        };

        let log_format = r
            .parse("LOG_FORMAT", "`json` or `pretty`", |v| match v.to_ascii_lowercase().as_str() {
                "json" => Some(LogFormat::Json),
                "pretty" | "text" => Some(LogFormat::Pretty),
                _ => None,
            })
            .unwrap_or(if local { LogFormat::Pretty } else { LogFormat::Json });
        let log_filter = match (r.get("RUST_LOG"), r.get("LOG_LEVEL")) {
            (Some(filter), _) => r.check_filter("RUST_LOG", filter),
            (None, Some(level)) => {
                let level = level.to_ascii_lowercase();
                if ["trace", "debug", "info", "warn", "error", "off"].contains(&level.as_str()) {
                    Some(level)
                } else {
                    r.error(
                        "LOG_LEVEL",
                        format!("must be one of trace, debug, info, warn, error, off (got `{level}`)"),
                    );
                    None
                }
            }
            (None, None) => Some("info".to_owned()),
        };

        let per_minute = |r: &mut Reader, key, default| {
            r.parse(key, "a whole number of requests per minute, at least 1", |v| {
                v.parse::<u32>().ok().filter(|n| *n >= 1)
            })
            .unwrap_or(default)
        };
        let rate_limits = RateLimits {
            auth_per_minute: per_minute(&mut r, "RATE_LIMIT_AUTH_PER_MINUTE", 10),
            writes_per_minute: per_minute(&mut r, "RATE_LIMIT_WRITES_PER_MINUTE", 120),
        };
        let trust_proxy_headers =
            r.parse("TRUST_PROXY_HEADERS", "`true` or `false`", parse_bool).unwrap_or(false);
        let seconds = |r: &mut Reader, key, default| {
            Duration::from_secs(
                r.parse(key, "a whole number of seconds from 1 to 3600", |v| {
                    v.parse::<u64>().ok().filter(|n| (1..=3600).contains(n))
                })
                .unwrap_or(default),
            )
        };
        let request_timeout = seconds(&mut r, "REQUEST_TIMEOUT_SECS", 30);
        let shutdown_grace = seconds(&mut r, "SHUTDOWN_GRACE_SECS", 20);
        let connection_timeouts = todo_serve::Timeouts {
            header_read: seconds(&mut r, "HEADER_READ_TIMEOUT_SECS", 10),
            idle: seconds(&mut r, "IDLE_TIMEOUT_SECS", 60),
        };
        // SHUTDOWN_GRACE_SECS may be below REQUEST_TIMEOUT_SECS, and is by default: a 30 s pod
        // termination period must cover the drain and closing the pool. A request still running
        // when the drain ends is cut off; chat turns stop calling the model as the drain starts
        // and record what they did, which covers the long requests.
        let llm = read_llm(&mut r, request_timeout, &mut warnings);

        if !r.errors.is_empty() {
            return Err(ConfigErrors(r.errors));
        }
        Ok(Config {
            environment,
            listen: SocketAddr::new(ip, port),
            database: database.expect("no error recorded, so the database is set"),
            data_dir,
            jwt_secret: jwt_secret.expect("no error recorded, so the secret is set"),
            log_format,
            log_filter: log_filter.expect("no error recorded, so the filter is set"),
            rate_limits,
            trust_proxy_headers,
            request_timeout,
            shutdown_grace,
            connection_timeouts,
            llm: llm.expect("no error recorded, so the LLM settings are set"),
            warnings,
        })
    }
}

/// The chat agent's settings. The provider defaults to `openai` when a key is given and to the
/// offline agent otherwise, so a fresh checkout chats without any setup.
fn read_llm(r: &mut Reader, request_timeout: Duration, warnings: &mut Vec<String>) -> Option<LlmConfig> {
    #[derive(PartialEq)]
    enum Choice {
        OpenAi,
        Offline,
    }
    let choice =
        r.parse("LLM_PROVIDER", "`openai` or `offline`", |v| match v.to_ascii_lowercase().as_str() {
            "openai" => Some(Choice::OpenAi),
            "offline" => Some(Choice::Offline),
            _ => None,
        });
    // LLM_API_KEY (or its file) first; OPENAI_API_KEY is the name OpenAI's own tools use.
    // Either may be a file that is absent: a Kubernetes Secret volume leaves out the keys the
    // Secret does not hold, and the chart points both at where they would be.
    let key = match r.secret("LLM_API_KEY", "LLM_API_KEY_FILE", Absent::Unset) {
        Secret::Set(key) if r.get("LLM_API_KEY").is_some() => Some(Some((key, "LLM_API_KEY"))),
        Secret::Set(key) => Some(Some((key, "LLM_API_KEY_FILE"))),
        Secret::Unset => match r.secret("OPENAI_API_KEY", "OPENAI_API_KEY_FILE", Absent::Unset) {
            Secret::Set(key) if r.get("OPENAI_API_KEY").is_some() => Some(Some((key, "OPENAI_API_KEY"))),
            Secret::Set(key) => Some(Some((key, "OPENAI_API_KEY_FILE"))),
            Secret::Unset => Some(None),
            Secret::Invalid => None,
        },
        Secret::Invalid => None,
    };
    let base_url = r
        .parse("LLM_BASE_URL", "an http:// or https:// URL such as https://api.openai.com/v1", |v| {
            let lower = v.to_ascii_lowercase();
            let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"))?;
            let base = v.trim_end_matches('/');
            let parses = format!("{base}/chat/completions").parse::<axum::http::Uri>().is_ok();
            (!rest.is_empty() && parses).then(|| base.to_owned())
        })
        .unwrap_or_else(|| DEFAULT_LLM_BASE_URL.to_owned());
    let model = r.get("LLM_MODEL").unwrap_or_else(|| DEFAULT_LLM_MODEL.to_owned());
    let timeout = r
        .parse("LLM_TIMEOUT_SECS", "a whole number of seconds from 1 to 300", |v| {
            v.parse::<u64>().ok().filter(|n| (1..=300).contains(n))
        })
        .map_or(Duration::from_secs(20), Duration::from_secs);
    let max_retries = r
        .parse("LLM_MAX_RETRIES", "a whole number from 0 to 5", |v| v.parse::<u32>().ok().filter(|n| *n <= 5))
        .unwrap_or(2);
    let daily_calls_per_user = r
        .parse("LLM_DAILY_CALLS_PER_USER", "a whole number from 1 to 1000000", |v| {
            v.parse::<u32>().ok().filter(|n| (1..=1_000_000).contains(n))
        })
        .unwrap_or(200);

    let key = match key? {
        // It travels in an Authorization header: a key pasted with a line break or a
        // typographic character would fail every request, so it fails at startup instead.
        Some((key, name)) if !key.bytes().all(|b| b.is_ascii_graphic()) => {
            r.error(name, "must be printable ASCII without spaces (was it pasted whole?)");
            return None;
        }
        key => key.map(|(key, _)| key),
    };
    let provider = match (choice, key) {
        (Some(Choice::Offline), _) | (None, None) => LlmProvider::Offline,
        (Some(Choice::OpenAi), None) => {
            r.error(
                "LLM_PROVIDER",
                "is `openai` but no key is set: set LLM_API_KEY (or OPENAI_API_KEY), or use `offline`",
            );
            return None;
        }
        (Some(Choice::OpenAi) | None, Some(key)) => {
            if base_url.to_ascii_lowercase().starts_with("http://") && !is_loopback_url(&base_url) {
                warnings.push(format!(
                    "LLM_BASE_URL is plain http ({base_url}): the API key travels unencrypted"
                ));
            }
            if timeout >= request_timeout {
                warnings.push(format!(
                    "LLM_TIMEOUT_SECS ({}) is not below REQUEST_TIMEOUT_SECS ({}): a slow model \
                     call is cut short by the end of the chat request",
                    timeout.as_secs(),
                    request_timeout.as_secs()
                ));
            }
            LlmProvider::OpenAi(OpenAiConfig { base_url, model, api_key: ApiKey(key), timeout, max_retries })
        }
    };
    Some(LlmConfig { provider, daily_calls_per_user })
}

fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// What a `*_FILE` naming a file that does not exist means.
#[derive(Clone, Copy, PartialEq)]
enum Absent {
    /// A required secret (JWT_SECRET, DATABASE_URL): an error naming the file. A silent fallback
    /// would sign with nothing or open an empty SQLite database instead of the real one.
    Error,
    /// An optional one (the LLM keys): not set. The chart mounts the Secret's keys as files and
    /// points `*_FILE` at every key the api may read; the Secret need not hold the optional ones.
    Unset,
}

/// A secret setting: given, not given, or given wrongly (already reported, nothing more to say).
enum Secret {
    Set(String),
    Unset,
    Invalid,
}

struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<ConfigError>,
}

impl Reader<'_> {
    fn get(&self, key: &str) -> Option<String> {
        (self.lookup)(key).map(|v| v.trim().to_owned())
    }

    /// A secret, given either in `key` or, so that it can stay out of the environment (a
    /// Kubernetes Secret mounted as files), in the file named by `file_key`. Setting both is an
    /// error rather than a silent choice. `absent` says whether a file that does not exist is an
    /// error or leaves the secret unset.
    fn secret(&mut self, key: &'static str, file_key: &'static str, absent: Absent) -> Secret {
        match (self.get(key), self.get(file_key)) {
            (Some(_), Some(_)) => {
                self.error(key, format!("set either {key} or {file_key}, not both"));
                Secret::Invalid
            }
            (Some(value), None) => Secret::Set(value),
            (None, Some(path)) => match std::fs::read_to_string(&path) {
                // Files written by editors and `echo` end with a newline that is not part of it.
                Ok(value) if !value.trim().is_empty() => Secret::Set(value.trim().to_owned()),
                Ok(_) => {
                    self.error(file_key, format!("the file {path} is empty"));
                    Secret::Invalid
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && absent == Absent::Unset => {
                    Secret::Unset
                }
                Err(e) => {
                    self.error(file_key, format!("cannot read {path}: {e}"));
                    Secret::Invalid
                }
            },
            (None, None) => Secret::Unset,
        }
    }

    fn error(&mut self, key: &'static str, message: impl Into<String>) {
        self.errors.push(ConfigError { key, message: message.into() });
    }

    /// `None` when unset or invalid; invalid values are recorded as errors.
    fn parse<T>(
        &mut self,
        key: &'static str,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        let raw = self.get(key)?;
        let parsed = parse(&raw);
        if parsed.is_none() {
            self.error(key, format!("must be {expected} (got `{raw}`)"));
        }
        parsed
    }

    fn check_filter(&mut self, key: &'static str, filter: String) -> Option<String> {
        match tracing_subscriber::EnvFilter::builder().parse(&filter) {
            Ok(_) => Some(filter),
            Err(e) => {
                self.error(key, format!("is not a valid log filter: {e}"));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    fn error_keys(pairs: &[(&str, &str)]) -> Vec<&'static str> {
        load(pairs).unwrap_err().0.iter().map(|e| e.key).collect()
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn production_is_the_default_and_needs_a_secret() {
        let err = load(&[]).unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!(err.0[0].key, "JWT_SECRET");
        assert!(err.to_string().contains("TODO_ENV=local"), "{err}");
    }

    #[test]
    fn production_defaults() {
        let c = load(&[("JWT_SECRET", SECRET)]).unwrap();
        assert_eq!(c.environment, Environment::Production);
        assert_eq!(c.listen, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.log_filter, "info");
        assert!(!c.trust_proxy_headers);
        assert_eq!(c.request_timeout, Duration::from_secs(30));
        assert_eq!(c.shutdown_grace, Duration::from_secs(20));
        assert_eq!(c.connection_timeouts.header_read, Duration::from_secs(10));
        assert_eq!(c.connection_timeouts.idle, Duration::from_secs(60));
        match c.database {
            DatabaseConfig::Sqlite { path, .. } => {
                assert_eq!(path, PathBuf::from("./data/todo.db"))
            }
            other => panic!("expected SQLite, got {other:?}"),
        }
        assert!(c.warnings.is_empty(), "the defaults need no warning: {:?}", c.warnings);
    }

    #[test]
    fn local_mode_uses_a_dev_secret_with_a_warning_and_binds_loopback() {
        let c = load(&[("TODO_ENV", "local")]).unwrap();
        assert_eq!(c.jwt_secret.expose(), LOCAL_DEV_JWT_SECRET.as_bytes());
        assert_eq!(c.warnings.len(), 1);
        assert!(c.warnings[0].contains("JWT_SECRET"));
        assert_eq!(c.listen.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(c.log_format, LogFormat::Pretty);
    }

    #[test]
    fn the_dev_secret_is_refused_in_production() {
        assert_eq!(error_keys(&[("JWT_SECRET", LOCAL_DEV_JWT_SECRET)]), ["JWT_SECRET"]);
    }

    #[test]
    fn every_problem_is_reported_on_its_own_line() {
        let err = load(&[
            ("JWT_SECRET", "short"),
            ("PORT", "http"),
            ("TODO_ENV", "staging"),
            ("DATABASE_URL", "mysql://x"),
            ("LOG_FORMAT", "xml"),
            ("RATE_LIMIT_AUTH_PER_MINUTE", "0"),
            ("REQUEST_TIMEOUT_SECS", "-1"),
            ("TRUST_PROXY_HEADERS", "maybe"),
        ])
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(text.lines().count(), 8, "{text}");
        assert!(text.contains("JWT_SECRET: must be at least 32 bytes (got 5)"), "{text}");
        assert!(text.contains("PORT: must be a port number (0-65535) (got `http`)"), "{text}");
    }

    #[test]
    fn postgres_url_is_taken_and_redacted_in_debug_output() {
        let c = load(&[
            ("JWT_SECRET", SECRET),
            ("DATABASE_URL", "postgresql://u:hunter2@db.example/todo?sslmode=require"),
            ("DATABASE_MAX_CONNECTIONS", "4"),
        ])
        .unwrap();
        assert!(matches!(c.database, DatabaseConfig::Postgres { max_connections: 4, .. }));
        let debug = format!("{c:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains(SECRET), "{debug}");
    }

    #[test]
    fn empty_values_count_as_unset() {
        let c = load(&[("JWT_SECRET", SECRET), ("DATABASE_URL", ""), ("PORT", " ")]).unwrap();
        assert!(matches!(c.database, DatabaseConfig::Sqlite { .. }));
        assert_eq!(c.listen.port(), 8080);
    }

    #[test]
    fn rust_log_wins_over_log_level_and_is_validated() {
        let c =
            load(&[("JWT_SECRET", SECRET), ("RUST_LOG", "todo_api=debug,sqlx=warn"), ("LOG_LEVEL", "error")])
                .unwrap();
        assert_eq!(c.log_filter, "todo_api=debug,sqlx=warn");
        assert_eq!(error_keys(&[("JWT_SECRET", SECRET), ("LOG_LEVEL", "loud")]), ["LOG_LEVEL"]);
        assert_eq!(error_keys(&[("JWT_SECRET", SECRET), ("RUST_LOG", "todo_api=[")]), ["RUST_LOG"]);
    }

    /// `KEY` of every `KEY=value` line, and of every commented-out `# KEY=default` line (the
    /// file documents settings that way, so copying it changes nothing).
    fn assigned_keys(text: &str) -> std::collections::BTreeSet<String> {
        let is_key = |k: &str| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        };
        text.lines()
            .map(|l| l.trim_start().strip_prefix("# ").unwrap_or(l))
            .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_owned()))
            .filter(|k| is_key(k))
            .collect()
    }

    #[test]
    fn deploy_env_example_documents_exactly_the_keys_read() {
        let asked = std::sync::Mutex::new(std::collections::BTreeSet::new());
        let _ = Config::from_lookup(|key| {
            asked.lock().unwrap().insert(key.to_owned());
            None
        });
        let asked = asked.into_inner().unwrap();
        let example =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/.env.example"))
                .expect("deploy/.env.example");
        let documented = assigned_keys(&example);
        let missing: Vec<_> = asked.difference(&documented).collect();
        assert!(missing.is_empty(), "read but not in deploy/.env.example: {missing:?}");

        // Other components have sections in the same file; the API's (from its heading to the
        // next heading rule after its own) must hold only keys the API reads.
        let (_, after_heading) = example.split_once("# todo-api (services/api)").expect("an API section");
        let body = after_heading.split("\n# ---").nth(1).expect("the API heading's closing rule");
        let stale: Vec<_> = assigned_keys(body).into_iter().filter(|k| !asked.contains(k)).collect();
        assert!(stale.is_empty(), "documented for the API but never read: {stale:?}");
    }

    #[test]
    fn secrets_can_come_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let secret_file = dir.path().join("jwt-secret");
        std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
        let url_file = dir.path().join("database-url");
        std::fs::write(&url_file, "postgres://u:p@db/todo").unwrap();
        let (secret_path, url_path) = (secret_file.display().to_string(), url_file.display().to_string());
        let c = load(&[("JWT_SECRET_FILE", &secret_path), ("DATABASE_URL_FILE", &url_path)]).unwrap();
        assert_eq!(c.jwt_secret.expose(), SECRET.as_bytes(), "the trailing newline is not part of it");
        assert!(
            matches!(c.database, DatabaseConfig::Postgres { ref url, .. } if url == "postgres://u:p@db/todo")
        );

        let both = load(&[("JWT_SECRET", SECRET), ("JWT_SECRET_FILE", &secret_path)]).unwrap_err();
        assert!(both.to_string().contains("not both"), "{both}");
        let missing = load(&[("JWT_SECRET_FILE", "/nonexistent/jwt")]).unwrap_err();
        assert_eq!(missing.0.len(), 1, "{missing}");
        assert!(
            missing.to_string().starts_with("JWT_SECRET_FILE: cannot read /nonexistent/jwt"),
            "{missing}"
        );
    }

    #[test]
    fn the_chat_agent_is_offline_without_a_key_and_openai_with_one() {
        let c = load(&[("JWT_SECRET", SECRET)]).unwrap();
        assert!(matches!(c.llm.provider, LlmProvider::Offline));
        assert_eq!(c.llm.daily_calls_per_user, 200);

        let c = load(&[("JWT_SECRET", SECRET), ("OPENAI_API_KEY", "sk-openai-name")]).unwrap();
        let LlmProvider::OpenAi(openai) = &c.llm.provider else { panic!("{:?}", c.llm) };
        assert_eq!(openai.api_key.expose(), "sk-openai-name");
        assert_eq!(openai.base_url, "https://api.openai.com/v1");
        assert_eq!(openai.model, "gpt-4o-mini");
        assert_eq!(openai.timeout, Duration::from_secs(20));
        assert_eq!(openai.max_retries, 2);

        // LLM_API_KEY wins; a trailing slash on the URL is dropped; offline can be forced.
        let c = load(&[
            ("JWT_SECRET", SECRET),
            ("LLM_API_KEY", "sk-llm-name"),
            ("OPENAI_API_KEY", "sk-openai-name"),
            ("LLM_BASE_URL", "http://127.0.0.1:11434/v1/"),
            ("LLM_MODEL", "llama3.1"),
            ("LLM_TIMEOUT_SECS", "5"),
            ("LLM_MAX_RETRIES", "0"),
            ("LLM_DAILY_CALLS_PER_USER", "50"),
        ])
        .unwrap();
        let LlmProvider::OpenAi(openai) = &c.llm.provider else { panic!("{:?}", c.llm) };
        assert_eq!(
            (openai.api_key.expose(), openai.base_url.as_str()),
            ("sk-llm-name", "http://127.0.0.1:11434/v1")
        );
        assert_eq!(
            (openai.model.as_str(), openai.timeout, openai.max_retries),
            ("llama3.1", Duration::from_secs(5), 0)
        );
        assert_eq!(c.llm.daily_calls_per_user, 50);
        assert!(c.warnings.is_empty(), "plain http to loopback is fine: {:?}", c.warnings);
        let c =
            load(&[("JWT_SECRET", SECRET), ("LLM_API_KEY", "sk-x"), ("LLM_PROVIDER", "offline")]).unwrap();
        assert!(matches!(c.llm.provider, LlmProvider::Offline));
    }

    #[test]
    fn llm_settings_are_validated_one_line_each_and_the_key_never_shows() {
        let err = load(&[
            ("JWT_SECRET", SECRET),
            ("LLM_PROVIDER", "anthropic"),
            ("LLM_BASE_URL", "api.openai.com"),
            ("LLM_TIMEOUT_SECS", "0"),
            ("LLM_MAX_RETRIES", "9"),
            ("LLM_DAILY_CALLS_PER_USER", "none"),
        ])
        .unwrap_err();
        let keys: Vec<_> = err.0.iter().map(|e| e.key).collect();
        assert_eq!(
            keys,
            [
                "LLM_PROVIDER",
                "LLM_BASE_URL",
                "LLM_TIMEOUT_SECS",
                "LLM_MAX_RETRIES",
                "LLM_DAILY_CALLS_PER_USER"
            ]
        );
        assert_eq!(
            error_keys(&[("JWT_SECRET", SECRET), ("OPENAI_API_KEY", "sk-\u{2013}x")]),
            ["OPENAI_API_KEY"]
        );
        assert_eq!(
            error_keys(&[("JWT_SECRET", SECRET), ("LLM_BASE_URL", "https://exa mple.com/v1")]),
            ["LLM_BASE_URL"]
        );
        let err = load(&[("JWT_SECRET", SECRET), ("LLM_PROVIDER", "openai")]).unwrap_err();
        assert!(err.to_string().starts_with("LLM_PROVIDER: is `openai` but no key is set"), "{err}");
        assert_eq!(
            error_keys(&[("JWT_SECRET", SECRET), ("LLM_API_KEY", "a"), ("LLM_API_KEY_FILE", "/x")]),
            ["LLM_API_KEY"]
        );

        let c = load(&[
            ("JWT_SECRET", SECRET),
            ("LLM_API_KEY", "sk-very-secret-key"),
            ("LLM_BASE_URL", "http://llm.internal/v1"),
            ("LLM_TIMEOUT_SECS", "30"),
        ])
        .unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("sk-very-secret-key"), "{debug}");
        assert!(debug.contains("ApiKey(<redacted>)"), "{debug}");
        assert_eq!(
            c.warnings.len(),
            2,
            "plain http off-host, and a model timeout as long as a request: {:?}",
            c.warnings
        );
    }

    #[test]
    fn the_llm_key_can_come_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("llm-key");
        std::fs::write(&file, "sk-from-file\n").unwrap();
        let c = load(&[("JWT_SECRET", SECRET), ("LLM_API_KEY_FILE", &file.display().to_string())]).unwrap();
        let LlmProvider::OpenAi(openai) = &c.llm.provider else { panic!("{:?}", c.llm) };
        assert_eq!(openai.api_key.expose(), "sk-from-file");

        // OPENAI_API_KEY_FILE too, read when LLM_API_KEY and its file are not set.
        let openai_file = dir.path().join("OPENAI_API_KEY");
        std::fs::write(&openai_file, "sk-openai-file").unwrap();
        let (llm, openai) = (file.display().to_string(), openai_file.display().to_string());
        let c = load(&[("JWT_SECRET", SECRET), ("OPENAI_API_KEY_FILE", &openai)]).unwrap();
        let LlmProvider::OpenAi(key) = &c.llm.provider else { panic!("{:?}", c.llm) };
        assert_eq!(key.api_key.expose(), "sk-openai-file");
        let c = load(&[("JWT_SECRET", SECRET), ("LLM_API_KEY_FILE", &llm), ("OPENAI_API_KEY_FILE", &openai)])
            .unwrap();
        let LlmProvider::OpenAi(key) = &c.llm.provider else { panic!("{:?}", c.llm) };
        assert_eq!(key.api_key.expose(), "sk-from-file", "LLM_API_KEY wins");
        assert_eq!(
            error_keys(&[("JWT_SECRET", SECRET), ("OPENAI_API_KEY", "a"), ("OPENAI_API_KEY_FILE", &openai)]),
            ["OPENAI_API_KEY"]
        );
    }

    /// What the chart does: every key the api may read as `<KEY>_FILE` in a Secret volume, whose
    /// optional keys (the LLM's) may be absent from the Secret, and so from the volume.
    #[test]
    fn absent_files_of_optional_keys_are_unset_and_of_required_keys_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mounted = |key: &str| dir.path().join(key).display().to_string();
        std::fs::write(dir.path().join("JWT_SECRET"), SECRET).unwrap();
        let c = load(&[
            ("JWT_SECRET_FILE", &mounted("JWT_SECRET")),
            ("LLM_API_KEY_FILE", &mounted("LLM_API_KEY")),
            ("OPENAI_API_KEY_FILE", &mounted("OPENAI_API_KEY")),
        ])
        .unwrap();
        assert!(matches!(c.llm.provider, LlmProvider::Offline), "{:?}", c.llm);

        let error = load(&[
            ("JWT_SECRET_FILE", &mounted("JWT_SECRET")),
            ("DATABASE_URL_FILE", &mounted("DATABASE_URL")),
        ])
        .unwrap_err();
        let expected = format!("DATABASE_URL_FILE: cannot read {}", mounted("DATABASE_URL"));
        assert!(error.to_string().starts_with(&expected), "{error}");

        // Present but empty stays an error, for optional keys too.
        std::fs::write(dir.path().join("LLM_API_KEY"), "\n").unwrap();
        let error =
            load(&[("JWT_SECRET", SECRET), ("LLM_API_KEY_FILE", &mounted("LLM_API_KEY"))]).unwrap_err();
        assert!(error.to_string().contains("is empty"), "{error}");
    }

    #[test]
    fn data_dir_and_bind_addr_are_honoured() {
        let c = load(&[
            ("JWT_SECRET", SECRET),
            ("TODO_DATA_DIR", "/var/lib/todo"),
            ("BIND_ADDR", "::"),
            ("PORT", "9000"),
        ])
        .unwrap();
        assert_eq!(c.listen, "[::]:9000".parse().unwrap());
        match c.database {
            DatabaseConfig::Sqlite { path, .. } => {
                assert_eq!(path, PathBuf::from("/var/lib/todo/todo.db"))
            }
            other => panic!("expected SQLite, got {other:?}"),
        }
        assert_eq!(error_keys(&[("JWT_SECRET", SECRET), ("BIND_ADDR", "0.0.0.0:80")]), ["BIND_ADDR"]);
    }
}
