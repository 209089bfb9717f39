//! The bench report: a Markdown table per area (docs/benchmarks.md, between markers, so `--only`
//! rewrites one area and the hand-written notes around the tables stay), target/xtask/bench.json,
//! and the summary printed at the end.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde_json::{Value, json};
use xshell::cmd;

use super::catalogue::{self, Area, SeedBudget, Spec, Unit};
use super::stats::{self, Summary};
use super::{Measurement, Outcome};
use crate::clock;
use crate::config::{Bound, DeployConfig, Goal};
use crate::context::Context;
use crate::images::IMAGES;
use crate::runner::Cmd;
use crate::ui::{Style, Table, fmt_duration};

pub const DOCS_FILE: &str = "docs/benchmarks.md";
/// Where the tables of areas that have none yet go: the end of the tables, before the notes.
const TABLES_END: &str = "<!-- bench:tables-end -->";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Met,
    Missed,
    NoGoal,
    Skipped,
}

impl Verdict {
    fn word(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "missed",
            Verdict::NoGoal => "no goal",
            Verdict::Skipped => "skipped",
        }
    }
}

pub struct FigureReport {
    pub spec: &'static Spec,
    pub goal: Option<Goal>,
    pub seed_budget: Option<Goal>,
    pub summary: Option<Summary>,
    pub samples: Vec<f64>,
    pub verdict: Verdict,
    /// Why it was skipped, or what a run noted.
    pub remark: Option<String>,
    pub command: String,
}

pub struct AreaReport {
    pub area: Area,
    pub figures: Vec<FigureReport>,
    pub took: Duration,
}

impl AreaReport {
    pub fn new(
        area: Area,
        results: &BTreeMap<String, Measurement>,
        goals: &BTreeMap<String, Goal>,
        config: &DeployConfig,
        took: Duration,
    ) -> AreaReport {
        let figures = catalogue::of(area)
            .map(|spec| {
                let id = spec.id();
                let goal = goals.get(&id).copied();
                let seed_budget = spec.seed_budget.map(|budget| seed_goal(budget, config));
                let (summary, samples, remark) = match results.get(&id).map(|m| &m.outcome) {
                    Some(Outcome::Measured { samples, note }) => {
                        (stats::summarize(samples), samples.clone(), note.clone())
                    }
                    Some(Outcome::Skipped { reason }) => (None, Vec::new(), Some(reason.clone())),
                    None => (None, Vec::new(), Some("not measured".to_owned())),
                };
                let verdict = match (&summary, goal) {
                    (None, _) => Verdict::Skipped,
                    (Some(_), None) => Verdict::NoGoal,
                    (Some(summary), Some(goal)) if goal.met_by(summary.median) => Verdict::Met,
                    (Some(_), Some(_)) => Verdict::Missed,
                };
                let command = results.get(&id).map(|m| m.command.clone()).unwrap_or_default();
                FigureReport { spec, goal, seed_budget, summary, samples, verdict, remark, command }
            })
            .collect();
        AreaReport { area, figures, took }
    }
}

fn seed_goal(budget: SeedBudget, config: &DeployConfig) -> Goal {
    use crate::config::{BudgetKind, Quantity};
    let time = |kind| Goal {
        bound: Bound::AtMost,
        value: config.budgets.get(kind).as_secs_f64(),
        quantity: Quantity::Time,
    };
    match budget {
        SeedBudget::Build => time(BudgetKind::Build),
        SeedBudget::Deploy => time(BudgetKind::Deploy),
        SeedBudget::PodStart => time(BudgetKind::PodStart),
        SeedBudget::Image(name) => {
            let mb = IMAGES.iter().find(|image| image.name == name).map_or(0, |image| image.size_budget_mb);
            Goal { bound: Bound::AtMost, value: mb as f64, quantity: Quantity::Size }
        }
    }
}

/// A value in the figure's unit, for people: `0.27 s`, `2m05s`, `3,206/s`, `12.5 ms`, `23.6 MB`.
pub fn format_value(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Seconds if value < 10.0 => format!("{value:.2} s"),
        Unit::Seconds if value < 60.0 => format!("{value:.1} s"),
        Unit::Seconds => fmt_duration(Duration::from_secs_f64(value)),
        Unit::Millis => format!("{:.1} ms", value * 1000.0),
        Unit::PerSecond => format!("{}/s", thousands(value)),
        Unit::Megabytes => format!("{value:.1} MB"),
        Unit::Percent => format!("{value:.0}%"),
        Unit::Count => format!("{value:.0}"),
    }
}

fn thousands(value: f64) -> String {
    if value < 100.0 {
        return format!("{value:.1}");
    }
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn format_range(summary: &Summary, unit: Unit) -> String {
    if summary.runs == 1 {
        return "—".to_owned();
    }
    format!("{} – {}", format_value(summary.min, unit), format_value(summary.max, unit))
}

fn format_goal(goal: &Goal, unit: Unit) -> String {
    let bound = match goal.bound {
        Bound::AtMost => "≤",
        Bound::AtLeast => "≥",
    };
    if unit == Unit::Seconds && goal.value >= 60.0 && goal.value % 60.0 == 0.0 {
        return format!("{bound} {} min", goal.value / 60.0);
    }
    format!("{bound} {}", trim_zeros(&format_value(goal.value, unit)))
}

/// `30.0 s` → `30 s`, `0.30 s` → `0.3 s`: goals are round numbers and read better without the
/// precision of a measurement.
fn trim_zeros(text: &str) -> String {
    let end = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ',')).unwrap_or(text.len());
    let (number, unit) = text.split_at(end);
    if !number.contains('.') {
        return text.to_owned();
    }
    format!("{}{unit}", number.trim_end_matches('0').trim_end_matches('.'))
}

/// What to write for a figure of this unit in deploy/todo.toml.
pub fn unit_hint(unit: Unit) -> &'static str {
    match unit {
        Unit::Seconds | Unit::Millis => "a time, e.g. \"<= 300ms\", \"<= 90s\" or \"<= 4m\"",
        Unit::PerSecond => "a rate, e.g. \">= 3000/s\"",
        Unit::Megabytes => "a size, e.g. \"<= 30MB\"",
        Unit::Percent => "a share, e.g. \">= 50%\"",
        Unit::Count => "a count, e.g. \"<= 0\"",
    }
}

fn goal_cell(figure: &FigureReport) -> String {
    let unit = figure.spec.unit;
    match (&figure.goal, &figure.seed_budget) {
        (Some(goal), Some(seed)) => {
            format!("{} (seed budget {})", format_goal(goal, unit), format_goal(seed, unit))
        }
        (Some(goal), None) => format_goal(goal, unit),
        (None, Some(seed)) => format!("seed budget {}", format_goal(seed, unit)),
        (None, None) => "—".to_owned(),
    }
}

/// The verdict, with the seed budget's when the goal is met but the budget is not (or there is
/// only a budget).
fn verdict_cell(figure: &FigureReport) -> String {
    let Some(summary) = &figure.summary else {
        return format!("skipped: {}", figure.remark.as_deref().unwrap_or("not measured"));
    };
    let seed = figure.seed_budget.map(|seed| seed.met_by(summary.median));
    match (figure.verdict, seed) {
        (Verdict::NoGoal, Some(true)) => "within the seed budget".to_owned(),
        (Verdict::NoGoal, Some(false)) => "**over the seed budget**".to_owned(),
        (Verdict::Missed, _) => "**missed**".to_owned(),
        (verdict, _) => verdict.word().to_owned(),
    }
}

/// What the figures were measured on.
pub struct Machine {
    pub cores: usize,
    pub memory_gib: f64,
    pub os: String,
    pub rustc: String,
    pub commit: String,
    pub date: String,
}

impl Machine {
    pub fn read(cx: &Context) -> Machine {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let memory_gib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| {
                let line = text.lines().find(|line| line.starts_with("MemTotal:"))?;
                line.split_whitespace().nth(1)?.parse::<f64>().ok()
            })
            .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
        let os = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|text| {
                let line = text.lines().find(|line| line.starts_with("PRETTY_NAME="))?;
                Some(line.trim_start_matches("PRETTY_NAME=").trim_matches('"').to_owned())
            })
            .unwrap_or_else(|| std::env::consts::OS.to_owned());
        let read = |cmd: Cmd| cx.read(cmd.read_only().quiet()).map(|text| text.trim().to_owned()).ok();
        let rustc = read(Cmd::from(cmd!(cx.sh, "rustc --version"))).unwrap_or_else(|| "rustc ?".to_owned());
        let commit =
            read(Cmd::from(cmd!(cx.sh, "git rev-parse --short HEAD"))).unwrap_or_else(|| "?".to_owned());
        // The report this run writes is no change to what it measured.
        let exclude = format!(":!{DOCS_FILE}");
        let dirty =
            read(Cmd::from(cmd!(cx.sh, "git status --porcelain --untracked-files=no -- . {exclude}")))
                .is_some_and(|status| !status.is_empty());
        let commit = if dirty { format!("{commit} with uncommitted changes") } else { commit };
        Machine { cores, memory_gib, os, rustc, commit, date: clock::utc_now() }
    }

    fn sentence(&self) -> String {
        format!(
            "{} cores, {:.0} GiB, {}, {}; commit {}; {}",
            self.cores, self.memory_gib, self.os, self.rustc, self.commit, self.date
        )
    }
}

/// One area's Markdown, with its markers.
pub fn area_markdown(area: &AreaReport, machine: &Machine, quick: bool) -> String {
    let key = area.area.key();
    let rerun = format!("cargo xtask bench --only {}", key.replace('_', "-"));
    let mut out = format!("<!-- bench:{key} begin -->\n## {}\n\n", area.area.title());
    out += &format!(
        "Measured by `{rerun}{}` in {} on {}.\n\n",
        if quick { " --quick" } else { "" },
        fmt_duration(area.took),
        machine.sentence()
    );
    out +=
        "| figure | goal | median | min – max | runs | verdict | command |\n|---|---|---|---|---|---|---|\n";
    let mut notes = Vec::new();
    for figure in &area.figures {
        let unit = figure.spec.unit;
        let (median, range, runs) = match &figure.summary {
            Some(summary) => {
                (format_value(summary.median, unit), format_range(summary, unit), summary.runs.to_string())
            }
            None => ("—".to_owned(), "—".to_owned(), "0".to_owned()),
        };
        let command = if figure.command.is_empty() {
            "—".to_owned()
        } else {
            format!("`{}`", figure.command.replace('|', "\\|"))
        };
        out += &format!(
            "| {} | {} | {median} | {range} | {runs} | {} | {command} |\n",
            figure.spec.what.replace('|', "\\|"),
            goal_cell(figure),
            verdict_cell(figure).replace('|', "\\|"),
        );
        if let (Some(_), Some(note)) = (&figure.summary, &figure.remark) {
            notes.push(format!("- {}: {note}", figure.spec.what));
        }
    }
    if !notes.is_empty() {
        out += "\n";
        out += &notes.join("\n");
        out += "\n";
    }
    out += &format!("<!-- bench:{key} end -->\n");
    out
}

/// `text` with each area's block replaced by its new one; an area without a block yet goes before
/// the tables-end marker (or at the end).
pub fn replace_blocks(text: &str, blocks: &[(Area, String)]) -> String {
    let mut text = text.to_owned();
    for (area, block) in blocks {
        let key = area.key();
        let (begin, end) = (format!("<!-- bench:{key} begin -->"), format!("<!-- bench:{key} end -->\n"));
        match (text.find(&begin), text.find(&end)) {
            (Some(start), Some(stop)) if stop > start => text.replace_range(start..stop + end.len(), block),
            _ => match text.find(TABLES_END) {
                Some(at) => text.insert_str(at, &format!("{block}\n")),
                None => {
                    if !text.ends_with('\n') && !text.is_empty() {
                        text.push('\n');
                    }
                    text.push('\n');
                    text.push_str(block);
                }
            },
        }
    }
    text
}

pub fn json(areas: &[AreaReport], machine: &Machine, quick: bool) -> Value {
    json!({
        "quick": quick,
        "machine": {
            "cores": machine.cores,
            "memory_gib": (machine.memory_gib * 10.0).round() / 10.0,
            "os": machine.os,
            "rustc": machine.rustc,
            "commit": machine.commit,
            "date": machine.date,
        },
        "areas": areas.iter().map(|area| json!({
            "area": area.area.key(),
            "duration_ms": u64::try_from(area.took.as_millis()).unwrap_or(u64::MAX),
            "figures": area.figures.iter().map(|figure| {
                let unit = figure.spec.unit;
                json!({
                    "id": figure.spec.id(),
                    "what": figure.spec.what,
                    "unit": format!("{unit:?}").to_lowercase(),
                    "goal": figure.goal.map(|goal| format_goal(&goal, unit)),
                    "seed_budget": figure.seed_budget.map(|goal| format_goal(&goal, unit)),
                    "samples": figure.samples,
                    "median": figure.summary.map(|s| s.median),
                    "min": figure.summary.map(|s| s.min),
                    "max": figure.summary.map(|s| s.max),
                    "runs": figure.summary.map_or(0, |s| s.runs),
                    "verdict": figure.verdict.word(),
                    "skipped": (figure.verdict == Verdict::Skipped).then(|| figure.remark.clone().unwrap_or_default()),
                    "note": (figure.verdict != Verdict::Skipped).then(|| figure.remark.clone()).flatten(),
                    "command": figure.command,
                })
            }).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// Writes the report; the paths written, for the closing line.
pub fn write(cx: &Context, machine: &Machine, areas: &[AreaReport], quick: bool) -> Result<Vec<String>> {
    std::fs::create_dir_all(cx.state_dir())?;
    let json_path = cx.state_dir().join("bench.json");
    std::fs::write(&json_path, serde_json::to_vec_pretty(&json(areas, machine, quick))?)
        .with_context(|| format!("cannot write {json_path}"))?;
    let blocks: Vec<(Area, String)> =
        areas.iter().map(|area| (area.area, area_markdown(area, machine, quick))).collect();
    let markdown_path = if quick {
        // Quick figures are a smoke check, not the record: they never replace docs/benchmarks.md's.
        let path = cx.state_dir().join("bench.md");
        let text = format!(
            "# Benchmarks (`cargo xtask bench --quick`)\n\nA short run: fewer runs and shorter loads than \
             docs/benchmarks.md's figures, which `cargo xtask bench` measures.\n\n{}",
            replace_blocks("", &blocks).trim_start()
        );
        std::fs::write(&path, text).with_context(|| format!("cannot write {path}"))?;
        path
    } else {
        let path = cx.root.join(DOCS_FILE);
        let old = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n\n".to_owned());
        std::fs::write(&path, replace_blocks(&old, &blocks))
            .with_context(|| format!("cannot write {path}"))?;
        path
    };
    Ok(vec![relative(cx, &markdown_path), relative(cx, &json_path)])
}

fn relative(cx: &Context, path: &camino::Utf8Path) -> String {
    path.strip_prefix(&cx.root).map_or_else(|_| path.to_string(), |p| p.to_string())
}

/// The closing summary on the terminal: every figure, its median and its verdict.
pub fn terminal_table(cx: &Context, areas: &[AreaReport]) -> String {
    let mut table = Table::new(&["figure", "median", "goal", "verdict"]);
    for figure in areas.iter().flat_map(|area| &area.figures) {
        let unit = figure.spec.unit;
        let median = figure.summary.map_or_else(|| "—".to_owned(), |s| format_value(s.median, unit));
        let style = match figure.verdict {
            Verdict::Met => Some(Style::Green),
            Verdict::Missed => Some(Style::Red),
            Verdict::NoGoal | Verdict::Skipped => Some(Style::Dim),
        };
        let verdict = match figure.verdict {
            Verdict::Skipped => format!("skipped: {}", figure.remark.as_deref().unwrap_or("")),
            verdict => verdict.word().to_owned(),
        };
        table.row(vec![
            (figure.spec.id(), None),
            (median, None),
            (figure.goal.map_or_else(|| "—".to_owned(), |g| format_goal(&g, unit)), None),
            (verdict, style),
        ]);
    }
    let _ = cx;
    table.render(&cx.ui)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_in_their_unit() {
        assert_eq!(format_value(0.2712, Unit::Seconds), "0.27 s");
        assert_eq!(format_value(20.94, Unit::Seconds), "20.9 s");
        assert_eq!(format_value(175.3, Unit::Seconds), "2m55s");
        assert_eq!(format_value(0.0125, Unit::Millis), "12.5 ms");
        assert_eq!(format_value(3206.4, Unit::PerSecond), "3,206/s");
        assert_eq!(format_value(20123.0, Unit::PerSecond), "20,123/s");
        assert_eq!(format_value(12.34, Unit::PerSecond), "12.3/s");
        assert_eq!(format_value(23.62, Unit::Megabytes), "23.6 MB");
        assert_eq!(format_value(31.6, Unit::Percent), "32%");
        assert_eq!(format_value(0.0, Unit::Count), "0");
    }

    #[test]
    fn goals_show_without_trailing_zeros() {
        let goal = |text: &str| text.parse::<Goal>().unwrap();
        assert_eq!(format_goal(&goal("<= 300ms"), Unit::Seconds), "≤ 0.3 s");
        assert_eq!(format_goal(&goal("<= 30s"), Unit::Seconds), "≤ 30 s");
        assert_eq!(format_goal(&goal("<= 4m"), Unit::Seconds), "≤ 4 min");
        assert_eq!(format_goal(&goal("<= 90s"), Unit::Seconds), "≤ 1m30s");
        assert_eq!(format_goal(&goal("<= 50ms"), Unit::Millis), "≤ 50 ms");
        assert_eq!(format_goal(&goal(">= 3000/s"), Unit::PerSecond), "≥ 3,000/s");
        assert_eq!(format_goal(&goal("<= 30MB"), Unit::Megabytes), "≤ 30 MB");
        assert_eq!(format_goal(&goal(">= 50%"), Unit::Percent), "≥ 50%");
        assert_eq!(format_goal(&goal("<= 0"), Unit::Count), "≤ 0");
    }

    #[test]
    fn a_block_is_replaced_in_place_and_the_notes_around_it_stay() {
        let old = "# Benchmarks\n\nintro\n\n<!-- bench:xtask begin -->\nold table\n<!-- bench:xtask end -->\n\n\
                   <!-- bench:tables-end -->\n## Notes\nby hand\n";
        let new = replace_blocks(
            old,
            &[(Area::Xtask, "<!-- bench:xtask begin -->\nnew\n<!-- bench:xtask end -->\n".into())],
        );
        assert_eq!(new, old.replace("old table", "new"));
        // An area without a block yet goes before the tables' end, above the notes.
        let app = "<!-- bench:app begin -->\napp\n<!-- bench:app end -->\n";
        let new = replace_blocks(old, &[(Area::App, app.into())]);
        assert!(new.contains(&format!("{app}\n<!-- bench:tables-end -->\n## Notes\nby hand\n")), "{new}");
        assert!(new.contains("old table"));
    }
}
