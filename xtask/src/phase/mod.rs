//! The phase engine. A command is a pipeline of phases; each phase names the phases it needs and
//! fingerprints its inputs. A phase whose inputs (and whose needs' outputs) are unchanged since its
//! last success is skipped; `--force` redoes it; `--from PHASE` resumes a pipeline where it failed.
//! Records live in `target/xtask/phases/`.

mod fingerprint;
mod pipeline;
mod state;

use anyhow::Result;

pub use fingerprint::Fingerprint;
pub use pipeline::Pipeline;

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

    /// A hash of everything the phase's result depends on; `None` means "always run".
    fn fingerprint(&self, _cx: &Context) -> Result<Option<Fingerprint>> {
        Ok(None)
    }

    /// Whether what the last success produced still exists (an image, a release); asked before
    /// skipping an unchanged phase, so a deleted output is rebuilt.
    fn outputs_present(&self, _cx: &Context) -> Result<bool> {
        Ok(true)
    }

    fn run(&self, cx: &Context) -> Result<Outcome>;
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
