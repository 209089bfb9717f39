//! Where a release lives (kube context, namespace, release name) and what kubectl tells about it:
//! its pods' readiness, and, when a rollout fails, a diagnosis a person can act on.
//!
//! kubectl's JSON is read into small serde structs with only the fields used: kube-rs and
//! k8s-openapi would add about 95 crates to xtask.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Deserialize;
use xshell::cmd;

use crate::clock;
use crate::config::DeployConfig;
use crate::context::Context;
use crate::runner::Cmd;

/// The label every object of the release carries (`helm create`'s convention).
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
/// The label naming a pod's component (api, web, postgresql).
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";

/// A release and where it is.
#[derive(Clone, Debug)]
pub struct Target {
    /// The kube context; `None` is the current one.
    pub context: Option<String>,
    pub namespace: String,
    pub release: String,
}

impl Target {
    pub fn of(config: &DeployConfig) -> Target {
        Target {
            context: config.cluster.context.clone(),
            namespace: config.app.namespace.0.clone(),
            release: config.app.name.0.clone(),
        }
    }

    /// `--context C` for kubectl; nothing for the current context.
    pub fn context_args(&self) -> Vec<String> {
        self.context.iter().flat_map(|context| ["--context".to_owned(), context.clone()]).collect()
    }

    /// `--context C --namespace N` for kubectl.
    pub fn kubectl_args(&self) -> Vec<String> {
        let mut args = self.context_args();
        args.extend(["--namespace".to_owned(), self.namespace.clone()]);
        args
    }

    /// `--kube-context C --namespace N` for helm.
    pub fn helm_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(context) = &self.context {
            args.extend(["--kube-context".to_owned(), context.clone()]);
        }
        args.extend(["--namespace".to_owned(), self.namespace.clone()]);
        args
    }

    /// `app.kubernetes.io/instance=RELEASE`.
    pub fn selector(&self) -> String {
        format!("{INSTANCE_LABEL}={}", self.release)
    }

    /// Where, in words: "release todo in namespace todo (context todo)".
    pub fn describe(&self) -> String {
        let context = match &self.context {
            Some(context) => format!("context `{context}`"),
            None => "the current context".to_owned(),
        };
        format!("release `{}` in namespace `{}` ({context})", self.release, self.namespace)
    }
}

#[derive(Deserialize)]
struct List<T> {
    items: Vec<T>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct Pod {
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: PodSpec,
    #[serde(default)]
    pub status: PodStatus,
}

#[derive(Deserialize, Debug, Clone, Default)]
pub struct Metadata {
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default, rename = "deletionTimestamp")]
    pub deletion_timestamp: Option<String>,
    #[serde(default, rename = "creationTimestamp")]
    pub creation_timestamp: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
pub struct PodSpec {
    #[serde(default)]
    pub containers: Vec<ContainerSpec>,
}

#[derive(Deserialize, Debug, Clone, Default)]
pub struct ContainerSpec {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub image: String,
    /// `{"requests": {"memory": "256Mi"}, "limits": {...}}`, as written in the pod spec.
    #[serde(default)]
    pub resources: serde_json::Value,
    /// The probes as written in the pod spec (`{"httpGet": {"path": "/healthz", "port": 8080}}`).
    #[serde(default, rename = "livenessProbe")]
    pub liveness_probe: serde_json::Value,
    #[serde(default, rename = "readinessProbe")]
    pub readiness_probe: serde_json::Value,
    #[serde(default, rename = "startupProbe")]
    pub startup_probe: serde_json::Value,
}

impl ContainerSpec {
    /// The probe of `kind`: liveness, readiness or startup.
    pub fn probe(&self, kind: &str) -> &serde_json::Value {
        match kind {
            "liveness" => &self.liveness_probe,
            "startup" => &self.startup_probe,
            _ => &self.readiness_probe,
        }
    }
}

#[derive(Deserialize, Debug, Clone, Default)]
pub struct PodStatus {
    #[serde(default)]
    pub phase: String,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default, rename = "containerStatuses")]
    pub container_statuses: Vec<ContainerStatus>,
    #[serde(default, rename = "initContainerStatuses")]
    pub init_container_statuses: Vec<ContainerStatus>,
}

#[derive(Deserialize, Debug, Clone, Default)]
pub struct Condition {
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, rename = "lastTransitionTime")]
    pub last_transition_time: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
pub struct ContainerStatus {
    pub name: String,
    #[serde(default)]
    pub ready: bool,
    #[serde(default, rename = "restartCount")]
    pub restart_count: u32,
    #[serde(default)]
    pub state: ContainerState,
    #[serde(default, rename = "lastState")]
    pub last_state: ContainerState,
}

#[derive(Deserialize, Debug, Clone, Default)]
pub struct ContainerState {
    pub waiting: Option<StateDetail>,
    pub terminated: Option<StateDetail>,
    pub running: Option<serde_json::Value>,
}

#[derive(Deserialize, Debug, Clone, Default)]
pub struct StateDetail {
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, rename = "exitCode")]
    pub exit_code: Option<i32>,
}

impl Pod {
    pub fn component(&self) -> &str {
        self.metadata.labels.get(COMPONENT_LABEL).map_or("?", String::as_str)
    }

    pub fn ready(&self) -> bool {
        self.status.conditions.iter().any(|c| c.kind == "Ready" && c.status == "True")
    }

    /// From the pod's creation to its Ready condition, as the API server recorded them (whole
    /// seconds); `None` while it is not Ready.
    pub fn time_to_ready(&self) -> Option<std::time::Duration> {
        let ready = self.status.conditions.iter().find(|c| c.kind == "Ready" && c.status == "True")?;
        let created = clock::unix_seconds(self.metadata.creation_timestamp.as_deref()?)?;
        let ready = clock::unix_seconds(ready.last_transition_time.as_deref()?)?;
        Some(std::time::Duration::from_secs(ready.checked_sub(created)?))
    }

    /// A pod being replaced (terminating) is not part of what a rollout waits for.
    pub fn terminating(&self) -> bool {
        self.metadata.deletion_timestamp.is_some()
    }

    pub fn restarts(&self) -> u32 {
        self.status.container_statuses.iter().map(|c| c.restart_count).sum()
    }

    /// Why the pod is not Ready, in the kubelet's words; `None` when it is.
    pub fn problem(&self) -> Option<Problem> {
        if self.ready() {
            return None;
        }
        if let Some(unscheduled) =
            self.status.conditions.iter().find(|c| c.kind == "PodScheduled" && c.status == "False")
        {
            return Some(Problem {
                container: None,
                reason: unscheduled.reason.clone().unwrap_or_else(|| "Unschedulable".to_owned()),
                message: unscheduled.message.clone().unwrap_or_default(),
                exit_code: None,
            });
        }
        let containers = self.status.init_container_statuses.iter().chain(&self.status.container_statuses);
        for container in containers {
            if container.ready {
                continue;
            }
            if let Some(waiting) = &container.state.waiting {
                let reason = waiting.reason.clone().unwrap_or_else(|| "Waiting".to_owned());
                // A crash loop's cause is in how the last run ended.
                let last = container.last_state.terminated.as_ref();
                let cannot_start = last.and_then(|t| t.reason.as_deref()) == Some("StartError");
                let message = match (reason.as_str(), last) {
                    // The runtime could not start the command at all (not in the image, not
                    // executable): the kubelet says so in the last run's message, not in logs.
                    ("CrashLoopBackOff" | "RunContainerError", Some(last)) if cannot_start => format!(
                        "its command cannot start (exit code {}): {}",
                        last.exit_code.unwrap_or(-1),
                        last.message.clone().unwrap_or_default().trim()
                    ),
                    ("CrashLoopBackOff", Some(last)) => format!(
                        "the container exited with code {} ({})",
                        last.exit_code.unwrap_or(-1),
                        last.reason.clone().unwrap_or_default()
                    ),
                    _ => waiting.message.clone().unwrap_or_default(),
                };
                let oom = last.and_then(|t| t.reason.as_deref()) == Some("OOMKilled");
                let reason = match reason.as_str() {
                    _ if oom => "OOMKilled".to_owned(),
                    // Between attempts the kubelet says RunContainerError, then CrashLoopBackOff:
                    // one crash loop, named once.
                    "RunContainerError" if container.restart_count > 0 => "CrashLoopBackOff".to_owned(),
                    _ => reason,
                };
                return Some(Problem {
                    container: Some(container.name.clone()),
                    reason,
                    message,
                    exit_code: last.and_then(|t| t.exit_code),
                });
            }
            if let Some(terminated) = &container.state.terminated {
                return Some(Problem {
                    container: Some(container.name.clone()),
                    reason: terminated.reason.clone().unwrap_or_else(|| "Terminated".to_owned()),
                    message: terminated.message.clone().unwrap_or_default(),
                    exit_code: terminated.exit_code,
                });
            }
            if container.state.running.is_some() {
                return Some(Problem {
                    container: Some(container.name.clone()),
                    reason: "NotReady".to_owned(),
                    message: "running, but its readiness probe does not pass yet".to_owned(),
                    exit_code: None,
                });
            }
        }
        Some(Problem {
            container: None,
            reason: if self.status.phase.is_empty() {
                "Pending".to_owned()
            } else {
                self.status.phase.clone()
            },
            message: String::new(),
            exit_code: None,
        })
    }
}

/// Why a pod is not Ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub container: Option<String>,
    /// The kubelet's reason: CrashLoopBackOff, ImagePullBackOff, OOMKilled, Unschedulable, ...
    pub reason: String,
    pub message: String,
    pub exit_code: Option<i32>,
}

/// Whether a crash loop's last run never started: the runtime refused the command (StartError).
fn never_started(problem: &Problem) -> bool {
    problem.message.starts_with("its command cannot start")
}

impl Problem {
    /// The container's own output tells why it failed.
    pub fn wants_logs(&self) -> bool {
        if never_started(self) {
            return false;
        }
        matches!(self.reason.as_str(), "CrashLoopBackOff" | "Error" | "OOMKilled" | "NotReady")
            || self.exit_code.is_some()
    }

    /// What to do about it.
    pub fn advice(&self) -> &'static str {
        if never_started(self) {
            return "the program the container runs is not in the image (or cannot run there): check the \
                    image and tag, and the command/args of the pod spec";
        }
        match self.reason.as_str() {
            "ImagePullBackOff" | "ErrImagePull" | "ErrImageNeverPull" | "InvalidImageName" => {
                "the node cannot get the image: with minikube, `cargo xtask minikube` loads the built images; \
                 on a cluster, check that it can pull from the registry (`--registry`, image pull secrets)"
            }
            "CrashLoopBackOff" | "Error" => {
                "the app exits at start; its last lines above say why (a setting: check .env and \
                 `cargo xtask secrets`; a database it cannot reach: DATABASE_URL)"
            }
            "OOMKilled" => {
                "the container ran out of memory: raise services.<name>.resources.limits.memory in deploy/todo.toml"
            }
            "Unschedulable" => {
                "no node has room for the pod's requests: lower the requests in deploy/todo.toml or give the \
                 cluster more (minikube: `minikube start --cpus/--memory`)"
            }
            "CreateContainerConfigError" | "CreateContainerError" => {
                "the pod's settings are wrong: a Secret or ConfigMap key it names may be missing \
                 (`cargo xtask secrets` applies them)"
            }
            "NotReady" => "its readiness probe fails: /readyz checks the database, so check DATABASE_URL",
            "ContainerCreating" | "PodInitializing" | "Pending" => {
                "still starting: the warning events above say what it waits for (a volume, a Secret)"
            }
            _ => "see the events above",
        }
    }
}

/// The release's pods (`kubectl get pods -l instance=RELEASE -o json`).
pub fn pods(cx: &Context, target: &Target) -> Result<Vec<Pod>> {
    let (scope, selector) = (target.kubectl_args(), target.selector());
    let get = cmd!(cx.sh, "kubectl {scope...} get pods --selector {selector} --output json");
    let text = cx.read(Cmd::from(get).read_only().quiet())?;
    let list: List<Pod> = serde_json::from_str(&text)
        .map_err(|err| anyhow::anyhow!("kubectl printed pods that could not be read: {err}"))?;
    Ok(list.items)
}

/// A namespace event (`kubectl get events -o json`), the fields a diagnosis reads.
#[derive(Deserialize, Debug, Clone)]
pub struct Event {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, rename = "involvedObject")]
    pub object: EventObject,
    #[serde(default, rename = "lastTimestamp")]
    pub last: Option<String>,
    #[serde(default, rename = "eventTime")]
    pub event_time: Option<String>,
    #[serde(default)]
    pub count: Option<u32>,
}

#[derive(Deserialize, Debug, Clone, Default)]
pub struct EventObject {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
}

impl Event {
    /// When it last happened, for ordering (RFC 3339 strings sort by time).
    pub fn when(&self) -> Option<&String> {
        self.last.as_ref().or(self.event_time.as_ref())
    }
}

/// The last `tail` lines `container` of `pod` printed. A container that restarted is asked for its
/// previous run's (a crash loop's useful output: the current run may not have printed anything
/// yet), one that never did for its current run's: `--previous` is decided per container, since
/// another container of the pod restarting says nothing about this one. `None` when it printed
/// nothing, or kubectl could not say.
pub fn last_logs(cx: &Context, target: &Target, pod: &Pod, container: &str, tail: u32) -> Option<String> {
    let restarted = pod
        .status
        .init_container_statuses
        .iter()
        .chain(&pod.status.container_statuses)
        .any(|status| status.name == container && status.restart_count > 0);
    let previous = if restarted { vec!["--previous"] } else { Vec::new() };
    let (scope, name, tail) = (target.kubectl_args(), &pod.metadata.name, tail.to_string());
    let logs =
        cmd!(cx.sh, "kubectl {scope...} logs {name} --container {container} {previous...} --tail {tail}");
    match cx.output(Cmd::from(logs).read_only().quiet().allow_failure()) {
        Ok(output) if output.success() && !output.stdout.trim().is_empty() => {
            Some(output.stdout.trim_end().to_owned())
        }
        _ => None,
    }
}

/// Why the release is not healthy, as lines to print: the recent warning events of its namespace,
/// then each pod that is not Ready with its reason, its last log lines when it crashed, and what to
/// do. Best effort: a diagnosis that cannot be made says so and never hides the original error.
pub fn diagnose(cx: &Context, target: &Target) -> Vec<String> {
    let mut lines = Vec::new();
    let scope = &target.kubectl_args();
    let events = cmd!(cx.sh, "kubectl {scope...} get events --field-selector type=Warning --output json");
    match cx
        .read(Cmd::from(events).read_only().quiet())
        .map(|text| serde_json::from_str::<List<Event>>(&text))
    {
        Ok(Ok(list)) => {
            let mut events: Vec<Event> = list.items.into_iter().filter(|e| e.kind == "Warning").collect();
            events.sort_by(|a, b| a.when().cmp(&b.when()));
            let recent = &events[events.len().saturating_sub(8)..];
            if !recent.is_empty() {
                lines.push("recent warning events:".to_owned());
            }
            for event in recent {
                let times = event.count.filter(|n| *n > 1).map_or(String::new(), |n| format!(" (x{n})"));
                lines.push(format!(
                    "  {} {}/{}: {}{times}",
                    event.reason,
                    event.object.kind.to_lowercase(),
                    event.object.name,
                    event.message.trim()
                ));
            }
        }
        _ => lines.push("(the namespace's events could not be read)".to_owned()),
    }
    let pods = match pods(cx, target) {
        Ok(pods) => pods,
        Err(err) => {
            lines.push(format!("(the release's pods could not be read: {err})"));
            return lines;
        }
    };
    if pods.is_empty() {
        lines.push(format!("no pod of {} exists", target.describe()));
    }
    for pod in pods.iter().filter(|pod| !pod.terminating()) {
        let Some(problem) = pod.problem() else { continue };
        let container = problem.container.as_deref().map_or(String::new(), |c| format!(" (container {c})"));
        let message =
            if problem.message.is_empty() { String::new() } else { format!(": {}", problem.message) };
        lines.push(format!("pod {}{container} is not ready: {}{message}", pod.metadata.name, problem.reason));
        if problem.wants_logs()
            && let Some(container) = &problem.container
        {
            match last_logs(cx, target, pod, container, 15) {
                Some(text) => {
                    lines.push("  its last log lines:".to_owned());
                    for line in text.lines() {
                        lines.push(format!("    │ {line}"));
                    }
                }
                None => lines.push("  (it printed no log lines)".to_owned()),
            }
        }
        lines.push(format!("  what to do: {}", problem.advice()));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: &str) -> Pod {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_crash_loop_is_reported_with_the_exit_code_of_the_last_run() {
        let pod = pod(r#"{
            "metadata": {"name": "todo-api-1", "labels": {"app.kubernetes.io/component": "api"}},
            "status": {"phase": "Running",
              "conditions": [{"type": "Ready", "status": "False"}],
              "containerStatuses": [{"name": "api", "ready": false, "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                "lastState": {"terminated": {"reason": "Error", "exitCode": 2}}}]}}"#);
        let problem = pod.problem().unwrap();
        assert_eq!(problem.reason, "CrashLoopBackOff");
        assert_eq!(problem.message, "the container exited with code 2 (Error)");
        assert!(problem.wants_logs());
        assert_eq!(pod.component(), "api");
        assert_eq!(pod.restarts(), 3);
    }

    #[test]
    fn out_of_memory_unschedulable_and_image_pulls_are_told_apart() {
        let oom = pod(r#"{"metadata": {"name": "p"}, "status": {"containerStatuses": [{"name": "api",
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]}}"#);
        assert_eq!(oom.problem().unwrap().reason, "OOMKilled");
        let pending = pod(r#"{"metadata": {"name": "p"}, "status": {"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
             "message": "0/1 nodes are available: 1 Insufficient memory."}]}}"#);
        let problem = pending.problem().unwrap();
        assert_eq!(problem.reason, "Unschedulable");
        assert!(problem.message.contains("Insufficient memory"));
        let pull = pod(r#"{"metadata": {"name": "p"}, "status": {"containerStatuses": [{"name": "web",
            "state": {"waiting": {"reason": "ErrImageNeverPull", "message": "image not present"}}}]}}"#);
        let problem = pull.problem().unwrap();
        assert_eq!(
            (problem.reason.as_str(), problem.message.as_str()),
            ("ErrImageNeverPull", "image not present")
        );
        assert!(problem.advice().contains("minikube"));
        let ready = pod(
            r#"{"metadata": {"name": "p"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}"#,
        );
        assert_eq!(ready.problem(), None);
    }

    #[test]
    fn time_to_ready_runs_from_creation_to_the_ready_condition() {
        let pod = |ready: &str| -> Pod {
            serde_json::from_str(&format!(
                r#"{{"metadata": {{"name": "p", "creationTimestamp": "2026-12-07T05:00:58Z"}},
                    "status": {{"conditions": [{{"type": "Ready", "status": "{ready}",
                                                 "lastTransitionTime": "2026-12-07T05:01:02Z"}}]}}}}"#
            ))
            .unwrap()
        };
        assert_eq!(pod("True").time_to_ready(), Some(std::time::Duration::from_secs(4)));
        assert_eq!(pod("False").time_to_ready(), None);
    }
}
