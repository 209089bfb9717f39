//! `cargo xtask doctor`: is this machine ready for the target, and if not, what exactly to do.

use std::net::ToSocketAddrs;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use anyhow::Result;
use clap::ValueEnum;
use serde_json::json;
use xshell::cmd;

use super::minikube;
use crate::config::DeployConfig;
use crate::container_engine::{self, Engine, Probe};
use crate::context::Context;
use crate::env_file;
use crate::kube;
use crate::runner::{Cmd, Output};
use crate::tools::{self, Tool, ToolStatus};
use crate::ui::AlreadyReported;
use crate::ui::{Style, Table};

const HOST_LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

/// Check tools, container engine, cluster, hosts entry and .env; say how to fix each gap
///
/// Every tool with found/missing, version and minimum; whether docker's daemon or podman answers;
/// the minikube profile's state; whether todo.local resolves; whether .env exists. Runs `<tool> --version` (or its equivalent) for cargo, docker, podman, minikube, helm, kubectl,
/// kubectl-ai, kagent and `docker ai`; `docker version` / `podman image ls` to reach the engines; and
/// `minikube status`. Changes nothing. Exits 0 when everything the target needs is present,
/// non-zero with the fix for each problem otherwise.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// What you are about to run: `local` runs the app as plain processes (needs cargo only);
    /// `minikube` is the cluster deploy (also a container engine, minikube, helm and kubectl);
    /// `cluster` is `deploy --env cluster` (an engine, helm, kubectl and a current kube context
    /// that answers)
    #[arg(long, value_enum, default_value_t = Target::Minikube)]
    pub target: Target,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Local,
    Minikube,
    Cluster,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Local => "local",
            Target::Minikube => "minikube",
            Target::Cluster => "cluster",
        }
    }

    fn requires(self, tool: Tool) -> Need {
        match (self, tool) {
            (_, Tool::Cargo) => Need::Required,
            (Target::Minikube, Tool::Minikube) => Need::Required,
            (Target::Minikube | Target::Cluster, Tool::Helm | Tool::Kubectl) => Need::Required,
            (Target::Minikube | Target::Cluster, Tool::Docker | Tool::Podman) => Need::OneEngine,
            _ => Need::Optional,
        }
    }

    /// The deploy environment whose description this target checks.
    fn environment(self) -> &'static str {
        match self {
            Target::Cluster => "cluster",
            Target::Local | Target::Minikube => "minikube",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Required,
    OneEngine,
    Optional,
}

pub struct Problem {
    pub what: String,
    pub fix: String,
}

/// What doctor found for a target, for a command that checks before it starts (`demo`).
pub struct Examination {
    /// The report as `cargo xtask doctor` prints it.
    pub report: String,
    /// What keeps the target from working; empty when it can run.
    pub problems: Vec<Problem>,
}

/// Gathers and renders doctor's report for `target` and the deploy environment `env` (its kube
/// context and host name) without failing on its problems.
pub fn examine(cx: &Context, target: Target, env: &str) -> Examination {
    let mut report = gather(cx, target, env);
    Examination { report: render(cx, &report), problems: std::mem::take(&mut report.problems) }
}

enum Cluster {
    NoMinikube,
    Running,
    NotCreated,
    Stopped(String),
    Unknown(String),
}

struct Report {
    target: Target,
    /// The minikube profile (deploy/environments/minikube.toml's context): a profile of our own
    /// never touches the user's default cluster.
    profile: String,
    /// The host name the ingress answers to (deploy/todo.toml).
    ingress_host: String,
    /// Why the deploy description could not be read, if it could not.
    config_error: Option<String>,
    tools: Vec<ToolStatus>,
    engines: Vec<Probe>,
    cluster: Cluster,
    /// `kube context `C``, or `the current kube context` when the environment names none.
    kube_context: String,
    /// For target `cluster`: whether the kube context's API server answers (`Err`: why not).
    api_server: Option<Result<(), String>>,
    /// Addresses `todo.local` resolves to (empty: it does not).
    host: Vec<String>,
    env_file: EnvFile,
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
}

struct EnvFile {
    exists: bool,
    keys: Vec<String>,
    /// Keys `deploy/.env.example` documents that `.env` lacks.
    missing: Vec<String>,
    /// Why `.env` cannot be read (it names the line, never shows it).
    error: Option<String>,
}

pub fn run(cx: &Context, args: &Args) -> Result<()> {
    let report = gather(cx, args.target, args.target.environment());
    if cx.opts.json {
        cx.ui.print(&serde_json::to_string_pretty(&to_json(&report))?);
    } else {
        cx.ui.print(&render(cx, &report));
    }
    if report.problems.is_empty() {
        return Ok(());
    }
    if !cx.opts.json {
        let count = match report.problems.len() {
            1 => "1 problem keeps".to_owned(),
            n => format!("{n} problems keep"),
        };
        cx.ui.error(&format!(
            "{count} target `{}` from working; the fixes are listed above",
            report.target.name()
        ));
    }
    // The JSON document, or the lines above, already say everything.
    Err(AlreadyReported.into())
}

fn gather(cx: &Context, target: Target, env: &str) -> Report {
    let (config, config_error) = match DeployConfig::load_env(&cx.root, Some(env)) {
        Ok((config, _)) => (Some(config), None),
        Err(err) => (None, Some(format!("{err:#}"))),
    };
    let profile = config.as_ref().map_or_else(|| "minikube".to_owned(), minikube::profile);
    let ingress_host = config.as_ref().map_or_else(String::new, |c| c.ingress.host.clone());
    // Build every probe here (the Shell is not Sync), then run them all at once: doctor takes as
    // long as its slowest probe, not the sum.
    let pending: Vec<_> = Tool::ALL.iter().map(|&tool| tools::prepare(&cx.sh, tool)).collect();
    let engine_probes: Vec<(Engine, Cmd)> = [Engine::Docker, Engine::Podman]
        .into_iter()
        .filter(|engine| which::which(engine.program()).is_ok())
        .map(|engine| (engine, container_engine::probe_cmd(&cx.sh, engine)))
        .collect();
    let minikube_status = which::which("minikube").is_ok().then(|| {
        Cmd::from(cmd!(cx.sh, "minikube status -p {profile} -o json"))
            .read_only()
            .quiet()
            .allow_failure()
            .timeout(Duration::from_secs(30))
    });
    let api_server_probe = (target == Target::Cluster && which::which("kubectl").is_ok()).then(|| {
        let context =
            config.as_ref().map(|config| kube::Target::of(config).context_args()).unwrap_or_default();
        Cmd::from(cmd!(cx.sh, "kubectl {context...} get --raw /readyz"))
            .read_only()
            .quiet()
            .allow_failure()
            .timeout(Duration::from_secs(20))
    });
    let runner = &cx.runner;
    let (tools, engines, cluster, host, api_server) = thread::scope(|scope| {
        let tools: Vec<_> = pending.into_iter().map(|p| scope.spawn(move || p.finish(runner))).collect();
        let engines: Vec<_> = engine_probes
            .into_iter()
            .map(|(engine, cmd)| scope.spawn(move || container_engine::probe(runner, engine, cmd)))
            .collect();
        let cluster = scope.spawn(move || match minikube_status {
            None => Cluster::NoMinikube,
            Some(cmd) => read_cluster(runner.output(cmd)),
        });
        let api_server = scope.spawn(move || api_server_probe.map(|cmd| read_api_server(runner.output(cmd))));
        let host = if ingress_host.is_empty() { Vec::new() } else { resolve(&ingress_host) };
        (
            tools.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>(),
            engines.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>(),
            cluster.join().unwrap(),
            host,
            api_server.join().unwrap(),
        )
    });
    let env_file = read_env_file(cx);

    let mut report = Report {
        target,
        profile,
        ingress_host,
        config_error,
        tools,
        engines,
        cluster,
        kube_context: match config.as_ref().and_then(|config| config.cluster.context.clone()) {
            Some(context) => format!("kube context `{context}`"),
            None => "the current kube context".to_owned(),
        },
        api_server,
        host,
        env_file,
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    diagnose(&mut report);
    report
}

fn diagnose(report: &mut Report) {
    let target = report.target;
    let (profile, ingress_host) = (report.profile.clone(), report.ingress_host.clone());
    if let Some(error) = &report.config_error
        && target != Target::Local
    {
        report.problems.push(Problem {
            what: format!("the deploy description cannot be read: {error}"),
            fix: "fix deploy/todo.toml or deploy/environments/*.toml as the message says".into(),
        });
    }
    for status in &report.tools {
        if target.requires(status.tool) != Need::Required || status.usable() {
            continue;
        }
        report.problems.push(tool_problem(status));
    }

    if target != Target::Local && container_engine::choose(&report.engines).is_none() {
        let installed: Vec<&ToolStatus> = report
            .tools
            .iter()
            .filter(|s| matches!(s.tool, Tool::Docker | Tool::Podman) && s.found)
            .collect();
        if installed.is_empty() {
            report.problems.push(Problem {
                what: "no container engine: neither docker nor podman is installed".into(),
                fix: format!(
                    "install one: {} — or: {}",
                    Tool::Docker.install_hint(),
                    Tool::Podman.install_hint()
                ),
            });
        }
        for probe in &report.engines {
            report.problems.push(Problem {
                what: format!(
                    "{} is installed but its engine does not answer: {}",
                    probe.engine.program(),
                    probe.detail
                ),
                fix: probe.engine.start_hint().to_owned(),
            });
        }
    }

    if target == Target::Minikube {
        let start = format!("minikube start -p {profile}");
        match &report.cluster {
            Cluster::NoMinikube | Cluster::Running => {}
            Cluster::NotCreated => report.warnings.push(Problem {
                what: format!("minikube profile `{profile}` does not exist yet"),
                fix: format!("create it with `{start}`"),
            }),
            Cluster::Stopped(state) => report.warnings.push(Problem {
                what: format!("minikube profile `{profile}` is not running ({state})"),
                fix: format!("start it with `{start}`"),
            }),
            Cluster::Unknown(detail) => report.warnings.push(Problem {
                what: format!("could not read the state of minikube profile `{profile}`: {detail}"),
                fix: format!("run `minikube status -p {profile}` to see why"),
            }),
        }
        if report.host.is_empty() {
            report.warnings.push(Problem {
                what: format!("{ingress_host} does not resolve, so a browser cannot reach the ingress"),
                fix: format!(
                    "add `$(minikube ip -p {profile}) {ingress_host}` to /etc/hosts once the cluster runs"
                ),
            });
        }
    }

    if let Some(Err(why)) = &report.api_server {
        report.problems.push(Problem {
            what: format!("the API server of {} does not answer: {why}", report.kube_context),
            fix: "check `kubectl config current-context` names the cluster you mean and that it runs; \
                  `kubectl get --raw /readyz` shows the same"
                .into(),
        });
    }

    if let Some(error) = &report.env_file.error {
        report.warnings.push(Problem {
            what: format!(".env cannot be read: {error}"),
            fix: "fix that line (quote a value holding spaces, `#` or `$`); `secrets` and `up` read .env the same way"
                .into(),
        });
    } else if !report.env_file.exists {
        report.warnings.push(Problem {
            what: ".env does not exist (settings and secrets for the app: LLM key, database URL)".into(),
            fix: "for minikube nothing is needed: `cargo xtask secrets` creates it with a generated \
                  JWT_SECRET and bundled-Postgres password; to use an LLM key or an external database, \
                  first cp deploy/.env.example .env and fill in what you use (locally the app runs \
                  with SQLite and the offline agent without it)"
                .into(),
        });
    } else if !report.env_file.missing.is_empty() {
        report.warnings.push(Problem {
            what: format!(
                ".env lacks keys that deploy/.env.example documents: {}",
                report.env_file.missing.join(", ")
            ),
            fix: "copy the lines you need from deploy/.env.example (a missing key takes its default)".into(),
        });
    }
}

fn tool_problem(status: &ToolStatus) -> Problem {
    let tool = status.tool;
    if !status.found {
        return Problem {
            what: format!("{} is not installed; it {}", tool.name(), tool.purpose()),
            fix: tool.install_hint().to_owned(),
        };
    }
    Problem {
        what: format!("{}: {}", tool.name(), status.problem.as_deref().unwrap_or("unusable")),
        fix: format!("install {} or newer: {}", fmt_min(tool), tool.install_hint()),
    }
}

fn fmt_min(tool: Tool) -> String {
    tool.minimum().map_or("-".to_owned(), |v| v.to_string())
}

fn read_api_server(output: Result<Output>) -> Result<(), String> {
    let output = output.map_err(|err| err.to_string().lines().next().unwrap_or("").to_owned())?;
    if output.status == Some(0) {
        return Ok(());
    }
    let text = format!("{}\n{}", output.stderr, output.stdout);
    Err(text.lines().find(|l| !l.trim().is_empty()).unwrap_or("no answer").trim().to_owned())
}

fn read_cluster(output: Result<Output>) -> Cluster {
    let output = match output {
        Ok(output) => output,
        Err(err) => {
            return Cluster::Unknown(err.to_string().lines().next().unwrap_or("").to_owned());
        }
    };
    // `minikube status -o json` prints {"Host":"Running","APIServer":"Running",...} and exits
    // non-zero when anything is down; a missing profile is only described in prose.
    if let Ok(status) = serde_json::from_str::<serde_json::Value>(output.stdout.trim()) {
        let field = |name: &str| status[name].as_str().unwrap_or("?").to_owned();
        let (host, apiserver) = (field("Host"), field("APIServer"));
        if host == "Running" && apiserver == "Running" {
            return Cluster::Running;
        }
        if host == "Nonexistent" {
            return Cluster::NotCreated;
        }
        return Cluster::Stopped(format!("host {host}, API server {apiserver}"));
    }
    let text = format!("{}\n{}", output.stdout, output.stderr);
    if text.contains("not found") {
        return Cluster::NotCreated;
    }
    Cluster::Unknown(text.lines().find(|l| !l.trim().is_empty()).unwrap_or("no output").trim().to_owned())
}

/// The addresses `host` resolves to. Name lookups can hang (mDNS for `.local`), so give up after a
/// few seconds; the lookup thread is left to finish on its own.
fn resolve(host: &str) -> Vec<String> {
    let (tx, rx) = mpsc::channel();
    let target = format!("{host}:80");
    thread::spawn(move || {
        let addresses: Vec<String> = target
            .to_socket_addrs()
            .map(|addrs| addrs.map(|addr| addr.ip().to_string()).collect())
            .unwrap_or_default();
        let _ = tx.send(addresses);
    });
    let mut addresses = rx.recv_timeout(HOST_LOOKUP_TIMEOUT).unwrap_or_default();
    addresses.dedup();
    addresses
}

fn read_env_file(cx: &Context) -> EnvFile {
    // The same parser as `secrets` and `up` (quotes, multi-line values): a continuation line of a
    // quoted value is part of the value, never a key to show.
    let keys_of = |rel: &str| -> Result<(bool, Vec<String>), String> {
        let file = env_file::EnvFile::read(&cx.root, rel).map_err(|err| format!("{err:#}"))?;
        let mut keys: Vec<String> = Vec::new();
        for entry in &file.entries {
            if !keys.contains(&entry.key) {
                keys.push(entry.key.clone());
            }
        }
        Ok((file.exists, keys))
    };
    let documented = keys_of(env_file::EXAMPLE_FILE).map(|(_, keys)| keys).unwrap_or_default();
    match keys_of(env_file::ENV_FILE) {
        Ok((exists, keys)) => {
            let missing = documented.into_iter().filter(|key| !keys.contains(key)).collect();
            EnvFile { exists, keys, missing, error: None }
        }
        Err(error) => EnvFile { exists: true, keys: Vec::new(), missing: Vec::new(), error: Some(error) },
    }
}

fn render(cx: &Context, report: &Report) -> String {
    let ui = &cx.ui;
    let mut out = Vec::new();
    out.push(ui.paint(Style::Bold, &format!("Doctor — target `{}`", report.target.name())));
    out.push(String::new());

    let mut table = Table::new(&["tool", "status", "version", "minimum", "needed", "where / what for"]);
    for status in &report.tools {
        let need = report.target.requires(status.tool);
        let (word, style) = match (status.usable(), status.found, need) {
            (true, _, _) => ("ok", Style::Green),
            (false, true, _) => ("unusable", Style::Red),
            (false, false, Need::Optional) => ("missing", Style::Dim),
            (false, false, _) => ("missing", Style::Red),
        };
        let needed = match need {
            Need::Required => "required",
            Need::OneEngine => "one engine",
            Need::Optional => "optional",
        };
        let version = match (status.tool, status.version) {
            (Tool::Helm, Some(v)) => format!("{v} (v{})", v.major),
            (_, Some(v)) => v.to_string(),
            (_, None) => "-".to_owned(),
        };
        let place = match (&status.path, status.found) {
            (Some(path), true) => path.clone(),
            _ => status.tool.purpose().to_owned(),
        };
        table.row(vec![
            (status.tool.name().to_owned(), None),
            (word.to_owned(), Some(style)),
            (version, None),
            (fmt_min(status.tool), None),
            (needed.to_owned(), None),
            (place, None),
        ]);
    }
    out.push(table.render(ui));
    out.push(String::new());

    let mut facts = Table::new(&["check", "state"]);
    let engine_state = if report.engines.is_empty() {
        "no docker or podman installed".to_owned()
    } else {
        let states: Vec<String> = report
            .engines
            .iter()
            .map(|p| {
                let state = if p.reachable { "answers" } else { "does not answer" };
                format!("{}: {state} ({})", p.engine.program(), p.detail)
            })
            .collect();
        let chosen = container_engine::choose(&report.engines)
            .map_or(String::new(), |engine| format!(" → builds use {}", engine.program()));
        format!("{}{chosen}", states.join("; "))
    };
    facts.row(vec![("container engine".into(), None), (engine_state, None)]);
    let profile = &report.profile;
    let cluster = match &report.cluster {
        Cluster::NoMinikube => "minikube not installed".to_owned(),
        Cluster::Running => format!("profile `{profile}` running"),
        Cluster::NotCreated => format!("profile `{profile}` not created"),
        Cluster::Stopped(state) => format!("profile `{profile}` stopped ({state})"),
        Cluster::Unknown(detail) => format!("unknown: {detail}"),
    };
    facts.row(vec![("cluster".into(), None), (cluster, None)]);
    if let Some(state) = &report.api_server {
        let state = match state {
            Ok(()) => "answers".to_owned(),
            Err(why) => format!("does not answer: {why}"),
        };
        facts.row(vec![("kube context".into(), None), (state, None)]);
    }
    let host = match report.host.as_slice() {
        [] => "does not resolve".to_owned(),
        addresses => format!("resolves to {}", addresses.join(", ")),
    };
    facts.row(vec![(report.ingress_host.clone(), None), (host, None)]);
    let env = match (&report.env_file.error, report.env_file.exists, report.env_file.keys.len()) {
        (Some(_), _, _) => "present, cannot be read (see below)".to_owned(),
        (None, false, _) => "missing".to_owned(),
        (None, true, n) => format!("present, {n} keys set (values not shown)"),
    };
    facts.row(vec![(".env".into(), None), (env, None)]);
    out.push(facts.render(ui));

    let optional_missing: Vec<&ToolStatus> = report
        .tools
        .iter()
        .filter(|s| report.target.requires(s.tool) == Need::Optional && !s.usable())
        .collect();
    if !optional_missing.is_empty() {
        out.push(String::new());
        out.push("Optional, not available (the features that use them are skipped):".into());
        for status in optional_missing {
            out.push(format!("  {}: {}", status.tool.name(), status.tool.install_hint()));
        }
    }

    let list = |out: &mut Vec<String>, items: &[Problem]| {
        for (i, item) in items.iter().enumerate() {
            out.push(format!("  {}. {}", i + 1, item.what));
            out.push(format!("     fix: {}", item.fix));
        }
    };
    if !report.warnings.is_empty() {
        out.push(String::new());
        out.push(
            ui.paint(Style::Yellow, &format!("! {} to look at:", plural(report.warnings.len(), "warning"))),
        );
        list(&mut out, &report.warnings);
    }
    out.push(String::new());
    if report.problems.is_empty() {
        out.push(ui.paint(Style::Green, &format!("✓ ready for target `{}`", report.target.name())));
    } else {
        let heading =
            format!("✗ {} for target `{}`:", plural(report.problems.len(), "problem"), report.target.name());
        out.push(ui.paint(Style::Red, &heading));
        list(&mut out, &report.problems);
    }
    out.join("\n")
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

fn to_json(report: &Report) -> serde_json::Value {
    let problems = |items: &[Problem]| -> Vec<serde_json::Value> {
        items.iter().map(|p| json!({ "what": p.what, "fix": p.fix })).collect()
    };
    let (cluster_state, cluster_detail) = match &report.cluster {
        Cluster::NoMinikube => ("minikube_missing", None),
        Cluster::Running => ("running", None),
        Cluster::NotCreated => ("not_created", None),
        Cluster::Stopped(state) => ("stopped", Some(state.clone())),
        Cluster::Unknown(detail) => ("unknown", Some(detail.clone())),
    };
    json!({
        "target": report.target.name(),
        "ok": report.problems.is_empty(),
        "tools": report.tools.iter().map(|status| {
            let mut value = status.to_json();
            value["needed"] = json!(match report.target.requires(status.tool) {
                Need::Required => "required",
                Need::OneEngine => "one_engine",
                Need::Optional => "optional",
            });
            value
        }).collect::<Vec<_>>(),
        "helm_major": report.tools.iter()
            .find(|s| s.tool == Tool::Helm && s.usable())
            .and_then(|s| s.version.map(|v| v.major)),
        "container_engine": {
            "selected": container_engine::choose(&report.engines).map(|e| e.program()),
            "probes": report.engines.iter().map(Probe::to_json).collect::<Vec<_>>(),
        },
        "cluster": { "profile": report.profile, "state": cluster_state, "detail": cluster_detail },
        "ingress_host": { "host": report.ingress_host, "resolves": !report.host.is_empty(), "addresses": report.host },
        "env_file": {
            "path": ".env",
            "exists": report.env_file.exists,
            "keys": report.env_file.keys,
            "missing_documented_keys": report.env_file.missing,
            "error": report.env_file.error,
        },
        "problems": problems(&report.problems),
        "warnings": problems(&report.warnings),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minikube_status_json_and_prose_are_both_understood() {
        let out = |status: i32, stdout: &str, stderr: &str| {
            Ok(Output { status: Some(status), stdout: stdout.into(), stderr: stderr.into(), dry_run: false })
        };
        let running = r#"{"Name":"todo","Host":"Running","Kubelet":"Running","APIServer":"Running","Kubeconfig":"Configured","Worker":false}"#;
        assert!(matches!(read_cluster(out(0, running, "")), Cluster::Running));
        let stopped = r#"{"Name":"todo","Host":"Stopped","Kubelet":"Stopped","APIServer":"Stopped","Kubeconfig":"Stopped","Worker":false}"#;
        assert!(
            matches!(read_cluster(out(7, stopped, "")), Cluster::Stopped(s) if s == "host Stopped, API server Stopped")
        );
        let missing = "* Profile \"todo\" not found. Run \"minikube profile list\" to view all profiles.";
        assert!(matches!(read_cluster(out(85, missing, "")), Cluster::NotCreated));
    }
}
