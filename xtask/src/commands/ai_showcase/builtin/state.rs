//! What the assistant reads from the cluster, and the compact form of it the model is sent.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use serde_json::{Value, json};
use xshell::cmd;

use super::rules::Finding;
use crate::base64;
use crate::context::Context;
use crate::helm;
use crate::kube::{self, Event, Pod, Target};
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
    for pod in state.pods.iter().filter(|pod| !pod.terminating()) {
        let Some(problem) = pod.problem() else { continue };
        let Some(container) = problem.container.as_ref().filter(|_| problem.wants_logs()) else { continue };
        if let Some(text) = kube::last_logs(cx, target, pod, container, 20) {
            state.logs.push((pod.metadata.name.clone(), container.clone(), text));
        }
    }
    Ok(state)
}

/// Registers every value of the namespace's Secrets with the redactor, in base64 as `data` holds
/// it and decoded. Best effort: without the right to read Secrets there is nothing of theirs to
/// show either.
pub fn register_cluster_secrets(cx: &Context, target: &Target) {
    let Ok(secrets) = get_list(cx, target, "secrets") else { return };
    for secret in secrets {
        let Some(data) = secret["data"].as_object() else { continue };
        for value in data.values().filter_map(Value::as_str) {
            // As stored (what `kubectl get secret -o yaml` prints), and decoded.
            cx.ui.redactor().register(&Secret::new(value.trim()));
            if let Some(bytes) = base64::decode(value) {
                cx.ui.redactor().register(&Secret::new(String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
}

/// What the model is sent: the parts of the state a diagnosis needs, small enough for any context
/// window (no managed fields, no env values, no Secret).
pub(super) fn compact(state: &State, findings: &[Finding]) -> Value {
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
