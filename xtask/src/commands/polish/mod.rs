//! `cargo xtask polish`: every check a change should pass before it lands, run in one go — a
//! failed check does not hide the ones after it — then a review report (docs/review.md) that
//! holds the seed plan's success criteria against the evidence this machine has.

mod checks;
mod readme;
mod review;

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use camino::Utf8PathBuf;
use serde_json::json;

use crate::context::Context;
use crate::phase::{self, Row, Status};
use crate::ui::{Style, fmt_duration};

/// Run every check: fmt, clippy, tests, chart, Dockerfiles, scripts, docs; write a review report
///
/// Checks, in order: `fmt` (`cargo fmt --check`), `clippy` (`-D warnings`, every target),
/// `readme` (every `cargo xtask …` line in README.md and docs/ parses as this CLI's command
/// line), `helm-gen` (the chart matches deploy/todo.toml), `chart-lint` (`helm lint --strict` with
/// Helm 3 and Helm 4, every environment), `schema` (the rendered manifests against the
/// Kubernetes 1.28 and 1.35 schemas with kubernetes-validate), `checkov` (no failed check),
/// `hadolint` (both Dockerfiles), `shellcheck` (every script), and `test` (`cargo xtask test`).
/// Each runs even when one before it failed; a missing tool skips its check with the command
/// that installs it (`bash ci/helm.sh`, `bash ci/python-tools.sh`).
///
/// Then writes the review report (default docs/review.md): the seed plan's success criteria —
/// one command to a verified deployment, build < 5 min, deploy < 3 min, pod start < 2 min, image
/// sizes, a clean chart and code, no secret shown, the AI DevOps layer — each with pass, fail or
/// not measured, and its evidence (the command and the figure). Exits non-zero when a check
/// failed.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Run only these checks (repeat the flag)
    #[arg(long = "only", value_name = "CHECK", value_parser = checks::NAMES)]
    pub only: Vec<String>,

    /// Leave out `cargo xtask test`, the longest check (the report then marks what it proves as
    /// not measured)
    #[arg(long)]
    pub skip_tests: bool,

    /// Where the review report goes
    #[arg(long, value_name = "FILE", default_value = "docs/review.md")]
    pub report: Utf8PathBuf,
}

/// What a check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Passed, with the evidence: the command and what it showed.
    Pass(String),
    Fail(String),
    /// Could not run here, with why and how to make it run.
    Skip(String),
}

pub struct Finding {
    pub check: &'static str,
    pub verdict: Verdict,
    pub duration: Duration,
}

pub fn run(cx: &Context, args: &Args) -> Result<()> {
    let started = Instant::now();
    let selected: Vec<&checks::Check> = checks::ALL
        .iter()
        .filter(|check| args.only.is_empty() || args.only.iter().any(|name| name == check.name))
        .filter(|check| !(args.skip_tests && check.name == "test"))
        .collect();

    let mut findings = Vec::new();
    for check in selected {
        cx.ui.heading(check.name);
        cx.ui.event(json!({ "event": "phase_start", "phase": check.name }));
        let begun = Instant::now();
        let verdict = (check.run)(cx);
        let duration = begun.elapsed();
        match &verdict {
            Verdict::Pass(evidence) => {
                cx.ui.success(&format!("{} passed in {}: {evidence}", check.name, fmt_duration(duration)))
            }
            Verdict::Fail(why) => {
                cx.ui.error(&format!("{} failed after {}:\n{why}", check.name, fmt_duration(duration)))
            }
            Verdict::Skip(why) => {
                cx.ui.info(&cx.ui.paint(Style::Dim, &format!("– {} skipped: {why}", check.name)))
            }
        }
        findings.push(Finding { check: check.name, verdict, duration });
    }

    let rows: Vec<Row> = findings.iter().map(row).collect();
    phase::summarize(cx, &rows, started.elapsed());

    if cx.runner.dry_run() {
        cx.ui.info(&format!("  would write the review report to {}", args.report));
    } else {
        let report = review::write(cx, &findings, &args.report)?;
        cx.ui.success(&format!("review report written to {}: {report}", args.report));
    }
    let failed: Vec<&str> =
        findings.iter().filter(|f| matches!(f.verdict, Verdict::Fail(_))).map(|f| f.check).collect();
    if !failed.is_empty() {
        bail!("{} failed: {}; each says why above", plural(failed.len()), failed.join(", "));
    }
    Ok(())
}

fn row(finding: &Finding) -> Row {
    let (status, note) = match &finding.verdict {
        Verdict::Pass(evidence) => (Status::Done, first_line(evidence)),
        Verdict::Fail(why) => (Status::Failed, first_line(why)),
        Verdict::Skip(why) => (Status::Skipped, first_line(why)),
    };
    Row { phase: finding.check, status, duration: finding.duration, budget: None, note }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() > 100 {
        format!("{}…", line.chars().take(99).collect::<String>())
    } else {
        line.to_owned()
    }
}

fn plural(n: usize) -> String {
    if n == 1 { "1 check".to_owned() } else { format!("{n} checks") }
}
