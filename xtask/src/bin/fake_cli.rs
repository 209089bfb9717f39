//! Test-only stand-in for the CLIs xtask drives: docker, podman, minikube, helm, kubectl,
//! kubectl-ai, kagent, cargo. Symlink it under a tool's name into a directory placed on PATH; it
//! then acts as that tool.
//!
//! Each call is appended to `$FAKE_CLI_LOG` as one JSON line: the tool, its argv, the length and
//! a hash of its stdin (never the content: tests feed secrets through stdin), the environment
//! variables the scenario asks for, and which rule answered.
//!
//! Answers come from the TOML scenario at `$FAKE_CLI_SCENARIO`:
//!
//! ```toml
//! record_env = ["DOCKER_HOST"]     # environment variables to record
//!
//! [[rule]]
//! tool = "helm"                    # which tool this rule answers for
//! args = ["version", "--short"]    # an argv prefix; "*" matches any one argument, and
//!                                  # "todo-api:*" any argument starting with "todo-api:"
//! stdout = "v3.17.3+ge4da497\n"
//! stderr = ""
//! exit = 0
//! times = 1                        # optional: answer only this many times, then fall through
//! sleep_ms = 0                     # optional: answer late (to test timeouts)
//! echo_stdin = false               # optional: print stdin to stdout (to test redaction)
//! ```
//!
//! The first matching rule answers. With no matching rule the fake exits 99 and says so on
//! stderr, so a test that forgot a rule fails loudly.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    #[serde(default)]
    record_env: Vec<String>,
    #[serde(default)]
    rule: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    tool: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    stdout: String,
    #[serde(default)]
    stderr: String,
    #[serde(default)]
    exit: u8,
    times: Option<usize>,
    #[serde(default)]
    sleep_ms: u64,
    #[serde(default)]
    echo_stdin: bool,
}

impl Rule {
    fn matches(&self, tool: &str, argv: &[String]) -> bool {
        self.tool == tool
            && self.args.len() <= argv.len()
            && self.args.iter().zip(argv).all(|(want, got)| match want.strip_suffix('*') {
                Some(prefix) => got.starts_with(prefix),
                None => want == got,
            })
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args();
    let argv0 = args.next().unwrap_or_default();
    let tool = argv0.rsplit('/').next().unwrap_or(&argv0).to_owned();
    let argv: Vec<String> = args.collect();

    let scenario_path = match std::env::var("FAKE_CLI_SCENARIO") {
        Ok(path) => path,
        Err(_) => {
            eprintln!("fake-cli: FAKE_CLI_SCENARIO is not set (this binary only serves tests)");
            return ExitCode::from(97);
        }
    };
    let scenario: Scenario = match std::fs::read_to_string(&scenario_path)
        .map_err(|err| err.to_string())
        .and_then(|text| toml::from_str(&text).map_err(|err| err.to_string()))
    {
        Ok(scenario) => scenario,
        Err(err) => {
            eprintln!("fake-cli: cannot read scenario {scenario_path}: {err}");
            return ExitCode::from(98);
        }
    };

    let mut stdin = Vec::new();
    if !std::io::stdin().is_terminal() {
        let _ = std::io::stdin().read_to_end(&mut stdin);
    }

    let log_path = std::env::var("FAKE_CLI_LOG").ok();
    let earlier = log_path.as_deref().map(read_log).unwrap_or_default();
    let used = |index: usize| earlier.iter().filter(|call| call["rule"] == index).count();
    let chosen = scenario.rule.iter().enumerate().find(|(index, rule)| {
        rule.matches(&tool, &argv) && rule.times.is_none_or(|times| used(*index) < times)
    });

    if let Some(log_path) = &log_path {
        let env: BTreeMap<&str, Option<String>> =
            scenario.record_env.iter().map(|key| (key.as_str(), std::env::var(key).ok())).collect();
        let record = serde_json::json!({
            "tool": tool,
            "argv": argv,
            "stdin_len": stdin.len(),
            "stdin_hash": format!("{:016x}", fnv1a(&stdin)),
            "env": env,
            "rule": chosen.map(|(index, _)| index),
        });
        // One write per record on an O_APPEND file: parallel calls never interleave.
        let line = format!("{record}\n");
        let appended = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(err) = appended {
            eprintln!("fake-cli: cannot append to {log_path}: {err}");
            return ExitCode::from(98);
        }
    }

    let Some((_, rule)) = chosen else {
        eprintln!("fake-cli: no rule in {scenario_path} answers `{tool} {}`", argv.join(" "));
        return ExitCode::from(99);
    };
    if rule.sleep_ms > 0 {
        std::thread::sleep(Duration::from_millis(rule.sleep_ms));
    }
    let mut out = std::io::stdout();
    let _ = out.write_all(rule.stdout.as_bytes());
    if rule.echo_stdin {
        let _ = out.write_all(&stdin);
    }
    let _ = out.flush();
    let _ = std::io::stderr().write_all(rule.stderr.as_bytes());
    ExitCode::from(rule.exit)
}

fn read_log(path: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x100000001b3))
}
