//! `cargo xtask bench`: measures every figure in the catalogue on this machine, marks each against
//! its goal in deploy/todo.toml, and writes docs/benchmarks.md and target/xtask/bench.json.

mod app;
mod catalogue;
mod checkout;
mod deploy;
mod first_run;
mod images;
mod load;
mod report;
mod stats;
mod xtask;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

pub use catalogue::Area;
use catalogue::{Cost, Spec};

use crate::config::{Bound, Goal, Quantity};
use crate::context::Context;
use crate::ui::fmt_duration;

/// Measure build, deploy and app figures, each against its goal, into docs/benchmarks.md
#[derive(clap::Args, Debug)]
#[command(
    long_about = "Measure build, deploy and app figures on this machine, each the median of several runs, \
        and mark each against its goal (deploy/todo.toml's [bench] tables and [budgets]).\n\n\
        Writes docs/benchmarks.md (the tables between its bench markers; the notes around them are \
        kept) and target/xtask/bench.json. A missing tool or service skips the figures that need \
        it, with the reason and the fix, never a blank.\n\n\
        Areas: xtask (compile, doctor, dry run), first-run (a fresh clone to `up` and to the end of \
        `cargo xtask test`), images (containerize), deploy (the test cluster of `source \
        ci/kube-up.sh`), app (todo-api and todo-web under wrk, beside pgbench). A full run takes \
        about an hour on 2 cores; `--only` measures one area and rewrites only its table.",
    after_help = "Examples:\n  \
        cargo xtask bench --quick             # a few minutes: the cheap figures, 1-3 runs each\n  \
        cargo xtask bench --only app          # the load figures; needs wrk (and TEST_DATABASE_URL for Postgres)\n  \
        cargo xtask bench --only deploy --runs 5"
)]
pub struct Args {
    /// A short run: fewer runs, shorter loads, and the figures that take minutes per run
    /// skipped (with that reason). Writes target/xtask/bench.md, never docs/benchmarks.md
    #[arg(long)]
    pub quick: bool,

    /// Measure only this area (repeatable); the others keep their tables in docs/benchmarks.md
    #[arg(long, value_enum, value_name = "AREA")]
    pub only: Vec<Area>,

    /// Leave out a figure that takes minutes (repeatable), e.g. `first_run.test`: it is reported
    /// as skipped, with this as the reason
    #[arg(long, value_name = "FIGURE")]
    pub skip: Vec<String>,

    /// Runs per figure, instead of each figure's default (quick figures 5-20, slow ones 1-3)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=100))]
    pub runs: Option<u16>,

    /// PostgreSQL for the app's Postgres figures and for pgbench; its `public` schema is wiped.
    /// Default: TEST_DATABASE_URL (`source ci/postgres.sh` sets it)
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// What became of one figure.
#[derive(Clone, Debug)]
pub enum Outcome {
    Measured { samples: Vec<f64>, note: Option<String> },
    Skipped { reason: String },
}

#[derive(Clone, Debug)]
pub struct Measurement {
    pub outcome: Outcome,
    /// The command a reader runs to reproduce the figure.
    pub command: String,
}

/// The figures of one invocation as they are measured, and what the areas share.
pub struct Bench<'a> {
    pub cx: &'a Context,
    pub quick: bool,
    /// Slow figures left out with `--skip`.
    left_out: Vec<String>,
    runs: Option<usize>,
    pub database_url: Option<String>,
    results: BTreeMap<String, Measurement>,
}

impl<'a> Bench<'a> {
    /// `full` runs normally, `quick` with `--quick`; `--runs` overrides both.
    pub fn runs(&self, full: usize, quick: usize) -> usize {
        self.runs.unwrap_or(if self.quick { quick } else { full })
    }

    fn spec(id: &str) -> &'static Spec {
        catalogue::find(id).unwrap_or_else(|| panic!("{id} is not in the catalogue"))
    }

    /// Whether this invocation measures `id`; a figure it leaves out is recorded as skipped.
    pub fn wants(&mut self, id: &str, command: &str) -> bool {
        if self.left_out.iter().any(|skipped| skipped == id) {
            self.skip(id, format!("left out of this run with `--skip {id}`"), command);
            return false;
        }
        if self.quick && Bench::spec(id).cost == Cost::Minutes {
            let reason = format!(
                "`--quick` leaves out figures that take minutes per run; `cargo xtask bench --only {}` measures it",
                Bench::spec(id).area.key().replace('_', "-")
            );
            self.skip(id, reason, command);
            return false;
        }
        true
    }

    pub fn record(&mut self, id: &str, samples: Vec<f64>, command: impl Into<String>) {
        Bench::spec(id);
        let outcome = if samples.is_empty() {
            Outcome::Skipped { reason: "no run completed".to_owned() }
        } else {
            Outcome::Measured { samples, note: None }
        };
        self.results.insert(id.to_owned(), Measurement { outcome, command: command.into() });
    }

    /// A sentence shown under the area's table, e.g. what a run did besides the figure.
    pub fn note(&mut self, id: &str, text: impl Into<String>) {
        if let Some(Measurement { outcome: Outcome::Measured { note, .. }, .. }) = self.results.get_mut(id) {
            *note = Some(text.into());
        }
    }

    pub fn skip(&mut self, id: &str, reason: impl Into<String>, command: impl Into<String>) {
        Bench::spec(id);
        let reason = reason.into();
        self.cx.ui.warn(&format!("{id}: skipped: {reason}"));
        self.results.insert(
            id.to_owned(),
            Measurement { outcome: Outcome::Skipped { reason }, command: command.into() },
        );
    }

    /// Every figure of `area` not yet recorded, skipped for `reason`: a missing tool, or a run that
    /// failed part-way (the figures measured before it stay).
    pub fn skip_rest(&mut self, area: Area, reason: &str) {
        for spec in catalogue::of(area) {
            self.results.entry(spec.id()).or_insert_with(|| Measurement {
                outcome: Outcome::Skipped { reason: reason.to_owned() },
                command: String::new(),
            });
        }
        self.cx.ui.warn(&format!("{}: the rest skipped: {reason}", area.key()));
    }

    /// Runs `measure` `runs` times, showing each run's value and time, and records the samples.
    /// A failed run ends the figure with the error; the runs before it are not kept, since a
    /// failure usually means the thing measured changed under them.
    pub fn repeat(
        &mut self,
        id: &str,
        runs: usize,
        command: &str,
        mut measure: impl FnMut(usize) -> Result<f64>,
    ) -> Result<Vec<f64>> {
        let unit = Bench::spec(id).unit;
        let mut samples = Vec::with_capacity(runs);
        for run in 1..=runs {
            let started = Instant::now();
            let value = measure(run).with_context(|| format!("{id}, run {run} of {runs}"))?;
            self.progress(id, run, runs, &report::format_value(value, unit), started.elapsed());
            samples.push(value);
        }
        self.record(id, samples.clone(), command);
        Ok(samples)
    }

    pub fn progress(&self, id: &str, run: usize, runs: usize, value: &str, took: Duration) {
        self.cx.ui.info(&format!("  {id} · run {run}/{runs}: {value} ({})", fmt_duration(took)));
    }
}

pub fn figure_ids() -> Vec<String> {
    catalogue::FIGURES.iter().map(Spec::id).collect()
}

/// Times `f`, in seconds.
pub fn seconds(f: impl FnOnce() -> Result<()>) -> Result<f64> {
    let started = Instant::now();
    f()?;
    Ok(started.elapsed().as_secs_f64())
}

pub fn run(cx: &Context, args: &Args) -> Result<()> {
    if cx.runner.dry_run() {
        bail!(
            "bench measures by running things; it has no --dry-run (`cargo xtask bench --help` says what each area runs)"
        );
    }
    let config = cx.config()?;
    let goals = goals(&config.bench)?;
    // The fresh clones last: the longest area, and the one an impatient reader interrupts.
    let order = [Area::Xtask, Area::Images, Area::Deploy, Area::App, Area::FirstRun];
    let areas: Vec<Area> =
        order.into_iter().filter(|a| args.only.is_empty() || args.only.contains(a)).collect();
    let database_url = args
        .database_url
        .clone()
        .or_else(|| std::env::var("TEST_DATABASE_URL").ok().filter(|url| !url.is_empty()));
    for id in &args.skip {
        match catalogue::find(id) {
            Some(spec) if spec.cost == Cost::Minutes => {}
            Some(_) => {
                bail!("--skip {id}: only figures that take minutes can be left out; this one takes seconds")
            }
            None => bail!(
                "--skip {id}: bench measures no such figure; the slow ones are {}",
                catalogue::FIGURES
                    .iter()
                    .filter(|s| s.cost == Cost::Minutes)
                    .map(Spec::id)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    let mut bench = Bench {
        cx,
        quick: args.quick,
        left_out: args.skip.clone(),
        runs: args.runs.map(usize::from),
        database_url,
        results: BTreeMap::new(),
    };
    // The tools ci/ installs (helm, kubectl) come first, as in `cargo xtask test`.
    let ci_bin = cx.root.join("target/ci/bin");
    if ci_bin.is_dir() {
        cx.sh.set_var("PATH", format!("{ci_bin}:{}", std::env::var("PATH").unwrap_or_default()));
    }
    let started = Instant::now();
    let mut measured = Vec::new();
    let mut written = Vec::new();
    for (index, area) in areas.iter().enumerate() {
        cx.ui.heading(&format!("bench {} of {} · {}", index + 1, areas.len(), area.key()));
        let area_started = Instant::now();
        let result = match area {
            Area::Xtask => xtask::measure(&mut bench),
            Area::FirstRun => first_run::measure(&mut bench),
            Area::Images => images::measure(&mut bench),
            Area::Deploy => deploy::measure(&mut bench),
            Area::App => app::measure(&mut bench),
        };
        if let Err(err) = result {
            let reason = format!("a run failed: {}", one_line(&format!("{err:#}")));
            cx.ui.error(&format!("{}: {reason}", area.key()));
            bench.skip_rest(*area, &reason);
        } else {
            bench.skip_rest_silently(*area);
        }
        cx.ui.info(&format!("{} measured in {}", area.key(), fmt_duration(area_started.elapsed())));
        measured.push(report::AreaReport::new(*area, &bench.results, &goals, config, area_started.elapsed()));
        // Written after each area, so an interrupted run keeps what it measured.
        written = report::write(cx, &report::Machine::read(cx), &measured, args.quick)?;
    }
    cx.ui.print(&report::terminal_table(cx, &measured));
    let missed = measured
        .iter()
        .flat_map(|area| &area.figures)
        .filter(|f| f.verdict == report::Verdict::Missed)
        .count();
    let skipped = measured
        .iter()
        .flat_map(|area| &area.figures)
        .filter(|f| f.verdict == report::Verdict::Skipped)
        .count();
    cx.ui.success(&format!(
        "bench done in {}: {} figures, {missed} missing their goal, {skipped} skipped; written to {}",
        fmt_duration(started.elapsed()),
        measured.iter().map(|area| area.figures.len()).sum::<usize>(),
        written.join(" and ")
    ));
    Ok(())
}

impl Bench<'_> {
    fn skip_rest_silently(&mut self, area: Area) {
        for spec in catalogue::of(area) {
            self.results.entry(spec.id()).or_insert_with(|| Measurement {
                outcome: Outcome::Skipped {
                    reason: "not measured: the area returned without it (a bug in bench)".to_owned(),
                },
                command: String::new(),
            });
        }
    }
}

/// deploy/todo.toml's `[bench]` goals by figure id, each checked against the catalogue, and the
/// images' size goals, which are containerize's.
fn goals(tables: &BTreeMap<String, BTreeMap<String, Goal>>) -> Result<BTreeMap<String, Goal>> {
    let mut goals = BTreeMap::new();
    for (id, name) in [("images.api_size", "todo-api"), ("images.web_size", "todo-web")] {
        if let Some(image) = crate::images::IMAGES.iter().find(|image| image.name == name) {
            let goal =
                Goal { bound: Bound::AtMost, value: image.size_goal_mb as f64, quantity: Quantity::Size };
            goals.insert(id.to_owned(), goal);
        }
    }
    for (area, figures) in tables {
        for (name, goal) in figures {
            let id = format!("{area}.{name}");
            let Some(spec) = catalogue::find(&id) else {
                let known: Vec<String> = catalogue::FIGURES.iter().map(Spec::id).collect();
                bail!(
                    "deploy/todo.toml: [bench.{area}] {name}: bench measures no such figure; it measures {}",
                    known.join(", ")
                );
            };
            if spec.unit.quantity() != goal.quantity {
                bail!(
                    "deploy/todo.toml: [bench.{area}] {name}: the goal's unit does not fit the figure ({}): {}",
                    spec.what,
                    report::unit_hint(spec.unit)
                );
            }
            goals.insert(id, *goal);
        }
    }
    Ok(goals)
}

/// `WHAT failed: <its most telling line>`, then its last lines: the first line is what a table
/// cell shows, so it must say why (xtask's own `caused by:` or `✗` line, else the last line).
pub fn failure(what: &str, output: &str) -> anyhow::Error {
    let lines: Vec<&str> = output.lines().map(str::trim).filter(|line| !line.is_empty()).collect();
    let telling = lines
        .iter()
        .rev()
        .find_map(|line| line.strip_prefix("caused by: "))
        .or_else(|| lines.iter().rev().find_map(|line| line.strip_prefix("✗ ")))
        .or_else(|| lines.last().copied())
        .unwrap_or("no output");
    let tail = lines[lines.len().saturating_sub(15)..].join("\n");
    anyhow::anyhow!("{what} failed: {telling}\n{tail}")
}

/// The first line of an error chain, short enough for a table cell.
pub fn one_line(text: &str) -> String {
    let line = text.lines().find(|line| !line.trim().is_empty()).unwrap_or("").trim();
    match line.char_indices().nth(200) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(area: &str, name: &str, goal: &str) -> BTreeMap<String, BTreeMap<String, Goal>> {
        BTreeMap::from([(area.to_owned(), BTreeMap::from([(name.to_owned(), goal.parse().unwrap())]))])
    }

    #[test]
    fn a_goal_for_a_figure_bench_does_not_measure_is_an_error_that_lists_the_figures() {
        let err = goals(&table("xtask", "doctr", "<= 300ms")).unwrap_err().to_string();
        assert!(err.contains("[bench.xtask] doctr: bench measures no such figure"), "{err}");
        assert!(err.contains("xtask.doctor"), "{err}");
    }

    #[test]
    fn a_goal_in_the_wrong_unit_is_an_error() {
        let err = goals(&table("app", "rss_sqlite", "<= 60ms")).unwrap_err().to_string();
        assert!(err.contains("does not fit the figure"), "{err}");
        assert!(goals(&table("app", "rss_sqlite", "<= 60MB")).is_ok());
    }

    #[test]
    fn the_committed_goals_name_only_figures_bench_measures() {
        let config = crate::config::DeployConfig::load(&crate::context::project_root()).unwrap();
        let goals = goals(&config.bench).unwrap();
        assert!(goals.contains_key("app.list_postgres_rps") && goals.contains_key("xtask.deploy_dry_run"));
    }

    #[test]
    fn a_failure_says_why_on_its_first_line() {
        let output = "▶ release\n  $ helm upgrade\n✗ release failed after 2s\n  caused by: the Ingress reports no address\n";
        let err = failure("`cargo xtask deploy`", output).to_string();
        assert_eq!(err.lines().next(), Some("`cargo xtask deploy` failed: the Ingress reports no address"));
        assert!(err.contains("$ helm upgrade"), "the tail follows: {err}");
        assert_eq!(failure("wrk", "\n").to_string().lines().next(), Some("wrk failed: no output"));
        assert_eq!(one_line(&failure("x", "a\nlast words\n").to_string()), "x failed: last words");
    }

    #[test]
    fn error_cells_keep_the_first_line_and_at_most_200_characters() {
        assert_eq!(one_line("\n  wrk: not found\nmore"), "wrk: not found");
        assert_eq!(one_line(&"x".repeat(300)).chars().count(), 201);
    }
}
