//! The review report: the seed plan's success criteria, each held against the evidence this
//! machine has — this run's checks, and what the last deploy, demo and containerize recorded in
//! the state directory. A criterion without evidence says "not measured" and the command that
//! measures it; nothing is assumed to pass.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context as _, Result};
use camino::Utf8Path;
use xshell::cmd;

use super::{Finding, Verdict};
use crate::clock;
use crate::commands::demo;
use crate::config::BudgetKind;
use crate::context::Context;
use crate::images::{self, BuiltImages};
use crate::phase::{self, RecordStatus};
use crate::runner::Cmd;
use crate::ui::fmt_duration;

#[derive(Debug, PartialEq, Eq)]
enum Result3 {
    Pass,
    Fail,
    NotMeasured,
}

struct Criterion {
    what: &'static str,
    result: Result3,
    evidence: String,
}

/// Writes the report to `path` (relative to the root); returns its one-line summary.
pub fn write(cx: &Context, findings: &[Finding], path: &Utf8Path) -> Result<String> {
    let criteria = criteria(cx, findings);
    let count = |result: Result3| criteria.iter().filter(|c| c.result == result).count();
    let summary = format!(
        "{} criteria pass, {} fail, {} not measured",
        count(Result3::Pass),
        count(Result3::Fail),
        count(Result3::NotMeasured)
    );

    let mut text = String::new();
    writeln!(text, "# Review report\n")?;
    writeln!(
        text,
        "Written by `cargo xtask polish` on {}, at commit {}, on {} ({} CPUs). {summary}.\n",
        clock::utc_now(),
        commit(cx),
        host(),
        std::thread::available_parallelism().map_or(0, usize::from)
    )?;
    writeln!(text, "## Success criteria\n")?;
    writeln!(text, "| criterion | result | evidence |")?;
    writeln!(text, "|---|---|---|")?;
    for criterion in &criteria {
        let result = match criterion.result {
            Result3::Pass => "pass",
            Result3::Fail => "**fail**",
            Result3::NotMeasured => "not measured",
        };
        writeln!(text, "| {} | {result} | {} |", criterion.what, cell(&criterion.evidence))?;
    }
    writeln!(text, "\n## Checks of this run\n")?;
    writeln!(text, "| check | result | time | evidence |")?;
    writeln!(text, "|---|---|---|---|")?;
    for finding in findings {
        let (result, evidence) = match &finding.verdict {
            Verdict::Pass(evidence) => ("pass", evidence.as_str()),
            Verdict::Fail(why) => ("**fail**", why.lines().next().unwrap_or("")),
            Verdict::Skip(why) => ("skipped", why.as_str()),
        };
        writeln!(
            text,
            "| {} | {result} | {} | {} |",
            finding.check,
            fmt_duration(finding.duration),
            cell(evidence)
        )?;
    }

    let file = cx.root.join(path);
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {dir}"))?;
    }
    std::fs::write(&file, text).with_context(|| format!("cannot write {file}"))?;
    Ok(summary)
}

/// A table cell: one line, no pipe that would end it.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn criteria(cx: &Context, findings: &[Finding]) -> Vec<Criterion> {
    let budgets = cx.config().ok().map(|config| config.budgets);
    let budget = |kind| budgets.map(|b| b.get(kind));
    vec![
        one_command(cx),
        timed(cx, "Images build within the build budget", "containerize", budget(BudgetKind::Build)),
        timed(cx, "A release settles within the deploy budget", "release", budget(BudgetKind::Deploy)),
        pod_start(cx, budget(BudgetKind::PodStart)),
        image_sizes(cx),
        from_checks("Code formatted, clippy-clean, every test passing", findings, &["fmt", "clippy", "test"]),
        from_checks(
            "The chart matches deploy/todo.toml, lints clean on Helm 3 and 4, is schema-valid and checkov-clean",
            findings,
            &["helm-gen", "chart-lint", "schema", "checkov"],
        ),
        from_checks("Dockerfiles and shell scripts lint-clean", findings, &["hadolint", "shellcheck"]),
        from_checks("The docs show only commands that exist", findings, &["readme"]),
        Criterion {
            what: "No secret value printed, on a command line, or in an annotation",
            ..from_checks("", findings, &["test"])
        }
        .proved_by("the kube suite's secret checks and the fakes' canaries, run by `cargo xtask test`"),
        ai_devops(cx),
    ]
}

impl Criterion {
    fn proved_by(mut self, how: &str) -> Criterion {
        if self.result == Result3::Pass {
            self.evidence = format!("{how}: passed");
        }
        self
    }
}

/// Every named check must have passed in this run; a skipped or left-out one is not evidence.
fn from_checks(what: &'static str, findings: &[Finding], names: &[&str]) -> Criterion {
    let mut evidence = Vec::new();
    let mut result = Result3::Pass;
    for name in names {
        match findings.iter().find(|f| f.check == *name).map(|f| &f.verdict) {
            Some(Verdict::Pass(how)) => evidence.push(how.clone()),
            Some(Verdict::Fail(why)) => {
                result = Result3::Fail;
                evidence.push(format!("{name} failed: {}", why.lines().next().unwrap_or("")));
            }
            Some(Verdict::Skip(why)) => {
                if result == Result3::Pass {
                    result = Result3::NotMeasured;
                }
                evidence.push(format!("{name} skipped: {why}"));
            }
            None => {
                if result == Result3::Pass {
                    result = Result3::NotMeasured;
                }
                evidence.push(format!("{name} not run (`cargo xtask polish --only {name}`)"));
            }
        }
    }
    Criterion { what, result, evidence: evidence.join("; ") }
}

fn one_command(cx: &Context) -> Criterion {
    let what = "From source to a verified deployment with one command";
    let (release, verify) = (phase::last_record(cx, "release"), phase::last_record(cx, "verify"));
    let (result, evidence) = match (release, verify) {
        (Some(release), Some(verify))
            if release.status == RecordStatus::Succeeded && verify.status == RecordStatus::Succeeded =>
        {
            (
                Result3::Pass,
                format!(
                    "the last `cargo xtask deploy`/`demo` here: release succeeded {}, verify passed {}",
                    clock::format_utc(release.finished_at),
                    clock::format_utc(verify.finished_at)
                ),
            )
        }
        (Some(release), _) if release.status == RecordStatus::Failed => (
            Result3::Fail,
            format!("the last release here failed ({})", clock::format_utc(release.finished_at)),
        ),
        (_, Some(verify)) if verify.status == RecordStatus::Failed => (
            Result3::Fail,
            format!("the last verify here failed ({})", clock::format_utc(verify.finished_at)),
        ),
        _ => (Result3::NotMeasured, "no deploy has run here: `cargo xtask demo`".to_owned()),
    };
    Criterion { what, result, evidence }
}

fn timed(cx: &Context, what: &'static str, phase: &str, budget: Option<Duration>) -> Criterion {
    let Some(record) = phase::last_record(cx, phase).filter(|r| r.status == RecordStatus::Succeeded) else {
        return Criterion {
            what,
            result: Result3::NotMeasured,
            evidence: format!("`{phase}` has not succeeded here: `cargo xtask demo`"),
        };
    };
    let took = Duration::from_millis(record.duration_ms);
    over_budget(
        what,
        took,
        budget,
        format!("`{phase}` took {} on {}", fmt_duration(took), clock::format_utc(record.finished_at)),
    )
}

fn over_budget(what: &'static str, took: Duration, budget: Option<Duration>, evidence: String) -> Criterion {
    match budget {
        Some(budget) if took <= budget => Criterion {
            what,
            result: Result3::Pass,
            evidence: format!("{evidence}; budget {}", fmt_duration(budget)),
        },
        Some(budget) => Criterion {
            what,
            result: Result3::Fail,
            evidence: format!("{evidence}; over the budget of {}", fmt_duration(budget)),
        },
        None => Criterion {
            what,
            result: Result3::NotMeasured,
            evidence: format!("{evidence}; deploy/todo.toml cannot be read"),
        },
    }
}

fn pod_start(cx: &Context, budget: Option<Duration>) -> Criterion {
    let what = "Pods start within the pod-start budget";
    let record: Option<serde_json::Value> = std::fs::read_to_string(cx.state_dir().join(demo::RECORD_FILE))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok());
    let measured = record.as_ref().and_then(|record| {
        let row = record["phases"].as_array()?.iter().find(|row| row["phase"] == "pod start")?;
        (row["status"] == "done")
            .then(|| (row["duration_ms"].as_u64(), row["note"].as_str().unwrap_or("").to_owned()))
    });
    match (measured, record) {
        (Some((Some(ms), note)), Some(record)) => {
            let took = Duration::from_millis(ms);
            let when = clock::format_utc(record["finished_at"].as_u64().unwrap_or(0));
            over_budget(
                what,
                took,
                budget,
                format!("the last `cargo xtask demo` ({when}) measured {} ({note})", fmt_duration(took)),
            )
        }
        _ => Criterion {
            what,
            result: Result3::NotMeasured,
            evidence: "no demo has measured it here: `cargo xtask demo`".to_owned(),
        },
    }
}

fn image_sizes(cx: &Context) -> Criterion {
    let what = "Images far below the seed budgets (backend < 200 MB, frontend < 100 MB)";
    let Ok(built) = BuiltImages::load(cx) else {
        return Criterion {
            what,
            result: Result3::NotMeasured,
            evidence: "no image built here: `cargo xtask containerize`".to_owned(),
        };
    };
    let mut result = Result3::Pass;
    let mut evidence = Vec::new();
    for spec in &images::IMAGES {
        let size =
            built.images.iter().find(|image| image.name == spec.name).and_then(|image| image.size_bytes);
        match size {
            Some(bytes) => {
                let mb = bytes as f64 / 1e6;
                if mb > spec.size_budget_mb as f64 {
                    result = Result3::Fail;
                }
                evidence.push(format!(
                    "{} {mb:.1} MB (goal {} MB, budget {} MB)",
                    spec.name, spec.size_goal_mb, spec.size_budget_mb
                ));
            }
            None => {
                if result == Result3::Pass {
                    result = Result3::NotMeasured;
                }
                evidence.push(format!("{}: size unknown", spec.name));
            }
        }
    }
    Criterion { what, result, evidence: format!("`cargo xtask containerize`: {}", evidence.join(", ")) }
}

fn ai_devops(cx: &Context) -> Criterion {
    let what = "The AI DevOps layer: Gordon, kubectl-ai and kagent run or skipped with a reason, and a built-in assistant";
    let dir = cx.root.join("docs/ai-devops");
    let mut runs = Vec::new();
    for (tool, file) in [
        ("Gordon", "gordon.md"),
        ("kubectl-ai", "kubectl-ai.md"),
        ("kagent", "kagent.md"),
        ("built-in", "builtin.md"),
    ] {
        let last = std::fs::read_to_string(dir.join(file)).ok().and_then(|text| {
            text.lines().rev().find_map(|l| l.strip_prefix("## Run of ")).map(str::to_owned)
        });
        if let Some(last) = last {
            runs.push(format!("{tool} last ran {last}"));
        }
    }
    if runs.is_empty() {
        return Criterion {
            what,
            result: Result3::NotMeasured,
            evidence: "no transcript in docs/ai-devops: `cargo xtask ai-showcase`".to_owned(),
        };
    }
    Criterion {
        what,
        result: Result3::Pass,
        evidence: format!(
            "transcripts in docs/ai-devops: {}; the others skip with their install hint",
            runs.join(", ")
        ),
    }
}

fn commit(cx: &Context) -> String {
    let read = |cmd: Cmd| cx.read(cmd.read_only().quiet()).map(|text| text.trim().to_owned()).ok();
    let Some(head) = read(Cmd::from(cmd!(cx.sh, "git rev-parse --short HEAD"))) else {
        return "unknown (not a git checkout)".to_owned();
    };
    match read(Cmd::from(cmd!(cx.sh, "git status --porcelain --untracked-files=no"))) {
        Some(changes) if !changes.is_empty() => format!("{head} with uncommitted changes"),
        _ => head,
    }
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|_| std::env::consts::OS.to_owned())
}
