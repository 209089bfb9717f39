//! `cargo xtask up`: the app on this machine without a cluster — todo-api and todo-web as two
//! processes, built with cargo, ready-checked, their logs interleaved, stopped together.

mod probe;
mod state;

use std::process::ExitStatus;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};
use camino::Utf8PathBuf;
use serde_json::json;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use xshell::cmd;

use crate::background::{Background, describe_exit};
use crate::context::Context;
use crate::env_file::{ENV_FILE, EnvFile};
use crate::phase::{self, Outcome, Phase, Pipeline, Plan};
use crate::runner::Cmd;
use crate::ui::{Style, fmt_duration};
use state::{Existing, Server, StateFile, Status, UpState};

/// The web port when `--port` is not given and it is free: a stable URL to bookmark.
pub const DEFAULT_WEB_PORT: u16 = 8081;
/// Debug builds on a busy laptop, and the api's migrations on first start.
const READY_TIMEOUT: Duration = Duration::from_secs(180);
/// How long each server may take to stop after SIGTERM before it is killed; above the
/// `SHUTDOWN_GRACE_SECS` given to both.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
const SERVER_GRACE_SECS: &str = "5";
/// Generous, so a person clicking around (or a browser test signing up several users) never
/// meets a limit that exists to slow down attackers of a public deployment.
const AUTH_PER_MINUTE: &str = "1000";
const WRITES_PER_MINUTE: &str = "10000";
/// The chat agent's settings `.env` may hold (deploy/.env.example documents each).
const LLM_SETTINGS: [&str; 6] = [
    "LLM_PROVIDER",
    "LLM_BASE_URL",
    "LLM_MODEL",
    "LLM_TIMEOUT_SECS",
    "LLM_MAX_RETRIES",
    "LLM_DAILY_CALLS_PER_USER",
];
const LLM_KEYS: [&str; 2] = ["LLM_API_KEY", "OPENAI_API_KEY"];

/// Run the app locally without a cluster: build it, start todo-api and todo-web, follow their logs
///
/// Builds both servers with `cargo build -p todo-api -p todo-web` (dev profile), then starts
/// them on 127.0.0.1: todo-api on a free port, with its SQLite database in target/xtask/data and
/// the offline agent — or the LLM configured in .env when LLM_API_KEY or OPENAI_API_KEY is set
/// there (passed in the api's environment, never on a command line, never printed) — and
/// todo-web on --port, forwarding /api to todo-api. Waits until both answer /readyz, prints the
/// URL, and streams both logs, prefixed [api] and [web].
///
/// Ctrl-C stops both cleanly (a second Ctrl-C kills them); if either server exits, the other is
/// stopped and `up` says which one died and shows its last lines. A second `up` while one runs
/// prints the running one's URL (state in target/xtask/up.json). The dev build reads the UI's
/// files from disk: edit services/web/assets and reload the page. Needs only cargo.
#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// The port of the URL you open; 0 picks any free port [default: 8081, or any free port
    /// when 8081 is taken]
    #[arg(long)]
    pub port: Option<u16>,

    /// Use the api's offline agent even if .env or the environment holds an LLM key
    #[arg(long)]
    pub offline: bool,
}

pub fn run(cx: &Context, args: &Args) -> Result<()> {
    let state_file = StateFile::new(&cx.state_dir());
    match state_file.inspect() {
        Existing::None => {}
        Existing::Live(state) if state.status == Status::Running => {
            cx.ui.success(&format!(
                "todo is already running at {} (pids: {}); stop it with Ctrl-C in its terminal",
                state.url,
                state.pids()
            ));
            cx.ui.event(json!({ "event": "already_running", "url": state.url, "pid": state.pid }));
            print_url(cx, &state.url);
            return Ok(());
        }
        Existing::Live(state) => bail!(
            "another `cargo xtask up` (pid {}) is starting the app at {}; wait for it, or stop it \
             with Ctrl-C in its terminal",
            state.pid,
            state.url
        ),
        Existing::Stale { state, why } => {
            cx.ui.warn(&format!(
                "a previous `up` (pid {}) left {} behind: {why}; starting afresh",
                state.pid,
                state_file.path()
            ));
            if !cx.runner.dry_run() {
                state_file.remove();
            }
        }
    }

    let web_port = web_port(cx, args.port)?;
    let api_port = probe::free_port().context("cannot find a free port for todo-api")?;
    let serve = Serve { web_port, api_port, offline: args.offline, state_file };
    Pipeline::new(vec![Box::new(Build), Box::new(serve)]).run(cx)
}

fn web_port(cx: &Context, asked: Option<u16>) -> Result<u16> {
    match asked {
        Some(0) => probe::free_port().context("cannot find a free port"),
        Some(port) if probe::port_is_free(port) => Ok(port),
        Some(port) => bail!(
            "port {port} is in use by another program; pick another with `--port`, or `--port 0` for any free port"
        ),
        None if probe::port_is_free(DEFAULT_WEB_PORT) => Ok(DEFAULT_WEB_PORT),
        None => {
            let port = probe::free_port().context("cannot find a free port")?;
            cx.ui
                .info(&format!("  port {DEFAULT_WEB_PORT} is taken; the app will be on port {port} instead"));
            Ok(port)
        }
    }
}

/// Set to `1` by `cargo xtask test`, whose compile phase (`cargo test --workspace --no-run`) has
/// just built both servers for their own integration tests: the tests that start `up` then use
/// those binaries. Building them again with `-p todo-api -p todo-web` would compile syn, serde
/// and their dependents a second time, because the tests' dev-dependencies unify other features.
pub const PREBUILT_ENV: &str = "XTASK_UP_PREBUILT";

/// Both servers at once: cargo builds them in parallel and shares their dependencies. Always
/// runs: cargo's own incremental build is the right skip check.
struct Build;

impl Phase for Build {
    fn name(&self) -> &'static str {
        "build"
    }

    fn prepare<'a>(&'a self, _cx: &Context) -> Result<Box<dyn Plan + 'a>> {
        Ok(phase::always(move |cx| self.run(cx)))
    }
}

impl Build {
    fn run(&self, cx: &Context) -> Result<Outcome> {
        let bin = cx.target_dir().join("debug");
        let built = ["todo-api", "todo-web"].iter().all(|server| bin.join(server).is_file());
        if std::env::var(PREBUILT_ENV).as_deref() == Ok("1") && built {
            return Ok(Outcome::UpToDate(format!(
                "built by `cargo xtask test`'s compile phase ({PREBUILT_ENV}=1)"
            )));
        }
        let cmd = Cmd::from(cmd!(cx.sh, "cargo build -p todo-api -p todo-web"))
            .timeout(Duration::from_secs(60 * 60))
            .hint("fix the compile error above; `cargo build -p todo-api -p todo-web` reproduces it");
        cx.run(cmd)?;
        Ok(Outcome::Done)
    }
}

struct Serve {
    web_port: u16,
    api_port: u16,
    offline: bool,
    state_file: StateFile,
}

/// Why the servers are being stopped.
enum Stop {
    Signal(i32),
    /// Not both ready within [`READY_TIMEOUT`].
    NotReady,
    Exited {
        index: usize,
        status: ExitStatus,
    },
}

impl Phase for Serve {
    fn name(&self) -> &'static str {
        "serve"
    }

    fn needs(&self) -> &'static [&'static str] {
        &["build"]
    }

    fn prepare<'a>(&'a self, _cx: &Context) -> Result<Box<dyn Plan + 'a>> {
        Ok(phase::always(move |cx| self.run(cx)))
    }
}

impl Serve {
    fn run(&self, cx: &Context) -> Result<Outcome> {
        let bin = cx.target_dir().join("debug");
        let data_dir = cx.state_dir().join("data");
        let (agent, api_cmd) = self.api_command(cx, &bin, &data_dir)?;
        let web_cmd = self.web_command(cx, &bin);
        let url = format!("http://127.0.0.1:{}", self.web_port);

        if cx.runner.dry_run() {
            cx.runner.spawn(api_cmd)?;
            cx.runner.spawn(web_cmd)?;
            cx.ui.info(&format!(
                "  would wait for both to answer /readyz, then serve {url} until Ctrl-C (agent: {agent})"
            ));
            return Ok(Outcome::Done);
        }

        // From here on Ctrl-C must reach this loop, not kill xtask with the servers still up.
        let (signal_tx, signals) = mpsc::channel();
        let mut hooks = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            .context("cannot install the Ctrl-C handler")?;
        let hooks_handle = hooks.handle();
        thread::spawn(move || {
            for signal in hooks.forever() {
                if signal_tx.send(signal).is_err() {
                    break;
                }
            }
        });

        std::fs::create_dir_all(&data_dir).with_context(|| format!("cannot create {data_dir}"))?;
        let mut state = UpState {
            pid: std::process::id(),
            status: Status::Starting,
            url: url.clone(),
            api: None,
            web: None,
            started_at: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        };
        if !self.state_file.claim(&state)? {
            bail!("another `cargo xtask up` started at the same moment; see {}", self.state_file.path());
        }
        let mut stack = Stack { servers: Vec::new(), state_file: &self.state_file };
        let started = Instant::now();
        stack.servers.push(cx.runner.spawn(api_cmd)?.expect("not a dry run"));
        stack.servers.push(cx.runner.spawn(web_cmd)?.expect("not a dry run"));
        state.api = Some(Server { pid: stack.servers[0].pid(), port: self.api_port });
        state.web = Some(Server { pid: stack.servers[1].pid(), port: self.web_port });
        self.state_file.update(&state)?;

        cx.ui.info("  waiting for todo-api and todo-web to answer /readyz …");
        let stop = match self.wait_until_ready(&stack, &signals) {
            Ok(()) => {
                state.status = Status::Running;
                self.state_file.update(&state)?;
                self.announce(cx, &stack, &url, &agent, &data_dir, started.elapsed());
                stack.watch(&signals)
            }
            Err(stop) => stop,
        };

        let result = stack.stop(cx, stop, &signals);
        hooks_handle.close();
        result.map(|()| Outcome::Done)
    }
}

impl Serve {
    fn api_command(&self, cx: &Context, bin: &Utf8PathBuf, data_dir: &Utf8PathBuf) -> Result<(String, Cmd)> {
        let program = bin.join("todo-api");
        let port = self.api_port.to_string();
        // The local stack always uses its own SQLite file, whatever the shell exports.
        let mut cmd = Cmd::from(
            cmd!(cx.sh, "{program}")
                .env("TODO_ENV", "local")
                .env("TODO_DATA_DIR", data_dir)
                .env("PORT", &port)
                .env("BIND_ADDR", "127.0.0.1")
                .env("LOG_FORMAT", "pretty")
                .env("RATE_LIMIT_AUTH_PER_MINUTE", AUTH_PER_MINUTE)
                .env("RATE_LIMIT_WRITES_PER_MINUTE", WRITES_PER_MINUTE)
                .env("SHUTDOWN_GRACE_SECS", SERVER_GRACE_SECS)
                .env_remove("DATABASE_URL")
                .env_remove("DATABASE_URL_FILE"),
        )
        .label("api")
        .hint("run `cargo xtask up` again; the lines above say why todo-api could not start");

        if self.offline {
            for key in LLM_KEYS {
                cmd = cmd.env_remove(key);
            }
            return Ok(("offline (--offline)".to_owned(), cmd.env("LLM_PROVIDER", "offline")));
        }
        let dotenv = EnvFile::read(&cx.root, ENV_FILE)?;
        // Settings are not secrets; the file holds every value as one until told otherwise.
        let setting = |key: &str| dotenv.get(key).map(|entry| entry.value.expose().to_owned());
        for key in LLM_SETTINGS {
            if let Some(value) = setting(key) {
                cmd = cmd.env(key, value);
            }
        }
        let llm = llm_name(setting("LLM_MODEL"), setting("LLM_BASE_URL"));
        let mut agent = "offline (no LLM_API_KEY or OPENAI_API_KEY in .env)".to_owned();
        for key in LLM_KEYS {
            if let Some(entry) = dotenv.get(key) {
                cmd = cmd.secret_env(key, entry.value.clone());
                agent = format!("{llm} ({key} from .env)");
            } else if std::env::var_os(key).is_some_and(|v| !v.is_empty()) {
                agent = format!("{llm} ({key} from the environment)");
            }
        }
        if setting("LLM_PROVIDER").as_deref() == Some("offline") {
            agent = "offline (LLM_PROVIDER=offline in .env)".to_owned();
        }
        Ok((agent, cmd))
    }

    fn web_command(&self, cx: &Context, bin: &Utf8PathBuf) -> Cmd {
        let program = bin.join("todo-web");
        let port = self.web_port.to_string();
        let upstream = format!("http://127.0.0.1:{}", self.api_port);
        Cmd::from(
            cmd!(cx.sh, "{program}")
                .env("PORT", &port)
                .env("BIND_ADDR", "127.0.0.1")
                .env("API_UPSTREAM", &upstream)
                .env("LOG_FORMAT", "pretty")
                .env("SHUTDOWN_GRACE_SECS", SERVER_GRACE_SECS),
        )
        .label("web")
        .hint("run `cargo xtask up` again; the lines above say why todo-web could not start")
    }

    /// Until both servers are ready and the web server reaches the api through its proxy; a
    /// signal or a server exiting first is returned as the reason to stop.
    fn wait_until_ready(&self, stack: &Stack, signals: &mpsc::Receiver<i32>) -> Result<(), Stop> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let checks = [(self.api_port, "/readyz"), (self.web_port, "/readyz"), (self.web_port, "/api/readyz")];
        let mut passed = 0;
        while passed < checks.len() {
            if let Some(stop) = stack.stop_reason(signals, Duration::from_millis(150)) {
                return Err(stop);
            }
            let (port, path) = checks[passed];
            if probe::http_status(port, path) == Some(200) {
                passed += 1;
            } else if Instant::now() > deadline {
                return Err(Stop::NotReady);
            }
        }
        Ok(())
    }

    fn announce(
        &self,
        cx: &Context,
        stack: &Stack,
        url: &str,
        agent: &str,
        data_dir: &Utf8PathBuf,
        took: Duration,
    ) {
        let (api, web) = (&stack.servers[0], &stack.servers[1]);
        let data = data_dir.strip_prefix(&cx.root).unwrap_or(data_dir);
        cx.ui.success(&format!("ready in {}", fmt_duration(took)));
        cx.ui.info("");
        cx.ui.info(&format!("  Todo is running at {}", cx.ui.paint(Style::Bold, url)));
        cx.ui.info(&format!(
            "    todo-api  http://127.0.0.1:{:<6} pid {:<8} data in {data}",
            self.api_port,
            api.pid()
        ));
        cx.ui.info(&format!(
            "    todo-web  http://127.0.0.1:{:<6} pid {:<8} UI files reload from services/web/assets",
            self.web_port,
            web.pid()
        ));
        cx.ui.info(&format!("    agent     {agent}"));
        cx.ui.info(&format!("  Logs follow. {}", cx.ui.paint(Style::Bold, "Press Ctrl-C to stop both.")));
        cx.ui.info("");
        cx.ui.event(json!({
            "event": "up",
            "url": url,
            "api_url": format!("http://127.0.0.1:{}", self.api_port),
            "pids": { "up": std::process::id(), "todo-api": api.pid(), "todo-web": web.pid() },
        }));
        print_url(cx, url);
    }
}

/// The URL alone on stdout, for scripts (and tests) that start `up` and need the address; with
/// `--json` stdout is only events, and the `up` event carries it.
fn print_url(cx: &Context, url: &str) {
    if !cx.ui.json() {
        cx.ui.print(url);
    }
}

fn llm_name(model: Option<String>, base_url: Option<String>) -> String {
    let model = model.unwrap_or_else(|| "the api's default model".to_owned());
    match base_url {
        Some(base) => format!("LLM {model} at {base}"),
        None => format!("LLM {model}"),
    }
}

/// The running servers and the state file that names them; whatever happens (an error, a
/// panic), dropping it kills what still runs and removes the file.
struct Stack<'a> {
    servers: Vec<Background>,
    state_file: &'a StateFile,
}

impl Stack<'_> {
    /// A signal, or a server that exited, within `wait`.
    fn stop_reason(&self, signals: &mpsc::Receiver<i32>, wait: Duration) -> Option<Stop> {
        for (index, server) in self.servers.iter().enumerate() {
            if let Some(status) = server.try_wait() {
                return Some(Stop::Exited { index, status });
            }
        }
        match signals.recv_timeout(wait) {
            Ok(signal) => Some(Stop::Signal(signal)),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            // The signal thread is gone: treat it as a stop request rather than spin.
            Err(mpsc::RecvTimeoutError::Disconnected) => Some(Stop::Signal(SIGTERM)),
        }
    }

    /// Until a signal arrives or a server exits.
    fn watch(&self, signals: &mpsc::Receiver<i32>) -> Stop {
        loop {
            if let Some(stop) = self.stop_reason(signals, Duration::from_millis(200)) {
                return stop;
            }
        }
    }

    /// Stops every server still running (SIGTERM, then SIGKILL after [`STOP_TIMEOUT`] or on a
    /// second Ctrl-C) and says what happened; an error unless the user asked for the stop and
    /// both stopped cleanly.
    fn stop(&mut self, cx: &Context, stop: Stop, signals: &mpsc::Receiver<i32>) -> Result<()> {
        let mut message = None;
        match &stop {
            Stop::NotReady => {
                let text = format!(
                    "todo-api and todo-web did not both answer /readyz within {}; their logs above say why",
                    fmt_duration(READY_TIMEOUT)
                );
                cx.ui.error(&text);
                message = Some(text);
            }
            Stop::Signal(signal) => {
                let name = if *signal == SIGINT { "Ctrl-C".to_owned() } else { format!("signal {signal}") };
                cx.ui.info("");
                cx.ui.heading(&format!("{name}: stopping todo-api and todo-web (Ctrl-C again to kill them)"));
            }
            Stop::Exited { index, status } => {
                let server = &mut self.servers[*index];
                let (name, pid) = (server_name(server.label()), server.pid());
                let tail = server.tail();
                let mut text =
                    format!("{name} (pid {pid}) exited unexpectedly with {}", describe_exit(*status));
                if !tail.is_empty() {
                    text.push_str("; its last lines:");
                    for line in tail {
                        text.push_str(&format!("\n    │ {line}"));
                    }
                }
                cx.ui.error(&format!(
                    "{name} (pid {pid}) exited unexpectedly with {}",
                    describe_exit(*status)
                ));
                message = Some(text);
            }
        }

        for server in &self.servers {
            server.signal(SIGTERM);
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        let mut forced = false;
        while self.servers.iter().any(|server| server.try_wait().is_none()) {
            if !forced && signals.try_recv().is_ok() {
                cx.ui.warn("second Ctrl-C: killing the servers");
                forced = true;
            } else if !forced && Instant::now() > deadline {
                cx.ui.warn(&format!("still running {} after SIGTERM; killing", fmt_duration(STOP_TIMEOUT)));
                forced = true;
            }
            if forced {
                for server in &self.servers {
                    server.kill();
                }
            }
            thread::sleep(Duration::from_millis(50));
        }

        let mut clean = true;
        let mut outcomes = Vec::new();
        for (index, server) in self.servers.iter().enumerate() {
            let status = server.try_wait().expect("every server has ended");
            let died = matches!(stop, Stop::Exited { index: died, .. } if died == index);
            if died {
                continue;
            }
            let stopped = status.success() || stopped_by_us(status);
            clean &= stopped && !forced;
            outcomes.push(format!("{} ({})", server_name(server.label()), describe_exit(status)));
        }
        self.state_file.remove();
        let summary = format!("stopped {}", outcomes.join(" and "));
        match (message, clean) {
            (None, true) => {
                cx.ui.success(&summary);
                Ok(())
            }
            (None, false) => bail!("{summary}; not every server stopped cleanly (see its last lines above)"),
            (Some(message), _) => {
                cx.ui.info(&format!("  {summary}"));
                Err(anyhow::anyhow!(message))
            }
        }
    }
}

impl Drop for Stack<'_> {
    fn drop(&mut self) {
        for server in &self.servers {
            if server.try_wait().is_none() {
                server.kill();
            }
        }
        self.state_file.remove();
    }
}

fn server_name(label: &str) -> String {
    format!("todo-{label}")
}

/// A server killed by the SIGTERM we sent (or the terminal's SIGINT) before it installed its
/// handlers stopped as asked.
fn stopped_by_us(status: ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    matches!(status.signal(), Some(SIGTERM | SIGINT))
}
