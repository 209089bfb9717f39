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

/// Image digests as `cargo xtask deploy --env cluster` sets them after pushing the images (the
/// cluster pulls by digest; minikube's loaded images have none).
const CLUSTER_DIGESTS: [&str; 2] = [
    "api.image.digest=sha256:1111111111111111111111111111111111111111111111111111111111111111",
    "web.image.digest=sha256:2222222222222222222222222222222222222222222222222222222222222222",
];

/// The values an environment is rendered with, as deploy passes them: its values file, and in
/// the cluster the images' digests.
fn values_args(env: &str) -> Vec<String> {
    let mut args = vec!["-f".to_owned(), values_file(env)];
    if env == "cluster" {
        for digest in CLUSTER_DIGESTS {
            args.extend(["--set".to_owned(), digest.to_owned()]);
        }
    }
    args
}

/// `helm template` as deploy would run it: release `todo` in namespace `todo`.
fn render(helm: &Path, env: &str, kube: &str, extra: &[&str]) -> Result<String, String> {
    let chart = chart().display().to_string();
    let values = values_args(env);
    let mut args = vec!["template", "todo", &chart, "--namespace", "todo", "--kube-version", kube];
    args.extend(values.iter().map(String::as_str));
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
                let values = values_args(env);
                let mut args = vec!["lint", "--strict", &chart, "--kube-version", kube];
                args.extend(values.iter().map(String::as_str));
                let output = run(&helm, &args);
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

/// Every document of a rendered chart.
fn documents(manifests: &str) -> Vec<serde_norway::Value> {
    use serde::Deserialize as _;
    serde_norway::Deserializer::from_str(manifests)
        .map(|doc| serde_norway::Value::deserialize(doc).unwrap())
        .filter(|doc| !doc.is_null())
        .collect()
}

fn find<'a>(docs: &'a [serde_norway::Value], kind: &str, name: &str) -> &'a serde_norway::Value {
    docs.iter()
        .find(|doc| doc["kind"].as_str() == Some(kind) && doc["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no {kind}/{name} rendered"))
}

/// `helm install --dry-run=client`: the manifests and the NOTES a user sees, without a cluster.
fn dry_run_install(helm: &Path, env: &str, extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let chart = chart().display().to_string();
    let values = values_args(env);
    let mut args = vec!["install", "todo", &chart, "--namespace", "todo", "--dry-run=client"];
    args.extend(values.iter().map(String::as_str));
    args.extend(extra);
    let output = Command::new(helm)
        .args(&args)
        .current_dir(root())
        // Nothing to reach: a client dry run must not need a kubeconfig.
        .env("KUBECONFIG", dir.path().join("no-kubeconfig"))
        .env("HELM_CACHE_HOME", dir.path().join("cache"))
        .env("HELM_CONFIG_HOME", dir.path().join("config"))
        .env("HELM_DATA_HOME", dir.path().join("data"))
        .output()
        .unwrap();
    assert!(output.status.success(), "helm install --dry-run=client ({env} {extra:?}):\n{}", text(&output));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
#[ignore = "real-tool suite: run by cargo xtask test"]
fn real_helm_notes_give_a_port_forward_that_serves_the_api_too() {
    let port_forward = "kubectl -n todo port-forward svc/todo-web 8081:8081";
    for env in ENVIRONMENTS {
        // What the NOTES promise, in both helms: web's ConfigMap points it at the api Service,
        // whether the ingress is on or off (the NetworkPolicies are checked on the golden files).
        for name in HELMS {
            let Some(helm) = helm(name) else { return };
            for ingress in ["true", "false"] {
                let set = format!("ingress.enabled={ingress}");
                let docs = documents(&render(&helm, env, GOLDEN_KUBE, &["--set", &set]).unwrap());
                let web = find(&docs, "ConfigMap", "todo-web");
                let at = format!("{name} {env} ingress {ingress}");
                assert_eq!(web["data"]["API_UPSTREAM"].as_str(), Some("http://todo-api:8080"), "{at}");
                let api = find(&docs, "Service", "todo-api");
                assert_eq!(api["spec"]["ports"][0]["port"].as_i64(), Some(8080), "{at}");
                assert!(find(&docs, "ConfigMap", "todo-api")["data"]["API_UPSTREAM"].is_null(), "{at}");
            }
        }

        // The NOTES themselves: only helm 4 prints them without a cluster (helm 3's client dry run
        // still asks the cluster for its version).
        let Some(helm) = helm("helm4") else { return };
        let output = dry_run_install(&helm, env, &["--set", "ingress.enabled=false"]);
        let (manifests, notes) = output.split_once("NOTES:\n").expect("helm prints NOTES");
        assert!(notes.contains("The ingress is disabled"), "{env}:\n{notes}");
        assert!(notes.contains(port_forward), "{env}:\n{notes}");
        assert!(notes.contains("forwards /api to the api"), "{env}:\n{notes}");
        assert!(notes.contains("API_UPSTREAM=http://todo-api:8080"), "{env}:\n{notes}");
        assert!(!manifests.contains("kind: Ingress"), "{env}");

        let output = dry_run_install(&helm, env, &[]);
        let (manifests, notes) = output.split_once("NOTES:\n").expect("helm prints NOTES");
        assert!(notes.contains("Open http://todo.local/"), "{env}:\n{notes}");
        assert!(notes.contains(port_forward), "{env}: the port-forward works with the ingress too:\n{notes}");
        assert!(manifests.contains("kind: Ingress"), "{env}");

        // An API_UPSTREAM set in web.env wins, once, and the NOTES say so.
        let output = dry_run_install(
            &helm,
            env,
            &["--set", "ingress.enabled=false", "--set", "web.env.API_UPSTREAM=http://elsewhere:9000"],
        );
        let (manifests, notes) = output.split_once("NOTES:\n").unwrap();
        assert!(notes.contains("API_UPSTREAM=http://elsewhere:9000"), "{env}:\n{notes}");
        let docs = documents(manifests);
        let web = find(&docs, "ConfigMap", "todo-web");
        assert_eq!(web["data"]["API_UPSTREAM"].as_str(), Some("http://elsewhere:9000"), "{env}");
    }
}

/// The chart, copied with its two `lookup`s of the Secret and the .env ConfigMap replaced by
/// `.Values.fakeLookup` (and no schema, which would refuse that value), so a test can render what
/// helm renders against a cluster holding those objects.
fn chart_with_fake_lookups(dir: &Path) -> PathBuf {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let copied = dir.join("todo");
    copy(&chart(), &copied);
    std::fs::remove_file(copied.join("values.schema.json")).unwrap();
    let helpers = copied.join("templates/_helpers.tpl");
    let mut text = std::fs::read_to_string(&helpers).unwrap();
    for (lookup, fake) in [
        (r#"lookup "v1" "Secret" $.Release.Namespace $.Values.existingSecret"#, "$.Values.fakeLookup.secret"),
        (
            r#"lookup "v1" "ConfigMap" $.Release.Namespace $.Values.existingConfigMap"#,
            "$.Values.fakeLookup.env",
        ),
    ] {
        assert_eq!(text.matches(lookup).count(), 1, "_helpers.tpl no longer has `{lookup}`");
        text = text.replace(lookup, fake);
    }
    std::fs::write(&helpers, text).unwrap();
    copied
}

#[test]
#[ignore = "real-tool suite: run by cargo xtask test"]
fn real_helm_rolls_each_workload_only_for_the_keys_it_reads() {
    use std::collections::BTreeMap;
    let dir = tempfile::tempdir().unwrap();
    let chart = chart_with_fake_lookups(dir.path()).display().to_string();
    let secret = BTreeMap::from([
        ("JWT_SECRET", "aaaa"),
        ("DATABASE_URL", "bbbb"),
        ("LLM_API_KEY", "cccc"),
        ("POSTGRES_PASSWORD", "dddd"),
    ]);
    let env = BTreeMap::from([("RUST_LOG", "info"), ("LLM_MODEL", "m1")]);
    for name in HELMS {
        let Some(helm) = helm(name) else { return };
        for mode in ["bundled", "sqlite"] {
            // Each workload's checksum annotations, rendered against these objects.
            let annotations = |secret: &BTreeMap<&str, &str>, env: &BTreeMap<&str, &str>| {
                let fake = serde_json::json!({ "secret": { "data": secret }, "env": { "data": env } });
                let set_fake = format!("fakeLookup={fake}");
                let set_mode = format!("database.mode={mode}");
                let values = values_file("minikube");
                let args = [
                    "template",
                    "todo",
                    &chart,
                    "--namespace",
                    "todo",
                    "-f",
                    &values,
                    "--kube-version",
                    GOLDEN_KUBE,
                    "--set-json",
                    &set_fake,
                    "--set",
                    &set_mode,
                ];
                let output = run(&helm, &args);
                assert!(output.status.success(), "{name}: {}", text(&output));
                let docs = documents(&String::from_utf8(output.stdout).unwrap());
                let mut found = BTreeMap::new();
                for (kind, workload) in [
                    ("Deployment", "todo-api"),
                    ("Deployment", "todo-web"),
                    ("StatefulSet", "todo-postgresql"),
                ] {
                    if mode == "sqlite" && kind == "StatefulSet" {
                        continue;
                    }
                    let all = &find(&docs, kind, workload)["spec"]["template"]["metadata"]["annotations"];
                    let checksums: BTreeMap<String, String> = all
                        .as_mapping()
                        .into_iter()
                        .flatten()
                        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
                        .filter(|(k, _)| k.starts_with("checksum/"))
                        .collect();
                    found.insert(workload, checksums);
                }
                found
            };
            let base = annotations(&secret, &env);
            let keys = |workload: &str| base[workload].keys().cloned().collect::<Vec<_>>();
            assert_eq!(
                keys("todo-api"),
                ["checksum/config", "checksum/env", "checksum/secret"],
                "{name} {mode}"
            );
            // web reads no Secret key, and only RUST_LOG and LOG_FORMAT from the .env ConfigMap.
            assert_eq!(keys("todo-web"), ["checksum/config", "checksum/env"], "{name} {mode}");
            if mode == "bundled" {
                assert!(base["todo-postgresql"].is_empty(), "{name}: {:?}", base["todo-postgresql"]);
            }

            // Which workloads each change rolls.
            let with =
                |map: &BTreeMap<&'static str, &'static str>, key: &'static str, value: &'static str| {
                    let mut map = map.clone();
                    map.insert(key, value);
                    map
                };
            let cases: [(&str, BTreeMap<_, _>, BTreeMap<_, _>, &[&str]); 7] = [
                ("LLM_API_KEY rotated", with(&secret, "LLM_API_KEY", "zzzz"), env.clone(), &["todo-api"]),
                ("OPENAI_API_KEY added", with(&secret, "OPENAI_API_KEY", "zzzz"), env.clone(), &["todo-api"]),
                ("JWT_SECRET rotated", with(&secret, "JWT_SECRET", "zzzz"), env.clone(), &["todo-api"]),
                ("POSTGRES_PASSWORD changed", with(&secret, "POSTGRES_PASSWORD", "zzzz"), env.clone(), &[]),
                ("an unread Secret key", with(&secret, "OTHER", "zzzz"), env.clone(), &[]),
                ("LLM_MODEL changed", secret.clone(), with(&env, "LLM_MODEL", "m2"), &["todo-api"]),
                (
                    "RUST_LOG changed",
                    secret.clone(),
                    with(&env, "RUST_LOG", "debug"),
                    &["todo-api", "todo-web"],
                ),
            ];
            for (change, secret, env, rolled) in cases {
                let after = annotations(&secret, &env);
                for (workload, checksums) in &base {
                    let rolls = after[workload] != *checksums;
                    assert_eq!(
                        rolls,
                        rolled.contains(workload),
                        "{name} {mode}: {change} rolls {workload}: {rolls}"
                    );
                }
            }
            // DATABASE_URL: read by the api, except in the sqlite mode.
            let after = annotations(&with(&secret, "DATABASE_URL", "zzzz"), &env);
            assert_eq!(
                after["todo-api"] != base["todo-api"],
                mode == "bundled",
                "{name} {mode}: DATABASE_URL"
            );
            assert_eq!(after["todo-web"], base["todo-web"], "{name} {mode}");
        }
    }
}

#[test]
#[ignore = "real-tool suite: run by cargo xtask test"]
fn real_helm_takes_the_dns_peer_from_values_and_kubernetes_accepts_it() {
    let (Some(helm), Some(validate)) = (helm("helm4"), python_tool("kubernetes-validate")) else { return };
    let dir = tempfile::tempdir().unwrap();
    // NodeLocal DNSCache, with CoreDNS found by its own labels in any namespace.
    let values = write_temp(
        &dir,
        "dns.yaml",
        "networkPolicy:\n  dns:\n    namespaceSelector:\n      kubernetes.io/metadata.name: null\n    \
         podSelector:\n      k8s-app: null\n      app.kubernetes.io/name: coredns\n    ipBlocks:\n      \
         - 169.254.20.10/32\n      - fd00::10/128\n",
    );
    for env in ENVIRONMENTS {
        let manifests = render(&helm, env, GOLDEN_KUBE, &["-f", &values]).unwrap();
        let docs = documents(&manifests);
        let policies: Vec<&serde_norway::Value> =
            docs.iter().filter(|doc| doc["kind"].as_str() == Some("NetworkPolicy")).collect();
        let mut dns_rules = 0;
        for policy in policies {
            for rule in policy["spec"]["egress"].as_sequence().into_iter().flatten() {
                let ports: Vec<i64> =
                    rule["ports"].as_sequence().unwrap().iter().filter_map(|p| p["port"].as_i64()).collect();
                if !ports.contains(&53) {
                    continue;
                }
                dns_rules += 1;
                let peers = rule["to"].as_sequence().unwrap();
                let pods = &peers[0];
                assert!(pods["namespaceSelector"]["matchLabels"].as_mapping().unwrap().is_empty(), "{env}");
                let labels = pods["podSelector"]["matchLabels"].as_mapping().unwrap();
                assert_eq!(labels.len(), 1, "{env}: {labels:?}");
                assert_eq!(
                    pods["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as_str(),
                    Some("coredns")
                );
                let blocks: Vec<&str> =
                    peers[1..].iter().map(|p| p["ipBlock"]["cidr"].as_str().unwrap()).collect();
                assert_eq!(blocks, ["169.254.20.10/32", "fd00::10/128"], "{env}");
            }
        }
        // api, web and the test pods resolve names.
        assert_eq!(dns_rules, 3, "{env}");
        let file = write_temp(&dir, &format!("{env}.yaml"), &manifests);
        let output = run(&validate, &["--kubernetes-version", GOLDEN_KUBE, "--strict", "--quiet", &file]);
        assert!(output.status.success(), "kubernetes-validate ({env}):\n{}", text(&output));
    }
    // The schema refuses what is not an address block.
    let error =
        render(&helm, "cluster", GOLDEN_KUBE, &["--set-json", r#"networkPolicy.dns.ipBlocks=["kube-dns"]"#])
            .unwrap_err();
    assert!(error.contains("ipBlocks"), "{error}");
}

#[test]
#[ignore = "real-tool suite: run by cargo xtask test"]
fn real_helm_pins_images_by_digest_when_given_and_the_schema_checks_digests() {
    let image_of = |docs: &[serde_norway::Value], kind: &str, name: &str| {
        find(docs, kind, name)["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    for name in HELMS {
        let Some(helm) = helm(name) else { return };
        let registry =
            ["--set", "image.registry=registry.example.com/team/", "--set", "api.image.tag=c0ffee"];
        let docs = documents(&render(&helm, "minikube", GOLDEN_KUBE, &registry).unwrap());
        assert_eq!(image_of(&docs, "Deployment", "todo-api"), "registry.example.com/team/todo-api:c0ffee");
        // The tag defaults to the chart's appVersion.
        assert_eq!(image_of(&docs, "Deployment", "todo-web"), "registry.example.com/team/todo-web:0.1.0");
        // The test pods run the api image, from the same registry.
        let hook = find(&docs, "Pod", "todo-test-api");
        assert_eq!(
            hook["spec"]["containers"][0]["image"].as_str(),
            Some("registry.example.com/team/todo-api:c0ffee")
        );

        let set_digest = format!("api.image.digest={digest}");
        let mut args = registry.to_vec();
        args.extend(["--set", &set_digest]);
        let docs = documents(&render(&helm, "minikube", GOLDEN_KUBE, &args).unwrap());
        let pinned = format!("registry.example.com/team/todo-api@{digest}");
        assert_eq!(image_of(&docs, "Deployment", "todo-api"), pinned, "{name}: the digest overrides the tag");
        assert_eq!(
            find(&docs, "Pod", "todo-test-web")["spec"]["containers"][0]["image"].as_str(),
            Some(pinned.as_str())
        );
        assert_eq!(image_of(&docs, "Deployment", "todo-web"), "registry.example.com/team/todo-web:0.1.0");

        for bad in ["latest", "sha256:abc", "sha512:0123"] {
            let set = format!("web.image.digest={bad}");
            let error = render(&helm, "cluster", GOLDEN_KUBE, &["--set", &set]).unwrap_err();
            assert!(error.contains("digest"), "{name}: the schema lets digest {bad} through: {error}");
        }
    }
}
