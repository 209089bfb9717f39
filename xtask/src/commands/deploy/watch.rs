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
use crate::kube::{self, Pod, Problem, Target};
use crate::process_tree;
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

/// Crashes in a row a pod may have before deploy stops waiting for it: a dependency still coming
/// up can fail the first start or two. With the kubelet's back-off (10 s, 20 s, …) the third
/// crash comes about 30 s after the first.
const RESTARTS_BEFORE_GIVING_UP: u32 = 2;
/// How long a pod may wait for its image or its configuration before deploy stops waiting: a
/// registry hiccup clears in seconds; a wrong tag or a missing Secret key never does.
const STUCK_FOR: Duration = Duration::from_secs(30);

pub struct Watch {
    stop: Arc<AtomicBool>,
    diagnosis: Arc<Mutex<Vec<String>>>,
    /// Why the watch stopped helm's wait early, once it did.
    gave_up: Arc<Mutex<Option<String>>>,
    handle: Option<JoinHandle<()>>,
}

/// What the watch saw, for the release phase's report.
pub struct Seen {
    /// The last diagnosis of a failing pod (empty if none failed).
    pub diagnosis: Vec<String>,
    /// Why it stopped helm early: a pod that waiting would not make ready.
    pub gave_up: Option<String>,
}

impl Watch {
    /// Starts watching `target`'s pods on a thread of its own. Nothing in a dry run. With
    /// `fail_fast`, a pod that waiting will not make ready (see [`hopeless`]) ends helm's wait:
    /// helm gets SIGTERM, on which both majors cancel and roll back, as on their own timeout.
    pub fn start(cx: &Context, target: &Target, fail_fast: bool) -> Watch {
        let stop = Arc::new(AtomicBool::new(false));
        let diagnosis = Arc::new(Mutex::new(Vec::new()));
        let gave_up = Arc::new(Mutex::new(None));
        let handle = (!cx.runner.dry_run()).then(|| {
            // xshell's Shell is not Sync: the thread gets a context of its own.
            let (root, opts, ui) = (cx.root.clone(), cx.opts.clone(), cx.ui.clone());
            let shared =
                Shared { stop: stop.clone(), diagnosis: diagnosis.clone(), gave_up: gave_up.clone() };
            let target = target.clone();
            thread::spawn(move || {
                let Ok(cx) = Context::new(root, opts, ui) else { return };
                watch(&cx, &target, &shared, fail_fast);
            })
        });
        Watch { stop, diagnosis, gave_up, handle }
    }

    /// Stops the watch; what it saw.
    pub fn stop(mut self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
        Seen {
            diagnosis: std::mem::take(&mut *self.diagnosis.lock().unwrap()),
            gave_up: self.gave_up.lock().unwrap().take(),
        }
    }
}

struct Shared {
    stop: Arc<AtomicBool>,
    diagnosis: Arc<Mutex<Vec<String>>>,
    gave_up: Arc<Mutex<Option<String>>>,
}

/// Why waiting longer for `pod` is pointless, given how long it has shown `problem`; `None` while
/// it may still become ready.
pub fn hopeless(pod: &Pod, problem: &Problem, seen_for: Duration) -> Option<String> {
    let name = &pod.metadata.name;
    let reason = problem.reason.as_str();
    match reason {
        "CrashLoopBackOff" | "Error" | "OOMKilled" if pod.restarts() >= RESTARTS_BEFORE_GIVING_UP => {
            Some(format!("pod {name} is in {reason} after {} restarts", pod.restarts()))
        }
        // The name itself is wrong, or the node may never pull it: no retry changes that.
        "InvalidImageName" | "ErrImageNeverPull" => {
            Some(format!("pod {name} cannot get its image ({reason})"))
        }
        "ImagePullBackOff" | "ErrImagePull" | "CreateContainerConfigError" if seen_for >= STUCK_FOR => {
            Some(format!("pod {name} has been in {reason} for {}", fmt_duration(seen_for)))
        }
        _ => None,
    }
}

fn watch(cx: &Context, target: &Target, shared: &Shared, fail_fast: bool) {
    let Shared { stop, diagnosis, gave_up } = shared;
    // When each pod was first seen with each problem.
    let mut first_seen: BTreeMap<(String, String), Instant> = BTreeMap::new();
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
        let problems: Vec<(&Pod, Problem)> = pods
            .iter()
            .filter(|pod| !pod.terminating())
            .filter_map(|pod| Some((pod, pod.problem()?)))
            .collect();
        let failing = problems.iter().any(|(_, problem)| FAILING.contains(&problem.reason.as_str()));
        let verdict = problems.iter().find_map(|(pod, problem)| {
            let key = (pod.metadata.name.clone(), problem.reason.clone());
            let since = *first_seen.entry(key).or_insert_with(Instant::now);
            hopeless(pod, problem, since.elapsed())
        });
        let giving_up = fail_fast && verdict.is_some() && gave_up.lock().unwrap().is_none();
        if (failing && diagnosed_at.is_none_or(|at| at.elapsed() >= Duration::from_secs(10))) || giving_up {
            let lines = kube::diagnose(cx, target);
            *diagnosis.lock().unwrap() = lines;
            diagnosed_at = Some(Instant::now());
        }
        if giving_up && let Some(why) = verdict {
            // The diagnosis is taken: the rollback that follows deletes the failing pods.
            let upgrade = |argv: &[String]| {
                argv.first().is_some_and(|program| program.rsplit('/').next() == Some("helm"))
                    && argv.iter().any(|arg| arg == "upgrade")
            };
            if process_tree::terminate_descendants(upgrade) {
                cx.ui.warn(&format!(
                    "  {why}: waiting will not make it ready, so deploy stops helm's wait now ({} in; `--no-fail-fast` waits the whole --timeout)",
                    fmt_duration(started.elapsed())
                ));
                *gave_up.lock().unwrap() = Some(why);
            }
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

    fn pod(restarts: u32, waiting: &str) -> Pod {
        serde_json::from_str(&format!(
            r#"{{"metadata": {{"name": "todo-api-x"}},
                "status": {{"containerStatuses": [{{"name": "api", "restartCount": {restarts},
                    "state": {{"waiting": {{"reason": "{waiting}"}}}},
                    "lastState": {{"terminated": {{"reason": "Error", "exitCode": 2}}}}}}]}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn a_crash_loop_is_hopeless_from_its_third_crash_and_not_before() {
        let verdict = |restarts| {
            let pod = pod(restarts, "CrashLoopBackOff");
            let problem = pod.problem().unwrap();
            hopeless(&pod, &problem, Duration::from_secs(1))
        };
        assert_eq!(verdict(1), None, "a dependency still starting may fail the first start or two");
        assert_eq!(verdict(2).as_deref(), Some("pod todo-api-x is in CrashLoopBackOff after 2 restarts"));
    }

    #[test]
    fn an_image_or_a_secret_key_the_pod_waits_for_is_hopeless_after_30_seconds() {
        for reason in ["ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError"] {
            let pod = pod(0, reason);
            let problem = pod.problem().unwrap();
            assert_eq!(hopeless(&pod, &problem, Duration::from_secs(29)), None, "{reason}");
            let verdict = hopeless(&pod, &problem, Duration::from_secs(30)).unwrap();
            assert_eq!(verdict, format!("pod todo-api-x has been in {reason} for 30.0s"));
        }
        let pod = pod(0, "InvalidImageName");
        let problem = pod.problem().unwrap();
        assert!(hopeless(&pod, &problem, Duration::ZERO).is_some(), "a wrong name never pulls");
        let pod = self::pod(0, "ContainerCreating");
        let problem = pod.problem().unwrap();
        assert_eq!(hopeless(&pod, &problem, Duration::from_secs(600)), None, "slow is not hopeless");
    }
}
