//! One connection: hyper's HTTP/1 state machine, watched for the timeouts hyper lacks.
//!
//! hyper can time out a request header (`header_read_timeout`), but restarts that timer as soon
//! as a response is written, so a keep-alive connection could then idle only as long as a header
//! may take. Here the connection's phase is tracked instead, from its bytes read and its
//! requests in progress, and each phase has its own deadline.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tower::Service;

use crate::Timeouts;

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// No request in progress and none of the next one read: since the connection was accepted
    /// (`first`) or since the last response.
    Waiting { since: Instant, first: bool },
    /// Part of a request header has arrived; `since` is when its first byte did (or, for a
    /// connection's first request, when it was accepted).
    ReadingHead { since: Instant },
    /// Requests handed to the router whose responses are not yet fully written.
    Busy { requests: usize },
}

struct Tracker {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl Tracker {
    fn lock(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set(&self, phase: Phase) {
        *self.lock() = phase;
        self.changed.notify_one();
    }

    fn bytes_read(&self) {
        let phase = *self.lock();
        if let Phase::Waiting { since, first } = phase {
            self.set(Phase::ReadingHead { since: if first { since } else { Instant::now() } });
        }
    }

    fn request_started(&self) {
        let requests = match *self.lock() {
            Phase::Busy { requests } => requests + 1,
            _ => 1,
        };
        self.set(Phase::Busy { requests });
    }

    fn request_finished(&self) {
        let next = match *self.lock() {
            Phase::Busy { requests } if requests > 1 => Phase::Busy { requests: requests - 1 },
            _ => Phase::Waiting { since: Instant::now(), first: false },
        };
        self.set(next);
    }

    /// When the connection is to be closed if its phase has not changed by then, and why.
    fn deadline(&self, timeouts: Timeouts) -> Option<(Instant, &'static str)> {
        match *self.lock() {
            Phase::Waiting { since, first: true } | Phase::ReadingHead { since } => Some((
                since + timeouts.header_read,
                "no complete request header within the header read timeout",
            )),
            Phase::Waiting { since, first: false } => {
                Some((since + timeouts.idle, "idle for the idle timeout"))
            }
            Phase::Busy { .. } => None,
        }
    }

    fn phase(&self) -> Phase {
        *self.lock()
    }
}

/// Marks a request in progress until dropped: with the response body, once hyper has taken all
/// of it (or given up on it).
struct InFlight(Arc<Tracker>);

impl InFlight {
    fn start(tracker: &Arc<Tracker>) -> Self {
        tracker.request_started();
        Self(tracker.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

struct TrackedBody {
    body: Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket, noting when bytes of a new request arrive.
struct Watched<T> {
    io: T,
    tracker: Arc<Tracker>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.tracker.bytes_read();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

pub(crate) async fn serve<I>(
    io: I,
    peer: SocketAddr,
    router: Router,
    timeouts: Timeouts,
    mut drain: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let tracker = Arc::new(Tracker {
        phase: Mutex::new(Phase::Waiting { since: Instant::now(), first: true }),
        changed: Notify::new(),
    });
    let io = TokioIo::new(Watched { io, tracker: tracker.clone() });
    let service = {
        let tracker = tracker.clone();
        hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let in_flight = InFlight::start(&tracker);
            let response = router.clone().call(request);
            async move {
                let response = response.await?;
                Ok::<_, Infallible>(response.map(|body| TrackedBody { body, _in_flight: in_flight }))
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Ours, above: hyper's would also end keep-alive connections after this long.
    builder.header_read_timeout(None);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);

    let mut draining = false;
    loop {
        let deadline = tracker.deadline(timeouts);
        let expired = async {
            match deadline {
                Some((at, _)) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            () = tracker.changed.notified() => {}
            () = expired => {
                // The phase may have changed while the timer ran; only a deadline that still
                // stands closes the connection. Dropping it closes the socket: no request is
                // in progress to lose.
                if let Some((at, why)) = tracker.deadline(timeouts)
                    && at <= Instant::now()
                {
                    tracing::debug!(%peer, reason = why, "closing connection");
                    return;
                }
            }
            _ = drain.wait_for(|draining| *draining), if !draining => {
                draining = true;
                match tracker.phase() {
                    // A request that has not arrived yet is not one in flight.
                    Phase::ReadingHead { .. } => return,
                    // hyper closes an idle connection at once, and a busy one after its
                    // response (keep-alive off).
                    Phase::Waiting { .. } | Phase::Busy { .. } => connection.as_mut().graceful_shutdown(),
                }
            }
        }
    }
}
