//! Applying the objects server-side through stdin, and saying what was applied (key names only).

use anyhow::{Context as _, Result};
use camino::Utf8PathBuf;
use serde_json::json;
use xshell::cmd;

use super::prepare::describe;
use super::{SecretsPlan, Show};
use crate::base64;
use crate::context::Context;
use crate::runner::Cmd;
use crate::secret::Secret;
use crate::ui::Table;

/// Who owns the fields this command applies (`kubectl get -o yaml --show-managed-fields`).
const FIELD_MANAGER: &str = "cargo-xtask-secrets";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

impl SecretsPlan {
    pub(super) fn report_inputs(&self, cx: &Context) {
        for warning in &self.warnings {
            cx.ui.warn(warning);
        }
        if !self.unused.is_empty() {
            cx.ui.detail(&format!(
                "  not applied (environment `{}` does not use them): {}",
                self.env,
                self.unused.join(", ")
            ));
        }
    }

    pub(super) fn apply(&self, cx: &Context) -> Result<()> {
        let context = &self.context_args();
        let ns = &self.namespace;
        let target = match &self.context {
            Some(context) => format!("context `{context}`"),
            None => "the current kube context".to_owned(),
        };
        let hint = match &self.context {
            Some(profile) if self.env == "minikube" => {
                format!(
                    "is the cluster running? `cargo xtask minikube` starts it (or `minikube start -p {profile}`)"
                )
            }
            _ => format!(
                "check that {target} reaches your cluster: `kubectl {} cluster-info`",
                context.join(" ")
            ),
        };

        // Server-side apply: idempotent, and it keeps no last-applied copy of what it was given.
        let namespace =
            cmd!(cx.sh, "kubectl {context...} apply --server-side --field-manager={FIELD_MANAGER} -f -");
        cx.run(Cmd::from(namespace).stdin(self.namespace_manifest()).hint(hint.clone()))?;

        let payload = format!("{}---\n{}", self.config_map_manifest(), self.secret_manifest(Show::Values));
        // kubectl may quote the object it was given in an error: its base64 values are secrets too.
        for (_, value) in &self.secrets {
            cx.ui.redactor().register(&Secret::new(base64::encode(value.expose().as_bytes())));
        }
        // --force-conflicts: these objects are ours; a field someone changed with `kubectl edit`
        // is taken back.
        let apply = cmd!(
            cx.sh,
            "kubectl {context...} apply --server-side --field-manager={FIELD_MANAGER} --force-conflicts -f -"
        );
        cx.run(Cmd::from(apply).secret_stdin(Secret::new(payload)).hint(hint))?;

        // An earlier client-side `kubectl apply` of this Secret left all its values in an
        // annotation; server-side apply does not remove it, so do it here. The query prints only
        // whether the annotation is there.
        let secret = &self.secret_name;
        let template = format!(
            "{{{{with .metadata.annotations}}}}{{{{if index . \"{LAST_APPLIED}\"}}}}present{{{{end}}}}{{{{end}}}}"
        );
        let query = cmd!(
            cx.sh,
            "kubectl {context...} --namespace {ns} get secret {secret} -o go-template={template}"
        );
        let found = cx.output(Cmd::from(query).read_only().quiet().allow_failure())?;
        if found.stdout.trim() == "present" {
            cx.ui.warn(&format!(
                "Secret {ns}/{secret} carried a {LAST_APPLIED} annotation holding its values (from an earlier client-side `kubectl apply`): removing it"
            ));
            let remove = format!("{LAST_APPLIED}-");
            cx.run(Cmd::from(cmd!(
                cx.sh,
                "kubectl {context...} --namespace {ns} annotate secret {secret} {remove}"
            )))?;
        }

        let verb = if cx.runner.dry_run() { "would apply" } else { "applied" };
        let mut table = Table::new(&["object", "key", "from"]);
        let secret_label = format!("Secret {ns}/{secret}");
        let map_label = format!("ConfigMap {ns}/{}", self.config_map_name);
        for (i, (item, _)) in self.secrets.iter().enumerate() {
            let object = if i == 0 { secret_label.clone() } else { String::new() };
            table.row(vec![(object, None), (item.key.clone(), None), (describe(&item.origin), None)]);
        }
        for (i, (item, _)) in self.settings.iter().enumerate() {
            let object = if i == 0 { map_label.clone() } else { String::new() };
            table.row(vec![(object, None), (item.key.clone(), None), (describe(&item.origin), None)]);
        }
        if self.settings.is_empty() {
            table.row(vec![
                (map_label, None),
                ("(no keys: .env overrides no setting)".to_owned(), None),
                (String::new(), None),
            ]);
        }
        cx.ui.info(&format!("{verb} with {target} (key names only; values are never shown):"));
        cx.ui.info(&table.render(&cx.ui));
        Ok(())
    }

    /// What deploy needs to know: which objects exist where, and their keys (never values).
    pub(super) fn record(&self, cx: &Context) -> Result<()> {
        if cx.runner.dry_run() {
            return Ok(());
        }
        let dir = cx.state_dir().join("secrets");
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {dir}"))?;
        let record = json!({
            "environment": self.env,
            "context": self.context,
            "namespace": self.namespace,
            "secret": self.secret_name,
            "secret_keys": self.secrets.iter().map(|(item, _)| &item.key).collect::<Vec<_>>(),
            "config_map": self.config_map_name,
            "config_map_keys": self.settings.iter().map(|(item, _)| &item.key).collect::<Vec<_>>(),
        });
        let path: Utf8PathBuf = dir.join(format!("{}.json", self.env));
        std::fs::write(&path, serde_json::to_vec_pretty(&record)?)
            .with_context(|| format!("cannot write {path}"))?;
        Ok(())
    }
}
