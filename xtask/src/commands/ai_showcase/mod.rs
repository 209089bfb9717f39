//! `cargo xtask ai-showcase`: the curated prompts of `docs/ai-devops/prompts.toml` through Gordon,
//! kubectl-ai and kagent, for real where they are installed, and the built-in cluster assistant.
//!
//! Here: the command, its options, the phase `demo` chains, and the summary. The catalogue is in
//! `catalogue`, detecting and calling the tools in `external`, the assistant in `builtin`, the
//! model request in `llm`, and the transcripts in `transcript`.

pub mod builtin;
pub mod catalogue;
mod external;
pub mod llm;
mod transcript;

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use camino::Utf8PathBuf;
use serde_json::json;

use self::catalogue::{AiTool, Effect, Vars};
use self::external::Skip;
use self::transcript::Entry;
use crate::config::{self, DeployConfig};
use crate::context::Context;
use crate::images::BuiltImages;
use crate::kube::Target;
use crate::phase::{self, Outcome, Phase, Pipeline, Plan};
use crate::runner::{CommandError, Failure};
use crate::ui::{Style, Table, fmt_duration};

/// How long one prompt may run when `--timeout` is not given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(180);

/// Ask Gordon, kubectl-ai and kagent the curated prompts, then the built-in cluster assistant
///
/// Runs each prompt of docs/ai-devops/prompts.toml through its tool, non-interactively and with a
/// timeout: Gordon (`docker ai "PROMPT"`, Docker Desktop signed in, no key), kubectl-ai
/// (`kubectl-ai --quiet [--llm-provider P] [--model M] "PROMPT"`; its key from GEMINI_API_KEY,
/// OPENAI_API_KEY (+ OPENAI_ENDPOINT) or ANTHROPIC_API_KEY, else the app's LLM settings from .env;
/// its trace, redacted, in target/xtask/ai-showcase/) and kagent (`kagent invoke --agent k8s-agent --task
/// "PROMPT"`; kagent installed in the cluster). A tool that is missing, has no key, is not signed in
/// or not installed in the cluster is skipped with what to do, never a failure. Mutating prompts
/// run only with `--allow-mutations`.
///
/// Then the built-in assistant, which needs only kubectl: it reads the namespace (pods,
/// deployments, replica sets, events, ingresses, failing containers' last logs, `helm status`),
/// names the known failure patterns (image pulls, crash loops, OOMKilled, failing probes,
/// unschedulable pods, a missing Secret key, an Ingress without an address, a release stuck
/// pending) with their fixes, and, when .env configures an LLM (LLM_API_KEY, LLM_BASE_URL,
/// LLM_MODEL), prints the model's summary of that state, sent with every secret value removed.
///
/// Each run is appended to docs/ai-devops/<tool>.md (prompt, command line, output, duration;
/// secrets as <redacted>) and summed up in a table: ran / skipped (why) / failed.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub options: Options,
}

/// What to ask, where, and how; `demo` builds it with `Default` plus the environment.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct Options {
    /// The environment whose namespace and release are asked about: a file in
    /// deploy/environments/
    #[arg(long = "env", value_name = "ENV", default_value = config::DEFAULT_ENVIRONMENT)]
    pub env: String,

    /// Ask about this namespace instead of the environment's
    #[arg(long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// The Helm release instead of the environment's
    #[arg(long, value_name = "RELEASE")]
    pub release: Option<String>,

    /// Only these tools (repeat the flag); the built-in assistant then runs only with --builtin
    #[arg(long = "tool", value_enum, value_name = "TOOL")]
    pub tools: Vec<AiTool>,

    /// Run the built-in cluster assistant (alone, unless --tool is given too)
    #[arg(long)]
    pub builtin: bool,

    /// How long each prompt (and the model's answer) may take before it is stopped [default: 3m]
    #[arg(long, value_name = "DURATION", value_parser = config::parse_duration)]
    pub timeout: Option<Duration>,

    /// Also run the prompts that change the cluster (kubectl-ai then gets --skip-permissions)
    #[arg(long)]
    pub allow_mutations: bool,

    /// kubectl-ai's --llm-provider (gemini, openai, openai-compatible, anthropic, ollama, ...)
    #[arg(long, value_name = "PROVIDER")]
    pub llm_provider: Option<String>,

    /// kubectl-ai's --model
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,

    /// Install kagent in the cluster when it is not there (`kagent install --profile minimal`;
    /// needs OPENAI_API_KEY and about 1 CPU and 1.5 GiB free)
    #[arg(long)]
    pub install_kagent: bool,

    /// Append the transcripts here instead of docs/ai-devops/
    #[arg(long, value_name = "DIR")]
    pub transcripts: Option<Utf8PathBuf>,

    /// Report prompts that failed (an error, a timeout) without failing the command
    #[arg(long)]
    pub keep_going: bool,
}

impl Options {
    fn timeout(&self) -> Duration {
        self.timeout.filter(|t| !t.is_zero()).unwrap_or(DEFAULT_TIMEOUT)
    }

    fn env(&self) -> &str {
        if self.env.is_empty() { config::DEFAULT_ENVIRONMENT } else { &self.env }
    }

    /// The external tools to run, in catalogue order.
    fn external_tools(&self) -> Vec<AiTool> {
        if self.tools.is_empty() && self.builtin {
            return Vec::new();
        }
        AiTool::ALL.into_iter().filter(|tool| self.tools.is_empty() || self.tools.contains(tool)).collect()
    }

    fn runs_builtin(&self) -> bool {
        self.builtin || self.tools.is_empty()
    }
}

pub fn run(cx: &Context, args: &Args) -> Result<()> {
    Pipeline::new(vec![Box::new(AiShowcase { options: args.options.clone() })]).run(cx)
}

/// The phase: always runs (its inputs are a cluster and models, not files). Succeeds when tools
/// are missing; fails only when a prompt that ran failed, unless `keep_going`.
pub struct AiShowcase {
    pub options: Options,
}

impl Phase for AiShowcase {
    fn name(&self) -> &'static str {
        "ai-showcase"
    }

    fn prepare<'a>(&'a self, _cx: &Context) -> Result<Box<dyn Plan + 'a>> {
        Ok(phase::always(move |cx| showcase(cx, &self.options)))
    }
}

/// One row of the summary.
struct Row {
    tool: String,
    prompt: String,
    status: Status,
    duration: Option<Duration>,
}

enum Status {
    Ran,
    Planned,
    Skipped(String),
    Failed(String),
}

fn target_of(config: &DeployConfig, options: &Options) -> Target {
    let mut target = Target::of(config);
    if let Some(namespace) = &options.namespace {
        target.namespace = namespace.clone();
    }
    if let Some(release) = &options.release {
        target.release = release.clone();
    }
    target
}

fn showcase(cx: &Context, options: &Options) -> Result<Outcome> {
    let (config, _) = DeployConfig::load_env(&cx.root, Some(options.env()))?;
    let target = target_of(&config, options);
    let app_llm = llm::load(cx, &config)?;
    let transcripts = options.transcripts.clone().unwrap_or_else(|| cx.root.join("docs/ai-devops"));
    let transcripts = if transcripts.is_absolute() { transcripts } else { cx.root.join(transcripts) };
    let timeout = options.timeout();
    let mut rows = Vec::new();

    let tools = options.external_tools();
    if !tools.is_empty() {
        // The tools read the cluster too, and may print what its Secrets hold.
        builtin::register_cluster_secrets(cx, &target);
        let prompts = catalogue::load(&cx.root)?;
        let api_image = BuiltImages::load(cx)
            .ok()
            .and_then(|built| built.images.into_iter().find(|image| image.name == "todo-api"))
            .map_or_else(|| "todo-api".to_owned(), |image| format!("todo-api:{}", image.tag));
        let api_deployment = format!("{}-api", config.fullname());
        let vars = Vars {
            namespace: &target.namespace,
            release: &target.release,
            api_deployment: &api_deployment,
            dockerfile: "infra/docker/api.Dockerfile",
            api_image: &api_image,
        };
        std::fs::create_dir_all(cx.state_dir().join("ai-showcase"))?;
        for tool in tools {
            let mine: Vec<_> = prompts.iter().filter(|p| p.tool == tool).collect();
            cx.ui.info(&format!("{} ({} prompts)", external::program(tool), mine.len()));
            let ready = match external::detect(cx, tool, options, &target, app_llm.as_ref()) {
                Ok(ready) => ready,
                Err(skip) => {
                    skip_all(cx, &mut rows, tool, &skip, mine.iter().map(|p| p.id.clone()));
                    continue;
                }
            };
            let mut entries = Vec::new();
            let mut signed_out = false;
            for prompt in mine {
                let text = prompt.render(&vars)?;
                if signed_out {
                    rows.push(row(tool, &prompt.id, Status::Skipped(external::not_signed_in().reason)));
                    continue;
                }
                if prompt.effect == Effect::Mutating && !options.allow_mutations {
                    cx.ui.info(&format!("  – {}: mutating, skipped (--allow-mutations runs it)", prompt.id));
                    rows.push(row(
                        tool,
                        &prompt.id,
                        Status::Skipped("mutating: pass --allow-mutations".into()),
                    ));
                    continue;
                }
                let cmd =
                    external::command(cx, &ready, prompt, &text, options).timeout(timeout).allow_failure();
                let line = cmd.to_string();
                let started = Instant::now();
                let result = cx.run(cmd);
                let duration = started.elapsed();
                if tool == AiTool::KubectlAi && !cx.runner.dry_run() {
                    external::redact_trace(cx)?;
                }
                let (status, output, result_text) = match result {
                    Ok(output) if output.dry_run => (Status::Planned, String::new(), String::new()),
                    Ok(output) => {
                        let text = format!("{}{}", output.stdout, output.stderr);
                        match output.status {
                            Some(0) => (Status::Ran, text, "exit 0".to_owned()),
                            _ if tool == AiTool::Gordon && external::signed_out(&text) => {
                                signed_out = true;
                                (
                                    Status::Skipped(external::not_signed_in().reason),
                                    text,
                                    "not signed in".into(),
                                )
                            }
                            code => {
                                let why = format!("exit {}", code.map_or("?".to_owned(), |c| c.to_string()));
                                (Status::Failed(why.clone()), text, why)
                            }
                        }
                    }
                    Err(err) => {
                        let why = match err.downcast_ref::<CommandError>() {
                            Some(CommandError { failure: Failure::TimedOut(after), .. }) => {
                                format!("timed out after {} and was stopped", fmt_duration(*after))
                            }
                            _ => err.to_string().lines().next().unwrap_or_default().to_owned(),
                        };
                        let text = err
                            .downcast_ref::<CommandError>()
                            .map(|e| format!("{}{}", e.output.stdout, e.output.stderr))
                            .unwrap_or_default();
                        (Status::Failed(why.clone()), text, why)
                    }
                };
                if !matches!(status, Status::Planned) {
                    entries.push(Entry {
                        title: prompt.id.clone(),
                        effect: prompt.effect.name(),
                        prompt: text.clone(),
                        command: line,
                        duration,
                        result: result_text,
                        output,
                    });
                }
                rows.push(Row { duration: Some(duration), ..row(tool, &prompt.id, status) });
            }
            if !cx.runner.dry_run() {
                let heading = format!("{} transcripts", external::program(tool));
                transcript::append(
                    &transcripts,
                    &format!("{}.md", tool.name()),
                    &heading,
                    &entries,
                    cx.ui.redactor(),
                )?;
            }
        }
    }

    if options.runs_builtin() {
        cx.ui.info("built-in assistant");
        let started = Instant::now();
        match builtin::assist(cx, &target, app_llm.as_ref(), timeout) {
            Ok(report) => {
                let lines = report.lines();
                for line in &lines {
                    cx.ui.info(&format!("  {line}"));
                }
                let failed = matches!(report.model, builtin::ModelAnswer::Failed(_)) && !cx.runner.dry_run();
                if !cx.runner.dry_run() {
                    let entry = Entry {
                        title: format!("namespace {}", target.namespace),
                        effect: "read-only",
                        prompt: String::new(),
                        command: String::new(),
                        duration: started.elapsed(),
                        result: format!("{} findings", report.findings.len()),
                        output: lines.join("\n"),
                    };
                    transcript::append(
                        &transcripts,
                        "builtin.md",
                        "Built-in assistant transcripts",
                        &[entry],
                        cx.ui.redactor(),
                    )?;
                }
                let status = match &report.model {
                    builtin::ModelAnswer::Failed(why) if failed => {
                        Status::Failed(format!("the model: {why}"))
                    }
                    _ => Status::Ran,
                };
                rows.push(Row {
                    tool: "built-in".into(),
                    prompt: format!("{} findings", report.findings.len()),
                    status,
                    duration: Some(started.elapsed()),
                });
            }
            Err(err) => {
                let why = format!(
                    "the cluster does not answer: {}",
                    err.to_string().lines().next().unwrap_or_default()
                );
                cx.ui.warn(&format!("built-in assistant skipped: {why}"));
                rows.push(row_named("built-in", "namespace", Status::Skipped(why)));
            }
        }
    }

    summary(cx, &rows, options.keep_going)
}

fn row(tool: AiTool, prompt: &str, status: Status) -> Row {
    row_named(external::program(tool), prompt, status)
}

fn row_named(tool: &str, prompt: &str, status: Status) -> Row {
    Row { tool: tool.to_owned(), prompt: prompt.to_owned(), status, duration: None }
}

fn skip_all(cx: &Context, rows: &mut Vec<Row>, tool: AiTool, skip: &Skip, ids: impl Iterator<Item = String>) {
    cx.ui.warn(&format!("{} skipped: {}", external::program(tool), skip.reason));
    cx.ui.info(&format!("  to enable it: {}", skip.hint));
    for id in ids {
        rows.push(row(tool, &id, Status::Skipped(skip.reason.clone())));
    }
}

fn summary(cx: &Context, rows: &[Row], keep_going: bool) -> Result<Outcome> {
    let mut table = Table::new(&["tool", "prompt", "result", "time", "why"]);
    let (mut ran, mut skipped, mut failed) = (0, 0, 0);
    for row in rows {
        let (result, style, why) = match &row.status {
            Status::Ran => {
                ran += 1;
                ("ran", Style::Green, String::new())
            }
            Status::Planned => ("planned", Style::Cyan, "dry run".to_owned()),
            Status::Skipped(why) => {
                skipped += 1;
                ("skipped", Style::Yellow, why.clone())
            }
            Status::Failed(why) => {
                failed += 1;
                ("failed", Style::Red, why.clone())
            }
        };
        table.row(vec![
            (row.tool.clone(), None),
            (row.prompt.clone(), None),
            (result.to_owned(), Some(style)),
            (row.duration.map_or("-".to_owned(), fmt_duration), None),
            (why, None),
        ]);
        cx.ui.event(json!({
            "event": "ai_prompt",
            "tool": row.tool,
            "prompt": row.prompt,
            "result": result,
            "duration_ms": row.duration.map(|d| d.as_millis() as u64),
        }));
    }
    cx.ui.info(&table.render(&cx.ui));
    let note = format!("ran {ran}, skipped {skipped}, failed {failed}");
    cx.ui.info(&format!("ai-showcase: {note}"));
    if failed > 0 && !keep_going {
        bail!(
            "{failed} prompt(s) failed ({note}); the transcripts hold their output (--keep-going reports without failing)"
        );
    }
    if ran == 0 && failed == 0 && !cx.runner.dry_run() {
        return Ok(Outcome::Skipped(format!("nothing could run here ({note})")));
    }
    Ok(Outcome::Done)
}

/// `deploy --ai`: the built-in assistant's diagnosis of `env`'s namespace after a failed release.
/// Best effort: its own failure is a warning; the deploy's error is what the caller returns.
pub fn assist_after_failure(cx: &Context, env: &str) {
    if cx.runner.dry_run() {
        return;
    }
    let run = || -> Result<Vec<String>> {
        let (config, _) = DeployConfig::load_env(&cx.root, Some(env))?;
        let options = Options { env: env.to_owned(), ..Options::default() };
        let target = target_of(&config, &options);
        let app_llm = llm::load(cx, &config)?;
        Ok(builtin::assist(cx, &target, app_llm.as_ref(), options.timeout())?.lines())
    };
    cx.ui.heading("the built-in assistant on the failed deploy");
    match run() {
        Ok(lines) => {
            for line in lines {
                cx.ui.info(&format!("  {line}"));
            }
        }
        Err(err) => cx.ui.warn(&format!("the built-in assistant could not run: {err:#}")),
    }
}
