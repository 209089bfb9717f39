//! `cargo xtask demo`: the whole story for a newcomer or an audience — check the machine, build,
//! start the cluster, release, verify, show the AI DevOps tools — narrated step by step, ending
//! with every phase's time against the budgets. Where no cluster can be used it says exactly why
//! and runs the local stack instead, so a fresh machine still ends with the app in a browser.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use serde_json::json;

use super::ai_showcase::{self, AiShowcase};
use super::doctor::{self, Target};
use super::{deploy, up};
use crate::clock;
use crate::config::{BudgetKind, DeployConfig};
use crate::context::Context;
use crate::kube;
use crate::phase::{self, Phase, Pipeline, Plan, Row, Status};
use crate::ui::Style;

/// The whole story, narrated: doctor → build → cluster → release → verify, then a timing table
///
/// Checks the machine (`doctor`) for the target, then runs the deploy's phases with a sentence
/// before each on what it does and why: containerize → minikube → helm-gen → secrets → release →
/// verify → ai-showcase (Gordon, kubectl-ai and kagent where installed, and the built-in cluster
/// assistant; `--skip-ai` leaves it out). Ends with a table of every phase's time against the
/// budgets of deploy/todo.toml (build < 5 min, deploy < 3 min, pod start < 2 min; pod start is
/// measured from the cluster: the slowest pod's creation to Ready), and the URL to open.
///
/// Where no cluster can be used — no container engine, no minikube/helm/kubectl, a kube context
/// that does not answer, or minikube failing to start — it says exactly why, points at
/// `infra/scripts/onboard.sh` to install what is missing, and runs the local stack
/// (`cargo xtask up`: the app as two processes, SQLite, the offline agent) instead: a fresh
/// machine with only Rust still ends with a working app. Unchanged phases are skipped, so a
/// second demo takes seconds. Takes deploy's options (`--env cluster --registry R` for the
/// current kube context).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Skip the cluster and run the local stack (`cargo xtask up`)
    #[arg(long)]
    pub local: bool,

    /// The web port of the local stack, when the demo runs it (as `up --port`)
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,

    /// Leave out the AI DevOps step (and the built-in assistant after a failed release)
    #[arg(long)]
    pub skip_ai: bool,

    #[command(flatten)]
    pub deploy: deploy::Options,
}

pub fn run(cx: &Context, args: &Args) -> Result<()> {
    let started = Instant::now();
    let env = args.deploy.env.as_str();
    if args.local {
        intro(cx, "on this machine, without a cluster (--local)");
        return local_stack(cx, args, &["--local was given".to_owned()]);
    }
    let target = if env == "minikube" { Target::Minikube } else { Target::Cluster };
    let (config, _) = DeployConfig::load_env(&cx.root, Some(env))?;
    let place = match target {
        Target::Minikube => format!("minikube (profile `{}`)", super::minikube::profile(&config)),
        _ => format!("the current kube context (environment `{env}`)"),
    };
    intro(cx, &place);

    let mut phases = deploy::phases(cx, &args.deploy)?;
    phases.push(deploy::verify_phase(&args.deploy));
    if !args.skip_ai {
        phases.push(Box::new(AiShowcase { options: showcase_options(cx, env) }));
    }
    let steps = phases.len() + 1;

    narrate(cx, 1, steps, "doctor", STORY_DOCTOR);
    let checked = Instant::now();
    let examination = doctor::examine(cx, target, env);
    let doctor_time = checked.elapsed();
    cx.ui.info(&examination.report);
    if !examination.problems.is_empty() {
        let reasons: Vec<String> = examination
            .problems
            .iter()
            .map(|problem| format!("{} (fix: {})", problem.what, problem.fix))
            .collect();
        return local_stack(cx, args, &reasons);
    }
    let doctor_row = Row {
        phase: "doctor",
        status: Status::Done,
        duration: doctor_time,
        budget: None,
        note: format!("ready for target `{}`", target.name()),
    };

    let narrated: Vec<Box<dyn Phase>> = phases
        .into_iter()
        .enumerate()
        .map(|(i, inner)| Box::new(Narrated { inner, step: i + 2, of: steps }) as Box<dyn Phase>)
        .collect();
    let run = Pipeline::new(narrated).run_unsummarized(cx)?;

    let mut rows = vec![doctor_row];
    let failed = run.failed_phase();
    if !args.skip_ai && matches!(failed, Some("release" | "verify")) {
        ai_showcase::assist_after_failure(cx, env);
    }
    rows.extend(run.rows);
    if run.result.is_ok() && !cx.runner.dry_run() {
        rows.push(pod_start(cx, &config));
    }
    phase::summarize(cx, &rows, started.elapsed());
    if !cx.runner.dry_run()
        && let Err(err) = record(cx, &rows)
    {
        cx.ui.warn(&format!("{err:#}"));
    }
    if let (Some("minikube"), Err(err)) = (failed, &run.result) {
        // What minikube said, without the pipeline's advice to resume (the demo goes on instead).
        let why: Vec<String> = err.chain().skip(1).map(|cause| cause.to_string()).collect();
        let why = why.join(": ").replace('\n', "\n     ");
        return local_stack(cx, args, &[format!("minikube could not start the cluster: {why}")]);
    }
    run.result?;
    finale(cx, &config, env);
    Ok(())
}

const STORY_DOCTOR: &str = "Is every tool the cluster path needs here, and does the container engine answer? \
                            Without them the demo runs the app on this machine instead.";

fn story(phase: &str) -> &'static str {
    match phase {
        "containerize" => {
            "Build the api and web images. Each tag is a hash of the image's inputs, never `latest`: \
             an unchanged image is not rebuilt, and a changed one always rolls the pods."
        }
        "minikube" => {
            "Start the local cluster (if it is not running), enable its ingress controller, and load \
             the images that are missing: no registry needed."
        }
        "helm-gen" => {
            "Write the Helm chart from the typed description in deploy/todo.toml, so the chart, its \
             values and the environments cannot drift apart."
        }
        "secrets" => {
            "Turn .env into a Secret and a ConfigMap: generated values (JWT secret, database password) \
             are kept, no value ever reaches a command line, a log or an annotation."
        }
        "release" => {
            "helm upgrade --install, then watch every Deployment roll out. If it does not become \
             ready, helm rolls back (the old version keeps serving) and you see why."
        }
        "verify" => {
            "Through the ingress, as a user would: the page loads, the API is healthy, and a smoke \
             flow signs up, manages a task and has one chat turn."
        }
        "ai-showcase" => {
            "Ask the AI DevOps tools that are installed (Gordon, kubectl-ai, kagent) about this \
             deployment; those that are not are listed with how to get them."
        }
        _ => "",
    }
}

/// What the AI step asks: every tool that is here, and the built-in assistant. A tool that fails
/// is reported, not fatal: the app is already verified. The transcripts stay in the state
/// directory, so a demo leaves the checkout as it was (`ai-showcase` alone appends to
/// docs/ai-devops/).
fn showcase_options(cx: &Context, env: &str) -> ai_showcase::Options {
    ai_showcase::Options {
        env: env.to_owned(),
        keep_going: true,
        transcripts: Some(cx.state_dir().join("ai-showcase/transcripts")),
        ..ai_showcase::Options::default()
    }
}

fn intro(cx: &Context, place: &str) {
    cx.ui.info(&cx.ui.paint(Style::Bold, &format!("todo demo: from source to a working app on {place}")));
    cx.ui.info(
        "Each step says what it does and why; steps whose inputs are unchanged are skipped, so a \
         second demo takes seconds. The end: every phase's time against the budgets, and the URL.",
    );
}

fn narrate(cx: &Context, step: usize, of: usize, phase: &str, story: &str) {
    cx.ui.info("");
    cx.ui.info(&cx.ui.paint(Style::Bold, &format!("Step {step} of {of} · {phase}")));
    if !story.is_empty() {
        cx.ui.info(&cx.ui.paint(Style::Dim, &format!("  {story}")));
    }
    cx.ui.event(json!({ "event": "demo_step", "step": step, "of": of, "phase": phase }));
}

/// A deploy phase with its sentence of narration before it.
struct Narrated {
    inner: Box<dyn Phase>,
    step: usize,
    of: usize,
}

impl Phase for Narrated {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn needs(&self) -> &'static [&'static str] {
        self.inner.needs()
    }

    fn budget(&self) -> Option<BudgetKind> {
        self.inner.budget()
    }

    fn prepare<'a>(&'a self, cx: &Context) -> Result<Box<dyn Plan + 'a>> {
        narrate(cx, self.step, self.of, self.name(), story(self.name()));
        self.inner.prepare(cx)
    }
}

/// The slowest of the release's pods from creation to Ready, as the API server recorded it: the
/// figure the seed plan's "pod start" budget is about, whatever else the release phase waited for.
fn pod_start(cx: &Context, config: &DeployConfig) -> Row {
    let budget = Some(config.budgets.get(BudgetKind::PodStart));
    let mut row = Row {
        phase: "pod start",
        status: Status::Skipped,
        duration: Duration::ZERO,
        budget,
        note: String::new(),
    };
    match kube::pods(cx, &kube::Target::of(config)) {
        Err(err) => {
            row.note = format!("could not read the pods: {}", err.to_string().lines().next().unwrap_or(""))
        }
        Ok(pods) => {
            let timed: Vec<(Duration, String)> = pods
                .iter()
                .filter(|pod| !pod.terminating())
                .filter_map(|pod| Some((pod.time_to_ready()?, pod.metadata.name.clone())))
                .collect();
            match timed.iter().max() {
                None => row.note = "no Ready pod to measure".to_owned(),
                Some((slowest, name)) => {
                    row.status = Status::Done;
                    row.duration = *slowest;
                    row.note = format!("slowest of {} pods, created → Ready: {name}", timed.len());
                }
            }
        }
    }
    row
}

/// The file `polish`'s review report reads the demo's figures from.
pub const RECORD_FILE: &str = "demo.json";

/// What this demo measured, for the review report: `target/xtask/demo.json`.
fn record(cx: &Context, rows: &[Row]) -> Result<()> {
    let record = json!({ "finished_at": clock::now_unix(), "phases": phase::rows_json(rows, false) });
    let path = cx.state_dir().join(RECORD_FILE);
    std::fs::create_dir_all(cx.state_dir())?;
    std::fs::write(&path, serde_json::to_vec_pretty(&record)?).with_context(|| format!("cannot write {path}"))
}

fn finale(cx: &Context, config: &DeployConfig, env: &str) {
    if cx.runner.dry_run() {
        return;
    }
    cx.ui.info("");
    if config.ingress.enabled {
        let url = format!("http://{}/", config.ingress.host);
        cx.ui.success(&format!("the app is live and verified: open {url}"));
        if env == "minikube" {
            cx.ui.info(&format!(
                "  (the browser needs {} in /etc/hosts: `cargo xtask minikube --write-hosts` adds it)",
                config.ingress.host
            ));
        }
        cx.ui.event(json!({ "event": "demo_finish", "url": url }));
    } else {
        cx.ui.success("the app is live and verified");
    }
    cx.ui.info(&format!(
        "  next: `cargo xtask status --env {env}` shows its pods, `cargo xtask logs --env {env} --follow` \
         its logs, `cargo xtask down --env {env}` removes it"
    ));
}

/// The app on this machine instead, after saying why the cluster path is not taken.
fn local_stack(cx: &Context, args: &Args, reasons: &[String]) -> Result<()> {
    cx.ui.info("");
    cx.ui.warn("no cluster can be used here, so the demo runs the app on this machine (`cargo xtask up`):");
    for (i, reason) in reasons.iter().enumerate() {
        cx.ui.info(&format!("  {}. {reason}", i + 1));
    }
    if !args.local {
        cx.ui.info(
            "  To take the cluster path: `bash infra/scripts/onboard.sh` installs what is missing \
             (`--check` only lists it), then run `cargo xtask demo` again.",
        );
    }
    cx.ui.event(json!({ "event": "demo_fallback", "reasons": reasons }));
    cx.ui.info("");
    up::run(cx, &up::Args { port: args.port, offline: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_deploy_phase_has_its_story() {
        for phase in ["containerize", "minikube", "helm-gen", "secrets", "release", "verify", "ai-showcase"] {
            assert!(!story(phase).is_empty(), "{phase} has no narration");
        }
    }
}
