//! The todo-cloud orchestrator behind `cargo xtask`: the phase engine, the command runner, the
//! tool registry, and one module per subcommand. See `cargo xtask --help` and README.md.

pub(crate) mod background;
// What the integration tests use (the rest is crate-private, so the compiler reports dead code):
// base64, config, http, and bench's figure ids.
pub mod base64;
pub(crate) mod chart;
pub(crate) mod cli;
pub(crate) mod clock;
pub(crate) mod commands;
pub mod config;
pub(crate) mod container_engine;
pub(crate) mod context;
pub(crate) mod env_file;
pub(crate) mod helm;
pub mod http;
pub(crate) mod images;
pub(crate) mod kube;
pub(crate) mod phase;
pub(crate) mod process_tree;
pub(crate) mod runner;
pub(crate) mod secret;
pub(crate) mod tools;
pub(crate) mod ui;
pub(crate) mod version;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::context::Context;
use crate::ui::{AlreadyReported, Ui};

/// Every figure `cargo xtask bench` reports (`area.name`), in report order: the suite checks
/// that a report has each one, measured or skipped with its reason.
pub fn bench_figure_ids() -> Vec<String> {
    commands::bench::figure_ids()
}

/// Parses the command line, runs the command, reports a failure; the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let ui = Ui::stdio(cli.global.json, cli.global.verbose);
    let result = Context::new(context::project_root(), cli.global.clone(), ui.clone()).and_then(|cx| {
        match &cli.command {
            Command::Containerize(args) => commands::containerize::run(&cx, args),
            Command::Deploy(args) => commands::deploy::run(&cx, args),
            Command::Demo(args) => commands::demo::run(&cx, args),
            Command::Polish(args) => commands::polish::run(&cx, args),
            Command::Doctor(args) => commands::doctor::run(&cx, args),
            Command::Down(args) => commands::down::run(&cx, args),
            Command::HelmGen(args) => commands::helm_gen::run(&cx, args),
            Command::Logs(args) => commands::logs::run(&cx, args),
            Command::Minikube(args) => commands::minikube::run(&cx, args),
            Command::Secrets(args) => commands::secrets::run(&cx, args),
            Command::Status(args) => commands::status::run(&cx, args),
            Command::Verify(args) => commands::verify::run(&cx, args),
            Command::Test(args) => commands::test::run(&cx, args),
            Command::Bench(args) => commands::bench::run(&cx, args),
            Command::Up(args) => commands::up::run(&cx, args),
            Command::AiShowcase(args) => commands::ai_showcase::run(&cx, args),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.is::<AlreadyReported>() => ExitCode::FAILURE,
        Err(err) => {
            report_error(&ui, &err);
            ExitCode::FAILURE
        }
    }
}

/// The error, then each cause indented under it: the command, its exit code, its last lines, the
/// hint.
fn report_error(ui: &Ui, err: &anyhow::Error) {
    ui.error(&err.to_string());
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        let mut lines = text.lines();
        if let Some(first) = lines.next() {
            ui.info(&format!("  caused by: {first}"));
        }
        for line in lines {
            ui.info(&format!("  {line}"));
        }
    }
    ui.event(serde_json::json!({ "event": "error", "message": format!("{err:#}") }));
}
