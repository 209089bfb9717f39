use std::process::ExitCode;

use todo_web::{Application, Config};

/// The server (no arguments; settings from the environment), or `healthcheck URL...`: the
/// `helm test` pods run this image's binary with it, the image having no shell or curl.
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => serve(),
        Some("healthcheck") => todo_web::healthcheck::main("todo-web", &args[1..]),
        Some(other) => {
            eprintln!(
                "todo-web: unknown argument `{other}`\nusage: todo-web                   the server; settings \
                 from the environment\n       todo-web healthcheck URL...   GET each URL; exit 0 if all are 2xx"
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
            eprintln!("todo-web: invalid configuration:\n{errors}");
            return ExitCode::from(2);
        }
    };
    todo_web::telemetry::init(&config);
    let app = match Application::build(&config).await {
        Ok(app) => app,
        Err(err) => {
            tracing::error!(error = %err, "todo-web cannot start");
            return ExitCode::FAILURE;
        }
    };
    let upstream = config.api_upstream.as_ref().map(ToString::to_string);
    tracing::info!(
        address = %format!("http://{}", app.local_addr()),
        api_upstream = upstream.as_deref().unwrap_or("none (the ingress routes /api)"),
        "todo-web listening"
    );
    match app.run_until(todo_web::shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("todo-web stopped");
            ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!(error = %err, "todo-web failed");
            ExitCode::FAILURE
        }
    }
}
