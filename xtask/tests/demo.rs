//! `cargo xtask demo`: the cluster path with scripted fakes of docker, cargo, minikube, helm and
//! kubectl (the real app, started by the real `up`, stands behind the fake ingress, so verify's
//! smoke flow is real), and the fallback to the real local stack when no engine answers. The
//! cluster path on a real Kubernetes is in the `kube` suite (kube_real_tools.rs).

mod support;

use std::time::Duration;

use support::fresh::{CANARY_JWT, CANARY_PG, assert_in_order, changes, fresh};
use support::up::Up;
use support::{Reply, World};

const STOPPED: &str =
    r#"{"Name":"todo","Host":"Stopped","Kubelet":"Stopped","APIServer":"Stopped","Kubeconfig":"Stopped"}"#;
const RUNNING: &str =
    r#"{"Name":"todo","Host":"Running","Kubelet":"Running","APIServer":"Running","Kubeconfig":"Configured"}"#;

/// Two Ready pods, created 4 s and 9 s before their Ready condition.
const PODS: &str = r#"{"items": [
  {"metadata": {"name": "todo-api-7d9f-abcde", "creationTimestamp": "2026-12-07T05:00:58Z",
                "labels": {"app.kubernetes.io/component": "api"}},
   "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True",
              "lastTransitionTime": "2026-12-07T05:01:02Z"}]}},
  {"metadata": {"name": "todo-web-5c4b-fghij", "creationTimestamp": "2026-12-07T05:00:58Z",
                "labels": {"app.kubernetes.io/component": "web"}},
   "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True",
              "lastTransitionTime": "2026-12-07T05:01:07Z"}]}}
]}"#;

fn status(url: &str) -> u16 {
    match ureq::get(url).call() {
        Ok(response) => response.status().as_u16(),
        Err(ureq::Error::StatusCode(code)) => code,
        Err(err) => panic!("GET {url}: {err}"),
    }
}

/// The summary table's row for `phase`, split into its cells.
fn row(out: &str, phase: &str) -> Vec<String> {
    // The first table after the last step (the doctor report has a table of tools before).
    let last_step = out.rfind("\nStep ").unwrap_or(0);
    let table = last_step
        + out[last_step..].find("  phase ").unwrap_or_else(|| panic!("no summary table in:\n{out}"));
    out[table..]
        .lines()
        .map(|line| line.split("  ").map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect())
        .find(|cells: &Vec<String>| cells.first().map(String::as_str) == Some(phase))
        .unwrap_or_else(|| panic!("no table row for `{phase}` in:\n{out}"))
}

/// [`fresh`], where doctor sees the stopped profile too before the minikube phase starts it, with
/// the prompt catalogue and Gordon answering; kubectl-ai and kagent are not installed.
fn fresh_for_demo() -> World {
    let mut world = fresh();
    world
        .on_seq(
            "minikube",
            &["status", "-p", "todo", "-o", "json"],
            vec![Reply::ok(STOPPED).exit(7), Reply::ok(STOPPED).exit(7), Reply::ok(RUNNING)],
        )
        .repo_files(&["docs/ai-devops/prompts.toml"])
        .on("docker", &["ai", "Review*"], Reply::ok("Gordon: the runtime stage is FROM scratch; fine.\n"))
        .on("docker", &["ai", "Explain*"], Reply::ok("Gordon: layer 1 adds the binary (9 MB).\n"))
        .uninstall("kubectl-ai")
        .uninstall("kagent");
    world
}

#[test]
fn fakes_demo_takes_the_cluster_path_in_order_narrated_and_ends_with_the_timing_table() {
    // The app the fake ingress leads to: verify signs up, manages a task and chats with it.
    let app = Up::start(&["--port", "0", "--offline"]);
    let mut world = fresh_for_demo();
    world.on("kubectl", &["--context", "todo", "--namespace", "todo", "get", "pods"], Reply::ok(PODS));
    let run = world.xtask(&["demo", "--build", "host", "--ingress-url", &app.url]);
    let out = run.all();
    assert!(run.success(), "{out}");

    // Narrated, one step per phase, in the order of the story.
    let steps: Vec<String> = out.lines().filter(|l| l.starts_with("Step ")).map(str::to_owned).collect();
    let phases =
        ["doctor", "containerize", "minikube", "helm-gen", "secrets", "release", "verify", "ai-showcase"];
    assert_eq!(steps.len(), phases.len(), "{out}");
    for (i, (step, phase)) in steps.iter().zip(phases).enumerate() {
        assert_eq!(step, &format!("Step {} of {} · {phase}", i + 1, phases.len()));
    }
    assert!(out.contains("Each tag is a hash of the image's inputs"), "containerize is explained:\n{out}");
    assert!(out.contains("✓ ready for target `minikube`"), "doctor's report is shown:\n{out}");

    // The cluster path, in order, then a real smoke flow through the "ingress".
    assert_in_order(
        &changes(&world.calls()),
        &[
            "cargo build --release",
            "docker build",
            "minikube start -p todo",
            "minikube -p todo addons enable ingress",
            "minikube -p todo image load",
            "kubectl --context todo apply --server-side",
            "helm upgrade --install",
            "kubectl --context todo --namespace todo rollout status",
        ],
    );
    assert!(out.contains("the app answers at http://todo.local/"), "verify passed:\n{out}");

    // Every phase with its time against the budgets, and pod start as the cluster measured it.
    assert_eq!(row(&out, "doctor")[1], "done");
    assert_eq!(row(&out, "containerize")[1..2], ["done"]);
    assert_eq!(row(&out, "containerize")[3], "5m00s", "the build budget: {out}");
    assert_eq!(row(&out, "release")[3], "3m00s", "the deploy budget: {out}");
    assert_eq!(row(&out, "verify")[1], "done");
    let pod_start = row(&out, "pod start");
    assert_eq!(pod_start[1..4], ["done", "9.0s", "2m00s"], "{out}");
    assert!(pod_start[4].contains("slowest of 2 pods") && pod_start[4].contains("todo-web-5c4b-fghij"));
    // The AI step asked the tool that is here, skipped the others with their hints, and kept its
    // transcripts out of the checkout.
    assert_eq!(row(&out, "ai-showcase")[1], "done", "{out}");
    assert!(out.contains("! kubectl-ai skipped: not installed: no kubectl-ai on PATH"), "{out}");
    assert!(out.contains("ai-showcase: ran 2, skipped 6, failed 0"), "{out}");
    let transcript = world.read("target/xtask/ai-showcase/transcripts/gordon.md");
    assert!(transcript.contains("layer 1 adds the binary"), "{transcript}");
    assert!(!world.root.join("docs/ai-devops/gordon.md").exists(), "the demo leaves docs/ as it was");
    assert!(out.contains("9 done, 0 skipped, 0 failed"), "{out}");
    assert!(out.contains("the app is live and verified: open http://todo.local/"), "{out}");
    for canary in [CANARY_JWT, CANARY_PG] {
        assert!(!out.contains(canary), "a secret reached the output");
    }
}

#[test]
fn fakes_demo_whose_release_fails_stops_there_instead_of_hiding_it_behind_the_local_stack() {
    let failing = || {
        let mut world = fresh_for_demo();
        world.on("helm", &["upgrade"], Reply::fail(1, "Error: UPGRADE FAILED: context deadline exceeded\n"));
        world
    };
    let world = failing();
    let run = world.xtask(&["demo", "--build", "host"]);
    let out = run.all();
    assert_eq!(run.code, 1, "{out}");
    assert!(out.contains("UPGRADE FAILED"), "{out}");
    assert!(
        !out.contains("no cluster can be used here"),
        "a failed release is not a missing cluster:\n{out}"
    );
    assert_eq!(row(&out, "release")[1], "FAILED");
    assert_eq!(row(&out, "verify")[1], "not run");
    assert!(
        out.contains("▶ the built-in assistant on the failed deploy"),
        "the assistant looks at it:\n{out}"
    );
    let skip = failing().xtask(&["demo", "--build", "host", "--skip-ai"]).all();
    assert!(!skip.contains("the built-in assistant") && !skip.contains("· ai-showcase"), "{skip}");
}

#[test]
fn fakes_demo_dry_run_plans_the_cluster_path_and_changes_nothing() {
    let world = fresh_for_demo();
    let run = world.xtask(&["--dry-run", "demo", "--build", "host"]);
    let out = run.all();
    assert!(run.success(), "{out}");
    assert!(out.contains("[dry-run] $ helm upgrade --install todo"), "{out}");
    assert!(!world.root.join("target/xtask/phases").exists(), "a dry run records nothing");
    assert!(!out.contains("the app is live"), "{out}");
}

#[test]
fn fakes_no_engine_demo_says_why_and_falls_back_to_the_real_local_stack() {
    // docker and podman are installed but neither answers; minikube, helm and kubectl are
    // whatever this machine has (none in CI's PATH for this test: the engine alone decides).
    let bin = tempfile::tempdir().unwrap();
    let refuse = "#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2\nexit 1\n";
    for tool in ["docker", "podman"] {
        let path = bin.path().join(tool);
        std::fs::write(&path, refuse).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap_or_default());
    let demo = Up::start_xtask(&["demo", "--port", "0"], &[("PATH", &path), ("DOCKER_HOST", "")]);

    let said = demo.stderr();
    assert!(said.contains("no cluster can be used here, so the demo runs the app on this machine"), "{said}");
    assert!(said.contains("docker is installed but its engine does not answer"), "says why:\n{said}");
    assert!(said.contains("bash infra/scripts/onboard.sh"), "says how to get the cluster path:\n{said}");
    for path in ["/readyz", "/api/readyz"] {
        assert_eq!(status(&format!("{}{path}", demo.url)), 200, "the local stack answers {path}");
    }
    demo.signal(libc::SIGINT);
    let (code, stderr) = demo.wait(Duration::from_secs(60));
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn fakes_minikube_failing_to_start_makes_the_demo_fall_back_to_the_local_stack_and_say_why() {
    let mut world = fresh_for_demo();
    world.on(
        "minikube",
        &["start"],
        Reply::fail(
            80,
            "❌  Exiting due to GUEST_PROVISION: error provisioning guest: Failed to start host\n",
        ),
    );
    let run = world.xtask(&["demo", "--build", "host", "--port", "0"]);
    let out = run.all();
    assert_eq!(row(&out, "minikube")[1], "FAILED", "{out}");
    assert!(out.contains("no cluster can be used here, so the demo runs the app on this machine"), "{out}");
    assert!(
        out.contains("minikube could not start the cluster: `minikube start -p todo --cpus=2 --memory=4g` failed with exit code 80"),
        "says why:\n{out}"
    );
    assert!(out.contains("GUEST_PROVISION"), "in minikube's words:\n{out}");
    assert!(!out.contains("--from minikube"), "the demo goes on; no advice to resume it:\n{out}");
    // The local stack is what runs next (the fake cargo builds nothing, so it stops there).
    let lines: Vec<String> = world.calls().iter().map(|call| call.line()).collect();
    let start = lines.iter().position(|line| line.starts_with("minikube start")).unwrap();
    assert!(
        lines[start..].iter().any(|line| line == "cargo build -p todo-api -p todo-web"),
        "`up` builds the servers after minikube failed: {lines:#?}"
    );
    assert!(!lines.iter().any(|line| line.starts_with("helm upgrade")), "no release without a cluster");
}
