//! Helm as deploy drives it: which major is installed and the flags that fit it, and a release's
//! state, so that one left `pending-*` by an interrupted run is recovered before the next upgrade.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;
use xshell::cmd;

use crate::context::Context;
use crate::kube::Target;
use crate::runner::Cmd;
use crate::version::Version;

/// Helm 4 renamed `--atomic` and made `--wait` take a strategy; each major refuses the other's
/// form, so the flags follow the helm found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Major {
    V3,
    V4,
}

impl Major {
    /// `helm version --short` (`v3.17.3+ge4da497`, `v4.1.4+g...`).
    pub fn detect(cx: &Context) -> Result<Major> {
        let text = cx.read(Cmd::from(cmd!(cx.sh, "helm version --short")).read_only().quiet())?;
        Major::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Major> {
        match Version::find_in(text).map(|v| v.major) {
            Some(3) => Ok(Major::V3),
            Some(4) => Ok(Major::V4),
            Some(other) => {
                bail!("helm {other} is not supported (found `{}`); install Helm 3.14+ or 4", text.trim())
            }
            None => bail!("could not read helm's version from `{}`", text.trim()),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Major::V3 => "Helm 3",
            Major::V4 => "Helm 4",
        }
    }

    /// Wait for the release's resources, and roll back to the previous revision when the wait
    /// fails or times out, so a broken upgrade leaves the old version serving.
    pub fn upgrade_flags(self) -> [&'static str; 2] {
        match self {
            Major::V3 => ["--atomic", "--wait"],
            Major::V4 => ["--rollback-on-failure", "--wait=watcher"],
        }
    }

    /// `--wait` for commands other than upgrade (rollback).
    pub fn wait_flag(self) -> &'static str {
        match self {
            Major::V3 => "--wait",
            Major::V4 => "--wait=watcher",
        }
    }
}

/// `helm status -o json`, the parts deploy reads.
#[derive(Debug, Deserialize)]
pub struct Release {
    pub info: Info,
    pub version: u32,
}

#[derive(Debug, Deserialize)]
pub struct Info {
    pub status: String,
}

impl Release {
    /// An install, upgrade or rollback that never finished: helm refuses every later upgrade
    /// ("another operation (install/upgrade/rollback) is in progress") until it is resolved.
    pub fn pending(&self) -> bool {
        self.info.status.starts_with("pending-")
    }
}

/// The release's state; `None` when it does not exist.
pub fn status(cx: &Context, target: &Target) -> Result<Option<Release>> {
    let (scope, release) = (target.helm_args(), &target.release);
    let query = cmd!(cx.sh, "helm status {release} {scope...} --output json");
    let output = cx.output(Cmd::from(query).read_only().quiet().allow_failure())?;
    if !output.success() {
        if output.stderr.contains("not found") {
            return Ok(None);
        }
        // A dry run plans against a cluster that may not run yet (minikube start is only planned).
        if cx.runner.dry_run() {
            cx.ui.detail(&format!(
                "  (helm status: {}; planning as if the release were not installed)",
                output.stderr.trim()
            ));
            return Ok(None);
        }
        bail!(
            "`helm status {release}` failed: {}\nhint: check that the cluster answers: `kubectl {} get namespace`",
            output.stderr.trim(),
            target.context_args().join(" ")
        );
    }
    let release: Release =
        serde_json::from_str(&output.stdout).context("helm status printed JSON that could not be read")?;
    Ok(Some(release))
}

/// Resolves a release an interrupted run left `pending-*`: rolled back to its last good revision,
/// or uninstalled when it never had one (an install that never finished). Says what it did.
pub fn recover(
    cx: &Context,
    target: &Target,
    major: Major,
    release: &Release,
    timeout: Duration,
) -> Result<()> {
    let (scope, name) = (target.helm_args(), &target.release);
    let status = &release.info.status;
    let timeout = format!("{}s", timeout.as_secs());
    if status == "pending-install" || release.version <= 1 {
        cx.ui.warn(&format!(
            "release `{name}` is stuck in {status} (revision {}; an earlier run was interrupted) and never installed: uninstalling it first",
            release.version
        ));
        let uninstall = cmd!(cx.sh, "helm uninstall {name} {scope...} --wait --timeout {timeout}");
        cx.run(Cmd::from(uninstall).hint("remove it by hand: `helm uninstall` with the same arguments"))?;
        return Ok(());
    }
    cx.ui.warn(&format!(
        "release `{name}` is stuck in {status} at revision {} (an earlier run was interrupted): rolling back to the last good revision first",
        release.version
    ));
    let wait = major.wait_flag();
    let rollback = cmd!(cx.sh, "helm rollback {name} {scope...} {wait} --timeout {timeout}");
    cx.run(Cmd::from(rollback).hint(
        "`helm history` shows the revisions; roll back to one by hand: `helm rollback RELEASE REVISION`",
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_major_gets_its_own_wait_and_rollback_flags() {
        assert_eq!(Major::parse("v3.17.3+ge4da497\n").unwrap().upgrade_flags(), ["--atomic", "--wait"]);
        assert_eq!(
            Major::parse("v4.1.4+g05fa379").unwrap().upgrade_flags(),
            ["--rollback-on-failure", "--wait=watcher"]
        );
        let error = Major::parse("v2.17.0+ga690bad").unwrap_err().to_string();
        assert!(error.contains("helm 2 is not supported"), "{error}");
    }

    #[test]
    fn a_pending_release_is_told_from_a_deployed_one() {
        let read = |json: &str| serde_json::from_str::<Release>(json).unwrap();
        assert!(read(r#"{"info": {"status": "pending-upgrade"}, "version": 3}"#).pending());
        assert!(!read(r#"{"info": {"status": "deployed"}, "version": 3}"#).pending());
        assert!(!read(r#"{"info": {"status": "failed"}, "version": 2}"#).pending());
    }
}
