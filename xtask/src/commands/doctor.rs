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
use crate::runner::{Cmd, Output};
use crate::tools::{self, Tool, ToolStatus};
use crate::ui::AlreadyReported;
use crate::ui::{Style, Table};

const HOST_LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

/// Check tools, container engine, cluster, hosts entry and .env; say how to fix each gap
///
/// Every tool with found/missing, version and minimum; whether docker's daemon or podman answers;
/// the minikube profile's state; whether the kube context answers; whether todo.local resolves;
/// whether .env exists. Runs `<tool> --version` (or its equivalent) for cargo, docker, podman,
/// minikube, helm, kubectl, kubectl-ai, kagent and `docker ai`; `docker version` / `podman image
/// ls` to reach the engines; `minikube status`; and `kubectl get --raw /readyz`. Changes nothing.
///
/// Without `--target`, reports every target (local, minikube, cluster) with what each lacks, and
/// exits 0 when the local stack can run (`cargo xtask up`, or `demo`'s fallback). With
/// `--target T`, exits non-zero, with the fix for each problem, when T cannot work.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Check only what you are about to run, and fail when it cannot work: `local` runs the app
    /// as plain processes (needs cargo only); `minikube` is the cluster deploy (also a container
    /// engine, minikube, helm and kubectl); `cluster` is `deploy --env cluster` (an engine, helm,
    /// kubectl and a current kube context that answers) [default: every target]
    #[arg(long, value_enum)]
    pub target: Option<Target>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Local,
    Minikube,
    Cluster,
}

impl Target {
    const ALL: [Target; 3] = [Target::Local, Target::Minikube, Target::Cluster];

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
    pub fn environment(self) -> &'static str {
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
    let api_server_env = (target == Target::Cluster).then_some(env);
    let mut report = gather(cx, target, env, api_server_env);
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
    /// Without `--target`: every target with what keeps it from working (`target` is then the
    /// one whose warnings are shown: minikube's, the widest).
    every: Option<Vec<(Target, Vec<Problem>)>>,
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
    let report = match args.target {
        Some(target) => {
            let api_server_env = (target == Target::Cluster).then_some(target.environment());
            gather(cx, target, target.environment(), api_server_env)
        }
        None => {
            // One round of probes serves every target; minikube's environment has the widest checks.
            let mut report = gather(cx, Target::Minikube, "minikube", Some(Target::Cluster.environment()));
            let every = Target::ALL.iter().map(|&target| (target, diagnose(&report, target).0)).collect();
            report.every = Some(every);
            report
        }
    };
    if cx.opts.json {
        cx.ui.print(&serde_json::to_string_pretty(&to_json(&report))?);
    } else {
        cx.ui.print(&render(cx, &report));
    }
    if let Some(every) = &report.every {
        let local_runs =
            every.iter().any(|(target, problems)| *target == Target::Local && problems.is_empty());
        if local_runs {
            return Ok(());
        }
        if !cx.opts.json {
            cx.ui.error(
                "not even the local stack can run here; the fixes for target `local` are listed above",
            );
        }
        return Err(AlreadyReported.into());
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

/// Probes the machine for `target` with environment `env`'s description; `api_server_env` is the
/// environment whose kube context is asked whether it answers (none: not asked).
fn gather(cx: &Context, target: Target, env: &str, api_server_env: Option<&str>) -> Report {
    let (config, config_error) = match DeployConfig::load_env(&cx.root, Some(env)) {
        Ok((config, _)) => (Some(config), None),
        Err(err) => (None, Some(format!("{err:#}"))),
    };
    // The kube context the API-server probe asks: that environment's, or the current one.
    let probed_context = match api_server_env {
        Some(other) if other != env => {
            DeployConfig::load_env(&cx.root, Some(other)).ok().and_then(|(config, _)| config.cluster.context)
        }
        _ => config.as_ref().and_then(|config| config.cluster.context.clone()),
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
    let api_server_probe = (api_server_env.is_some() && which::which("kubectl").is_ok()).then(|| {
        let context: Vec<String> =
            probed_context.iter().flat_map(|context| ["--context".to_owned(), context.clone()]).collect();
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
        kube_context: match probed_context {
            Some(context) => format!("kube context `{context}`"),
            None => "the current kube context".to_owned(),
        },
        api_server,
        host,
        env_file,
        problems: Vec::new(),
        warnings: Vec::new(),
        every: None,
    };
    (report.problems, report.warnings) = diagnose(&report, target);
    report
}

/// What keeps `target` from working (problems), and what to look at (warnings).
fn diagnose(report: &Report, target: Target) -> (Vec<Problem>, Vec<Problem>) {
    let (mut problems, mut warnings) = (Vec::new(), Vec::new());
    let (profile, ingress_host) = (report.profile.clone(), report.ingress_host.clone());
    if let Some(error) = &report.config_error
        && target != Target::Local
    {
        problems.push(Problem {
            what: format!("the deploy description cannot be read: {error}"),
            fix: "fix deploy/todo.toml or deploy/environments/*.toml as the message says".into(),
        });
    }
    for status in &report.tools {
        if target.requires(status.tool) != Need::Required || status.usable() {
            continue;
        }
        problems.push(tool_problem(status));
    }

    if target != Target::Local && container_engine::choose(&report.engines).is_none() {
        let installed: Vec<&ToolStatus> = report
            .tools
            .iter()
            .filter(|s| matches!(s.tool, Tool::Docker | Tool::Podman) && s.found)
            .collect();
        if installed.is_empty() {
            problems.push(Problem {
                what: "no container engine: neither docker nor podman is installed".into(),
                fix: format!(
                    "install one: {} — or: {}",
                    Tool::Docker.install_hint(),
                    Tool::Podman.install_hint()
                ),
            });
        }
        for probe in &report.engines {
            problems.push(Problem {
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
            Cluster::NotCreated => warnings.push(Problem {
                what: format!("minikube profile `{profile}` does not exist yet"),
                fix: format!("create it with `{start}`"),
            }),
            Cluster::Stopped(state) => warnings.push(Problem {
                what: format!("minikube profile `{profile}` is not running ({state})"),
                fix: format!("start it with `{start}`"),
            }),
            Cluster::Unknown(detail) => warnings.push(Problem {
                what: format!("could not read the state of minikube profile `{profile}`: {detail}"),
                fix: format!("run `minikube status -p {profile}` to see why"),
            }),
        }
        if report.host.is_empty() {
            warnings.push(Problem {
                what: format!("{ingress_host} does not resolve, so a browser cannot reach the ingress"),
                fix: format!(
                    "add `$(minikube ip -p {profile}) {ingress_host}` to /etc/hosts once the cluster runs"
                ),
            });
        }
    }

    if let (Target::Cluster, Some(Err(why))) = (target, &report.api_server) {
        problems.push(Problem {
            what: format!("the API server of {} does not answer: {why}", report.kube_context),
            fix: "check `kubectl config current-context` names the cluster you mean and that it runs; \
                  `kubectl get --raw /readyz` shows the same"
                .into(),
        });
    }

    if let Some(error) = &report.env_file.error {
        warnings.push(Problem {
            what: format!(".env cannot be read: {error}"),
            fix: "fix that line (quote a value holding spaces, `#` or `$`); `secrets` and `up` read .env the same way"
                .into(),
        });
    } else if !report.env_file.exists {
        warnings.push(Problem {
            what: ".env does not exist (settings and secrets for the app: LLM key, database URL)".into(),
            fix: "for minikube nothing is needed: `cargo xtask secrets` creates it with a generated \
                  JWT_SECRET and bundled-Postgres password; to use an LLM key or an external database, \
                  first cp deploy/.env.example .env and fill in what you use (locally the app runs \
                  with SQLite and the offline agent without it)"
                .into(),
        });
    } else if !report.env_file.missing.is_empty() {
        warnings.push(Problem {
            what: format!(
                ".env lacks keys that deploy/.env.example documents: {}",
                report.env_file.missing.join(", ")
            ),
            fix: "copy the lines you need from deploy/.env.example (a missing key takes its default)".into(),
        });
    }
    (problems, warnings)
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
    let heading = match report.every {
        Some(_) => "Doctor — every target (`--target T` checks one)".to_owned(),
        None => format!("Doctor — target `{}`", report.target.name()),
    };
    out.push(ui.paint(Style::Bold, &heading));
    out.push(String::new());

    let mut table = Table::new(&["tool", "status", "version", "minimum", "needed", "where / what for"]);
    for status in &report.tools {
        let need = needed_by(report, status.tool);
        let (word, style) = match (status.usable(), status.found, need) {
            (true, _, _) => ("ok", Style::Green),
            (false, true, _) => ("unusable", Style::Red),
            (false, false, Need::Optional) => ("missing", Style::Dim),
            (false, false, _) => ("missing", Style::Red),
        };
        let needed = match (&report.every, need) {
            (Some(_), Need::Optional) => "optional".to_owned(),
            // Which targets need it: `minikube, cluster`, `every target`.
            (Some(_), _) => {
                let targets: Vec<&str> = Target::ALL
                    .iter()
                    .filter(|target| target.requires(status.tool) != Need::Optional)
                    .map(|target| target.name())
                    .collect();
                let engine = if need == Need::OneEngine { " (one engine)" } else { "" };
                match targets.len() {
                    3 => "every target".to_owned(),
                    _ => format!("{}{engine}", targets.join(", ")),
                }
            }
            (None, Need::Required) => "required".to_owned(),
            (None, Need::OneEngine) => "one engine".to_owned(),
            (None, Need::Optional) => "optional".to_owned(),
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
            (needed, None),
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

    let optional_missing: Vec<&ToolStatus> =
        report.tools.iter().filter(|s| needed_by(report, s.tool) == Need::Optional && !s.usable()).collect();
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
    if let Some(every) = &report.every {
        for (target, problems) in every {
            let what = match target {
                Target::Local => "`cargo xtask up`, or `demo` without a cluster",
                Target::Minikube => "`cargo xtask demo` / `deploy` on minikube",
                Target::Cluster => "`deploy --env cluster` on the current kube context",
            };
            if problems.is_empty() {
                out.push(ui.paint(Style::Green, &format!("✓ {:<9}ready: {what}", target.name())));
            } else {
                let heading =
                    format!("✗ {:<9}{} ({what}):", target.name(), plural(problems.len(), "problem"));
                out.push(ui.paint(Style::Red, &heading));
                list(&mut out, problems);
            }
        }
        if every.iter().any(|(_, problems)| !problems.is_empty()) {
            out.push(
                "  `bash infra/scripts/onboard.sh` installs what is missing; `--target T` checks one target"
                    .to_owned(),
            );
        }
    } else if report.problems.is_empty() {
        out.push(ui.paint(Style::Green, &format!("✓ ready for target `{}`", report.target.name())));
    } else {
        let heading =
            format!("✗ {} for target `{}`:", plural(report.problems.len(), "problem"), report.target.name());
        out.push(ui.paint(Style::Red, &heading));
        list(&mut out, &report.problems);
    }
    out.join("\n")
}

/// How much the report's target needs `tool`; without `--target`, the most any target needs it.
fn needed_by(report: &Report, tool: Tool) -> Need {
    match report.every {
        None => report.target.requires(tool),
        Some(_) => {
            let needs: Vec<Need> = Target::ALL.iter().map(|target| target.requires(tool)).collect();
            if needs.contains(&Need::Required) {
                Need::Required
            } else if needs.contains(&Need::OneEngine) {
                Need::OneEngine
            } else {
                Need::Optional
            }
        }
    }
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
    // Without --target: `ok` says whether the local stack can run, `targets` has each verdict.
    let (target, ok, problems_of_target) = match &report.every {
        Some(every) => {
            let local = every.iter().find(|(target, _)| *target == Target::Local).map(|(_, p)| p.as_slice());
            ("all", local.is_some_and(<[Problem]>::is_empty), local.unwrap_or_default())
        }
        None => (report.target.name(), report.problems.is_empty(), report.problems.as_slice()),
    };
    let targets: Option<serde_json::Map<String, serde_json::Value>> = report.every.as_ref().map(|every| {
        every
            .iter()
            .map(|(target, found)| {
                (target.name().to_owned(), json!({ "ok": found.is_empty(), "problems": problems(found) }))
            })
            .collect()
    });
    json!({
        "target": target,
        "ok": ok,
        "targets": targets,
        "tools": report.tools.iter().map(|status| {
            let mut value = status.to_json();
            value["needed"] = json!(match needed_by(report, status.tool) {
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
        "problems": problems(problems_of_target),
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
