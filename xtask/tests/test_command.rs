//! `cargo xtask test` and the engine's behaviour seen from the command line: dry runs, failures,
//! resuming, NDJSON events. `cargo` here is the scripted fake.

mod support;

use expect_test::expect;
use support::{Reply, World, normalize_durations};

/// cargo, and the programs the `scripts`, `chart`, `api-contract`, `browser`, `containers`, `kube`
/// and `bench` suites need
/// (they run `cargo test`, so the fake cargo answers for them).
fn world_with_cargo() -> World {
    let mut world = World::new();
    world.install("cargo").on("cargo", &["test"], Reply::ok("test result: ok. 3 passed\n"));
    for tool in CHART_SUITE_TOOLS
        .iter()
        .chain(&BROWSER_SUITE_TOOLS)
        .chain(&["shellcheck", "schemathesis"])
        .chain(&BENCH_SUITE_TOOLS)
    {
        world.install(tool);
    }
    world.install("docker").on("docker", &["version", "--format"], Reply::ok("28.2.2\n"));
    // The kube suite's cluster, as `source ci/kube-up.sh` exports it.
    world.install("kubectl");
    for (key, value) in [
        ("KUBECONFIG", "/var/lib/todo-kube/admin.kubeconfig"),
        ("TODO_KUBE_REGISTRY", "127.0.0.1:5000"),
        ("TODO_KUBE_INGRESS_URL", "http://127.0.0.1:18080"),
        ("TODO_KUBE_DB_HOST", "10.88.0.1"),
        ("TEST_DATABASE_URL", "postgres://todo_test@127.0.0.1/todo_test"),
    ] {
        world.env(key, value);
    }
    world
}

const SCRIPTS_SUITE: &str = "cargo test --workspace --test onboard -- --ignored";
const CHART_SUITE_TOOLS: [&str; 5] = ["helm3", "helm4", "kubernetes-validate", "checkov", "yamllint"];
const CHART_SUITE: &str = "cargo test --workspace --test chart_real_tools -- --ignored";
const API_CONTRACT_SUITE: &str = "cargo test --workspace --test api -- --ignored contract --nocapture";
const BROWSER_SUITE_TOOLS: [&str; 2] = ["chromium", "chromedriver"];
const BROWSER_SUITE: &str = "cargo test --workspace --test browser_real_tools -- --ignored";
const CONTAINERS_SUITE: &str = "cargo test --workspace --test containers_real_tools -- --ignored";
const KUBE_SUITE: &str =
    "cargo test --workspace --test kube_real_tools -- --ignored --test-threads=1 --nocapture";
const BENCH_SUITE_TOOLS: [&str; 2] = ["wrk", "pgbench"];
const BENCH_SUITE: &str = "cargo test --workspace --test bench_real_tools -- --ignored --nocapture";

/// The cargo commands the world's fake cargo received (the containers suite also asks docker
/// whether its engine answers).
fn cargo_calls(world: &World) -> Vec<support::Call> {
    world.calls().into_iter().filter(|call| call.tool == "cargo").collect()
}

#[test]
fn fakes_dry_run_prints_the_commands_in_order_and_runs_none() {
    let world = world_with_cargo();
    let run = world.xtask(&["--dry-run", "test", "--require-tools"]);
    assert!(run.success(), "{}", run.all());
    assert!(cargo_calls(&world).is_empty(), "a dry run ran {:?}", world.calls());
    let probes = world.calls().iter().map(|c| c.line()).collect::<Vec<_>>();
    assert!(probes.iter().all(|line| line.starts_with("docker version --format")), "{probes:?}");
    expect![[r#"
        ▶ compile
          [dry-run] $ cargo test --workspace --no-run
        ✓ compile planned in <T>
        ▶ workspace
          [dry-run] $ XTASK_UP_PREBUILT=1 TODO_REQUIRE_TOOLS=1 cargo test --workspace
        ✓ workspace planned in <T>
        ▶ scripts
          [dry-run] $ XTASK_UP_PREBUILT=1 TODO_REQUIRE_TOOLS=1 cargo test --workspace --test onboard -- --ignored
        ✓ scripts planned in <T>
        ▶ chart
          [dry-run] $ XTASK_UP_PREBUILT=1 TODO_REQUIRE_TOOLS=1 cargo test --workspace --test chart_real_tools -- --ignored
        ✓ chart planned in <T>
        ▶ api-contract
          [dry-run] $ XTASK_UP_PREBUILT=1 TODO_REQUIRE_TOOLS=1 cargo test --workspace --test api -- --ignored contract --nocapture
        ✓ api-contract planned in <T>
        ▶ browser
          [dry-run] $ XTASK_UP_PREBUILT=1 TODO_REQUIRE_TOOLS=1 cargo test --workspace --test browser_real_tools -- --ignored
        ✓ browser planned in <T>
        ▶ containers
          $ docker version --format '{{.Server.Version}}'
          [dry-run] $ XTASK_UP_PREBUILT=1 TODO_REQUIRE_TOOLS=1 cargo test --workspace --test containers_real_tools -- --ignored
        ✓ containers planned in <T>
        ▶ kube
          $ docker version --format '{{.Server.Version}}'
          [dry-run] $ XTASK_UP_PREBUILT=1 TODO_REQUIRE_TOOLS=1 cargo test --workspace --test kube_real_tools -- --ignored --test-threads=1 --nocapture
        ✓ kube planned in <T>
        ▶ bench
          $ docker version --format '{{.Server.Version}}'
          [dry-run] $ XTASK_UP_PREBUILT=1 TODO_REQUIRE_TOOLS=1 cargo test --workspace --test bench_real_tools -- --ignored --nocapture
        ✓ bench planned in <T>

          phase         result   time  budget  note
          compile       planned  <T>  -
          workspace     planned  <T>  -
          scripts       planned  <T>  -
          chart         planned  <T>  -
          api-contract  planned  <T>  -
          browser       planned  <T>  -
          containers    planned  <T>  -
          kube          planned  <T>  -
          bench         planned  <T>  -
        9 planned, 0 skipped, 0 failed in <T>
    "#]]
    .assert_eq(&normalize_durations(&run.stderr));
}

#[test]
fn fakes_test_runs_compile_then_the_workspace_tests_and_passes_require_tools_on() {
    let mut world = world_with_cargo();
    world.record_env("TODO_REQUIRE_TOOLS").record_env("XTASK_UP_PREBUILT");
    let run = world.xtask(&["test", "--require-tools"]);
    assert!(run.success(), "{}", run.all());
    let calls = cargo_calls(&world);
    let lines: Vec<String> = calls.iter().map(|c| c.line()).collect();
    assert_eq!(
        lines,
        [
            "cargo test --workspace --no-run",
            "cargo test --workspace",
            SCRIPTS_SUITE,
            CHART_SUITE,
            API_CONTRACT_SUITE,
            BROWSER_SUITE,
            CONTAINERS_SUITE,
            KUBE_SUITE,
            BENCH_SUITE
        ]
    );
    assert_eq!(calls[0].env["TODO_REQUIRE_TOOLS"], None);
    assert_eq!(calls[1].env["TODO_REQUIRE_TOOLS"].as_deref(), Some("1"));
    assert_eq!(calls[2].env["TODO_REQUIRE_TOOLS"].as_deref(), Some("1"));
    assert!(
        run.stderr.contains("    │ test result: ok. 3 passed"),
        "child output is streamed: {}",
        run.stderr
    );
    assert_eq!(calls[3].env["TODO_REQUIRE_TOOLS"].as_deref(), Some("1"));
    assert_eq!(calls[4].env["TODO_REQUIRE_TOOLS"].as_deref(), Some("1"));
    assert_eq!(calls[5].env["TODO_REQUIRE_TOOLS"].as_deref(), Some("1"));
    assert_eq!(calls[6].env["TODO_REQUIRE_TOOLS"].as_deref(), Some("1"));
    assert_eq!(calls[7].env["TODO_REQUIRE_TOOLS"].as_deref(), Some("1"));
    // Compiled once: what starts `up` after the compile phase uses the servers it built.
    assert_eq!(calls[0].env["XTASK_UP_PREBUILT"], None);
    for call in &calls[1..] {
        assert_eq!(call.env["XTASK_UP_PREBUILT"].as_deref(), Some("1"), "{}", call.line());
        assert!(
            call.argv.contains(&"--workspace".to_owned()),
            "one feature set for every phase: {}",
            call.line()
        );
    }
    assert!(run.stderr.contains("9 done, 0 skipped, 0 failed in"), "{}", run.stderr);
}

#[test]
fn fakes_a_focused_run_compiles_and_tests_only_what_was_asked_and_leaves_out_the_suites() {
    let mut world = world_with_cargo();
    // Exported by hand, not asked for with --require-tools: the Postgres tests must skip, not fail.
    world.env("TODO_REQUIRE_TOOLS", "1").record_env("TODO_REQUIRE_TOOLS").record_env("XTASK_UP_PREBUILT");
    let run = world.xtask(&["test", "--", "-p", "xtask", "doctor"]);
    assert!(run.success(), "{}", run.all());
    let calls = cargo_calls(&world);
    let lines: Vec<String> = calls.iter().map(|c| c.line()).collect();
    assert_eq!(lines, ["cargo test --no-run -p xtask doctor", "cargo test -p xtask doctor"]);
    assert_eq!(calls[1].env["TODO_REQUIRE_TOOLS"], None);
    assert_eq!(calls[1].env["XTASK_UP_PREBUILT"], None, "-p xtask builds no server: `up` must build them");
    assert!(run.stderr.contains("chart skipped: a focused run"), "{}", run.stderr);

    // A filter alone still runs across the workspace.
    world.clear_calls();
    let run = world.xtask(&["test", "--", "doctor", "--", "--nocapture"]);
    assert!(run.success(), "{}", run.all());
    let lines: Vec<String> = cargo_calls(&world).iter().map(|c| c.line()).collect();
    assert_eq!(
        lines,
        [
            "cargo test --workspace --no-run doctor -- --nocapture",
            "cargo test --workspace doctor -- --nocapture"
        ]
    );
}

#[test]
fn fakes_failing_command_names_command_exit_code_tail_and_hint() {
    let mut world = world_with_cargo();
    let stderr = "   Compiling todo-api v0.1.0\nerror[E0308]: mismatched types\n  --> services/api/src/lib.rs:3:5\nerror: could not compile `todo-api`\n";
    world.on("cargo", &["test", "--workspace", "--no-run"], Reply::fail(101, stderr));
    let run = world.xtask(&["test"]);
    assert_eq!(run.code, 1);
    let err = &run.stderr;
    assert!(err.contains("✗ phase `compile` failed after"), "{err}");
    assert!(
        err.contains("after fixing it, rerun `cargo xtask test`"),
        "the first phase has nothing to resume past: {err}"
    );
    assert!(err.contains("caused by: `cargo test --workspace --no-run` failed with exit code 101"), "{err}");
    assert!(
        err.contains("│ error[E0308]: mismatched types")
            && err.contains("│ error: could not compile `todo-api`"),
        "{err}"
    );
    assert!(err.contains("hint: the first error above is usually the cause"), "{err}");
    assert!(err.contains("0 done, 0 skipped, 1 failed, 8 not run"), "{err}");
    assert_eq!(world.calls().len(), 1, "nothing runs after a failure");
}

#[test]
fn fakes_failed_run_resumes_from_the_failed_phase() {
    let mut world = world_with_cargo();
    world.on_seq(
        "cargo",
        &["test", "--workspace"],
        vec![Reply::fail(101, "test tasks::b_cannot_read_a ... FAILED\n"), Reply::ok("test result: ok.\n")],
    );
    world.on("cargo", &["test", "--workspace", "--no-run"], Reply::ok(""));
    let run = world.xtask(&["test"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("resume with `cargo xtask test --from workspace`"), "{}", run.stderr);

    world.clear_calls();
    let run = world.xtask(&["test", "--from", "workspace"]);
    assert!(run.success(), "{}", run.all());
    assert!(run.stderr.contains("– compile skipped: before --from workspace"), "{}", run.stderr);
    let lines: Vec<String> = cargo_calls(&world).iter().map(|c| c.line()).collect();
    assert_eq!(
        lines,
        [
            "cargo test --workspace",
            SCRIPTS_SUITE,
            CHART_SUITE,
            API_CONTRACT_SUITE,
            BROWSER_SUITE,
            CONTAINERS_SUITE,
            KUBE_SUITE,
            BENCH_SUITE
        ]
    );

    let run = world.xtask(&["test", "--from", "lint"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(
            "no phase `lint`; its phases are: compile, workspace, scripts, chart, api-contract, browser"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn fakes_json_mode_emits_one_event_per_line_on_stdout() {
    let world = world_with_cargo();
    let run = world.xtask(&["--json", "test"]);
    assert!(run.success(), "{}", run.all());
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("every stdout line is JSON"))
        .collect();
    let kinds: Vec<String> = events
        .iter()
        .map(|e| {
            format!("{} {}", e["event"].as_str().unwrap(), e["phase"].as_str().unwrap_or(""))
                .trim()
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "pipeline_start",
            "phase_start compile",
            "command",
            "phase_finish compile",
            "phase_start workspace",
            "command",
            "phase_finish workspace",
            "phase_start scripts",
            "command",
            "phase_finish scripts",
            "phase_start chart",
            "command",
            "phase_finish chart",
            "phase_start api-contract",
            "command",
            "phase_finish api-contract",
            "phase_start browser",
            "command",
            "phase_finish browser",
            "phase_start containers",
            "command",
            "phase_finish containers",
            "phase_start kube",
            "command",
            "phase_finish kube",
            "phase_start bench",
            "command",
            "phase_finish bench",
            "pipeline_finish"
        ]
    );
    let finish = events.last().unwrap();
    assert_eq!(finish["ok"], true);
    assert_eq!(finish["phases"][1]["status"], "done");
    assert!(finish["phases"][1]["duration_ms"].is_u64());
}

#[test]
fn fakes_the_chart_suite_is_skipped_with_the_fix_or_fails_under_require_tools() {
    let mut world = world_with_cargo();
    world.uninstall("helm4").uninstall("checkov");
    let run = world.xtask(&["test"]);
    assert!(run.success(), "{}", run.all());
    assert!(run.stderr.contains("skipping the chart suite"), "{}", run.stderr);
    assert!(run.stderr.contains("`helm4` (target/ci or PATH): bash ci/helm.sh"), "{}", run.stderr);
    assert!(run.stderr.contains("`checkov` (target/ci or PATH): bash ci/python-tools.sh"), "{}", run.stderr);
    assert!(!world.calls().iter().any(|c| c.line() == CHART_SUITE));

    let run = world.xtask(&["test", "--require-tools", "--from", "chart"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("--require-tools forbids skipping it"), "{}", run.stderr);
}

#[test]
fn fakes_the_api_contract_suite_is_skipped_with_the_fix_or_fails_under_require_tools() {
    let mut world = world_with_cargo();
    world.uninstall("schemathesis");
    let run = world.xtask(&["test"]);
    assert!(run.success(), "{}", run.all());
    assert!(run.stderr.contains("skipping the api-contract suite"), "{}", run.stderr);
    assert!(
        run.stderr.contains("`schemathesis` (target/ci or PATH): bash ci/python-tools.sh"),
        "{}",
        run.stderr
    );
    assert!(!world.calls().iter().any(|c| c.line() == API_CONTRACT_SUITE));

    let run = world.xtask(&["test", "--require-tools", "--from", "api-contract"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("--require-tools forbids skipping it"), "{}", run.stderr);
}

#[test]
fn fakes_the_browser_suite_is_skipped_with_the_fix_or_fails_under_require_tools() {
    let mut world = world_with_cargo();
    world.uninstall("chromedriver");
    let run = world.xtask(&["test"]);
    assert!(run.success(), "{}", run.all());
    assert!(run.stderr.contains("skipping the browser suite"), "{}", run.stderr);
    assert!(run.stderr.contains("`chromedriver` on PATH: source ci/chromium.sh"), "{}", run.stderr);
    assert!(!world.calls().iter().any(|c| c.line() == BROWSER_SUITE));

    let run = world.xtask(&["test", "--require-tools", "--from", "browser"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("the browser suite"), "{}", run.stderr);
    assert!(run.stderr.contains("--require-tools forbids skipping it"), "{}", run.stderr);
}

#[test]
fn fakes_the_containers_suite_needs_an_engine_that_answers() {
    let mut world = world_with_cargo();
    world.on(
        "docker",
        &["version", "--format"],
        Reply::fail(1, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n"),
    );
    let run = world.xtask(&["test"]);
    assert!(run.success(), "{}", run.all());
    assert!(run.stderr.contains("skipping the containers suite"), "{}", run.stderr);
    assert!(run.stderr.contains("source ci/podman.sh"), "{}", run.stderr);
    assert!(!cargo_calls(&world).iter().any(|c| c.line() == CONTAINERS_SUITE));

    let run = world.xtask(&["test", "--require-tools", "--from", "containers"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("a container engine that answers (docker or podman)"), "{}", run.stderr);
}
