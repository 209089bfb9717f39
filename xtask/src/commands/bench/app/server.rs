//! todo-api and todo-web as bench starts them: release binaries on a free loopback port, timed
//! from spawn to their first `/readyz` 200, and killed when the guard is dropped, on every path.

use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use camino::Utf8PathBuf;
use xshell::cmd;

use crate::background::{Background, describe_exit};
use crate::context::Context;
use crate::env_file::random_hex;
use crate::http::{self, Endpoint, Request, Response};
use crate::runner::Cmd;
use crate::secret::Secret;

/// How often `/readyz` is asked while a server starts.
pub const POLL: Duration = Duration::from_millis(5);
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything in the environment that could give todo-api another database, secret, log level or
/// a language model: the bench sets its own, and the offline agent must answer the chat.
const INHERITED: [&str; 13] = [
    "DATABASE_URL",
    "DATABASE_URL_FILE",
    "DATABASE_MAX_CONNECTIONS",
    "JWT_SECRET_FILE",
    "RUST_LOG",
    "LLM_API_KEY",
    "LLM_API_KEY_FILE",
    "OPENAI_API_KEY",
    "OPENAI_API_KEY_FILE",
    "LLM_BASE_URL",
    "LLM_MODEL",
    "TRUST_PROXY_HEADERS",
    "REQUEST_TIMEOUT_SECS",
];

/// The settings todo-api is started with, for the shown commands.
pub const API_SETTINGS: &str = "TODO_ENV=production JWT_SECRET=$(openssl rand -hex 32) BIND_ADDR=127.0.0.1 LOG_LEVEL=warn \
    LLM_PROVIDER=offline RATE_LIMIT_AUTH_PER_MINUTE=1000000 RATE_LIMIT_WRITES_PER_MINUTE=100000000";

/// Which database a todo-api start uses.
pub enum Store<'a> {
    /// A fresh directory for its SQLite file.
    Sqlite,
    Postgres(&'a Secret),
}

/// A running server; dropping it kills the process (and removes its scratch directory).
pub struct Server {
    name: &'static str,
    process: Background,
    pub port: u16,
    /// Spawn to the first `/readyz` 200.
    pub ready_after: Duration,
    scratch: Option<Utf8PathBuf>,
}

impl Server {
    /// Starts the todo-api in `bin` and waits until it is ready.
    pub fn api(cx: &Context, bin: &Utf8PathBuf, store: Store, scratch: Utf8PathBuf) -> Result<Server> {
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch).with_context(|| format!("cannot create {scratch}"))?;
        let port = free_port()?;
        let program = bin.join("todo-api");
        let data_dir = scratch.join("data");
        let mut cmd = Cmd::from(
            cmd!(cx.sh, "{program}")
                .env("TODO_ENV", "production")
                .env("PORT", port.to_string())
                .env("BIND_ADDR", "127.0.0.1")
                .env("LOG_LEVEL", "warn")
                .env("TODO_DATA_DIR", &data_dir)
                .env("LLM_PROVIDER", "offline")
                // The limiter answers a burst from one user with 429; here the burst is the point.
                .env("RATE_LIMIT_AUTH_PER_MINUTE", "1000000")
                .env("RATE_LIMIT_WRITES_PER_MINUTE", "100000000"),
        )
        .secret_env("JWT_SECRET", Secret::new(random_hex(32)?))
        .label("todo-api")
        .quiet();
        let (backend, url) = match store {
            Store::Sqlite => ("sqlite", None),
            Store::Postgres(url) => ("postgres", Some(url)),
        };
        // Removing a variable and setting it on one command leaves it removed (the runner's
        // removals win), so DATABASE_URL is either removed or set, never both.
        for key in INHERITED.into_iter().filter(|key| url.is_none() || *key != "DATABASE_URL") {
            cmd = cmd.env_remove(key);
        }
        if let Some(url) = url {
            cmd = cmd.secret_env("DATABASE_URL", url.clone());
        }
        let server = Server::start(cx, "todo-api", cmd, port, Some(scratch))?;
        // The figure must measure the database it names.
        let ready = server.call("GET", "/readyz", None, None, 200)?;
        if ready["database"] != backend {
            bail!("todo-api started on {} instead of {backend}: {ready}", ready["database"]);
        }
        Ok(server)
    }

    /// Starts the todo-web in `bin`, forwarding `/api` to `api`, and waits until it is ready.
    pub fn web(cx: &Context, bin: &Utf8PathBuf, api: &Server) -> Result<Server> {
        let port = free_port()?;
        let program = bin.join("todo-web");
        let cmd = Cmd::from(
            cmd!(cx.sh, "{program}")
                .env("PORT", port.to_string())
                .env("BIND_ADDR", "127.0.0.1")
                .env("API_UPSTREAM", api.url())
                .env("LOG_LEVEL", "warn"),
        )
        .env_remove("RUST_LOG")
        .label("todo-web")
        .quiet();
        Server::start(cx, "todo-web", cmd, port, None)
    }

    fn start(
        cx: &Context,
        name: &'static str,
        cmd: Cmd,
        port: u16,
        scratch: Option<Utf8PathBuf>,
    ) -> Result<Server> {
        let started = Instant::now();
        let process = cx.runner.spawn(cmd)?.context("bench does not start servers in a dry run")?;
        let mut server = Server { name, process, port, ready_after: Duration::ZERO, scratch };
        let endpoint = server.endpoint();
        loop {
            if let Some(status) = server.process.try_wait() {
                bail!(
                    "{name} exited before it was ready ({}); its last lines:\n{}",
                    describe_exit(status),
                    server.process.tail().join("\n")
                );
            }
            let request =
                Request { method: "GET", path: "/readyz", host: &endpoint.host, bearer: None, json: None };
            if let Ok(Response { status: 200, .. }) = http::send(&endpoint, &request, Duration::from_secs(1))
            {
                server.ready_after = started.elapsed();
                return Ok(server);
            }
            if started.elapsed() > READY_TIMEOUT {
                bail!(
                    "{name} did not answer /readyz with 200 within {}s; its last lines:\n{}",
                    READY_TIMEOUT.as_secs(),
                    server.process.tail().join("\n")
                );
            }
            std::thread::sleep(POLL);
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint { host: "127.0.0.1".to_owned(), port: self.port }
    }

    pub fn url(&self) -> String {
        self.endpoint().url()
    }

    /// One request; an answer other than `expect` is an error naming it.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        json: Option<&serde_json::Value>,
        expect: u16,
    ) -> Result<serde_json::Value> {
        let endpoint = self.endpoint();
        let host = format!("127.0.0.1:{}", self.port);
        let request = Request { method, path, host: &host, bearer, json };
        let response = http::send(&endpoint, &request, REQUEST_TIMEOUT)
            .with_context(|| format!("{method} {path} on {}", self.name))?;
        if response.status != expect {
            bail!("{method} {path} on {} answered {}: {}", self.name, response.status, response.snippet());
        }
        response.json()
    }

    /// The process's peak resident set (`VmHWM`), in megabytes (10^6 bytes).
    pub fn peak_rss_megabytes(&self) -> Result<f64> {
        let path = format!("/proc/{}/status", self.process.pid());
        let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        let kib: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("{path} has no VmHWM line"))?;
        Ok(kib * 1024.0 / 1e6)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.process.kill();
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.process.try_wait().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Some(scratch) = &self.scratch {
            let _ = std::fs::remove_dir_all(scratch);
        }
    }
}

/// A port nothing listens on right now on 127.0.0.1 (the OS picks it).
fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("cannot find a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}
