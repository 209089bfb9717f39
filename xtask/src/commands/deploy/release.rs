//! The `release` phase: `helm upgrade --install` of the chart with the images containerize built,
//! then every Deployment's rollout; on failure, a diagnosis while the previous release keeps
//! serving.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use camino::Utf8PathBuf;
use xshell::cmd;

use super::watch::Watch;
use crate::chart;
use crate::config::{BudgetKind, DeployConfig};
use crate::context::Context;
use crate::helm::{self, Major};
use crate::images::BuiltImages;
use crate::kube::{self, Target};
use crate::phase::{Fingerprint, Outcome, Phase, Plan};
use crate::runner::Cmd;
use crate::ui::fmt_duration;

pub struct Release {
    pub env: String,
    /// The phases before this one in the pipeline that it depends on.
    pub needs: &'static [&'static str],
    /// Where the images were pushed (`--env cluster`); `None` for images loaded into the cluster.
    pub registry: Option<String>,
    pub ingress_class: Option<String>,
    pub timeout: Duration,
    /// Stop waiting as soon as a pod cannot become ready (crash loop, image it cannot get).
    pub fail_fast: bool,
}

impl Phase for Release {
    fn name(&self) -> &'static str {
        "release"
    }

    fn needs(&self) -> &'static [&'static str] {
        self.needs
    }

    fn budget(&self) -> Option<BudgetKind> {
        Some(BudgetKind::Deploy)
    }

    fn prepare<'a>(&'a self, cx: &Context) -> Result<Box<dyn Plan + 'a>> {
        let (config, _) = DeployConfig::load_env(&cx.root, Some(&self.env))?;
        let target = Target::of(&config);
        let major = Major::detect(cx)?;
        let values = image_values(cx, &config, self.registry.as_deref())?;
        let mut set = values;
        if let Some(class) = &self.ingress_class {
            set.push(("ingress.className".to_owned(), class.clone()));
        }
        Ok(Box::new(Upgrade {
            chart: chart::chart_dir(&config),
            values_file: chart::environment_values(&config, &self.env),
            target,
            major,
            set,
            timeout: self.timeout,
            fail_fast: self.fail_fast,
            env: self.env.clone(),
            url: config.ingress.enabled.then(|| format!("http://{}/", config.ingress.host)),
        }))
    }
}

/// `--set-string` pairs naming the images: registry, and per component repository, tag and (for
/// pushed images) digest. Never `latest`: the tags are content hashes.
fn image_values(
    cx: &Context,
    config: &DeployConfig,
    registry: Option<&str>,
) -> Result<Vec<(String, String)>> {
    let built = match BuiltImages::load(cx) {
        Ok(built) => Some(built),
        // A dry run of a first deploy: containerize only planned its images.
        Err(_) if cx.runner.dry_run() => None,
        Err(err) => return Err(err),
    };
    let mut set =
        vec![("image.registry".to_owned(), registry.unwrap_or("").trim_end_matches('/').to_owned())];
    for (component, service) in &config.services {
        let name = service.image.to_string();
        set.push((format!("{component}.image.repository"), name.clone()));
        let Some(built) = &built else {
            set.push((format!("{component}.image.tag"), "<tag from containerize>".to_owned()));
            continue;
        };
        let image = built.images.iter().find(|image| image.name == name).with_context(|| {
            format!("containerize built no image `{name}` (target/xtask/images.json): run `cargo xtask containerize`")
        })?;
        if image.tag.is_empty() || image.tag == "latest" {
            bail!("image {name} has tag `{}`; deploy only uses content-hash tags", image.tag);
        }
        set.push((format!("{component}.image.tag"), image.tag.clone()));
        if registry.is_some() {
            let digest = match image.digest.as_deref() {
                Some(digest) => digest,
                // A dry run plans the push without making it, so the registry has named no digest.
                None if cx.runner.dry_run() => "<digest from the push>",
                None => bail!(
                    "image {name} was not pushed with its digest recorded: run `cargo xtask containerize --push REGISTRY`"
                ),
            };
            set.push((format!("{component}.image.digest"), digest.to_owned()));
        }
    }
    Ok(set)
}

struct Upgrade {
    chart: Utf8PathBuf,
    values_file: Utf8PathBuf,
    target: Target,
    major: Major,
    set: Vec<(String, String)>,
    timeout: Duration,
    fail_fast: bool,
    env: String,
    /// Where the app answers once the ingress host resolves.
    url: Option<String>,
}

impl Plan for Upgrade {
    fn fingerprint(&self) -> Option<Fingerprint> {
        // The chart's files and the Secret's content are folded in through the phases this one
        // needs (helm-gen, secrets); here: what this command line adds to them.
        let mut fingerprint = Fingerprint::new();
        fingerprint
            .value("environment", &self.env)
            .value("context", self.target.context.as_deref().unwrap_or("<current>"))
            .value("namespace", &self.target.namespace)
            .value("release", &self.target.release)
            .value("helm", self.major.name());
        for (key, value) in &self.set {
            fingerprint.value(key, value);
        }
        Some(fingerprint)
    }

    fn outputs_present(&self, cx: &Context) -> Result<bool> {
        // Deleted, rolled back by hand or stuck since: not what the last run left.
        Ok(helm::status(cx, &self.target)?.is_some_and(|release| release.info.status == "deployed"))
    }

    fn run(self: Box<Self>, cx: &Context) -> Result<Outcome> {
        let target = &self.target;
        if let Some(release) = helm::status(cx, target)?
            && release.pending()
        {
            helm::recover(cx, target, self.major, &release, self.timeout)?;
        }

        cx.ui.info(&format!(
            "  {} with {} (--timeout {})",
            target.describe(),
            self.major.name(),
            fmt_duration(self.timeout)
        ));
        let started = std::time::Instant::now();
        let watch = Watch::start(cx, target, self.fail_fast);
        let upgraded = self.upgrade(cx).and_then(|()| self.rollouts(cx));
        let seen = watch.stop();
        if let Err(err) = upgraded {
            // The watch saw the failing pods before helm's rollback removed them; what is there
            // now is the previous release, serving.
            let mut lines = seen.diagnosis;
            if lines.is_empty() {
                lines = kube::diagnose(cx, target);
            }
            cx.ui.error("the release did not become ready; what the cluster says:");
            for line in &lines {
                cx.ui.info(&format!("  {line}"));
            }
            // helm rolls back on SIGTERM as on its timeout; should it have been stopped before it
            // could, the release is left pending: roll it back here.
            if let Some(release) = helm::status(cx, target)?
                && release.pending()
            {
                helm::recover(cx, target, self.major, &release, self.timeout)?;
            }
            let context = match &seen.gave_up {
                Some(why) => format!(
                    "deploying {} failed after {}: {why}; helm rolled back, so the previous revision (if any) keeps serving",
                    target.describe(),
                    fmt_duration(started.elapsed())
                ),
                None => format!(
                    "deploying {} failed; helm rolled back, so the previous revision (if any) keeps serving",
                    target.describe()
                ),
            };
            return Err(err.context(context));
        }
        if !cx.runner.dry_run()
            && let Some(release) = helm::status(cx, target)?
        {
            cx.ui.info(&format!("  revision {} is {}", release.version, release.info.status));
        }
        if let Some(url) = &self.url {
            cx.ui.info(&format!("  the app: {url} (`cargo xtask status --env {}` shows its pods)", self.env));
        }
        Ok(Outcome::Done)
    }
}

impl Upgrade {
    fn upgrade(&self, cx: &Context) -> Result<()> {
        let (chart, values, release) = (&self.chart, &self.values_file, &self.target.release);
        let scope = self.target.helm_args();
        let flags = self.major.upgrade_flags();
        let timeout = format!("{}s", self.timeout.as_secs());
        let set: Vec<String> = self
            .set
            .iter()
            .flat_map(|(key, value)| ["--set-string".to_owned(), format!("{key}={value}")])
            .collect();
        let upgrade = cmd!(
            cx.sh,
            "helm upgrade --install {release} {chart} {scope...} --create-namespace --values {values} {set...} {flags...} --timeout {timeout}"
        );
        cx.run(
            Cmd::from(upgrade)
                // helm's own limit comes first; this one only catches a helm that hangs past it.
                .timeout(self.timeout + Duration::from_secs(120))
                .hint("the diagnosis above says which pod failed and why"),
        )?;
        Ok(())
    }

    /// `helm --wait` waits for the minimum available pods only: wait for every Deployment to
    /// finish rolling out too.
    fn rollouts(&self, cx: &Context) -> Result<()> {
        let (scope, selector) = (&self.target.kubectl_args(), self.target.selector());
        let list = cmd!(cx.sh, "kubectl {scope...} get deployments --selector {selector} --output name");
        let names = cx.read(Cmd::from(list).read_only().quiet())?;
        let timeout = format!("--timeout={}s", self.timeout.as_secs());
        for deployment in names.lines().map(str::trim).filter(|line| !line.is_empty()) {
            let status = cmd!(cx.sh, "kubectl {scope...} rollout status {deployment} {timeout}");
            cx.run(Cmd::from(status).timeout(self.timeout + Duration::from_secs(30)))?;
        }
        Ok(())
    }
}
