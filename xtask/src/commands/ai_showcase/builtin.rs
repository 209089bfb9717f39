//! The built-in cluster assistant: no AI tool needed. It collects the namespace's state
//! (`kubectl get pods,deploy,rs,events -o json`, the ingresses, the failing containers' last logs,
//! `helm status`), finds the known failure patterns by rule and explains each with its fix. With
//! the app's LLM settings it then sends that state, every secret value removed, to the model and
//! prints its summary after the rules' findings.
//!
//! The pod-level reasons come from [`kube::Pod::problem`], the same reading `deploy` uses while it
//! waits, so the two never disagree.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde_json::{Value, json};
use xshell::cmd;

use super::llm::{self, LlmSettings};
use crate::base64;
use crate::context::Context;
use crate::helm;
use crate::kube::{Event, Pod, Problem, Target};
use crate::runner::Cmd;
use crate::secret::Secret;

/// What the assistant read from the cluster.
pub struct State {
    pub target: Target,
    pub pods: Vec<Pod>,
    pub deployments: Vec<Value>,
    pub replica_sets: Vec<Value>,
    pub events: Vec<Event>,
    pub ingresses: Vec<Value>,
    /// `helm status`: (status, revision); `None` when there is no such release (or no helm).
    pub release: Option<(String, u32)>,
    /// Why the release's state is unknown (helm missing or failing), if it is.
    pub release_unknown: Option<String>,
    /// (pod, container, last lines) of the containers that failed.
    pub logs: Vec<(String, String, String)>,
}

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

/// What the assistant has to say.
pub struct Report {
    pub summary_line: String,
    pub findings: Vec<Finding>,
    /// The failing containers' last log lines, as read.
    pub logs: Vec<(String, String, String)>,
    /// The model's summary, or why there is none.
    pub model: ModelAnswer,
}

pub enum ModelAnswer {
    NotConfigured,
    Answered { model: String, text: String },
    Failed(String),
}

impl Report {
    /// The report as lines to print (and to put in the transcript).
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![self.summary_line.clone()];
        if self.findings.is_empty() {
            lines.push("no known failure pattern found: every pod is ready and nothing is stuck".to_owned());
        }
        for (i, finding) in self.findings.iter().enumerate() {
            lines.push(format!("{}. {}: {}", i + 1, finding.title, finding.subjects.join(", ")));
            lines.push(format!("   cause: {}", finding.cause));
            lines.push(format!("   fix:   {}", finding.fix));
        }
        for (pod, container, text) in &self.logs {
            lines.push(format!("last log lines of {pod} (container {container}):"));
            lines.extend(text.lines().map(|line| format!("   │ {line}")));
        }
        match &self.model {
            ModelAnswer::NotConfigured => lines.push(
                "(no LLM configured: set LLM_API_KEY, and LLM_BASE_URL/LLM_MODEL for another \
                 OpenAI-compatible endpoint, in .env for the model's summary)"
                    .to_owned(),
            ),
            ModelAnswer::Answered { model, text } => {
                lines.push(format!(
                    "the model's summary ({model}, sent the state with secret values removed):"
                ));
                lines.extend(text.lines().map(|line| format!("   {line}")));
            }
            ModelAnswer::Failed(why) => lines.push(format!("(the model could not be asked: {why})")),
        }
        lines
    }
}

/// Collects the state, applies the rules, and asks the model when one is configured.
pub fn assist(cx: &Context, target: &Target, llm: Option<&LlmSettings>, timeout: Duration) -> Result<Report> {
    let state = collect(cx, target)?;
    let findings = findings(&state);
    let summary_line = format!(
        "namespace `{}`{}: {} pods, {} deployments, {} events; release {}",
        target.namespace,
        target.context.as_ref().map_or(String::new(), |c| format!(" (context `{c}`)")),
        state.pods.len(),
        state.deployments.len(),
        state.events.len(),
        match (&state.release, &state.release_unknown) {
            (Some((status, revision)), _) => format!("`{}` revision {revision} is {status}", target.release),
            (None, Some(why)) => format!("`{}` unknown ({why})", target.release),
            (None, None) => format!("`{}` not installed", target.release),
        }
    );
    let model = match llm {
        None => ModelAnswer::NotConfigured,
        Some(_) if cx.runner.dry_run() => ModelAnswer::Failed("not asked in a dry run".to_owned()),
        Some(settings) => {
            let redacted =
                cx.ui.redactor().redact(&serde_json::to_string_pretty(&compact(&state, &findings))?);
            let user = format!(
                "Namespace {} of a Kubernetes cluster. Rules already found these problems:\n{}\n\n\
                 The namespace's state as JSON (secret values are shown as <redacted>):\n{redacted}",
                target.namespace,
                if findings.is_empty() {
                    "(none)".to_owned()
                } else {
                    findings
                        .iter()
                        .map(|f| format!("- {}: {}", f.title, f.cause))
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            );
            match llm::complete(cx, settings, SYSTEM, &user, timeout) {
                Ok(text) => ModelAnswer::Answered { model: settings.model.clone(), text },
                Err(err) => ModelAnswer::Failed(format!("{err:#}")),
            }
        }
    };
    Ok(Report { summary_line, findings, logs: state.logs, model })
}

const SYSTEM: &str = "You are a Kubernetes SRE helping a developer whose deployment failed. From the \
    namespace's state, say in a few short bullet points what is wrong, the most likely cause, and the \
    exact fix (a command or a setting). Do not repeat healthy parts. Never ask for secret values.";

#[derive(serde::Deserialize)]
struct List {
    items: Vec<Value>,
}

fn get_list(cx: &Context, target: &Target, what: &str) -> Result<Vec<Value>> {
    let scope = target.kubectl_args();
    let get = cmd!(cx.sh, "kubectl {scope...} get {what} --output json");
    let text = cx.read(Cmd::from(get).read_only().quiet())?;
    let list: List = serde_json::from_str(&text)
        .with_context(|| format!("kubectl printed {what} that could not be read"))?;
    Ok(list.items)
}

/// Reads the namespace. Its Secrets are read only to learn their values, so that they can be
/// removed from everything shown or sent; they are not part of the state.
pub fn collect(cx: &Context, target: &Target) -> Result<State> {
    let items = get_list(cx, target, "pods,deploy,rs,events")?;
    register_cluster_secrets(cx, target);
    let mut state = State {
        target: target.clone(),
        pods: Vec::new(),
        deployments: Vec::new(),
        replica_sets: Vec::new(),
        events: Vec::new(),
        ingresses: get_list(cx, target, "ingresses").unwrap_or_default(),
        release: None,
        release_unknown: None,
        logs: Vec::new(),
    };
    match helm::status(cx, target) {
        Ok(release) => state.release = release.map(|release| (release.info.status.clone(), release.version)),
        Err(err) => {
            let why = err.to_string();
            state.release_unknown = Some(if why.contains("not on PATH") {
                "no helm on PATH".to_owned()
            } else {
                why.lines().next().unwrap_or_default().to_owned()
            });
        }
    }
    for item in items {
        match item["kind"].as_str().unwrap_or_default() {
            "Pod" => state.pods.extend(serde_json::from_value::<Pod>(item).ok()),
            "Deployment" => state.deployments.push(item),
            "ReplicaSet" => state.replica_sets.push(item),
            "Event" => state.events.extend(serde_json::from_value::<Event>(item).ok()),
            _ => {}
        }
    }
    state.events.sort_by(|a, b| a.when().cmp(&b.when()));
    let scope = &target.kubectl_args();
    for pod in state.pods.iter().filter(|pod| !pod.terminating()) {
        let Some(problem) = pod.problem() else { continue };
        let Some(container) = problem.container.as_ref().filter(|_| problem.wants_logs()) else { continue };
        let previous = if pod.restarts() > 0 { vec!["--previous".to_owned()] } else { Vec::new() };
        let name = &pod.metadata.name;
        let logs =
            cmd!(cx.sh, "kubectl {scope...} logs {name} --container {container} {previous...} --tail 20");
        if let Ok(output) = cx.output(Cmd::from(logs).read_only().quiet().allow_failure())
            && output.success()
            && !output.stdout.trim().is_empty()
        {
            state.logs.push((name.clone(), container.clone(), output.stdout.trim_end().to_owned()));
        }
    }
    Ok(state)
}

/// Registers every value of the namespace's Secrets with the redactor. Best effort: without the
/// right to read Secrets there is nothing of theirs to show either.
pub fn register_cluster_secrets(cx: &Context, target: &Target) {
    let Ok(secrets) = get_list(cx, target, "secrets") else { return };
    for secret in secrets {
        let Some(data) = secret["data"].as_object() else { continue };
        for value in data.values().filter_map(Value::as_str) {
            if let Some(bytes) = base64::decode(value) {
                cx.ui.redactor().register(&Secret::new(String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
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

/// What the model is sent: the parts of the state a diagnosis needs, small enough for any context
/// window (no managed fields, no env values, no Secret).
fn compact(state: &State, findings: &[Finding]) -> Value {
    let pods: Vec<Value> = state
        .pods
        .iter()
        .map(|pod| {
            json!({
                "name": pod.metadata.name,
                "phase": pod.status.phase,
                "ready": pod.ready(),
                "restarts": pod.restarts(),
                "problem": pod.problem().map(|p| json!({"reason": p.reason, "message": p.message, "container": p.container})),
                "containers": pod.spec.containers.iter().map(|c| json!({"name": c.name, "image": c.image, "resources": c.resources})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let deployments: Vec<Value> = state
        .deployments
        .iter()
        .map(|d| json!({"name": d["metadata"]["name"], "replicas": d["spec"]["replicas"], "status": d["status"]}))
        .collect();
    let replica_sets: Vec<Value> = state
        .replica_sets
        .iter()
        .map(|r| json!({"name": r["metadata"]["name"], "replicas": r["status"]["replicas"], "ready": r["status"]["readyReplicas"]}))
        .collect();
    let recent = &state.events[state.events.len().saturating_sub(40)..];
    let events: Vec<Value> = recent
        .iter()
        .map(|e| json!({"type": e.kind, "reason": e.reason, "object": format!("{}/{}", e.object.kind, e.object.name), "message": e.message, "count": e.count}))
        .collect();
    let ingresses: Vec<Value> = state
        .ingresses
        .iter()
        .map(|i| json!({"name": i["metadata"]["name"], "class": i["spec"]["ingressClassName"], "rules": i["spec"]["rules"], "address": i["status"]["loadBalancer"]}))
        .collect();
    let logs: BTreeMap<String, &str> = state
        .logs
        .iter()
        .map(|(pod, container, text)| (format!("{pod}/{container}"), text.as_str()))
        .collect();
    json!({
        "namespace": state.target.namespace,
        "release": state.release.as_ref().map(|(status, revision)| json!({"name": state.target.release, "status": status, "revision": revision})),
        "pods": pods,
        "deployments": deployments,
        "replicasets": replica_sets,
        "events": events,
        "ingresses": ingresses,
        "last_logs": logs,
        "rule_findings": findings.iter().map(|f| json!({"title": f.title, "subjects": f.subjects, "cause": f.cause, "fix": f.fix})).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(pods: &str, events: &str, ingresses: &str, release: Option<(&str, u32)>) -> State {
        State {
            target: Target { context: None, namespace: "todo".into(), release: "todo".into() },
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
