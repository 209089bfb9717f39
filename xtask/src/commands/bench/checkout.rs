//! A clone of this checkout's HEAD under target/xtask/bench/checkout, for the figures that change
//! source (a one-line api change) or need an empty target directory: the developer's own tree and
//! target are never touched. It persists between runs, so its cargo cache stays warm.

use std::process::{Command, Stdio};

use anyhow::{Context as _, Result};
use camino::Utf8PathBuf;
use xshell::cmd;

use crate::context::Context;

/// The file a one-line change appends to: the api's crate root, so its whole crate recompiles.
pub const CHANGED_FILE: &str = "services/api/src/lib.rs";

pub struct Checkout {
    pub dir: Utf8PathBuf,
}

impl Checkout {
    /// Clones HEAD (or resets an earlier clone to it); committed work only, which the report's
    /// commit names.
    pub fn prepare(cx: &Context) -> Result<Checkout> {
        let dir = cx.state_dir().join("bench/checkout");
        let root = &cx.root;
        let head =
            cmd!(cx.sh, "git -C {root} rev-parse HEAD").quiet().read().context("git rev-parse HEAD")?;
        if dir.join(".git").is_dir() {
            cmd!(cx.sh, "git -C {dir} fetch --quiet {root} {head}").quiet().run()?;
            cmd!(cx.sh, "git -C {dir} reset --quiet --hard {head}").quiet().run()?;
            cmd!(cx.sh, "git -C {dir} clean --quiet -fdx --exclude target").quiet().run()?;
        } else {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.parent().unwrap())?;
            cmd!(cx.sh, "git clone --quiet {root} {dir}").quiet().run()?;
            cmd!(cx.sh, "git -C {dir} checkout --quiet --detach {head}").quiet().run()?;
        }
        Ok(Checkout { dir })
    }

    /// `cargo xtask ARGS` in the clone, with the clone's own target and state directories even
    /// when the caller's environment moves them.
    pub fn xtask(&self, cx: &Context, args: &[String]) -> Command {
        let mut command = Command::from(
            cmd!(cx.sh, "cargo xtask {args...}")
                .env_remove("CARGO_TARGET_DIR")
                .env_remove("XTASK_STATE_DIR")
                .env_remove("XTASK_PROJECT_ROOT")
                .env("NO_COLOR", "1"),
        );
        command.current_dir(&self.dir).stdin(Stdio::null());
        command
    }

    /// Runs `cargo xtask ARGS` in the clone; on failure, the error carries its last lines.
    pub fn run_xtask(&self, cx: &Context, args: &[String], env: &[(String, String)]) -> Result<()> {
        let mut command = self.xtask(cx, args);
        command.envs(env.iter().map(|(key, value)| (key, value)));
        let output = command.output().context("cannot run cargo xtask")?;
        if !output.status.success() {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            return Err(super::failure(&format!("`cargo xtask {}` in {}", args.join(" "), self.dir), &text));
        }
        Ok(())
    }

    /// Appends a comment line to the api's crate root: a change cargo must rebuild for and the
    /// images' content hashes see. `run` makes each run's change new.
    pub fn change_api(&self, run: usize) -> Result<()> {
        let path = self.dir.join(CHANGED_FILE);
        let mut text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        text.push_str(&format!("// cargo xtask bench: a one-line change ({run})\n"));
        std::fs::write(&path, text).with_context(|| format!("cannot write {path}"))
    }

    /// The changed file back as committed.
    pub fn restore(&self, cx: &Context) -> Result<()> {
        let dir = &self.dir;
        cmd!(cx.sh, "git -C {dir} checkout --quiet -- {CHANGED_FILE}").quiet().run()?;
        Ok(())
    }
}
