//! `cargo xtask ai-showcase` against scripted fakes of docker (`docker ai`, Gordon), kubectl-ai,
//! kagent and kubectl that answer as the real CLIs do: the exact command lines, mutating prompts
//! held back, missing tools skipped with their install hints, a hanging tool stopped at its
//! timeout, and no secret value in any transcript. The built-in assistant on a real cluster, and
//! kubectl-ai for real, are in the `kube` suite (kube_real_tools.rs).

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::model::ScriptedModel;
use support::{Reply, Run, World};

const KEY_CANARY: &str = "canary-llm-key-3f9a8b7c6d5e4f30";
const JWT_CANARY: &str = "canary-jwt-9e8d7c6b5a4f3e2d1c0b";
const CLUSTER_CANARY: &str = "canary-cluster-secret-77aa66bb";

/// The catalogue's prompts of `tool`, rendered for namespace and release `todo`: (id, effect, text).
fn prompts(tool: &str) -> Vec<(String, String, String)> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let text = std::fs::read_to_string(repo.join("docs/ai-devops/prompts.toml")).unwrap();
    let file: toml::Value = toml::from_str(&text).unwrap();
    file["prompt"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["tool"].as_str() == Some(tool))
        .map(|p| {
            let text = p["prompt"]
                .as_str()
                .unwrap()
                .replace("{namespace}", "todo")
                .replace("{release}", "todo")
                .replace("{api_deployment}", "todo-api")
                .replace("{dockerfile}", "infra/docker/api.Dockerfile")
                .replace("{api_image}", "todo-api");
            (p["id"].as_str().unwrap().to_owned(), p["effect"].as_str().unwrap().to_owned(), text)
        })
        .collect()
}

/// Every AI tool installed and answering; kagent installed in the cluster.
fn world() -> World {
    let mut world = World::healthy();
    world
        .repo_files(&["docs/ai-devops/prompts.toml"])
        .on("docker", &["ai", "Review*"], Reply::ok("Gordon: the runtime stage is FROM scratch; fine.\n"))
        .on("docker", &["ai", "Explain*"], Reply::ok("Gordon: layer 1 adds the binary (9 MB).\n"))
        .on(
            "kubectl-ai",
            &["--quiet"],
            Reply::ok("NAME              READY   STATUS\ntodo-api-7d9f-x   1/1     Running\n"),
        )
        .on(
            "kubectl",
            &["--context", "todo", "get", "agents.kagent.dev", "k8s-agent"],
            Reply::ok("agent.kagent.dev/k8s-agent\n"),
        )
        .on("kagent", &["invoke"], Reply::ok("k8s-agent: namespace todo is healthy.\n"))
        .on("kubectl", &["config", "current-context"], Reply::ok("todo\n"));
    world
}

fn external_only(world: &World, extra: &[&str]) -> Run {
    let mut args = vec!["ai-showcase", "--tool", "gordon", "--tool", "kubectl-ai", "--tool", "kagent"];
    args.extend(extra);
    world.xtask(&args)
}

/// The calls that asked a prompt (detection probes left out).
fn asked(world: &World) -> Vec<(String, Vec<String>)> {
    world
        .calls()
        .into_iter()
        .filter(|c| {
            matches!(
                (c.tool.as_str(), c.argv.first().map(String::as_str), c.argv.get(1).map(String::as_str)),
                ("docker", Some("ai"), Some(second)) if second != "version"
            ) || (c.tool == "kubectl-ai" && c.argv.first().map(String::as_str) == Some("--quiet"))
                || (c.tool == "kagent" && c.argv.first().map(String::as_str) == Some("invoke"))
        })
        .map(|c| (c.tool, c.argv))
        .collect()
}

fn transcripts(world: &World) -> String {
    let dir = world.root.join("docs/ai-devops");
    let mut text = String::new();
    for name in ["gordon.md", "kubectl-ai.md", "kagent.md", "builtin.md"] {
        text.push_str(&std::fs::read_to_string(dir.join(name)).unwrap_or_default());
    }
    text
}

#[test]
fn fakes_each_tool_is_called_with_its_exact_command_line() {
    let mut world = world();
    world.env("OPENAI_API_KEY", KEY_CANARY);
    let run = external_only(&world, &[]);
    assert!(run.success(), "{}", run.all());
    let trace = world.root.join("target/xtask/ai-showcase/kubectl-ai-trace.txt").display().to_string();
    let mut expected = Vec::new();
    for (_, _, text) in prompts("gordon") {
        expected.push(("docker".to_owned(), vec!["ai".to_owned(), text]));
    }
    for (_, effect, text) in prompts("kubectl-ai") {
        if effect == "read-only" {
            let argv = ["--quiet", "--llm-provider", "openai", "--trace-path", &trace, &text];
            expected.push(("kubectl-ai".to_owned(), argv.iter().map(|a| a.to_string()).collect()));
        }
    }
    for (_, _, text) in prompts("kagent") {
        let argv = ["invoke", "--agent", "k8s-agent", "--task", &text];
        expected.push(("kagent".to_owned(), argv.iter().map(|a| a.to_string()).collect()));
    }
    assert_eq!(asked(&world), expected);
    assert!(!world.calls().iter().any(|c| c.line().contains(KEY_CANARY)), "no key in any argv");

    // The summary: every prompt ran, the mutating one was held back.
    let out = run.stderr;
    assert!(out.contains("ran 6, skipped 1, failed 0"), "{out}");
    assert!(out.contains("kubectl-ai  scale-api"), "{out}");
    // A transcript per tool, in the project's docs/ai-devops/, with prompt, command and output.
    let kagent = world.read("docs/ai-devops/kagent.md");
    assert!(kagent.starts_with("# kagent transcripts\n"), "{kagent}");
    assert!(kagent.contains("### namespace-health (read-only)"), "{kagent}");
    assert!(
        kagent.contains("Command: `kagent invoke --agent k8s-agent --task 'Analyse the health"),
        "{kagent}"
    );
    assert!(kagent.contains("k8s-agent: namespace todo is healthy."), "{kagent}");
    assert!(world.read("docs/ai-devops/gordon.md").contains("Gordon: layer 1 adds the binary"));
}

#[test]
fn fakes_a_mutating_prompt_runs_only_with_allow_mutations() {
    let mut world = world();
    world.env("GEMINI_API_KEY", KEY_CANARY);
    let run = world.xtask(&["ai-showcase", "--tool", "kubectl-ai"]);
    assert!(run.success(), "{}", run.all());
    let scale = |world: &World| {
        asked(world)
            .into_iter()
            .filter(|(_, argv)| argv.last().unwrap().starts_with("Scale the deployment todo-api"))
            .collect::<Vec<_>>()
    };
    assert!(scale(&world).is_empty(), "a mutating prompt ran without --allow-mutations");
    assert!(
        run.stderr.contains("scale-api: mutating, skipped (--allow-mutations runs it)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("mutating: pass --allow-mutations"), "{}", run.stderr);
    // Read-only prompts never get --skip-permissions: kubectl-ai would ask before changing anything.
    assert!(asked(&world).iter().all(|(_, argv)| !argv.contains(&"--skip-permissions".to_owned())));

    world.clear_calls();
    let run = world.xtask(&[
        "ai-showcase",
        "--tool",
        "kubectl-ai",
        "--allow-mutations",
        "--model",
        "gemini-2.5-flash",
    ]);
    assert!(run.success(), "{}", run.all());
    let scale = scale(&world);
    assert_eq!(scale.len(), 1, "{scale:?}");
    let argv = &scale[0].1;
    assert_eq!(
        &argv[..3],
        ["--quiet", "--model", "gemini-2.5-flash"],
        "gemini is the default provider: no flag"
    );
    assert_eq!(argv[argv.len() - 2], "--skip-permissions", "{argv:?}");
    assert!(run.stderr.contains("ran 3, skipped 0, failed 0"), "{}", run.stderr);
}

#[test]
fn fakes_missing_tools_are_skipped_with_their_install_hints_and_the_phase_succeeds() {
    let mut world = World::new();
    world.install("docker").install("kubectl").repo_files(&["docs/ai-devops/prompts.toml"]).on(
        "docker",
        &["ai"],
        Reply::fail(1, "docker: 'ai' is not a docker command.\nSee 'docker --help'\n"),
    );
    let run = external_only(&world, &[]);
    assert!(run.success(), "a missing tool never fails the phase: {}", run.all());
    let out = run.stderr;
    assert!(out.contains("docker ai skipped: not installed: this docker has no `ai` plugin"), "{out}");
    assert!(out.contains("Gordon ships with Docker Desktop"), "{out}");
    assert!(out.contains("kubectl-ai skipped: not installed: no kubectl-ai on PATH"), "{out}");
    assert!(out.contains("kubectl-ai/main/install.sh"), "{out}");
    assert!(out.contains("kagent skipped: not installed: no kagent on PATH"), "{out}");
    assert!(out.contains("get-kagent"), "{out}");
    assert!(out.contains("ran 0, skipped 7, failed 0"), "{out}");
    assert!(out.contains("ai-showcase  skipped"), "nothing could run: the phase says skipped:\n{out}");
    assert!(!world.root.join("docs/ai-devops/gordon.md").exists(), "no transcript of prompts that never ran");

    // Installed, but no key for kubectl-ai and kagent not in the cluster: skipped, saying what to do.
    world
        .install("kubectl-ai")
        .install("kagent")
        .on("kubectl-ai", &["version"], Reply::ok("version: 0.0.26\n"))
        .on("kagent", &["version"], Reply::ok("{\"kagent_version\":\"0.7.4\"}\n"))
        .on(
            "kubectl",
            &["--context", "todo", "get", "agents.kagent.dev"],
            Reply::fail(1, "error: the server doesn't have a resource type \"agents\"\n"),
        );
    let run = world.xtask(&["ai-showcase", "--tool", "kubectl-ai", "--tool", "kagent"]);
    assert!(run.success(), "{}", run.all());
    let out = run.stderr;
    assert!(out.contains("kubectl-ai skipped: no key: none of GEMINI_API_KEY, OPENAI_API_KEY"), "{out}");
    assert!(out.contains("kagent skipped: not installed in the cluster"), "{out}");
    assert!(out.contains("--install-kagent` runs `kagent install --profile minimal`"), "{out}");
    assert!(
        !world.calls().iter().any(|c| c.tool == "kagent" && c.argv[0] == "install"),
        "never installs unasked"
    );
}

#[test]
fn fakes_a_hanging_tool_is_stopped_at_its_timeout() {
    let mut world = world();
    world.env("GEMINI_API_KEY", KEY_CANARY).on(
        "kubectl-ai",
        &["--quiet"],
        Reply::ok("thinking...\n").sleep_ms(60_000),
    );
    let started = Instant::now();
    let run = world.xtask(&["ai-showcase", "--tool", "kubectl-ai", "--timeout", "1s"]);
    assert!(started.elapsed() < Duration::from_secs(30), "not stopped: {:?}", started.elapsed());
    assert!(!run.success(), "a prompt that failed fails the command");
    assert!(run.stderr.contains("timed out after 1.0s and was stopped"), "{}", run.stderr);
    assert!(run.stderr.contains("ran 0, skipped 1, failed 2"), "{}", run.stderr);
    let transcript = world.read("docs/ai-devops/kubectl-ai.md");
    assert!(transcript.contains("timed out after 1.0s and was stopped"), "{transcript}");

    // Demo's way: reported, not fatal.
    let run = world.xtask(&["ai-showcase", "--tool", "kubectl-ai", "--timeout", "1s", "--keep-going"]);
    assert!(run.success(), "{}", run.all());
}

#[test]
fn fakes_transcripts_hold_no_secret_value() {
    let mut world = world();
    // What `kubectl get secret -o yaml` shows a tool: the values in base64. The event carries
    // secrets in both forms, and goes to the model.
    let (key64, jwt64, cluster64) = (base64(KEY_CANARY), base64(JWT_CANARY), base64(CLUSTER_CANARY));
    let pods = format!(
        r#"{{"kind": "List", "items": [
          {{"kind": "Pod", "metadata": {{"name": "todo-api-1"}}, "spec": {{"containers": [{{"name": "api", "image": "todo-api:1"}}]}},
            "status": {{"containerStatuses": [{{"name": "api", "state": {{"waiting": {{"reason": "CreateContainerConfigError",
              "message": "couldn't find key LLM_API_KEY in Secret todo/todo-secrets"}}}}}}]}}}},
          {{"kind": "Event", "type": "Warning", "reason": "Failed",
            "message": "connecting with {CLUSTER_CANARY} failed; config {cluster64} {jwt64} {key64}",
            "involvedObject": {{"kind": "Pod", "name": "todo-api-1"}}}}]}}"#
    );
    let secrets = format!(
        r#"{{"items": [{{"metadata": {{"name": "todo-secrets"}}, "data": {{"DB": "{cluster64}"}}}}]}}"#
    );
    let model =
        ScriptedModel::start(|_, _| serde_json::json!({"role": "assistant", "content": "SCRIPTED SUMMARY"}));
    world
        .file(
            ".env",
            &format!(
                "JWT_SECRET={JWT_CANARY}\nLLM_API_KEY={KEY_CANARY}\nLLM_BASE_URL={}\nLLM_MODEL=tiny\n",
                model.url
            ),
        )
        .record_env("OPENAI_API_KEY")
        .record_env("OPENAI_ENDPOINT")
        // Tools that print what they should not: xtask must not pass it on.
        .on(
            "kubectl-ai",
            &["--quiet"],
            Reply::ok(&format!("my key is {KEY_CANARY}\ndata:\n  LLM_API_KEY: {key64}\n")),
        )
        .on(
            "docker",
            &["ai", "Review*"],
            Reply::ok(&format!(
                "found JWT_SECRET={JWT_CANARY} in the build context, {jwt64} in a manifest\n"
            )),
        )
        .on(
            "kagent",
            &["invoke"],
            Reply::ok(&format!("secret todo-secrets holds {CLUSTER_CANARY}\n  DB: {cluster64}\n")),
        )
        .on(
            "kubectl",
            &["--context", "todo", "--namespace", "todo", "get", "pods,deploy,rs,events"],
            Reply::ok(&pods),
        )
        .on("kubectl", &["--context", "todo", "--namespace", "todo", "get", "secrets"], Reply::ok(&secrets))
        .on(
            "kubectl",
            &["--context", "todo", "--namespace", "todo", "get", "ingresses"],
            Reply::ok(r#"{"items": []}"#),
        )
        .on("helm", &["status", "todo"], Reply::fail(1, "Error: release: not found\n"));
    // Everything: the three tools, then the built-in assistant and its model.
    let run = world.xtask(&["ai-showcase"]);
    assert!(run.success(), "{}", run.all());
    let text = transcripts(&world);
    let bodies = model.bodies();
    assert_eq!(bodies.len(), 1, "the built-in assistant asked the model once");
    assert!(
        bodies[0].contains("connecting with <redacted> failed; config <redacted> <redacted> <redacted>"),
        "{}",
        bodies[0]
    );
    for canary in [KEY_CANARY, JWT_CANARY, CLUSTER_CANARY] {
        for form in [canary.to_owned(), base64(canary)] {
            assert!(!text.contains(&form), "a transcript holds {canary} (as {form}):\n{text}");
            assert!(!run.all().contains(&form), "the output holds {canary} (as {form}):\n{}", run.all());
            assert!(!world.calls().iter().any(|c| c.line().contains(&form)), "a command line holds {canary}");
            assert!(!bodies[0].contains(&form), "the model was sent {canary} (as {form}):\n{}", bodies[0]);
        }
    }
    assert!(text.contains("my key is <redacted>\ndata:\n  LLM_API_KEY: <redacted>"), "{text}");
    assert!(
        text.contains("found JWT_SECRET=<redacted> in the build context, <redacted> in a manifest"),
        "{text}"
    );
    assert!(
        text.contains("secret todo-secrets holds <redacted>\n  DB: <redacted>"),
        "the cluster Secret's values too:\n{text}"
    );
    assert!(text.contains("missing Secret key: pod/todo-api-1"), "{text}");
    assert!(text.contains("SCRIPTED SUMMARY"), "{text}");
    // kubectl-ai used the app's endpoint: its key in its environment, never in argv.
    let call = world.calls().into_iter().find(|c| c.tool == "kubectl-ai" && c.argv[0] == "--quiet").unwrap();
    assert_eq!(call.env["OPENAI_API_KEY"].as_deref(), Some(KEY_CANARY));
    assert_eq!(call.env["OPENAI_ENDPOINT"].as_deref(), Some(model.url.as_str()));
    assert_eq!(&call.argv[..5], ["--quiet", "--llm-provider", "openai", "--model", "tiny"]);
    let command = world.read("docs/ai-devops/kubectl-ai.md");
    assert!(
        command.contains(&format!(
            "Command: `OPENAI_ENDPOINT={} OPENAI_API_KEY=<redacted> kubectl-ai",
            model.url
        )),
        "{command}"
    );
}

#[test]
fn fakes_transcripts_go_where_asked_and_a_dry_run_writes_none() {
    let mut world = world();
    world.env("GEMINI_API_KEY", KEY_CANARY);
    let elsewhere = world.root.parent().unwrap().join("elsewhere");
    let run = world.xtask(&["ai-showcase", "--tool", "kagent", "--transcripts", elsewhere.to_str().unwrap()]);
    assert!(run.success(), "{}", run.all());
    assert!(elsewhere.join("kagent.md").exists());
    assert!(!world.root.join("docs/ai-devops/kagent.md").exists());

    world.clear_calls();
    let run = world.xtask(&["--dry-run", "ai-showcase", "--tool", "kagent"]);
    assert!(run.success(), "{}", run.all());
    assert!(asked(&world).is_empty(), "a dry run asks nothing");
    assert!(run.stderr.contains("[dry-run] $ kagent invoke --agent k8s-agent --task"), "{}", run.stderr);
    assert!(!world.root.join("docs/ai-devops/kagent.md").exists());
}

fn base64(text: &str) -> String {
    xtask::base64::encode(text.as_bytes())
}

/// A world where the built-in assistant reads `pods` (a `kubectl get pods,deploy,rs,events` list)
/// in namespace todo, no Secret, no ingress, no release.
fn builtin_world(items: &str) -> World {
    let mut world = world();
    world
        .file(".env", &format!("JWT_SECRET={JWT_CANARY}\n"))
        .on(
            "kubectl",
            &["--context", "todo", "--namespace", "todo", "get", "pods,deploy,rs,events"],
            Reply::ok(&format!(r#"{{"kind": "List", "items": [{items}]}}"#)),
        )
        .on(
            "kubectl",
            &["--context", "todo", "--namespace", "todo", "get", "secrets"],
            Reply::ok(r#"{"items": []}"#),
        )
        .on(
            "kubectl",
            &["--context", "todo", "--namespace", "todo", "get", "ingresses"],
            Reply::ok(r#"{"items": []}"#),
        )
        .on("helm", &["status", "todo"], Reply::fail(1, "Error: release: not found\n"));
    world
}

#[test]
fn fakes_last_logs_ask_for_the_previous_run_only_of_a_container_that_restarted() {
    // The api never restarted and is not ready; its sidecar restarted twice. The api's logs are
    // its current run's: `--previous` would find no previous container and print nothing.
    let pod = r#"{"kind": "Pod", "metadata": {"name": "todo-api-1"},
        "spec": {"containers": [{"name": "api", "image": "todo-api:1"}, {"name": "sidecar", "image": "s"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
          "containerStatuses": [
            {"name": "api", "ready": false, "restartCount": 0, "state": {"running": {}}},
            {"name": "sidecar", "ready": true, "restartCount": 2, "state": {"running": {}}}]}}"#;
    let mut world = builtin_world(pod);
    world
        .on(
            "kubectl",
            &[
                "--context",
                "todo",
                "--namespace",
                "todo",
                "logs",
                "todo-api-1",
                "--container",
                "api",
                "--previous",
            ],
            Reply::fail(
                1,
                "Error from server (BadRequest): previous terminated container \"api\" not found\n",
            ),
        )
        .on(
            "kubectl",
            &[
                "--context",
                "todo",
                "--namespace",
                "todo",
                "logs",
                "todo-api-1",
                "--container",
                "api",
                "--tail",
            ],
            Reply::ok("waiting for the database at db:5432\n"),
        );
    let run = world.xtask(&["ai-showcase", "--builtin"]);
    assert!(run.success(), "{}", run.all());
    assert!(run.stderr.contains("last log lines of todo-api-1 (container api):"), "{}", run.stderr);
    assert!(run.stderr.contains("│ waiting for the database at db:5432"), "{}", run.stderr);
    let logs: Vec<_> = world.calls().into_iter().filter(|c| c.argv.contains(&"logs".to_owned())).collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert!(!logs[0].argv.contains(&"--previous".to_owned()), "{}", logs[0].line());
}

#[test]
fn fakes_a_rejected_key_or_an_unknown_model_is_named_with_the_providers_words() {
    // http:// (xtask's own client): the scripted provider answers 401.
    let model = ScriptedModel::failing(
        401,
        serde_json::json!({"error": {"message": "Incorrect API key provided: sk-…f30", "type": "invalid_request_error"}}),
    );
    let mut world = builtin_world("");
    world.file(".env", &format!("LLM_API_KEY={KEY_CANARY}\nLLM_BASE_URL={}\nLLM_MODEL=tiny\n", model.url));
    let run = world.xtask(&["ai-showcase", "--builtin"]);
    assert!(!run.success(), "the model's failure is the built-in assistant's: {}", run.all());
    let expected = format!(
        "(the model could not be asked: LLM_API_KEY rejected by LLM_BASE_URL {} (HTTP 401: Incorrect API key provided: sk-…f30)",
        model.url
    );
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    assert!(!run.all().contains("install curl"), "{}", run.all());
    assert_eq!(model.requests().len(), 1);

    // https:// (through curl): the provider answers 404 for the model.
    world
        .file(
            ".env",
            &format!("LLM_API_KEY={KEY_CANARY}\nLLM_BASE_URL=https://llm.example/v1\nLLM_MODEL=tiny\n"),
        )
        .install("curl")
        .on("curl", &[], Reply::ok("{\"error\": {\"message\": \"The model `tiny` does not exist\"}}\n404"));
    let run = world.xtask(&["ai-showcase", "--builtin", "--keep-going"]);
    assert!(run.success(), "{}", run.all());
    assert!(
        run.stderr.contains(
            "LLM_MODEL `tiny` unknown at LLM_BASE_URL https://llm.example/v1 (HTTP 404: The model `tiny` does not exist)"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.all().contains("install curl"), "{}", run.all());
    let curl = world.calls().into_iter().find(|c| c.tool == "curl").unwrap();
    assert!(!curl.line().contains(KEY_CANARY) && !curl.line().contains("llm.example"), "{}", curl.line());
}

#[test]
fn fakes_kubectl_ai_and_kagent_are_skipped_when_the_current_context_is_not_the_environments() {
    // The environment (minikube) pins context `todo`; kubectl-ai and kagent would ask `prod`.
    let mut world = world();
    world.env("GEMINI_API_KEY", KEY_CANARY).on(
        "kubectl",
        &["config", "current-context"],
        Reply::ok("prod\n"),
    );
    let run = world.xtask(&["ai-showcase", "--tool", "kubectl-ai", "--tool", "kagent"]);
    assert!(run.success(), "{}", run.all());
    let out = run.stderr;
    for tool in ["kubectl-ai", "kagent"] {
        assert!(
            out.contains(&format!(
                "{tool} skipped: the current kube context is `prod`, not the environment's `todo`, and this tool asks the current one"
            )),
            "{out}"
        );
    }
    assert_eq!(
        out.matches("to enable it: `kubectl config use-context todo`, then run it again").count(),
        2,
        "{out}"
    );
    assert!(asked(&world).is_empty(), "nothing asked about the wrong cluster: {:?}", asked(&world));
    assert!(out.contains("ran 0, skipped 5, failed 0"), "{out}");

    // No current context at all: the same.
    world.on(
        "kubectl",
        &["config", "current-context"],
        Reply::fail(1, "error: current-context is not set\n"),
    );
    let run = world.xtask(&["ai-showcase", "--tool", "kagent"]);
    assert!(
        run.stderr.contains("kagent skipped: no current kube context, not the environment's `todo`"),
        "{}",
        run.stderr
    );
    assert!(asked(&world).is_empty());
}

#[test]
fn fakes_kubectl_ai_trace_is_redacted_and_private_after_each_run() {
    use std::os::unix::fs::PermissionsExt as _;
    let mut world = world();
    let trace = "target/xtask/ai-showcase/kubectl-ai-trace.txt";
    // What kubectl-ai wrote there: the Secret it read, and the key it was given.
    world.env("GEMINI_API_KEY", KEY_CANARY).file(
        trace,
        &format!(
            "tool: kubectl get secret -o yaml\n  KEY: {}\nrequest: key {KEY_CANARY}\n",
            base64(KEY_CANARY)
        ),
    );
    let path = world.root.join(trace);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = world.xtask(&["ai-showcase", "--tool", "kubectl-ai"]);
    assert!(run.success(), "{}", run.all());
    let text = world.read(trace);
    assert_eq!(text, "tool: kubectl get secret -o yaml\n  KEY: <redacted>\nrequest: key <redacted>\n");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
}
