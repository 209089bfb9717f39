//! The database handle: one of two pools, so every query is written once and compiled for both.
//!
//! sqlx's `Any` driver would hide the choice, but it cannot decode SQLite booleans nor chrono
//! types. Instead each store function runs the same SQL (SQLite accepts `$N` placeholders) through
//! [`on_pool!`], which expands it once per backend.

mod timestamp;
mod unicode_lower;

use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::Connection as _;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use timestamp::Timestamp;

use crate::config::DatabaseConfig;

static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a request waits for a free connection before failing; also bounds how long a
/// readiness probe can hang on a database that stopped answering.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a SQLite connection waits for another's lock before answering "database is locked".
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// SQLite's result code for "database is locked".
const SQLITE_BUSY: &str = "5";
/// A pooled Postgres connection idle for this long is pinged before a request gets it.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);
/// A database started next to the API (a bundled Postgres, a compose file) may need a moment.
const STARTUP_CONNECT_PATIENCE: Duration = Duration::from_secs(30);

#[derive(Clone, Debug)]
pub enum Db {
    Postgres(PgPool),
    Sqlite(SqliteDb),
}

#[derive(Clone, Debug)]
pub struct SqliteDb {
    pub pool: SqlitePool,
    path: PathBuf,
    identity: FileIdentity,
}

/// Runs `$body` with `$pool` bound to whichever pool `$db` holds. The body is compiled twice, so
/// it must be valid for both `PgPool` and `SqlitePool`.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Postgres($pool) => $body,
            $crate::db::Db::Sqlite($crate::db::SqliteDb { pool: $pool, .. }) => $body,
        }
    };
}
pub(crate) use on_pool;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("DATABASE_URL is not a usable Postgres URL: {0}")]
    InvalidUrl(#[source] sqlx::Error),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: PathBuf, source: io::Error },
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("database migrations failed: {0}")]
    Migrate(#[source] MigrateError),
}

#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    #[error("the database did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the database is unreachable: {0}")]
    Query(#[source] sqlx::Error),
    #[error("the SQLite file {0} is missing or was replaced")]
    SqliteFileGone(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

impl Db {
    /// Connects, waiting up to [`STARTUP_CONNECT_PATIENCE`] for a Postgres server that is not up
    /// yet. Errors that waiting cannot fix (bad password, missing database) fail at once.
    pub async fn connect(config: &DatabaseConfig) -> Result<Self, DbError> {
        match config {
            DatabaseConfig::Postgres { url, max_connections } => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(DbError::InvalidUrl)?
                    .application_name("todo-api");
                let pool_options = PgPoolOptions::new()
                    .max_connections(*max_connections)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    // Neon and other managed servers close idle connections on their side.
                    .idle_timeout(Duration::from_secs(300))
                    // sqlx pings a connection when it goes back to the pool and, by default,
                    // again when it is taken out: a round trip to the server each time, so two
                    // of the three a query costs. One back in the pool for less than
                    // PING_IF_IDLE_FOR passed its return ping moments ago; only a connection
                    // idle for longer is pinged (and replaced if dead) before it is handed out.
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for >= PING_IF_IDLE_FOR {
                                conn.ping().await?;
                            }
                            Ok(true)
                        })
                    });
                // Probe with single connections first: a pool that cannot connect reports only
                // "timed out", while a connection says why (refused, unknown host, bad password).
                let started = Instant::now();
                let mut delay = Duration::from_millis(250);
                loop {
                    match PgConnection::connect_with(&options).await {
                        Ok(probe) => {
                            let _ = probe.close().await;
                            break;
                        }
                        Err(e) if is_transient(&e) && started.elapsed() < STARTUP_CONNECT_PATIENCE => {
                            tracing::warn!(error = %e, retry_in = ?delay, "database not reachable yet");
                            tokio::time::sleep(delay).await;
                            delay = (delay * 2).min(Duration::from_secs(4));
                        }
                        Err(e) => return Err(DbError::Connect(e)),
                    }
                }
                let pool = pool_options.connect_with(options).await.map_err(DbError::Connect)?;
                Ok(Db::Postgres(pool))
            }
            DatabaseConfig::Sqlite { path, max_connections } => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|source| DbError::DataDir { path: dir.to_owned(), source })?;
                }
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    // WAL lets readers proceed while one connection writes.
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    // Sort and index scratch space in memory, not in files under /tmp: the
                    // container's root filesystem is read-only and only the data dir is writable.
                    .pragma("temp_store", "memory");
                let pool_options = SqlitePoolOptions::new()
                    .max_connections(*max_connections)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    // Search compares Unicode-lower-cased text, as on Postgres.
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            let mut handle = conn.lock_handle().await?;
                            unicode_lower::register(handle.as_raw_handle())
                        })
                    });
                // Processes opening a new database together: switching it to WAL can answer
                // SQLITE_BUSY without waiting on the busy timeout, so the open is retried for as long.
                let started = Instant::now();
                let pool = loop {
                    match pool_options.clone().connect_with(options.clone()).await {
                        Err(sqlx::Error::Database(err))
                            if err.code().as_deref() == Some(SQLITE_BUSY)
                                && started.elapsed() < SQLITE_BUSY_TIMEOUT =>
                        {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        result => break result.map_err(DbError::Connect)?,
                    }
                };
                let identity = FileIdentity::of(path)
                    .map_err(|source| DbError::DataDir { path: path.clone(), source })?;
                Ok(Db::Sqlite(SqliteDb { pool, path: path.clone(), identity }))
            }
        }
    }

    /// Applies pending migrations, once, even when several processes start together: on
    /// Postgres sqlx holds an advisory lock for the whole run; for SQLite, whose migrator takes
    /// no lock, we hold an exclusive lock on a file next to the database.
    pub async fn migrate(&self) -> Result<(), DbError> {
        match self {
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await.map_err(DbError::Migrate),
            Db::Sqlite(db) => {
                let lock_path = db.path.with_extension("migrate.lock");
                let lock = tokio::task::spawn_blocking(move || {
                    let file = std::fs::OpenOptions::new()
                        .create(true)
                        .truncate(false)
                        .write(true)
                        .open(&lock_path)
                        .and_then(|f| f.lock().map(|()| f));
                    file.map_err(|source| DbError::DataDir { path: lock_path, source })
                })
                .await
                .expect("the lock task does not panic")?;
                let result = SQLITE_MIGRATIONS.run(&db.pool).await.map_err(DbError::Migrate);
                drop(lock);
                result
            }
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Postgres(_) => "postgres",
            Db::Sqlite(_) => "sqlite",
        }
    }

    /// Answers whether requests that need the database can be served now.
    ///
    /// For SQLite "reachable" means the file we opened is still the one at its path: if a volume
    /// is unmounted or the file deleted, open connections keep writing to an unlinked inode and
    /// every write is silently lost, while `SELECT 1` keeps succeeding.
    pub async fn check_ready(&self, timeout: Duration) -> Result<(), NotReady> {
        if let Db::Sqlite(db) = self
            && FileIdentity::of(&db.path).ok() != Some(db.identity)
        {
            return Err(NotReady::SqliteFileGone(db.path.clone()));
        }
        let ping = async { on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ())) };
        match tokio::time::timeout(timeout, ping).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(NotReady::Query(e)),
            Err(_) => Err(NotReady::Timeout(timeout)),
        }
    }

    /// Where the data lives, for the startup log: never the password.
    pub fn location(&self) -> String {
        match self {
            Db::Postgres(pool) => {
                let o = pool.connect_options();
                format!(
                    "{}:{}/{} (sslmode {:?})",
                    o.get_host(),
                    o.get_port(),
                    o.get_database().unwrap_or(""),
                    o.get_ssl_mode()
                )
            }
            Db::Sqlite(db) => db.path.display().to_string(),
        }
    }

    pub fn pool_stats(&self) -> PoolStats {
        on_pool!(self, pool => PoolStats {
            open: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        })
    }

    /// Waits for checked-out connections to come back, then closes them all.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

/// Whether waiting might help: the server not listening yet, or its name not resolvable yet
/// (a Service still being created). A certificate the server presents will not change, nor will
/// a refused password.
fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(io) => {
            !matches!(io.kind(), std::io::ErrorKind::InvalidData | std::io::ErrorKind::PermissionDenied)
        }
        sqlx::Error::PoolTimedOut => true,
        // 57P03: "the database system is starting up".
        sqlx::Error::Database(d) => d.code().as_deref() == Some("57P03"),
        _ => false,
    }
}

/// Device and inode of a file: equal only if the path still names the file we opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    dev: u64,
    ino: u64,
}

impl FileIdentity {
    #[cfg(unix)]
    fn of(path: &Path) -> io::Result<Self> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path)?;
        Ok(Self { dev: meta.dev(), ino: meta.ino() })
    }

    /// Elsewhere only the file's presence can be checked.
    #[cfg(not(unix))]
    fn of(path: &Path) -> io::Result<Self> {
        std::fs::metadata(path).map(|_| Self { dev: 0, ino: 0 })
    }
}

/// True when a database error is the unique-constraint violation for a duplicate row.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| d.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use sqlx::Row as _;

    use super::*;

    /// A pragma's value as text (SQLite converts integers on request).
    async fn pragma(pool: &SqlitePool, sql: &'static str) -> String {
        let row = sqlx::query(sql).fetch_one(pool).await.unwrap();
        row.try_get_unchecked::<String, _>(0).unwrap()
    }

    #[tokio::test]
    async fn sqlite_is_set_up_for_a_container_with_one_writable_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not/yet/there/todo.db");
        let db =
            Db::connect(&DatabaseConfig::Sqlite { path: path.clone(), max_connections: 2 }).await.unwrap();
        db.migrate().await.unwrap();
        let Db::Sqlite(sqlite) = &db else { unreachable!() };
        assert!(path.exists(), "the data directory is created");
        assert_eq!(pragma(&sqlite.pool, "PRAGMA temp_store").await, "2", "scratch space in memory, not /tmp");
        assert_eq!(pragma(&sqlite.pool, "PRAGMA foreign_keys").await, "1");
        assert_eq!(pragma(&sqlite.pool, "PRAGMA journal_mode").await, "wal");
        assert_eq!(db.location(), path.display().to_string());
        db.close().await;
    }
}
