//! Live progress while helm waits: which pods are ready out of how many, what the others wait
//! for, and the time so far. It also keeps the diagnosis of a pod that fails, taken while that pod
//! still exists: a rollback deletes it, and its logs with it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::context::Context;
use crate::kube::{self, Pod, Target};
use crate::ui::fmt_duration;

/// Quiet at first: most rollouts of an unchanged or small change finish before anyone waits.
const FIRST_LOOK: Duration = Duration::from_secs(3);
const EVERY: Duration = Duration::from_secs(3);
/// A line at least this often, even when nothing changed, so a wait is never silent.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// Reasons that will not go away by waiting longer: worth a diagnosis as soon as they show.
const FAILING: [&str; 9] = [
    "CrashLoopBackOff",
    "Error",
    "OOMKilled",
    "ImagePullBackOff",
    "ErrImagePull",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "Unschedulable",
];

pub struct Watch {
    stop: Arc<AtomicBool>,
    diagnosis: Arc<Mutex<Vec<String>>>,
    handle: Option<JoinHandle<()>>,
}

impl Watch {
    /// Starts watching `target`'s pods on a thread of its own. Nothing in a dry run.
    pub fn start(cx: &Context, target: &Target) -> Watch {
        let stop = Arc::new(AtomicBool::new(false));
        let diagnosis = Arc::new(Mutex::new(Vec::new()));
        let handle = (!cx.runner.dry_run()).then(|| {
            // xshell's Shell is not Sync: the thread gets a context of its own.
            let (root, opts, ui) = (cx.root.clone(), cx.opts.clone(), cx.ui.clone());
            let (target, stop, diagnosis) = (target.clone(), stop.clone(), diagnosis.clone());
            thread::spawn(move || {
                let Ok(cx) = Context::new(root, opts, ui) else { return };
                watch(&cx, &target, &stop, &diagnosis);
            })
        });
        Watch { stop, diagnosis, handle }
    }

    /// Stops the watch; returns the last diagnosis it took of a failing pod (empty if none failed).
    pub fn stop(mut self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
        std::mem::take(&mut *self.diagnosis.lock().unwrap())
    }
}

fn watch(cx: &Context, target: &Target, stop: &AtomicBool, diagnosis: &Mutex<Vec<String>>) {
    let started = Instant::now();
    let mut last_line = String::new();
    let mut last_print = Instant::now();
    let mut diagnosed_at: Option<Instant> = None;
    let mut next = started + FIRST_LOOK;
    while !stop.load(Ordering::Relaxed) {
        if Instant::now() < next {
            thread::sleep(Duration::from_millis(100));
            continue;
        }
        next = Instant::now() + EVERY;
        let Ok(pods) = kube::pods(cx, target) else { continue };
        let line = progress(&pods);
        if line != last_line || last_print.elapsed() >= HEARTBEAT {
            cx.ui.info(&format!("  waiting: {line} ({})", fmt_duration(started.elapsed())));
            cx.ui.event(json!({
                "event": "rollout_progress",
                "pods": line,
                "elapsed_ms": started.elapsed().as_millis() as u64,
            }));
            last_print = Instant::now();
            last_line = line;
        }
        let failing = pods
            .iter()
            .filter(|pod| !pod.terminating())
            .filter_map(Pod::problem)
            .any(|problem| FAILING.contains(&problem.reason.as_str()));
        if failing && diagnosed_at.is_none_or(|at| at.elapsed() >= Duration::from_secs(10)) {
            let lines = kube::diagnose(cx, target);
            *diagnosis.lock().unwrap() = lines;
            diagnosed_at = Some(Instant::now());
        }
    }
}

/// `api 1/2 ready, web 2/2 ready; todo-api-7d9f… ContainerCreating`.
pub fn progress(pods: &[Pod]) -> String {
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut waiting = Vec::new();
    for pod in pods.iter().filter(|pod| !pod.terminating()) {
        let entry = counts.entry(pod.component()).or_default();
        entry.1 += 1;
        match pod.problem() {
            None => entry.0 += 1,
            Some(problem) => waiting.push(format!("{} {}", pod.metadata.name, problem.reason)),
        }
    }
    if counts.is_empty() {
        return "no pods yet".to_owned();
    }
    let mut line = counts
        .iter()
        .map(|(name, (ready, all))| format!("{name} {ready}/{all} ready"))
        .collect::<Vec<_>>()
        .join(", ");
    if !waiting.is_empty() {
        line.push_str("; ");
        line.push_str(&waiting.join(", "));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_counts_ready_pods_per_component_and_names_the_waiting_ones() {
        let pods: Vec<Pod> = serde_json::from_str(
            r#"[
            {"metadata": {"name": "todo-api-a", "labels": {"app.kubernetes.io/component": "api"}},
             "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
            {"metadata": {"name": "todo-api-b", "labels": {"app.kubernetes.io/component": "api"}},
             "status": {"containerStatuses": [{"name": "api", "state": {"waiting": {"reason": "ContainerCreating"}}}]}},
            {"metadata": {"name": "todo-web-a", "labels": {"app.kubernetes.io/component": "web"}},
             "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
            {"metadata": {"name": "todo-web-old", "labels": {"app.kubernetes.io/component": "web"},
                          "deletionTimestamp": "2026-12-07T00:00:00Z"}, "status": {}}
        ]"#,
        )
        .unwrap();
        assert_eq!(progress(&pods), "api 1/2 ready, web 1/1 ready; todo-api-b ContainerCreating");
        assert_eq!(progress(&[]), "no pods yet");
    }
}
