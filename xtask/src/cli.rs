//! The command line: global flags and one subcommand per phase or task.

use clap::{Parser, Subcommand};

use crate::commands::{
    ai_showcase, bench, containerize, demo, deploy, doctor, down, helm_gen, logs, minikube, polish, secrets,
    status, test, up, verify,
};
use crate::context::GlobalOpts;

#[derive(Parser, Debug)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Take the todo app from source to a verified deployment; each subcommand is a phase",
    long_about = "Take the todo app from source to a verified deployment; each subcommand is a phase.\n\n\
        Phases skip themselves when their inputs are unchanged since their last success (state in \
        target/xtask/), so rerunning after a failure picks up where it stopped. Every run ends with \
        a table of phases, durations and the budgets from deploy/todo.toml.",
    after_help = "Start with `cargo xtask demo`: it deploys to minikube, or runs the app on this machine where \
        no cluster can be used and says why. `bash infra/scripts/onboard.sh` installs what is missing; \
        `cargo xtask doctor` checks every tool.",
    arg_required_else_help = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    Doctor(doctor::Args),
    Containerize(containerize::Args),
    Minikube(minikube::Args),
    HelmGen(helm_gen::Args),
    Secrets(secrets::Args),
    Deploy(deploy::Args),
    Verify(verify::Args),
    AiShowcase(ai_showcase::Args),
    Polish(polish::Args),
    Demo(demo::Args),
    Up(up::Args),
    Status(status::Args),
    Logs(logs::Args),
    Down(down::Args),
    Test(test::Args),
    Bench(bench::Args),
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
