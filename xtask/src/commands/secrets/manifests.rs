//! The Namespace, ConfigMap and Secret as YAML, written by hand: three small objects do not need a
//! YAML library in xtask.

use std::fmt::Write as _;

use serde_json::json;

use super::{Generate, Origin, SecretsPlan, Show};
use crate::base64;
use crate::secret::REDACTED;

impl SecretsPlan {
    pub(super) fn labels(&self) -> String {
        format!(
            "  labels:\n    app.kubernetes.io/name: {app}\n    app.kubernetes.io/part-of: {app}\n    app.kubernetes.io/managed-by: cargo-xtask\n",
            app = self.app
        )
    }

    /// The namespace; labelled so the cluster enforces the restricted Pod Security Standard the
    /// chart meets.
    pub(super) fn namespace_manifest(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n    app.kubernetes.io/part-of: {app}\n    pod-security.kubernetes.io/enforce: restricted\n    pod-security.kubernetes.io/warn: restricted\n    pod-security.kubernetes.io/audit: restricted\n",
            ns = self.namespace,
            app = self.app
        )
    }

    pub(super) fn config_map_manifest(&self) -> String {
        let mut text = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\n  namespace: {}\n{}",
            self.config_map_name,
            self.namespace,
            self.labels()
        );
        if self.settings.is_empty() {
            text.push_str("data: {}\n");
        } else {
            text.push_str("data:\n");
            for (item, value) in &self.settings {
                writeln!(text, "  {}: {}", item.key, json!(value)).unwrap();
            }
        }
        text
    }

    pub(super) fn secret_manifest(&self, show: Show) -> String {
        let mut text = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {}\n  namespace: {}\n{}type: Opaque\n",
            self.secret_name,
            self.namespace,
            self.labels()
        );
        if self.secrets.is_empty() {
            text.push_str("data: {}\n");
            return text;
        }
        text.push_str("data:\n");
        for (item, value) in &self.secrets {
            let shown = match (show, &item.origin) {
                (Show::Values, _) => base64::encode(value.expose().as_bytes()),
                (Show::Redacted, Origin::GeneratedNow(Generate::InMemory)) => {
                    format!("\"{REDACTED}\"  # generated on the first real run, then kept in .env")
                }
                (Show::Redacted, _) => format!("\"{REDACTED}\""),
            };
            writeln!(text, "  {}: {shown}", item.key).unwrap();
        }
        text
    }

    /// Namespace, ConfigMap, Secret.
    pub(super) fn manifests(&self, show: Show) -> Vec<String> {
        vec![self.namespace_manifest(), self.config_map_manifest(), self.secret_manifest(show)]
    }
}
