//! A fresh clone of HEAD with an empty target directory (the crates already downloaded, as after
//! any earlier build on the machine) to the URL `cargo xtask up` prints, and to the end of
//! `cargo xtask test`: what a new developer waits for.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use camino::Utf8PathBuf;
use xshell::cmd;

use super::Bench;
use crate::context::Context;

const UP: &str = "git clone . DIR && cd DIR && cargo xtask up --port 0 --offline (until it prints the URL)";
const TEST: &str = "git clone . DIR && cd DIR && cargo xtask test";

pub fn measure(bench: &mut Bench) -> Result<()> {
    let cx = bench.cx;
    if bench.wants("first_run.up", UP) {
        let runs = bench.runs(1, 1);
        bench.repeat("first_run.up", runs, UP, |_| to_the_url(cx))?;
    }
    if bench.wants("first_run.test", TEST) {
        let runs = bench.runs(1, 1);
        bench.repeat("first_run.test", runs, TEST, |_| to_the_end_of_the_tests(cx))?;
    }
    Ok(())
}

/// A fresh clone of HEAD; the clock starts before `git clone`.
struct FreshClone {
    dir: Utf8PathBuf,
}

impl FreshClone {
    fn new(cx: &Context, name: &str) -> Result<FreshClone> {
        let dir = cx.state_dir().join("bench/fresh").join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.parent().unwrap())?;
        let root = &cx.root;
        cmd!(cx.sh, "git clone --quiet {root} {dir}").quiet().run()?;
        Ok(FreshClone { dir })
    }

    /// `cargo xtask ARGS` in the clone, in a process group of its own so it can be stopped with
    /// everything it started; its target and state directories are its own.
    fn command(&self, cx: &Context, args: &[&str]) -> Command {
        let mut command = Command::from(
            cmd!(cx.sh, "cargo xtask {args...}")
                .env_remove("CARGO_TARGET_DIR")
                .env_remove("XTASK_STATE_DIR")
                .env_remove("XTASK_PROJECT_ROOT")
                .env_remove("XTASK_UP_PREBUILT")
                .env("NO_COLOR", "1"),
        );
        command.current_dir(&self.dir).process_group(0).stdin(Stdio::null());
        command
    }
}

impl Drop for FreshClone {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Stops a process group started by [`FreshClone::command`]: Ctrl-C as a terminal sends it, then
/// SIGKILL after 30 s.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let pgid = self.0.id() as i32;
        // SAFETY: kill has no memory preconditions; the group is the child's own.
        unsafe { libc::kill(-pgid, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // SAFETY: as above.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

fn to_the_url(cx: &Context) -> Result<f64> {
    let started = Instant::now();
    let clone = FreshClone::new(cx, "up")?;
    let log = clone.dir.with_extension("log");
    let mut command = clone.command(cx, &["up", "--port", "0", "--offline"]);
    command.stdout(Stdio::piped()).stderr(std::fs::File::create(&log)?);
    let mut child = Group(command.spawn().context("cannot start cargo xtask up")?);
    let stdout = child.0.stdout.take().unwrap();
    // `up` prints the URL alone on stdout once both servers answer /readyz.
    for line in BufReader::new(stdout).lines() {
        if line?.starts_with("http://") {
            let took = started.elapsed().as_secs_f64();
            drop(child);
            return Ok(took);
        }
    }
    drop(child);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    Err(super::failure("`cargo xtask up` (it printed no URL)", &text))
}

fn to_the_end_of_the_tests(cx: &Context) -> Result<f64> {
    let started = Instant::now();
    let clone = FreshClone::new(cx, "test")?;
    let log = cx.state_dir().join("bench/first-run-test.log");
    let mut command = clone.command(cx, &["test"]);
    let file = std::fs::File::create(&log)?;
    command.stdout(file.try_clone()?).stderr(file);
    cx.ui.info(&format!("  cargo xtask test in a fresh clone; its output goes to {log}"));
    let mut child = Group(command.spawn().context("cannot start cargo xtask test")?);
    let status = child.0.wait()?;
    let took = started.elapsed().as_secs_f64();
    if !status.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        return Err(super::failure(&format!("`cargo xtask test` in a fresh clone ({log})"), &text));
    }
    Ok(took)
}
