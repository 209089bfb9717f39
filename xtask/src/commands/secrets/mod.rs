//! `cargo xtask secrets`: the app's Secret and ConfigMap from `.env`, applied so that no value
//! reaches a command line, a log or a `last-applied-configuration` annotation.
//!
//! Here: the command, the phase and the plan's types. Reading and checking .env is in `prepare`,
//! the manifests in `manifests`, applying and reporting in `apply`.

mod apply;
mod manifests;
mod prepare;

use anyhow::{Context as _, Result};
use camino::Utf8PathBuf;
use xshell::cmd;

use crate::config;
use crate::context::Context;
use crate::env_file::{self, EnvFile};
use crate::phase::{Fingerprint, Outcome, Phase, Pipeline, Plan};
use crate::runner::Cmd;
use crate::secret::Secret;

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
