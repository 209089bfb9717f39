//! The chart's values, built from the typed config: names follow `helm create` and Bitnami charts
//! (`replicaCount`, `image.repository`, `service.port`, `existingSecret`, ...), and every value says
//! what it does.

use std::collections::BTreeMap;

use serde_json::json;

use super::tree::{Node, boolean, field, int, list, map, one_of, opaque, pattern, string, strings};
use crate::config::{DatabaseMode, DeployConfig, DnsPeer, Resources, Service};

const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];
const SERVICE_TYPES: &[&str] = &["ClusterIP", "NodePort", "LoadBalancer"];
const DATABASE_MODES: &[&str] = &["external", "bundled", "sqlite"];
/// Kubernetes quantities: `200m`, `0.5`, `256Mi`, `1Gi`.
const QUANTITY: &str = r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti)?$";
const PATH: &str = "^/";
const ENV_KEY: &str = "^[A-Z_][A-Z0-9_]*$";
/// An address block: `169.254.20.10/32`, `fd00::10/128` (xtask's config checks it fully).
const CIDR: &str = r"^[0-9a-fA-F.:]+/[0-9]{1,3}$";
/// Keys the Secret must hold for the api to start; the others (LLM keys) are optional, so the pod
/// starts without them.
const REQUIRED_SECRETS: [&str; 2] = ["JWT_SECRET", "DATABASE_URL"];
/// An image digest, or empty for none.
const DIGEST: &str = "^(sha256:[a-f0-9]{64})?$";
/// The digest value's documentation (Bitnami's wording, where `image.digest` comes from).
const DIGEST_DOC: &str = "Image digest in the form sha256:aa...; empty for none. When set it pins \
                          the image and overrides the tag: the reference is repository@digest.";

pub fn values(config: &DeployConfig) -> Node {
    let mut fields = vec![
        field("nameOverride", "Replaces the chart name in object names.", string("")),
        field(
            "fullnameOverride",
            "Replaces the generated full name (release-chart) of every object.",
            string(""),
        ),
        field(
            "existingSecret",
            "The Secret the pods read their secret settings from (JWT_SECRET, DATABASE_URL, LLM keys, \
             POSTGRES_PASSWORD). This chart never renders it: `cargo xtask secrets` applies it from .env, \
             and helm looks it up at install time to roll the pods when it changes.",
            pattern(config.app.secret_name.0.clone(), "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"),
        ),
        field(
            "secretMountPath",
            "Where a pod mounts the keys of existingSecret it reads, read-only, one file per key \
             (mode 0440, group fsGroup); each container gets `<KEY>_FILE` set to its file rather \
             than the value in its environment.",
            pattern("/var/run/secrets/todo", PATH),
        ),
        field(
            "existingConfigMap",
            "A ConfigMap whose keys override each component's `env` (only the keys in its `configEnv`); \
             `cargo xtask secrets` applies it from .env. Optional: pods start without it.",
            pattern(config.app.config_map_name.0.clone(), "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"),
        ),
        field(
            "image",
            "Settings shared by every image of the chart.",
            map(vec![
                field(
                    "registry",
                    "Prefix for the app's images (registry.example.com/team); empty for images loaded \
                     into the cluster (`minikube image load`).",
                    string(config.images.registry.clone()),
                ),
                field(
                    "pullPolicy",
                    "Tags are content hashes, never reused: IfNotPresent never runs a stale image; \
                     Always makes the kubelet check this pod's registry access on shared nodes.",
                    one_of(config.images.pull_policy.as_str(), PULL_POLICIES),
                ),
                field(
                    "pullSecrets",
                    "Secrets for a private registry, e.g. [{name: regcred}].",
                    list(vec![], map(vec![field("name", "", string(""))])),
                ),
            ]),
        ),
        field(
            "serviceAccount",
            "The ServiceAccount every pod runs as. No pod talks to the Kubernetes API, so no token is \
             mounted.",
            map(vec![
                field("create", "Create it (otherwise `name` must exist).", boolean(true)),
                field("name", "Its name; the full name of the release when empty.", string("")),
                field("annotations", "Annotations, e.g. for workload identity.", strings(BTreeMap::new())),
            ]),
        ),
        field(
            "podSecurityContext",
            "The numeric user and group every container runs as (the images are built with USER \
             10001:10001); at least 10000, so they map to no user of the node. The restricted Pod \
             Security Standard fields (non-root, no privilege escalation, no capabilities, \
             RuntimeDefault seccomp, read-only root filesystem) are not values: they always apply.",
            map(vec![
                field(
                    "runAsUser",
                    "User id of every container.",
                    int(config.security.run_as_user.0, 10000, 2_147_483_647),
                ),
                field(
                    "runAsGroup",
                    "Group id of every container.",
                    int(config.security.run_as_group.0, 10000, 2_147_483_647),
                ),
                field(
                    "fsGroup",
                    "Group that owns mounted volumes, so the user can write them.",
                    int(config.security.run_as_group.0, 10000, 2_147_483_647),
                ),
            ]),
        ),
        field(
            "rollout",
            "How pods are replaced.",
            map(vec![
                field(
                    "terminationGracePeriodSeconds",
                    "Time from SIGTERM to SIGKILL; the app drains in-flight requests in it.",
                    int(config.rollout.termination_grace_seconds, 1, 3600),
                ),
                field(
                    "preStopSleepSeconds",
                    "The pod keeps serving this long after leaving the endpoints, so the ingress stops \
                     routing to it first. Rendered only for Kubernetes >= 1.30 (native sleep action: \
                     the images have no shell); 0 for none. Must be shorter than the grace period.",
                    int(config.rollout.pre_stop_sleep_seconds, 0, 3600),
                ),
                field(
                    "progressDeadlineSeconds",
                    "A rollout without progress for this long is reported failed.",
                    int(config.rollout.progress_deadline_seconds, 30, 3600),
                ),
            ]),
        ),
    ];
    for (name, service) in &config.services {
        fields.push(field(
            name,
            &format!("The {name} component ({}).", service.image),
            component(config, name, service),
        ));
    }
    fields.extend([
        field(
            "ingress",
            "One Ingress for the app: each path prefix goes to a component's Service.",
            map(vec![
                field("enabled", "Create the Ingress.", boolean(config.ingress.enabled)),
                field(
                    "className",
                    "The IngressClass. minikube's ingress addon (ingress-nginx) is `nginx`; use your \
                     cluster's controller elsewhere.",
                    string(config.ingress.class.clone()),
                ),
                field("host", "The host name the app answers to.", string(config.ingress.host.clone())),
                field("annotations", "Annotations for the controller.", strings(BTreeMap::new())),
                field(
                    "paths",
                    "Path prefix → component. The longest matching prefix wins.",
                    list(
                        config
                            .ingress
                            .paths
                            .iter()
                            .map(|(path, service)| {
                                map(vec![
                                    field("path", "", pattern(path.0.clone(), PATH)),
                                    field("service", "", string(service.clone())),
                                ])
                            })
                            .collect(),
                        map(vec![field("path", "", pattern("/", PATH)), field("service", "", string(""))]),
                    ),
                ),
                field(
                    "tls",
                    "TLS for the host.",
                    map(vec![field(
                        "secretName",
                        "A kubernetes.io/tls Secret; plain HTTP when empty.",
                        string(config.ingress.tls_secret.clone()),
                    )]),
                ),
            ]),
        ),
        field(
            "database",
            "Where the api keeps its data. external: DATABASE_URL from the Secret (e.g. Neon). bundled: \
             the Postgres below; `cargo xtask secrets` generates its password and composes DATABASE_URL. \
             sqlite: a file on a volume, one api replica, Recreate updates.",
            map(vec![
                field(
                    "mode",
                    "external, bundled or sqlite.",
                    one_of(config.database.mode.as_str(), DATABASE_MODES),
                ),
                field(
                    "externalPorts",
                    "Ports the api may reach outside the cluster in the external mode (NetworkPolicy).",
                    list(
                        config.database.external_ports.iter().map(|port| int(port.0, 1, 65535)).collect(),
                        int(5432, 1, 65535),
                    ),
                ),
            ]),
        ),
        field("postgresql", "The bundled Postgres (database.mode=bundled).", postgresql(config)),
        field(
            "sqlite",
            "The api's SQLite volume (database.mode=sqlite).",
            map(vec![
                field(
                    "dataDir",
                    "Where the volume is mounted; the api's TODO_DATA_DIR.",
                    pattern(config.database.sqlite.data_dir.0.clone(), PATH),
                ),
                field(
                    "persistence",
                    "The PersistentVolumeClaim (kept when the release is uninstalled).",
                    map(vec![
                        field(
                            "size",
                            "Requested storage.",
                            pattern(config.database.sqlite.storage.0.clone(), QUANTITY),
                        ),
                        field(
                            "storageClass",
                            "The cluster's default StorageClass when empty.",
                            string(config.database.sqlite.storage_class.clone()),
                        ),
                    ]),
                ),
            ]),
        ),
        field(
            "networkPolicy",
            "Default deny for every pod of the release, then only what the app needs: the ingress \
             controller to web and api, web to api (it forwards /api for port-forwards), api to its \
             database, DNS, the helm test pods to web and api.",
            map(vec![
                field("enabled", "Create the NetworkPolicies.", boolean(config.network_policy.enabled)),
                field(
                    "ingressNamespace",
                    "The namespace of the ingress controller (minikube's addon: ingress-nginx).",
                    string(config.network_policy.ingress_namespace.0.clone()),
                ),
                field(
                    "apiHttpsEgress",
                    "Let the api open HTTPS connections outside the cluster (the LLM provider).",
                    boolean(config.network_policy.api_https_egress),
                ),
                field(
                    "dns",
                    "The cluster DNS, which the api, web (for API_UPSTREAM) and the test pods query on \
                     UDP and TCP port 53.",
                    dns(&config.network_policy.dns),
                ),
            ]),
        ),
        field(
            "tests",
            "`helm test` hooks: one pod per component, requesting each of its paths through its Service \
             with `todo-api healthcheck URL...` in the api image (api.image): the images have no \
             curl, and a cluster may pull nothing from the internet.",
            map(vec![
                field(
                    "retries",
                    "Further attempts at a failing URL, 2 s apart: a new pod's NetworkPolicy rules may \
                     take a moment to apply.",
                    int(config.tests.retries, 0, 30),
                ),
                field(
                    "checks",
                    "Component and path requested through its Service; one test pod per component.",
                    list(
                        config
                            .tests
                            .checks
                            .iter()
                            .flat_map(|(service, paths)| {
                                paths.iter().map(move |path| {
                                    map(vec![
                                        field("service", "", string(service.clone())),
                                        field("path", "", pattern(path.0.clone(), PATH)),
                                    ])
                                })
                            })
                            .collect(),
                        map(vec![field("service", "", string("")), field("path", "", pattern("/", PATH))]),
                    ),
                ),
                field(
                    "resources",
                    "Requests and limits of a test pod.",
                    resources_of(("10m", "16Mi", "16Mi"), ("100m", "64Mi", "64Mi")),
                ),
            ]),
        ),
        field(
            "checkovSkips",
            "checkov findings accepted for this deployment, as check id → the reason it does not apply; \
             rendered as checkov.io/skipN annotations on every workload.",
            strings(
                config.checkov.skip.iter().map(|(id, reason)| (id.0.clone(), reason.0.clone())).collect(),
            ),
        ),
    ]);
    map(fields)
}

fn component(config: &DeployConfig, name: &str, service: &Service) -> Node {
    let image = map(vec![
        field("repository", "Without registry (image.registry) or tag.", string(service.image.0.clone())),
        field(
            "tag",
            "Content-hash tag set by `cargo xtask deploy`; the chart's appVersion when empty.",
            string(""),
        ),
        field("digest", DIGEST_DOC, pattern("", DIGEST)),
    ]);
    let probe = |path: &str, period: i64, timeout: i64, failures: i64| {
        map(vec![
            field("path", "HTTP path requested on the container's port.", pattern(path.to_owned(), PATH)),
            field("periodSeconds", "Seconds between two checks.", int(period, 1, 300)),
            field("timeoutSeconds", "Seconds a check may take.", int(timeout, 1, 60)),
            field("failureThreshold", "Failed checks in a row that count as failure.", int(failures, 1, 120)),
        ])
    };
    let secret_env = service
        .secret_env
        .iter()
        .filter(|key| config.database.mode != DatabaseMode::Sqlite || key.0 != "DATABASE_URL")
        .map(|key| {
            map(vec![
                field("name", "", pattern(key.0.clone(), ENV_KEY)),
                field("optional", "", boolean(!REQUIRED_SECRETS.contains(&key.0.as_str()))),
            ])
        })
        .collect();
    let scaling = service.autoscaling;
    map(vec![
        field("image", "The component's image.", image),
        field("replicaCount", "Pods to run when autoscaling is off.", int(service.replicas.0, 1, 100)),
        field("containerPort", "The port the app listens on (its PORT).", int(service.port.0, 1024, 65535)),
        field(
            "service",
            "The Service in front of the pods; the ingress and the helm tests reach them through it.",
            map(vec![
                field(
                    "type",
                    "ClusterIP: only the ingress exposes the app.",
                    one_of("ClusterIP", SERVICE_TYPES),
                ),
                field("port", "The Service's port.", int(service.port.0, 1, 65535)),
            ]),
        ),
        field(
            "probes",
            "liveness asks whether the process works (a failure restarts it); readiness whether it can \
             serve, dependencies included (a failure takes it out of the Service); startup holds both \
             off until the first success.",
            map(vec![
                field("startup", "Up to a minute to start.", probe(&service.startup_path, 2, 2, 30)),
                field("liveness", "The process answers.", probe(&service.liveness_path, 10, 2, 3)),
                field("readiness", "The process can serve.", probe(&service.readiness_path, 5, 2, 3)),
            ]),
        ),
        field("resources", "Requests and limits, ephemeral storage included.", resources(&service.resources)),
        field(
            "tmpSizeLimit",
            "Size of the emptyDir mounted at /tmp (the root filesystem is read-only).",
            pattern("64Mi", QUANTITY),
        ),
        field(
            "env",
            "Settings, rendered into the component's ConfigMap. Never put a secret here: secrets come \
             from existingSecret as files (see secretEnv).",
            strings(service.env.iter().map(|(k, v)| (k.0.clone(), v.clone())).collect()),
        ),
        field(
            "secretEnv",
            "Keys of existingSecret the container reads, as files in secretMountPath named by \
             `<KEY>_FILE`. A required key missing from the Secret keeps the pod from starting, with \
             the key's name in its events (FailedMount); an optional one is simply no file.",
            list(
                secret_env,
                map(vec![field("name", "", pattern("X", ENV_KEY)), field("optional", "", boolean(false))]),
            ),
        ),
        field(
            "configEnv",
            "Keys of existingConfigMap that override `env` when present.",
            list(
                service.config_env.iter().map(|key| pattern(key.0.clone(), ENV_KEY)).collect(),
                pattern("X", ENV_KEY),
            ),
        ),
        field(
            "autoscaling",
            "A HorizontalPodAutoscaler on CPU; replicaCount is then left to it.",
            map(vec![
                field("enabled", "Create the HorizontalPodAutoscaler.", boolean(scaling.enabled)),
                field("minReplicas", "Fewest pods.", int(scaling.min_replicas.0, 1, 100)),
                field("maxReplicas", "Most pods.", int(scaling.max_replicas.0, 1, 100)),
                field(
                    "targetCPUUtilizationPercentage",
                    "Average CPU use, in percent of the requests, to scale at.",
                    int(scaling.target_cpu_percent, 1, 100),
                ),
            ]),
        ),
        field(
            "podDisruptionBudget",
            "Pods that stay up through voluntary disruptions (node drains); 0 for no \
             PodDisruptionBudget. Must be below the replica count.",
            map(vec![field("minAvailable", "Pods that must stay up.", int(service.min_available, 0, 100))]),
        ),
        field("podAnnotations", "Extra annotations on the pods.", strings(BTreeMap::new())),
        field("podLabels", "Extra labels on the pods.", strings(BTreeMap::new())),
        field("nodeSelector", "Node labels the pods must run on.", strings(BTreeMap::new())),
        field("tolerations", "Taints the pods tolerate.", opaque(json!([]))),
        field("affinity", "Pod and node affinity rules.", opaque(json!({}))),
        field(
            "topologySpreadConstraints",
            &format!("E.g. spread the {name} pods over nodes or zones."),
            opaque(json!([])),
        ),
    ])
}

fn dns(dns: &DnsPeer) -> Node {
    map(vec![
        field(
            "namespaceSelector",
            "Labels of the namespace the DNS pods run in. None matches every namespace; helm merges \
             maps, so remove a default label by setting it to null.",
            strings(dns.namespace_labels.clone()),
        ),
        field(
            "podSelector",
            "Labels of the DNS pods (kube-dns and CoreDNS both carry k8s-app: kube-dns). None \
             matches every pod of those namespaces (set a default label to null to remove it).",
            strings(dns.pod_labels.clone()),
        ),
        field(
            "ipBlocks",
            "Further DNS addresses no pod selector matches, as CIDRs: NodeLocal DNSCache answers on a \
             link-local address of each node, usually [\"169.254.20.10/32\"].",
            list(
                dns.ip_blocks.iter().map(|cidr| pattern(cidr.0.clone(), CIDR)).collect(),
                pattern("169.254.20.10/32", CIDR),
            ),
        ),
    ])
}

fn postgresql(config: &DeployConfig) -> Node {
    let bundled = &config.database.bundled;
    map(vec![
        field(
            "image",
            "The official image; it runs as the chart's non-root user.",
            map(vec![
                field(
                    "repository",
                    "Repository, with its registry if not Docker Hub.",
                    string(bundled.image.0.clone()),
                ),
                field("tag", "A pinned version.", string(bundled.tag.0.clone())),
                field("digest", DIGEST_DOC, pattern("", DIGEST)),
            ]),
        ),
        field(
            "auth",
            "The database and role created on first start.",
            map(vec![
                field("database", "Database name.", string(bundled.database.0.clone())),
                field("username", "Role name.", string(bundled.user.0.clone())),
                field(
                    "passwordKey",
                    "The key of existingSecret holding the password (generated by `cargo xtask secrets`).",
                    pattern("POSTGRES_PASSWORD", ENV_KEY),
                ),
            ]),
        ),
        field(
            "persistence",
            "The data volume (a PersistentVolumeClaim per replica).",
            map(vec![
                field("size", "Requested storage.", pattern(bundled.storage.0.clone(), QUANTITY)),
                field(
                    "storageClass",
                    "The cluster's default StorageClass when empty.",
                    string(bundled.storage_class.clone()),
                ),
            ]),
        ),
        field("resources", "Requests and limits, ephemeral storage included.", resources(&bundled.resources)),
    ])
}

fn resources(resources: &Resources) -> Node {
    fn set(set: &crate::config::ResourceSet) -> (&str, &str, &str) {
        (&set.cpu.0, &set.memory.0, &set.ephemeral_storage.0)
    }
    resources_of(set(&resources.requests), set(&resources.limits))
}

fn resources_of(requests: (&str, &str, &str), limits: (&str, &str, &str)) -> Node {
    let set = |(cpu, memory, storage): (&str, &str, &str)| {
        map(vec![
            field("cpu", "Cores (\"0.5\") or millicores (\"500m\").", pattern(cpu, QUANTITY)),
            field("memory", "Binary units (\"256Mi\").", pattern(memory, QUANTITY)),
            field(
                "ephemeral-storage",
                "Container logs and emptyDirs (\"64Mi\").",
                pattern(storage, QUANTITY),
            ),
        ])
    };
    map(vec![
        field("requests", "What the scheduler reserves.", set(requests)),
        field("limits", "What the container may never exceed.", set(limits)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::tree::Field;

    /// Every value in values.yaml has a comment (list items are described by their list).
    #[test]
    fn every_value_is_documented() {
        fn walk(path: &str, fields: &[Field], undocumented: &mut Vec<String>) {
            for field in fields {
                let path = format!("{path}{}", field.key);
                if field.doc.trim().is_empty() {
                    undocumented.push(path.clone());
                }
                if let Node::Map(inner) = &field.node {
                    walk(&format!("{path}."), inner, undocumented);
                }
            }
        }
        let root = camino::Utf8Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let config = DeployConfig::load(root).unwrap();
        let Node::Map(fields) = values(&config) else { panic!("values are a map") };
        let mut undocumented = Vec::new();
        walk("", &fields, &mut undocumented);
        assert!(undocumented.is_empty(), "values without a comment: {undocumented:?}");
    }
}
