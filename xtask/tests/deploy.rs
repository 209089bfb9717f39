//! `cargo xtask deploy` (and `minikube`, `status`, `down`) against scripted fakes of docker, cargo,
//! minikube, helm and kubectl that answer as the real CLIs do. The real path is proven on a real
//! Kubernetes by the `kube` suite (kube_real_tools.rs); these cover every branch, fast.

mod support;

use expect_test::expect;
use support::fresh::{CANARY_JWT, CANARY_PG, NOT_FOUND, assert_in_order, changes, fresh, release_json};
use support::{Call, Reply, Run, World, normalize_durations};

fn deploy(world: &World, extra: &[&str]) -> Run {
    let mut args = vec!["deploy", "--no-verify", "--build", "host"];
    args.extend(extra);
    world.xtask(&args)
}

fn tag(world: &World, image: &str) -> String {
    let images: serde_json::Value = serde_json::from_str(&world.read("target/xtask/images.json")).unwrap();
    let found = images["images"].as_array().unwrap().iter().find(|i| i["name"] == image).unwrap();
    found["tag"].as_str().unwrap().to_owned()
}

fn upgrade(calls: &[Call]) -> Call {
    calls
        .iter()
        .find(|c| c.tool == "helm" && c.argv.first().map(String::as_str) == Some("upgrade"))
        .cloned()
        .unwrap()
}

#[test]
fn fakes_fresh_minikube_deploy_starts_the_cluster_waits_for_ingress_loads_images_then_releases() {
    let world = fresh();
    let run = deploy(&world, &[]);
    assert!(run.success(), "{}", run.all());
    let (api, web) = (tag(&world, "todo-api"), tag(&world, "todo-web"));
    let changes = changes(&world.calls());
    assert_in_order(
        &changes,
        &[
            "cargo build --release",
            "docker build",
            "minikube start -p todo",
            "minikube -p todo addons enable ingress",
            "kubectl --context todo wait --namespace ingress-nginx",
            "minikube -p todo image load",
            "kubectl --context todo apply --server-side",
            "helm upgrade --install",
            "kubectl --context todo --namespace todo rollout status",
        ],
    );
    let expected_tail = [
        "minikube start -p todo --cpus=2 --memory=4g".to_owned(),
        "minikube -p todo addons enable ingress".to_owned(),
        "kubectl --context todo wait --namespace ingress-nginx --for=condition=ready pod --selector app.kubernetes.io/component=controller --timeout=300s".to_owned(),
        format!("minikube -p todo image load todo-api:{api}"),
        format!("minikube -p todo image load todo-web:{web}"),
    ];
    let start = changes.iter().position(|line| line.starts_with("minikube start")).unwrap();
    assert_eq!(changes[start..start + 5], expected_tail, "{changes:#?}");

    let upgrade = upgrade(&world.calls()).line();
    assert_eq!(
        upgrade,
        format!(
            "helm upgrade --install todo infra/helm/todo --kube-context todo --namespace todo --create-namespace \
             --values infra/helm/todo/values-minikube.yaml --set-string image.registry= \
             --set-string api.image.repository=todo-api --set-string api.image.tag={api} \
             --set-string web.image.repository=todo-web --set-string web.image.tag={web} \
             --atomic --wait --timeout 300s"
        )
    );
    let after = changes.iter().position(|line| line.starts_with("helm upgrade")).unwrap();
    assert_eq!(
        changes[after + 1..],
        [
            "kubectl --context todo --namespace todo rollout status deployment.apps/todo-api --timeout=300s",
            "kubectl --context todo --namespace todo rollout status deployment.apps/todo-web --timeout=300s",
        ],
        "secrets are applied before the release, rollouts after it"
    );
    assert!(changes.iter().position(|l| l.contains("apply --server-side")).unwrap() < after);

    // The hosts line is printed, not written, without --write-hosts.
    assert!(run.stderr.contains("192.168.49.2 todo.local"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(world.root.parent().unwrap().join("hosts")).unwrap(),
        "127.0.0.1 localhost\n"
    );

    // Never `latest`, never a secret value on a command line or in the output.
    for call in world.calls() {
        let line = call.line();
        assert!(!line.contains(":latest") && !line.contains("tag=latest"), "{line}");
        for canary in [CANARY_JWT, CANARY_PG] {
            assert!(!line.contains(canary), "a secret reached argv: {line}");
        }
    }
    for canary in [CANARY_JWT, CANARY_PG] {
        assert!(!run.all().contains(canary), "a secret reached the output");
    }
    assert!(run.stderr.contains("phase"), "ends with the phase table: {}", run.stderr);
    assert!(run.stderr.contains("release"), "{}", run.stderr);
}

#[test]
fn fakes_deploy_again_with_nothing_changed_starts_builds_loads_and_upgrades_nothing() {
    let mut world = fresh();
    assert!(deploy(&world, &[]).success());
    let (api, web) = (tag(&world, "todo-api"), tag(&world, "todo-web"));
    // Now everything is there: the profile runs, its addon is on, both images are loaded, the
    // release is deployed.
    world
        .on(
            "minikube",
            &["status", "-p", "todo", "-o", "json"],
            Reply::ok(r#"{"Host":"Running","Kubelet":"Running","APIServer":"Running"}"#),
        )
        .on(
            "minikube",
            &["-p", "todo", "addons", "list", "-o", "json"],
            Reply::ok(r#"{"ingress":{"Status":"enabled"}}"#),
        )
        .on(
            "minikube",
            &["-p", "todo", "image", "ls"],
            Reply::ok(&format!("docker.io/library/todo-api:{api}\ndocker.io/library/todo-web:{web}\n")),
        )
        .on("docker", &["image", "inspect", "--format", "{{.Id}}"], Reply::ok("sha256:1a2b\n"))
        .on("helm", &["status", "todo"], Reply::ok(&release_json("deployed", 1)));
    world.clear_calls();
    let run = deploy(&world, &[]);
    assert!(run.success(), "{}", run.all());
    let changes = changes(&world.calls());
    assert_eq!(
        changes,
        [
            "kubectl --context todo wait --namespace ingress-nginx --for=condition=ready pod --selector app.kubernetes.io/component=controller --timeout=300s"
        ],
        "only the (instant) ingress readiness check runs"
    );
    for phase in ["containerize", "helm-gen", "secrets", "release"] {
        assert!(
            run.stderr.contains(&format!("– {phase} skipped: unchanged since")),
            "{phase}: {}",
            run.stderr
        );
    }
}

#[test]
fn fakes_build_in_cluster_starts_minikube_first_builds_with_its_docker_and_loads_nothing() {
    let mut world = fresh();
    world.record_env("DOCKER_HOST").on(
        "minikube",
        &["-p", "todo", "docker-env", "--shell", "none"],
        Reply::ok("DOCKER_TLS_VERIFY=1\nDOCKER_HOST=tcp://192.168.49.2:2376\nDOCKER_CERT_PATH=/home/u/.minikube/certs\nMINIKUBE_ACTIVE_DOCKERD=todo\n"),
    );
    let run = deploy(&world, &["--build-in-cluster"]);
    assert!(run.success(), "{}", run.all());
    let calls = world.calls();
    let changes = changes(&calls);
    assert_in_order(
        &changes,
        &["minikube start -p todo", "kubectl --context todo wait", "docker build", "helm upgrade"],
    );
    assert!(!changes.iter().any(|line| line.contains("image load")), "{changes:#?}");
    let builds: Vec<&Call> = calls.iter().filter(|c| c.tool == "docker" && c.argv[0] == "build").collect();
    assert_eq!(builds.len(), 2);
    for build in builds {
        assert_eq!(build.env["DOCKER_HOST"].as_deref(), Some("tcp://192.168.49.2:2376"), "{}", build.line());
    }
    let helm = calls.iter().find(|c| c.tool == "helm" && c.argv[0] == "upgrade").unwrap();
    assert_eq!(helm.env["DOCKER_HOST"], None, "only the engine's commands go to minikube's daemon");
}

#[test]
fn fakes_helm4_gets_rollback_on_failure_and_wait_watcher() {
    let mut world = fresh();
    world.on("helm", &["version", "--short"], Reply::ok("v4.1.4+g05fa379\n"));
    let run = deploy(&world, &["--timeout", "2m"]);
    assert!(run.success(), "{}", run.all());
    let upgrade = upgrade(&world.calls());
    assert!(
        upgrade.line().ends_with("--rollback-on-failure --wait=watcher --timeout 120s"),
        "{}",
        upgrade.line()
    );
    assert!(!upgrade.argv.contains(&"--atomic".to_owned()));
}

#[test]
fn fakes_a_release_stuck_in_pending_upgrade_is_rolled_back_before_the_upgrade() {
    let mut world = fresh();
    world.on_seq(
        "helm",
        &["status", "todo"],
        vec![Reply::ok(&release_json("pending-upgrade", 4)), Reply::ok(&release_json("deployed", 6))],
    );
    world.on("helm", &["rollback"], Reply::ok("Rollback was a success! Happy Helming!\n"));
    let run = deploy(&world, &[]);
    assert!(run.success(), "{}", run.all());
    let helm: Vec<String> =
        changes(&world.calls()).into_iter().filter(|line| line.starts_with("helm")).collect();
    assert_eq!(helm.len(), 2, "{helm:?}");
    assert_eq!(helm[0], "helm rollback todo --kube-context todo --namespace todo --wait --timeout 300s");
    assert!(helm[1].starts_with("helm upgrade --install todo"));
    assert!(run.stderr.contains("stuck in pending-upgrade at revision 4"), "{}", run.stderr);
}

#[test]
fn fakes_an_install_that_never_finished_is_uninstalled_first() {
    let mut world = fresh();
    world.on_seq(
        "helm",
        &["status", "todo"],
        vec![Reply::ok(&release_json("pending-install", 1)), Reply::ok(&release_json("deployed", 1))],
    );
    world.on("helm", &["uninstall"], Reply::ok("release \"todo\" uninstalled\n"));
    let run = deploy(&world, &[]);
    assert!(run.success(), "{}", run.all());
    let helm: Vec<String> =
        changes(&world.calls()).into_iter().filter(|line| line.starts_with("helm")).collect();
    assert_eq!(helm[0], "helm uninstall todo --kube-context todo --namespace todo --wait --timeout 300s");
}

const CRASHING_PODS: &str = r#"{"items": [
  {"metadata": {"name": "todo-api-6f7d9-x2x", "labels": {"app.kubernetes.io/component": "api"}},
   "spec": {"containers": [{"name": "api", "image": "todo-api:abc"}]},
   "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
     "containerStatuses": [{"name": "api", "ready": false, "restartCount": 4,
       "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 1m20s restarting failed container"}},
       "lastState": {"terminated": {"reason": "Error", "exitCode": 2}}}]}},
  {"metadata": {"name": "todo-web-5c4b-k9z", "labels": {"app.kubernetes.io/component": "web"}},
   "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
]}"#;

const WARNINGS: &str = r#"{"items": [
  {"type": "Warning", "reason": "BackOff", "message": "Back-off restarting failed container api",
   "involvedObject": {"kind": "Pod", "name": "todo-api-6f7d9-x2x"}, "lastTimestamp": "2026-12-07T10:00:00Z", "count": 5}
]}"#;

#[test]
fn fakes_a_crash_looping_pod_is_diagnosed_with_its_reason_its_last_log_lines_and_what_to_do() {
    let mut world = fresh();
    world
        .on(
            "helm",
            &["upgrade"],
            Reply::fail(1, "Error: UPGRADE FAILED: release todo failed, and has been rolled back due to atomic being set: context deadline exceeded\n"),
        )
        .on("helm", &["status", "todo"], Reply::ok(&release_json("deployed", 3)))
        .on("kubectl", &["--context", "todo", "--namespace", "todo", "get", "pods"], Reply::ok(CRASHING_PODS))
        .on("kubectl", &["--context", "todo", "--namespace", "todo", "get", "events"], Reply::ok(WARNINGS))
        .on(
            "kubectl",
            &["--context", "todo", "--namespace", "todo", "logs", "todo-api-6f7d9-x2x"],
            Reply::ok("todo-api: invalid configuration: DATABASE_URL: cannot reach the database\n"),
        );
    let run = deploy(&world, &[]);
    assert!(!run.success());
    let out = run.stderr;
    assert!(
        out.contains("BackOff pod/todo-api-6f7d9-x2x: Back-off restarting failed container api (x5)"),
        "{out}"
    );
    assert!(
        out.contains("pod todo-api-6f7d9-x2x (container api) is not ready: CrashLoopBackOff: the container exited with code 2 (Error)"),
        "{out}"
    );
    assert!(
        out.contains("│ todo-api: invalid configuration: DATABASE_URL: cannot reach the database"),
        "{out}"
    );
    assert!(out.contains("what to do: the app exits at start"), "{out}");
    assert!(!out.contains("pod todo-web-5c4b-k9z"), "a ready pod is not reported: {out}");
    assert!(out.contains("the previous revision (if any) keeps serving"), "{out}");
    assert!(
        out.contains("resume with `cargo xtask deploy --no-verify --build host --from release`"),
        "{out}"
    );
    let logs = world.calls().into_iter().find(|c| c.argv.contains(&"logs".to_owned())).unwrap();
    assert!(
        logs.argv.contains(&"--previous".to_owned()),
        "a crash loop's output is the last run's: {}",
        logs.line()
    );
}

/// What `kubectl get pods,deploy,rs,events -o json` prints: one list, each item with its kind.
const CRASHING_NAMESPACE: &str = r#"{"kind": "List", "items": [
  {"kind": "Pod", "metadata": {"name": "todo-api-6f7d9-x2x", "labels": {"app.kubernetes.io/component": "api"}},
   "spec": {"containers": [{"name": "api", "image": "todo-api:abc"}]},
   "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
     "containerStatuses": [{"name": "api", "ready": false, "restartCount": 4,
       "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 1m20s restarting failed container"}},
       "lastState": {"terminated": {"reason": "Error", "exitCode": 2}}}]}},
  {"kind": "Deployment", "metadata": {"name": "todo-api"}, "spec": {"replicas": 1}, "status": {"replicas": 1}},
  {"kind": "Event", "type": "Warning", "reason": "BackOff", "message": "Back-off restarting failed container api",
   "involvedObject": {"kind": "Pod", "name": "todo-api-6f7d9-x2x"}, "lastTimestamp": "2026-12-07T10:00:00Z", "count": 5}
]}"#;

#[test]
fn fakes_deploy_ai_runs_the_builtin_assistant_after_a_failed_release_and_still_fails() {
    let mut world = fresh();
    world
        .on(
            "helm",
            &["upgrade"],
            Reply::fail(1, "Error: UPGRADE FAILED: release todo failed, and has been rolled back due to atomic being set: context deadline exceeded\n"),
        )
        .on("helm", &["status", "todo"], Reply::ok(&release_json("deployed", 3)))
        .on("kubectl", &["--context", "todo", "--namespace", "todo", "get", "pods"], Reply::ok(CRASHING_PODS))
        .on("kubectl", &["--context", "todo", "--namespace", "todo", "get", "events"], Reply::ok(WARNINGS))
        .on(
            "kubectl",
            &["--context", "todo", "--namespace", "todo", "get", "pods,deploy,rs,events", "--output", "json"],
            Reply::ok(CRASHING_NAMESPACE),
        )
        .on("kubectl", &["--context", "todo", "--namespace", "todo", "get", "secrets"], Reply::ok(r#"{"items": []}"#))
        .on("kubectl", &["--context", "todo", "--namespace", "todo", "get", "ingresses"], Reply::ok(r#"{"items": []}"#))
        .on(
            "kubectl",
            &["--context", "todo", "--namespace", "todo", "logs", "todo-api-6f7d9-x2x"],
            Reply::ok("todo-api: invalid configuration: DATABASE_URL: cannot reach the database\n"),
        );
    let run = deploy(&world, &["--ai"]);
    assert!(!run.success(), "the deploy's failure is still the result");
    let out = run.stderr;
    let assistant = out.find("the built-in assistant on the failed deploy").expect(&out);
    let after = &out[assistant..];
    assert!(after.contains("1. crash loop: pod/todo-api-6f7d9-x2x (container api)"), "{after}");
    assert!(
        after.contains(
            "cause: CrashLoopBackOff: the container exited with code 2 (Error); it restarted 4 times"
        ),
        "{after}"
    );
    assert!(after.contains("│ todo-api: invalid configuration: DATABASE_URL"), "{after}");
    assert!(after.contains("no LLM configured"), "{after}");
    assert!(out.contains("phase `release` failed"), "{out}");

    // Without --ai, no assistant.
    let run = deploy(&world, &[]);
    assert!(!run.success() && !run.stderr.contains("built-in assistant"), "{}", run.stderr);
}

#[test]
fn fakes_missing_cluster_tools_are_named_before_anything_is_built() {
    let mut world = fresh();
    world.uninstall("minikube").uninstall("helm");
    let run = deploy(&world, &[]);
    assert!(!run.success());
    assert!(run.stderr.contains("deploy needs minikube, helm on PATH; install:"), "{}", run.stderr);
    assert!(run.stderr.contains("  helm: "), "with each one's install hint: {}", run.stderr);
    assert!(
        world.calls().is_empty(),
        "nothing ran: {:?}",
        world.calls().iter().map(Call::line).collect::<Vec<_>>()
    );
}

#[test]
fn fakes_cluster_env_without_a_registry_says_how_to_give_one() {
    let world = fresh();
    let run = world.xtask(&["deploy", "--env", "cluster"]);
    assert!(!run.success());
    assert!(
        run.stderr.contains("needs a registry its cluster can pull from: pass --registry"),
        "{}",
        run.stderr
    );
    assert!(world.calls().iter().all(|c| c.tool != "helm" && c.tool != "docker"), "nothing ran");
}

#[test]
fn fakes_cluster_env_pushes_and_pins_the_images_by_digest() {
    let mut world = fresh();
    let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
    world
        .file(
            ".env",
            &format!(
                "JWT_SECRET={CANARY_JWT}\nDATABASE_URL=postgres://todo:{CANARY_PG}@db.example.com/todo\n"
            ),
        )
        .on("docker", &["tag"], Reply::ok(""))
        .on(
            "docker",
            &["push"],
            Reply::ok(&format!(
                "The push refers to repository [127.0.0.1:5000/todo-api]\nabc: digest: {digest} size: 528\n"
            )),
        )
        .on("kubectl", &["config", "view"], Reply::ok("todo-ci https://127.0.0.1:6443"))
        .on("kubectl", &["apply"], Reply::ok("serverside-applied\n"))
        .on(
            "kubectl",
            &["--namespace", "todo", "get"],
            Reply::ok("secret/todo-secrets\nconfigmap/todo-env\n"),
        )
        .on(
            "kubectl",
            &["--namespace", "todo", "get", "deployments"],
            Reply::ok("deployment.apps/todo-api\n"),
        )
        .on("kubectl", &["--namespace", "todo", "rollout"], Reply::ok(""))
        .on("kubectl", &["--namespace", "todo", "get", "pods"], Reply::ok(r#"{"items": []}"#));
    let run = world.xtask(&[
        "deploy",
        "--env",
        "cluster",
        "--registry",
        "127.0.0.1:5000",
        "--no-verify",
        "--build",
        "host",
        "--ingress-class",
        "traefik",
    ]);
    assert!(run.success(), "{}", run.all());
    let api = tag(&world, "todo-api");
    let calls = world.calls();
    assert!(calls.iter().any(|c| c.line() == format!("docker push 127.0.0.1:5000/todo-api:{api}")));
    let upgrade = upgrade(&calls).line();
    assert!(upgrade.contains("--set-string image.registry=127.0.0.1:5000"), "{upgrade}");
    assert!(upgrade.contains(&format!("--set-string api.image.digest={digest}")), "{upgrade}");
    assert!(upgrade.contains("--set-string ingress.className=traefik"), "{upgrade}");
    assert!(!upgrade.contains("--kube-context"), "the current context: {upgrade}");
    assert!(
        calls.iter().all(|c| c.tool != "minikube" || c.argv.first().map(String::as_str) == Some("version"))
    );
}

#[test]
fn fakes_dry_run_of_a_first_deploy_to_a_registry_plans_the_push_and_the_digest_pin() {
    // Nothing built or pushed yet: the plan still reaches helm, with the digest the push will name.
    let mut world = fresh();
    world
        .file(
            ".env",
            &format!(
                "JWT_SECRET={CANARY_JWT}\nDATABASE_URL=postgres://todo:{CANARY_PG}@db.example.com/todo\n"
            ),
        )
        .on("kubectl", &["config", "view"], Reply::ok("todo-ci https://127.0.0.1:6443"))
        .on("kubectl", &["--namespace", "todo", "get", "deployments"], Reply::ok(""))
        .on("kubectl", &["--namespace", "todo", "get", "ingress"], Reply::ok(""));
    let run = world.xtask(&[
        "--dry-run",
        "deploy",
        "--env",
        "cluster",
        "--registry",
        "127.0.0.1:5000",
        "--build",
        "host",
        "--ingress-class",
        "traefik",
    ]);
    assert!(run.success(), "{}", run.all());
    assert!(changes(&world.calls()).is_empty(), "a dry run changed something: {:?}", changes(&world.calls()));
    let planned =
        run.stderr.lines().find(|line| line.contains("[dry-run] $ helm upgrade")).unwrap_or_else(|| {
            panic!("no planned helm upgrade:\n{}", run.all());
        });
    assert!(planned.contains("--set-string 'api.image.digest=<digest from the push>'"), "{planned}");
    assert!(run.stderr.contains("[dry-run] $ docker push 127.0.0.1:5000/todo-api:"), "{}", run.all());
    assert!(
        run.stderr
            .contains("would check the Ingress's address once the release has one with Host: todo.local"),
        "{}",
        run.all()
    );
}

#[test]
fn fakes_dry_run_deploy_prints_every_command_in_order_and_changes_nothing() {
    let world = fresh();
    // The chart is committed, as in a checkout: helm-gen has nothing to write.
    assert!(world.xtask(&["helm-gen"]).success());
    world.clear_calls();
    let run = world.xtask(&["--dry-run", "deploy", "--build", "host"]);
    assert!(run.success(), "{}", run.all());
    assert!(changes(&world.calls()).is_empty(), "a dry run changed something: {:?}", changes(&world.calls()));
    let records: Vec<_> = std::fs::read_dir(world.root.join("target/xtask/phases"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(records, ["helm-gen.json"], "a dry run records no phase");
    let root = world.root.display().to_string();
    let text = normalize_durations(&run.stderr).replace(&root, "<root>");
    // The tags are content hashes of the sources: hide them.
    let text: String = text
        .split_inclusive(|c: char| !c.is_ascii_alphanumeric())
        .map(|word| {
            let (hex, rest) =
                word.split_at(word.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()).len());
            let is_tag =
                hex.len() == 12 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if is_tag { format!("<tag>{rest}") } else { word.to_owned() }
        })
        .collect();
    expect![[r#"
          $ docker version --format '{{.Server.Version}}'
          $ rustc -V
        ▶ containerize
          $ docker image inspect --format '{{.Id}}' todo-api:<tag>
          $ docker image inspect --format '{{.Id}}' todo-web:<tag>
          host build with docker; 2 of 2 images to build
          [dry-run] $ cargo build --release --locked --package todo-api --package todo-web
          [dry-run] $ sh <root>/infra/docker/stage-rootfs.sh <root>/target/release/todo-api <root>/target/xtask/context/todo-api
          [dry-run] $ docker build --target runtime-host --file <root>/infra/docker/api.Dockerfile --tag todo-api:<tag> --label org.opencontainers.image.version=<tag> <root>/target/xtask/context/todo-api
          [dry-run] $ sh <root>/infra/docker/stage-rootfs.sh <root>/target/release/todo-web <root>/target/xtask/context/todo-web
          [dry-run] $ docker build --target runtime-host --file <root>/infra/docker/web.Dockerfile --tag todo-web:<tag> --label org.opencontainers.image.version=<tag> <root>/target/xtask/context/todo-web
          image     tag           size  goal   budget  build
          todo-api  <tag>  -     30 MB  200 MB  <T>
          todo-web  <tag>  -     15 MB  100 MB  <T>
        ✓ containerize planned in <T>
        ▶ minikube
          $ minikube status -p todo -o json
          [dry-run] $ minikube start -p todo --cpus=2 --memory=4g
          then: enable the ingress addon and wait for its controller, load the images, point the ingress host at the node
        ✓ minikube planned in <T>
        – helm-gen skipped: unchanged since <T> ago
        ▶ secrets
          [dry-run] $ kubectl --context todo apply --server-side --field-manager=cargo-xtask-secrets -f - < (stdin: 248 bytes)
          [dry-run] $ kubectl --context todo apply --server-side --field-manager=cargo-xtask-secrets --force-conflicts -f - <<< <redacted>
          $ kubectl --context todo --namespace todo get secret todo-secrets -o 'go-template={{with .metadata.annotations}}{{if index . "kubectl.kubernetes.io/last-applied-configuration"}}present{{end}}{{end}}'
        would apply with context `todo` (key names only; values are never shown):
          object                    key                                   from
          Secret todo/todo-secrets  DATABASE_URL                          composed for the bundled Postgres
                                    JWT_SECRET                            .env line 1
                                    POSTGRES_PASSWORD                     .env line 2
          ConfigMap todo/todo-env   (no keys: .env overrides no setting)
        ✓ secrets planned in <T>
          $ helm version --short
        ▶ release
          $ helm status todo --kube-context todo --namespace todo --output json
          release `todo` in namespace `todo` (context `todo`) with Helm 3 (--timeout <T>)
          [dry-run] $ helm upgrade --install todo infra/helm/todo --kube-context todo --namespace todo --create-namespace --values infra/helm/todo/values-minikube.yaml --set-string image.registry= --set-string api.image.repository=todo-api --set-string api.image.tag=<tag> --set-string web.image.repository=todo-web --set-string web.image.tag=<tag> --atomic --wait --timeout <T>
          $ kubectl --context todo --namespace todo get deployments --selector app.kubernetes.io/instance=todo --output name
          [dry-run] $ kubectl --context todo --namespace todo rollout status deployment.apps/todo-api --timeout=300s
          [dry-run] $ kubectl --context todo --namespace todo rollout status deployment.apps/todo-web --timeout=300s
          the app: http://todo.local/ (`cargo xtask status --env minikube` shows its pods)
        ✓ release planned in <T>
        ▶ verify
          $ minikube -p todo ip
          would check http://192.168.49.2 with Host: todo.local: the page, /api/healthz, /api/readyz, then sign up, add, list, complete and delete a task, and one chat turn
        ✓ verify planned in <T>

          phase         result   time  budget  note
          containerize  planned  <T>  <T>
          minikube      planned  <T>  -
          helm-gen      skipped  -     -       unchanged since <T> ago
          secrets       planned  <T>  -
          release       planned  <T>  <T>
          verify        planned  <T>  -
        5 planned, 1 skipped, 0 failed in <T>
    "#]].assert_eq(&text);
}

#[test]
fn fakes_status_shows_the_revision_each_pod_and_what_is_wrong_with_it() {
    let mut world = World::healthy();
    world.on("helm", &["status", "todo"], Reply::ok(&release_json("deployed", 7))).on(
        "kubectl",
        &["--context", "todo", "--namespace", "todo", "get", "pods"],
        Reply::ok(CRASHING_PODS),
    );
    let run = world.xtask(&["status"]);
    assert!(run.success(), "{}", run.all());
    assert!(
        run.stderr.contains("release `todo` in namespace `todo` (context `todo`): revision 7, deployed"),
        "{}",
        run.stderr
    );
    let api = run.stderr.lines().find(|line| line.contains("todo-api-6f7d9-x2x")).unwrap();
    assert!(
        api.contains("no")
            && api.contains(" 4 ")
            && api.contains("todo-api:abc")
            && api.contains("CrashLoopBackOff"),
        "{api}"
    );
    assert!(run.stderr.contains("URL: http://todo.local/"), "{}", run.stderr);

    world.on("helm", &["status", "todo"], Reply::fail(1, NOT_FOUND));
    let run = world.xtask(&["status"]);
    assert!(run.success());
    assert!(
        run.stderr.contains("is not installed: `cargo xtask deploy --env minikube` installs it"),
        "{}",
        run.stderr
    );
}

#[test]
fn fakes_down_uninstalls_waits_for_the_pods_and_removes_the_secrets_purge_asks_first() {
    let mut world = World::healthy();
    world
        .on("helm", &["status", "todo"], Reply::ok(&release_json("deployed", 2)))
        .on("helm", &["uninstall"], Reply::ok("release \"todo\" uninstalled\n"))
        .on("kubectl", &["--context", "todo", "--namespace", "todo", "wait"], Reply::ok(""))
        .on("kubectl", &["--context", "todo", "--namespace", "todo", "delete"], Reply::ok(""))
        .on(
            "kubectl",
            &["--context", "todo", "--namespace", "todo", "get", "persistentvolumeclaims"],
            Reply::ok("persistentvolumeclaim/data-todo-postgresql-0\n"),
        )
        .on("minikube", &["stop"], Reply::ok(""));
    let run = world.xtask(&["down", "--cluster"]);
    assert!(run.success(), "{}", run.all());
    assert_in_order(
        &changes(&world.calls()),
        &[
            "helm uninstall todo --kube-context todo --namespace todo --wait",
            "kubectl --context todo --namespace todo wait --for=delete pod --selector app.kubernetes.io/instance=todo",
            "kubectl --context todo --namespace todo delete secret/todo-secrets configmap/todo-env --ignore-not-found",
            "minikube stop -p todo",
        ],
    );
    assert!(
        run.stderr.contains("kept the database's volume claims"),
        "the data is kept and said so: {}",
        run.stderr
    );

    world.clear_calls();
    let run = world.xtask(&["down", "--purge"]);
    assert!(!run.success(), "no terminal to ask on, no --yes: nothing is deleted");
    assert!(run.stderr.contains("pass --yes"), "{}", run.stderr);
    assert!(changes(&world.calls()).is_empty(), "{:?}", world.calls());
}
