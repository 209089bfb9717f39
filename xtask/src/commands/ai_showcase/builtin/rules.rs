//! The known failure patterns: each found in the collected state and explained with its cause,
//! in the cluster's own words where it has them, and its fix.

use super::state::State;
use crate::kube::{ContainerStatus, Event, Pod, Problem};

/// A known failure pattern found in the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What it concerns: `pod/todo-api-7d9f…`, `ingress/todo`, `release/todo`.
    pub subjects: Vec<String>,
    /// The pattern: "crash loop", "image cannot be pulled", ...
    pub title: String,
    /// Why, in the cluster's own words where it has them.
    pub cause: String,
    pub fix: String,
}

/// The known failure patterns, most fundamental first; the same cause on several pods is one
/// finding naming them all.
pub fn findings(state: &State) -> Vec<Finding> {
    let mut found: Vec<Finding> = Vec::new();
    let mut add = |subject: String, title: &str, cause: String, fix: String| match found
        .iter_mut()
        .find(|f| f.title == title && f.cause == cause && f.fix == fix)
    {
        Some(finding) => finding.subjects.push(subject),
        None => found.push(Finding { subjects: vec![subject], title: title.to_owned(), cause, fix }),
    };

    if let Some((status, revision)) = &state.release
        && status.starts_with("pending-")
    {
        add(
            format!("release/{}", state.target.release),
            "release stuck",
            format!(
                "revision {revision} is {status}: an install, upgrade or rollback never finished (helm was \
                 interrupted), and helm refuses every later upgrade until it is resolved"
            ),
            "`cargo xtask deploy` rolls it back first (or uninstalls a release that never installed); by hand: \
             `helm rollback RELEASE` to the last good revision"
                .to_owned(),
        );
    }

    for pod in state.pods.iter().filter(|pod| !pod.terminating()) {
        let subject = |container: Option<&str>| {
            format!(
                "pod/{}{}",
                pod.metadata.name,
                container.map_or(String::new(), |c| format!(" (container {c})"))
            )
        };
        let mut explained = None;
        if let Some(problem) = pod.problem() {
            let (title, cause, fix) = explain(pod, &problem, &state.events);
            add(subject(problem.container.as_deref()), title, cause, fix);
            explained = Some((problem.container, title));
        }
        // A container that was killed and restarted may run, even be Ready, again: the kill is
        // still a cause to fix, and it comes back.
        for status in pod.status.container_statuses.iter().filter(|status| status.restart_count > 0) {
            let Some((title, cause, fix)) = past_kill(pod, status, &state.events) else { continue };
            let told = explained.as_ref().is_some_and(|(container, told)| {
                container.as_deref() == Some(status.name.as_str()) && *told == title
            });
            if !told {
                add(subject(Some(&status.name)), title, cause, fix);
            }
        }
    }

    for ingress in &state.ingresses {
        let addresses = ingress["status"]["loadBalancer"]["ingress"].as_array().map_or(0, Vec::len);
        if addresses > 0 {
            continue;
        }
        let class = ingress["spec"]["ingressClassName"].as_str().unwrap_or("(default)");
        add(
            format!("ingress/{}", ingress["metadata"]["name"].as_str().unwrap_or("?")),
            "ingress without an address",
            format!(
                "no ingress controller has admitted it: class `{class}` has no running controller, or it has not seen the Ingress yet"
            ),
            format!(
                "check that a controller serves class `{class}` (`kubectl get ingressclass`, its pods); with minikube \
                 `cargo xtask minikube` enables the ingress addon; on another cluster pass `--ingress-class` to deploy"
            ),
        );
    }

    for deployment in &state.deployments {
        let stalled = deployment["status"]["conditions"].as_array().into_iter().flatten().any(|c| {
            c["type"] == "Progressing" && c["status"] == "False" && c["reason"] == "ProgressDeadlineExceeded"
        });
        if stalled {
            add(
                format!("deployment/{}", deployment["metadata"]["name"].as_str().unwrap_or("?")),
                "rollout stalled",
                "its new pods did not become ready within progressDeadlineSeconds (ProgressDeadlineExceeded)"
                    .to_owned(),
                "the pod findings say why; after fixing it, `cargo xtask deploy` rolls out again".to_owned(),
            );
        }
    }
    found
}

/// The pattern, cause and fix of one pod's problem.
fn explain(pod: &Pod, problem: &Problem, events: &[Event]) -> (&'static str, String, String) {
    let about_pod: Vec<&Event> =
        events.iter().filter(|e| e.object.kind == "Pod" && e.object.name == pod.metadata.name).collect();
    let image = problem
        .container
        .as_ref()
        .and_then(|name| pod.spec.containers.iter().find(|c| &c.name == name))
        .map_or("?", |c| c.image.as_str());
    let reason = problem.reason.as_str();
    let message = problem.message.trim();
    match reason {
        "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" => (
            "image cannot be pulled",
            format!("{reason}: the node cannot pull `{image}`{}", colon(message)),
            "check that the image and tag exist in the registry and the node can reach it: `cargo xtask deploy \
             --env cluster --registry HOST` pushes the images it deploys; a private registry needs \
             imagePullSecrets; with minikube, `cargo xtask minikube` loads the built images instead"
                .to_owned(),
        ),
        "ErrImageNeverPull" => (
            "image not on the node",
            format!("ErrImageNeverPull: `{image}` is not on the node and imagePullPolicy is Never{}", colon(message)),
            "load the image into the cluster: `cargo xtask minikube` (minikube image load), or push it to a \
             registry and deploy with `--registry`; unique tags keep a stale image from being used"
                .to_owned(),
        ),
        "OOMKilled" => (
            "out of memory",
            format!(
                "OOMKilled: the container used more than its memory limit ({}) and the kernel killed it",
                limit(pod, problem.container.as_deref(), "memory")
            ),
            oom_fix(pod),
        ),
        "CrashLoopBackOff" | "Error" | "RunContainerError" => {
            if message.starts_with("its command cannot start") {
                (
                    "crash loop",
                    format!("CrashLoopBackOff: {message}"),
                    format!(
                        "the program the container runs is not in `{image}` (or cannot run there): fix the pod's \
                         command/args or the image's ENTRYPOINT, and check the image tag"
                    ),
                )
            } else if let Some((kind, said)) = probe_kill(problem.exit_code, &about_pod) {
                let container = problem.container.as_deref().unwrap_or("?");
                probe_kill_finding(pod, container, kind, said, problem.exit_code, pod.restarts())
            } else {
                (
                    "crash loop",
                    format!(
                        "{reason}: {}; it restarted {} times",
                        if message.is_empty() { "the container keeps exiting" } else { message },
                        pod.restarts()
                    ),
                    "its last log lines (below) say why it exits: a setting it rejects (check .env and \
                     `cargo xtask secrets`) or a database it cannot reach (DATABASE_URL)"
                        .to_owned(),
                )
            }
        }
        "Unschedulable" => {
            let requests = requests(pod);
            let fix = if message.contains("Insufficient") {
                format!(
                    "no node has that much free: lower the requests ({requests}) in deploy/todo.toml \
                     (services.<name>.resources.requests), or give the cluster more (minikube: `minikube start \
                     --cpus/--memory`)"
                )
            } else if message.contains("taint") {
                "the nodes are tainted against it: add a toleration, or untaint a node".to_owned()
            } else if message.contains("affinity") || message.contains("selector") {
                "no node matches its nodeSelector/affinity: fix the selector or label a node".to_owned()
            } else if message.contains("persistentvolumeclaim") || message.contains("PersistentVolumeClaim") {
                "its PersistentVolumeClaim is not bound: check the StorageClass (`kubectl get pvc,storageclass`)"
                    .to_owned()
            } else {
                "see the scheduler's message: no node fits the pod".to_owned()
            };
            ("pod cannot be scheduled", format!("Unschedulable: {message} (it requests {requests})"), fix)
        }
        "CreateContainerConfigError" | "CreateContainerError" => {
            if let Some((key, secret)) = missing_key(message) {
                (
                    "missing Secret key",
                    format!("{reason}: the pod reads key `{key}` from Secret `{secret}`, which does not have it"),
                    format!(
                        "set {key} in .env and run `cargo xtask secrets` (every key in a service's secret_env must \
                         be in the Secret); or remove it from secret_env in deploy/todo.toml"
                    ),
                )
            } else if message.contains("not found") && message.contains("secret") {
                (
                    "missing Secret",
                    format!("{reason}: {message}"),
                    "create it: `cargo xtask secrets` applies the app's Secret and ConfigMap from .env".to_owned(),
                )
            } else {
                (
                    "container cannot be created",
                    format!("{reason}: {message}"),
                    "a Secret or ConfigMap the pod names may be missing: `cargo xtask secrets` applies them".to_owned(),
                )
            }
        }
        "NotReady" => {
            let unhealthy = about_pod.iter().rev().find(|e| e.reason == "Unhealthy");
            match unhealthy {
                Some(event) => {
                    let said = event.message.trim();
                    let kind = probe_kind(said).unwrap_or("readiness");
                    let probe = probe_target(pod, problem.container.as_deref(), kind);
                    let service = service(pod);
                    let fix = if kind == "readiness" && service == "api" && probe.contains("/readyz") {
                        "the api's /readyz checks the database: check DATABASE_URL and that the cluster reaches \
                         the database; otherwise the probe's path and port in deploy/todo.toml"
                            .to_owned()
                    } else {
                        format!(
                            "{probe} of the {service} container does not answer with success: its logs (`cargo \
                             xtask logs`) say why; or the probe asks the wrong path or port \
                             (services.{service}.{kind}_path and port in deploy/todo.toml)"
                        )
                    };
                    ("failing probe", format!("its {kind} probe fails: {said}"), fix)
                }
                None => (
                    "not ready",
                    "running, but its readiness probe does not pass yet".to_owned(),
                    "wait, or look at its logs: `cargo xtask logs`".to_owned(),
                ),
            }
        }
        _ => {
            let last_warning = about_pod.iter().rev().find(|e| e.kind == "Warning");
            match last_warning {
                Some(event) => (
                    "pod not ready",
                    format!("{reason}; last warning: {} {}", event.reason, event.message.trim()),
                    problem.advice().to_owned(),
                ),
                None => ("pod not ready", format!("{reason}{}", colon(message)), problem.advice().to_owned()),
            }
        }
    }
}

fn colon(message: &str) -> String {
    if message.is_empty() { String::new() } else { format!(" ({message})") }
}

/// `couldn't find key JWT_SECRET in Secret todo/todo-secrets` → (key, secret).
fn missing_key(message: &str) -> Option<(String, String)> {
    let rest = message.split("couldn't find key ").nth(1)?;
    let (key, rest) = rest.split_once(" in Secret ")?;
    let secret = rest.split_whitespace().next()?.trim_end_matches(['.', ',']);
    Some((key.to_owned(), secret.rsplit('/').next().unwrap_or(secret).to_owned()))
}

/// `memory 64Ti, cpu 100m` over the pod's containers.
fn requests(pod: &Pod) -> String {
    let mut parts = Vec::new();
    for container in &pod.spec.containers {
        if let Some(requests) = container.resources["requests"].as_object() {
            for (resource, amount) in requests {
                parts.push(format!("{resource} {}", amount.as_str().unwrap_or("?")));
            }
        }
    }
    if parts.is_empty() { "no explicit requests".to_owned() } else { parts.join(", ") }
}

fn limit(pod: &Pod, container: Option<&str>, resource: &str) -> String {
    container
        .and_then(|name| pod.spec.containers.iter().find(|c| c.name == name))
        .and_then(|c| c.resources["limits"][resource].as_str())
        .unwrap_or("none set")
        .to_owned()
}

/// The pod's service in deploy/todo.toml (its component label), `<name>` when it has none.
fn service(pod: &Pod) -> &str {
    match pod.component() {
        "?" => "<name>",
        component => component,
    }
}

fn oom_fix(pod: &Pod) -> String {
    format!(
        "raise limits.memory in [services.{}.resources] of deploy/todo.toml, then `cargo xtask deploy` \
         (helm-gen writes it into the chart and the pods roll); or find what grows in the app",
        service(pod)
    )
}

/// Which probe an Unhealthy event is about: `Liveness probe failed: ...` → liveness.
fn probe_kind(message: &str) -> Option<&'static str> {
    ["liveness", "readiness", "startup"]
        .into_iter()
        .find(|kind| message.to_lowercase().starts_with(&format!("{kind} probe")))
}

/// What a container's probe of `kind` asks, from the pod spec: "`/healthz` on port 8080".
fn probe_target(pod: &Pod, container: Option<&str>, kind: &str) -> String {
    let spec = container.and_then(|name| pod.spec.containers.iter().find(|c| c.name == name));
    let Some(probe) = spec.map(|c| c.probe(kind)) else { return format!("its {kind} probe") };
    let port = |at: &serde_json::Value| match at {
        serde_json::Value::String(name) => name.clone(),
        other => other.to_string(),
    };
    if let Some(path) = probe["httpGet"]["path"].as_str() {
        format!("`{path}` on port {}", port(&probe["httpGet"]["port"]))
    } else if !probe["tcpSocket"].is_null() {
        format!("a connection to port {}", port(&probe["tcpSocket"]["port"]))
    } else {
        format!("its {kind} probe")
    }
}

/// Whether the last run was ended by the kubelet for a failing liveness or startup probe: killed
/// (exit code 137, or 143 for an app that handles SIGTERM) without OOMKilled, and an Unhealthy
/// event saying which probe. The probe's kind and the kubelet's words.
fn probe_kill<'a>(exit_code: Option<i32>, about_pod: &[&'a Event]) -> Option<(&'static str, &'a str)> {
    if !matches!(exit_code, Some(137 | 143)) {
        return None;
    }
    about_pod.iter().rev().filter(|e| e.reason == "Unhealthy").find_map(|e| {
        let said = e.message.trim();
        probe_kind(said).filter(|kind| *kind != "readiness").map(|kind| (kind, said))
    })
}

fn probe_kill_finding(
    pod: &Pod,
    container: &str,
    kind: &'static str,
    said: &str,
    exit_code: Option<i32>,
    restarts: u32,
) -> (&'static str, String, String) {
    let probe = probe_target(pod, Some(container), kind);
    let service = service(pod);
    (
        if kind == "startup" { "killed by its startup probe" } else { "killed by its liveness probe" },
        format!(
            "the kubelet killed it (exit code {}, not out of memory) because its {kind} probe failed: {said}; it \
             restarted {restarts} times",
            exit_code.unwrap_or(-1)
        ),
        format!(
            "not a crash: the app did not answer {probe} in time. Its logs (`cargo xtask logs`) say what blocks it; \
             if it only starts slowly, give it longer (the startup probe's failureThreshold x periodSeconds in the \
             chart); check that services.{service}.{kind}_path in deploy/todo.toml is a path it serves"
        ),
    )
}

/// A restarted container's last end, when it is a known kill: out of memory, or a probe.
fn past_kill(
    pod: &Pod,
    status: &ContainerStatus,
    events: &[Event],
) -> Option<(&'static str, String, String)> {
    let last = status.last_state.terminated.as_ref()?;
    if last.reason.as_deref() == Some("OOMKilled") {
        let cause = format!(
            "OOMKilled: container {} used more than its memory limit ({}) and the kernel killed it; it restarted \
             {} times and runs again, until it grows as large again",
            status.name,
            limit(pod, Some(&status.name), "memory"),
            status.restart_count
        );
        return Some(("out of memory", cause, oom_fix(pod)));
    }
    let about_pod: Vec<&Event> =
        events.iter().filter(|e| e.object.kind == "Pod" && e.object.name == pod.metadata.name).collect();
    let (kind, said) = probe_kill(last.exit_code, &about_pod)?;
    Some(probe_kill_finding(pod, &status.name, kind, said, last.exit_code, status.restart_count))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(pods: &str, events: &str, ingresses: &str, release: Option<(&str, u32)>) -> State {
        State {
            target: crate::kube::Target { context: None, namespace: "todo".into(), release: "todo".into() },
            pods: serde_json::from_str(pods).unwrap(),
            deployments: Vec::new(),
            replica_sets: Vec::new(),
            events: serde_json::from_str(events).unwrap(),
            ingresses: serde_json::from_str(ingresses).unwrap(),
            release: release.map(|(s, r)| (s.to_owned(), r)),
            release_unknown: None,
            logs: Vec::new(),
        }
    }

    #[test]
    fn each_known_pattern_is_found_with_its_fix() {
        let pods = r#"[
          {"metadata": {"name": "api-1"}, "spec": {"containers": [{"name": "api", "image": "todo-api:1"}]},
           "status": {"containerStatuses": [{"name": "api", "state": {"waiting": {"reason": "ErrImageNeverPull", "message": "image not present with pull policy of Never"}}}]}},
          {"metadata": {"name": "api-2"}, "spec": {"containers": [{"name": "api", "image": "todo-api:1"}]},
           "status": {"containerStatuses": [{"name": "api", "state": {"waiting": {"reason": "CreateContainerConfigError", "message": "couldn't find key JWT_SECRET in Secret todo/todo-secrets"}}}]}},
          {"metadata": {"name": "web-1"}, "spec": {"containers": [{"name": "web", "image": "w", "resources": {"requests": {"memory": "64Ti"}}}]},
           "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes are available: 1 Insufficient memory."}]}},
          {"metadata": {"name": "api-3"}, "spec": {"containers": [{"name": "api", "image": "a", "resources": {"limits": {"memory": "64Mi"}}}]},
           "status": {"containerStatuses": [{"name": "api", "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]}},
          {"metadata": {"name": "api-4"}, "spec": {"containers": [{"name": "api", "image": "a"}]},
           "status": {"containerStatuses": [{"name": "api", "state": {"running": {}}}]}}
        ]"#;
        let events = r#"[{"type": "Warning", "reason": "Unhealthy", "message": "Readiness probe failed: HTTP probe failed with statuscode: 503",
                          "involvedObject": {"kind": "Pod", "name": "api-4"}}]"#;
        let ingresses = r#"[{"metadata": {"name": "todo"}, "spec": {"ingressClassName": "nginx"}, "status": {"loadBalancer": {}}}]"#;
        let found = findings(&state(pods, events, ingresses, Some(("pending-upgrade", 3))));
        let titles: Vec<&str> = found.iter().map(|f| f.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "release stuck",
                "image not on the node",
                "missing Secret key",
                "pod cannot be scheduled",
                "out of memory",
                "failing probe",
                "ingress without an address"
            ]
        );
        assert!(found[1].fix.contains("cargo xtask minikube"), "{:?}", found[1]);
        assert!(found[2].cause.contains("`JWT_SECRET` from Secret `todo-secrets`"), "{:?}", found[2]);
        assert!(found[3].cause.contains("Insufficient memory") && found[3].cause.contains("memory 64Ti"));
        assert!(found[3].fix.contains("lower the requests"), "{:?}", found[3]);
        assert!(found[4].cause.contains("64Mi"), "{:?}", found[4]);
        assert!(found[5].cause.contains("statuscode: 503"), "{:?}", found[5]);
        assert!(found[6].cause.contains("class `nginx`"), "{:?}", found[6]);
    }

    #[test]
    fn a_command_missing_from_the_image_is_a_crash_loop_that_never_started() {
        let pods = r#"[{"metadata": {"name": "crash-1"}, "spec": {"containers": [{"name": "app", "image": "pause:3.10"}]},
          "status": {"containerStatuses": [{"name": "app", "restartCount": 2,
            "state": {"waiting": {"reason": "RunContainerError", "message": "failed to create containerd task"}},
            "lastState": {"terminated": {"reason": "StartError", "exitCode": 128,
              "message": "runc create failed: unable to start container process: exec: \"/app/server\": stat /app/server: no such file or directory: unknown"}}}]}},
          {"metadata": {"name": "crash-2"}, "spec": {"containers": [{"name": "app", "image": "pause:3.10"}]},
          "status": {"containerStatuses": [{"name": "app", "restartCount": 3,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"reason": "StartError", "exitCode": 128,
              "message": "runc create failed: unable to start container process: exec: \"/app/server\": stat /app/server: no such file or directory: unknown"}}}]}}]"#;
        let found = findings(&state(pods, "[]", "[]", None));
        assert_eq!(found.len(), 1, "one cause, two pods: {found:?}");
        assert_eq!(found[0].subjects, ["pod/crash-1 (container app)", "pod/crash-2 (container app)"]);
        assert!(found[0].cause.starts_with("CrashLoopBackOff: its command cannot start (exit code 128)"));
        assert!(found[0].cause.contains("/app/server"));
        assert!(found[0].fix.contains("ENTRYPOINT"), "{:?}", found[0]);
    }

    #[test]
    fn a_container_that_was_oomkilled_is_found_though_it_runs_ready_again() {
        let pods = r#"[{"metadata": {"name": "todo-api-1", "labels": {"app.kubernetes.io/component": "api"}},
          "spec": {"containers": [{"name": "api", "image": "a", "resources": {"limits": {"memory": "512Mi"}}}]},
          "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "api", "ready": true, "restartCount": 3, "state": {"running": {}},
              "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]}}]"#;
        let found = findings(&state(pods, "[]", "[]", None));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].title.as_str(), found[0].subjects.as_slice()),
            ("out of memory", &["pod/todo-api-1 (container api)".to_owned()][..])
        );
        assert!(
            found[0].cause.contains("(512Mi)") && found[0].cause.contains("restarted 3 times"),
            "{:?}",
            found[0]
        );
        assert!(found[0].fix.contains("[services.api.resources] of deploy/todo.toml"), "{:?}", found[0]);
        assert!(found[0].fix.contains("helm-gen"), "{:?}", found[0]);
        // Never restarted, or restarted for another reason: nothing to say.
        let healthy = pods.replace("OOMKilled", "Completed").replace("137", "0");
        assert_eq!(findings(&state(&healthy, "[]", "[]", None)), []);
    }

    #[test]
    fn a_liveness_probe_kill_is_not_called_an_app_crash() {
        let pods = r#"[{"metadata": {"name": "todo-web-1", "labels": {"app.kubernetes.io/component": "web"}},
          "spec": {"containers": [{"name": "web", "image": "w",
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}}}]},
          "status": {"phase": "Running", "containerStatuses": [{"name": "web", "restartCount": 5,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"reason": "Error", "exitCode": 137}}}]}}]"#;
        let events = r#"[{"type": "Warning", "reason": "Unhealthy", "involvedObject": {"kind": "Pod", "name": "todo-web-1"},
          "message": "Liveness probe failed: Get \"http://10.0.0.7:8080/healthz\": context deadline exceeded"}]"#;
        let found = findings(&state(pods, events, "[]", None));
        assert_eq!(found.len(), 1, "{found:?}");
        let finding = &found[0];
        assert_eq!(finding.title, "killed by its liveness probe");
        assert!(finding.cause.contains("exit code 137, not out of memory"), "{finding:?}");
        assert!(finding.cause.contains("Liveness probe failed: Get"), "{finding:?}");
        assert!(finding.fix.contains("`/healthz` on port http"), "{finding:?}");
        assert!(finding.fix.contains("services.web.liveness_path"), "{finding:?}");
        assert!(!finding.fix.contains(".env"), "not a setting the app rejects: {finding:?}");

        // The same kill, the container now running again and Ready; a startup probe's kill too.
        let ready = pods
            .replace(
                r#""state": {"waiting": {"reason": "CrashLoopBackOff"}}"#,
                r#""ready": true, "state": {"running": {}}"#,
            )
            .replace(
                r#""status": {"phase": "Running","#,
                r#""status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],"#,
            );
        let startup = events.replace("Liveness probe", "Startup probe");
        let found = findings(&state(&ready, &startup, "[]", None));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].title, "killed by its startup probe");
        assert!(found[0].cause.contains("restarted 5 times"), "{:?}", found[0]);

        // Exit code 137 without a probe's word is not called a probe kill; a readiness probe
        // never kills.
        let readiness = events.replace("Liveness probe", "Readiness probe");
        for events in ["[]", readiness.as_str()] {
            let found = findings(&state(pods, events, "[]", None));
            assert_eq!(found[0].title, "crash loop", "{found:?}");
        }
    }

    #[test]
    fn a_failing_probe_is_named_by_its_kind_and_the_components_own_path() {
        let pod = |component: &str| {
            format!(
                r#"[{{"metadata": {{"name": "todo-{component}-1", "labels": {{"app.kubernetes.io/component": "{component}"}}}},
                  "spec": {{"containers": [{{"name": "{component}", "image": "i",
                    "readinessProbe": {{"httpGet": {{"path": "/readyz", "port": 8080}}}},
                    "startupProbe": {{"httpGet": {{"path": "/healthz", "port": 8080}}}}}}]}},
                  "status": {{"phase": "Running", "containerStatuses": [{{"name": "{component}", "ready": false,
                    "state": {{"running": {{}}}}}}]}}}}]"#
            )
        };
        let event = |component: &str, said: &str| {
            format!(
                r#"[{{"type": "Warning", "reason": "Unhealthy", "message": "{said}",
                    "involvedObject": {{"kind": "Pod", "name": "todo-{component}-1"}}}}]"#
            )
        };
        let web = findings(&state(
            &pod("web"),
            &event("web", "Readiness probe failed: HTTP probe failed with statuscode: 503"),
            "[]",
            None,
        ));
        assert_eq!(web[0].title, "failing probe");
        assert_eq!(
            web[0].cause,
            "its readiness probe fails: Readiness probe failed: HTTP probe failed with statuscode: 503"
        );
        assert!(web[0].fix.starts_with("`/readyz` on port 8080 of the web container"), "{:?}", web[0]);
        assert!(web[0].fix.contains("services.web.readiness_path"), "{:?}", web[0]);
        assert!(!web[0].fix.contains("api") && !web[0].fix.contains("DATABASE_URL"), "{:?}", web[0]);

        let api = findings(&state(
            &pod("api"),
            &event("api", "Readiness probe failed: HTTP probe failed with statuscode: 503"),
            "[]",
            None,
        ));
        assert!(api[0].fix.starts_with("the api's /readyz checks the database"), "{:?}", api[0]);

        let starting = findings(&state(
            &pod("api"),
            &event("api", "Startup probe failed: connection refused"),
            "[]",
            None,
        ));
        assert_eq!(starting[0].cause, "its startup probe fails: Startup probe failed: connection refused");
        assert!(
            starting[0].fix.starts_with("`/healthz` on port 8080 of the api container"),
            "{:?}",
            starting[0]
        );
        assert!(starting[0].fix.contains("services.api.startup_path"), "{:?}", starting[0]);
    }
}
