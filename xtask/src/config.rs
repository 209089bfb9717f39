//! `deploy/todo.toml` and `deploy/environments/<env>.toml`: the typed description of the app that
//! phases read.
//!
//! The base file is complete on its own (it is what the chart's `values.yaml` is generated from);
//! an environment file overrides any part of it. Tables merge key by key, everything else (strings,
//! numbers, lists) is replaced whole. Unknown keys and bad values are errors that name the file,
//! the key and what is allowed, so a typo never passes silently.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use camino::{Utf8Path, Utf8PathBuf};
use serde::Deserialize;

pub const CONFIG_FILE: &str = "deploy/todo.toml";
pub const ENVIRONMENTS_DIR: &str = "deploy/environments";
/// What commands that target a cluster use unless `--env` says otherwise.
pub const DEFAULT_ENVIRONMENT: &str = "minikube";

/// Environment variables that hold secrets. They may only reach a pod from the Secret: listing one
/// under `config_env` or `env` (which end up in ConfigMaps, readable by anyone who can read the
/// namespace's ConfigMaps) is an error.
pub const SECRET_KEYS: [&str; 5] =
    ["JWT_SECRET", "DATABASE_URL", "LLM_API_KEY", "OPENAI_API_KEY", "POSTGRES_PASSWORD"];

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

/// A duration written the way people write them: `90s`, `5m`, `1m30s`, `2h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget(pub Duration);

impl<'de> Deserialize<'de> for Budget {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Budget, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text).map(Budget).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::ui::fmt_duration(self.0))
    }
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || {
        format!(
            "`{text}` is not a duration: write numbers followed by h, m or s, e.g. \"90s\", \"5m\" or \"1m30s\""
        )
    };
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(invalid()),
        };
        let value: u64 = number.parse().map_err(|_| invalid())?;
        total = value.checked_mul(unit).and_then(|secs| total.checked_add(secs)).ok_or_else(invalid)?;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(invalid());
    }
    Ok(Duration::from_secs(total))
}

/// Defines a string newtype whose values are checked when the file is read, so an error names
/// the key (serde adds "in `services.api.port`") and says what is allowed.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub String);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let text = String::deserialize(deserializer)?;
                let check: fn(&str) -> Result<(), String> = $check;
                check(&text).map_err(serde::de::Error::custom)?;
                Ok($name(text))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
    };
}

checked_string!(
    /// A Kubernetes object name (DNS-1123 label): lowercase letters, digits and `-`.
    Name,
    |text| {
        let ok = !text.is_empty()
            && text.len() <= 53
            && text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !text.starts_with('-')
            && !text.ends_with('-');
        if ok {
            Ok(())
        } else {
            Err(format!(
                "`{text}` is not a valid name: use 1 to 53 lowercase letters, digits and `-`, not starting or ending with `-`"
            ))
        }
    }
);

checked_string!(
    /// An absolute URL path or file path: `/healthz`, `/api`, `/data`.
    UrlPath,
    |text| {
        if text.starts_with('/') && !text.contains(char::is_whitespace) {
            Ok(())
        } else {
            Err(format!("`{text}` is not an absolute path: write it starting with `/`, e.g. \"/healthz\""))
        }
    }
);

checked_string!(
    /// An environment variable name: `JWT_SECRET`.
    EnvKey,
    |text| {
        let ok = text.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
            && text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(())
        } else {
            Err(format!("`{text}` is not an environment variable name: use A-Z, 0-9 and `_`, e.g. \"RUST_LOG\""))
        }
    }
);

checked_string!(
    /// An image repository without tag or digest: `todo-api`, `postgres`, `bitnami/redis`.
    ImageName,
    |text| {
        let ok = !text.is_empty()
            && text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_./".contains(c));
        if ok {
            Ok(())
        } else {
            Err(format!(
                "`{text}` is not an image repository: lowercase letters, digits, `-_./`, without a tag (tags are set separately)"
            ))
        }
    }
);

checked_string!(
    /// A fixed image tag: never `latest`, which would make every pod start a guess.
    ImageTag,
    |text| {
        if text == "latest" {
            return Err("`latest` is not allowed: pin a version, e.g. \"17.6-alpine\"".to_owned());
        }
        let ok = !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if ok { Ok(()) } else { Err(format!("`{text}` is not an image tag: letters, digits and `-_.`")) }
    }
);

checked_string!(
    /// A CPU quantity: `200m` or `0.5`.
    Cpu,
    |text| {
        let millis = text.strip_suffix('m').is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        let cores = !text.is_empty()
            && text.chars().all(|c| c.is_ascii_digit() || c == '.')
            && text.parse::<f64>().is_ok_and(|v| v > 0.0);
        if millis || cores {
            Ok(())
        } else {
            Err(format!("`{text}` is not a CPU quantity: write millicores like \"200m\" or cores like \"0.5\""))
        }
    }
);

checked_string!(
    /// A memory or storage quantity in binary units: `256Mi`, `1Gi`.
    Memory,
    |text| {
        let ok = ["Ki", "Mi", "Gi", "Ti"].iter().any(|unit| {
            text.strip_suffix(unit).is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        });
        if ok {
            Ok(())
        } else {
            Err(format!("`{text}` is not a quantity in binary units: write e.g. \"256Mi\" or \"1Gi\""))
        }
    }
);

checked_string!(
    /// An IPv4 or IPv6 address block: `169.254.20.10/32`, `fd00::10/128`.
    Cidr,
    |text| {
        let ok = text.split_once('/').is_some_and(|(address, bits)| {
            let max = match address.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V4(_)) => 32,
                Ok(std::net::IpAddr::V6(_)) => 128,
                Err(_) => return false,
            };
            !bits.starts_with('+') && bits.parse::<u8>().is_ok_and(|bits| bits <= max)
        });
        if ok {
            Ok(())
        } else {
            Err(format!("`{text}` is not an address block: write an address and a prefix length, e.g. \"169.254.20.10/32\""))
        }
    }
);

checked_string!(
    /// A checkov check id: `CKV_K8S_15`, `CKV2_K8S_6`.
    CheckId,
    |text| {
        let ok = text.starts_with("CKV") && text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if ok { Ok(()) } else { Err(format!("`{text}` is not a checkov check id, e.g. \"CKV_K8S_15\"")) }
    }
);

checked_string!(
    /// Why a finding is accepted: a sentence a reviewer can judge.
    Reason,
    |text| {
        if text.trim().len() >= 20 {
            Ok(())
        } else {
            Err(format!("`{text}` is too short to be a reason: say why this check does not apply (20 characters or more)"))
        }
    }
);

/// Defines an integer newtype with an allowed range.
macro_rules! checked_int {
    ($(#[$doc:meta])* $name:ident($int:ty), $range:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
        pub struct $name(pub $int);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let value = i64::deserialize(deserializer)?;
                let range = $range;
                match <$int>::try_from(value) {
                    Ok(v) if range.contains(&v) => Ok($name(v)),
                    _ => Err(serde::de::Error::custom(format!(
                        "{value} is not allowed: {} must be from {} to {}",
                        $what,
                        range.start(),
                        range.end()
                    ))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

checked_int!(
    /// A TCP port a container listens on; unprivileged, since nothing runs as root.
    Port(u16),
    1024..=65535,
    "a port (unprivileged: containers do not run as root)"
);
checked_int!(Replicas(u16), 1..=100, "a replica count");
checked_int!(
    /// A user or group id for the pods: at least 10000, so it never maps to a host user (checkov
    /// CKV_K8S_40, kube-score); the images run as 10001.
    NonRootId(u32),
    10000..=2_147_483_647,
    "a user or group id (high, so it maps to no user of the node)"
);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}

impl PullPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "Always",
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Never => "Never",
        }
    }
}

/// Which files a configuration was read from, for error messages and fingerprints.
#[derive(Clone, Debug)]
pub struct Sources {
    pub environment: Option<String>,
    pub files: Vec<Utf8PathBuf>,
}

impl DeployConfig {
    /// The base description alone (`deploy/todo.toml`).
    pub fn load(root: &Utf8Path) -> Result<DeployConfig> {
        Ok(DeployConfig::load_env(root, None)?.0)
    }

    /// The base description with `deploy/environments/<env>.toml` over it.
    pub fn load_env(root: &Utf8Path, env: Option<&str>) -> Result<(DeployConfig, Sources)> {
        let base_text = std::fs::read_to_string(root.join(CONFIG_FILE))
            .with_context(|| format!("cannot read {CONFIG_FILE} (the app's deploy description)"))?;
        // Typed first, so an error in the base file carries its line and column.
        let base: DeployConfig = toml::from_str(&base_text).map_err(|err| anyhow!("{CONFIG_FILE}: {err}"))?;
        base.validate(&|_| CONFIG_FILE.to_owned())?;
        let mut sources = Sources { environment: None, files: vec![CONFIG_FILE.into()] };
        let Some(env) = env else {
            return Ok((base, sources));
        };

        let rel = environment_file(env);
        let text = match std::fs::read_to_string(root.join(&rel)) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                bail!(
                    "there is no environment `{env}` ({rel} does not exist); environments: {}",
                    environments(root)?.join(", ")
                )
            }
            Err(err) => return Err(err).with_context(|| format!("cannot read {rel}")),
        };
        let overlay: toml::Table = toml::from_str(&text).map_err(|err| anyhow!("{rel}: {err}"))?;
        let mut merged: toml::Table = toml::from_str(&base_text)?;
        merge(&mut merged, overlay.clone());
        // The base alone was valid, so whatever fails now was written in the environment file.
        let config: DeployConfig = toml::Value::Table(merged)
            .try_into()
            .map_err(|err| anyhow!("{rel}: {}", err.to_string().trim_end()))?;
        let origin = |key: &str| match lookup(&overlay, key) {
            true => rel.to_string(),
            false => CONFIG_FILE.to_owned(),
        };
        config.validate(&origin)?;
        sources.environment = Some(env.to_owned());
        sources.files.push(rel);
        Ok((config, sources))
    }

    /// Rules that span several keys. `origin` names the file that set a key.
    fn validate(&self, origin: &dyn Fn(&str) -> String) -> Result<()> {
        let fail = |key: &str, message: String| Err(anyhow!("{}: `{key}`: {message}", origin(key)));
        for (path, service) in &self.ingress.paths {
            if !self.services.contains_key(service.as_str()) {
                return fail(
                    &format!("ingress.paths.\"{path}\""),
                    format!("`{service}` is not a service; services: {}", self.service_names().join(", ")),
                );
            }
        }
        for (name, service) in &self.services {
            let key = |field: &str| format!("services.{name}.{field}");
            if service.liveness_path == service.readiness_path {
                return fail(
                    &key("readiness_path"),
                    format!(
                        "`{}` is also the liveness path: readiness checks dependencies (/readyz), liveness only the process (/healthz), or a database outage restarts every pod",
                        service.readiness_path
                    ),
                );
            }
            for key_name in service.config_env.iter().chain(service.env.keys()) {
                if SECRET_KEYS.contains(&key_name.0.as_str()) {
                    let field = if service.config_env.contains(key_name) { "config_env" } else { "env" };
                    return fail(
                        &key(field),
                        format!(
                            "{key_name} is a secret: list it under `secret_env`, so it reaches the pod from the Secret, never a ConfigMap"
                        ),
                    );
                }
            }
            for secret in &service.secret_env {
                if service.config_env.contains(secret) || service.env.contains_key(secret) {
                    return fail(
                        &key("secret_env"),
                        format!("{secret} is listed both as a secret and as a setting"),
                    );
                }
            }
            let scaling = service.autoscaling;
            if scaling.min_replicas > scaling.max_replicas {
                return fail(&key("autoscaling.min_replicas"), "must not exceed `max_replicas`".into());
            }
            if !(1..=100).contains(&scaling.target_cpu_percent) {
                return fail(&key("autoscaling.target_cpu_percent"), "must be from 1 to 100".into());
            }
            let least = if scaling.enabled { scaling.min_replicas } else { service.replicas };
            if service.min_available >= least.0 {
                return fail(
                    &key("min_available"),
                    format!(
                        "{} of {least} pods must stay up, so no node could ever be drained: use at most {} (0 sets no PodDisruptionBudget)",
                        service.min_available,
                        least.0 - 1
                    ),
                );
            }
        }
        if self.database.mode == DatabaseMode::Sqlite {
            let api = self.services.get("api");
            if api.is_some_and(|api| api.replicas.0 != 1 || api.autoscaling.enabled) {
                return fail(
                    "database.mode",
                    "`sqlite` allows one writer: set `services.api.replicas = 1` and `services.api.autoscaling.enabled = false`, or use `bundled` or `external`".into(),
                );
            }
        }
        if self.rollout.pre_stop_sleep_seconds >= self.rollout.termination_grace_seconds {
            return fail(
                "rollout.pre_stop_sleep_seconds",
                format!(
                    "must be shorter than `termination_grace_seconds` ({}), or the app never gets SIGTERM in time to drain",
                    self.rollout.termination_grace_seconds
                ),
            );
        }
        Ok(())
    }

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

pub fn environment_file(env: &str) -> Utf8PathBuf {
    Utf8PathBuf::from(format!("{ENVIRONMENTS_DIR}/{env}.toml"))
}

/// The environments there are files for, sorted.
pub fn environments(root: &Utf8Path) -> Result<Vec<String>> {
    let dir = root.join(ENVIRONMENTS_DIR);
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot list {ENVIRONMENTS_DIR}"))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(env) = name.strip_suffix(".toml") {
            names.push(env.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Tables merge key by key; any other value in `overlay` replaces the one in `base`.
fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(base)), toml::Value::Table(overlay)) => merge(base, overlay),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Whether the dotted `key` is set in `table` (any prefix of it set to a non-table counts).
fn lookup(table: &toml::Table, key: &str) -> bool {
    let mut current = table;
    for part in key.split('.') {
        let part = part.trim_matches('"');
        match current.get(part) {
            Some(toml::Value::Table(inner)) => current = inner,
            Some(_) => return true,
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> &'static Utf8Path {
        Utf8Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
    }

    /// A scratch project with the repository's config files, for editing in tests.
    fn scratch() -> (tempfile::TempDir, Utf8PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
        std::fs::create_dir_all(root.join(ENVIRONMENTS_DIR)).unwrap();
        std::fs::copy(repo().join(CONFIG_FILE), root.join(CONFIG_FILE)).unwrap();
        for env in environments(repo()).unwrap() {
            let rel = environment_file(&env);
            std::fs::copy(repo().join(&rel), root.join(&rel)).unwrap();
        }
        (dir, root)
    }

    fn edit(root: &Utf8Path, rel: &str, from: &str, to: &str) {
        let path = root.join(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{rel} has no `{from}`");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    fn append(root: &Utf8Path, rel: &str, extra: &str) {
        let path = root.join(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{text}\n{extra}\n")).unwrap();
    }

    fn error(root: &Utf8Path, env: Option<&str>) -> String {
        format!("{:#}", DeployConfig::load_env(root, env).unwrap_err())
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        for bad in ["5", "5 minutes", "", "0s", "m", "9999999999999999h", "18446744073709551615s1s"] {
            assert!(parse_duration(bad).unwrap_err().contains("is not a duration"), "{bad}");
        }
    }

    #[test]
    fn the_committed_config_loads_with_the_seed_values() {
        let config = DeployConfig::load(repo()).unwrap();
        assert_eq!(config.budgets.get(BudgetKind::Build), Duration::from_secs(300));
        assert_eq!(config.budgets.get(BudgetKind::Deploy), Duration::from_secs(180));
        assert_eq!(config.budgets.get(BudgetKind::PodStart), Duration::from_secs(120));
        let limits = |name: &str| {
            let limits = &config.services[name].resources.limits;
            (limits.memory.0.clone(), limits.cpu.0.clone())
        };
        assert_eq!(limits("web"), ("256Mi".to_owned(), "200m".to_owned()));
        assert_eq!(limits("api"), ("512Mi".to_owned(), "300m".to_owned()));
        assert_eq!(config.ingress.host, "todo.local");
        assert_eq!(config.ingress.paths[&UrlPath("/".into())], "web");
        assert_eq!(config.ingress.paths[&UrlPath("/api".into())], "api");
    }

    #[test]
    fn every_environment_loads_and_the_defaults_fit_it() {
        assert_eq!(environments(repo()).unwrap(), ["cluster", "minikube"]);
        let (minikube, sources) = DeployConfig::load_env(repo(), Some("minikube")).unwrap();
        assert_eq!(sources.files, [CONFIG_FILE, "deploy/environments/minikube.toml"]);
        // Offline with no user input: a bundled database, the minikube profile's context.
        assert_eq!(minikube.database.mode, DatabaseMode::Bundled);
        assert_eq!(minikube.cluster.context.as_deref(), Some("todo"));
        assert_eq!(minikube.images.pull_policy, PullPolicy::IfNotPresent);
        let (cluster, _) = DeployConfig::load_env(repo(), Some("cluster")).unwrap();
        assert_eq!(cluster.database.mode, DatabaseMode::External);
        assert_eq!(cluster.cluster.context, None);
        // Tables merge key by key: the overlay changed replicas, the rest of the service stayed.
        assert_eq!(minikube.services["api"].port, cluster.services["api"].port);
    }

    #[test]
    fn unknown_keys_name_the_file_the_key_and_what_is_allowed() {
        let (_dir, root) = scratch();
        append(&root, "deploy/environments/cluster.toml", "[services.api]\nreplicaz = 3");
        let err = error(&root, Some("cluster"));
        assert!(
            err.starts_with("deploy/environments/cluster.toml: unknown field `replicaz`, expected one of"),
            "{err}"
        );
        assert!(err.contains("`replicas`") && err.contains("in `services.api`"), "{err}");

        let (_dir, root) = scratch();
        edit(&root, CONFIG_FILE, "[app]\n", "[app]\ncolour = \"blue\"\n");
        let err = error(&root, None);
        assert!(err.starts_with("deploy/todo.toml: TOML parse error at line"), "{err}");
        assert!(err.contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn bad_values_name_the_file_the_key_and_what_is_allowed() {
        let (_dir, root) = scratch();
        edit(&root, "deploy/environments/minikube.toml", "mode = \"bundled\"", "mode = \"mongodb\"");
        let err = error(&root, Some("minikube"));
        assert!(err.contains("deploy/environments/minikube.toml: unknown variant `mongodb`"), "{err}");
        assert!(err.contains("expected one of `external`, `bundled`, `sqlite`"), "{err}");
        assert!(err.contains("in `database.mode`"), "{err}");

        let (_dir, root) = scratch();
        append(
            &root,
            "deploy/environments/cluster.toml",
            "[services.web.resources.limits]\nmemory = \"256MB\"",
        );
        let err = error(&root, Some("cluster"));
        assert!(err.contains("`256MB` is not a quantity in binary units"), "{err}");
        assert!(err.contains("services.web.resources.limits.memory"), "{err}");

        let (_dir, root) = scratch();
        edit(&root, CONFIG_FILE, "run_as_user = 10001", "run_as_user = 0");
        let err = error(&root, None);
        assert!(err.contains("deploy/todo.toml") && err.contains("0 is not allowed"), "{err}");
        assert!(err.contains("from 10000"), "{err}");

        let (_dir, root) = scratch();
        edit(&root, CONFIG_FILE, "tag = \"17.6-alpine\"", "tag = \"latest\"");
        assert!(error(&root, None).contains("`latest` is not allowed"));
    }

    #[test]
    fn rules_across_keys_name_the_file_that_broke_them() {
        let (_dir, root) = scratch();
        append(&root, "deploy/environments/minikube.toml", "[ingress.paths]\n\"/admin\" = \"admin\"");
        let err = error(&root, Some("minikube"));
        assert_eq!(
            err,
            "deploy/environments/minikube.toml: `ingress.paths.\"/admin\"`: `admin` is not a service; services: api, web"
        );

        let (_dir, root) = scratch();
        edit(&root, "deploy/environments/cluster.toml", "mode = \"external\"", "mode = \"sqlite\"");
        let err = error(&root, Some("cluster"));
        assert!(
            err.starts_with("deploy/environments/cluster.toml: `database.mode`: `sqlite` allows one writer"),
            "{err}"
        );

        let (_dir, root) = scratch();
        edit(&root, CONFIG_FILE, "config_env = [", "config_env = [\"JWT_SECRET\", ");
        let err = error(&root, None);
        assert!(err.contains("deploy/todo.toml: `services.api.config_env`: JWT_SECRET is a secret"), "{err}");

        let (_dir, root) = scratch();
        append(&root, "deploy/environments/cluster.toml", "[services.web]\nreadiness_path = \"/healthz\"");
        assert!(error(&root, Some("cluster")).contains("is also the liveness path"));

        let (_dir, root) = scratch();
        assert!(error(&root, Some("staging")).contains("there is no environment `staging`"));
        assert!(error(&root, Some("staging")).contains("environments: cluster, minikube"));
    }
}
