//! Test harness: a fresh database per test (a temp SQLite file, or a new Postgres database on
//! the server named by `TEST_DATABASE_URL`), the real application spawned on port 0 in-process,
//! and small HTTP helpers.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Once;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;
use todo_api::config::Config;
use todo_api::{AppState, Application, Shutdown};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

pub const JWT_SECRET: &str = "integration-tests-secret-0123456789abcdef";
pub const PASSWORD: &str = "correct horse battery";

/// Runs the test body once per available backend: SQLite always, Postgres when
/// `TEST_DATABASE_URL` is set. `$db` is a fresh, empty [`TestDb`] each time.
#[macro_export]
macro_rules! backend_test {
    ($(#[$attr:meta])* async fn $name:ident($db:ident) $body:block) => {
        $(#[$attr])*
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for kind in $crate::helpers::backends() {
                // Shown with the failure output, so it is clear which backend failed.
                eprintln!("--- backend: {kind:?}");
                let $db = $crate::helpers::TestDb::new(kind).await;
                $body
                $db.cleanup().await;
            }
        }
    };
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres { server_url: String },
}

/// SQLite always; Postgres too when `TEST_DATABASE_URL` is set. Says once, on the terminal
/// (test output capture does not hide it), when Postgres is skipped. With
/// `TODO_REQUIRE_TOOLS=1` (what `cargo xtask test --require-tools` sets, as CI runs it) a
/// missing URL fails instead, so CI cannot skip silently.
pub fn backends() -> Vec<Backend> {
    static NOTICE: Once = Once::new();
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => {
            vec![Backend::Sqlite, Backend::Postgres { server_url: url.trim().to_owned() }]
        }
        _ => {
            assert!(
                std::env::var("TODO_REQUIRE_TOOLS").as_deref() != Ok("1"),
                "--require-tools, but TEST_DATABASE_URL is not set: the Postgres variants of the API \
                 tests would be skipped (start one with `source ci/postgres.sh`)"
            );
            NOTICE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "note: Postgres variants of the API tests skipped: TEST_DATABASE_URL is not \
                     set (export TEST_DATABASE_URL=$(bash ci/postgres.sh | tail -n1) to run them)"
                );
            });
            vec![Backend::Sqlite]
        }
    }
}

/// A database of its own for one test.
pub struct TestDb {
    pub backend: Backend,
    /// Holds the SQLite file (and is the data dir for either backend).
    pub data_dir: tempfile::TempDir,
    /// For Postgres: the database created for this test.
    pub pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let pg_name = match &backend {
            Backend::Sqlite => None,
            Backend::Postgres { server_url } => {
                let mut suffix = [0u8; 6];
                getrandom::fill(&mut suffix).unwrap();
                let name =
                    format!("todo_test_{}", suffix.iter().map(|b| format!("{b:02x}")).collect::<String>());
                let mut admin = sqlx::PgConnection::connect(server_url)
                    .await
                    .expect("connect to TEST_DATABASE_URL (does the role have CREATEDB?)");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .execute(&mut admin)
                    .await
                    .expect("create the test database");
                admin.close().await.ok();
                Some(name)
            }
        };
        Self { backend, data_dir, pg_name }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres { .. })
    }

    /// The Postgres URL of this test's database.
    pub fn postgres_url(&self) -> Option<String> {
        match (&self.backend, &self.pg_name) {
            (Backend::Postgres { server_url }, Some(name)) => Some(with_database(server_url, name)),
            _ => None,
        }
    }

    pub fn sqlite_path(&self) -> std::path::PathBuf {
        self.data_dir.path().join("todo.db")
    }

    /// Environment selecting this database, as the application reads it.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![("TODO_DATA_DIR".to_owned(), self.data_dir.path().display().to_string())];
        if let Some(url) = self.postgres_url() {
            env.push(("DATABASE_URL".to_owned(), url));
        }
        env
    }

    /// Drops this test's Postgres database. Best effort: the test's verdict is already in, and a
    /// database left behind costs only disk; a failure is retried, then reported, never a panic.
    pub async fn cleanup(self) {
        let (Backend::Postgres { server_url }, Some(name)) = (&self.backend, &self.pg_name) else { return };
        let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        let mut last = String::new();
        for attempt in 0..3 {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(200 * attempt)).await;
            }
            match sqlx::PgConnection::connect(server_url).await {
                Ok(mut admin) => {
                    let dropped = sqlx::query(sqlx::AssertSqlSafe(drop.as_str())).execute(&mut admin).await;
                    admin.close().await.ok();
                    match dropped {
                        Ok(_) => return,
                        Err(err) => last = err.to_string(),
                    }
                }
                Err(err) => last = err.to_string(),
            }
        }
        eprintln!("warning: test database {name} was left behind: {last}");
    }
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

/// The `host:port` a Postgres URL points at.
pub fn host_port(url: &str) -> String {
    let rest = &url[url.find("://").map_or(0, |i| i + 3)..];
    let authority = rest.split(['/', '?']).next().unwrap();
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if hostport.contains(':') && !hostport.ends_with(']') {
        hostport.to_owned()
    } else {
        format!("{hostport}:5432")
    }
}

/// `url` pointed at another `host:port`.
pub fn with_host_port(url: &str, new: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let userinfo = rest[..authority_end].rsplit_once('@').map(|(u, _)| format!("{u}@")).unwrap_or_default();
    format!("{}{userinfo}{new}{}", &url[..scheme_end], &rest[authority_end..])
}

pub fn test_config(db_env: &[(String, String)], overrides: &[(&str, &str)]) -> Config {
    let mut env: HashMap<String, String> = [
        ("TODO_ENV", "production"),
        ("JWT_SECRET", JWT_SECRET),
        ("BIND_ADDR", "127.0.0.1"),
        ("PORT", "0"),
        // High enough that only tests about limits ever meet them.
        ("RATE_LIMIT_AUTH_PER_MINUTE", "100000"),
        ("RATE_LIMIT_WRITES_PER_MINUTE", "100000"),
        ("SHUTDOWN_GRACE_SECS", "10"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    env.extend(db_env.iter().cloned());
    env.extend(overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Config::from_lookup(|k| env.get(k).cloned()).expect("valid test configuration")
}

pub fn init_test_logging() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            todo_api::telemetry::init(todo_api::config::LogFormat::Pretty, &filter);
        }
    });
}

/// The application running in this process on a free port.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<Shutdown>>>,
}

pub struct TestUser {
    pub id: i64,
    pub email: String,
    pub token: String,
}

impl TestApp {
    pub async fn spawn(db: &TestDb) -> Self {
        Self::spawn_with(db, &[]).await
    }

    pub async fn spawn_with(db: &TestDb, overrides: &[(&str, &str)]) -> Self {
        Self::spawn_config(test_config(&db.env(), overrides)).await
    }

    pub async fn spawn_config(config: Config) -> Self {
        init_test_logging();
        let app = Application::build(&config).await.expect("the application starts");
        let addr = app.local_addr();
        let state = app.state().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            client: reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap(),
            state,
            stop: Some(stop),
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops the server the way a signal would and returns how it stopped.
    pub async fn stop(mut self) -> Shutdown {
        let _ = self.stop.take().unwrap().send(());
        self.server.take().unwrap().await.expect("server task").expect("server ran")
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let is_json = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        let bytes = response.bytes().await.expect("body read");
        let value = if bytes.is_empty() {
            Value::Null
        } else if is_json {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("{status}: invalid JSON: {}", String::from_utf8_lossy(&bytes)))
        } else {
            Value::String(String::from_utf8_lossy(&bytes).into_owned())
        };
        (status, value)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::PATCH, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    pub async fn signup(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.request(
            Method::POST,
            "/api/auth/signup",
            None,
            Some(json!({ "email": email, "password": password })),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.request(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({ "email": email, "password": password })),
        )
        .await
    }

    /// Signs up a new account with a unique email.
    pub async fn new_user(&self) -> TestUser {
        let mut n = [0u8; 6];
        getrandom::fill(&mut n).unwrap();
        let email = format!("user-{}@example.com", n.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let (status, body) = self.signup(&email, PASSWORD).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        TestUser {
            id: body["user"]["id"].as_i64().unwrap(),
            email,
            token: body["token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn create_task(&self, user: &TestUser, title: &str) -> Value {
        let (status, body) = self.post("/api/tasks", &user.token, json!({ "title": title })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// One chat turn; `conversation` continues that conversation.
    pub async fn chat(
        &self,
        user: &TestUser,
        message: &str,
        conversation: Option<i64>,
    ) -> (StatusCode, Value) {
        let mut body = json!({ "message": message });
        if let Some(id) = conversation {
            body["conversation_id"] = json!(id);
        }
        self.post("/api/chat", &user.token, body).await
    }

    /// A chat turn that must succeed.
    pub async fn say(&self, user: &TestUser, message: &str, conversation: Option<i64>) -> Value {
        let (status, body) = self.chat(user, message, conversation).await;
        assert_eq!(status, StatusCode::OK, "{message:?}: {body}");
        body
    }

    /// Every task of `user` as (title, completed), by title.
    pub async fn task_state(&self, user: &TestUser) -> Vec<(String, bool)> {
        let (status, page) = self.get("/api/tasks?limit=100", &user.token).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let mut tasks: Vec<(String, bool)> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["title"].as_str().unwrap().to_owned(), t["completed"].as_bool().unwrap()))
            .collect();
        tasks.sort();
        tasks
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // A test that did not stop its app still must not leave it serving.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Asserts the uniform error body and returns its code.
pub fn error_code(body: &Value) -> &str {
    let error = &body["error"];
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "error body without a message: {body}");
    error["code"].as_str().unwrap_or_else(|| panic!("not an error body: {body}"))
}

/// Polls `check` until it returns true or `limit` passes; returns whether it did.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A TCP forwarder between the app and a database, which a test can cut and restore to make
/// the database unreachable without stopping it.
pub struct TcpProxy {
    pub addr: SocketAddr,
    enabled: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl TcpProxy {
    pub async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (enabled, _) = watch::channel(true);
        let watch = enabled.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !*watch.borrow() {
                    // Refuse: close at once, like a host that went away.
                    let _ = inbound.shutdown().await;
                    continue;
                }
                let target = target.clone();
                let mut cut = watch.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.wait_for(|enabled| !*enabled) => {}
                    }
                });
            }
        });
        Self { addr, enabled, task }
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.enabled.send_replace(false);
    }

    pub fn restore(&self) {
        self.enabled.send_replace(true);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[test]
fn url_helpers_rewrite_only_what_they_should() {
    let url = "postgres://u:p@127.0.0.1:5432/todo_test?sslmode=disable";
    assert_eq!(with_database(url, "x"), "postgres://u:p@127.0.0.1:5432/x?sslmode=disable");
    assert_eq!(host_port(url), "127.0.0.1:5432");
    assert_eq!(host_port("postgres://u@db/x"), "db:5432");
    assert_eq!(
        with_host_port(url, "127.0.0.1:6000"),
        "postgres://u:p@127.0.0.1:6000/todo_test?sslmode=disable"
    );
    assert_eq!(with_host_port("postgres://db@db/db", "h:1"), "postgres://db@h:1/db");
}
