//! Slow and idle clients cannot hold the api's connections: a header must arrive within
//! HEADER_READ_TIMEOUT_SECS, a keep-alive connection may idle for IDLE_TIMEOUT_SECS. (SIGTERM
//! with idle connections open: `shutdown.rs`.) Connection handling does not touch the
//! database, so these run on SQLite only.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Backend, TestApp, TestDb};

/// Generous: the machine running the tests may be busy compiling.
const PATIENCE: Duration = Duration::from_secs(30);

/// Reads until the server closes the connection (or resets it); returns what arrived and when
/// the connection ended, measured from `since`.
pub async fn until_closed(stream: &mut TcpStream, since: Instant) -> (String, Duration) {
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
pub async fn read_response(stream: &mut TcpStream) -> String {
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

async fn spawn(db: &TestDb, header_read: &str, idle: &str) -> TestApp {
    TestApp::spawn_with(db, &[("HEADER_READ_TIMEOUT_SECS", header_read), ("IDLE_TIMEOUT_SECS", idle)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_read_timeout() {
    let db = TestDb::new(Backend::Sqlite).await;
    let app = spawn(&db, "1", "30").await;
    let opened = Instant::now();
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    let (received, after) = until_closed(&mut silent, opened).await;
    assert!(received.is_empty(), "{received}");
    assert!(after >= Duration::from_millis(900) && after < Duration::from_secs(10), "closed after {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trickling_its_header_a_byte_at_a_time_is_closed() {
    let db = TestDb::new(Backend::Sqlite).await;
    let app = spawn(&db, "1", "30").await;
    let opened = Instant::now();
    let (mut read, mut write) = TcpStream::connect(app.addr).await.unwrap().into_split();
    // Slowloris: a header that would never end, one byte every 100 ms.
    let trickle = tokio::spawn(async move {
        write.write_all(b"GET /api/tasks HTTP/1.1\r\nHost: t\r\nX-Slow: ").await.unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let db = TestDb::new(Backend::Sqlite).await;
    let app = spawn(&db, "1", "3").await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_connection_serves_requests_sent_within_the_idle_timeout() {
    let db = TestDb::new(Backend::Sqlite).await;
    let app = spawn(&db, "1", "3").await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    for _ in 0..3 {
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
        assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
        // Longer than a header may take, shorter than the idle timeout.
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
}
