//! The accept loop todo-api and todo-web share, in place of `axum::serve`, which can neither
//! time out a connection that never finishes its request header nor one left idle between
//! requests, and whose accept-error log is compiled out without axum's `tracing` feature.
//!
//! - A new connection must deliver a complete request header within [`Timeouts::header_read`]
//!   (a silent client, or one trickling a byte at a time, is closed); so must each later
//!   request once its first byte arrives.
//! - A keep-alive connection left with no request for [`Timeouts::idle`] is closed.
//! - When the shutdown future resolves, the listener is closed (new connections are refused),
//!   connections with no request in progress are closed at once, and the others after their
//!   response; [`serve`] returns when the last one has.
//! - An accept error (out of file descriptors, say) is logged at error level and retried after
//!   a back-off growing to [`MAX_ACCEPT_BACKOFF`], so it neither goes unseen nor spins.

mod connection;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long a connection may take to send a request header, and may sit idle between requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub header_read: Duration,
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { header_read: Duration::from_secs(10), idle: Duration::from_secs(60) }
    }
}

/// The first wait after a failed accept; it doubles on each further failure.
pub const MIN_ACCEPT_BACKOFF: Duration = Duration::from_millis(10);
/// The longest wait between accept attempts while accepting keeps failing.
pub const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Where connections come from: a [`TcpListener`], or a scripted source in tests.
pub trait Accept: Send + 'static {
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, SocketAddr)>> + Send;
}

impl Accept for TcpListener {
    type Io = TcpStream;

    async fn accept(&mut self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = TcpListener::accept(self).await?;
        // Small JSON answers should not wait for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        Ok((stream, peer))
    }
}

/// Serves `router` over HTTP/1.1 on `listener` until `shutdown` resolves, then drains (see the
/// module documentation). Each request carries `ConnectInfo<SocketAddr>` with the peer address.
pub async fn serve<L: Accept>(
    mut listener: L,
    router: Router,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()>,
) {
    let (drain_tx, drain_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    let mut backoff: Option<Duration> = None;
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((io, peer)) => {
                backoff = None;
                tokio::spawn(connection::serve(io, peer, router.clone(), timeouts, drain_rx.clone()));
            }
            // The client gave up before we took the connection: nothing wrong on our side.
            Err(e) if is_connection_error(&e) => {
                tracing::debug!(error = %e, "a connection failed while accepted")
            }
            Err(e) => {
                let wait = backoff.map_or(MIN_ACCEPT_BACKOFF, |b| (b * 2).min(MAX_ACCEPT_BACKOFF));
                backoff = Some(wait);
                tracing::error!(
                    error = %e,
                    retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    hint = hint(&e),
                    "cannot accept connections"
                );
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
    // Refuse new connections, tell the open ones, and wait until each has closed (each holds
    // a receiver; the channel closes when the last is dropped).
    drop(listener);
    drain_tx.send_replace(true);
    drop(drain_rx);
    drain_tx.closed().await;
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

fn hint(e: &io::Error) -> &'static str {
    // EMFILE and ENFILE have these numbers on Linux and macOS alike.
    match e.raw_os_error() {
        Some(24) => {
            "the process has no file descriptors left: raise its limit (ulimit -n) or find what holds them"
        }
        Some(23) => "the system has no file descriptors left",
        _ => "new connections wait in the listen backlog until accepting works again",
    }
}

#[cfg(test)]
mod tests;
