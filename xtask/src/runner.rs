//! The one way xtask starts an external program.
//!
//! Phases build command lines with xshell's `cmd!` (typed arguments, never a shell string) and hand
//! them to the [`Runner`], which echoes them, refuses a secret in argv, honours `--dry-run`, streams
//! or captures the output, enforces a timeout, and turns a failure into an error that names the
//! command, its exit code, the last lines it printed and a hint. Because every program goes through
//! here, dry runs, redaction and the test fakes (found first on PATH) are one mechanism.

use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Result;
use camino::Utf8PathBuf;

use crate::background::Background;
use crate::secret::{REDACTED, Secret};
use crate::tools::Tool;
use crate::ui::Ui;

/// Lines of output kept for an error message.
const TAIL_LINES: usize = 12;
/// How long to wait for a child's pipes to close after it exits: a daemon it started may have
/// inherited them, and must not make xtask hang.
const PIPE_GRACE: Duration = Duration::from_secs(2);

/// Whether running a command can change anything. Read-only commands also run in `--dry-run`,
/// so the plan a dry run prints is the one a real run would follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    ReadOnly,
    Mutating,
}

enum Stdin {
    Bytes(Vec<u8>),
    Secret(Secret),
}

/// A command line plus how to run it.
pub struct Cmd {
    program: String,
    args: Vec<String>,
    env: Vec<(String, Option<String>)>,
    secret_env: Vec<(String, Secret)>,
    cwd: Option<Utf8PathBuf>,
    stdin: Option<Stdin>,
    effect: Effect,
    timeout: Option<Duration>,
    hint: Option<String>,
    quiet: bool,
    allow_failure: bool,
    label: Option<String>,
}

impl From<xshell::Cmd<'_>> for Cmd {
    fn from(cmd: xshell::Cmd<'_>) -> Cmd {
        let command = Command::from(cmd);
        let lossy = |s: &std::ffi::OsStr| s.to_string_lossy().into_owned();
        Cmd {
            program: lossy(command.get_program()),
            args: command.get_args().map(lossy).collect(),
            env: command.get_envs().map(|(k, v)| (lossy(k), v.map(lossy))).collect(),
            secret_env: Vec::new(),
            cwd: command.get_current_dir().and_then(|dir| Utf8PathBuf::from_path_buf(dir.to_path_buf()).ok()),
            stdin: None,
            effect: Effect::Mutating,
            timeout: None,
            hint: None,
            quiet: false,
            allow_failure: false,
            label: None,
        }
    }
}

impl Cmd {
    /// Marks the command as a query: it runs even in `--dry-run`.
    pub fn read_only(mut self) -> Cmd {
        self.effect = Effect::ReadOnly;
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Cmd {
        self.timeout = Some(timeout);
        self
    }

    /// What to tell the user if this command fails.
    pub fn hint(mut self, hint: impl Into<String>) -> Cmd {
        self.hint = Some(hint.into());
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Cmd {
        self.env.push((key.into(), Some(value.into())));
        self
    }

    /// The child runs without `key` in its environment, even if xtask's has it.
    pub fn env_remove(mut self, key: impl Into<String>) -> Cmd {
        self.env.push((key.into(), None));
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(Stdin::Bytes(bytes.into()));
        self
    }

    /// Secrets reach a child on stdin or in its environment, never in argv.
    pub fn secret_stdin(mut self, secret: Secret) -> Cmd {
        self.stdin = Some(Stdin::Secret(secret));
        self
    }

    pub fn secret_env(mut self, key: impl Into<String>, secret: Secret) -> Cmd {
        self.secret_env.push((key.into(), secret));
        self
    }

    /// Not echoed unless `-v` (or `--dry-run`): for probes whose command line is noise.
    pub fn quiet(mut self) -> Cmd {
        self.quiet = true;
        self
    }

    /// A non-zero exit is returned in [`Output::status`] instead of as an error.
    pub fn allow_failure(mut self) -> Cmd {
        self.allow_failure = true;
        self
    }

    /// Prefix for each streamed output line, so commands running side by side stay readable.
    pub fn label(mut self, label: impl Into<String>) -> Cmd {
        self.label = Some(label.into());
        self
    }

    fn default_timeout(&self) -> Duration {
        match self.effect {
            Effect::ReadOnly => Duration::from_secs(60),
            Effect::Mutating => Duration::from_secs(30 * 60),
        }
    }

    fn secrets(&self) -> impl Iterator<Item = &Secret> {
        let stdin = match &self.stdin {
            Some(Stdin::Secret(secret)) => Some(secret),
            _ => None,
        };
        stdin.into_iter().chain(self.secret_env.iter().map(|(_, secret)| secret))
    }
}

/// The command as a copy-pasteable shell line, secrets shown as `<redacted>`.
impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `env -u` is the shell's way to run a command without an inherited variable.
        let removed: Vec<&String> = self.env.iter().filter(|(_, v)| v.is_none()).map(|(k, _)| k).collect();
        if !removed.is_empty() {
            f.write_str("env")?;
            for key in removed {
                write!(f, " -u {key}")?;
            }
            f.write_str(" ")?;
        }
        for (key, value) in &self.env {
            if let Some(value) = value {
                write!(f, "{key}={} ", shell_quote(value))?;
            }
        }
        for (key, _) in &self.secret_env {
            write!(f, "{key}={REDACTED} ")?;
        }
        f.write_str(&shell_quote(&self.program))?;
        for arg in &self.args {
            write!(f, " {}", shell_quote(arg))?;
        }
        match &self.stdin {
            Some(Stdin::Secret(_)) => write!(f, " <<< {REDACTED}"),
            Some(Stdin::Bytes(bytes)) => write!(f, " < (stdin: {} bytes)", bytes.len()),
            None => Ok(()),
        }
    }
}

pub fn shell_quote(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[derive(Debug, Default)]
pub struct Output {
    /// The exit code; `None` when the process was killed (timeout, signal) or not run (dry run).
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// True when the command was only printed (`--dry-run`, mutating command).
    pub dry_run: bool,
}

impl Output {
    pub fn success(&self) -> bool {
        self.dry_run || self.status == Some(0)
    }
}

#[derive(Debug)]
pub enum Failure {
    Exit(i32),
    /// By a signal, in words: "signal 9 (SIGKILL)".
    Killed(String),
    TimedOut(Duration),
    NotInstalled,
    Spawn(String),
}

/// A command that did not succeed; its `Display` is what the user reads.
#[derive(Debug)]
pub struct CommandError {
    pub command: String,
    pub failure: Failure,
    pub tail: Vec<String>,
    pub hint: Option<String>,
    /// Everything the command printed (redacted), for callers that diagnose the failure.
    pub output: Output,
}

impl std::error::Error for CommandError {}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` ", self.command)?;
        match &self.failure {
            Failure::Exit(code) => write!(f, "failed with exit code {code}")?,
            // The signal tells: 9 (SIGKILL) from nowhere is usually the kernel out of memory.
            Failure::Killed(how) => write!(f, "was killed by {how}")?,
            Failure::TimedOut(after) => {
                write!(f, "timed out after {} and was stopped", crate::ui::fmt_duration(*after))?
            }
            Failure::NotInstalled => write!(f, "could not start: the program is not on PATH")?,
            Failure::Spawn(err) => write!(f, "could not start: {err}")?,
        }
        if !self.tail.is_empty() {
            write!(f, "\n  last lines of its output:")?;
            for line in &self.tail {
                write!(f, "\n    │ {line}")?;
            }
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

#[derive(Clone)]
pub struct Runner {
    ui: Ui,
    dry_run: bool,
}

impl Runner {
    pub fn new(ui: Ui, dry_run: bool) -> Runner {
        Runner { ui, dry_run }
    }

    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// Runs `cmd`, streaming its output to the user as it arrives.
    pub fn run(&self, cmd: Cmd) -> Result<Output> {
        self.exec(cmd, true)
    }

    /// Runs `cmd` and captures its output without showing it.
    pub fn output(&self, cmd: Cmd) -> Result<Output> {
        self.exec(cmd, false)
    }

    /// Runs `cmd` and returns its trimmed stdout.
    pub fn read(&self, cmd: Cmd) -> Result<String> {
        Ok(self.output(cmd)?.stdout.trim().to_owned())
    }

    /// Starts `cmd` detached from xtask (its own process group, output to `log`), to outlive it:
    /// `minikube tunnel`. Returns its pid; `None` in a dry run, where it is only printed.
    pub fn spawn_detached(&self, cmd: Cmd, log: &camino::Utf8Path) -> Result<Option<u32>> {
        if !self.announce(&cmd)? {
            return Ok(None);
        }
        use std::os::unix::process::CommandExt;
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let out = std::fs::File::create(log)?;
        let mut command = Command::new(&cmd.program);
        command.args(&cmd.args).stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out).process_group(0);
        for (key, value) in &cmd.env {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        let child =
            command.spawn().map_err(|err| anyhow::anyhow!("cannot start `{}`: {err}", cmd.program))?;
        Ok(Some(child.id()))
    }

    /// Starts `cmd` in the background (a server): the same checks and echo as [`Runner::run`],
    /// its output streamed line by line under its label. `None` in a dry run, where it is only
    /// printed.
    pub fn spawn(&self, cmd: Cmd) -> Result<Option<Background>> {
        if !self.announce(&cmd)? {
            return Ok(None);
        }
        let label = cmd.label.clone().unwrap_or_else(|| cmd.program.clone());
        let mut expression = duct::cmd(&cmd.program, &cmd.args);
        for (key, value) in &cmd.env {
            expression = match value {
                Some(value) => expression.env(key, value),
                None => expression.env_remove(key),
            };
        }
        for (key, secret) in &cmd.secret_env {
            expression = expression.env(key, secret.expose());
        }
        if let Some(dir) = &cmd.cwd {
            expression = expression.dir(dir);
        }
        for key in cargo_run_vars() {
            expression = expression.env_remove(key);
        }
        let program = cmd.program.clone();
        Background::start(self.ui.clone(), label, expression).map(Some).map_err(|err| {
            let failure = match err.kind() {
                std::io::ErrorKind::NotFound => Failure::NotInstalled,
                _ => Failure::Spawn(err.to_string()),
            };
            CommandError {
                command: self.ui.redactor().redact(&cmd.to_string()),
                failure,
                tail: Vec::new(),
                hint: cmd
                    .hint
                    .clone()
                    .or_else(|| Tool::by_program(&program).map(|t| t.install_hint().to_owned())),
                output: Output::default(),
            }
            .into()
        })
    }

    /// Registers the command's secrets, refuses one in argv, and echoes the command line.
    /// Returns whether the command is to run (false: a dry run of a mutating command).
    fn announce(&self, cmd: &Cmd) -> Result<bool> {
        let redactor = self.ui.redactor();
        for secret in cmd.secrets() {
            redactor.register(secret);
        }
        let in_argv = std::iter::once(&cmd.program)
            .chain(&cmd.args)
            .chain(cmd.env.iter().filter_map(|(_, value)| value.as_ref()));
        for text in in_argv {
            if redactor.contains_secret(text) {
                anyhow::bail!(
                    "refusing to run `{}`: a secret value would be on its command line, where \
                     `ps`, shell history and CI logs can read it; pass it on stdin or in a file",
                    redactor.redact(&cmd.to_string())
                );
            }
        }

        let line = cmd.to_string();
        let will_run = !(self.dry_run && cmd.effect == Effect::Mutating);
        if self.dry_run || !cmd.quiet || self.ui.verbose() {
            self.ui.command(&line, !will_run);
            self.ui.event(serde_json::json!({
                "event": "command",
                "command": redactor.redact(&line),
                "dry_run": !will_run,
            }));
        }
        Ok(will_run)
    }

    fn exec(&self, cmd: Cmd, stream: bool) -> Result<Output> {
        let redactor = self.ui.redactor();
        let line = cmd.to_string();
        if !self.announce(&cmd)? {
            return Ok(Output { dry_run: true, ..Output::default() });
        }

        let fail = |failure: Failure, output: Output, hint: Option<String>| {
            let source = if output.stderr.trim().is_empty() { &output.stdout } else { &output.stderr };
            CommandError {
                command: redactor.redact(&line),
                failure,
                tail: last_lines(source, TAIL_LINES).iter().map(|l| redactor.redact(l)).collect(),
                hint,
                output: Output {
                    stdout: redactor.redact(&output.stdout),
                    stderr: redactor.redact(&output.stderr),
                    ..output
                },
            }
        };

        let mut command = Command::new(&cmd.program);
        command.args(&cmd.args);
        for key in cargo_run_vars() {
            command.env_remove(key);
        }
        for (key, value) in &cmd.env {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        for (key, secret) in &cmd.secret_env {
            command.env(key, secret.expose());
        }
        if let Some(dir) = &cmd.cwd {
            command.current_dir(dir);
        }
        // A child must never wait for a keyboard it cannot have: no stdin unless we give one.
        command.stdin(if cmd.stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        command.stdout(Stdio::piped()).stderr(Stdio::piped());

        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let hint = cmd
                    .hint
                    .clone()
                    .or_else(|| Tool::by_program(&cmd.program).map(|tool| tool.install_hint().to_owned()));
                return Err(fail(Failure::NotInstalled, Output::default(), hint).into());
            }
            Err(err) => return Err(fail(Failure::Spawn(err.to_string()), Output::default(), None).into()),
        };

        if let (Some(mut pipe), Some(stdin)) = (child.stdin.take(), &cmd.stdin) {
            let bytes = match stdin {
                Stdin::Bytes(bytes) => bytes.clone(),
                Stdin::Secret(secret) => secret.expose().as_bytes().to_vec(),
            };
            // A child that exits without reading its stdin is its own business (EPIPE ignored).
            thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            });
        }
        let (done_tx, done_rx) = mpsc::channel();
        let echo = stream.then(|| (self.ui.clone(), cmd.label.clone()));
        let stdout = Collector::spawn(child.stdout.take().unwrap(), echo.clone(), done_tx.clone());
        let stderr = Collector::spawn(child.stderr.take().unwrap(), echo, done_tx);

        let timeout = cmd.timeout.unwrap_or_else(|| cmd.default_timeout());
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(1);
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if Instant::now() >= deadline {
                crate::process_tree::kill(&mut child);
                break None;
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        };
        let pipes_closed_by = Instant::now() + PIPE_GRACE;
        for _ in 0..2 {
            let left = pipes_closed_by.saturating_duration_since(Instant::now());
            if done_rx.recv_timeout(left).is_err() {
                break;
            }
        }

        let output = Output {
            status: status.and_then(|status| status.code()),
            stdout: stdout.text(),
            stderr: stderr.text(),
            dry_run: false,
        };
        let failure = match (status, output.status) {
            (None, _) => Some(Failure::TimedOut(timeout)),
            (Some(status), None) => Some(Failure::Killed(crate::background::describe_exit(status))),
            (Some(_), Some(0)) => None,
            (Some(_), Some(code)) if !cmd.allow_failure => Some(Failure::Exit(code)),
            (Some(_), Some(_)) => None,
        };
        match failure {
            None => Ok(output),
            Some(failure) => Err(fail(failure, output, cmd.hint.clone()).into()),
        }
    }
}

/// Reads one of a child's pipes to the end on its own thread, echoing lines if asked.
struct Collector {
    buf: Arc<Mutex<Vec<u8>>>,
}

impl Collector {
    fn spawn(
        pipe: impl Read + Send + 'static,
        echo: Option<(Ui, Option<String>)>,
        done: mpsc::Sender<()>,
    ) -> Collector {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buf);
        thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut line = Vec::new();
            while let Ok(n) = reader.read_until(b'\n', &mut line) {
                if n == 0 {
                    break;
                }
                if let Some((ui, label)) = &echo {
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end_matches(['\n', '\r']);
                    match label {
                        Some(label) => ui.child_line(&format!("[{label}] {text}")),
                        None => ui.child_line(text),
                    }
                }
                sink.lock().unwrap().extend_from_slice(&line);
                line.clear();
            }
            let _ = done.send(());
        });
        Collector { buf }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap()).into_owned()
    }
}

/// The variables `cargo run` (hence `cargo xtask`) sets for xtask itself. They must not reach
/// the programs xtask starts: build scripts such as ring's rerun when `CARGO_MANIFEST_DIR` or
/// `CARGO_PKG_NAME` change, so an inner `cargo build` that inherits xtask's values recompiles
/// half the dependency tree, and the user's next plain `cargo build` recompiles it again.
fn cargo_run_vars() -> Vec<std::ffi::OsString> {
    const EXACT: [&str; 6] = [
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
    ];
    std::env::vars_os()
        .map(|(key, _)| key)
        .filter(|key| key.to_str().is_some_and(|k| EXACT.contains(&k) || k.starts_with("CARGO_PKG_")))
        .collect()
}

fn last_lines(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().filter(|line| !line.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].iter().map(|line| line.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use xshell::{Shell, cmd};

    fn runner(dry_run: bool) -> (Runner, crate::ui::Capture) {
        let (ui, _out, err) = Ui::capture(false, false);
        (Runner::new(ui, dry_run), err)
    }

    #[test]
    fn echo_is_copy_pasteable_and_hides_secrets() {
        let sh = Shell::new().unwrap();
        let template = "{{.Server.Version}}";
        let cmd = Cmd::from(cmd!(sh, "docker version --format {template}").env("A", "b c"))
            .secret_env("TOKEN", Secret::new("s3cret"))
            .secret_stdin(Secret::new("s3cret2"));
        assert_eq!(
            cmd.to_string(),
            "A='b c' TOKEN=<redacted> docker version --format '{{.Server.Version}}' <<< <redacted>"
        );
        let unset = Cmd::from(cmd!(sh, "cargo test")).env_remove("TODO_REQUIRE_TOOLS").env("A", "1");
        assert_eq!(unset.to_string(), "env -u TODO_REQUIRE_TOOLS A=1 cargo test");
    }

    #[test]
    fn dry_run_prints_mutating_commands_without_running_them() {
        let sh = Shell::new().unwrap();
        let (runner, err) = runner(true);
        let out = runner.run(Cmd::from(cmd!(sh, "false"))).unwrap();
        assert!(out.dry_run && out.success());
        let probe = runner.output(Cmd::from(cmd!(sh, "echo probe")).read_only()).unwrap();
        assert_eq!(probe.stdout, "probe\n");
        assert_eq!(err.text(), "  [dry-run] $ false\n  $ echo probe\n");
    }

    #[test]
    fn failure_names_command_exit_code_tail_and_hint() {
        let sh = Shell::new().unwrap();
        let (runner, _) = runner(false);
        let script = "for i in $(seq 1 20); do echo line$i >&2; done; exit 3";
        let err = runner
            .output(Cmd::from(cmd!(sh, "sh -c {script}")).hint("try turning it off and on"))
            .unwrap_err()
            .downcast::<CommandError>()
            .unwrap();
        assert!(matches!(err.failure, Failure::Exit(3)));
        let text = err.to_string();
        assert!(text.starts_with("`sh -c 'for i in"), "{text}");
        assert!(text.contains("failed with exit code 3"), "{text}");
        assert!(text.contains("│ line20") && text.contains("│ line9") && !text.contains("line8\n"));
        assert!(text.ends_with("hint: try turning it off and on"), "{text}");
    }

    #[test]
    fn timeout_stops_the_child_and_says_so() {
        let sh = Shell::new().unwrap();
        let (runner, _) = runner(false);
        let started = Instant::now();
        let err =
            runner.output(Cmd::from(cmd!(sh, "sleep 30")).timeout(Duration::from_millis(200))).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(err.to_string().contains("timed out after 0.2s and was stopped"), "{err}");
    }

    #[test]
    fn a_command_killed_by_a_signal_says_which() {
        let sh = Shell::new().unwrap();
        let (runner, _) = runner(false);
        let err = runner.output(Cmd::from(cmd!(sh, "sh -c 'kill -9 $$'"))).unwrap_err();
        assert!(err.to_string().contains("was killed by signal 9 (SIGKILL)"), "{err}");
    }

    #[test]
    fn missing_program_error_carries_the_install_hint() {
        let sh = Shell::new().unwrap();
        let (runner, _) = runner(false);
        sh.set_var("PATH", "/nonexistent");
        let err = runner.output(Cmd::from(cmd!(sh, "minikube version"))).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("not on PATH"), "{text}");
        assert!(text.contains("minikube"), "{text}");
    }

    #[test]
    fn a_secret_on_the_command_line_is_refused_and_never_printed() {
        let sh = Shell::new().unwrap();
        let (runner, err) = runner(false);
        let secret = Secret::new("canary-7f3a");
        let value = secret.expose().to_owned();
        let cmd = Cmd::from(cmd!(sh, "echo --password={value}")).secret_env("PW", secret);
        let error = runner.run(cmd).unwrap_err().to_string();
        assert!(error.contains("refusing to run `PW=<redacted> echo --password=<redacted>`"), "{error}");
        assert!(!err.text().contains("canary-7f3a"));
    }

    #[test]
    fn secret_echoed_by_the_child_is_redacted_in_streamed_output_and_errors() {
        let sh = Shell::new().unwrap();
        let (runner, err) = runner(false);
        let script = "cat; echo; cat /dev/null >&2; exit 1";
        let out = runner.run(Cmd::from(cmd!(sh, "sh -c {script}")).secret_stdin(Secret::new("canary-9b1c")));
        let error = out.unwrap_err().to_string();
        assert!(!error.contains("canary-9b1c") && error.contains(REDACTED), "{error}");
        assert!(!err.text().contains("canary-9b1c") && err.text().contains("│ <redacted>"));
    }
}
