//! `deploy/todo.toml`: the typed description of the app that phases read.

use std::fmt;
use std::time::Duration;

use anyhow::{Context as _, Result};
use camino::Utf8Path;
use serde::Deserialize;

pub const CONFIG_FILE: &str = "deploy/todo.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    pub app: App,
    pub budgets: Budgets,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    pub name: String,
}

/// Wall-time goals the phase summary holds each run against.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budgets {
    /// Building the images.
    pub build: Budget,
    /// From `helm upgrade` to a settled release.
    pub deploy: Budget,
    /// From a rollout to every pod ready.
    pub pod_start: Budget,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BudgetKind {
    Build,
    Deploy,
    PodStart,
}

impl Budgets {
    pub fn get(&self, kind: BudgetKind) -> Duration {
        match kind {
            BudgetKind::Build => self.build.0,
            BudgetKind::Deploy => self.deploy.0,
            BudgetKind::PodStart => self.pod_start.0,
        }
    }
}

/// A duration written the way people write them: `90s`, `5m`, `1m30s`, `2h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget(pub Duration);

impl<'de> Deserialize<'de> for Budget {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Budget, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text).map(Budget).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::ui::fmt_duration(self.0))
    }
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || {
        format!(
            "`{text}` is not a duration: write numbers followed by h, m or s, e.g. \"90s\", \"5m\" or \"1m30s\""
        )
    };
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(invalid()),
        };
        let value: u64 = number.parse().map_err(|_| invalid())?;
        total += value * unit;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(invalid());
    }
    Ok(Duration::from_secs(total))
}

impl DeployConfig {
    pub fn load(root: &Utf8Path) -> Result<DeployConfig> {
        let path = root.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {CONFIG_FILE} (the app's deploy description)"))?;
        toml::from_str(&text).map_err(|err| anyhow::anyhow!("{CONFIG_FILE}: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        for bad in ["5", "5 minutes", "", "0s", "m"] {
            assert!(parse_duration(bad).unwrap_err().contains("is not a duration"), "{bad}");
        }
    }

    #[test]
    fn the_committed_config_loads_with_the_seed_budgets() {
        let root = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let config = DeployConfig::load(root).unwrap();
        assert_eq!(config.budgets.get(BudgetKind::Build), Duration::from_secs(300));
        assert_eq!(config.budgets.get(BudgetKind::Deploy), Duration::from_secs(180));
        assert_eq!(config.budgets.get(BudgetKind::PodStart), Duration::from_secs(120));
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        let err = toml::from_str::<DeployConfig>(
            "[app]\nname = \"todo\"\n[budgets]\nbuild = \"5 minutes\"\ndeploy = \"3m\"\npod_start = \"2m\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("budgets.build") || err.contains("build ="), "{err}");
        assert!(err.contains("is not a duration"), "{err}");
        let unknown = toml::from_str::<DeployConfig>("[app]\nname = \"todo\"\ncolour = 1\n").unwrap_err();
        assert!(unknown.to_string().contains("unknown field `colour`"), "{unknown}");
    }
}
