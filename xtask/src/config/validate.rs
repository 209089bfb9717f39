//! Rules that span several keys of the deploy description.

use anyhow::{Result, anyhow};

use super::{DatabaseMode, DeployConfig, SECRET_KEYS};

impl DeployConfig {
    /// Rules that span several keys. `origin` names the file that set a key.
    pub(super) fn validate(&self, origin: &dyn Fn(&str) -> String) -> Result<()> {
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
}
