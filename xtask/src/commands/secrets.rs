//! `cargo xtask secrets`: the app's Secret and ConfigMap from `.env`, applied so that no value
//! reaches a command line, a log or a `last-applied-configuration` annotation.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use anyhow::{Context as _, Result, bail};
use camino::Utf8PathBuf;
use serde_json::json;
use xshell::cmd;

use crate::config::{self, DatabaseMode, DeployConfig};
use crate::context::Context;
use crate::env_file::{self, EnvFile};
use crate::phase::{Fingerprint, Outcome, Phase, Pipeline, Plan};
use crate::runner::Cmd;
use crate::secret::{REDACTED, Secret};
use crate::ui::Table;

/// Apply the app's Secret and ConfigMap from .env; values never reach argv, logs or annotations
///
/// Reads .env (missing: empty) and checks it against what the environment needs, with line
/// numbers: JWT_SECRET (32 bytes or more), DATABASE_URL (a postgres:// URL; required when the
/// database mode is `external`). Generates what may be generated and keeps it in .env, never
/// replacing a value you set: JWT_SECRET, and POSTGRES_PASSWORD for the bundled Postgres, whose
/// DATABASE_URL it composes. Then ensures the namespace exists (Pod Security `restricted`) and
/// applies the Secret (keys in each service's `secret_env`) and the ConfigMap (the `config_env`
/// keys .env sets) with `kubectl apply --server-side`: the manifests go through stdin, and
/// server-side apply keeps no `last-applied-configuration` copy of them (one left by an earlier
/// client-side apply is removed). Prints key names only.
///
/// Targets the environment's kube context (minikube: `todo`), or the current one. Calls kubectl.
/// The chart references both objects by name and rolls its pods when they change.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The environment: a file in deploy/environments/ (`minikube`: the local profile and a
    /// bundled Postgres; `cluster`: the current context and an external DATABASE_URL)
    #[arg(long = "env", value_name = "ENV", default_value = config::DEFAULT_ENVIRONMENT)]
    pub env: String,

    /// Print the manifests that would be applied, secret values redacted; write nothing, call
    /// nothing
    #[arg(long)]
    pub render: bool,
}

pub fn run(cx: &Context, args: &Args) -> Result<()> {
    if args.render {
        let plan = SecretsPlan::prepare(cx, &args.env, Generate::InMemory)?;
        cx.ui.print(&plan.manifests(Show::Redacted).join("---\n"));
        return Ok(());
    }
    Pipeline::new(vec![Box::new(Secrets { env: args.env.clone() })]).run(cx)
}

/// The phase `deploy` chains: skipped when neither .env nor the config changed and both objects
/// still exist in the cluster.
pub struct Secrets {
    pub env: String,
}

/// Who owns the fields this command applies (`kubectl get -o yaml --show-managed-fields`).
const FIELD_MANAGER: &str = "cargo-xtask-secrets";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

impl Phase for Secrets {
    fn name(&self) -> &'static str {
        "secrets"
    }

    fn prepare<'a>(&'a self, cx: &Context) -> Result<Box<dyn Plan + 'a>> {
        let plan = SecretsPlan::prepare(cx, &self.env, Generate::default_for(cx))?;
        let key = FingerprintKey::read_or_make(cx)?;
        let cluster = match &plan.context {
            Some(context) => context.clone(),
            None => current_cluster(cx)?,
        };
        Ok(Box::new(Apply { plan, key, cluster }))
    }
}

/// The phase's prepared work: what to apply, and where.
struct Apply {
    plan: SecretsPlan,
    key: FingerprintKey,
    /// The context (and for the current one, its API server) the objects go to.
    cluster: String,
}

impl Plan for Apply {
    fn fingerprint(&self) -> Option<Fingerprint> {
        // The hash covers secret values (generated ones included, so a run that keeps them in
        // .env is followed by runs that skip). It is keyed with random bytes kept next to it, so
        // the phase record (target/xtask/phases/secrets.json) cannot be used to test guesses.
        let mut fingerprint = Fingerprint::new();
        fingerprint.value("key", &self.key.value);
        fingerprint.value("environment", &self.plan.env);
        // Switching contexts must not find the phase "unchanged" and leave the other cluster's
        // Secret as it was.
        fingerprint.value("context", &self.cluster);
        for manifest in self.plan.manifests(Show::Values) {
            fingerprint.value("manifest", &manifest);
        }
        Some(fingerprint)
    }

    fn outputs_present(&self, cx: &Context) -> Result<bool> {
        let plan = &self.plan;
        let (ns, secret, map) = (&plan.namespace, &plan.secret_name, &plan.config_map_name);
        let context = plan.context_args();
        let get =
            cmd!(cx.sh, "kubectl {context...} --namespace {ns} get secret/{secret} configmap/{map} -o name");
        let output = cx.output(Cmd::from(get).read_only().quiet().allow_failure())?;
        Ok(output.success() && output.stdout.lines().count() == 2)
    }

    fn run(self: Box<Self>, cx: &Context) -> Result<Outcome> {
        let Apply { mut plan, key, .. } = *self;
        if !cx.runner.dry_run() {
            plan.keep_generated()?;
            key.keep(cx)?;
        }
        plan.report_inputs(cx);
        plan.apply(cx)?;
        plan.record(cx)?;
        Ok(Outcome::Done)
    }
}

/// The current kube context and its API server: switching contexts must not find the phase
/// "unchanged" and leave the other cluster's Secret as it was.
fn current_cluster(cx: &Context) -> Result<String> {
    let query = "{.current-context} {.clusters[0].cluster.server}";
    let view = cmd!(cx.sh, "kubectl config view --minify --output jsonpath={query}");
    let output = cx.output(Cmd::from(view).read_only().quiet().allow_failure())?;
    // No usable kubeconfig: the apply that follows fails and says so.
    Ok(if output.success() { output.stdout.trim().to_owned() } else { "<none>".to_owned() })
}

/// Whether values generated for this run are kept in .env.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Generate {
    Persist,
    /// `--render` and `--dry-run` change nothing.
    InMemory,
}

impl Generate {
    fn default_for(cx: &Context) -> Generate {
        if cx.runner.dry_run() { Generate::InMemory } else { Generate::Persist }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Show {
    Values,
    Redacted,
}

/// Where a value came from, for the report.
enum Origin {
    Line(usize),
    GeneratedNow(Generate),
    Composed,
}

struct Item {
    key: String,
    origin: Origin,
}

struct SecretsPlan {
    env: String,
    /// .env as read, and the values generated for keys it lacks: kept in it by `keep_generated`.
    file: EnvFile,
    generated: Vec<(String, Secret)>,
    context: Option<String>,
    namespace: String,
    secret_name: String,
    config_map_name: String,
    app: String,
    /// Sorted by key.
    secrets: Vec<(Item, Secret)>,
    settings: Vec<(Item, String)>,
    /// Keys .env sets that this environment does not use.
    unused: Vec<String>,
    warnings: Vec<String>,
}

impl SecretsPlan {
    fn prepare(cx: &Context, env: &str, generate: Generate) -> Result<SecretsPlan> {
        let (config, _) = DeployConfig::load_env(&cx.root, Some(env))?;
        let file = EnvFile::read(&cx.root, &env_file::cluster_env_file())?;
        let mode = config.database.mode;

        let mut wanted: BTreeSet<String> =
            config.services.values().flat_map(|s| s.secret_env.iter().map(|k| k.0.clone())).collect();
        if mode == DatabaseMode::Bundled {
            wanted.insert("POSTGRES_PASSWORD".to_owned());
        }
        if mode == DatabaseMode::Sqlite {
            wanted.remove("DATABASE_URL");
        }

        // Generate once, keep in .env: a regenerated JWT secret would sign everyone out, a
        // regenerated database password would lock the api out of its data.
        let mut generated = Vec::new();
        for (key, bytes) in [("JWT_SECRET", 32), ("POSTGRES_PASSWORD", 24)] {
            if wanted.contains(key) && file.get(key).is_none() {
                generated.push((key.to_owned(), Secret::new(env_file::random_hex(bytes)?)));
            }
        }
        for (_, value) in &generated {
            cx.ui.redactor().register(value);
        }
        let value_of = |key: &str| -> Option<(Secret, Origin)> {
            if let Some(entry) = file.get(key) {
                return Some((entry.value.clone(), Origin::Line(entry.line)));
            }
            generated.iter().find(|(k, _)| k == key).map(|(_, v)| (v.clone(), Origin::GeneratedNow(generate)))
        };
        // Only secret keys' values: redacting a setting like `RUST_LOG=debug` would blank out
        // every "debug" xtask prints.
        for entry in file
            .entries
            .iter()
            .filter(|e| wanted.contains(&e.key) || config::SECRET_KEYS.contains(&e.key.as_str()))
        {
            cx.ui.redactor().register(&entry.value);
        }

        let env_rel = config::environment_file(env);
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let mut secrets = Vec::new();
        for key in &wanted {
            let found = value_of(key);
            let line = match &found {
                Some((_, Origin::Line(line))) => format!("{}:{line}: ", env_file::ENV_FILE),
                _ => format!("{}: ", env_file::ENV_FILE),
            };
            match (key.as_str(), found) {
                ("DATABASE_URL", found) if mode == DatabaseMode::Bundled => {
                    if found.is_some() {
                        warnings.push(format!(
                            "{line}DATABASE_URL is not used: environment `{env}` runs the bundled Postgres ({env_rel}: database.mode = \"bundled\"), and its DATABASE_URL is composed from POSTGRES_PASSWORD"
                        ));
                    }
                }
                ("DATABASE_URL", None) => problems.push(format!(
                    "{}: DATABASE_URL is required: environment `{env}` uses an external database ({}: database.mode = \"external\"). Add it to .env, e.g. DATABASE_URL=postgres://USER:PASSWORD@HOST/DB?sslmode=require{}",
                    env_file::ENV_FILE,
                    origin_of_mode(&cx.root, &env_rel),
                    documented_at(cx, "DATABASE_URL")
                )),
                ("DATABASE_URL", Some((value, origin))) => {
                    let url = value.expose();
                    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                        problems.push(format!(
                            "{line}DATABASE_URL must be a postgres:// or postgresql:// URL (the value is not shown)"
                        ));
                    }
                    secrets.push((Item { key: key.clone(), origin }, value));
                }
                ("JWT_SECRET", Some((value, origin))) => {
                    let length = value.expose().len();
                    if length < 32 {
                        problems.push(format!(
                            "{line}JWT_SECRET is {length} bytes; the api needs at least 32. Delete the line and `cargo xtask secrets` generates one"
                        ));
                    }
                    secrets.push((Item { key: key.clone(), origin }, value));
                }
                ("POSTGRES_PASSWORD", Some((value, origin))) => {
                    if value.expose().len() < 16 {
                        problems.push(format!(
                            "{line}POSTGRES_PASSWORD is shorter than 16 characters. Delete the line and `cargo xtask secrets` generates one (the bundled database keeps the password it was created with: change both together)"
                        ));
                    }
                    secrets.push((Item { key: key.clone(), origin }, value));
                }
                (_, Some((value, origin))) => secrets.push((Item { key: key.clone(), origin }, value)),
                // Optional keys (LLM_API_KEY, OPENAI_API_KEY): the pods start without them.
                (_, None) => {}
            }
        }
        if mode == DatabaseMode::Bundled
            && let Some(password) =
                secrets.iter().find(|(item, _)| item.key == "POSTGRES_PASSWORD").map(|s| &s.1)
        {
            let bundled = &config.database.bundled;
            let url = Secret::new(format!(
                "postgres://{}:{}@{}:5432/{}?sslmode=disable",
                bundled.user,
                percent_encode(password.expose()),
                config.postgres_host(),
                bundled.database
            ));
            cx.ui.redactor().register(&url);
            secrets.push((Item { key: "DATABASE_URL".to_owned(), origin: Origin::Composed }, url));
        }
        if !problems.is_empty() {
            let count = if problems.len() == 1 {
                "1 problem".to_owned()
            } else {
                format!("{} problems", problems.len())
            };
            bail!(
                "{count} in {} for environment `{env}`:\n{}",
                env_file::ENV_FILE,
                problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
            );
        }
        secrets.sort_by(|a, b| a.0.key.cmp(&b.0.key));

        let config_keys: BTreeSet<String> =
            config.services.values().flat_map(|s| s.config_env.iter().map(|k| k.0.clone())).collect();
        let settings: Vec<(Item, String)> = config_keys
            .iter()
            .filter_map(|key| {
                file.get(key).map(|e| (Item { key: key.clone(), origin: Origin::Line(e.line) }, e))
            })
            .map(|(item, entry)| (item, entry.value.expose().to_owned()))
            .collect();
        let mut unused: Vec<String> = file
            .entries
            .iter()
            .map(|e| e.key.clone())
            .filter(|key| !wanted.contains(key) && !config_keys.contains(key))
            .collect();
        unused.sort();
        unused.dedup();

        Ok(SecretsPlan {
            env: env.to_owned(),
            file,
            generated,
            context: config.cluster.context.clone(),
            namespace: config.app.namespace.0.clone(),
            secret_name: config.app.secret_name.0.clone(),
            config_map_name: config.app.config_map_name.0.clone(),
            app: config.app.name.0.clone(),
            secrets,
            settings,
            unused,
            warnings,
        })
    }

    /// Generate once, keep in .env: a regenerated JWT secret would sign everyone out, a
    /// regenerated database password would lock the api out of its data.
    fn keep_generated(&mut self) -> Result<()> {
        if self.generated.is_empty() {
            return Ok(());
        }
        self.file.fill_in(
            &self.generated,
            "Generated by `cargo xtask secrets` and kept: delete a line to have a new value generated.",
        )
    }

    fn context_args(&self) -> Vec<String> {
        match &self.context {
            Some(context) => vec!["--context".to_owned(), context.clone()],
            None => Vec::new(),
        }
    }

    fn labels(&self) -> String {
        format!(
            "  labels:\n    app.kubernetes.io/name: {app}\n    app.kubernetes.io/part-of: {app}\n    app.kubernetes.io/managed-by: cargo-xtask\n",
            app = self.app
        )
    }

    /// The namespace; labelled so the cluster enforces the restricted Pod Security Standard the
    /// chart meets.
    fn namespace_manifest(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n    app.kubernetes.io/part-of: {app}\n    pod-security.kubernetes.io/enforce: restricted\n    pod-security.kubernetes.io/warn: restricted\n    pod-security.kubernetes.io/audit: restricted\n",
            ns = self.namespace,
            app = self.app
        )
    }

    fn config_map_manifest(&self) -> String {
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

    fn secret_manifest(&self, show: Show) -> String {
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
                (Show::Values, _) => base64(value.expose().as_bytes()),
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
    fn manifests(&self, show: Show) -> Vec<String> {
        vec![self.namespace_manifest(), self.config_map_manifest(), self.secret_manifest(show)]
    }

    fn report_inputs(&self, cx: &Context) {
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

    fn apply(&self, cx: &Context) -> Result<()> {
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
            cx.ui.redactor().register(&Secret::new(base64(value.expose().as_bytes())));
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
    fn record(&self, cx: &Context) -> Result<()> {
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

fn describe(origin: &Origin) -> String {
    match origin {
        Origin::Line(line) => format!(".env line {line}"),
        Origin::GeneratedNow(Generate::Persist) => "generated now, kept in .env".to_owned(),
        Origin::GeneratedNow(Generate::InMemory) => "would be generated and kept in .env".to_owned(),
        Origin::Composed => "composed for the bundled Postgres".to_owned(),
    }
}

/// Which file set the database mode, for the error message.
fn origin_of_mode(root: &camino::Utf8Path, env_rel: &camino::Utf8Path) -> String {
    let sets_mode = std::fs::read_to_string(root.join(env_rel))
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .is_some_and(|table| table.get("database").and_then(|d| d.get("mode")).is_some());
    if sets_mode { env_rel.to_string() } else { config::CONFIG_FILE.to_owned() }
}

/// ` (documented at deploy/.env.example:LINE)`, when it is.
fn documented_at(cx: &Context, key: &str) -> String {
    let Ok(text) = std::fs::read_to_string(cx.root.join(env_file::EXAMPLE_FILE)) else {
        return String::new();
    };
    text.lines()
        .position(|line| {
            line.trim_start().trim_start_matches('#').trim_start().starts_with(&format!("{key}="))
        })
        .map_or(String::new(), |i| format!(" (documented at {}:{})", env_file::EXAMPLE_FILE, i + 1))
}

/// The random bytes that key the phase's fingerprint; made once per checkout, private to its owner.
struct FingerprintKey {
    value: String,
    /// Made by this run, not yet on disk.
    new: bool,
}

impl FingerprintKey {
    fn path(cx: &Context) -> Utf8PathBuf {
        cx.state_dir().join("secrets/fingerprint.key")
    }

    fn read_or_make(cx: &Context) -> Result<FingerprintKey> {
        match std::fs::read_to_string(Self::path(cx)) {
            Ok(value) => Ok(FingerprintKey { value, new: false }),
            Err(_) => Ok(FingerprintKey { value: env_file::random_hex(32)?, new: true }),
        }
    }

    fn keep(&self, cx: &Context) -> Result<()> {
        if !self.new {
            return Ok(());
        }
        let path = Self::path(cx);
        std::fs::create_dir_all(path.parent().unwrap())?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        std::io::Write::write_all(&mut options.open(&path)?, self.value.as_bytes())
            .with_context(|| format!("cannot write {path}"))
    }
}

/// Standard base64 with padding, as a Secret's `data` wants it.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A URL's userinfo part: everything but the unreserved characters percent-encoded.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }

    #[test]
    fn passwords_are_encoded_for_urls() {
        assert_eq!(percent_encode("a-b_c.d~9"), "a-b_c.d~9");
        assert_eq!(percent_encode("p@ss:w/rd%"), "p%40ss%3Aw%2Frd%25");
    }
}
