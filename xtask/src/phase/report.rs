//! What a pipeline tells the user and `--json` readers: a line per phase as it finishes or is
//! skipped, and at the end a table of phases, durations and budgets.

use std::time::Duration;

use serde_json::json;

use crate::context::Context;
use crate::ui::{Style, Table, fmt_duration};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Done,
    Skipped,
    Failed,
    NotRun,
}

/// A line of the summary table: a phase, or a figure a command measured beside its phases.
pub struct Row {
    pub phase: &'static str,
    pub status: Status,
    pub duration: Duration,
    pub budget: Option<Duration>,
    pub note: String,
}

/// The summary table, then the `pipeline_finish` event.
pub fn finish(cx: &Context, rows: &[Row], total: Duration) {
    print_summary(cx, rows, total);
    cx.ui.event(json!({
        "event": "pipeline_finish",
        "ok": !rows.iter().any(|row| row.status == Status::Failed),
        "duration_ms": millis(total),
        "phases": rows_json(rows, cx.runner.dry_run()),
    }));
}

/// The rows as `pipeline_finish` events and `demo`'s record carry them.
pub fn rows_json(rows: &[Row], dry_run: bool) -> Vec<serde_json::Value> {
    rows.iter()
        .map(|row| {
            json!({
                "phase": row.phase,
                "status": status_word(row.status, dry_run),
                "duration_ms": millis(row.duration),
                "budget_ms": row.budget.map(millis),
                "note": row.note,
            })
        })
        .collect()
}

pub(super) fn millis(duration: Duration) -> u64 {
    duration.as_millis().try_into().unwrap_or(u64::MAX)
}

pub(super) fn announce_finish(cx: &Context, row: &Row) {
    let over = row.budget.is_some_and(|budget| row.duration > budget);
    let verb = if cx.runner.dry_run() { "planned" } else { "done" };
    let mut text = format!("{} {verb} in {}", row.phase, fmt_duration(row.duration));
    if over {
        text.push_str(&format!(" (over its budget of {})", fmt_duration(row.budget.unwrap())));
    }
    cx.ui.success(&text);
    cx.ui.event(json!({
        "event": "phase_finish",
        "phase": row.phase,
        "duration_ms": millis(row.duration),
        "budget_ms": row.budget.map(millis),
        "over_budget": over,
    }));
}

pub(super) fn announce_skip(cx: &Context, row: &Row) {
    cx.ui.info(&cx.ui.paint(Style::Dim, &format!("– {} skipped: {}", row.phase, row.note)));
    cx.ui.event(json!({ "event": "phase_skip", "phase": row.phase, "reason": row.note }));
}

fn print_summary(cx: &Context, rows: &[Row], total: Duration) {
    let mut table = Table::new(&["phase", "result", "time", "budget", "note"]);
    for row in rows {
        let over = row.budget.is_some_and(|budget| row.duration > budget);
        let result_style = match row.status {
            Status::Done => Style::Green,
            Status::Skipped | Status::NotRun => Style::Dim,
            Status::Failed => Style::Red,
        };
        let time = match row.status {
            Status::Done | Status::Failed => fmt_duration(row.duration),
            Status::Skipped | Status::NotRun => "-".to_owned(),
        };
        let budget = row.budget.map_or("-".to_owned(), fmt_duration);
        let note = if over { format!("over budget; {}", row.note) } else { row.note.clone() };
        table.row(vec![
            (row.phase.to_owned(), None),
            (status_word(row.status, cx.runner.dry_run()).to_owned(), Some(result_style)),
            (time, over.then_some(Style::Yellow)),
            (budget, None),
            (note.trim_end_matches("; ").to_owned(), None),
        ]);
    }
    let count = |status| rows.iter().filter(|row| row.status == status).count();
    let mut summary = format!(
        "{} {}, {} skipped, {} failed",
        count(Status::Done),
        status_word(Status::Done, cx.runner.dry_run()),
        count(Status::Skipped),
        count(Status::Failed)
    );
    if count(Status::NotRun) > 0 {
        summary.push_str(&format!(", {} not run", count(Status::NotRun)));
    }
    cx.ui.info("");
    cx.ui.info(&table.render(&cx.ui));
    cx.ui.info(&format!("{summary} in {}", fmt_duration(total)));
}

fn status_word(status: Status, dry_run: bool) -> &'static str {
    match status {
        Status::Done if dry_run => "planned",
        Status::Done => "done",
        Status::Skipped => "skipped",
        Status::Failed => "FAILED",
        Status::NotRun => "not run",
    }
}
