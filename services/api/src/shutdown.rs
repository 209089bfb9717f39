//! Shutdown: the signals that start it and the shared flag that says it has started.

use std::sync::Arc;

use tokio::sync::watch;

/// Whether the process is draining. Readiness reports "not ready" from the moment it is.
#[derive(Clone, Debug)]
pub struct Lifecycle {
    draining: Arc<watch::Sender<bool>>,
}

impl Lifecycle {
    pub fn new() -> Self {
        Self { draining: Arc::new(watch::Sender::new(false)) }
    }

    pub fn begin_draining(&self) {
        self.draining.send_replace(true);
    }

    pub fn is_draining(&self) -> bool {
        *self.draining.borrow()
    }

    /// Resolves once draining has begun (at once if it already has).
    pub async fn draining(&self) {
        let mut rx = self.draining.subscribe();
        // The sender lives in `self`, so it cannot be dropped while we wait.
        let _ = rx.wait_for(|draining| *draining).await;
    }
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self::new()
    }
}

/// Listens for SIGTERM (what Kubernetes and container engines send) and SIGINT (Ctrl-C), and
/// returns a future that resolves when either arrives. The handlers are installed before this
/// returns, so a signal sent as soon as the server says it is listening is not missed (and does
/// not kill the process with the default action).
#[cfg(unix)]
pub fn signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!(signal = "SIGTERM", "shutdown signal received"),
            _ = interrupt.recv() => tracing::info!(signal = "SIGINT", "shutdown signal received"),
        }
    })
}

#[cfg(not(unix))]
pub fn signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    Ok(async {
        match tokio::signal::ctrl_c().await {
            Ok(()) => tracing::info!(signal = "Ctrl-C", "shutdown signal received"),
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
    })
}
