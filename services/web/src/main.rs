use std::process::ExitCode;

use todo_web::{Application, Config};

#[tokio::main]
async fn main() -> ExitCode {
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
