//! The sections of `deploy/todo.toml`, as types: unknown keys are errors.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::values::*;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    pub app: App,
    #[serde(default)]
    pub cluster: Cluster,
    #[serde(default)]
    pub minikube: Minikube,
    pub ingress: Ingress,
    pub security: Security,
    pub images: Images,
    pub rollout: Rollout,
    pub services: BTreeMap<Name, Service>,
    pub database: Database,
    pub network_policy: NetworkPolicy,
    pub tests: Tests,
    #[serde(default)]
    pub checkov: Checkov,
    pub budgets: Budgets,
    /// What `cargo xtask bench` holds each figure to: area → figure → goal. `bench` rejects a
    /// figure it does not measure, so a misspelt name cannot leave a goal unchecked.
    #[serde(default)]
    pub bench: BTreeMap<String, BTreeMap<String, Goal>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// Release and chart name; every object's name derives from it.
    pub name: Name,
    pub namespace: Name,
    /// The chart's `appVersion`, which is also the image tag when deploy sets none.
    pub version: String,
    /// The chart's own version.
    pub chart_version: String,
    /// The Secret `cargo xtask secrets` applies and the chart references (existingSecret pattern).
    pub secret_name: Name,
    /// The ConfigMap `cargo xtask secrets` applies with the settings `.env` overrides.
    pub config_map_name: Name,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// The kubeconfig context commands target; the current context when unset.
    pub context: Option<String>,
}

/// How `cargo xtask minikube` starts the local cluster (`minikube start -p <cluster.context>`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Minikube {
    /// `--driver`; empty lets minikube choose (docker where it runs).
    pub driver: String,
    pub cpus: u32,
    /// `--memory`, as minikube writes it: `4g`, `6144mb`.
    pub memory: String,
    /// `--kubernetes-version`; empty is minikube's default.
    pub kubernetes_version: String,
}

impl Default for Minikube {
    fn default() -> Minikube {
        Minikube {
            driver: String::new(),
            cpus: 2,
            memory: "4g".to_owned(),
            kubernetes_version: String::new(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ingress {
    pub enabled: bool,
    pub host: String,
    /// The IngressClass; the controller differs per cluster (minikube's addon is `nginx`).
    pub class: String,
    /// A TLS Secret for the host; no TLS when empty.
    #[serde(default)]
    pub tls_secret: String,
    /// URL path prefix → the service that serves it.
    pub paths: BTreeMap<UrlPath, String>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Security {
    pub run_as_user: NonRootId,
    pub run_as_group: NonRootId,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Images {
    /// Prefix for the app's images (`registry.example.com/team`); empty for images loaded into the
    /// cluster directly (`minikube image load`).
    pub registry: String,
    pub pull_policy: PullPolicy,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    pub termination_grace_seconds: u32,
    /// How long a pod keeps serving after it is taken out of the endpoints, so the ingress stops
    /// sending it requests before it shuts down. Native `preStop.sleep`, Kubernetes ≥ 1.30.
    pub pre_stop_sleep_seconds: u32,
    pub progress_deadline_seconds: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Repository of the image, without registry or tag (tags are content hashes set by deploy).
    pub image: ImageName,
    pub port: Port,
    pub replicas: Replicas,
    pub liveness_path: UrlPath,
    pub readiness_path: UrlPath,
    pub startup_path: UrlPath,
    pub resources: Resources,
    /// Keys the pod reads from the Secret.
    pub secret_env: Vec<EnvKey>,
    /// Keys `.env` may set for this service; `cargo xtask secrets` puts them into its ConfigMap,
    /// where they override `env`.
    pub config_env: Vec<EnvKey>,
    /// Settings rendered into the chart's ConfigMap.
    pub env: BTreeMap<EnvKey, String>,
    pub autoscaling: Autoscaling,
    /// PodDisruptionBudget: pods that must stay up during a voluntary disruption (node drain).
    pub min_available: u16,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    pub requests: ResourceSet,
    pub limits: ResourceSet,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSet {
    pub cpu: Cpu,
    pub memory: Memory,
    pub ephemeral_storage: Memory,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Autoscaling {
    pub enabled: bool,
    pub min_replicas: Replicas,
    pub max_replicas: Replicas,
    pub target_cpu_percent: u8,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    pub mode: DatabaseMode,
    pub bundled: BundledPostgres,
    pub sqlite: Sqlite,
    /// Ports the api may reach outside the cluster for an external database (NetworkPolicy).
    pub external_ports: Vec<Port>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseMode {
    /// `DATABASE_URL` from `.env` (e.g. Neon), put into the Secret as is.
    External,
    /// A Postgres StatefulSet in the release; `cargo xtask secrets` generates its password and
    /// composes `DATABASE_URL`.
    Bundled,
    /// A SQLite file on a volume: one api replica, `Recreate` updates.
    Sqlite,
}

impl DatabaseMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseMode::External => "external",
            DatabaseMode::Bundled => "bundled",
            DatabaseMode::Sqlite => "sqlite",
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundledPostgres {
    pub image: ImageName,
    pub tag: ImageTag,
    pub database: Name,
    pub user: Name,
    pub storage: Memory,
    /// StorageClass of the volume; the cluster's default when empty.
    pub storage_class: String,
    pub resources: Resources,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sqlite {
    pub storage: Memory,
    pub storage_class: String,
    /// Where the volume is mounted; the api's `TODO_DATA_DIR`.
    pub data_dir: UrlPath,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkPolicy {
    pub enabled: bool,
    /// The namespace of the ingress controller, the only one allowed to reach the pods.
    pub ingress_namespace: Name,
    /// Whether the api may open HTTPS connections outside the cluster (the LLM provider).
    pub api_https_egress: bool,
    /// Where the pods' DNS queries go.
    pub dns: DnsPeer,
}

/// The cluster DNS as a NetworkPolicy peer: the DNS pods by namespace and pod labels, plus
/// addresses outside any pod (NodeLocal DNSCache listens on a link-local address on each node).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsPeer {
    /// Labels of the DNS pods' namespace; empty matches every namespace.
    pub namespace_labels: BTreeMap<String, String>,
    /// Labels of the DNS pods; empty matches every pod of those namespaces.
    pub pod_labels: BTreeMap<String, String>,
    /// Extra addresses, e.g. "169.254.20.10/32" for NodeLocal DNSCache.
    pub ip_blocks: Vec<Cidr>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tests {
    /// Further attempts at a URL that fails, 2 s apart: a new pod's NetworkPolicy rules may take
    /// a moment to apply.
    pub retries: u32,
    /// Service → paths the hooks request through that service.
    pub checks: BTreeMap<String, Vec<UrlPath>>,
}

/// checkov findings this environment accepts, each with the reason written next to it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkov {
    pub skip: BTreeMap<CheckId, Reason>,
}

/// Wall-time goals the phase summary holds each run against.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budgets {
    /// Building the images.
    pub build: Budget,
    /// From `helm upgrade` to a settled release.
    pub deploy: Budget,
    /// From a rollout to every pod ready.
    pub pod_start: Budget,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BudgetKind {
    Build,
    Deploy,
    PodStart,
}

impl Budgets {
    pub fn get(&self, kind: BudgetKind) -> Duration {
        match kind {
            BudgetKind::Build => self.build.0,
            BudgetKind::Deploy => self.deploy.0,
            BudgetKind::PodStart => self.pod_start.0,
        }
    }
}

impl DeployConfig {
    pub fn service_names(&self) -> Vec<&str> {
        self.services.keys().map(|name| name.0.as_str()).collect()
    }

    /// The chart's `todo.fullname` for a release named like the app, as `_helpers.tpl` computes it:
    /// the release name, since it contains the chart name.
    pub fn fullname(&self) -> &str {
        &self.app.name
    }

    /// The bundled Postgres Service's DNS name inside the namespace.
    pub fn postgres_host(&self) -> String {
        format!("{}-postgresql", self.fullname())
    }
}
