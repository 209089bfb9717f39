//! `cargo xtask down`: remove the release, and with `--cluster` the local cluster too.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::{Result, bail};
use xshell::cmd;

use super::minikube;
use crate::config::{self, DeployConfig};
use crate::context::Context;
use crate::helm;
use crate::kube::Target;
use crate::runner::Cmd;

/// Uninstall the release and the Secret and ConfigMap `secrets` applied; `--cluster` also stops
/// the minikube profile, `--purge` deletes it
///
/// The namespace stays (it may hold other things); volume claims of the bundled Postgres stay too,
/// with the data in them, and are listed. `--purge` asks before deleting the profile unless
/// `--yes`. Calls helm, kubectl and minikube.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The environment: a file in deploy/environments/
    #[arg(long = "env", value_name = "ENV", default_value = config::DEFAULT_ENVIRONMENT)]
    pub env: String,

    /// Also stop the minikube profile (`--env minikube` only)
    #[arg(long)]
    pub cluster: bool,

    /// Delete the minikube profile and everything in it (implies --cluster)
    #[arg(long)]
    pub purge: bool,

    /// Do not ask before deleting
    #[arg(long, short = 'y')]
    pub yes: bool,
}

pub fn run(cx: &Context, args: &Args) -> Result<()> {
    let (config, _) = DeployConfig::load_env(&cx.root, Some(&args.env))?;
    let target = Target::of(&config);
    let local = args.env == "minikube";
    if (args.cluster || args.purge) && !local {
        bail!("--cluster and --purge manage the minikube profile; `--env {}` is not minikube", args.env);
    }
    let profile = minikube::profile(&config);
    if args.purge
        && !args.yes
        && !cx.runner.dry_run()
        && !confirm(&format!("delete minikube profile `{profile}` and everything in it?"))?
    {
        bail!("nothing deleted (pass --yes to skip this question)");
    }

    let (scope, release) = (target.helm_args(), &target.release);
    // Whether the cluster answered: a stopped one has nothing left to clean up in it.
    let reachable = match helm::status(cx, &target) {
        Ok(Some(_)) => {
            let uninstall = cmd!(cx.sh, "helm uninstall {release} {scope...} --wait --timeout 300s");
            cx.run(Cmd::from(uninstall).timeout(Duration::from_secs(330)))?;
            // helm waits for the objects it deleted, not for the pods their ReplicaSets leave
            // terminating (each drains for its grace period): down is done when they are gone.
            let (kube, selector) = (&target.kubectl_args(), target.selector());
            let gone =
                cmd!(cx.sh, "kubectl {kube...} wait --for=delete pod --selector {selector} --timeout=120s");
            cx.run(Cmd::from(gone).timeout(Duration::from_secs(150)))?;
            true
        }
        Ok(None) => {
            cx.ui.info(&format!("  {} is not installed", target.describe()));
            true
        }
        // A stopped cluster: nothing to uninstall from it, but the profile may still be stopped.
        Err(err) if local && (args.cluster || args.purge) => {
            cx.ui.warn(&format!("{err:#}"));
            false
        }
        Err(err) => return Err(err),
    };
    if reachable {
        let kube = &target.kubectl_args();
        let (secret, map) = (&config.app.secret_name.0, &config.app.config_map_name.0);
        let delete =
            cmd!(cx.sh, "kubectl {kube...} delete secret/{secret} configmap/{map} --ignore-not-found");
        cx.run(Cmd::from(delete))?;
        let selector = target.selector();
        let claims =
            cmd!(cx.sh, "kubectl {kube...} get persistentvolumeclaims --selector {selector} --output name");
        let claims = cx.read(Cmd::from(claims).read_only().quiet()).unwrap_or_default();
        if !claims.trim().is_empty() {
            cx.ui.info(&format!(
                "  kept the database's volume claims (their data survives a reinstall): {}; delete them with `kubectl {} delete {}`",
                claims.split_whitespace().collect::<Vec<_>>().join(", "),
                kube.join(" "),
                claims.split_whitespace().collect::<Vec<_>>().join(" ")
            ));
        }
    }
    if args.purge {
        cx.run(Cmd::from(cmd!(cx.sh, "minikube delete -p {profile}")).timeout(Duration::from_secs(600)))?;
    } else if args.cluster {
        cx.run(Cmd::from(cmd!(cx.sh, "minikube stop -p {profile}")).timeout(Duration::from_secs(600)))?;
    }
    cx.ui.success("down");
    Ok(())
}

/// Asks on the terminal; no terminal means no.
fn confirm(question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("{question} needs an answer, and there is no terminal to ask on: pass --yes");
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
