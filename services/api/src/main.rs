use std::process::ExitCode;

use todo_api::config::Config;
use todo_api::{Application, Shutdown, shutdown, telemetry};

/// The server (no arguments; settings from the environment), or `healthcheck URL...`: the
/// `helm test` pods run this image's binary with it, the image having no shell or curl.
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => serve(),
        Some("healthcheck") => todo_api::healthcheck::main("todo-api", &args[1..]),
        Some(other) => {
            eprintln!(
                "todo-api: unknown argument `{other}`\nusage: todo-api                   the server; settings \
                 from the environment\n       todo-api healthcheck URL...   GET each URL; exit 0 if all are 2xx"
            );
            ExitCode::from(2)
        }
    }
}

#[tokio::main]
async fn serve() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(errors) => {
            for error in &errors.0 {
                eprintln!("todo-api: invalid configuration: {error}");
            }
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format, &config.log_filter);
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        environment = ?config.environment,
        "starting todo-api"
    );

    let mut signal = match shutdown::signal() {
        Ok(signal) => Box::pin(signal),
        Err(e) => {
            tracing::error!(error = %e, "cannot install signal handlers");
            return ExitCode::FAILURE;
        }
    };
    // Startup may wait for the database; a stop request meanwhile must not wait for it.
    let app = tokio::select! {
        built = Application::build(&config) => match built {
            Ok(app) => app,
            Err(e) => {
                tracing::error!(error = %e, "startup failed");
                return ExitCode::FAILURE;
            }
        },
        () = &mut signal => {
            tracing::info!("stopped before startup finished");
            return ExitCode::SUCCESS;
        }
    };
    match app.run_until_stopped(signal).await {
        Ok(Shutdown::Drained) => {
            tracing::info!("stopped cleanly");
            ExitCode::SUCCESS
        }
        Ok(Shutdown::GraceExceeded { abandoned }) => {
            tracing::error!(
                abandoned,
                "shutdown grace period (SHUTDOWN_GRACE_SECS) ran out; in-flight requests were cut off"
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            ExitCode::FAILURE
        }
    }
}
