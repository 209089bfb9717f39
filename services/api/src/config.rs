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
    /// Things worth a warning once logging is up (it is not yet while the config is read).
    pub warnings: Vec<String>,
}

/// One problem with one variable; `Display` gives the line a user sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: &'static str,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

#[derive(Debug)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

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
        let database = match r.secret("DATABASE_URL", "DATABASE_URL_FILE") {
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

        let jwt_secret = match r.secret("JWT_SECRET", "JWT_SECRET_FILE") {
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
            warnings,
        })
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
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
    /// error rather than a silent choice.
    fn secret(&mut self, key: &'static str, file_key: &'static str) -> Secret {
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
        match c.database {
            DatabaseConfig::Sqlite { path, .. } => {
                assert_eq!(path, PathBuf::from("./data/todo.db"))
            }
            other => panic!("expected SQLite, got {other:?}"),
        }
        assert!(c.warnings.is_empty());
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
