use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::*;

/// Fails with EMFILE `failures` times, then hands out one in-memory connection, then waits.
struct OutOfDescriptors {
    failures: usize,
    calls: Arc<AtomicUsize>,
    connection: Option<DuplexStream>,
}

impl Accept for OutOfDescriptors {
    type Io = DuplexStream;

    async fn accept(&mut self) -> io::Result<(DuplexStream, SocketAddr)> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if call < self.failures {
            return Err(io::Error::from_raw_os_error(24));
        }
        match self.connection.take() {
            Some(io) => Ok((io, "127.0.0.1:4242".parse().unwrap())),
            None => std::future::pending().await,
        }
    }
}

#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn accept_errors_reach_the_log_and_are_retried_with_a_back_off_not_a_spin() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
    let _default = tracing::subscriber::set_default(subscriber);

    let calls = Arc::new(AtomicUsize::new(0));
    let (client, server_side) = tokio::io::duplex(4096);
    let listener = OutOfDescriptors { failures: 12, calls: calls.clone(), connection: Some(server_side) };
    let router = Router::new().route("/", get(|| async { "still serving" }));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = tokio::time::Instant::now();
    let server = tokio::spawn(serve(listener, router, Timeouts::default(), async {
        let _ = stopped.await;
    }));

    // Time is paused and advances only while everything waits: a loop that retried without
    // sleeping would make thousands of calls before any virtual time passed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let failures_in_3s = calls.load(Ordering::SeqCst);
    // 10, 20, 40, … 640 ms, then 1 s apart: 9 attempts in the first 3 s.
    assert!((5..=12).contains(&failures_in_3s), "{failures_in_3s} accept attempts in 3 s");

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let errors: Vec<&str> = text.lines().filter(|l| l.contains("cannot accept connections")).collect();
    assert_eq!(errors.len(), failures_in_3s, "one error line per failure:\n{text}");
    assert!(errors[0].contains("ERROR"), "{text}");
    assert!(errors[0].contains("os error 24"), "{text}");
    assert!(errors[0].contains("ulimit -n"), "{text}");
    assert!(errors.last().unwrap().contains("retry_in_ms=1000"), "the back-off is capped at 1 s: {text}");

    // Once descriptors are available again, connections are served.
    let (mut read, mut write) = tokio::io::split(client);
    write.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut response = String::new();
    read.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("still serving"), "{response}");
    assert!(started.elapsed() >= Duration::from_secs(3));

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(1), server).await.expect("the server stops").unwrap();
}
