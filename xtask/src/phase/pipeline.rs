//! Runs a command's phases in order: skip what is unchanged, stop at the first failure, resume with
//! `--from`, and end with a table of phases, durations and budgets.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Result, anyhow, bail};
use serde_json::json;

use super::report::{self, Row, Status, announce_finish, announce_skip, millis};
use super::state::{Record, RecordStatus, StateStore};
use super::{Outcome, Phase};
use crate::context::Context;
use crate::runner::shell_quote;
use crate::ui::fmt_duration;

pub struct Pipeline {
    phases: Vec<Box<dyn Phase>>,
}

/// What a pipeline did: a row per phase, in order, and the first failure.
pub struct Run {
    pub rows: Vec<Row>,
    pub duration: Duration,
    pub result: Result<()>,
}

impl Run {
    /// The phase that failed, if one did.
    pub fn failed_phase(&self) -> Option<&'static str> {
        self.rows.iter().find(|row| row.status == Status::Failed).map(|row| row.phase)
    }
}

impl Pipeline {
    /// # Panics
    /// When a phase needs one that does not come before it: a mistake in xtask, not in input.
    pub fn new(phases: Vec<Box<dyn Phase>>) -> Pipeline {
        for (i, phase) in phases.iter().enumerate() {
            for need in phase.needs() {
                assert!(
                    phases[..i].iter().any(|earlier| earlier.name() == *need),
                    "phase `{}` needs `{need}`, which does not come before it",
                    phase.name()
                );
            }
        }
        Pipeline { phases }
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.phases.iter().map(|phase| phase.name()).collect()
    }

    pub fn run(&self, cx: &Context) -> Result<()> {
        let run = self.run_unsummarized(cx)?;
        report::finish(cx, &run.rows, run.duration);
        run.result
    }

    /// Runs the phases like [`Pipeline::run`] but leaves the summary to the caller, which may add
    /// rows of its own (`demo` adds the checks before and the measurements after). The outer
    /// error is one that kept any phase from starting (a bad `--from`, an unreadable budget).
    pub fn run_unsummarized(&self, cx: &Context) -> Result<Run> {
        let store = StateStore::new(cx.state_dir().join("phases"));
        let start_at = self.resume_point(cx, &store)?;
        let budgets = match self.phases.iter().any(|phase| phase.budget().is_some()) {
            true => Some(cx.config()?.budgets),
            false => None,
        };
        cx.ui.event(json!({ "event": "pipeline_start", "phases": self.names() }));

        let started = Instant::now();
        let mut rows = Vec::new();
        let mut did_work: Vec<&'static str> = Vec::new();
        let mut failure = None;
        for (i, phase) in self.phases.iter().enumerate() {
            let budget = phase.budget().zip(budgets).map(|(kind, budgets)| budgets.get(kind));
            let mut row = Row {
                phase: phase.name(),
                status: Status::NotRun,
                duration: Duration::ZERO,
                budget,
                note: String::new(),
            };
            if failure.is_some() {
                rows.push(row);
                continue;
            }
            if i < start_at {
                row.status = Status::Skipped;
                row.note = format!("before --from {}", self.phases[start_at].name());
                announce_skip(cx, &row);
                rows.push(row);
                continue;
            }
            let phase_started = Instant::now();
            let result = run_phase(cx, &store, phase.as_ref(), &did_work, &mut row);
            row.duration = phase_started.elapsed();
            match result {
                Ok(changed) => {
                    if changed {
                        did_work.push(phase.name());
                    }
                    if row.status == Status::Done {
                        announce_finish(cx, &row);
                    } else {
                        announce_skip(cx, &row);
                    }
                }
                Err(err) => {
                    row.status = Status::Failed;
                    if !cx.runner.dry_run() {
                        let record = Record::new(RecordStatus::Failed, None, millis(row.duration));
                        // The failure itself matters more (a full disk often causes both).
                        if let Err(write) = store.put(phase.name(), &record) {
                            cx.ui.warn(&format!("{write:#}"));
                        }
                    }
                    cx.ui.error(&format!("{} failed after {}", row.phase, fmt_duration(row.duration)));
                    cx.ui.event(json!({
                        "event": "phase_fail",
                        "phase": row.phase,
                        "duration_ms": millis(row.duration),
                        "error": format!("{err:#}"),
                    }));
                    // Resuming means something only when earlier phases would be skipped.
                    let next = match i {
                        0 => format!("after fixing it, rerun `{}`", command_line(None)),
                        _ => format!("after fixing it, resume with `{}`", command_line(Some(row.phase))),
                    };
                    failure = Some(err.context(format!(
                        "phase `{}` failed after {}; {next}",
                        row.phase,
                        fmt_duration(row.duration),
                    )));
                }
            }
            rows.push(row);
        }

        let result = match failure {
            Some(err) => Err(err),
            None => Ok(()),
        };
        Ok(Run { rows, duration: started.elapsed(), result })
    }

    /// Where `--from` starts, after checking that every phase before it completed once.
    fn resume_point(&self, cx: &Context, store: &StateStore) -> Result<usize> {
        let Some(from) = &cx.opts.from else {
            return Ok(0);
        };
        let start = self.phases.iter().position(|phase| phase.name() == from).ok_or_else(|| {
            anyhow!(
                "`--from {from}`: this command has no phase `{from}`; its phases are: {}",
                self.names().join(", ")
            )
        })?;
        for phase in &self.phases[..start] {
            let name = phase.name();
            match store.get(name).map(|record| record.status) {
                Some(RecordStatus::Succeeded | RecordStatus::Skipped) => {}
                Some(RecordStatus::Failed) => bail!(
                    "cannot resume from `{from}`: `{name}` failed on its last run; resume from it instead: `{}`",
                    command_line(Some(name))
                ),
                None => bail!(
                    "cannot resume from `{from}`: `{name}` has not run here yet; run without --from first"
                ),
            }
        }
        Ok(start)
    }
}

/// Runs one phase unless it is unchanged; fills in `row`'s status and note. Returns whether its
/// result changed, which makes the phases needing it rerun.
fn run_phase(
    cx: &Context,
    store: &StateStore,
    phase: &dyn Phase,
    did_work: &[&str],
    row: &mut Row,
) -> Result<bool> {
    let name = phase.name();
    let plan = phase.prepare(cx)?;
    let fingerprint = match plan.fingerprint() {
        None => None,
        Some(mut own) => {
            // A phase's result also depends on what the phases it needs produced.
            for need in phase.needs() {
                let theirs = store.get(need).and_then(|record| record.fingerprint);
                own.value(need, theirs.as_deref().unwrap_or("none"));
            }
            Some(own.hex())
        }
    };

    let upstream_changed = phase.needs().iter().find(|need| did_work.contains(need));
    let last_success = store.get(name).filter(|record| record.status == RecordStatus::Succeeded);
    let mut rerun_reason = None;
    let unchanged = last_success.as_ref().filter(|record| {
        upstream_changed.is_none() && fingerprint.is_some() && record.fingerprint == fingerprint
    });
    if let Some(last) = unchanged {
        if cx.opts.force {
            rerun_reason = Some("unchanged, redone because of --force".to_owned());
        } else if plan.outputs_present(cx)? {
            row.status = Status::Skipped;
            row.note = format!("unchanged since {}", ago(last.finished_at));
            return Ok(false);
        } else {
            rerun_reason = Some("unchanged, but its outputs are gone".to_owned());
        }
    }

    cx.ui.heading(name);
    if let Some(need) = upstream_changed {
        cx.ui.detail(&format!("  (runs because `{need}` changed)"));
    }
    if let Some(reason) = &rerun_reason {
        cx.ui.detail(&format!("  ({reason})"));
    }
    cx.ui.event(json!({ "event": "phase_start", "phase": name }));
    let started = Instant::now();
    let outcome = plan.run(cx)?;
    let fingerprint_changed =
        fingerprint.is_some() && last_success.and_then(|record| record.fingerprint) != fingerprint;
    let (status, record_status, changed) = match outcome {
        Outcome::Done => (Status::Done, RecordStatus::Succeeded, true),
        Outcome::UpToDate(reason) => {
            row.note = reason;
            (Status::Skipped, RecordStatus::Succeeded, fingerprint_changed)
        }
        Outcome::Skipped(reason) => {
            row.note = reason;
            (Status::Skipped, RecordStatus::Skipped, false)
        }
    };
    row.status = status;
    if !cx.runner.dry_run() {
        store.put(name, &Record::new(record_status, fingerprint, millis(started.elapsed())))?;
    }
    Ok(changed)
}

/// The command line the user ran, without any `--from`, then with `--from PHASE` if given.
fn command_line(from: Option<&str>) -> String {
    resume_command(std::env::args().skip(1), from)
}

/// `--from` goes before any `--`: what follows `--` belongs to another program (`cargo test`).
fn resume_command(given: impl IntoIterator<Item = String>, from: Option<&str>) -> String {
    let mut ours = Vec::new();
    let mut passed_on = Vec::new();
    let mut given = given.into_iter();
    while let Some(arg) = given.next() {
        if arg == "--" {
            passed_on.push(arg);
            passed_on.extend(given.by_ref());
        } else if arg == "--from" {
            given.next();
        } else if !arg.starts_with("--from=") {
            ours.push(arg);
        }
    }
    if let Some(phase) = from {
        ours.extend(["--from".to_owned(), phase.to_owned()]);
    }
    let words: Vec<String> = ours.iter().chain(&passed_on).map(|arg| shell_quote(arg)).collect();
    format!("cargo xtask {}", words.join(" "))
}

fn ago(unix_secs: u64) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let secs = now.saturating_sub(unix_secs);
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86400 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86400),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use camino::Utf8PathBuf;

    use super::*;
    use crate::context::GlobalOpts;
    use crate::phase::{Fingerprint, Plan};
    use crate::ui::{Capture, Ui};

    /// A phase whose input, result and presence of outputs the test controls.
    #[derive(Clone)]
    struct Probe {
        name: &'static str,
        needs: &'static [&'static str],
        input: Rc<Cell<u32>>,
        fail: Rc<Cell<bool>>,
        /// Answer `UpToDate` instead of `Done`.
        up_to_date: Rc<Cell<bool>>,
        outputs_present: Rc<Cell<bool>>,
        log: Rc<RefCell<Vec<&'static str>>>,
    }

    impl Phase for Probe {
        fn name(&self) -> &'static str {
            self.name
        }
        fn needs(&self) -> &'static [&'static str] {
            self.needs
        }
        fn prepare<'a>(&'a self, _cx: &Context) -> Result<Box<dyn Plan + 'a>> {
            Ok(Box::new(self.clone()))
        }
    }

    impl Plan for Probe {
        fn fingerprint(&self) -> Option<Fingerprint> {
            let mut fingerprint = Fingerprint::new();
            fingerprint.value("input", &self.input.get().to_string());
            Some(fingerprint)
        }
        fn outputs_present(&self, _cx: &Context) -> Result<bool> {
            Ok(self.outputs_present.get())
        }
        fn run(self: Box<Self>, _cx: &Context) -> Result<Outcome> {
            self.log.borrow_mut().push(self.name);
            if self.fail.get() {
                bail!("{} broke", self.name);
            }
            if self.up_to_date.get() {
                return Ok(Outcome::UpToDate("already there".into()));
            }
            Ok(Outcome::Done)
        }
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        root: Utf8PathBuf,
        log: Rc<RefCell<Vec<&'static str>>>,
        phases: Vec<Probe>,
    }

    impl Fixture {
        /// `build` → `deploy` (needs build) → `verify` (needs deploy).
        fn new() -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let root = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
            let log = Rc::new(RefCell::new(Vec::new()));
            let probe = |name, needs| Probe {
                name,
                needs,
                input: Rc::new(Cell::new(1)),
                fail: Rc::new(Cell::new(false)),
                up_to_date: Rc::new(Cell::new(false)),
                outputs_present: Rc::new(Cell::new(true)),
                log: log.clone(),
            };
            let phases = vec![probe("build", &[]), probe("deploy", &["build"]), probe("verify", &["deploy"])];
            Fixture { _dir: dir, root, log, phases }
        }

        fn phase(&self, name: &str) -> &Probe {
            self.phases.iter().find(|phase| phase.name == name).unwrap()
        }

        /// Runs the whole pipeline; returns which phases ran, the result and what was printed.
        fn run(&self, opts: GlobalOpts) -> (Vec<&'static str>, Result<()>, String) {
            let all: Vec<&str> = self.phases.iter().map(|phase| phase.name).collect();
            self.run_phases(&all, opts)
        }

        /// Runs a pipeline of only these phases, as a narrower command would.
        fn run_phases(&self, names: &[&str], opts: GlobalOpts) -> (Vec<&'static str>, Result<()>, String) {
            self.log.borrow_mut().clear();
            let (ui, _out, err): (Ui, Capture, Capture) = Ui::capture(false, false);
            let cx =
                Context::new(self.root.clone(), opts, ui).unwrap().with_state_dir(self.root.join("state"));
            let phases = names.iter().map(|name| Box::new(self.phase(name).clone()) as Box<dyn Phase>);
            let result = Pipeline::new(phases.collect()).run(&cx);
            (self.log.borrow().clone(), result, err.text())
        }
    }

    fn from(phase: &str) -> GlobalOpts {
        GlobalOpts { from: Some(phase.to_owned()), ..GlobalOpts::default() }
    }

    #[test]
    fn unchanged_phases_are_skipped_and_force_redoes_them() {
        let fx = Fixture::new();
        let (ran, result, _) = fx.run(GlobalOpts::default());
        result.unwrap();
        assert_eq!(ran, ["build", "deploy", "verify"]);

        let (ran, result, printed) = fx.run(GlobalOpts::default());
        result.unwrap();
        assert!(ran.is_empty(), "{ran:?}");
        assert!(printed.contains("– build skipped: unchanged since"), "{printed}");
        assert!(printed.contains("0 done, 3 skipped, 0 failed"), "{printed}");

        let (ran, result, _) = fx.run(GlobalOpts { force: true, ..GlobalOpts::default() });
        result.unwrap();
        assert_eq!(ran, ["build", "deploy", "verify"]);
    }

    #[test]
    fn a_change_reruns_the_phase_and_everything_that_needs_it() {
        let fx = Fixture::new();
        fx.run(GlobalOpts::default()).1.unwrap();
        fx.phase("deploy").input.set(2);
        let (ran, result, _) = fx.run(GlobalOpts::default());
        result.unwrap();
        assert_eq!(ran, ["deploy", "verify"]);
    }

    #[test]
    fn an_upstream_change_made_by_an_earlier_command_still_reruns_dependents() {
        let fx = Fixture::new();
        fx.run(GlobalOpts::default()).1.unwrap();
        // `build` alone reruns with new inputs (as `cargo xtask containerize` would) ...
        fx.phase("build").input.set(5);
        assert_eq!(fx.run_phases(&["build"], GlobalOpts::default()).0, ["build"]);
        // ... so the next full run redoes what needs it, though `build` itself is unchanged now.
        let (ran, result, _) = fx.run(GlobalOpts::default());
        result.unwrap();
        assert_eq!(ran, ["deploy", "verify"]);
    }

    #[test]
    fn an_up_to_date_phase_is_a_success_to_skip_on_and_its_changes_still_propagate() {
        let fx = Fixture::new();
        fx.phase("build").up_to_date.set(true);
        let (ran, result, printed) = fx.run(GlobalOpts::default());
        result.unwrap();
        assert_eq!(ran, ["build", "deploy", "verify"]);
        assert!(printed.contains("– build skipped: already there"), "{printed}");
        let (ran, _, printed) = fx.run(GlobalOpts::default());
        assert!(ran.is_empty(), "an up-to-date result is a success to skip on: {ran:?}");
        assert!(printed.contains("– build skipped: unchanged since"), "{printed}");

        // New inputs whose result already exists (a reverted change: its image is still there):
        // nothing to redo in `build`, but what `deploy` deploys has changed.
        fx.phase("build").input.set(2);
        let (ran, _, _) = fx.run(GlobalOpts::default());
        assert_eq!(ran, ["build", "deploy", "verify"]);
        let (ran, _, _) = fx.run(GlobalOpts { dry_run: true, ..GlobalOpts::default() });
        assert!(ran.is_empty(), "{ran:?}");
        fx.phase("build").input.set(3);
        let (ran, _, _) = fx.run(GlobalOpts { dry_run: true, ..GlobalOpts::default() });
        assert_eq!(ran, ["build", "deploy", "verify"], "a dry run plans the same");
    }

    #[test]
    fn missing_outputs_are_rebuilt_even_when_inputs_are_unchanged() {
        let fx = Fixture::new();
        fx.run(GlobalOpts::default()).1.unwrap();
        fx.phase("build").outputs_present.set(false);
        let (ran, result, _) = fx.run(GlobalOpts::default());
        result.unwrap();
        assert_eq!(ran, ["build", "deploy", "verify"]);
    }

    #[test]
    fn a_failed_pipeline_resumes_with_from() {
        let fx = Fixture::new();
        fx.phase("deploy").fail.set(true);
        let (ran, result, printed) = fx.run(GlobalOpts::default());
        let error = format!("{:#}", result.unwrap_err());
        assert_eq!(ran, ["build", "deploy"]);
        assert!(error.contains("phase `deploy` failed after"), "{error}");
        assert!(error.contains("--from deploy`"), "{error}");
        assert!(error.contains("deploy broke"), "{error}");
        assert!(printed.contains("1 done, 0 skipped, 1 failed, 1 not run"), "{printed}");

        // Resuming past the failed phase is refused.
        let (ran, result, _) = fx.run(from("verify"));
        assert!(ran.is_empty());
        assert!(result.unwrap_err().to_string().contains("`deploy` failed on its last run"));

        fx.phase("deploy").fail.set(false);
        fx.phase("build").input.set(9); // changed, but before --from: not rerun
        let (ran, result, printed) = fx.run(from("deploy"));
        result.unwrap();
        assert_eq!(ran, ["deploy", "verify"]);
        assert!(printed.contains("– build skipped: before --from deploy"), "{printed}");
    }

    #[test]
    fn from_names_the_phases_it_accepts() {
        let fx = Fixture::new();
        let error = fx.run(from("deplyo")).1.unwrap_err().to_string();
        assert_eq!(
            error,
            "`--from deplyo`: this command has no phase `deplyo`; its phases are: build, deploy, verify"
        );
        let error = fx.run(from("verify")).1.unwrap_err().to_string();
        assert!(error.contains("`build` has not run here yet"), "{error}");
    }

    #[test]
    fn a_dry_run_records_nothing() {
        let fx = Fixture::new();
        fx.run(GlobalOpts { dry_run: true, ..GlobalOpts::default() }).1.unwrap();
        let (ran, _, _) = fx.run(GlobalOpts::default());
        assert_eq!(ran, ["build", "deploy", "verify"]);
    }

    #[test]
    #[should_panic(expected = "phase `deploy` needs `build`, which does not come before it")]
    fn needs_must_come_first() {
        let _ = Fixture::new().run_phases(&["deploy", "build"], GlobalOpts::default());
    }

    #[test]
    fn the_resume_command_puts_from_before_the_arguments_for_cargo() {
        let args = |line: &str| line.split(' ').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            resume_command(args("test --from chart -- -p xtask doctor"), Some("workspace")),
            "cargo xtask test --from workspace -- -p xtask doctor"
        );
        assert_eq!(resume_command(args("--force deploy --from=secrets"), None), "cargo xtask --force deploy");
        assert_eq!(
            resume_command(vec!["test".to_owned(), "--".to_owned(), "a b".to_owned()], Some("compile")),
            "cargo xtask test --from compile -- 'a b'"
        );
    }
}
