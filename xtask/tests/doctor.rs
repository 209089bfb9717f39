//! `cargo xtask doctor` against scripted fakes of every tool.

mod support;

use support::{Reply, World};

#[test]
fn fakes_all_tools_present_and_working_exits_zero() {
    let world = World::healthy();
    let run = world.xtask(&["doctor", "--target", "minikube"]);
    assert!(run.success(), "{}", run.all());
    assert!(run.stdout.contains("✓ ready for target `minikube`"), "{}", run.stdout);
    assert!(run.stdout.contains("docker: answers (server 28.2.2)"), "{}", run.stdout);
    assert!(run.stdout.contains("→ builds use docker"), "{}", run.stdout);
    assert!(run.stdout.contains("profile `todo` running"), "{}", run.stdout);
}

#[test]
fn fakes_missing_minikube_fails_with_its_install_hint() {
    let mut world = World::healthy();
    world.uninstall("minikube");
    let run = world.xtask(&["doctor", "--target", "minikube"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains("minikube is not installed; it runs the local Kubernetes cluster"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(
        "fix: curl -LO https://storage.googleapis.com/minikube/releases/latest/minikube-linux-amd64"
    ));
    assert!(run.stderr.contains("1 problem keeps target `minikube` from working"), "{}", run.stderr);
}

#[test]
fn fakes_doctor_json_is_one_document_with_every_check() {
    let mut world = World::healthy();
    world.uninstall("minikube");
    world.on("helm", &["version", "--short"], Reply::ok("v4.1.4+g05fa379\n"));
    let run = world.xtask(&["doctor", "--target", "minikube", "--json"]);
    assert_eq!(run.code, 1);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is one JSON document");
    assert_eq!(report["ok"], false);
    assert_eq!(report["target"], "minikube");
    assert_eq!(report["helm_major"], 4);
    let tool =
        |name: &str| report["tools"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap().clone();
    assert_eq!(tool("minikube")["found"], false);
    assert_eq!(tool("minikube")["needed"], "required");
    assert!(tool("minikube")["install"]["macos"].as_str().unwrap().contains("brew install minikube"));
    assert_eq!(tool("kubectl")["version"], "1.31.0");
    assert_eq!(tool("docker ai")["found"], true);
    assert_eq!(report["container_engine"]["selected"], "docker");
    assert_eq!(report["cluster"]["state"], "minikube_missing");
    assert_eq!(report["problems"].as_array().unwrap().len(), 1);
    assert!(report["problems"][0]["fix"].as_str().unwrap().contains("minikube"));
}

#[test]
fn fakes_podman_is_used_when_docker_has_no_daemon() {
    let mut world = World::healthy();
    world.on(
        "docker",
        &["version", "--format"],
        Reply::fail(1, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n"),
    );
    let run = world.xtask(&["doctor", "--json"]);
    assert!(run.success(), "{}", run.all());
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["container_engine"]["selected"], "podman");
}

#[test]
fn fakes_no_engine_answering_is_a_problem_with_the_fix() {
    let mut world = World::healthy();
    world.uninstall("podman");
    world.on("docker", &["version", "--format"], Reply::fail(1, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n"));
    let run = world.xtask(&["doctor", "--target", "minikube"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains(
            "docker is installed but its engine does not answer: Cannot connect to the Docker daemon"
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("podman system service --time=0"), "{}", run.stdout);
}

#[test]
fn fakes_a_tool_older_than_the_minimum_is_a_problem() {
    let mut world = World::healthy();
    world.on("kubectl", &["version", "--client"], Reply::ok("Client Version: v1.20.4\n"));
    let run = world.xtask(&["doctor", "--target", "minikube"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("kubectl: version 1.20.4 is older than the minimum 1.28.0"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("install 1.28.0 or newer"), "{}", run.stdout);
}

#[test]
fn fakes_local_target_needs_only_cargo() {
    let mut world = World::new();
    world.install("cargo").on("cargo", &["--version"], Reply::ok("cargo 1.95.0 (f2d3ce0bd 2026-03-21)\n"));
    let run = world.xtask(&["doctor", "--target", "local"]);
    assert!(run.success(), "{}", run.all());
    assert!(run.stdout.contains("✓ ready for target `local`"));
    // The cluster targets on the same machine are not ready, and say what to install.
    let run = world.xtask(&["doctor", "--target", "minikube"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("no container engine: neither docker nor podman is installed"),
        "{}",
        run.stdout
    );
}

#[test]
fn fakes_doctor_without_a_target_reports_every_target_and_passes_when_the_local_stack_can_run() {
    // Right after the quick start on a machine with only Rust: the local stack runs.
    let mut world = World::new();
    world.install("cargo").on("cargo", &["--version"], Reply::ok("cargo 1.95.0 (f2d3ce0bd 2026-03-21)\n"));
    let run = world.xtask(&["doctor"]);
    assert!(run.success(), "the local stack can run, so doctor passes: {}", run.all());
    let out = &run.stdout;
    assert!(out.contains("✓ local    ready: `cargo xtask up`"), "{out}");
    assert!(out.contains("✗ minikube 4 problems"), "{out}");
    assert!(out.contains("✗ cluster  3 problems"), "{out}");
    assert!(out.contains("minikube is not installed; it runs the local Kubernetes cluster"), "{out}");
    assert!(out.contains("`bash infra/scripts/onboard.sh` installs what is missing"), "{out}");
    assert!(
        out.contains("minikube, cluster (one engine)"),
        "the table says which targets need a tool: {out}"
    );

    let json: serde_json::Value = serde_json::from_str(&world.xtask(&["doctor", "--json"]).stdout).unwrap();
    assert_eq!(json["target"], "all");
    assert_eq!(json["ok"], true);
    assert_eq!(json["targets"]["local"]["ok"], true);
    assert_eq!(json["targets"]["minikube"]["ok"], false);
    assert_eq!(json["targets"]["cluster"]["problems"].as_array().unwrap().len(), 3);

    // Asked about one target, doctor fails when that target cannot work.
    assert_eq!(world.xtask(&["doctor", "--target", "minikube"]).code, 1);
    assert_eq!(world.xtask(&["doctor", "--target", "cluster"]).code, 1);
    assert_eq!(world.xtask(&["doctor", "--target", "local"]).code, 0);

    // Without cargo not even the local stack runs: that is a failure.
    world.uninstall("cargo");
    let run = world.xtask(&["doctor"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("not even the local stack can run here"), "{}", run.stderr);
}

#[test]
fn fakes_stopped_cluster_is_a_warning_with_the_command_to_start_it() {
    let mut world = World::healthy();
    world.on(
        "minikube",
        &["status"],
        Reply::ok(r#"{"Name":"todo","Host":"Stopped","Kubelet":"Stopped","APIServer":"Stopped","Kubeconfig":"Stopped","Worker":false}"#)
            .exit(7),
    );
    let run = world.xtask(&["doctor"]);
    assert!(run.success(), "a stopped cluster is started by the deploy, not a blocker: {}", run.all());
    assert!(run.stdout.contains("minikube profile `todo` is not running (host Stopped, API server Stopped)"));
    assert!(run.stdout.contains("fix: start it with `minikube start -p todo`"));
}

#[test]
fn fakes_doctor_only_queries_and_never_prints_env_values() {
    let mut world = World::healthy();
    world.file(".env", "LLM_API_KEY=sk-canary-5ac1d0e\nJWT_SECRET=canary-jwt-77f2\n");
    world.file(
        "deploy/.env.example",
        "LLM_API_KEY=\nJWT_SECRET=\n# Postgres; SQLite when empty\nDATABASE_URL=\n",
    );
    for args in [&["doctor"][..], &["doctor", "--json"], &["-v", "doctor"]] {
        let run = world.xtask(args);
        assert!(run.success(), "{}", run.all());
        assert!(!run.all().contains("canary"), "{}", run.all());
    }
    let report: serde_json::Value = serde_json::from_str(&world.xtask(&["doctor", "--json"]).stdout).unwrap();
    assert_eq!(report["env_file"]["keys"], serde_json::json!(["LLM_API_KEY", "JWT_SECRET"]));
    assert_eq!(report["env_file"]["missing_documented_keys"], serde_json::json!(["DATABASE_URL"]));

    // A quoted multi-line value: its lines are part of the value, not keys to list.
    world.file(
        ".env",
        "JWT_SECRET=canary-jwt-77f2\nTLS_KEY=\"-----BEGIN KEY-----\ncanaryPEMline0x4f=\n-----END KEY-----\"\n",
    );
    let run = world.xtask(&["doctor", "--json"]);
    assert!(!run.all().contains("canary"), "{}", run.all());
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["env_file"]["keys"], serde_json::json!(["JWT_SECRET", "TLS_KEY"]));

    // A malformed line is reported by number, never shown.
    world.file(".env", "JWT_SECRET=canary-jwt-77f2\nLLM_API_KEY=\"canary-unterminated\n");
    let run = world.xtask(&["doctor", "--target", "minikube"]);
    assert!(!run.all().contains("canary"), "{}", run.all());
    assert!(run.stdout.contains(".env cannot be read: .env:2"), "{}", run.stdout);

    let mutating = ["start", "delete", "stop", "install", "upgrade", "apply", "build", "load"];
    for call in world.calls() {
        assert!(
            !call.argv.iter().any(|arg| mutating.contains(&arg.as_str())),
            "doctor changed something: {}",
            call.line()
        );
    }
}

#[test]
fn fakes_target_cluster_needs_no_minikube_but_a_kube_context_that_answers() {
    let mut world = World::healthy();
    world.uninstall("minikube");
    world.on("kubectl", &["get", "--raw", "/readyz"], Reply::ok("ok"));
    let run = world.xtask(&["doctor", "--target", "cluster"]);
    assert!(run.success(), "minikube is optional for a cluster: {}", run.all());
    assert!(run.stdout.contains("kube context      answers"), "{}", run.stdout);

    world.on(
        "kubectl",
        &["get", "--raw", "/readyz"],
        Reply::fail(1, "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?\n"),
    );
    let run = world.xtask(&["doctor", "--target", "cluster"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains("the API server of the current kube context does not answer: The connection to the server 127.0.0.1:6443 was refused"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("fix: check `kubectl config current-context`"), "{}", run.stdout);
}
