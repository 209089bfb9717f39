//! `cargo xtask up` against a scripted `cargo`: what it would start (`--dry-run`), how it treats
//! a recorded `up` (running, starting, stale), a busy `--port`, and LLM keys from `.env`. The
//! real servers are started in `up_real.rs`.

mod support;

use std::net::TcpListener;

use support::{Reply, World};

fn world() -> World {
    let mut world = World::new();
    world.install("cargo").on("cargo", &["build"], Reply::ok(""));
    world
}

fn state(pid: u32, status: &str, web_port: u16) -> String {
    serde_json::json!({
        "pid": pid,
        "status": status,
        "url": format!("http://127.0.0.1:{web_port}"),
        "api": { "pid": 4242, "port": 40000 },
        "web": { "pid": 4243, "port": web_port },
        "started_at": 0,
    })
    .to_string()
}

#[test]
fn fakes_dry_run_prints_the_build_and_both_servers_and_starts_nothing() {
    let world = world();
    let run = world.xtask(&["--dry-run", "up", "--port", "0"]);
    assert!(run.success(), "{}", run.all());
    assert!(world.calls().is_empty(), "a dry run runs nothing: {:?}", world.calls());
    let err = &run.stderr;
    let root = world.root.display().to_string();
    let build = err.find("[dry-run] $ cargo build -p todo-api -p todo-web").expect(err);
    let api = err.find(&format!("TODO_ENV=local {root}/target/debug/todo-api")).expect(err);
    let web = err.find(&format!("{root}/target/debug/todo-web")).expect(err);
    assert!(build < api && api < web, "build, then the api, then the web server: {err}");
    for setting in [
        format!("TODO_DATA_DIR={root}/target/xtask/data"),
        "BIND_ADDR=127.0.0.1".to_owned(),
        "RATE_LIMIT_AUTH_PER_MINUTE=1000".to_owned(),
        "-u DATABASE_URL ".to_owned(),
        "-u DATABASE_URL_FILE".to_owned(),
        "API_UPSTREAM=http://127.0.0.1:".to_owned(),
    ] {
        assert!(err.contains(&setting), "{setting} in {err}");
    }
    assert!(err.contains("would wait for both to answer /readyz"), "{err}");
    assert!(err.contains("agent: offline (no LLM_API_KEY or OPENAI_API_KEY in .env)"), "{err}");
    assert!(!world.root.join("target/xtask/up.json").exists(), "a dry run claims nothing");
}

#[test]
fn fakes_a_running_up_is_pointed_at_instead_of_failing_on_its_port() {
    let mut world = world();
    // A live process (this test) whose URL answers: a running `up`.
    let web = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = web.local_addr().unwrap().port();
    world.file("target/xtask/up.json", &state(std::process::id(), "running", port));
    let run = world.xtask(&["up"]);
    assert!(run.success(), "{}", run.all());
    assert_eq!(run.stdout.trim(), format!("http://127.0.0.1:{port}"));
    assert!(
        run.stderr.contains(&format!(
            "todo is already running at http://127.0.0.1:{port} (pids: up {}, todo-api 4242, todo-web 4243); \
             stop it with Ctrl-C in its terminal",
            std::process::id()
        )),
        "{}",
        run.stderr
    );
    assert!(world.calls().is_empty(), "nothing is built or started");
    assert!(world.root.join("target/xtask/up.json").exists(), "the running up's record is left alone");

    let run = world.xtask(&["--json", "up"]);
    let event: serde_json::Value =
        serde_json::from_str(run.stdout.trim()).expect("stdout is only JSON events");
    assert_eq!(event["event"], "already_running");
    assert_eq!(event["url"], format!("http://127.0.0.1:{port}"));

    // Still starting: no URL to give yet, so it says who is starting and fails.
    world.file("target/xtask/up.json", &state(std::process::id(), "starting", port));
    let run = world.xtask(&["up"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(&format!("another `cargo xtask up` (pid {}) is starting", std::process::id()))
    );
}

#[test]
fn fakes_a_stale_record_is_replaced_and_a_build_failure_says_how_to_reproduce_it() {
    let mut world = world();
    world.on("cargo", &["build"], Reply::fail(101, "error[E0425]: cannot find value `x`\n"));
    // A pid above the kernel's limit: that `up` is certainly gone.
    world.file("target/xtask/up.json", &state(u32::MAX / 2, "running", 1));
    let run = world.xtask(&["up", "--port", "0"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("left") && run.stderr.contains("its process 2147483647 is gone; starting afresh"),
        "{}",
        run.stderr
    );
    assert!(!world.root.join("target/xtask/up.json").exists(), "the stale record is removed");
    assert!(
        run.stderr.contains(
            "hint: fix the compile error above; `cargo build -p todo-api -p todo-web` reproduces it"
        )
    );
    assert!(run.stderr.contains("│ error[E0425]"), "{}", run.stderr);
}

#[test]
fn fakes_a_busy_port_is_refused_with_the_way_out() {
    let world = world();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let run = world.xtask(&["up", "--port", &port]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(&format!(
            "port {port} is in use by another program; pick another with `--port`, or `--port 0` for any free port"
        )),
        "{}",
        run.stderr
    );
    assert!(world.calls().is_empty());
}

#[test]
fn fakes_an_llm_key_in_dotenv_reaches_the_api_only_through_its_environment() {
    let mut world = world();
    world.file(".env", "LLM_MODEL=gpt-4o-mini\nOPENAI_API_KEY=sk-canary-5d1e\n");
    let run = world.xtask(&["--dry-run", "up", "--port", "0"]);
    assert!(run.success(), "{}", run.all());
    assert!(!run.all().contains("sk-canary-5d1e"), "the key is never printed: {}", run.all());
    assert!(run.stderr.contains("LLM_MODEL=gpt-4o-mini OPENAI_API_KEY=<redacted>"), "{}", run.stderr);
    assert!(run.stderr.contains("agent: LLM gpt-4o-mini (OPENAI_API_KEY from .env)"), "{}", run.stderr);

    let run = world.xtask(&["--dry-run", "up", "--port", "0", "--offline"]);
    assert!(run.stderr.contains("-u OPENAI_API_KEY") && run.stderr.contains("LLM_PROVIDER=offline"));
    assert!(run.stderr.contains("agent: offline (--offline)"), "{}", run.stderr);
    assert!(!run.all().contains("sk-canary-5d1e"));
}

#[test]
fn fakes_servers_prebuilt_by_the_test_command_are_not_built_again() {
    let mut world = world();
    world.env("XTASK_UP_PREBUILT", "1");
    // Not built yet: the variable alone does not skip the build.
    let run = world.xtask(&["--dry-run", "up", "--port", "0"]);
    assert!(run.stderr.contains("[dry-run] $ cargo build -p todo-api -p todo-web"), "{}", run.stderr);

    world.file("target/debug/todo-api", "").file("target/debug/todo-web", "");
    let run = world.xtask(&["--dry-run", "up", "--port", "0"]);
    assert!(run.success(), "{}", run.all());
    assert!(!run.stderr.contains("cargo build"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("build skipped: built by `cargo xtask test`'s compile phase (XTASK_UP_PREBUILT=1)"),
        "{}",
        run.stderr
    );
}
