//! The built-in cluster assistant: no AI tool needed. It collects the namespace's state
//! (`state`: `kubectl get pods,deploy,rs,events -o json`, the ingresses, the failing containers'
//! last logs, `helm status`), finds the known failure patterns by rule and explains each with its
//! fix (`rules`). With the app's LLM settings it then sends that state, compacted and every secret
//! value removed, to the model and prints its summary after the rules' findings.
//!
//! The pod-level reasons come from [`crate::kube::Pod::problem`], the same reading `deploy` uses
//! while it waits, so the two never disagree.

mod rules;
mod state;

use std::time::Duration;

use anyhow::Result;

pub use self::rules::Finding;
use self::rules::findings;
use self::state::collect;
pub use self::state::register_cluster_secrets;
use super::llm::{self, LlmSettings};
use crate::context::Context;
use crate::kube::Target;

/// What the assistant has to say.
pub struct Report {
    pub summary_line: String,
    pub findings: Vec<Finding>,
    /// The failing containers' last log lines, as read.
    pub logs: Vec<(String, String, String)>,
    /// The model's summary, or why there is none.
    pub model: ModelAnswer,
}

pub enum ModelAnswer {
    NotConfigured,
    Answered { model: String, text: String },
    Failed(String),
}

impl Report {
    /// The report as lines to print (and to put in the transcript).
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![self.summary_line.clone()];
        if self.findings.is_empty() {
            lines.push("no known failure pattern found: every pod is ready and nothing is stuck".to_owned());
        }
        for (i, finding) in self.findings.iter().enumerate() {
            lines.push(format!("{}. {}: {}", i + 1, finding.title, finding.subjects.join(", ")));
            lines.push(format!("   cause: {}", finding.cause));
            lines.push(format!("   fix:   {}", finding.fix));
        }
        for (pod, container, text) in &self.logs {
            lines.push(format!("last log lines of {pod} (container {container}):"));
            lines.extend(text.lines().map(|line| format!("   │ {line}")));
        }
        match &self.model {
            ModelAnswer::NotConfigured => lines.push(
                "(no LLM configured: set LLM_API_KEY, and LLM_BASE_URL/LLM_MODEL for another \
                 OpenAI-compatible endpoint, in .env for the model's summary)"
                    .to_owned(),
            ),
            ModelAnswer::Answered { model, text } => {
                lines.push(format!(
                    "the model's summary ({model}, sent the state with secret values removed):"
                ));
                lines.extend(text.lines().map(|line| format!("   {line}")));
            }
            ModelAnswer::Failed(why) => lines.push(format!("(the model could not be asked: {why})")),
        }
        lines
    }
}

/// Collects the state, applies the rules, and asks the model when one is configured.
pub fn assist(cx: &Context, target: &Target, llm: Option<&LlmSettings>, timeout: Duration) -> Result<Report> {
    let state = collect(cx, target)?;
    let findings = findings(&state);
    let summary_line = format!(
        "namespace `{}`{}: {} pods, {} deployments, {} events; release {}",
        target.namespace,
        target.context.as_ref().map_or(String::new(), |c| format!(" (context `{c}`)")),
        state.pods.len(),
        state.deployments.len(),
        state.events.len(),
        match (&state.release, &state.release_unknown) {
            (Some((status, revision)), _) => format!("`{}` revision {revision} is {status}", target.release),
            (None, Some(why)) => format!("`{}` unknown ({why})", target.release),
            (None, None) => format!("`{}` not installed", target.release),
        }
    );
    let model = match llm {
        None => ModelAnswer::NotConfigured,
        Some(_) if cx.runner.dry_run() => ModelAnswer::Failed("not asked in a dry run".to_owned()),
        Some(settings) => {
            let redacted =
                cx.ui.redactor().redact(&serde_json::to_string_pretty(&state::compact(&state, &findings))?);
            let user = format!(
                "Namespace {} of a Kubernetes cluster. Rules already found these problems:\n{}\n\n\
                 The namespace's state as JSON (secret values are shown as <redacted>):\n{redacted}",
                target.namespace,
                if findings.is_empty() {
                    "(none)".to_owned()
                } else {
                    findings
                        .iter()
                        .map(|f| format!("- {}: {}", f.title, f.cause))
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            );
            match llm::complete(cx, settings, SYSTEM, &user, timeout) {
                Ok(text) => ModelAnswer::Answered { model: settings.model.clone(), text },
                Err(err) => ModelAnswer::Failed(format!("{err:#}")),
            }
        }
    };
    Ok(Report { summary_line, findings, logs: state.logs, model })
}

const SYSTEM: &str = "You are a Kubernetes SRE helping a developer whose deployment failed. From the \
    namespace's state, say in a few short bullet points what is wrong, the most likely cause, and the \
    exact fix (a command or a setting). Do not repeat healthy parts. Never ask for secret values.";
