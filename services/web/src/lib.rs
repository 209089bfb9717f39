//! todo-web: the browser UI's files and the small server that serves them — cached, compressed,
//! with strict security headers — plus, when `API_UPSTREAM` is set, a pass-through proxy for
//! `/api`. See `Config` for the settings it reads.

pub mod assets;
pub mod config;
pub mod error;
pub use todo_healthcheck as healthcheck;
pub mod proxy;
pub mod routes;
pub mod security;
pub mod telemetry;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::Request;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use config::Config;
pub use error::Error;

use crate::assets::AssetSource;
use crate::proxy::Proxy;
use crate::routes::AppState;

/// The whole HTTP surface, ready to serve.
pub fn router(config: &Config, assets: AssetSource) -> Router {
    let state = AppState { assets, proxy: config.api_upstream.clone().map(Proxy::new) };
    // The query string is left out of the request log: search text is the user's business.
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request<_>| {
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
        })
        .on_response(DefaultOnResponse::new().level(Level::INFO));
    let app = routes::app(state.clone()).layer(trace).merge(routes::probes(state));
    security::apply(app).layer(CompressionLayer::new())
}

/// A bound, not yet serving, server: tests read its port before running it.
pub struct Application {
    listener: TcpListener,
    router: Router,
    shutdown_grace: Duration,
    connection_timeouts: todo_serve::Timeouts,
}

impl Application {
    pub async fn build(config: &Config) -> Result<Application, Error> {
        let assets = AssetSource::for_this_build().map_err(Error::Assets)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| Error::Bind { addr: config.listen, source })?;
        Ok(Application {
            listener,
            router: router(config, assets),
            shutdown_grace: config.shutdown_grace,
            connection_timeouts: config.connection_timeouts,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes, then closes idle connections and lets in-flight
    /// requests finish for up to the grace period (a proxied chat turn can take a while) before
    /// returning. Connections that take too long to send a request header, or sit idle too long
    /// between requests, are closed all along (`HEADER_READ_TIMEOUT_SECS`, `IDLE_TIMEOUT_SECS`).
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), Error> {
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let server = todo_serve::serve(self.listener, self.router, self.connection_timeouts, async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
        });
        let grace = self.shutdown_grace;
        let deadline = async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = stop_tx.send(true);
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            () = server => Ok(()),
            () = deadline => {
                tracing::warn!(grace_secs = grace.as_secs(), "requests still running after the grace period; exiting anyway");
                Ok(())
            }
        }
    }
}

/// Completes on Ctrl-C or SIGTERM (what Kubernetes sends before it kills a pod).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
