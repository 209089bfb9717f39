//! A scratch machine for xtask's flow tests: a project root, and a PATH holding only the fake CLI
//! (`src/bin/fake_cli.rs`) under the names of the tools a test installs. Tests script the tools'
//! answers, run the real `xtask` binary, and read back every call the tools received.
//!
//! Adding a scenario for a new phase: start from [`World::healthy`] (or [`World::new`] plus
//! [`World::install`]), script the calls the phase makes with [`World::on`], run it with
//! [`World::xtask`], and assert on [`World::calls`] and the output.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

pub const TOOLS: [&str; 8] =
    ["cargo", "docker", "podman", "minikube", "helm", "kubectl", "kubectl-ai", "kagent"];

/// What a fake tool answers to one call.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Reply {
    stdout: String,
    stderr: String,
    exit: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    times: Option<usize>,
    sleep_ms: u64,
    echo_stdin: bool,
}

impl Reply {
    pub fn ok(stdout: &str) -> Reply {
        Reply { stdout: stdout.to_owned(), ..Reply::default() }
    }

    pub fn fail(exit: u8, stderr: &str) -> Reply {
        Reply { stderr: stderr.to_owned(), exit, ..Reply::default() }
    }

    pub fn exit(mut self, exit: u8) -> Reply {
        self.exit = exit;
        self
    }

    pub fn stderr(mut self, stderr: &str) -> Reply {
        self.stderr = stderr.to_owned();
        self
    }

    pub fn sleep_ms(mut self, ms: u64) -> Reply {
        self.sleep_ms = ms;
        self
    }

    pub fn echo_stdin(mut self) -> Reply {
        self.echo_stdin = true;
        self
    }
}

#[derive(Serialize)]
struct Rule {
    tool: String,
    args: Vec<String>,
    #[serde(flatten)]
    reply: Reply,
}

#[derive(Serialize)]
struct Scenario<'a> {
    record_env: &'a [String],
    rule: &'a [Rule],
}

/// One call a fake tool received.
#[derive(Debug, Clone)]
pub struct Call {
    pub tool: String,
    pub argv: Vec<String>,
    pub stdin_len: u64,
    pub stdin_hash: String,
    pub env: BTreeMap<String, Option<String>>,
}

impl Call {
    /// `tool arg arg ...`, for readable assertions.
    pub fn line(&self) -> String {
        std::iter::once(self.tool.as_str())
            .chain(self.argv.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn success(&self) -> bool {
        self.code == 0
    }

    /// Both streams, for "appears anywhere" assertions.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

pub struct World {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    bin: PathBuf,
    log: PathBuf,
    scenario: PathBuf,
    /// Highest priority first: later `on` calls override earlier ones.
    rules: Vec<Rule>,
    record_env: Vec<String>,
    env: Vec<(String, String)>,
    /// Calls before this index were cleared from the test's view (the fakes still count them).
    calls_seen: std::cell::Cell<usize>,
}

impl World {
    /// A project root with the repository's deploy description (deploy/: todo.toml, environments,
    /// .env.example), and no tools at all.
    pub fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(root.join("deploy")).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        std::fs::copy(repo.join("deploy/todo.toml"), root.join("deploy/todo.toml")).unwrap();
        std::fs::copy(repo.join("deploy/.env.example"), root.join("deploy/.env.example")).unwrap();
        std::fs::create_dir_all(root.join("deploy/environments")).unwrap();
        for entry in std::fs::read_dir(repo.join("deploy/environments")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, root.join("deploy/environments").join(path.file_name().unwrap())).unwrap();
        }
        World {
            log: dir.path().join("calls.jsonl"),
            scenario: dir.path().join("scenario.toml"),
            _dir: dir,
            root,
            bin,
            rules: Vec::new(),
            record_env: Vec::new(),
            env: Vec::new(),
            calls_seen: std::cell::Cell::new(0),
        }
    }

    /// Every tool installed, at a supported version; docker's daemon and podman answer; the
    /// minikube profile is running.
    pub fn healthy() -> World {
        let mut world = World::new();
        for tool in TOOLS {
            world.install(tool);
        }
        world
            .on("cargo", &["--version"], Reply::ok("cargo 1.95.0 (f2d3ce0bd 2026-03-21)\n"))
            .on("docker", &["--version"], Reply::ok("Docker version 28.2.2, build e6534b4\n"))
            .on("docker", &["version", "--format"], Reply::ok("28.2.2\n"))
            .on("docker", &["ai", "version"], Reply::ok("Docker AI Agent (Gordon) v1.9.11\n"))
            .on("podman", &["--version"], Reply::ok("podman version 4.3.1\n"))
            .on("podman", &["image", "ls", "--quiet"], Reply::ok(""))
            .on("minikube", &["version", "--short"], Reply::ok("v1.34.0\n"))
            .on(
                "minikube",
                &["status", "-p", "todo", "-o", "json"],
                Reply::ok(r#"{"Name":"todo","Host":"Running","Kubelet":"Running","APIServer":"Running","Kubeconfig":"Configured","Worker":false}"#),
            )
            .on("helm", &["version", "--short"], Reply::ok("v3.17.3+ge4da497\n"))
            .on("kubectl", &["version", "--client"], Reply::ok("Client Version: v1.31.0\nKustomize Version: v5.4.2\n"))
            .on("kubectl-ai", &["version"], Reply::ok("version: 0.0.26\ncommit: 6f1e5d2\ndate: 2026-09-30\n"))
            .on("kagent", &["version"], Reply::ok("{\"kagent_version\":\"0.7.4\",\"git_commit\":\"9c1d2\"}\n"));
        world
    }

    /// A project that builds images: the real Dockerfiles, two service crates, and rustc, cargo, sh
    /// and docker answering as a successful build does (whether an image exists is up to the test).
    pub fn with_buildable_services(&mut self) -> &mut World {
        self.install("rustc").install("sh");
        self.repo_files(&[
            "infra/docker/api.Dockerfile",
            "infra/docker/web.Dockerfile",
            "infra/docker/stage-rootfs.sh",
            ".dockerignore",
        ])
        .file("Cargo.toml", "[workspace]\nmembers = [\"services/api\", \"services/web\"]\n")
        .file("Cargo.lock", "version = 4\n")
        .file("services/api/src/main.rs", "fn main() {}\n")
        .file("services/web/src/main.rs", "fn main() {}\n")
        .on("rustc", &["-V"], Reply::ok("rustc 1.95.0 (59807616e 2026-04-14)\n"))
        .on("cargo", &["build"], Reply::ok(""))
        .on("sh", &[], Reply::ok(""))
        .on("docker", &["build"], Reply::ok("Successfully built 1a2b3c\n"))
        .on("docker", &["image", "inspect", "--format", "{{.Size}}"], Reply::ok("9876543\n"))
    }

    pub fn install(&mut self, tool: &str) -> &mut World {
        let link = self.bin.join(tool);
        if !link.exists() {
            std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_fake-cli"), link).unwrap();
        }
        self
    }

    pub fn uninstall(&mut self, tool: &str) -> &mut World {
        let _ = std::fs::remove_file(self.bin.join(tool));
        self
    }

    /// `tool` answers calls whose argv starts with `args` with `reply`, overriding what earlier
    /// rules said. `"*"` matches any one argument; `"todo-api:*"` any argument with that prefix.
    pub fn on(&mut self, tool: &str, args: &[&str], reply: Reply) -> &mut World {
        let rule = Rule { tool: tool.to_owned(), args: args.iter().map(|a| a.to_string()).collect(), reply };
        self.rules.insert(0, rule);
        self
    }

    /// The first calls get `replies` in order, one each; the last reply then answers every later
    /// call.
    pub fn on_seq(&mut self, tool: &str, args: &[&str], replies: Vec<Reply>) -> &mut World {
        let count = replies.len();
        let rules: Vec<Rule> = replies
            .into_iter()
            .enumerate()
            .map(|(i, mut reply)| {
                reply.times = (i + 1 < count).then_some(1);
                Rule { tool: tool.to_owned(), args: args.iter().map(|a| a.to_string()).collect(), reply }
            })
            .collect();
        self.rules.splice(0..0, rules);
        self
    }

    pub fn record_env(&mut self, key: &str) -> &mut World {
        self.record_env.push(key.to_owned());
        self
    }

    pub fn env(&mut self, key: &str, value: &str) -> &mut World {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Copies files of this repository into the world's project, at the same paths.
    pub fn repo_files(&mut self, rels: &[&str]) -> &mut World {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        for rel in rels {
            let text = std::fs::read_to_string(repo.join(rel)).unwrap();
            self.file(rel, &text);
        }
        self
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel)).unwrap_or_else(|err| panic!("{rel}: {err}"))
    }

    pub fn file(&mut self, rel: &str, contents: &str) -> &mut World {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    /// Runs the real xtask binary in this world: its PATH holds only the fakes, its environment
    /// only what the world sets.
    pub fn xtask(&self, args: &[&str]) -> Run {
        let scenario = Scenario { record_env: &self.record_env, rule: &self.rules };
        std::fs::write(&self.scenario, toml::to_string(&scenario).unwrap()).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .env_clear()
            .env("PATH", &self.bin)
            .env("HOME", self.root.parent().unwrap().join("home"))
            .env("XTASK_PROJECT_ROOT", &self.root)
            .env("FAKE_CLI_SCENARIO", &self.scenario)
            .env("FAKE_CLI_LOG", &self.log)
            .env("NO_COLOR", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.root)
            .output()
            .unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Every call the fake tools received since the last [`World::clear_calls`], in order.
    pub fn calls(&self) -> Vec<Call> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .skip(self.calls_seen.get())
            .map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                Call {
                    tool: value["tool"].as_str().unwrap().to_owned(),
                    argv: value["argv"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|a| a.as_str().unwrap().to_owned())
                        .collect(),
                    stdin_len: value["stdin_len"].as_u64().unwrap(),
                    stdin_hash: value["stdin_hash"].as_str().unwrap().to_owned(),
                    env: serde_json::from_value(value["env"].clone()).unwrap(),
                }
            })
            .collect()
    }

    /// Hides the calls so far from [`World::calls`]; the fakes keep counting them for `on_seq`.
    pub fn clear_calls(&self) {
        let total = std::fs::read_to_string(&self.log).unwrap_or_default().lines().count();
        self.calls_seen.set(total);
    }
}

/// This repository's cargo target dir, where xtask keeps its state (`CARGO_TARGET_DIR` moves it).
pub fn workspace_target() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    match std::env::var("CARGO_TARGET_DIR") {
        Ok(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// Replaces durations (`0.0s`, `1m05s`) so snapshots do not depend on the machine's speed.
pub fn normalize_durations(text: &str) -> String {
    let mut out = String::new();
    for token in text.split_inclusive(|c: char| c.is_whitespace() || c == '(' || c == ')') {
        let (word, tail) =
            token.split_at(token.trim_end_matches(|c: char| c.is_whitespace() || c == '(' || c == ')').len());
        let is_duration = word.ends_with('s')
            && word.len() > 1
            && word[..word.len() - 1].chars().all(|c| c.is_ascii_digit() || c == '.' || c == 'm' || c == 'h');
        if is_duration && word.starts_with(|c: char| c.is_ascii_digit()) {
            out.push_str("<T>");
        } else {
            out.push_str(word);
        }
        out.push_str(tail);
    }
    out
}

pub mod fresh;
pub mod model;
pub mod up;
