//! `cargo xtask test`: the README's test command.

use std::time::Duration;

use anyhow::Result;
use xshell::cmd;

use crate::context::Context;
use crate::phase::{Outcome, Phase, Pipeline};
use crate::runner::Cmd;

/// Run every test: `cargo test --workspace`, then the real-tool suites
///
/// Phases: `compile` builds every test target once; `workspace` runs `cargo test --workspace`
/// (unit tests, API integration tests, xtask flows against scripted fakes of the cluster tools).
/// Suites that need real tools report what they skipped and why; with `--require-tools` (as CI
/// runs it) a missing tool fails the run instead. Resume a failed run with `--from PHASE`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Fail instead of skipping when a real tool a test needs is missing (CI sets this)
    #[arg(long)]
    pub require_tools: bool,

    /// Passed on to `cargo test --workspace`, e.g. `cargo xtask test -- -p xtask doctor`
    #[arg(last = true, value_name = "CARGO_TEST_ARGS")]
    pub cargo_args: Vec<String>,
}

/// Tests read this to fail rather than skip when a real part they need is missing.
pub const REQUIRE_TOOLS_ENV: &str = "TODO_REQUIRE_TOOLS";

pub fn run(cx: &Context, args: &Args) -> Result<()> {
    let pipeline = Pipeline::new(vec![
        Box::new(Compile),
        Box::new(Workspace {
            require_tools: args.require_tools,
            cargo_args: args.cargo_args.clone(),
        }),
    ]);
    pipeline.run(cx)
}

/// Builds every test target first, so compile errors surface before minutes of tests, and the
/// suites after it reuse the build.
struct Compile;

impl Phase for Compile {
    fn name(&self) -> &'static str {
        "compile"
    }

    fn run(&self, cx: &Context) -> Result<Outcome> {
        let cmd = Cmd::from(cmd!(cx.sh, "cargo test --workspace --no-run"))
            .timeout(Duration::from_secs(60 * 60))
            .hint("the first error above is usually the cause");
        cx.run(cmd)?;
        Ok(Outcome::Done)
    }
}

struct Workspace {
    require_tools: bool,
    cargo_args: Vec<String>,
}

impl Phase for Workspace {
    fn name(&self) -> &'static str {
        "workspace"
    }

    fn needs(&self) -> &'static [&'static str] {
        &["compile"]
    }

    fn run(&self, cx: &Context) -> Result<Outcome> {
        let args = &self.cargo_args;
        let mut cmd = cmd!(cx.sh, "cargo test --workspace {args...}");
        if self.require_tools {
            cmd = cmd.env(REQUIRE_TOOLS_ENV, "1");
        }
        let cmd = Cmd::from(cmd)
            .timeout(Duration::from_secs(60 * 60))
            .hint("rerun one test with `cargo test -p <crate> <test name> -- --nocapture`");
        cx.run(cmd)?;
        Ok(Outcome::Done)
    }
}
