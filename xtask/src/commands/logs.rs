//! `cargo xtask logs`: the app's logs from the cluster.

use std::time::Duration;

use anyhow::Result;
use xshell::cmd;

use crate::config::{self, DeployConfig};
use crate::context::Context;
use crate::kube::{COMPONENT_LABEL, Target};
use crate::runner::Cmd;

/// Print the api's and web's logs, each line prefixed with its pod
///
/// Calls `kubectl logs` with the release's labels, so every replica is included. `--follow`
/// streams until Ctrl-C.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The environment: a file in deploy/environments/
    #[arg(long = "env", value_name = "ENV", default_value = config::DEFAULT_ENVIRONMENT)]
    pub env: String,

    /// Only this component's pods (api, web, postgresql)
    #[arg(long, value_name = "COMPONENT")]
    pub component: Option<String>,

    /// Keep streaming new lines
    #[arg(short, long)]
    pub follow: bool,

    /// Only lines newer than this, e.g. 10m, 1h
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,

    /// Lines per container to start with
    #[arg(long, default_value_t = 100)]
    pub tail: u32,
}

pub fn run(cx: &Context, args: &Args) -> Result<()> {
    let (config, _) = DeployConfig::load_env(&cx.root, Some(&args.env))?;
    let target = Target::of(&config);
    let mut selector = target.selector();
    if let Some(component) = &args.component {
        selector.push_str(&format!(",{COMPONENT_LABEL}={component}"));
    }
    let scope = target.kubectl_args();
    let mut flags =
        vec![format!("--tail={}", args.tail), "--prefix".to_owned(), "--all-containers".to_owned()];
    // Enough concurrent streams for every replica of every component.
    flags.push("--max-log-requests=20".to_owned());
    if args.follow {
        flags.push("--follow".to_owned());
    }
    if let Some(since) = &args.since {
        flags.push(format!("--since={since}"));
    }
    let logs = cmd!(cx.sh, "kubectl {scope...} logs --selector {selector} {flags...}");
    let timeout = if args.follow { Duration::from_secs(7 * 24 * 3600) } else { Duration::from_secs(120) };
    cx.run(
        Cmd::from(logs)
            .read_only()
            .timeout(timeout)
            .hint(format!("`cargo xtask status --env {}` shows whether the release has pods", args.env)),
    )?;
    Ok(())
}
