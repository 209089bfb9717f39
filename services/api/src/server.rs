//! Startup and shutdown around the router: connect, migrate, bind, serve, drain, close.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::config::Config;
use crate::db::{Db, DbError};
use crate::http;
use crate::state::AppState;

/// How long closing the pool may wait for connections still checked out.
const POOL_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
}

/// How the server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Every in-flight request finished within the grace period.
    Drained,
    /// The grace period ran out with requests still running; they were abandoned.
    GraceExceeded { abandoned: i64 },
}

/// A ready-to-run server: database migrated and port bound (so with port 0 the real port is
/// known before serving starts).
pub struct Application {
    listener: TcpListener,
    state: AppState,
    shutdown_grace: Duration,
    connection_timeouts: todo_serve::Timeouts,
}

impl Application {
    pub async fn build(config: &Config) -> Result<Self, StartupError> {
        let db = Db::connect(&config.database).await?;
        db.migrate().await?;
        tracing::info!(database = db.backend(), location = %db.location(), "database ready");
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartupError::Bind { addr: config.listen, source })?;
        let state = AppState::new(config, db);
        tracing::info!(agent = %state.agent.describe(), "chat agent ready");
        Ok(Self {
            listener,
            state,
            shutdown_grace: config.shutdown_grace,
            connection_timeouts: config.connection_timeouts,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound TCP listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `signal` resolves, then stops accepting connections, closes idle ones, lets
    /// in-flight requests finish for up to the grace period, and closes the database pool.
    /// Connections that take too long to send a request header, or sit idle too long between
    /// requests, are closed all along (`HEADER_READ_TIMEOUT_SECS`, `IDLE_TIMEOUT_SECS`).
    pub async fn run_until_stopped(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<Shutdown> {
        let Self { listener, state, shutdown_grace, connection_timeouts } = self;
        let address = listener.local_addr()?;
        tracing::info!(%address, "listening");

        let lifecycle = state.lifecycle.clone();
        let trigger = {
            let lifecycle = lifecycle.clone();
            async move {
                signal.await;
                lifecycle.begin_draining();
            }
        };
        let server = todo_serve::serve(listener, http::app(state.clone()), connection_timeouts, trigger);
        let grace_over = async {
            lifecycle.draining().await;
            tracing::info!(
                in_flight = state.metrics.in_flight(),
                grace = ?shutdown_grace,
                "stopped accepting connections; draining in-flight requests"
            );
            tokio::time::sleep(shutdown_grace).await;
        };

        let outcome = tokio::select! {
            () = server => Shutdown::Drained,
            () = grace_over => Shutdown::GraceExceeded {
                abandoned: state.metrics.in_flight(),
            },
        };

        if tokio::time::timeout(POOL_CLOSE_TIMEOUT, state.db.close()).await.is_ok() {
            tracing::info!("database pool closed");
        } else {
            tracing::warn!("database connections still in use after {POOL_CLOSE_TIMEOUT:?}; leaving them");
        }
        Ok(outcome)
    }
}
