//! The checks `polish` runs, each a function from the project to a verdict. The linters are the
//! ones the real-tool suites use, found where `ci/` installs them (target/ci) or on PATH.

use anyhow::Result;
use camino::{Utf8Path, Utf8PathBuf};
use xshell::cmd;

use super::{Verdict, readme};
use crate::chart;
use crate::commands::{helm_gen, test};
use crate::config::{self, DeployConfig};
use crate::context::Context;
use crate::runner::Cmd;
use crate::tools;

pub struct Check {
    pub name: &'static str,
    pub run: fn(&Context) -> Verdict,
}

/// In the order they run: the quick ones first, the test suites last.
pub const ALL: [Check; 10] = [
    Check { name: "fmt", run: fmt },
    Check { name: "clippy", run: clippy },
    Check { name: "readme", run: readme_commands },
    Check { name: "helm-gen", run: chart_in_sync },
    Check { name: "chart-lint", run: chart_lint },
    Check { name: "schema", run: schema },
    Check { name: "checkov", run: checkov },
    Check { name: "hadolint", run: hadolint },
    Check { name: "shellcheck", run: shellcheck },
    Check { name: "test", run: tests },
];

pub const NAMES: [&str; 10] = [
    "fmt",
    "clippy",
    "readme",
    "helm-gen",
    "chart-lint",
    "schema",
    "checkov",
    "hadolint",
    "shellcheck",
    "test",
];

/// The Kubernetes versions the chart is validated against: the oldest we support and the newest.
const KUBE_VERSIONS: [&str; 2] = ["1.28.0", "1.35.0"];

const HELM_FIX: &str = "bash ci/helm.sh installs Helm 3 and 4 into target/ci/bin";
const PYTHON_FIX: &str = "bash ci/python-tools.sh installs it into target/ci/venv";

/// Runs `cmd`, its output streamed; a failure is the check's failure, in the runner's words.
fn verdict(cx: &Context, cmd: Cmd, evidence: String) -> Verdict {
    match cx.run(cmd) {
        Ok(_) => Verdict::Pass(evidence),
        Err(err) => Verdict::Fail(format!("{err:#}")),
    }
}

/// A tool where `ci/` installs it, else on PATH.
fn tool(cx: &Context, name: &str) -> Option<Utf8PathBuf> {
    tools::ci_installed(&cx.root, name)
        .or_else(|| which::which(name).ok().and_then(|path| Utf8PathBuf::from_path_buf(path).ok()))
}

fn fmt(cx: &Context) -> Verdict {
    let cmd = Cmd::from(cmd!(cx.sh, "cargo fmt --all -- --check")).hint("`cargo fmt --all` rewrites them");
    verdict(cx, cmd, "`cargo fmt --all -- --check`: every file formatted".to_owned())
}

fn clippy(cx: &Context) -> Verdict {
    let cmd = Cmd::from(cmd!(cx.sh, "cargo clippy --workspace --all-targets -- -D warnings"))
        .timeout(std::time::Duration::from_secs(60 * 60));
    verdict(cx, cmd, "`cargo clippy --workspace --all-targets -- -D warnings`: no warning".to_owned())
}

fn readme_commands(cx: &Context) -> Verdict {
    match readme::check(&cx.root) {
        Err(err) => Verdict::Fail(format!("{err:#}")),
        Ok(report) if report.problems.is_empty() => Verdict::Pass(format!(
            "all {} `cargo xtask …` command lines in {} parse as this CLI's commands",
            report.commands,
            report.files.join(", ")
        )),
        Ok(report) => Verdict::Fail(report.problems.join("\n")),
    }
}

fn chart_in_sync(cx: &Context) -> Verdict {
    let compared = helm_gen::generate(&cx.root).and_then(|chart| {
        let changes = helm_gen::compare(&cx.root, &chart)?;
        Ok((chart, changes))
    });
    match compared {
        Err(err) => Verdict::Fail(format!("{err:#}")),
        Ok((chart, changes)) if changes.is_empty() => {
            Verdict::Pass(format!("{} matches deploy/todo.toml ({} files)", chart.dir, chart.files.len()))
        }
        Ok((chart, changes)) => Verdict::Fail(format!(
            "{} differs from what deploy/todo.toml generates; `cargo xtask helm-gen` rewrites it:\n{}",
            chart.dir,
            changes.iter().map(|change| format!("  {change}")).collect::<Vec<_>>().join("\n")
        )),
    }
}

/// The helms to lint with: `helm3` and `helm4` as ci/helm.sh installs them, else `helm` for the
/// major it is.
fn helms(cx: &Context) -> Vec<(String, Utf8PathBuf)> {
    let named: Vec<(String, Utf8PathBuf)> =
        ["helm3", "helm4"].into_iter().filter_map(|name| Some((name.to_owned(), tool(cx, name)?))).collect();
    if !named.is_empty() {
        return named;
    }
    tool(cx, "helm").map(|path| vec![("helm".to_owned(), path)]).unwrap_or_default()
}

/// An environment's name and the values arguments deploy renders it with.
type EnvironmentValues = (String, Vec<String>);

/// The chart, and per environment its values as deploy passes them (pushed images by digest).
fn environments(cx: &Context) -> Result<(Utf8PathBuf, Vec<EnvironmentValues>)> {
    let base = DeployConfig::load(&cx.root)?;
    let mut envs = Vec::new();
    for env in config::environments(&cx.root)? {
        let (config, _) = DeployConfig::load_env(&cx.root, Some(&env))?;
        let mut values = vec!["--values".to_owned(), chart::environment_values(&config, &env).to_string()];
        if env != config::DEFAULT_ENVIRONMENT {
            // A digest as deploy sets it after pushing, so the rules that want one can hold.
            for component in ["api", "web"] {
                values.push("--set".to_owned());
                values.push(format!("{component}.image.digest=sha256:{}", "0".repeat(64)));
            }
        }
        envs.push((env, values));
    }
    Ok((chart::chart_dir(&base), envs))
}

fn chart_lint(cx: &Context) -> Verdict {
    let helms = helms(cx);
    if helms.is_empty() {
        return Verdict::Skip(format!("no helm found; {HELM_FIX}"));
    }
    let (chart, envs) = match environments(cx) {
        Ok(found) => found,
        Err(err) => return Verdict::Fail(format!("{err:#}")),
    };
    for (_, helm) in &helms {
        for (_, values) in &envs {
            let cmd = Cmd::from(cmd!(cx.sh, "{helm} lint --strict {chart} {values...}"));
            if let Err(err) = cx.run(cmd) {
                return Verdict::Fail(format!("{err:#}"));
            }
        }
    }
    let names: Vec<&str> = helms.iter().map(|(name, _)| name.as_str()).collect();
    let envs: Vec<&str> = envs.iter().map(|(env, _)| env.as_str()).collect();
    let mut evidence =
        format!("`helm lint --strict` with {}: {} clean", names.join(" and "), envs.join(", "));
    if names.len() < 2 {
        evidence.push_str(&format!(" (one helm only: {HELM_FIX})"));
    }
    Verdict::Pass(evidence)
}

/// `helm template` of each environment into the state directory, as deploy would install it.
fn render(cx: &Context, helm: &Utf8Path, kube: &str) -> Result<Vec<(String, Utf8PathBuf)>> {
    let (chart, envs) = environments(cx)?;
    let dir = cx.state_dir().join("polish");
    std::fs::create_dir_all(&dir)?;
    let mut files = Vec::new();
    for (env, values) in envs {
        let cmd =
            cmd!(cx.sh, "{helm} template todo {chart} --namespace todo --kube-version {kube} {values...}");
        let manifests = cx.read(Cmd::from(cmd).read_only().quiet())?;
        let file = dir.join(format!("{env}-{kube}.yaml"));
        std::fs::write(&file, manifests)?;
        files.push((env, file));
    }
    Ok(files)
}

fn schema(cx: &Context) -> Verdict {
    let Some((_, helm)) = helms(cx).pop() else {
        return Verdict::Skip(format!("no helm to render the chart; {HELM_FIX}"));
    };
    let Some(validate) = tool(cx, "kubernetes-validate") else {
        return Verdict::Skip(format!("kubernetes-validate is not installed; {PYTHON_FIX}"));
    };
    let mut checked = 0;
    for kube in KUBE_VERSIONS {
        let files = match render(cx, &helm, kube) {
            Ok(files) => files,
            Err(err) => return Verdict::Fail(format!("{err:#}")),
        };
        for (_, file) in files {
            let cmd = cmd!(cx.sh, "{validate} --kubernetes-version {kube} --strict --quiet {file}");
            if let Err(err) = cx.run(Cmd::from(cmd)) {
                return Verdict::Fail(format!("{err:#}"));
            }
            checked += 1;
        }
    }
    Verdict::Pass(format!(
        "`kubernetes-validate --strict`: {checked} renderings (every environment, Kubernetes {}) valid",
        KUBE_VERSIONS.join(" and ")
    ))
}

fn checkov(cx: &Context) -> Verdict {
    let Some((_, helm)) = helms(cx).pop() else {
        return Verdict::Skip(format!("no helm to render the chart; {HELM_FIX}"));
    };
    let Some(checkov) = tool(cx, "checkov") else {
        return Verdict::Skip(format!("checkov is not installed; {PYTHON_FIX}"));
    };
    let files = match render(cx, &helm, KUBE_VERSIONS[1]) {
        Ok(files) => files,
        Err(err) => return Verdict::Fail(format!("{err:#}")),
    };
    let (mut passed, mut failed) = (0, Vec::new());
    for (env, file) in &files {
        let cmd = cmd!(cx.sh, "{checkov} --skip-download --framework kubernetes --output json --file {file}")
            .env("BC_SKIP_MAPPING", "TRUE");
        // checkov exits 1 when a check fails: its report says which.
        let output = match cx.output(Cmd::from(cmd).read_only().quiet().allow_failure()) {
            Ok(output) => output,
            Err(err) => return Verdict::Fail(format!("{err:#}")),
        };
        let Ok(report) = serde_json::from_str::<serde_json::Value>(&output.stdout) else {
            return Verdict::Fail(format!("checkov printed no JSON report for {env}:\n{}", output.stderr));
        };
        passed += report["summary"]["passed"].as_u64().unwrap_or(0);
        for check in report["results"]["failed_checks"].as_array().into_iter().flatten() {
            failed.push(format!(
                "  {env}: {} {} ({})",
                check["check_id"].as_str().unwrap_or("?"),
                check["resource"].as_str().unwrap_or("?"),
                check["check_name"].as_str().unwrap_or("?")
            ));
        }
    }
    if failed.is_empty() {
        Verdict::Pass(format!(
            "checkov on the rendered chart ({} environments): {passed} passed, 0 failed",
            files.len()
        ))
    } else {
        Verdict::Fail(format!("checkov: {} failed checks:\n{}", failed.len(), failed.join("\n")))
    }
}

fn hadolint(cx: &Context) -> Verdict {
    let Some(hadolint) = tool(cx, "hadolint") else {
        return Verdict::Skip(format!("hadolint is not installed; {PYTHON_FIX}"));
    };
    let dockerfiles: Vec<&str> = crate::images::IMAGES.iter().map(|image| image.dockerfile).collect();
    let evidence = format!("`hadolint {}`: no finding", dockerfiles.join(" "));
    verdict(cx, Cmd::from(cmd!(cx.sh, "{hadolint} {dockerfiles...}")), evidence)
}

/// Every shell script of ours: the onboarding script, the image helpers, CI's scripts and entry.
fn shell_scripts(root: &Utf8Path) -> Vec<Utf8PathBuf> {
    let mut scripts = vec![Utf8PathBuf::from(".ci/run")];
    for dir in ["infra/scripts", "infra/docker", "ci", "ci/kube"] {
        let Ok(entries) = root.join(dir).read_dir_utf8() else { continue };
        let mut found: Vec<Utf8PathBuf> = entries
            .flatten()
            .filter(|entry| entry.path().extension() == Some("sh"))
            .map(|entry| Utf8PathBuf::from(dir).join(entry.file_name()))
            .collect();
        found.sort();
        scripts.extend(found);
    }
    scripts
}

fn shellcheck(cx: &Context) -> Verdict {
    let Some(shellcheck) = tool(cx, "shellcheck") else {
        return Verdict::Skip(format!("shellcheck is not installed; {PYTHON_FIX}"));
    };
    let scripts = shell_scripts(&cx.root);
    let evidence = format!("`shellcheck`: {} scripts clean", scripts.len());
    verdict(cx, Cmd::from(cmd!(cx.sh, "{shellcheck} --external-sources {scripts...}")), evidence)
}

fn tests(cx: &Context) -> Verdict {
    match test::run(cx, &test::Args::default()) {
        Ok(()) => Verdict::Pass(
            "`cargo xtask test`: the workspace's tests and every real-tool suite whose tools are here passed"
                .to_owned(),
        ),
        Err(err) => Verdict::Fail(format!("{err:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_has_its_name_listed_for_only() {
        let names: Vec<&str> = ALL.iter().map(|check| check.name).collect();
        assert_eq!(names, NAMES);
    }
}
