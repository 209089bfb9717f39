//! `cargo xtask containerize`: build the todo-api and todo-web images, tagged by content.

use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use xshell::cmd;

use crate::config::BudgetKind;
use crate::container_engine::{self, Engine};
use crate::context::Context;
use crate::images::{BuildMode, BuiltImage, BuiltImages, IMAGES, ImageSpec};
use crate::phase::{Fingerprint, Outcome, Phase, Pipeline, Plan};
use crate::runner::{Cmd, CommandError};
use crate::ui::{Style, Table, fmt_duration};

/// Build the images (in parallel), tagged by the content hash of their inputs; skip unchanged ones
///
/// Each image's tag is a hash of its Dockerfile, its sources, Cargo.lock, the build mode and build
/// args, so an unchanged image is never rebuilt and a changed one never reuses a tag (`latest` is
/// never used). Images whose tag already exists in the engine are skipped. Ends with a table of
/// images, tags, sizes against their goals and budgets, and build times; the references go to
/// target/xtask/images.json for the phases that load and deploy them.
///
/// Build modes: `host` (default on Linux) runs `cargo build --release` here and copies the binaries
/// with their shared libraries into a `FROM scratch` image: incremental, seconds after a small
/// change. `docker` (default elsewhere) compiles inside the engine with the Dockerfiles'
/// multi-stage build: needs nothing but the engine. Calls: cargo, docker or podman, sh, ldd.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct Args {
    /// Where the binaries are compiled [default: host on Linux, docker elsewhere]
    #[arg(long, value_enum, value_name = "MODE")]
    pub build: Option<BuildMode>,

    /// The engine to build with [default: docker when its daemon answers, else podman]
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,

    /// Also tag the images as REGISTRY/<image>:<tag> and push them (for clusters that pull;
    /// minikube loads local images instead)
    #[arg(long, value_name = "REGISTRY")]
    pub push: Option<String>,

    /// A Dockerfile build argument, e.g. `RUST_IMAGE=mirror.example.com/library/rust:1.95-slim-bookworm`
    /// to build behind a mirror (docker mode); repeatable; part of the image tags
    #[arg(long = "build-arg", value_name = "KEY=VALUE", value_parser = parse_build_arg)]
    pub build_args: Vec<(String, String)>,

    /// Build with this minikube profile's Docker daemon (`minikube docker-env`), so the images are
    /// on the node with nothing to load: `deploy --build-in-cluster`.
    #[arg(skip)]
    pub minikube_profile: Option<String>,
}

pub fn parse_build_arg(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

pub fn run(cx: &Context, args: &Args) -> Result<()> {
    Pipeline::new(vec![Box::new(Containerize::new(args.clone()))]).run(cx)
}

pub struct Containerize {
    args: Args,
}

/// The images to build and how: what fingerprinting, skipping and building all work from.
struct Images<'a> {
    args: &'a Args,
    engine: Engine,
    /// Where docker commands go when that is not the local daemon (minikube's).
    docker_env: Vec<(String, String)>,
    mode: BuildMode,
    images: Vec<Planned>,
}

struct Planned {
    spec: &'static ImageSpec,
    tag: String,
}

impl Planned {
    fn reference(&self) -> String {
        format!("{}:{}", self.spec.name, self.tag)
    }
}

impl Containerize {
    pub fn new(args: Args) -> Containerize {
        Containerize { args }
    }
}

impl Phase for Containerize {
    fn name(&self) -> &'static str {
        "containerize"
    }

    fn budget(&self) -> Option<BudgetKind> {
        Some(BudgetKind::Build)
    }

    fn prepare<'a>(&'a self, cx: &Context) -> Result<Box<dyn Plan + 'a>> {
        let mode = self.args.build.unwrap_or_else(BuildMode::default_for_this_os);
        if mode == BuildMode::Host && !cfg!(target_os = "linux") {
            bail!(
                "--build host needs Linux: the host's binaries must run in a Linux container; use --build docker"
            );
        }
        let (engine, docker_env) = match &self.args.minikube_profile {
            Some(profile) => (Engine::Docker, minikube_docker_env(cx, profile)?),
            None => (container_engine::resolve(cx, self.args.engine)?, Vec::new()),
        };
        // Host builds depend on the compiler that made them; docker builds name theirs in the
        // Dockerfile (hashed) or a build arg (hashed).
        let toolchain = match mode {
            BuildMode::Host => cx.read(Cmd::from(cmd!(cx.sh, "rustc -V")).read_only().quiet())?,
            BuildMode::Docker => String::new(),
        };
        let images = IMAGES
            .iter()
            .map(|spec| {
                let tag = crate::images::tag(&cx.root, spec, mode, &toolchain, &self.args.build_args)?;
                Ok(Planned { spec, tag })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Box::new(Images { args: &self.args, engine, docker_env, mode, images }))
    }
}

/// `minikube docker-env`'s settings (DOCKER_HOST and its TLS files), as pairs.
fn minikube_docker_env(cx: &Context, profile: &str) -> Result<Vec<(String, String)>> {
    let query = cmd!(cx.sh, "minikube -p {profile} docker-env --shell none");
    let text = cx.read(Cmd::from(query).read_only().quiet().hint(
        "building inside minikube needs its docker runtime (`minikube start --container-runtime=docker`); \
         without it, deploy without --build-in-cluster (the images are loaded instead)",
    ))?;
    let pairs: Vec<(String, String)> = text
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().trim_matches('"').to_owned()))
        .filter(|(key, _)| key.starts_with("DOCKER_") || key == "MINIKUBE_ACTIVE_DOCKERD")
        .collect();
    if !pairs.iter().any(|(key, _)| key == "DOCKER_HOST") {
        bail!("`minikube -p {profile} docker-env` named no DOCKER_HOST: is the profile running?");
    }
    Ok(pairs)
}

impl Images<'_> {
    fn exists(&self, cx: &Context, engine: Engine, image: &Planned) -> Result<bool> {
        Ok(cx.output(self.at_engine(engine.image_exists(&cx.sh, &image.reference())))?.success())
    }

    /// `cmd` aimed at the engine builds go to: minikube's daemon with --build-in-cluster.
    fn at_engine(&self, mut cmd: Cmd) -> Cmd {
        for (key, value) in &self.docker_env {
            cmd = cmd.env(key, value);
        }
        cmd
    }
}

impl Plan for Images<'_> {
    fn fingerprint(&self) -> Option<Fingerprint> {
        let plan = self;
        let mut fingerprint = Fingerprint::new();
        fingerprint
            .value("engine", plan.engine.program())
            .value("minikube daemon", self.args.minikube_profile.as_deref().unwrap_or(""))
            .value("push", self.args.push.as_deref().unwrap_or(""));
        for image in &plan.images {
            fingerprint.value(image.spec.name, &image.tag);
        }
        Some(fingerprint)
    }

    fn outputs_present(&self, cx: &Context) -> Result<bool> {
        let plan = self;
        for image in &plan.images {
            if !self.exists(cx, plan.engine, image)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn run(self: Box<Self>, cx: &Context) -> Result<Outcome> {
        let plan = &*self;
        let mut missing = Vec::new();
        for image in &plan.images {
            // --force rebuilds what the engine has: the way to replace an image whose tag is right
            // but whose contents are not (a base image updated, a store restored from a backup).
            if cx.opts.force || !self.exists(cx, plan.engine, image)? {
                missing.push(image);
            }
        }
        cx.ui.info(&format!(
            "  {} build with {}; {} of {} images to build",
            plan.mode.name(),
            plan.engine.program(),
            missing.len(),
            plan.images.len()
        ));

        let mut times = Vec::new();
        if !missing.is_empty() {
            if plan.mode == BuildMode::Host {
                compile_on_host(cx, &missing)?;
            }
            times = build_images(cx, plan, &missing, &self.args.build_args)?;
        }

        let mut built = Vec::new();
        for image in &plan.images {
            let size = match cx.runner.dry_run() && missing.iter().any(|m| m.spec.name == image.spec.name) {
                true => None,
                false => Some(read_size(cx, plan, image)?),
            };
            let (pushed, digest) = match &self.args.push {
                Some(registry) => {
                    let (remote, digest) = push(cx, plan, image, registry)?;
                    (Some(remote), digest)
                }
                None => (None, None),
            };
            built.push(BuiltImage {
                name: image.spec.name.to_owned(),
                tag: image.tag.clone(),
                reference: image.reference(),
                pushed,
                digest,
                size_bytes: size,
            });
        }
        report(cx, plan, &built, &times);
        BuiltImages { engine: plan.engine.program().to_owned(), mode: plan.mode, images: built }.save(cx)?;
        Ok(if missing.is_empty() && self.args.push.is_none() {
            Outcome::UpToDate("every image's tag is already in the engine".into())
        } else {
            Outcome::Done
        })
    }
}

/// One `cargo build` for every package that needs an image: cargo builds them in parallel and
/// shares their dependencies.
fn compile_on_host(cx: &Context, missing: &[&Planned]) -> Result<()> {
    let packages: Vec<String> =
        missing.iter().flat_map(|image| ["--package".to_owned(), image.spec.name.to_owned()]).collect();
    let cmd = Cmd::from(cmd!(cx.sh, "cargo build --release --locked {packages...}"))
        .timeout(Duration::from_secs(60 * 60))
        .hint("fix the compile error above; `cargo build --release` reproduces it");
    cx.run(cmd)?;
    Ok(())
}

/// Builds the images side by side; each one's output lines carry its name. Returns the build time
/// of each, in `missing`'s order.
fn build_images(
    cx: &Context,
    plan: &Images,
    missing: &[&Planned],
    build_args: &[(String, String)],
) -> Result<Vec<(String, Duration)>> {
    // xshell's Shell is not Sync: build every command here, run them on threads.
    let jobs: Vec<(String, Vec<Cmd>)> = missing
        .iter()
        .map(|image| (image.spec.name.to_owned(), build_commands(cx, plan, image, build_args)))
        .collect();
    let runner = &cx.runner;
    let build = move |(name, cmds): (String, Vec<Cmd>)| {
        let started = Instant::now();
        let result = cmds.into_iter().try_for_each(|cmd| runner.run(cmd).map(drop));
        (name, result.map(|()| started.elapsed()))
    };
    // A dry run only prints: one after the other, so the plan reads the same every time.
    let parallel = plan.mode == BuildMode::Host && !cx.runner.dry_run();
    let results: Vec<(String, Result<Duration>)> = match parallel {
        true => thread::scope(|scope| {
            let handles: Vec<_> = jobs.into_iter().map(|job| scope.spawn(move || build(job))).collect();
            handles.into_iter().map(|handle| handle.join().unwrap()).collect()
        }),
        // Docker mode one at a time: the builds share the registry cache mount, but cargo's lock
        // for it is in CARGO_HOME, outside the mount, so two cargos at once unpack the same crate
        // and one fails ("failed to unpack package ... File exists"). They would queue on the
        // shared target dir's lock anyway, so this costs little.
        false => jobs.into_iter().map(build).collect(),
    };

    let mut times = Vec::new();
    let mut failures = Vec::new();
    for (name, result) in results {
        match result {
            Ok(elapsed) => times.push((name, elapsed)),
            Err(err) => failures.push(explain_build_failure(&name, err)),
        }
    }
    match failures.pop() {
        None => Ok(times),
        Some(first) => Err(failures.into_iter().fold(first, |acc, other| acc.context(format!("{other:#}")))),
    }
}

fn build_commands(cx: &Context, plan: &Images, image: &Planned, build_args: &[(String, String)]) -> Vec<Cmd> {
    let spec = image.spec;
    let dockerfile = cx.root.join(spec.dockerfile);
    let reference = image.reference();
    let target = plan.mode.target();
    let mut flags = vec!["--label".to_owned(), format!("org.opencontainers.image.version={}", image.tag)];
    if cx.opts.force {
        flags.push("--no-cache".to_owned());
    }
    for (key, value) in build_args {
        flags.extend(["--build-arg".to_owned(), format!("{key}={value}")]);
    }
    let program = plan.engine.program();
    let mut cmds = Vec::new();
    let context = match plan.mode {
        BuildMode::Docker => cx.root.clone(),
        BuildMode::Host => {
            // The host build's context is just the runtime files: nothing else is sent or copied.
            let staged = cx.state_dir().join("context").join(spec.name);
            // Where `cargo build` put it: CARGO_TARGET_DIR moves it out of the workspace.
            let binary = cx.target_dir().join("release").join(spec.name);
            let script = cx.root.join("infra/docker/stage-rootfs.sh");
            cmds.push(Cmd::from(cmd!(cx.sh, "sh {script} {binary} {staged}")).label(spec.name));
            staged
        }
    };
    let build = cmd!(
        cx.sh,
        "{program} build --target {target} --file {dockerfile} --tag {reference} {flags...} {context}"
    );
    cmds.push(
        plan.at_engine(Cmd::from(build))
            .label(spec.name)
            .timeout(Duration::from_secs(60 * 60))
            .hint(format!("`{program} build` output above shows the failing step")),
    );
    cmds
}

/// Names the stage and step a failed image build stopped at, and adds what to do about a full disk.
fn explain_build_failure(name: &str, err: anyhow::Error) -> anyhow::Error {
    let Some(command) = err.downcast_ref::<CommandError>() else {
        return err.context(format!("building {name} failed"));
    };
    let output = format!("{}\n{}", command.output.stdout, command.output.stderr);
    let mut message = format!("building {name} failed");
    if let Some((stage, step)) = failed_step(&output) {
        match stage {
            Some(stage) => message.push_str(&format!(" in stage `{stage}`, at `{step}`")),
            None => message.push_str(&format!(" at `{step}`")),
        }
    }
    if output.contains("no space left on device") {
        message.push_str(
            "; the engine's storage is full: `docker system prune` (or `podman system prune`) frees space",
        );
    }
    err.context(message)
}

/// The stage (when the builder names it) and step of the last build step started. Understands
/// the three dialects: buildah (`[3/4] STEP 2/2: RUN ...`), Docker's classic builder
/// (`Step 5/9 : RUN ...`) and BuildKit (`#9 [build 2/4] RUN ...`).
fn failed_step(output: &str) -> Option<(Option<String>, String)> {
    let mut stage = None;
    let mut step = None;
    for line in output.lines().map(str::trim) {
        let instruction =
            if let Some(rest) = line.split_once("STEP ").and_then(|(_, r)| after_counter(r, ": ")) {
                Some(rest)
            } else if let Some(rest) = line.strip_prefix("Step ").and_then(|r| after_counter(r, " : ")) {
                Some(rest)
            } else if line.starts_with('#') && line.contains(" [") {
                // BuildKit: "#9 [build 2/4] RUN ..." names the stage itself.
                let inner = line.split_once(" [")?.1;
                let (label, rest) = inner.split_once("] ")?;
                let label_stage = label.split_whitespace().next().filter(|s| !s.contains('/'));
                if let Some(label_stage) = label_stage {
                    stage = Some(label_stage.to_owned());
                }
                Some(rest)
            } else {
                None
            };
        let Some(instruction) = instruction else { continue };
        if let Some(from) = instruction.strip_prefix("FROM ")
            && let Some((_, name)) = from.rsplit_once(" AS ").or_else(|| from.rsplit_once(" as "))
        {
            stage = Some(name.trim().to_owned());
        }
        step = Some(shorten(instruction, 120));
    }
    step.map(|step| (stage, step))
}

/// The text after a `3/7` step counter and its separator.
fn after_counter<'a>(text: &'a str, separator: &str) -> Option<&'a str> {
    let (counter, rest) = text.split_once(separator)?;
    let (done, total) = counter.split_once('/')?;
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (numeric(done) && numeric(total)).then_some(rest)
}

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

fn read_size(cx: &Context, plan: &Images, image: &Planned) -> Result<u64> {
    let text = cx.read(plan.at_engine(plan.engine.image_size(&cx.sh, &image.reference())))?;
    text.trim()
        .parse()
        .with_context(|| format!("`{} image inspect` printed `{text}` for the size", plan.engine.program()))
}

/// Tags and pushes the image; returns its remote reference and the digest the registry now
/// holds it under (what a cluster pins: `repo@sha256:…`).
fn push(cx: &Context, plan: &Images, image: &Planned, registry: &str) -> Result<(String, Option<String>)> {
    let engine = plan.engine;
    let program = engine.program();
    let local = image.reference();
    let remote = format!("{}/{}", registry.trim_end_matches('/'), local);
    cx.run(plan.at_engine(Cmd::from(cmd!(cx.sh, "{program} tag {local} {remote}"))))?;
    let hint = format!(
        "log in first: `{program} login {registry}`; a registry on plain HTTP must be listed as insecure \
         (Docker: \"insecure-registries\" in daemon.json; podman: registries.conf)"
    );
    // The digest of what was pushed, which a push may change (recompression): podman writes it
    // to a file; Docker prints `TAG: digest: sha256:… size: N`.
    let output = match engine {
        Engine::Podman => {
            let file = cx.state_dir().join(format!("{}.digest", image.spec.name));
            if !cx.runner.dry_run() {
                std::fs::create_dir_all(cx.state_dir())?;
            }
            let push = cmd!(cx.sh, "podman push --digestfile {file} {remote}");
            cx.run(Cmd::from(push).timeout(Duration::from_secs(30 * 60)).hint(hint))?;
            std::fs::read_to_string(&file).unwrap_or_default()
        }
        Engine::Docker => {
            let push = cmd!(cx.sh, "docker push {remote}");
            cx.run(plan.at_engine(Cmd::from(push)).timeout(Duration::from_secs(30 * 60)).hint(hint))?.stdout
        }
    };
    let digest = find_digest(&output);
    if digest.is_none() && !cx.runner.dry_run() {
        bail!("`{program} push {remote}` succeeded but named no digest; deploy pins pushed images by digest");
    }
    Ok((remote, digest))
}

/// The first `sha256:` followed by 64 hex digits.
fn find_digest(text: &str) -> Option<String> {
    text.match_indices("sha256:").find_map(|(i, _)| {
        let hex = text.get(i + 7..i + 7 + 64)?;
        hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()).then(|| format!("sha256:{hex}"))
    })
}

fn report(cx: &Context, plan: &Images, built: &[BuiltImage], times: &[(String, Duration)]) {
    let mut table = Table::new(&["image", "tag", "size", "goal", "budget", "build"]);
    for (image, planned) in built.iter().zip(&plan.images) {
        let spec = planned.spec;
        let size = image.size_bytes.map(|bytes| bytes as f64 / 1e6);
        let size_style = match size {
            Some(mb) if mb > spec.size_budget_mb as f64 => Some(Style::Red),
            Some(mb) if mb > spec.size_goal_mb as f64 => Some(Style::Yellow),
            _ => None,
        };
        let build = match times.iter().find(|(name, _)| name == &image.name) {
            Some((_, elapsed)) => fmt_duration(*elapsed),
            None if cx.runner.dry_run() && size.is_none() => "planned".to_owned(),
            None => "unchanged".to_owned(),
        };
        table.row(vec![
            (image.name.clone(), None),
            (image.tag.clone(), None),
            (size.map_or("-".to_owned(), |mb| format!("{mb:.1} MB")), size_style),
            (format!("{} MB", spec.size_goal_mb), None),
            (format!("{} MB", spec.size_budget_mb), None),
            (build, None),
        ]);
        if let Some(mb) = size
            && mb > spec.size_budget_mb as f64
        {
            cx.ui.warn(&format!(
                "{} is {mb:.1} MB, over its budget of {} MB",
                image.name, spec.size_budget_mb
            ));
        }
    }
    cx.ui.info(&table.render(&cx.ui));
    if let Some(image) = built.iter().find(|image| image.pushed.is_some()) {
        cx.ui.info(&format!(
            "  pushed to {}",
            image.pushed.as_deref().unwrap().rsplit_once('/').map_or("", |(r, _)| r)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pushed_digest_is_read_from_docker_and_podman() {
        let digest = format!("sha256:{}", "ab12".repeat(16));
        assert_eq!(find_digest(&format!("abc123: digest: {digest} size: 1573\n")), Some(digest.clone()));
        assert_eq!(find_digest(&digest), Some(digest));
        assert_eq!(find_digest("sha256:short"), None);
    }

    #[test]
    fn failed_steps_are_found_in_each_builder_dialect() {
        let buildah = "[1/4] STEP 1/3: FROM scratch AS runtime-base\n[3/4] STEP 1/3: FROM docker.io/library/rust:1.95-slim-bookworm AS build\n[3/4] STEP 3/3: RUN --mount=type=cache cargo build --release --locked --package todo-api\nerror[E0308]: mismatched types\nError: building at STEP \"RUN ...\": exit status 101";
        assert_eq!(
            failed_step(buildah),
            Some((
                Some("build".into()),
                "RUN --mount=type=cache cargo build --release --locked --package todo-api".into()
            ))
        );
        let classic = "Step 1/9 : ARG RUST_IMAGE\nStep 4/9 : FROM rust:1.95 AS build\nStep 6/9 : RUN cargo build\n ---> Running in 1a2b\nerror: could not compile";
        assert_eq!(failed_step(classic), Some((Some("build".into()), "RUN cargo build".into())));
        let buildkit = "#8 [build 2/4] WORKDIR /src\n#9 [build 4/4] RUN --mount=type=cache,target=/src/target cargo build\n#9 12.3 error: linking failed\nERROR: failed to solve";
        assert_eq!(
            failed_step(buildkit),
            Some((Some("build".into()), "RUN --mount=type=cache,target=/src/target cargo build".into()))
        );
        assert_eq!(failed_step("Cannot connect to the Docker daemon"), None);
    }

    #[test]
    fn build_args_must_be_key_value() {
        assert_eq!(parse_build_arg("RUST_IMAGE=m/rust:1"), Ok(("RUST_IMAGE".into(), "m/rust:1".into())));
        assert!(parse_build_arg("RUST_IMAGE").unwrap_err().contains("is not KEY=VALUE"));
        assert!(parse_build_arg("=x").is_err());
    }
}
