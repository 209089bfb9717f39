//! The known failure patterns: each found in the collected state and explained with its cause,
//! in the cluster's own words where it has them, and its fix.

use super::state::State;
use crate::kube::{Event, Pod, Problem};

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
        let Some(problem) = pod.problem() else { continue };
        let subject = format!(
            "pod/{}{}",
            pod.metadata.name,
            problem.container.as_ref().map_or(String::new(), |c| format!(" (container {c})"))
        );
        let (title, cause, fix) = explain(pod, &problem, &state.events);
        add(subject, title, cause, fix);
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
                limit(pod, problem, "memory")
            ),
            "raise services.<name>.resources.limits.memory in deploy/todo.toml (then `cargo xtask deploy`), or \
             find what grows in the app"
                .to_owned(),
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
            let probe = about_pod.iter().rev().find(|e| e.reason == "Unhealthy").map(|e| e.message.trim().to_owned());
            match probe {
                Some(probe) => (
                    "failing probe",
                    format!("its readiness probe fails: {probe}"),
                    "the api's /readyz checks the database: check DATABASE_URL and that the cluster reaches the \
                     database; otherwise the probe's path and port in deploy/todo.toml"
                        .to_owned(),
                ),
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

fn limit(pod: &Pod, problem: &Problem, resource: &str) -> String {
    problem
        .container
        .as_ref()
        .and_then(|name| pod.spec.containers.iter().find(|c| &c.name == name))
        .and_then(|c| c.resources["limits"][resource].as_str())
        .unwrap_or("none set")
        .to_owned()
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
}
