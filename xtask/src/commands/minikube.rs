//! `cargo xtask minikube`: the local cluster, ready for a deploy.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;
use xshell::cmd;

use crate::config::DeployConfig;
use crate::container_engine::Engine;
use crate::context::Context;
use crate::images::BuiltImages;
use crate::phase::{Fingerprint, Outcome, Phase, Pipeline, Plan};
use crate::runner::Cmd;

/// Ensure the minikube profile runs with its ingress controller ready and the app's images loaded
///
/// Starts profile `todo` (deploy/environments/minikube.toml: [cluster] context, [minikube]
/// driver, cpus, memory, kubernetes_version) unless it runs; enables the `ingress` addon and waits
/// for its controller to be Ready (an Ingress created before that is refused by the admission
/// webhook); loads the images `cargo xtask containerize` built (`minikube image load`; tags are
/// content hashes, so a loaded image is never stale); makes `todo.local` resolve: with
/// `--write-hosts`, a marked block in /etc/hosts pointing at `minikube ip` (sudo only when not
/// root), otherwise the exact line to add. On macOS and Windows with the docker driver the node's
/// IP cannot be reached: run `minikube tunnel` (or pass `--tunnel`) and use 127.0.0.1.
/// A second run changes nothing. Calls minikube, kubectl, docker or podman.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Args {
    #[command(flatten)]
    pub options: MinikubeOptions,
}

/// What `deploy` passes on to its minikube phase.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct MinikubeOptions {
    /// Write the `todo.local` line into /etc/hosts (a marked block, replaced on each run; through
    /// sudo when not root)
    #[arg(long)]
    pub write_hosts: bool,

    /// Build the images with minikube's own Docker daemon (`minikube docker-env`) instead of
    /// loading them: nothing to copy, but the build runs in the VM (needs minikube's docker
    /// runtime)
    #[arg(long)]
    pub build_in_cluster: bool,

    /// Run `minikube tunnel` in the background (macOS/Windows with the docker driver), its output
    /// in target/xtask/minikube-tunnel.log
    #[arg(long)]
    pub tunnel: bool,
}

pub fn run(cx: &Context, args: &Args) -> Result<()> {
    Pipeline::new(vec![Box::new(Minikube { options: args.options.clone() })]).run(cx)
}

pub struct Minikube {
    pub options: MinikubeOptions,
}

/// The profile: minikube names its kube context after it.
pub fn profile(config: &DeployConfig) -> String {
    config.cluster.context.clone().unwrap_or_else(|| "minikube".to_owned())
}

/// The node's IP is unreachable from the host with the docker driver outside Linux.
pub fn needs_tunnel(config: &DeployConfig) -> bool {
    let driver = config.minikube.driver.as_str();
    !cfg!(target_os = "linux") && (driver.is_empty() || driver == "docker" || driver == "podman")
}

/// `/etc/hosts`, or `XTASK_HOSTS_FILE` (tests, or a machine where another file is used).
fn hosts_file() -> String {
    std::env::var("XTASK_HOSTS_FILE").unwrap_or_else(|_| "/etc/hosts".to_owned())
}

const HOSTS_BEGIN: &str = "# BEGIN todo-cloud (written by `cargo xtask minikube --write-hosts`)";
const HOSTS_END: &str = "# END todo-cloud";

impl Phase for Minikube {
    fn name(&self) -> &'static str {
        "minikube"
    }

    fn needs(&self) -> &'static [&'static str] {
        &[]
    }

    fn prepare<'a>(&'a self, cx: &Context) -> Result<Box<dyn Plan + 'a>> {
        let (config, _) = DeployConfig::load_env(&cx.root, Some("minikube"))?;
        let images = BuiltImages::load(cx).ok();
        Ok(Box::new(Cluster { options: &self.options, profile: profile(&config), config, images }))
    }
}

struct Cluster<'a> {
    options: &'a MinikubeOptions,
    profile: String,
    config: DeployConfig,
    images: Option<BuiltImages>,
}

#[derive(Deserialize)]
struct Status {
    #[serde(rename = "Host", default)]
    host: String,
    #[serde(rename = "Kubelet", default)]
    kubelet: String,
    #[serde(rename = "APIServer", default)]
    api_server: String,
}

impl Plan for Cluster<'_> {
    fn fingerprint(&self) -> Option<Fingerprint> {
        // Each step checks the cluster itself and does only what is missing; skipping on a
        // fingerprint would miss a profile stopped since.
        None
    }

    fn run(self: Box<Self>, cx: &Context) -> Result<Outcome> {
        let started = self.ensure_running(cx)?;
        if started && cx.runner.dry_run() {
            // Nothing to ask a cluster that is not running yet.
            cx.ui.info(
                "  then: enable the ingress addon and wait for its controller, load the images, point the ingress host at the node",
            );
            return Ok(Outcome::Done);
        }
        let mut changed = started;
        changed |= self.ensure_ingress(cx)?;
        changed |= self.load_images(cx)?;
        self.resolve_host(cx)?;
        Ok(if changed {
            Outcome::Done
        } else {
            Outcome::UpToDate("the profile runs with its ingress and images".into())
        })
    }
}

impl Cluster<'_> {
    fn ensure_running(&self, cx: &Context) -> Result<bool> {
        let profile = &self.profile;
        let status = cx.output(
            Cmd::from(cmd!(cx.sh, "minikube status -p {profile} -o json"))
                .read_only()
                .quiet()
                .allow_failure(),
        )?;
        // `minikube status` exits non-zero for a stopped or missing profile, and still prints JSON
        // for a stopped one.
        let running = serde_json::from_str::<Status>(status.stdout.trim())
            .is_ok_and(|s| s.host == "Running" && s.kubelet == "Running" && s.api_server == "Running");
        if running {
            cx.ui.info(&format!("  profile `{profile}` is running"));
            return Ok(false);
        }
        let settings = &self.config.minikube;
        let mut flags = Vec::new();
        if !settings.driver.is_empty() {
            flags.push(format!("--driver={}", settings.driver));
        }
        flags.push(format!("--cpus={}", settings.cpus));
        flags.push(format!("--memory={}", settings.memory));
        if !settings.kubernetes_version.is_empty() {
            flags.push(format!("--kubernetes-version={}", settings.kubernetes_version));
        }
        let start = cmd!(cx.sh, "minikube start -p {profile} {flags...}");
        cx.run(
            Cmd::from(start)
                .timeout(Duration::from_secs(15 * 60))
                .hint("`minikube logs -p PROFILE` says more; `minikube delete -p PROFILE` starts over (it deletes the cluster)"),
        )?;
        Ok(true)
    }

    fn ensure_ingress(&self, cx: &Context) -> Result<bool> {
        let profile = &self.profile;
        let list =
            cx.read(Cmd::from(cmd!(cx.sh, "minikube -p {profile} addons list -o json")).read_only().quiet())?;
        let addons: serde_json::Value = serde_json::from_str(&list)
            .context("`minikube addons list -o json` printed JSON that could not be read")?;
        let enabled = addons["ingress"]["Status"].as_str() == Some("enabled");
        if !enabled {
            cx.run(
                Cmd::from(cmd!(cx.sh, "minikube -p {profile} addons enable ingress"))
                    .timeout(Duration::from_secs(10 * 60)),
            )?;
        }
        // The addon returns before its controller is ready, and the controller's admission webhook
        // refuses Ingresses until then: wait, always (a no-op when it is ready).
        let wait = cmd!(
            cx.sh,
            "kubectl --context {profile} wait --namespace ingress-nginx --for=condition=ready pod --selector app.kubernetes.io/component=controller --timeout=300s"
        );
        cx.run(
            Cmd::from(wait)
                .timeout(Duration::from_secs(330))
                .hint("the ingress controller is not ready: `kubectl --context PROFILE -n ingress-nginx describe pod` says why"),
        )?;
        Ok(!enabled)
    }

    fn load_images(&self, cx: &Context) -> Result<bool> {
        if self.options.build_in_cluster {
            cx.ui.detail("  images are built inside the cluster (--build-in-cluster): nothing to load");
            return Ok(false);
        }
        let Some(images) = &self.images else {
            if cx.runner.dry_run() {
                cx.ui.info("  would load the images containerize builds (`minikube image load`)");
                return Ok(false);
            }
            bail!("no images have been built yet: run `cargo xtask containerize` (deploy runs it first)");
        };
        let profile = &self.profile;
        let listed = cx.read(Cmd::from(cmd!(cx.sh, "minikube -p {profile} image ls")).read_only().quiet())?;
        let mut loaded = false;
        for image in &images.images {
            // minikube lists `docker.io/library/todo-api:TAG`.
            let present = listed.lines().any(|line| {
                let line = line.trim();
                line == image.reference || line.ends_with(&format!("/{}", image.reference))
            });
            if present {
                cx.ui.detail(&format!("  {} is already in the cluster", image.reference));
                continue;
            }
            let reference = &image.reference;
            match Engine::from_program(&images.engine) {
                // minikube reads images from Docker's daemon by name; podman's must come as a file.
                Some(Engine::Podman) => {
                    let tar = cx.state_dir().join(format!("{}.tar", image.name));
                    cx.run(Cmd::from(cmd!(cx.sh, "podman save --output {tar} {reference}")))?;
                    cx.run(
                        Cmd::from(cmd!(cx.sh, "minikube -p {profile} image load {tar}"))
                            .timeout(Duration::from_secs(15 * 60)),
                    )?;
                    if !cx.runner.dry_run() {
                        let _ = std::fs::remove_file(&tar);
                    }
                }
                _ => {
                    cx.run(
                        Cmd::from(cmd!(cx.sh, "minikube -p {profile} image load {reference}"))
                            .timeout(Duration::from_secs(15 * 60)),
                    )?;
                }
            }
            loaded = true;
        }
        Ok(loaded)
    }

    /// Makes the ingress host resolve to the cluster, or says exactly how.
    fn resolve_host(&self, cx: &Context) -> Result<()> {
        let host = &self.config.ingress.host;
        let profile = &self.profile;
        if needs_tunnel(&self.config) {
            if self.options.tunnel {
                let log = cx.state_dir().join("minikube-tunnel.log");
                let pid =
                    cx.runner.spawn_detached(Cmd::from(cmd!(cx.sh, "minikube -p {profile} tunnel")), &log)?;
                if let Some(pid) = pid {
                    cx.ui.info(&format!("  `minikube tunnel` runs in the background (pid {pid}, log {log}); stop it with `kill {pid}`"));
                }
            } else {
                cx.ui.warn(&format!(
                    "with the docker driver on this OS the node's IP is not reachable: run `minikube -p {profile} tunnel` in another terminal (or pass --tunnel), and map {host} to 127.0.0.1"
                ));
            }
            return self.hosts_entry(cx, "127.0.0.1");
        }
        let ip = cx.read(Cmd::from(cmd!(cx.sh, "minikube -p {profile} ip")).read_only().quiet())?;
        self.hosts_entry(cx, ip.trim())
    }

    fn hosts_entry(&self, cx: &Context, ip: &str) -> Result<()> {
        let host = &self.config.ingress.host;
        let path = hosts_file();
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        let line = format!("{ip} {host}");
        let block = format!("{HOSTS_BEGIN}\n{line}\n{HOSTS_END}\n");
        if current.contains(&block) {
            cx.ui.info(&format!("  {host} resolves to {ip} ({path})"));
            return Ok(());
        }
        if !self.options.write_hosts {
            cx.ui.warn(&format!(
                "{host} does not resolve to the cluster yet: add this line to {path} (or rerun with --write-hosts):\n    {line}"
            ));
            return Ok(());
        }
        let updated = with_block(&current, &block);
        if cx.runner.dry_run() {
            cx.ui.info(&format!("  [dry-run] would write `{line}` into {path}, in a marked block"));
            return Ok(());
        }
        // Written directly where we may (root, or a hosts file of the user's); through sudo
        // otherwise, which asks for a password on the terminal.
        if std::fs::OpenOptions::new().append(true).open(&path).is_ok() {
            std::fs::write(&path, &updated).with_context(|| format!("cannot write {path}"))?;
        } else {
            cx.ui.info(&format!("  {path} belongs to root: writing it through sudo"));
            cx.run(Cmd::from(cmd!(cx.sh, "sudo tee {path}")).stdin(updated.into_bytes()).quiet())?;
        }
        cx.ui.success(&format!("{path}: {line}"));
        Ok(())
    }
}

/// `current` with our marked block replaced (or appended), every other line kept.
fn with_block(current: &str, block: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in current.lines() {
        if line == HOSTS_BEGIN {
            inside = true;
            continue;
        }
        if inside {
            inside = line != HOSTS_END;
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(block);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_block_is_replaced_in_place_and_other_lines_are_kept() {
        let block = format!("{HOSTS_BEGIN}\n192.168.49.2 todo.local\n{HOSTS_END}\n");
        let first = with_block("127.0.0.1 localhost\n", &block);
        assert_eq!(first, format!("127.0.0.1 localhost\n{block}"));
        let moved = format!("{HOSTS_BEGIN}\n192.168.49.3 todo.local\n{HOSTS_END}\n");
        let second = with_block(&format!("{first}10.0.0.1 other\n"), &moved);
        assert_eq!(second, format!("127.0.0.1 localhost\n10.0.0.1 other\n{moved}"));
        assert_eq!(with_block(&second, &moved), second, "a second run changes nothing");
    }
}
