//! The app under load: release builds of todo-api and todo-web on loopback, started the way
//! a cluster starts them (production settings, JSON logs at warn), timed to ready, loaded with wrk on SQLite and on Postgres,
//! and the Postgres list held against the database's own ceiling (pgbench -S).

mod postgres;
mod server;

use std::time::Instant;

use anyhow::{Context as _, Result, anyhow};
use camino::{Utf8Path, Utf8PathBuf};
use serde_json::json;
use xshell::cmd;

use super::Bench;
use super::catalogue::Unit;
use super::load::{self, Report, Target, Wrk};
use super::report::format_value;
use super::stats::interleaved_percent;
use crate::commands::up::PREBUILT_ENV;
use crate::runner::Cmd;
use postgres::{Database, PGBENCH_HINT, PSQL_HINT, pgbench_shown};
use server::{API_SETTINGS, Server, Store};

/// The build CI's containers suite runs too, so there it is already fresh.
const BUILD: &str = "cargo build --release --locked -p todo-api -p todo-web";
/// Appended to every shown command: where the figure comes from.
const FROM: &str = " (cargo xtask bench --only app)";
const NO_POSTGRES: &str =
    "no PostgreSQL: `source ci/postgres.sh` exports TEST_DATABASE_URL, or pass --database-url";
/// The ports in shown commands: each start picks a free one.
const API_PORT: &str = "$API_PORT";
const WEB_PORT: &str = "$WEB_PORT";
/// How to measure what a missing tool or database skipped.
const WITH_WRK: &str = "bash ci/wrk.sh && cargo xtask bench --only app";
const WITH_POSTGRES: &str = "source ci/postgres.sh && cargo xtask bench --only app";
/// The reading user's tasks: one page of the list.
const TASKS: usize = 50;
const PASSWORD: &str = "correct horse battery";

/// The committed wrk scripts; written to scratch files at run time, and named in shown commands.
const CREATE_SCRIPT: (&str, &str) =
    ("docs/bench/post-task.lua", include_str!("../../../../docs/bench/post-task.lua"));
const CHAT_SCRIPT: (&str, &str) =
    ("docs/bench/chat-turn.lua", include_str!("../../../../docs/bench/chat-turn.lua"));
/// What each chat turn says (CHAT_SCRIPT's body).
const CHAT_MESSAGE: &str = "list my tasks";

/// The figures that need wrk.
const SQLITE_LOADS: [&str; 9] = [
    "app.list_sqlite_rps",
    "app.list_sqlite_p50",
    "app.list_sqlite_p99",
    "app.create_sqlite_rps",
    "app.create_sqlite_p99",
    "app.rss_sqlite",
    "app.chat_turns",
    "app.list_via_web_rps",
    "app.via_web_of_direct",
];
const POSTGRES_LOADS: [&str; 6] = [
    "app.list_postgres_rps",
    "app.list_postgres_p50",
    "app.list_postgres_p99",
    "app.create_postgres_rps",
    "app.create_postgres_p99",
    "app.rss_postgres",
];

pub fn measure(bench: &mut Bench) -> Result<()> {
    let cx = bench.cx;
    let debug = cx.target_dir().join("debug");
    // Under `cargo xtask test` a quick run is a check of the report, not a figure to keep: it uses
    // the servers the compile phase built rather than spend minutes on a release build.
    let prebuilt = bench.quick
        && std::env::var(PREBUILT_ENV).as_deref() == Ok("1")
        && ["todo-api", "todo-web"].iter().all(|server| debug.join(server).is_file());
    let bin = if prebuilt {
        cx.ui.info(&format!(
            "  the debug servers `cargo xtask test` built ({PREBUILT_ENV}=1): a check, not figures to keep"
        ));
        debug
    } else {
        cx.ui.info(&format!("  building the servers: {BUILD}"));
        let build = Cmd::from(cmd!(cx.sh, "cargo build --release --locked -p todo-api -p todo-web"))
            .timeout(std::time::Duration::from_secs(60 * 60))
            .hint(format!("fix the build error above; `{BUILD}` reproduces it"));
        cx.run(build)?;
        cx.target_dir().join("release")
    };

    let app = App {
        bin,
        scratch: cx.state_dir().join("bench/app"),
        wrk: Wrk::available().then(|| Wrk::new(bench.quick)),
    };
    if app.wrk.is_none() {
        cx.ui.warn(&format!("app: {}; the load figures are skipped", load::INSTALL_HINT));
    }
    let _ = std::fs::remove_dir_all(&app.scratch);
    std::fs::create_dir_all(&app.scratch).with_context(|| format!("cannot create {}", app.scratch))?;
    // One database failing leaves the other's figures to measure; the framework then skips
    // whatever was not recorded with the error.
    let sqlite = app.sqlite(bench);
    let postgres = app.postgres(bench);
    let _ = std::fs::remove_dir_all(&app.scratch);
    match (sqlite, postgres) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(err), Ok(())) => Err(err.context("SQLite")),
        (Ok(()), Err(err)) => Err(err.context("Postgres")),
        (Err(sqlite), Err(postgres)) => Err(anyhow!("SQLite: {sqlite:#}; Postgres: {postgres:#}")),
    }
}

struct App {
    /// target/release (target/debug in a quick run under `cargo xtask test`), holding todo-api and
    /// todo-web.
    bin: Utf8PathBuf,
    /// Data directories and wrk scripts, removed at the end.
    scratch: Utf8PathBuf,
    wrk: Option<Wrk>,
}

/// The two users every load runs as.
struct Users {
    /// Owns exactly [`TASKS`] tasks: the list reads them.
    reader: String,
    /// Creates tasks, so the reader's list stays one size.
    writer: String,
}

impl App {
    fn sqlite(&self, bench: &mut Bench) -> Result<()> {
        let cx = bench.cx;
        let shown_ready = format!(
            "{API_SETTINGS} TODO_DATA_DIR=$(mktemp -d) PORT={API_PORT} target/release/todo-api, then GET /readyz every {} ms until 200{FROM}",
            server::POLL.as_millis()
        );
        let api = self.start_api(bench, "app.api_ready_sqlite", &shown_ready, |run| {
            Server::api(cx, &self.bin, Store::Sqlite, self.scratch.join(format!("sqlite-{run}")))
        })?;
        let users = seed(cx, &api)?;

        let shown_web = format!(
            "API_UPSTREAM=http://127.0.0.1:{API_PORT} BIND_ADDR=127.0.0.1 PORT={WEB_PORT} LOG_LEVEL=warn target/release/todo-web, then GET /readyz every {} ms until 200{FROM}",
            server::POLL.as_millis()
        );
        let runs = bench.runs(5, 2);
        let mut kept = None;
        bench.repeat("app.web_ready", runs, &shown_web, |run| {
            let web = Server::web(cx, &self.bin, &api)?;
            let took = web.ready_after.as_secs_f64();
            if run == runs {
                kept = Some(web);
            }
            Ok(took)
        })?;
        let web = kept.context("no todo-web start was kept")?;

        let Some(wrk) = &self.wrk else {
            for id in SQLITE_LOADS {
                bench.skip(id, load::INSTALL_HINT, WITH_WRK);
            }
            return Ok(());
        };

        // The list, direct and through todo-web's proxy, interleaved.
        let direct = target(&api, API_PORT, "/api/tasks", &users.reader, None);
        let via_web = target(&web, WEB_PORT, "/api/tasks", &users.reader, None);
        let (shown_direct, shown_via) = (wrk.shown(&direct), wrk.shown(&via_web));
        let runs = bench.runs(3, 1);
        let (mut lists, mut throughs) = (Vec::new(), Vec::new());
        for run in 1..=runs {
            lists.push(load(bench, wrk, "app.list_sqlite_rps", run, runs, &direct)?);
            throughs.push(load(bench, wrk, "app.list_via_web_rps", run, runs, &via_web)?);
        }
        record_list(bench, "sqlite", &lists, &format!("{shown_direct}{FROM}"));
        let through: Vec<f64> = throughs.iter().map(|r| r.per_second).collect();
        let direct_rps: Vec<f64> = lists.iter().map(|r| r.per_second).collect();
        bench.record("app.list_via_web_rps", through.clone(), format!("{shown_via}{FROM}"));
        bench.note(
            "app.list_via_web_rps",
            "todo-web forwarding to the SQLite todo-api above; its runs interleaved with the direct ones (direct, via todo-web, direct, …)",
        );
        bench.record(
            "app.via_web_of_direct",
            interleaved_percent(&through, &direct_rps),
            format!("{shown_via} against {shown_direct}, interleaved{FROM}"),
        );

        self.create(bench, wrk, &api, &users, "sqlite")?;
        self.chat(bench, wrk, &api, &users)?;

        let rss = api.peak_rss_megabytes()?;
        bench.record(
            "app.rss_sqlite",
            vec![rss],
            format!("grep VmHWM /proc/<todo-api pid>/status after its loads{FROM}"),
        );
        bench.note(
            "app.rss_sqlite",
            "VmHWM of the todo-api process once its list (direct and through todo-web), create and chat loads ran",
        );
        Ok(())
    }

    fn postgres(&self, bench: &mut Bench) -> Result<()> {
        let cx = bench.cx;
        let all = || std::iter::once("app.api_ready_postgres").chain(POSTGRES_LOADS).chain(CEILING);
        let Some(url) = bench.database_url.clone() else {
            for id in all() {
                bench.skip(id, NO_POSTGRES, WITH_POSTGRES);
            }
            return Ok(());
        };
        if which::which("psql").is_err() {
            for id in all() {
                bench.skip(id, PSQL_HINT, WITH_POSTGRES);
            }
            return Ok(());
        }
        let db = Database::parse(&url)?;
        // Once before the timed starts, so a database that cannot be reached says so plainly.
        db.wipe(cx)?;
        let shown_ready = format!(
            "psql \"$TEST_DATABASE_URL\" -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;' && {API_SETTINGS} DATABASE_URL=\"$TEST_DATABASE_URL\" PORT={API_PORT} target/release/todo-api, then GET /readyz every {} ms until 200{FROM}",
            server::POLL.as_millis()
        );
        let api = self.start_api(bench, "app.api_ready_postgres", &shown_ready, |run| {
            db.wipe(cx)?;
            Server::api(cx, &self.bin, Store::Postgres(&db.url), self.scratch.join(format!("postgres-{run}")))
        })?;
        bench.note(
            "app.api_ready_postgres",
            "each start migrates an empty schema `public` (wiped with psql before it)",
        );
        let users = seed(cx, &api)?;

        let pgbench = which::which("pgbench").is_ok();
        if pgbench {
            cx.ui.info("  filling pgbench's tables beside the app's: pgbench -i -s 1");
            db.pgbench_init(cx)?;
        } else {
            for id in CEILING {
                bench.skip(id, PGBENCH_HINT, WITH_POSTGRES);
            }
        }
        let wrk = self.wrk.as_ref();
        if wrk.is_none() {
            for id in POSTGRES_LOADS {
                bench.skip(id, load::INSTALL_HINT, WITH_WRK);
            }
            if pgbench {
                bench.skip("app.list_postgres_of_ceiling", load::INSTALL_HINT, WITH_WRK);
            }
        }

        // The list and the database's ceiling, interleaved: list, pgbench, list, pgbench …
        let seconds = Wrk::new(bench.quick).seconds;
        let list = target(&api, API_PORT, "/api/tasks", &users.reader, None);
        let runs = bench.runs(3, 1);
        let (mut lists, mut selects) = (Vec::new(), Vec::new());
        for run in 1..=runs {
            if let Some(wrk) = wrk {
                lists.push(load(bench, wrk, "app.list_postgres_rps", run, runs, &list)?);
            }
            if pgbench {
                cx.ui.info(&format!("  load: {}", pgbench_shown(seconds)));
                let started = Instant::now();
                let tps = db
                    .pgbench_select(cx, seconds)
                    .with_context(|| format!("app.pgbench_select, run {run} of {runs}"))?;
                bench.progress(
                    "app.pgbench_select",
                    run,
                    runs,
                    &format_value(tps, Unit::PerSecond),
                    started.elapsed(),
                );
                selects.push(tps);
            }
        }
        if pgbench {
            bench.record("app.pgbench_select", selects.clone(), format!("{}{FROM}", pgbench_shown(seconds)));
            bench.note(
                "app.pgbench_select",
                "pgbench's select-only transaction (one primary-key SELECT) on `pgbench -i -s 1`'s tables in the same database, with wrk's 16 clients on 2 threads",
            );
        }
        if let Some(wrk) = wrk {
            let shown_list = wrk.shown(&list);
            record_list(bench, "postgres", &lists, &format!("{shown_list}{FROM}"));
            if pgbench {
                let rps: Vec<f64> = lists.iter().map(|r| r.per_second).collect();
                let half: Vec<f64> = selects.iter().map(|tps| tps / 2.0).collect();
                bench.record(
                    "app.list_postgres_of_ceiling",
                    interleaved_percent(&rps, &half),
                    format!("{shown_list} against {} ÷ 2, interleaved{FROM}", pgbench_shown(seconds)),
                );
                bench.note(
                    "app.list_postgres_of_ceiling",
                    "the list's requests/s against pgbench -S's selects/s ÷ 2, run by run (list, pgbench, list, …): \
                     the list's page and its count were its two queries when the goal was set; today a list \
                     request is two statements, the account check and the page with its total",
                );
            }
            self.create(bench, wrk, &api, &users, "postgres")?;
            let rss = api.peak_rss_megabytes()?;
            bench.record(
                "app.rss_postgres",
                vec![rss],
                format!("grep VmHWM /proc/<todo-api pid>/status after its loads{FROM}"),
            );
            bench
                .note("app.rss_postgres", "VmHWM of the todo-api process once its list and create loads ran");
        }
        Ok(())
    }

    /// Starts todo-api `runs` times, each timed from spawn to ready, and keeps the last start
    /// running for the loads.
    fn start_api(
        &self,
        bench: &mut Bench,
        id: &str,
        shown: &str,
        mut start: impl FnMut(usize) -> Result<Server>,
    ) -> Result<Server> {
        let runs = bench.runs(5, 2);
        let mut kept = None;
        bench.repeat(id, runs, shown, |run| {
            let api = start(run)?;
            let took = api.ready_after.as_secs_f64();
            if run == runs {
                kept = Some(api);
            }
            Ok(took)
        })?;
        kept.context("no todo-api start was kept")
    }

    /// `POST /api/tasks` as the writer.
    fn create(&self, bench: &mut Bench, wrk: &Wrk, api: &Server, users: &Users, db: &str) -> Result<()> {
        let script = self.script(CREATE_SCRIPT)?;
        let target = target(api, API_PORT, "/api/tasks", &users.writer, Some((&script, CREATE_SCRIPT.0)));
        let rps_id = format!("app.create_{db}_rps");
        let runs = bench.runs(3, 1);
        let mut reports = Vec::new();
        for run in 1..=runs {
            reports.push(load(bench, wrk, &rps_id, run, runs, &target)?);
        }
        let shown = shown(wrk, &target);
        bench.record(&rps_id, reports.iter().map(|r| r.per_second).collect(), &shown);
        bench.record(&format!("app.create_{db}_p99"), reports.iter().map(|r| r.p99).collect(), &shown);
        Ok(())
    }

    /// `POST /api/chat` as the reader: the offline agent lists the 50 tasks.
    fn chat(&self, bench: &mut Bench, wrk: &Wrk, api: &Server, users: &Users) -> Result<()> {
        // One turn first: the load must measure the answer it is meant to, not an error.
        let turn = api.call(
            "POST",
            "/api/chat",
            Some(&users.reader),
            Some(&json!({ "message": CHAT_MESSAGE })),
            200,
        )?;
        let tools: Vec<&str> =
            turn["actions"].as_array().into_iter().flatten().filter_map(|a| a["tool"].as_str()).collect();
        if tools != ["list_tasks"] {
            anyhow::bail!("the chat turn `{CHAT_MESSAGE}` ran {tools:?}, not list_tasks: {turn}");
        }
        let script = self.script(CHAT_SCRIPT)?;
        let target = target(api, API_PORT, "/api/chat", &users.reader, Some((&script, CHAT_SCRIPT.0)));
        let runs = bench.runs(3, 1);
        let mut reports = Vec::new();
        for run in 1..=runs {
            reports.push(load(bench, wrk, "app.chat_turns", run, runs, &target)?);
        }
        bench.record("app.chat_turns", reports.iter().map(|r| r.per_second).collect(), shown(wrk, &target));
        bench.note(
            "app.chat_turns",
            format!(
                "each turn is `{CHAT_MESSAGE}` from the user with {TASKS} tasks, in a new conversation: the offline \
                 agent runs list_tasks, and the conversation and its messages are stored (SQLite)"
            ),
        );
        Ok(())
    }

    /// Writes a committed wrk script to the scratch directory.
    fn script(&self, (committed, text): (&str, &str)) -> Result<Utf8PathBuf> {
        let name = Utf8Path::new(committed).file_name().unwrap_or(committed);
        let path = self.scratch.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {path}"))?;
        Ok(path)
    }
}

const CEILING: [&str; 2] = ["app.pgbench_select", "app.list_postgres_of_ceiling"];

fn shown(wrk: &Wrk, target: &Target) -> String {
    format!("{}{FROM}", wrk.shown(target))
}

/// A load on `path` of `server`, its port shown as the variable `port`.
fn target<'a>(
    server: &Server,
    port: &str,
    path: &str,
    bearer: &'a str,
    script: Option<(&'a Utf8Path, &'static str)>,
) -> Target<'a> {
    Target {
        url: format!("{}{path}", server.url()),
        shown_url: format!("http://127.0.0.1:{port}{path}"),
        bearer,
        script,
    }
}

/// One wrk run of figure `id`, announced before and shown after.
fn load(bench: &Bench, wrk: &Wrk, id: &str, run: usize, runs: usize, target: &Target) -> Result<Report> {
    bench.cx.ui.info(&format!("  load: {}", wrk.shown(target)));
    let started = Instant::now();
    let report = wrk.run(bench.cx, target).with_context(|| format!("{id}, run {run} of {runs}"))?;
    let value = format!(
        "{}, p50 {}, p99 {}",
        format_value(report.per_second, Unit::PerSecond),
        format_value(report.p50, Unit::Millis),
        format_value(report.p99, Unit::Millis)
    );
    bench.progress(id, run, runs, &value, started.elapsed());
    Ok(report)
}

fn record_list(bench: &mut Bench, db: &str, reports: &[Report], shown: &str) {
    bench.record(&format!("app.list_{db}_rps"), reports.iter().map(|r| r.per_second).collect(), shown);
    bench.record(&format!("app.list_{db}_p50"), reports.iter().map(|r| r.p50).collect(), shown);
    bench.record(&format!("app.list_{db}_p99"), reports.iter().map(|r| r.p99).collect(), shown);
}

/// Signs up the reader with [`TASKS`] tasks and the writer, and checks the reader's list.
fn seed(cx: &crate::context::Context, api: &Server) -> Result<Users> {
    cx.ui.info(&format!("  seeding: a user with {TASKS} tasks, and a second user who writes"));
    let signup = |name: &str| -> Result<String> {
        let body = json!({ "email": format!("{name}@bench.example"), "password": PASSWORD });
        let answer = api.call("POST", "/api/auth/signup", None, Some(&body), 201)?;
        answer["token"].as_str().map(str::to_owned).context("signup answered without a token")
    };
    let reader = signup("reader")?;
    for i in 1..=TASKS {
        let task =
            json!({ "title": format!("task {i}"), "description": format!("benchmark task number {i}") });
        api.call("POST", "/api/tasks", Some(&reader), Some(&task), 201)?;
    }
    let listed = api.call("GET", "/api/tasks", Some(&reader), None, 200)?;
    let items = listed["items"].as_array().map_or(0, Vec::len);
    if items != TASKS || listed["total"] != json!(TASKS) {
        anyhow::bail!("expected {TASKS} tasks in the reader's list, got {items} (total {})", listed["total"]);
    }
    let writer = signup("writer")?;
    Ok(Users { reader, writer })
}
