//! Slow and idle clients cannot hold todo-web's connections: a header must arrive within
//! HEADER_READ_TIMEOUT_SECS, a keep-alive connection may idle for IDLE_TIMEOUT_SECS, and
//! SIGTERM closes idle connections at once while an in-flight request still completes.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use serde_json::Value;
use todo_web::{Application, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc};

/// Generous: the machine running the tests may be busy compiling.
const PATIENCE: Duration = Duration::from_secs(30);

async fn spawn_app(header_read: &str, idle: &str) -> SocketAddr {
    let config = Config::from_lookup(|key| match key {
        "PORT" => Some("0".to_owned()),
        "BIND_ADDR" => Some("127.0.0.1".to_owned()),
        "HEADER_READ_TIMEOUT_SECS" => Some(header_read.to_owned()),
        "IDLE_TIMEOUT_SECS" => Some(idle.to_owned()),
        _ => None,
    })
    .unwrap();
    let app = Application::build(&config).await.unwrap();
    let addr = app.local_addr();
    tokio::spawn(app.run_until(std::future::pending()));
    addr
}

/// Reads until the server closes the connection (or resets it); returns what arrived and when
/// the connection ended, measured from `since`.
async fn until_closed(stream: &mut TcpStream, since: Instant) -> (String, Duration) {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("the server closes the connection")
        {
            Ok(0) | Err(_) => return (String::from_utf8_lossy(&received).into_owned(), since.elapsed()),
            Ok(n) => received.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one response with a Content-Length body, leaving the connection open.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut byte = [0u8; 1];
    while !received.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut byte)).await.expect("a response").unwrap();
        assert_eq!(n, 1, "closed mid-response: {}", String::from_utf8_lossy(&received));
        received.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&received).to_ascii_lowercase();
    let length: usize =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.unwrap();
    received.extend_from_slice(&body);
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_read_timeout() {
    let addr = spawn_app("1", "30").await;
    let opened = Instant::now();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let (received, after) = until_closed(&mut silent, opened).await;
    assert!(received.is_empty(), "{received}");
    assert!(after >= Duration::from_millis(900) && after < Duration::from_secs(10), "closed after {after:?}");
}

#[tokio::test]
async fn a_client_trickling_its_header_a_byte_at_a_time_is_closed() {
    let addr = spawn_app("1", "30").await;
    let opened = Instant::now();
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    // Slowloris: a header that would never end, one byte every 100 ms.
    let trickle = tokio::spawn(async move {
        write.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ").await.unwrap();
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if write.write_all(b"a").await.is_err() {
                return;
            }
        }
    });
    let mut received = Vec::new();
    let closed_after = loop {
        let mut buf = [0u8; 1024];
        match tokio::time::timeout(PATIENCE, read.read(&mut buf))
            .await
            .expect("the server closes the connection")
        {
            Ok(0) | Err(_) => break opened.elapsed(),
            Ok(n) => received.extend_from_slice(&buf[..n]),
        }
    };
    trickle.abort();
    assert!(received.is_empty(), "{}", String::from_utf8_lossy(&received));
    // Closed although a byte arrived every 100 ms: the timeout is for the whole header.
    assert!(closed_after < Duration::from_secs(10), "closed after {closed_after:?}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let addr = spawn_app("1", "3").await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let answered = Instant::now();
    // Idle, not slow: it outlives the 1 s header timeout, then the 3 s idle timeout closes it.
    let (received, after) = until_closed(&mut stream, answered).await;
    assert!(received.is_empty(), "{received}");
    assert!(
        after >= Duration::from_millis(2500) && after < Duration::from_secs(15),
        "closed after {after:?}"
    );
}

#[tokio::test]
async fn a_keep_alive_connection_serves_requests_sent_within_the_idle_timeout() {
    let addr = spawn_app("1", "3").await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    for _ in 0..3 {
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
        assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
        // Longer than a header may take, shorter than the idle timeout.
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
}

/// A stand-in API whose `/api/slow` answers only when released, and says when a request arrived.
async fn spawn_slow_upstream() -> (SocketAddr, Arc<Notify>, mpsc::UnboundedReceiver<()>) {
    let release = Arc::new(Notify::new());
    let (arrived_tx, arrived) = mpsc::unbounded_channel();
    let app = Router::new().route(
        "/api/slow",
        get({
            let release = release.clone();
            move || async move {
                let _ = arrived_tx.send(());
                release.notified().await;
                "finished during shutdown"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, release, arrived)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_idle_connections_at_once_and_lets_the_in_flight_request_finish() {
    let (upstream, release, mut arrived) = spawn_slow_upstream().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_todo-web"))
        .env_clear()
        .envs([
            ("PORT", "0".to_owned()),
            ("BIND_ADDR", "127.0.0.1".to_owned()),
            ("LOG_FORMAT", "json".to_owned()),
            ("API_UPSTREAM", format!("http://{upstream}")),
            // Long, so that only the drain can explain prompt closes and a prompt exit.
            ("SHUTDOWN_GRACE_SECS", "60".to_owned()),
            ("HEADER_READ_TIMEOUT_SECS", "120".to_owned()),
            ("IDLE_TIMEOUT_SECS", "120".to_owned()),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (lines_tx, mut lines) = mpsc::unbounded_channel::<Value>();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = lines_tx.send(serde_json::from_str(&line).unwrap_or(Value::String(line)));
        }
    });
    let listening = loop {
        let event = tokio::time::timeout(PATIENCE, lines.recv()).await.expect("todo-web starts").unwrap();
        if event["message"] == "todo-web listening" {
            break event;
        }
    };
    let addr: SocketAddr =
        listening["address"].as_str().unwrap().trim_start_matches("http://").parse().unwrap();

    let silent = TcpStream::connect(addr).await.unwrap();
    let mut half_header = TcpStream::connect(addr).await.unwrap();
    half_header.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n").await.unwrap();
    let mut keep_alive = TcpStream::connect(addr).await.unwrap();
    keep_alive.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
    assert!(read_response(&mut keep_alive).await.starts_with("HTTP/1.1 200"));
    let mut in_flight = TcpStream::connect(addr).await.unwrap();
    in_flight.write_all(b"GET /api/slow HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
    tokio::time::timeout(PATIENCE, arrived.recv()).await.expect("the slow request reaches the upstream");

    let signalled = Instant::now();
    // SAFETY: sending a signal to a child we spawned and have not reaped.
    assert_eq!(unsafe { libc::kill(i32::try_from(child.id()).unwrap(), libc::SIGTERM) }, 0);
    for (name, mut stream) in
        [("silent", silent), ("half a header", half_header), ("idle keep-alive", keep_alive)]
    {
        let (received, after) = until_closed(&mut stream, signalled).await;
        assert!(received.is_empty(), "{name}: {received}");
        assert!(after < Duration::from_secs(10), "{name} closed {after:?} after SIGTERM");
    }

    release.notify_one();
    let (response, _) = until_closed(&mut in_flight, signalled).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("finished during shutdown"), "{response}");

    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(signalled.elapsed() < PATIENCE, "todo-web did not exit within {PATIENCE:?} of SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0));
    assert!(signalled.elapsed() < Duration::from_secs(15), "exit took {:?}", signalled.elapsed());
}
