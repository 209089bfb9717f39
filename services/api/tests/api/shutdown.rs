//! The real binary: configuration errors, and graceful shutdown on signals.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::backend_test;
use crate::connections::{read_response, until_closed};
use crate::helpers::{JWT_SECRET, TestDb, eventually};

const BINARY: &str = env!("CARGO_BIN_EXE_todo-api");
/// Generous: the machine running the tests may be busy compiling.
const PATIENCE: Duration = Duration::from_secs(60);

/// Every variable the binary reads, cleared so the developer's own environment cannot leak in.
const KNOWN_KEYS: [&str; 20] = [
    "TODO_ENV",
    "PORT",
    "BIND_ADDR",
    "DATABASE_URL",
    "DATABASE_MAX_CONNECTIONS",
    "TODO_DATA_DIR",
    "JWT_SECRET",
    "LOG_FORMAT",
    "RUST_LOG",
    "LOG_LEVEL",
    "RATE_LIMIT_AUTH_PER_MINUTE",
    "RATE_LIMIT_WRITES_PER_MINUTE",
    "TRUST_PROXY_HEADERS",
    "REQUEST_TIMEOUT_SECS",
    "SHUTDOWN_GRACE_SECS",
    "HEADER_READ_TIMEOUT_SECS",
    "IDLE_TIMEOUT_SECS",
    "TEST_DATABASE_URL",
    "JWT_SECRET_FILE",
    "DATABASE_URL_FILE",
];

/// The real binary as a child process, logging JSON to a pipe; killed when dropped.
pub struct Server {
    child: Child,
    logs: mpsc::Receiver<Value>,
    seen: Vec<Value>,
    pub addr: SocketAddr,
}

impl Server {
    /// Starts it on a free loopback port and waits until it listens.
    pub fn start(db: &TestDb, extra: &[(&str, &str)]) -> Self {
        let mut server = Self::spawn(db, extra);
        let listening = server.wait_for_log("listening");
        server.addr = listening["address"].as_str().unwrap().parse().unwrap();
        server
    }

    /// Starts the process without waiting for it to listen.
    fn spawn(db: &TestDb, extra: &[(&str, &str)]) -> Self {
        let mut command = Command::new(BINARY);
        for key in KNOWN_KEYS {
            command.env_remove(key);
        }
        command
            .envs(db.env())
            .envs([
                ("JWT_SECRET", JWT_SECRET),
                ("PORT", "0"),
                ("BIND_ADDR", "127.0.0.1"),
                ("LOG_FORMAT", "json"),
                ("RUST_LOG", "info"),
            ])
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("start the todo-api binary");
        let stdout = child.stdout.take().unwrap();
        let (tx, logs) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let event = serde_json::from_str(&line)
                    .unwrap_or_else(|_| panic!("a log line that is not JSON: {line}"));
                if tx.send(event).is_err() {
                    break;
                }
            }
        });
        Server { child, logs, seen: Vec::new(), addr: "0.0.0.0:0".parse().unwrap() }
    }

    /// Waits for the log event with this message (JSON logs put it under `message`).
    fn wait_for_log(&mut self, message: &str) -> Value {
        if let Some(seen) = self.seen.iter().find(|e| e["message"] == message) {
            return seen.clone();
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.logs.recv_timeout(left) {
                Ok(event) => {
                    self.seen.push(event.clone());
                    if event["message"] == message {
                        return event;
                    }
                }
                Err(_) => panic!("no `{message}` log within {PATIENCE:?}; saw: {:#?}", self.seen),
            }
        }
    }

    fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY: sending a signal to a child we spawned and have not reaped.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill failed");
    }

    fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Collect what it logged on the way out.
                while let Ok(event) = self.logs.recv_timeout(Duration::from_secs(5)) {
                    self.seen.push(event);
                }
                return status;
            }
            assert!(Instant::now() < deadline, "the process did not exit within {limit:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn signup(addr: SocketAddr) -> String {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/api/auth/signup"))
        .json(&json!({"email": "drain@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

/// Opens a task creation whose body is only half sent, and returns once the handler is
/// reading it: hyper answers `Expect: 100-continue` only when the body is first polled.
async fn half_sent_request(addr: SocketAddr, token: &str, body: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/tasks HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut interim = Vec::new();
    let mut byte = [0u8; 1];
    while !interim.ends_with(b"\r\n\r\n") {
        tokio::time::timeout(PATIENCE, stream.read_exact(&mut byte))
            .await
            .expect("100 Continue in time")
            .unwrap();
        interim.push(byte[0]);
    }
    assert!(interim.starts_with(b"HTTP/1.1 100"), "{}", String::from_utf8_lossy(&interim));
    stream.write_all(&body.as_bytes()[..body.len() / 2]).await.unwrap();
    stream
}

backend_test!(
    async fn sigterm_lets_in_flight_requests_finish_then_exits_zero(db) {
        let mut server = tokio::task::block_in_place(|| Server::start(&db, &[]));
        let addr = server.addr;
        let token = signup(addr).await;
        let body = json!({"title": "finished during shutdown"}).to_string();
        let mut in_flight = half_sent_request(addr, &token, &body).await;

        server.signal(libc::SIGTERM);
        tokio::task::block_in_place(|| server.wait_for_log("shutdown signal received"));
        // New connections are refused from now on.
        let refused = eventually(PATIENCE, || async { TcpStream::connect(addr).await.is_err() }).await;
        assert!(refused, "still accepting connections after SIGTERM");

        // The request that was in flight completes normally.
        in_flight.write_all(&body.as_bytes()[body.len() / 2..]).await.unwrap();
        let mut response = Vec::new();
        tokio::time::timeout(PATIENCE, in_flight.read_to_end(&mut response))
            .await
            .expect("the in-flight request is answered")
            .unwrap();
        let response = String::from_utf8_lossy(&response);
        assert!(response.starts_with("HTTP/1.1 201"), "{response}");
        assert!(response.contains("finished during shutdown"), "{response}");

        let status = tokio::task::block_in_place(|| server.wait_exit(PATIENCE));
        assert_eq!(status.code(), Some(0), "exit status {status:?}; logs: {:#?}", server.seen);
        let messages: Vec<_> = server.seen.iter().filter_map(|e| e["message"].as_str()).collect();
        assert!(messages.contains(&"database pool closed"), "{messages:?}");
        assert!(messages.contains(&"stopped cleanly"), "{messages:?}");
    }
);

backend_test!(
    async fn sigterm_closes_idle_connections_at_once_and_lets_the_in_flight_request_finish(db) {
        // Long, so that only the drain can explain prompt closes and a prompt exit.
        let mut server = tokio::task::block_in_place(|| {
            Server::start(
                &db,
                &[("SHUTDOWN_GRACE_SECS", "60"), ("HEADER_READ_TIMEOUT_SECS", "120"), ("IDLE_TIMEOUT_SECS", "120")],
            )
        });
        let addr = server.addr;
        let token = signup(addr).await;
        let silent = TcpStream::connect(addr).await.unwrap();
        let mut half_header = TcpStream::connect(addr).await.unwrap();
        half_header.write_all(b"GET /api/tasks HTTP/1.1\r\nHost: t\r\n").await.unwrap();
        let mut keep_alive = TcpStream::connect(addr).await.unwrap();
        keep_alive.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
        assert!(read_response(&mut keep_alive).await.starts_with("HTTP/1.1 200"));
        let body = json!({"title": "finished during shutdown"}).to_string();
        let mut in_flight = half_sent_request(addr, &token, &body).await;

        let signalled = Instant::now();
        server.signal(libc::SIGTERM);
        for (name, mut stream) in [("silent", silent), ("half a header", half_header), ("idle keep-alive", keep_alive)] {
            let (received, after) = until_closed(&mut stream, signalled).await;
            assert!(received.is_empty(), "{name}: {received}");
            assert!(after < Duration::from_secs(10), "{name} closed {after:?} after SIGTERM");
        }

        in_flight.write_all(&body.as_bytes()[body.len() / 2..]).await.unwrap();
        let (response, _) = until_closed(&mut in_flight, signalled).await;
        assert!(response.starts_with("HTTP/1.1 201"), "{response}");
        assert!(response.contains("finished during shutdown"), "{response}");

        let status = tokio::task::block_in_place(|| server.wait_exit(PATIENCE));
        assert_eq!(status.code(), Some(0), "exit status {status:?}; logs: {:#?}", server.seen);
        // Not the 60 s grace period: nothing was left to wait for.
        assert!(signalled.elapsed() < Duration::from_secs(20), "exit took {:?}", signalled.elapsed());
    }
);

backend_test!(
    async fn shutdown_gives_up_on_stuck_requests_after_the_grace_period(db) {
        let mut server = tokio::task::block_in_place(|| {
            Server::start(&db, &[("SHUTDOWN_GRACE_SECS", "1"), ("REQUEST_TIMEOUT_SECS", "600")])
        });
        let token = signup(server.addr).await;
        let _stuck = half_sent_request(server.addr, &token, "{\"title\": \"never finished\"}").await;
        let signalled = Instant::now();
        server.signal(libc::SIGTERM);
        let status = tokio::task::block_in_place(|| server.wait_exit(PATIENCE));
        assert_eq!(status.code(), Some(1), "a cut-off drain is reported as a failure");
        // 1 s of grace plus at most the 5 s pool-close bound, with room for a slow machine.
        assert!(signalled.elapsed() < Duration::from_secs(30), "{:?}", signalled.elapsed());
        let cut_off = server.seen.iter().find(|e| {
            e["message"].as_str().is_some_and(|m| m.contains("grace period"))
        });
        assert_eq!(cut_off.expect("an error log says why")["abandoned"], 1);
    }
);

#[test]
fn a_stop_request_does_not_wait_for_a_database_that_is_not_there() {
    // A port nothing listens on: startup would keep retrying for 30 s.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let db = TestDb {
        backend: crate::helpers::Backend::Sqlite,
        data_dir: tempfile::tempdir().unwrap(),
        pg_name: None,
    };
    let url = format!("postgres://todo:todo@127.0.0.1:{port}/todo");
    let mut server = Server::spawn(&db, &[("DATABASE_URL", url.as_str())]);
    let waiting = server.wait_for_log("database not reachable yet");
    assert!(waiting["error"].as_str().unwrap().to_lowercase().contains("refused"), "{waiting}");
    let signalled = Instant::now();
    server.signal(libc::SIGTERM);
    let status = server.wait_exit(PATIENCE);
    assert_eq!(status.code(), Some(0));
    assert!(signalled.elapsed() < Duration::from_secs(10), "took {:?}", signalled.elapsed());
    server.wait_for_log("stopped before startup finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_an_idle_server_cleanly() {
    let db = TestDb::new(crate::helpers::Backend::Sqlite).await;
    let mut server = tokio::task::block_in_place(|| Server::start(&db, &[]));
    server.signal(libc::SIGINT);
    let status = tokio::task::block_in_place(|| server.wait_exit(PATIENCE));
    assert_eq!(status.code(), Some(0));
    assert!(server.seen.iter().any(|e| e["signal"] == "SIGINT"), "{:#?}", server.seen);
}

#[test]
fn invalid_configuration_exits_2_with_one_line_per_problem() {
    let data = tempfile::tempdir().unwrap();
    let mut command = Command::new(BINARY);
    for key in KNOWN_KEYS {
        command.env_remove(key);
    }
    let output = command
        .env("TODO_DATA_DIR", data.path())
        .env("JWT_SECRET", "short")
        .env("PORT", "eighty")
        .env("DATABASE_URL", "mysql://db/todo")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(lines.iter().all(|l| l.starts_with("todo-api: invalid configuration: ")), "{stderr}");
    assert!(stderr.contains("JWT_SECRET: must be at least 32 bytes (got 5)"), "{stderr}");
    assert!(stderr.contains("PORT: must be a port number"), "{stderr}");
    assert!(stderr.contains("DATABASE_URL: must be a postgres://"), "{stderr}");
    assert!(output.stdout.is_empty(), "nothing starts: {}", String::from_utf8_lossy(&output.stdout));

    // Production without any secret says what to do.
    let mut command = Command::new(BINARY);
    for key in KNOWN_KEYS {
        command.env_remove(key);
    }
    let output = command.env("TODO_DATA_DIR", data.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("JWT_SECRET: is required"), "{stderr}");
    assert!(!data.path().join("todo.db").exists(), "no database is created on bad config");
}
