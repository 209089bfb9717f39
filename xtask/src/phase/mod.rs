//! The phase engine. A command is a pipeline of phases; each phase names the phases it needs and,
//! when its turn comes, prepares a plan: what it read, the fingerprint of its inputs, and the
//! changes it would make. A plan whose fingerprint (and whose needs' results) are unchanged since
//! the phase's last success is dropped unrun; `--force` runs it anyway; `--from PHASE` resumes a
//! pipeline where it failed. Records live in `target/xtask/phases/`.

mod fingerprint;
mod pipeline;
mod report;
mod state;

use anyhow::Result;

pub use fingerprint::Fingerprint;
pub use pipeline::Pipeline;
pub use report::{Row, Status, finish as summarize, rows_json};
pub use state::{Record, RecordStatus};

use crate::config::BudgetKind;
use crate::context::Context;

pub trait Phase {
    /// The name users type after `--from`.
    fn name(&self) -> &'static str;

    /// Phases that must have succeeded before this one; they come earlier in any pipeline.
    fn needs(&self) -> &'static [&'static str] {
        &[]
    }

    /// Which of `deploy/todo.toml`'s budgets this phase's duration counts against.
    fn budget(&self) -> Option<BudgetKind> {
        None
    }

    /// Works out, once, what this run of the phase would do: reads its inputs and fingerprints
    /// them. Changes nothing (writes no file, calls nothing that mutates): that is [`Plan::run`]'s
    /// job, so a skipped phase has no side effect at all. Called at the phase's turn in the
    /// pipeline, after the phases before it ran.
    fn prepare<'a>(&'a self, cx: &Context) -> Result<Box<dyn Plan + 'a>>;
}

/// A phase's prepared work.
pub trait Plan {
    /// A hash of everything the phase's result depends on; `None` means "always run".
    fn fingerprint(&self) -> Option<Fingerprint> {
        None
    }

    /// Whether what the last success produced still exists (an image, a release); asked before
    /// skipping an unchanged phase, so a deleted output is rebuilt.
    fn outputs_present(&self, _cx: &Context) -> Result<bool> {
        Ok(true)
    }

    fn run(self: Box<Self>, cx: &Context) -> Result<Outcome>;
}

/// What `phase`'s last run left in this project's state directory, if it ran here.
pub fn last_record(cx: &Context, phase: &str) -> Option<Record> {
    state::StateStore::new(cx.state_dir().join("phases")).get(phase)
}

/// The plan of a phase that has no inputs to fingerprint: it runs every time.
pub fn always<'a>(run: impl FnOnce(&Context) -> Result<Outcome> + 'a) -> Box<dyn Plan + 'a> {
    struct Always<F>(F);
    impl<F: FnOnce(&Context) -> Result<Outcome>> Plan for Always<F> {
        fn run(self: Box<Self>, cx: &Context) -> Result<Outcome> {
            (self.0)(cx)
        }
    }
    Box::new(Always(run))
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The phase did its work (and may have changed what later phases depend on).
    Done,
    /// What the phase produces was already in place, for the reason given: a success that changed
    /// nothing, so the phases after it need not rerun.
    UpToDate(String),
    /// The phase could not run here, for the reason given (e.g. a tool is missing): not a
    /// success, so it is tried again next time.
    Skipped(String),
}
