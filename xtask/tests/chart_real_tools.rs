//! The chart checked by the real tools: Helm 3 (v3.17) and Helm 4 (v4.1) lint and render it,
//! kubernetes-validate checks the output against the Kubernetes 1.28 and 1.35 schemas, checkov finds
//! no failed check, yamllint accepts it, and the output equals the golden files in
//! `tests/golden/` (which `chart_manifests.rs` inspects without any tool).
//!
//! Every test is `#[ignore]`d, so plain `cargo test` passes anywhere; `cargo xtask test` runs them
//! as the `chart` suite once `ci/helm.sh` and `ci/python-tools.sh` have installed the tools (into
//! target/ci/, where these tests look first, then on PATH). A missing tool skips a test with a
//! message, or fails it when TODO_REQUIRE_TOOLS=1 (CI).
//!
//! Update the golden files after a chart change: `UPDATE_EXPECT=1 cargo test -p xtask --test
//! chart_real_tools -- --ignored`, then review the diff.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const HELMS: [&str; 2] = ["helm3", "helm4"];
const ENVIRONMENTS: [&str; 2] = ["minikube", "cluster"];
/// The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest we check.
const KUBE_VERSIONS: [&str; 2] = ["1.28.0", "1.35.0"];
/// The version the golden files are rendered for (with the native preStop sleep).
const GOLDEN_KUBE: &str = "1.35.0";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn chart() -> PathBuf {
    root().join("infra/helm/todo")
}

/// The program, from target/ci (where the ci/ scripts install) or PATH; `None` (the test returns)
/// when it is missing, unless TODO_REQUIRE_TOOLS=1 makes that a failure.
fn tool(program: &str, fix: &str) -> Option<PathBuf> {
    let ci = root().join("target/ci");
    let found = [ci.join("bin"), ci.join("venv/bin")]
        .into_iter()
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
        .or_else(|| which::which(program).ok());
    if found.is_none() {
        let message = format!("`{program}` is not installed (looked in target/ci and on PATH); {fix}");
        if std::env::var("TODO_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("{message}");
        }
        eprintln!("skipped: {message}");
    }
    found
}

fn helm(name: &str) -> Option<PathBuf> {
    tool(name, "run `bash ci/helm.sh`")
}

fn python_tool(name: &str) -> Option<PathBuf> {
    tool(name, "run `bash ci/python-tools.sh`")
}

fn run(program: &Path, args: &[&str]) -> Output {
    Command::new(program).args(args).current_dir(root()).output().unwrap()
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn values_file(env: &str) -> String {
    chart().join(format!("values-{env}.yaml")).display().to_string()
}

/// `helm template` as deploy would run it: release `todo` in namespace `todo`.
fn render(helm: &Path, env: &str, kube: &str, extra: &[&str]) -> Result<String, String> {
    let chart = chart().display().to_string();
    let values = values_file(env);
    let mut args =
        vec!["template", "todo", &chart, "--namespace", "todo", "-f", &values, "--kube-version", kube];
    args.extend(extra);
    let output = run(helm, &args);
    if output.status.success() { Ok(String::from_utf8(output.stdout).unwrap()) } else { Err(text(&output)) }
}

fn write_temp(dir: &tempfile::TempDir, name: &str, contents: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    path.display().to_string()
}

#[test]
#[ignore = "real-tool suite: run by cargo xtask test"]
fn real_helm3_and_helm4_lint_strict_in_every_environment() {
    for name in HELMS {
        let Some(helm) = helm(name) else { return };
        for env in ENVIRONMENTS {
            for kube in KUBE_VERSIONS {
                let chart = chart().display().to_string();
                let values = values_file(env);
                let output = run(&helm, &["lint", "--strict", &chart, "-f", &values, "--kube-version", kube]);
                assert!(output.status.success(), "{name} lint --strict ({env}, {kube}):\n{}", text(&output));
            }
        }
    }
}

#[test]
#[ignore = "real-tool suite: run by cargo xtask test"]
fn real_helm3_and_helm4_render_the_golden_files() {
    let update = std::env::var("UPDATE_EXPECT").is_ok_and(|v| v == "1");
    for env in ENVIRONMENTS {
        let golden = root().join(format!("xtask/tests/golden/chart-{env}.yaml"));
        let mut rendered = Vec::new();
        for name in HELMS {
            let Some(helm) = helm(name) else { return };
            rendered.push((name, render(&helm, env, GOLDEN_KUBE, &[]).unwrap()));
        }
        let (first, output) = &rendered[0];
        for (name, other) in &rendered[1..] {
            assert!(output == other, "{first} and {name} render the {env} chart differently");
        }
        if update {
            std::fs::write(&golden, output).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_default();
        if *output != expected {
            let first_difference = output.lines().zip(expected.lines()).position(|(a, b)| a != b);
            panic!(
                "helm renders the {env} chart differently from {} (first differing line: {:?}).\n\
                 If the change is intended: UPDATE_EXPECT=1 cargo test -p xtask --test chart_real_tools -- --ignored, \
                 then review the diff",
                golden.display(),
                first_difference.map(|i| i + 1)
            );
        }
    }
}

#[test]
#[ignore = "real-tool suite: run by cargo xtask test"]
fn real_kubernetes_validate_strict_accepts_1_28_and_1_35() {
    let (Some(helm), Some(validate)) = (helm("helm4"), python_tool("kubernetes-validate")) else { return };
    let dir = tempfile::tempdir().unwrap();
    for env in ENVIRONMENTS {
        for kube in KUBE_VERSIONS {
            let manifests = render(&helm, env, kube, &[]).unwrap();
            // The native preStop sleep is not in the 1.28 schema: the chart leaves it out there.
            assert_eq!(manifests.contains("sleep:"), kube != "1.28.0", "{env} {kube}");
            let file = write_temp(&dir, &format!("{env}-{kube}.yaml"), &manifests);
            let output = run(&validate, &["--kubernetes-version", kube, "--strict", "--quiet", &file]);
            assert!(output.status.success(), "kubernetes-validate {kube} ({env}):\n{}", text(&output));
        }
    }
}

#[test]
#[ignore = "real-tool suite: run by cargo xtask test"]
fn real_checkov_finds_no_failed_check_and_every_skip_has_a_reason() {
    let (Some(helm), Some(checkov)) = (helm("helm4"), python_tool("checkov")) else { return };
    let dir = tempfile::tempdir().unwrap();
    for env in ENVIRONMENTS {
        let file = write_temp(&dir, &format!("{env}.yaml"), &render(&helm, env, GOLDEN_KUBE, &[]).unwrap());
        let output = Command::new(&checkov)
            .args(["--skip-download", "--framework", "kubernetes", "--output", "json", "--file", &file])
            .env("BC_SKIP_MAPPING", "TRUE")
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|err| panic!("checkov printed no JSON report ({err}):\n{}", text(&output)));
        let summary = &report["summary"];
        assert!(summary["passed"].as_u64().unwrap() > 100, "checkov checked almost nothing: {summary}");
        let failed: Vec<String> = report["results"]["failed_checks"]
            .as_array()
            .map(|checks| {
                checks
                    .iter()
                    .map(|c| format!("{} {} ({})", c["check_id"], c["resource"], c["check_name"]))
                    .collect()
            })
            .unwrap_or_default();
        assert!(failed.is_empty(), "checkov failed checks in the {env} chart:\n{}", failed.join("\n"));
        assert_eq!(summary["failed"], 0, "{summary}");
        for skipped in report["results"]["skipped_checks"].as_array().unwrap() {
            let reason = skipped["check_result"]["suppress_comment"].as_str().unwrap_or("");
            assert!(
                reason.len() >= 20,
                "{} on {} is skipped without a reason",
                skipped["check_id"],
                skipped["resource"]
            );
        }
    }
}

#[test]
#[ignore = "real-tool suite: run by cargo xtask test"]
fn real_yamllint_accepts_the_rendered_chart_and_its_values_files() {
    let (Some(helm), Some(yamllint)) = (helm("helm4"), python_tool("yamllint")) else { return };
    let config = root().join("xtask/tests/golden/yamllint.yaml").display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![
        chart().join("Chart.yaml").display().to_string(),
        chart().join("values.yaml").display().to_string(),
    ];
    for env in ENVIRONMENTS {
        files.push(values_file(env));
        files.push(write_temp(&dir, &format!("{env}.yaml"), &render(&helm, env, GOLDEN_KUBE, &[]).unwrap()));
    }
    let mut args = vec!["--strict", "--config-file", &config];
    args.extend(files.iter().map(String::as_str));
    let output = run(&yamllint, &args);
    assert!(output.status.success(), "yamllint:\n{}", text(&output));
}

#[test]
#[ignore = "real-tool suite: run by cargo xtask test"]
fn real_helm_renders_the_sqlite_mode_with_one_writer_and_refuses_two() {
    for name in HELMS {
        let Some(helm) = helm(name) else { return };
        let sqlite = ["--set", "database.mode=sqlite"];
        let manifests = render(&helm, "minikube", GOLDEN_KUBE, &sqlite).unwrap();
        assert!(manifests.contains("type: Recreate"), "{name}: the api is not recreated");
        assert!(manifests.contains("kind: PersistentVolumeClaim\nmetadata:\n  name: todo-sqlite"), "{name}");
        assert!(manifests.contains("TODO_DATA_DIR: \"/data\""), "{name}");
        assert!(!manifests.contains("key: DATABASE_URL"), "{name}: sqlite needs no DATABASE_URL");
        assert!(!manifests.contains("kind: StatefulSet"), "{name}: no Postgres in the sqlite mode");

        let error = render(&helm, "cluster", GOLDEN_KUBE, &["--set", "database.mode=sqlite"]).unwrap_err();
        assert!(error.contains("database.mode=sqlite allows one writer"), "{name}: {error}");
        let error = render(&helm, "cluster", GOLDEN_KUBE, &["--set", "api.replicaCont=3"]).unwrap_err();
        assert!(error.contains("replicaCont"), "{name}: the schema lets a misspelt value through: {error}");
    }
}
