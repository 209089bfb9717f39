//! What the rendered chart must be, checked on the golden files (`tests/golden/chart-<env>.yaml`:
//! `helm template` output for Kubernetes 1.35, the cluster's with image digests set as deploy sets
//! them, kept equal to what helm 3 and 4 render by the chart suite in `chart_real_tools.rs`). No
//! tool needed: this runs with every `cargo test`.

use std::path::Path;

use serde::Deserialize as _;
use serde_norway::Value;
use xtask::config::DeployConfig;

const ENVIRONMENTS: [&str; 2] = ["minikube", "cluster"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn manifests(env: &str) -> Vec<Value> {
    let path = root().join(format!("xtask/tests/golden/chart-{env}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap())
        .filter(|doc| !doc.is_null())
        .collect()
}

fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap()
}

fn name(doc: &Value) -> String {
    format!("{}/{}", kind(doc), doc["metadata"]["name"].as_str().unwrap())
}

fn of_kind<'a>(docs: &'a [Value], kind_name: &str) -> Vec<&'a Value> {
    docs.iter().filter(|doc| kind(doc) == kind_name).collect()
}

/// Every pod spec in the output, with the name of the object that holds it.
fn pod_specs(docs: &[Value]) -> Vec<(String, &Value)> {
    docs.iter()
        .filter_map(|doc| match kind(doc) {
            "Deployment" | "StatefulSet" => Some((name(doc), &doc["spec"]["template"]["spec"])),
            "Pod" => Some((name(doc), &doc["spec"])),
            _ => None,
        })
        .collect()
}

fn containers(spec: &Value) -> Vec<&Value> {
    let list = |key: &str| spec[key].as_sequence().map(|s| s.iter().collect::<Vec<_>>()).unwrap_or_default();
    list("initContainers").into_iter().chain(list("containers")).collect()
}

fn int(value: &Value) -> i64 {
    value.as_i64().unwrap_or_else(|| panic!("{value:?} is not a number"))
}

#[test]
fn every_container_meets_the_restricted_pod_security_standard() {
    for env in ENVIRONMENTS {
        let docs = manifests(env);
        let specs = pod_specs(&docs);
        // api, web and a test pod for each (and the bundled Postgres in minikube).
        assert!(specs.len() >= 4, "{env}: only {} pod specs", specs.len());
        for (owner, spec) in specs {
            assert_eq!(spec["automountServiceAccountToken"], Value::Bool(false), "{env} {owner}");
            let pod = &spec["securityContext"];
            assert_eq!(pod["runAsNonRoot"], Value::Bool(true), "{env} {owner}");
            assert!(int(&pod["runAsUser"]) >= 10000 && int(&pod["runAsGroup"]) >= 10000, "{env} {owner}");
            assert_eq!(pod["seccompProfile"]["type"].as_str(), Some("RuntimeDefault"), "{env} {owner}");
            for container in containers(spec) {
                let at = format!("{env} {owner} container {}", container["name"].as_str().unwrap());
                let security = &container["securityContext"];
                assert_eq!(security["runAsNonRoot"], Value::Bool(true), "{at}");
                assert!(int(&security["runAsUser"]) >= 10000, "{at}: numeric runAsUser >= 10000");
                assert!(int(&security["runAsGroup"]) >= 10000, "{at}");
                assert_eq!(security["allowPrivilegeEscalation"], Value::Bool(false), "{at}");
                assert_eq!(security["privileged"], Value::Bool(false), "{at}");
                assert_eq!(security["readOnlyRootFilesystem"], Value::Bool(true), "{at}");
                let dropped: Vec<&str> = security["capabilities"]["drop"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap())
                    .collect();
                assert_eq!(dropped, ["ALL"], "{at}");
                assert!(security["capabilities"]["add"].is_null(), "{at}");
                assert_eq!(security["seccompProfile"]["type"].as_str(), Some("RuntimeDefault"), "{at}");

                for set in ["requests", "limits"] {
                    for resource in ["cpu", "memory", "ephemeral-storage"] {
                        assert!(container["resources"][set][resource].is_string(), "{at}: {set}.{resource}");
                    }
                }
                // Pinned: by digest, or by a tag that is not `latest`.
                let image = container["image"].as_str().unwrap();
                if let Some((_, digest)) = image.split_once('@') {
                    assert!(is_digest(digest), "{at}: image {image}");
                } else {
                    let tag = image.rsplit_once(':').map(|(_, tag)| tag).unwrap_or("");
                    assert!(!tag.is_empty() && tag != "latest" && !tag.contains('/'), "{at}: image {image}");
                }
            }
        }
    }
}

#[test]
fn app_containers_have_distinct_probes_a_writable_tmp_and_a_short_pre_stop() {
    for env in ENVIRONMENTS {
        let docs = manifests(env);
        for deployment in of_kind(&docs, "Deployment") {
            let at = format!("{env} {}", name(deployment));
            let spec = &deployment["spec"];
            let strategy = &spec["strategy"];
            assert_eq!(strategy["type"].as_str(), Some("RollingUpdate"), "{at}");
            assert_eq!(int(&strategy["rollingUpdate"]["maxUnavailable"]), 0, "{at}");
            assert!(int(&spec["progressDeadlineSeconds"]) > 0, "{at}");
            let pod = &spec["template"]["spec"];
            let grace = int(&pod["terminationGracePeriodSeconds"]);
            for container in containers(pod) {
                let probe_path =
                    |probe: &str| container[probe]["httpGet"]["path"].as_str().map(str::to_owned);
                let (startup, liveness, readiness) =
                    (probe_path("startupProbe"), probe_path("livenessProbe"), probe_path("readinessProbe"));
                assert_eq!(liveness.as_deref(), Some("/healthz"), "{at}");
                assert_eq!(readiness.as_deref(), Some("/readyz"), "{at}");
                assert!(startup.is_some(), "{at}: no startup probe");
                let sleep = int(&container["lifecycle"]["preStop"]["sleep"]["seconds"]);
                assert!(sleep > 0 && sleep < grace, "{at}: preStop sleep {sleep}s, grace {grace}s");
                let mounts = container["volumeMounts"].as_sequence().unwrap();
                let tmp =
                    mounts.iter().find(|m| m["mountPath"].as_str() == Some("/tmp")).expect("/tmp mounted");
                let volume =
                    pod["volumes"].as_sequence().unwrap().iter().find(|v| v["name"] == tmp["name"]).unwrap();
                assert!(volume["emptyDir"].is_mapping(), "{at}: /tmp is an emptyDir");
            }
        }
    }
}

fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// The cluster pulls the app's images by digest (checkov CKV_K8S_43 holds there, no skip); minikube
/// runs loaded images by their content-hash tags.
#[test]
fn cluster_images_are_pinned_by_digest_and_minikube_images_by_tag() {
    for env in ENVIRONMENTS {
        let docs = manifests(env);
        for (owner, spec) in pod_specs(&docs) {
            for container in containers(spec) {
                let image = container["image"].as_str().unwrap();
                if image.starts_with("postgres") {
                    continue;
                }
                let pinned = image
                    .split_once('@')
                    .is_some_and(|(repository, digest)| !repository.contains(':') && is_digest(digest));
                assert_eq!(pinned, env == "cluster", "{env} {owner}: {image}");
            }
        }
        let skips: Vec<String> = docs
            .iter()
            .flat_map(|doc| doc["metadata"]["annotations"].as_mapping().into_iter().flatten())
            .filter_map(|(_, value)| {
                value.as_str().filter(|v| v.starts_with("CKV_K8S_43=")).map(str::to_owned)
            })
            .collect();
        assert_eq!(skips.is_empty(), env == "cluster", "{env}: {skips:?}");
    }
}

/// `helm test` runs the api image's `healthcheck` subcommand (no image from the internet), one pod
/// per component with each of its paths through its Service, deleted when it passes.
#[test]
fn helm_test_hooks_run_the_api_image_healthcheck_through_each_service() {
    let config = DeployConfig::load(root().try_into().unwrap()).unwrap();
    for env in ENVIRONMENTS {
        let docs = manifests(env);
        let api_image = of_kind(&docs, "Deployment")
            .into_iter()
            .find(|d| d["metadata"]["name"].as_str() == Some("todo-api"))
            .map(|d| d["spec"]["template"]["spec"]["containers"][0]["image"].as_str().unwrap().to_owned())
            .unwrap();
        let hooks: Vec<&Value> = of_kind(&docs, "Pod")
            .into_iter()
            .filter(|pod| pod["metadata"]["annotations"]["helm.sh/hook"].as_str() == Some("test"))
            .collect();
        assert_eq!(hooks.len(), config.tests.checks.len(), "{env}: one test pod per component");
        for (service, paths) in &config.tests.checks {
            let pod_name = format!("todo-test-{service}");
            let pod = hooks
                .iter()
                .find(|pod| pod["metadata"]["name"].as_str() == Some(&pod_name))
                .unwrap_or_else(|| panic!("{env}: no test pod {pod_name}"));
            let policy = pod["metadata"]["annotations"]["helm.sh/hook-delete-policy"].as_str().unwrap();
            assert!(policy.split(',').any(|p| p == "hook-succeeded"), "{env} {pod_name}: {policy}");
            assert_eq!(pod["spec"]["restartPolicy"].as_str(), Some("Never"));
            let container = &pod["spec"]["containers"][0];
            assert_eq!(container["image"].as_str(), Some(api_image.as_str()), "{env} {pod_name}");
            assert!(container["command"].is_null(), "{env} {pod_name}: the image's entrypoint runs");
            let args: Vec<&str> =
                container["args"].as_sequence().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
            let port = config.services[service.as_str()].port.0;
            let mut expected =
                vec!["healthcheck".to_owned(), "--retries".to_owned(), config.tests.retries.to_string()];
            expected.extend(paths.iter().map(|path| format!("http://todo-{service}:{port}{}", path.0)));
            assert_eq!(args, expected, "{env} {pod_name}");
        }
        let text =
            std::fs::read_to_string(root().join(format!("xtask/tests/golden/chart-{env}.yaml"))).unwrap();
        assert!(!text.contains("curl"), "{env}: a test still uses curl");
    }
}

/// The keys of existingSecret a pod reads, by the `secrets` volume's sources: (required, optional).
fn secret_volume_keys(spec: &Value, secret_name: &str) -> (Vec<String>, Vec<String>) {
    let volume = spec["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|v| v["name"].as_str() == Some("secrets"))
        .expect("a `secrets` volume");
    let projected = &volume["projected"];
    assert_eq!(
        projected["defaultMode"].as_i64(),
        Some(0o440),
        "files readable by the owner and fsGroup only"
    );
    let (mut required, mut optional) = (Vec::new(), Vec::new());
    for source in projected["sources"].as_sequence().unwrap() {
        let secret = &source["secret"];
        assert_eq!(secret["name"].as_str(), Some(secret_name));
        let keys = if secret["optional"].as_bool() == Some(true) { &mut optional } else { &mut required };
        for item in secret["items"].as_sequence().unwrap() {
            assert_eq!(item["key"], item["path"], "the file is named after its key");
            keys.push(item["key"].as_str().unwrap().to_owned());
        }
    }
    (required, optional)
}

#[test]
fn secrets_are_referenced_by_name_never_rendered() {
    let config = DeployConfig::load(root().try_into().unwrap()).unwrap();
    let secret_name = config.app.secret_name.0.as_str();
    for env in ENVIRONMENTS {
        let docs = manifests(env);
        assert!(of_kind(&docs, "Secret").is_empty(), "{env}: the chart renders a Secret");
        for config_map in of_kind(&docs, "ConfigMap") {
            for key in config_map["data"].as_mapping().unwrap().keys() {
                let key = key.as_str().unwrap();
                assert!(!xtask::config::SECRET_KEYS.contains(&key), "{env} {} holds {key}", name(config_map));
            }
        }
        // Secrets reach the pods as files (checkov CKV_K8S_35), never as environment values.
        for (owner, spec) in pod_specs(&docs) {
            for container in containers(spec) {
                for var in container["env"].as_sequence().into_iter().flatten() {
                    let key = var["name"].as_str().unwrap();
                    assert!(
                        !xtask::config::SECRET_KEYS.contains(&key),
                        "{env} {owner}: {key} in the environment"
                    );
                    assert!(
                        var["valueFrom"]["secretKeyRef"].is_null(),
                        "{env} {owner}: {key} from a secretKeyRef"
                    );
                }
                assert!(
                    container["envFrom"]
                        .as_sequence()
                        .into_iter()
                        .flatten()
                        .all(|e| e["secretRef"].is_null())
                );
            }
        }
        let workload = |kind: &str, name: &str| {
            let doc = of_kind(&docs, kind)
                .into_iter()
                .find(|d| d["metadata"]["name"].as_str() == Some(name))
                .unwrap_or_else(|| panic!("{env}: no {kind}/{name}"));
            &doc["spec"]["template"]["spec"]
        };
        // The api: each key it reads as `<KEY>_FILE` in the read-only mount of the `secrets` volume,
        // the LLM keys optional (a Secret without them still starts the pod).
        let api = workload("Deployment", "todo-api");
        let (required, optional) = secret_volume_keys(api, secret_name);
        assert_eq!(required, ["JWT_SECRET", "DATABASE_URL"], "{env}");
        assert_eq!(optional, ["LLM_API_KEY", "OPENAI_API_KEY"], "{env}");
        let container = &api["containers"][0];
        let mount = container["volumeMounts"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|m| m["name"].as_str() == Some("secrets"))
            .expect("the secrets volume is mounted");
        assert_eq!(mount["readOnly"].as_bool(), Some(true), "{env}");
        let dir = mount["mountPath"].as_str().unwrap();
        assert_eq!(dir, "/var/run/secrets/todo");
        let files: Vec<(String, String)> = container["env"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|var| {
                Some((
                    var["name"].as_str()?.strip_suffix("_FILE")?.to_owned(),
                    var["value"].as_str()?.to_owned(),
                ))
            })
            .collect();
        let expected: Vec<(String, String)> =
            required.iter().chain(&optional).map(|key| (key.clone(), format!("{dir}/{key}"))).collect();
        assert_eq!(files, expected, "{env}");
        // web reads no secret: no volume, no mount.
        let web = workload("Deployment", "todo-web");
        assert!(web["volumes"].as_sequence().unwrap().iter().all(|v| v["name"].as_str() != Some("secrets")));
        if env == "minikube" {
            let postgres = workload("StatefulSet", "todo-postgresql");
            assert_eq!(
                secret_volume_keys(postgres, secret_name),
                (vec!["POSTGRES_PASSWORD".to_owned()], vec![])
            );
            let env_vars = postgres["containers"][0]["env"].as_sequence().unwrap();
            assert!(env_vars.iter().any(|v| v["name"].as_str() == Some("POSTGRES_PASSWORD_FILE")
                && v["value"].as_str() == Some("/var/run/secrets/todo/POSTGRES_PASSWORD")));
        }
        // The pods roll when the chart's ConfigMap changes; the Secret's hash is added by helm at
        // install time (lookup), which `helm template` cannot do.
        for deployment in of_kind(&docs, "Deployment") {
            let annotations = &deployment["spec"]["template"]["metadata"]["annotations"];
            assert!(annotations["checksum/config"].as_str().is_some_and(|h| h.len() == 64), "{env}");
        }
    }
}

#[test]
fn the_ingress_routes_the_host_to_web_and_api() {
    for env in ENVIRONMENTS {
        let docs = manifests(env);
        let ingresses = of_kind(&docs, "Ingress");
        assert_eq!(ingresses.len(), 1, "{env}");
        let rule = &ingresses[0]["spec"]["rules"][0];
        assert_eq!(rule["host"].as_str(), Some("todo.local"));
        let routes: Vec<(String, String)> = rule["http"]["paths"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|p| {
                let service = p["backend"]["service"]["name"].as_str().unwrap().to_owned();
                (p["path"].as_str().unwrap().to_owned(), service)
            })
            .collect();
        assert_eq!(routes, [("/".into(), "todo-web".into()), ("/api".into(), "todo-api".into())], "{env}");
        assert_eq!(ingresses[0]["spec"]["ingressClassName"].as_str(), Some("nginx"));
    }
}

#[test]
fn network_policies_deny_by_default_and_service_accounts_mount_no_token() {
    for env in ENVIRONMENTS {
        let docs = manifests(env);
        let policies = of_kind(&docs, "NetworkPolicy");
        let deny =
            policies.iter().find(|p| name(p).ends_with("-default-deny")).expect("a default-deny policy");
        assert!(deny["spec"]["ingress"].is_null() && deny["spec"]["egress"].is_null(), "{env}");
        assert_eq!(
            deny["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/instance"].as_str(),
            Some("todo")
        );
        for account in of_kind(&docs, "ServiceAccount") {
            assert_eq!(account["automountServiceAccountToken"], Value::Bool(false), "{env}");
        }
        for doc in &docs {
            let labels = &doc["metadata"]["labels"];
            for label in
                ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by"]
            {
                assert!(labels[label].is_string(), "{env} {}: no {label}", name(doc));
            }
            assert_eq!(doc["metadata"]["namespace"].as_str(), Some("todo"), "{env} {}", name(doc));
        }
    }
}

#[test]
fn the_bundled_database_is_where_secrets_points_database_url() {
    let (minikube, _) = DeployConfig::load_env(root().try_into().unwrap(), Some("minikube")).unwrap();
    let docs = manifests("minikube");
    let services: Vec<String> = of_kind(&docs, "Service").iter().map(|s| name(s)).collect();
    assert!(services.contains(&format!("Service/{}", minikube.postgres_host())), "{services:?}");
    let statefulset = of_kind(&docs, "StatefulSet");
    assert_eq!(statefulset.len(), 1);
    assert!(
        statefulset[0]["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
            .is_string()
    );
    // The cluster environment expects an external database: no Postgres in it.
    assert!(of_kind(&manifests("cluster"), "StatefulSet").is_empty());
}

/// The NetworkPolicy of a component (`todo-<component>`).
fn policy<'a>(docs: &'a [Value], component: &str) -> &'a Value {
    of_kind(docs, "NetworkPolicy")
        .into_iter()
        .find(|p| p["metadata"]["name"].as_str() == Some(&format!("todo-{component}")))
        .unwrap_or_else(|| panic!("no NetworkPolicy for {component}"))
}

/// Whether a peer list holds the pods of a component of this release.
fn has_pods_of(peers: &Value, component: &str) -> bool {
    peers.as_sequence().into_iter().flatten().any(|peer| {
        let labels = &peer["podSelector"]["matchLabels"];
        peer["namespaceSelector"].is_null()
            && labels["app.kubernetes.io/instance"].as_str() == Some("todo")
            && labels["app.kubernetes.io/component"].as_str() == Some(component)
    })
}

fn ports(rule: &Value) -> Vec<(String, String)> {
    rule["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| {
            let port = match &p["port"] {
                Value::Number(n) => n.to_string(),
                other => other.as_str().unwrap().to_owned(),
            };
            (port, p["protocol"].as_str().unwrap().to_owned())
        })
        .collect()
}

fn pair(port: &str, protocol: &str) -> (String, String) {
    (port.to_owned(), protocol.to_owned())
}

/// With the ingress off, `kubectl port-forward svc/todo-web` is the app: web forwards /api to the
/// api Service (API_UPSTREAM, a name it resolves), so the policies let web query DNS and reach the
/// api pods, and the api admit web.
#[test]
fn web_forwards_the_api_to_the_api_service_and_the_policies_allow_it() {
    for env in ENVIRONMENTS {
        let docs = manifests(env);
        let web_config = of_kind(&docs, "ConfigMap")
            .into_iter()
            .find(|c| c["metadata"]["name"].as_str() == Some("todo-web"))
            .unwrap();
        let upstream = web_config["data"]["API_UPSTREAM"].as_str().expect("web has API_UPSTREAM");
        let api_service = of_kind(&docs, "Service")
            .into_iter()
            .find(|s| s["metadata"]["name"].as_str() == Some("todo-api"))
            .unwrap();
        let port = int(&api_service["spec"]["ports"][0]["port"]);
        assert_eq!(upstream, format!("http://todo-api:{port}"), "{env}");
        // The api Service sends it to the api pods' `http` port, which the policies name.
        assert_eq!(api_service["spec"]["ports"][0]["targetPort"].as_str(), Some("http"), "{env}");

        let web = &policy(&docs, "web")["spec"];
        let types: Vec<&str> =
            web["policyTypes"].as_sequence().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        assert_eq!(types, ["Ingress", "Egress"], "{env}");
        let egress = web["egress"].as_sequence().unwrap();
        assert_eq!(egress.len(), 2, "{env}: web may query DNS and reach the api, nothing else");
        assert!(is_dns_rule(&egress[0]), "{env}: {:?}", egress[0]);
        assert!(has_pods_of(&egress[1]["to"], "api"), "{env}");
        assert_eq!(ports(&egress[1]), [pair("http", "TCP")], "{env}");

        let api = &policy(&docs, "api")["spec"];
        let ingress = api["ingress"].as_sequence().unwrap();
        assert!(
            ingress
                .iter()
                .any(|rule| has_pods_of(&rule["from"], "web") && ports(rule) == [pair("http", "TCP")]),
            "{env}: the api does not admit web"
        );
        // The ingress controller still reaches both directly.
        for component in ["web", "api"] {
            let rules = policy(&docs, component)["spec"]["ingress"].as_sequence().unwrap();
            assert!(
                rules.iter().any(|rule| rule["from"].as_sequence().unwrap().iter().any(|peer| {
                    peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as_str()
                        == Some("ingress-nginx")
                })),
                "{env} {component}"
            );
        }
    }
}

/// The default DNS peer: kube-dns in kube-system, UDP and TCP 53, and no ipBlock.
fn is_dns_rule(rule: &Value) -> bool {
    // A rule without `to` (the external database, HTTPS) goes anywhere: not the DNS rule.
    let Some(peers) = rule["to"].as_sequence() else { return false };
    peers.len() == 1
        && peers[0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as_str()
            == Some("kube-system")
        && peers[0]["podSelector"]["matchLabels"]["k8s-app"].as_str() == Some("kube-dns")
        && ports(rule) == [pair("53", "UDP"), pair("53", "TCP")]
}

#[test]
fn every_pod_that_resolves_names_may_query_the_default_dns_peer() {
    for env in ENVIRONMENTS {
        let docs = manifests(env);
        for component in ["api", "web", "test"] {
            let egress = policy(&docs, component)["spec"]["egress"].as_sequence().unwrap();
            assert_eq!(egress.iter().filter(|rule| is_dns_rule(rule)).count(), 1, "{env} {component}");
        }
    }
}

/// The StatefulSet carries no checksum: Postgres reads its password only when initdb runs, so
/// restarting the only replica for a Secret change would apply nothing.
#[test]
fn the_bundled_postgres_never_rolls_for_the_secret() {
    let docs = manifests("minikube");
    let statefulset = of_kind(&docs, "StatefulSet")[0];
    let annotations = &statefulset["spec"]["template"]["metadata"]["annotations"];
    assert!(
        annotations
            .as_mapping()
            .is_none_or(|a| a.keys().all(|k| !k.as_str().unwrap().starts_with("checksum/"))),
        "{annotations:?}"
    );
    // The template does not ask for them at install time either (no lookup from it).
    let template =
        std::fs::read_to_string(root().join("infra/helm/todo/templates/postgresql/statefulset.yaml"))
            .unwrap();
    assert!(!template.contains("rollAnnotations") && !template.contains("lookup"), "{template}");
}
