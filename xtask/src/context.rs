//! What every command and phase gets: the project root, one `Shell`, the UI, the runner and the
//! global options.

use std::cell::OnceCell;

use anyhow::Result;
use camino::{Utf8Path, Utf8PathBuf};
use xshell::Shell;

use crate::config::DeployConfig;
use crate::runner::{Cmd, Output, Runner};
use crate::ui::Ui;

/// The flags every command takes (`cargo xtask --help`).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct GlobalOpts {
    /// Print the commands that would change something, in order, and change nothing
    /// (read-only queries still run, so the plan is the one a real run would follow)
    #[arg(long, global = true)]
    pub dry_run: bool,

    /// Show every command, including read-only probes, and why phases run or skip
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Machine-readable output on stdout: one JSON event per line (phase start, finish, skip,
    /// failure); `doctor --json` prints one JSON document
    #[arg(long, global = true)]
    pub json: bool,

    /// Resume at PHASE, skipping the phases before it (they must have completed once)
    #[arg(long, global = true, value_name = "PHASE")]
    pub from: Option<String>,

    /// Redo phases even when their inputs are unchanged since their last success
    #[arg(long, global = true)]
    pub force: bool,
}

pub struct Context {
    pub root: Utf8PathBuf,
    pub sh: Shell,
    pub ui: Ui,
    pub runner: Runner,
    pub opts: GlobalOpts,
    /// Where phase records and hand-over files live: see [`Context::state_dir`].
    state: Utf8PathBuf,
    config: OnceCell<DeployConfig>,
}

impl Context {
    pub fn new(root: Utf8PathBuf, opts: GlobalOpts, ui: Ui) -> Result<Context> {
        let sh = Shell::new()?;
        sh.change_dir(&root);
        let runner = Runner::new(ui.clone(), opts.dry_run);
        let state = match std::env::var("XTASK_STATE_DIR") {
            Ok(dir) if !dir.is_empty() => root.join(dir),
            _ => target_dir(&root).join("xtask"),
        };
        Ok(Context { root, sh, ui, runner, opts, state, config: OnceCell::new() })
    }

    pub fn run(&self, cmd: impl Into<Cmd>) -> Result<Output> {
        self.runner.run(cmd.into())
    }

    pub fn output(&self, cmd: impl Into<Cmd>) -> Result<Output> {
        self.runner.output(cmd.into())
    }

    pub fn read(&self, cmd: impl Into<Cmd>) -> Result<String> {
        self.runner.read(cmd.into())
    }

    pub fn config(&self) -> Result<&DeployConfig> {
        if let Some(config) = self.config.get() {
            return Ok(config);
        }
        let config = DeployConfig::load(&self.root)?;
        Ok(self.config.get_or_init(|| config))
    }

    /// `target/xtask`: phase records and the artifacts phases hand to each other.
    /// `XTASK_STATE_DIR` moves it, so a test's `up` (state, database) cannot meet a developer's.
    pub fn state_dir(&self) -> Utf8PathBuf {
        self.state.clone()
    }

    /// The same context keeping its state in `dir`: tests, whose scratch roots must not share
    /// records through an inherited CARGO_TARGET_DIR.
    #[cfg(test)]
    pub fn with_state_dir(mut self, dir: Utf8PathBuf) -> Context {
        self.state = dir;
        self
    }

    /// Cargo's target directory (`CARGO_TARGET_DIR` or `target`).
    pub fn target_dir(&self) -> Utf8PathBuf {
        target_dir(&self.root)
    }
}

/// The workspace root. Tests point xtask at a scratch project with `XTASK_PROJECT_ROOT`.
pub fn project_root() -> Utf8PathBuf {
    if let Some(root) = std::env::var_os("XTASK_PROJECT_ROOT") {
        return Utf8PathBuf::from(root.to_string_lossy().into_owned());
    }
    Utf8Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

fn target_dir(root: &Utf8Path) -> Utf8PathBuf {
    match std::env::var("CARGO_TARGET_DIR") {
        Ok(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}
