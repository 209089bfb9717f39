//! `cargo xtask status`: the release, its pods and where it answers.

use anyhow::Result;

use crate::config::{self, DeployConfig};
use crate::context::Context;
use crate::helm;
use crate::kube::{self, Target};
use crate::ui::{Style, Table};

/// Show the release: revision and state, each pod with its readiness, restarts and image, the URL
///
/// Read-only: calls `helm status` and `kubectl get pods` for the environment's context and
/// namespace.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The environment: a file in deploy/environments/
    #[arg(long = "env", value_name = "ENV", default_value = config::DEFAULT_ENVIRONMENT)]
    pub env: String,
}

pub fn run(cx: &Context, args: &Args) -> Result<()> {
    let (config, _) = DeployConfig::load_env(&cx.root, Some(&args.env))?;
    let target = Target::of(&config);
    let Some(release) = helm::status(cx, &target)? else {
        cx.ui.warn(&format!(
            "{} is not installed: `cargo xtask deploy --env {}` installs it",
            target.describe(),
            args.env
        ));
        cx.ui.event(serde_json::json!({ "event": "status", "installed": false }));
        return Ok(());
    };
    let style = if release.info.status == "deployed" { Style::Green } else { Style::Yellow };
    cx.ui.info(&format!(
        "{}: revision {}, {}",
        target.describe(),
        release.version,
        cx.ui.paint(style, &release.info.status)
    ));
    if release.pending() {
        cx.ui.warn(
            "an operation on it never finished: the next `cargo xtask deploy` recovers it (rolls it back)",
        );
    }
    let pods = kube::pods(cx, &target)?;
    let mut table = Table::new(&["pod", "component", "ready", "restarts", "image", "problem"]);
    for pod in &pods {
        let problem = pod.problem();
        let image = pod.spec.containers.first().map_or("", |c| c.image.as_str());
        table.row(vec![
            (pod.metadata.name.clone(), None),
            (pod.component().to_owned(), None),
            (
                if pod.ready() { "yes" } else { "no" }.to_owned(),
                Some(if pod.ready() { Style::Green } else { Style::Red }),
            ),
            (pod.restarts().to_string(), (pod.restarts() > 0).then_some(Style::Yellow)),
            (image.to_owned(), None),
            (problem.map_or(String::new(), |p| p.reason), None),
        ]);
    }
    if pods.is_empty() {
        cx.ui.warn("the release has no pods");
    } else {
        cx.ui.info(&table.render(&cx.ui));
    }
    if config.ingress.enabled {
        cx.ui.info(&format!(
            "URL: http://{}/  (`cargo xtask verify --env {}` checks it end to end)",
            config.ingress.host, args.env
        ));
    }
    cx.ui.event(serde_json::json!({
        "event": "status",
        "installed": true,
        "revision": release.version,
        "state": release.info.status,
        "pods": pods.iter().map(|pod| serde_json::json!({
            "name": pod.metadata.name,
            "component": pod.component(),
            "ready": pod.ready(),
            "restarts": pod.restarts(),
        })).collect::<Vec<_>>(),
    }));
    Ok(())
}
