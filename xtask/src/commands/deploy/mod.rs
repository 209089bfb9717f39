//! `cargo xtask deploy`: from source to a verified release, running only what changed.

mod release;
mod watch;

use std::time::Duration;

use anyhow::{Result, bail};

use super::containerize::{self, Containerize};
use super::helm_gen::HelmGen;
use super::minikube::{self, Minikube};
use super::secrets::Secrets;
use super::verify::{self, Verify};
use crate::config::{self, DeployConfig};
use crate::container_engine::Engine;
use crate::context::Context;
use crate::images::BuildMode;
use crate::phase::{self, Phase, Pipeline};
use crate::tools::Tool;
pub use release::Release;

/// Build, load, configure and release the app, then verify it through the ingress
///
/// Runs the phases that are out of date, in order, each skipped when its inputs are unchanged:
/// containerize (content-hash tags, never `latest`) → minikube (`--env minikube`: the profile, its
/// ingress controller, the images loaded) → helm-gen → secrets (.env → Secret, values never on a
/// command line) → release → verify.
///
/// `release` first checks `helm status`: a release an interrupted run left `pending-*` is rolled
/// back (or uninstalled if it never installed). Then `helm upgrade --install` with the flags of the
/// helm found (Helm 3: `--atomic --wait`; Helm 4: `--rollback-on-failure --wait=watcher`), and
/// `kubectl rollout status` for each Deployment, showing which pods are ready as it waits. When the
/// release does not become ready, helm rolls it back, so the previous revision keeps serving, and
/// deploy prints why: the warning events, each failing pod with its reason and last log lines,
/// and what to do. A pod that waiting cannot fix (a third crash in a row, an image the node cannot
/// get, a missing Secret key) ends the wait at once instead of at --timeout (`--no-fail-fast`).
///
/// `--env cluster` targets the current kube context: the images are pushed to the registry
/// (`--registry`, or [images] registry in deploy/environments/cluster.toml) and pinned by digest.
/// Resume a failed deploy with `--from PHASE`; `--dry-run` prints every command and changes
/// nothing. Calls docker or podman, cargo, minikube, helm and kubectl.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[command(flatten)]
    pub options: Options,

    /// Stop after the release; do not run verify
    #[arg(long)]
    pub no_verify: bool,

    /// When the release (or verify) fails, also run the built-in cluster assistant
    /// (`ai-showcase --builtin`): known failure patterns with their fixes, and the summary of the
    /// app's LLM (.env) when one is configured
    #[arg(long)]
    pub ai: bool,
}

/// What a deploy is told: shared with `demo`, which always verifies.
#[derive(clap::Args, Debug, Clone)]
pub struct Options {
    /// The environment: a file in deploy/environments/ (`minikube`: the local profile;
    /// `cluster`: the current kube context, images pushed to a registry)
    #[arg(long = "env", value_name = "ENV", default_value = config::DEFAULT_ENVIRONMENT)]
    pub env: String,

    /// Push the images here and pin them by digest (overrides [images] registry), e.g.
    /// `registry.example.com/team` or `127.0.0.1:5000`
    #[arg(long, value_name = "REGISTRY")]
    pub registry: Option<String>,

    /// How long helm and each rollout may take before the release is rolled back
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = config::parse_duration)]
    pub timeout: Duration,

    /// Wait the whole --timeout even when a pod is crash-looping or cannot get its image. By
    /// default deploy stops waiting once a pod has crashed three times, names an image the node
    /// cannot pull, or has waited 30 s for its image or a Secret key, and helm rolls back then
    #[arg(long)]
    pub no_fail_fast: bool,

    /// Where the binaries are compiled [default: host on Linux, docker elsewhere]
    #[arg(long, value_enum, value_name = "MODE")]
    pub build: Option<BuildMode>,

    /// The engine to build with [default: docker when its daemon answers, else podman]
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,

    /// A Dockerfile build argument (as `containerize --build-arg`); part of the image tags, so a
    /// new value rolls the pods
    #[arg(long = "build-arg", value_name = "KEY=VALUE", value_parser = containerize::parse_build_arg)]
    pub build_args: Vec<(String, String)>,

    /// The IngressClass, when the cluster's controller is not the one in deploy/todo.toml
    /// ([ingress] class), e.g. `traefik`
    #[arg(long, value_name = "CLASS")]
    pub ingress_class: Option<String>,

    #[command(flatten)]
    pub minikube: minikube::MinikubeOptions,

    #[command(flatten)]
    pub verify: verify::VerifyOptions,
}

pub fn run(cx: &Context, args: &Args) -> Result<()> {
    let mut phases = phases(cx, &args.options)?;
    if !args.no_verify {
        phases.push(verify_phase(&args.options));
    }
    preflight(args.options.env == "minikube")?;
    let run = Pipeline::new(phases).run_unsummarized(cx)?;
    phase::summarize(cx, &run.rows, run.duration);
    // A failure the cluster can explain: ask the built-in assistant, then report it as it was.
    if args.ai && matches!(run.failed_phase(), Some("release" | "verify")) {
        super::ai_showcase::assist_after_failure(cx, &args.options.env);
    }
    run.result
}

/// The phase that checks the release through its ingress.
pub fn verify_phase(options: &Options) -> Box<dyn Phase> {
    Box::new(Verify { env: options.env.clone(), options: options.verify.clone() })
}

/// The cluster tools a deploy calls, checked before minutes of image builds rather than after.
fn preflight(local: bool) -> Result<()> {
    let mut needed = vec![Tool::Helm, Tool::Kubectl];
    if local {
        needed.insert(0, Tool::Minikube);
    }
    let missing: Vec<Tool> =
        needed.into_iter().filter(|tool| which::which(tool.program()).is_err()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = missing.iter().map(|tool| tool.name()).collect();
    let hints: Vec<String> =
        missing.iter().map(|tool| format!("  {}: {}", tool.name(), tool.install_hint())).collect();
    bail!(
        "deploy needs {} on PATH; install:\n{}\n`cargo xtask doctor` checks everything else (or `cargo xtask up` runs the app without a cluster)",
        names.join(", "),
        hints.join("\n")
    )
}

/// The phases of a deploy to `args.env`, in order, up to the release; [`verify_phase`] comes after.
pub fn phases(cx: &Context, args: &Options) -> Result<Vec<Box<dyn Phase>>> {
    let (config, _) = DeployConfig::load_env(&cx.root, Some(&args.env))?;
    let local = args.env == "minikube";
    let registry =
        args.registry.clone().or_else(|| Some(config.images.registry.clone()).filter(|r| !r.is_empty()));
    if !local && registry.is_none() {
        bail!(
            "environment `{}` needs a registry its cluster can pull from: pass --registry HOST[/PATH], or set \
             [images] registry in {}",
            args.env,
            config::environment_file(&args.env)
        );
    }
    // Loaded into minikube, the images need no registry; a registry given anyway is used.
    let push = if local { args.registry.clone() } else { registry.clone() };
    // Built inside minikube, the images need the cluster first; otherwise they are loaded into it.
    let in_cluster = local && args.minikube.build_in_cluster;
    let containerize = Box::new(Containerize::new(containerize::Args {
        build: args.build,
        engine: args.engine,
        push: push.clone(),
        build_args: args.build_args.clone(),
        minikube_profile: in_cluster.then(|| minikube::profile(&config)),
    }));
    let mut phases: Vec<Box<dyn Phase>> = Vec::new();
    if in_cluster {
        phases.push(Box::new(Minikube { options: args.minikube.clone() }));
        phases.push(containerize);
    } else {
        phases.push(containerize);
        if local {
            phases.push(Box::new(Minikube { options: args.minikube.clone() }));
        }
    }
    phases.push(Box::new(HelmGen { check: false }));
    phases.push(Box::new(Secrets { env: args.env.clone() }));
    let needs: &'static [&'static str] = if local {
        &["containerize", "minikube", "helm-gen", "secrets"]
    } else {
        &["containerize", "helm-gen", "secrets"]
    };
    phases.push(Box::new(Release {
        env: args.env.clone(),
        needs,
        registry: push,
        ingress_class: args.ingress_class.clone(),
        timeout: args.timeout,
        fail_fast: !args.no_fail_fast,
    }));
    Ok(phases)
}
