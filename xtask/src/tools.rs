//! The external tools xtask drives: how to find each, read its version, the oldest version we
//! support, and how to install it on Linux and macOS.

use std::time::Duration;

use camino::{Utf8Path, Utf8PathBuf};
use serde_json::json;
use xshell::Shell;

use crate::runner::{Cmd, Runner};
use crate::version::Version;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tool {
    Cargo,
    Docker,
    Podman,
    Minikube,
    Helm,
    Kubectl,
    KubectlAi,
    Kagent,
    /// Docker's AI agent, `docker ai`: a plugin of Docker Desktop, not a program of its own.
    Gordon,
}

pub struct InstallHint {
    pub linux: &'static str,
    pub macos: &'static str,
}

impl Tool {
    pub const ALL: [Tool; 9] = [
        Tool::Cargo,
        Tool::Docker,
        Tool::Podman,
        Tool::Minikube,
        Tool::Helm,
        Tool::Kubectl,
        Tool::KubectlAi,
        Tool::Kagent,
        Tool::Gordon,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tool::Gordon => "docker ai",
            _ => self.program(),
        }
    }

    pub fn program(self) -> &'static str {
        match self {
            Tool::Cargo => "cargo",
            Tool::Docker | Tool::Gordon => "docker",
            Tool::Podman => "podman",
            Tool::Minikube => "minikube",
            Tool::Helm => "helm",
            Tool::Kubectl => "kubectl",
            Tool::KubectlAi => "kubectl-ai",
            Tool::Kagent => "kagent",
        }
    }

    /// The tool a program name (or path) stands for; `docker` is Docker, not Gordon.
    pub fn by_program(program: &str) -> Option<Tool> {
        let base = program.rsplit('/').next().unwrap_or(program);
        Tool::ALL.into_iter().find(|tool| *tool != Tool::Gordon && tool.program() == base)
    }

    /// Arguments that make the tool print its version without touching a cluster or daemon.
    pub fn version_args(self) -> &'static [&'static str] {
        match self {
            Tool::Cargo | Tool::Docker | Tool::Podman => &["--version"],
            Tool::Minikube | Tool::Helm => &["version", "--short"],
            Tool::Kubectl => &["version", "--client"],
            Tool::KubectlAi | Tool::Kagent => &["version"],
            Tool::Gordon => &["ai", "version"],
        }
    }

    pub fn minimum(self) -> Option<Version> {
        Some(match self {
            // sqlx 0.9 needs 1.94; edition 2024 needs 1.85.
            Tool::Cargo => Version::new(1, 94, 0),
            Tool::Docker => Version::new(24, 0, 0),
            Tool::Podman => Version::new(4, 3, 0),
            Tool::Minikube => Version::new(1, 32, 0),
            // Helm 3 from 3.12 and Helm 4 both work; deploy picks the flags per major.
            Tool::Helm => Version::new(3, 12, 0),
            Tool::Kubectl => Version::new(1, 28, 0),
            Tool::KubectlAi => Version::new(0, 0, 20),
            Tool::Kagent => Version::new(0, 5, 0),
            Tool::Gordon => return None,
        })
    }

    /// What xtask uses the tool for, as a verb phrase: "helm installs the chart".
    pub fn purpose(self) -> &'static str {
        match self {
            Tool::Cargo => "builds and tests the workspace",
            Tool::Docker => "builds and runs the images",
            Tool::Podman => "builds and runs the images (instead of docker)",
            Tool::Minikube => "runs the local Kubernetes cluster",
            Tool::Helm => "installs the chart (Helm 3 or 4)",
            Tool::Kubectl => "talks to the cluster",
            Tool::KubectlAi => "answers cluster questions in the AI showcase",
            Tool::Kagent => "runs the kagent k8s-agent in the AI showcase",
            Tool::Gordon => "asks Docker's AI agent in the AI showcase",
        }
    }

    pub fn hints(self) -> InstallHint {
        match self {
            Tool::Cargo => InstallHint {
                linux: "curl --proto '=https' -sSf https://sh.rustup.rs | sh",
                macos: "curl --proto '=https' -sSf https://sh.rustup.rs | sh",
            },
            Tool::Docker => InstallHint {
                linux: "install Docker Engine (https://docs.docker.com/engine/install/) or use podman",
                macos: "brew install --cask docker (Docker Desktop), or brew install colima docker",
            },
            Tool::Podman => InstallHint {
                linux: "sudo apt-get install -y podman (Debian/Ubuntu) or sudo dnf install -y podman",
                macos: "brew install podman && podman machine init && podman machine start",
            },
            Tool::Minikube => InstallHint {
                linux: "curl -LO https://storage.googleapis.com/minikube/releases/latest/minikube-linux-amd64 && sudo install minikube-linux-amd64 /usr/local/bin/minikube",
                macos: "brew install minikube",
            },
            Tool::Helm => InstallHint {
                linux: "curl -fsSL https://raw.githubusercontent.com/helm/helm/main/scripts/get-helm-3 | bash",
                macos: "brew install helm",
            },
            Tool::Kubectl => InstallHint {
                linux: "curl -LO \"https://dl.k8s.io/release/$(curl -Ls https://dl.k8s.io/release/stable.txt)/bin/linux/amd64/kubectl\" && sudo install kubectl /usr/local/bin/kubectl",
                macos: "brew install kubectl",
            },
            Tool::KubectlAi => InstallHint {
                linux: "curl -sSL https://raw.githubusercontent.com/GoogleCloudPlatform/kubectl-ai/main/install.sh | bash",
                macos: "brew install kubectl-ai",
            },
            Tool::Kagent => InstallHint {
                linux: "curl -fsSL https://raw.githubusercontent.com/kagent-dev/kagent/refs/heads/main/scripts/get-kagent | bash",
                macos: "brew install kagent",
            },
            Tool::Gordon => InstallHint {
                linux: "Gordon ships with Docker Desktop 4.38+: install it, sign in, and enable Docker AI in Settings > Beta features",
                macos: "Gordon ships with Docker Desktop 4.38+: sign in and enable Docker AI in Settings > Beta features",
            },
        }
    }

    /// The install hint for the OS xtask runs on.
    pub fn install_hint(self) -> &'static str {
        let hints = self.hints();
        if cfg!(target_os = "macos") { hints.macos } else { hints.linux }
    }
}

/// What `doctor` and the phases know about one tool on this machine.
#[derive(Clone, Debug)]
pub struct ToolStatus {
    pub tool: Tool,
    pub found: bool,
    pub path: Option<String>,
    pub version: Option<Version>,
    /// Why the tool is not usable although it was found (version probe failed, too old).
    pub problem: Option<String>,
}

impl ToolStatus {
    /// Found, and not older than the minimum.
    pub fn usable(&self) -> bool {
        self.found && self.problem.is_none()
    }

    pub fn to_json(&self) -> serde_json::Value {
        let hints = self.tool.hints();
        json!({
            "name": self.tool.name(),
            "program": self.tool.program(),
            "found": self.found,
            "usable": self.usable(),
            "path": self.path,
            "version": self.version.map(|v| v.to_string()),
            "minimum": self.tool.minimum().map(|v| v.to_string()),
            "problem": self.problem,
            "purpose": self.tool.purpose(),
            "install": { "linux": hints.linux, "macos": hints.macos },
        })
    }
}

/// A tool's version probe, built where the `Shell` lives (it is not `Sync`), run on any thread.
pub struct PendingTool {
    tool: Tool,
    path: Option<String>,
    cmd: Option<Cmd>,
}

/// Where the ci/ scripts installed `program` in this project (target/ci/bin, or the Python tools'
/// target/ci/venv/bin), looked at before PATH so nobody has to change PATH after `bash ci/helm.sh`.
pub fn ci_installed(root: &Utf8Path, program: &str) -> Option<Utf8PathBuf> {
    let ci = root.join("target/ci");
    [ci.join("bin"), ci.join("venv/bin")].into_iter().map(|dir| dir.join(program)).find(|path| path.is_file())
}

pub fn prepare(sh: &Shell, tool: Tool) -> PendingTool {
    let path = which::which(tool.program()).ok().map(|path| path.display().to_string());
    let cmd = path.as_ref().map(|_| {
        Cmd::from(sh.cmd(tool.program()).args(tool.version_args()))
            .read_only()
            .quiet()
            .allow_failure()
            .timeout(Duration::from_secs(15))
    });
    PendingTool { tool, path, cmd }
}

impl PendingTool {
    pub fn finish(self, runner: &Runner) -> ToolStatus {
        match self.cmd {
            None => ToolStatus { tool: self.tool, found: false, path: None, version: None, problem: None },
            Some(cmd) => interpret(self.tool, self.path, runner.output(cmd)),
        }
    }
}

fn interpret(tool: Tool, path: Option<String>, output: anyhow::Result<crate::runner::Output>) -> ToolStatus {
    let mut status = ToolStatus { tool, found: true, path, version: None, problem: None };
    let output = match output {
        Ok(output) => output,
        Err(err) => {
            status.problem = Some(format!("version check failed: {}", first_line(&err.to_string())));
            return status;
        }
    };
    let text = format!("{}\n{}", output.stdout, output.stderr);
    if !output.success() {
        // `docker ai` on a Docker without the Desktop plugin.
        let missing_plugin = tool == Tool::Gordon
            && (text.contains("is not a docker command") || text.contains("unknown command"));
        if missing_plugin {
            status.found = false;
            status.problem = Some("this docker has no `ai` plugin".into());
        } else {
            status.problem = Some(format!(
                "`{} {}` failed: {}",
                tool.program(),
                tool.version_args().join(" "),
                first_line(text.trim())
            ));
        }
        return status;
    }
    status.version = Version::find_in(&text);
    if let (Some(found), Some(minimum)) = (status.version, tool.minimum())
        && found < minimum
    {
        status.problem = Some(format!("version {found} is older than the minimum {minimum}"));
    }
    status
}

fn first_line(text: &str) -> &str {
    text.lines().find(|line| !line.trim().is_empty()).unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Output;

    fn ok(stdout: &str) -> anyhow::Result<Output> {
        Ok(Output { status: Some(0), stdout: stdout.into(), ..Output::default() })
    }

    #[test]
    fn too_old_tools_are_found_but_not_usable() {
        let status = interpret(Tool::Helm, Some("/bin/helm".into()), ok("v3.8.0+g1\n"));
        assert!(status.found && !status.usable());
        assert_eq!(status.problem.unwrap(), "version 3.8.0 is older than the minimum 3.12.0");
        let helm4 = interpret(Tool::Helm, Some("/bin/helm".into()), ok("v4.1.4+g05fa379\n"));
        assert!(helm4.usable() && helm4.version.unwrap().major == 4);
    }

    #[test]
    fn docker_without_the_ai_plugin_means_gordon_is_missing() {
        let out = Ok(Output {
            status: Some(1),
            stderr: "docker: 'ai' is not a docker command.\nSee 'docker --help'\n".into(),
            ..Output::default()
        });
        let status = interpret(Tool::Gordon, Some("/usr/bin/docker".into()), out);
        assert!(!status.found);
        assert!(status.to_json()["install"]["macos"].as_str().unwrap().contains("Docker Desktop"));
    }

    #[test]
    fn program_names_map_to_tools() {
        assert_eq!(Tool::by_program("/usr/local/bin/docker"), Some(Tool::Docker));
        assert_eq!(Tool::by_program("kubectl-ai"), Some(Tool::KubectlAi));
        assert_eq!(Tool::by_program("sh"), None);
    }
}
