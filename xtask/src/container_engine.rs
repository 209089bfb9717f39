//! Which container engine answers: a Docker daemon (or anything speaking its API, such as
//! podman's socket behind `DOCKER_HOST`) or podman itself.

use std::time::Duration;

use serde_json::json;
use xshell::{Shell, cmd};

use crate::context::Context;
use crate::runner::{Cmd, Runner};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    Docker,
    Podman,
}

impl Engine {
    /// Answers 0 when `reference` exists in the engine's store.
    pub fn image_exists(self, sh: &Shell, reference: &str) -> Cmd {
        let cmd = match self {
            // `podman image exists` says yes/no without printing; docker has only `inspect`.
            Engine::Docker => cmd!(sh, "docker image inspect --format {ID_FORMAT} {reference}"),
            Engine::Podman => cmd!(sh, "podman image exists {reference}"),
        };
        Cmd::from(cmd).read_only().quiet().allow_failure().timeout(Duration::from_secs(30))
    }

    /// Prints the image's size in bytes.
    pub fn image_size(self, sh: &Shell, reference: &str) -> Cmd {
        let program = self.program();
        Cmd::from(cmd!(sh, "{program} image inspect --format {SIZE_FORMAT} {reference}"))
            .read_only()
            .quiet()
            .timeout(Duration::from_secs(30))
    }

    pub fn program(self) -> &'static str {
        match self {
            Engine::Docker => "docker",
            Engine::Podman => "podman",
        }
    }

    /// The engine a program name stands for (as images.json records it).
    pub fn from_program(program: &str) -> Option<Engine> {
        [Engine::Docker, Engine::Podman].into_iter().find(|engine| engine.program() == program)
    }

    /// How to get this engine answering, for the OS xtask runs on.
    pub fn start_hint(self) -> &'static str {
        match (self, cfg!(target_os = "macos")) {
            (Engine::Docker, true) => "start Docker Desktop (or `colima start`)",
            (Engine::Docker, false) => {
                "start the daemon (`sudo systemctl start docker`), or serve podman's Docker API: \
                 `podman system service --time=0 unix:///run/podman/podman.sock &` and \
                 `export DOCKER_HOST=unix:///run/podman/podman.sock`"
            }
            (Engine::Podman, true) => "`podman machine init` (once), then `podman machine start`",
            (Engine::Podman, false) => {
                "run `podman info` to see what fails (rootless podman needs subuid/subgid entries)"
            }
        }
    }
}

#[derive(Clone, Debug)]
pub struct Probe {
    pub engine: Engine,
    pub reachable: bool,
    /// The server's version when it answered; otherwise the first line of its complaint.
    pub detail: String,
}

impl Probe {
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "engine": self.engine.program(),
            "reachable": self.reachable,
            "detail": self.detail,
            "fix": (!self.reachable).then(|| self.engine.start_hint()),
        })
    }
}

const ID_FORMAT: &str = "{{.Id}}";
const SIZE_FORMAT: &str = "{{.Size}}";

/// The engine to use: the one asked for, which must answer, or else docker when its daemon
/// answers, else podman. Fails with what each engine said and how to get one answering.
pub fn resolve(cx: &Context, requested: Option<Engine>) -> anyhow::Result<Engine> {
    let candidates = match requested {
        Some(engine) => vec![engine],
        None => vec![Engine::Docker, Engine::Podman],
    };
    let mut reasons = Vec::new();
    for engine in candidates {
        if which::which(engine.program()).is_err() {
            let tool = crate::tools::Tool::by_program(engine.program()).expect("engines are tools");
            reasons.push(format!("{}: not installed (install: {})", engine.program(), tool.install_hint()));
            continue;
        }
        let probe = probe(&cx.runner, engine, probe_cmd(&cx.sh, engine));
        if probe.reachable {
            cx.ui.detail(&format!("  using {} ({})", engine.program(), probe.detail));
            return Ok(engine);
        }
        reasons.push(format!(
            "{}: does not answer: {} (fix: {})",
            engine.program(),
            probe.detail,
            engine.start_hint()
        ));
    }
    anyhow::bail!("no container engine to build with:\n  {}", reasons.join("\n  "))
}

/// The command that answers only when the engine itself (not just its CLI) works.
pub fn probe_cmd(sh: &Shell, engine: Engine) -> Cmd {
    // Go templates contain braces, which `cmd!` would read as interpolation.
    let server_version = "{{.Server.Version}}";
    let cmd = match engine {
        Engine::Docker => cmd!(sh, "docker version --format {server_version}"),
        // Podman has no daemon: listing images needs its storage (or, on macOS, its machine) to
        // work. `podman info` would say more but takes a quarter second, most of doctor's time.
        Engine::Podman => cmd!(sh, "podman image ls --quiet --filter reference=xtask-probe"),
    };
    Cmd::from(cmd).read_only().quiet().allow_failure().timeout(Duration::from_secs(20))
}

pub fn probe(runner: &Runner, engine: Engine, cmd: Cmd) -> Probe {
    match runner.output(cmd) {
        Ok(out) if out.success() => {
            let detail = match engine {
                Engine::Docker => format!("server {}", out.stdout.trim()),
                Engine::Podman => "storage ready".to_owned(),
            };
            Probe { engine, reachable: true, detail }
        }
        Ok(out) => {
            let text = if out.stderr.trim().is_empty() { out.stdout } else { out.stderr };
            let complaint = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("no answer");
            Probe { engine, reachable: false, detail: complaint.trim().to_owned() }
        }
        Err(err) => Probe { engine, reachable: false, detail: err.to_string() },
    }
}

/// The engine a build should use: docker when its daemon answers, else podman.
pub fn choose(probes: &[Probe]) -> Option<Engine> {
    [Engine::Docker, Engine::Podman]
        .into_iter()
        .find(|engine| probes.iter().any(|p| p.engine == *engine && p.reachable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_command_asks_the_server_not_the_client() {
        let sh = Shell::new().unwrap();
        assert_eq!(
            probe_cmd(&sh, Engine::Docker).to_string(),
            "docker version --format '{{.Server.Version}}'"
        );
    }

    #[test]
    fn docker_is_preferred_when_both_answer() {
        let probe = |engine, reachable| Probe { engine, reachable, detail: String::new() };
        assert_eq!(choose(&[probe(Engine::Docker, true), probe(Engine::Podman, true)]), Some(Engine::Docker));
        assert_eq!(
            choose(&[probe(Engine::Docker, false), probe(Engine::Podman, true)]),
            Some(Engine::Podman)
        );
        assert_eq!(choose(&[probe(Engine::Docker, false)]), None);
    }
}
