//! `cargo xtask helm-gen`: writes the Helm chart from `deploy/todo.toml`, or with `--check` fails
//! when the committed chart is stale.

use std::fs;

use anyhow::{Context as _, Result, bail};
use camino::{Utf8Path, Utf8PathBuf};

use crate::chart;
use crate::config::{self, DeployConfig};
use crate::context::Context;
use crate::phase::{Fingerprint, Outcome, Phase, Pipeline, Plan};

/// Write the Helm chart infra/helm/todo/ from deploy/todo.toml
///
/// Reads deploy/todo.toml and every deploy/environments/*.toml, and writes infra/helm/todo/:
/// Chart.yaml, values.yaml (every value documented), values.schema.json, values-<env>.yaml per
/// environment (only what differs), and the templates (static text from xtask/src/chart/files/
/// plus one small file per component and object). Files of the chart directory that the generator
/// no longer writes are removed. Calls no external tool. The chart is committed: `--check` (run by
/// `cargo test`) fails when it differs from what deploy/todo.toml describes.
#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// Change nothing; fail if the committed chart differs from what would be generated
    #[arg(long)]
    pub check: bool,
}

pub fn run(cx: &Context, args: &Args) -> Result<()> {
    Pipeline::new(vec![Box::new(HelmGen { check: args.check })]).run(cx)
}

/// The phase other commands (deploy) chain: unchanged config and generator, unchanged chart on
/// disk → skipped.
pub struct HelmGen {
    pub check: bool,
}

impl Phase for HelmGen {
    fn name(&self) -> &'static str {
        "helm-gen"
    }

    fn prepare<'a>(&'a self, cx: &Context) -> Result<Box<dyn Plan + 'a>> {
        let chart = generate(&cx.root)?;
        let changes = compare(&cx.root, &chart)?;
        Ok(Box::new(ChartWrite { check: self.check, chart, changes }))
    }
}

/// The chart the config describes, and how the one on disk differs from it.
struct ChartWrite {
    check: bool,
    chart: Chart,
    changes: Vec<Change>,
}

impl Plan for ChartWrite {
    fn fingerprint(&self) -> Option<Fingerprint> {
        if self.check {
            return None;
        }
        // What the chart would be is the input: that covers the config files and the generator.
        let mut fingerprint = Fingerprint::new();
        for (path, text) in &self.chart.files {
            fingerprint.value(path.as_str(), text);
        }
        Some(fingerprint)
    }

    fn outputs_present(&self, _cx: &Context) -> Result<bool> {
        Ok(self.changes.is_empty())
    }

    fn run(self: Box<Self>, cx: &Context) -> Result<Outcome> {
        let ChartWrite { check, chart, changes } = *self;
        if check {
            if changes.is_empty() {
                cx.ui.success(&format!("{} is up to date with {}", chart.dir, config::CONFIG_FILE));
                return Ok(Outcome::Done);
            }
            let list: Vec<String> = changes.iter().map(|change| format!("  {change}")).collect();
            bail!(
                "{} is stale: it differs from what {} and {} describe:\n{}\nrun `cargo xtask helm-gen` and commit the result",
                chart.dir,
                config::CONFIG_FILE,
                config::ENVIRONMENTS_DIR,
                list.join("\n")
            );
        }
        if changes.is_empty() {
            return Ok(Outcome::UpToDate(format!("{} already matches the config", chart.dir)));
        }
        for change in &changes {
            let path = cx.root.join(&chart.dir).join(change.path());
            match change {
                Change::Missing(_) | Change::Differs(..) => {
                    let text = &chart.files.iter().find(|(p, _)| p == change.path()).unwrap().1;
                    if cx.runner.dry_run() {
                        cx.ui.info(&format!("  [dry-run] would write {}", chart.dir.join(change.path())));
                        continue;
                    }
                    fs::create_dir_all(path.parent().unwrap())
                        .with_context(|| format!("cannot create {path}"))?;
                    fs::write(&path, text).with_context(|| format!("cannot write {path}"))?;
                }
                Change::Extra(_) => {
                    if cx.runner.dry_run() {
                        cx.ui.info(&format!("  [dry-run] would remove {}", chart.dir.join(change.path())));
                        continue;
                    }
                    fs::remove_file(&path).with_context(|| format!("cannot remove {path}"))?;
                }
            }
            cx.ui.info(&format!("  {change}"));
        }
        if cx.runner.dry_run() {
            cx.ui.info(&format!(
                "{}: {} of {} files would change",
                chart.dir,
                changes.len(),
                chart.files.len()
            ));
            return Ok(Outcome::Done);
        }
        remove_empty_dirs(&cx.root.join(&chart.dir))?;
        cx.ui.info(&format!("{}: {} of {} files changed", chart.dir, changes.len(), chart.files.len()));
        Ok(Outcome::Done)
    }
}

pub struct Chart {
    /// Relative to the project root.
    pub dir: Utf8PathBuf,
    /// Relative to `dir`, sorted.
    pub files: Vec<(Utf8PathBuf, String)>,
}

/// The chart the config describes.
pub fn generate(root: &Utf8Path) -> Result<Chart> {
    let base = DeployConfig::load(root)?;
    Ok(Chart { dir: chart::chart_dir(&base), files: chart::files(root, &base)? })
}

#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    Missing(Utf8PathBuf),
    /// The path, and the first line that differs (committed, then generated).
    Differs(Utf8PathBuf, String),
    /// On disk, but no longer generated.
    Extra(Utf8PathBuf),
}

impl Change {
    fn path(&self) -> &Utf8Path {
        match self {
            Change::Missing(path) | Change::Differs(path, _) | Change::Extra(path) => path,
        }
    }
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Missing(path) => write!(f, "new      {path}"),
            Change::Differs(path, difference) => write!(f, "changed  {path}{difference}"),
            Change::Extra(path) => write!(f, "removed  {path} (no longer generated)"),
        }
    }
}

/// How the chart on disk differs from `chart`.
pub fn compare(root: &Utf8Path, chart: &Chart) -> Result<Vec<Change>> {
    let dir = root.join(&chart.dir);
    let mut changes = Vec::new();
    for (path, text) in &chart.files {
        match fs::read_to_string(dir.join(path)) {
            Ok(on_disk) if on_disk == *text => {}
            Ok(on_disk) => changes.push(Change::Differs(path.clone(), first_difference(&on_disk, text))),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                changes.push(Change::Missing(path.clone()))
            }
            Err(err) => return Err(err).with_context(|| format!("cannot read {}", dir.join(path))),
        }
    }
    let mut on_disk = Vec::new();
    list_files(&dir, Utf8Path::new(""), &mut on_disk)?;
    for path in on_disk {
        if !chart.files.iter().any(|(p, _)| *p == path) {
            changes.push(Change::Extra(path));
        }
    }
    Ok(changes)
}

/// `: line N: "committed" → "generated"`, for a reviewer to see what moved.
fn first_difference(committed: &str, generated: &str) -> String {
    let (mut old, mut new) = (committed.lines(), generated.lines());
    for number in 1.. {
        match (old.next(), new.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (None, None) => return String::new(),
            (a, b) => {
                let show = |line: Option<&str>| {
                    line.map_or("(end of file)".to_owned(), |l| format!("{:?}", l.trim()))
                };
                return format!(" (line {number}: {} → {})", show(a), show(b));
            }
        }
    }
    unreachable!()
}

fn list_files(dir: &Utf8Path, rel: &Utf8Path, out: &mut Vec<Utf8PathBuf>) -> Result<()> {
    let entries = match dir.join(rel).read_dir_utf8() {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err).with_context(|| format!("cannot list {}", dir.join(rel))),
    };
    for entry in entries {
        let entry = entry?;
        let path = rel.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            list_files(dir, &path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn remove_empty_dirs(dir: &Utf8Path) -> Result<()> {
    let Ok(entries) = dir.read_dir_utf8() else { return Ok(()) };
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            remove_empty_dirs(entry.path())?;
            if entry.path().read_dir_utf8()?.next().is_none() {
                fs::remove_dir(entry.path())?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rust-analyzer's `ensure_file_contents`, for the chart: the committed chart is what the config
    /// describes. On failure, `cargo xtask helm-gen` updates it.
    #[test]
    fn the_committed_chart_is_fresh() {
        let root = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let chart = generate(root).unwrap();
        let changes = compare(root, &chart).unwrap();
        assert!(
            changes.is_empty(),
            "{} is stale; run `cargo xtask helm-gen` and commit the result:\n{}",
            chart.dir,
            changes.iter().map(|c| format!("  {c}\n")).collect::<String>()
        );
    }
}
