//! `deploy/todo.toml` and `deploy/environments/<env>.toml`: the typed description of the app that
//! phases read.
//!
//! The base file is complete on its own (it is what the chart's `values.yaml` is generated from);
//! an environment file overrides any part of it. Tables merge key by key, everything else (strings,
//! numbers, lists) is replaced whole. Unknown keys and bad values are errors that name the file,
//! the key and what is allowed, so a typo never passes silently.
//!
//! Here: loading and merging. The sections are in `schema`, the checked value types in `values`,
//! the rules that span several keys in `validate`.

mod schema;
mod validate;
mod values;

use anyhow::{Context as _, Result, anyhow, bail};
use camino::{Utf8Path, Utf8PathBuf};

pub use schema::*;
pub use values::*;

pub const CONFIG_FILE: &str = "deploy/todo.toml";
pub const ENVIRONMENTS_DIR: &str = "deploy/environments";
/// What commands that target a cluster use unless `--env` says otherwise.
pub const DEFAULT_ENVIRONMENT: &str = "minikube";

/// Environment variables that hold secrets. They may only reach a pod from the Secret: listing one
/// under `config_env` or `env` (which end up in ConfigMaps, readable by anyone who can read the
/// namespace's ConfigMaps) is an error.
pub const SECRET_KEYS: [&str; 5] =
    ["JWT_SECRET", "DATABASE_URL", "LLM_API_KEY", "OPENAI_API_KEY", "POSTGRES_PASSWORD"];

/// Which files a configuration was read from, for error messages and fingerprints.
#[derive(Clone, Debug)]
pub struct Sources {
    pub environment: Option<String>,
    pub files: Vec<Utf8PathBuf>,
}

impl DeployConfig {
    /// The base description alone (`deploy/todo.toml`).
    pub fn load(root: &Utf8Path) -> Result<DeployConfig> {
        Ok(DeployConfig::load_env(root, None)?.0)
    }

    /// The base description with `deploy/environments/<env>.toml` over it.
    pub fn load_env(root: &Utf8Path, env: Option<&str>) -> Result<(DeployConfig, Sources)> {
        let base_text = std::fs::read_to_string(root.join(CONFIG_FILE))
            .with_context(|| format!("cannot read {CONFIG_FILE} (the app's deploy description)"))?;
        // Typed first, so an error in the base file carries its line and column.
        let base: DeployConfig = toml::from_str(&base_text).map_err(|err| anyhow!("{CONFIG_FILE}: {err}"))?;
        base.validate(&|_| CONFIG_FILE.to_owned())?;
        let mut sources = Sources { environment: None, files: vec![CONFIG_FILE.into()] };
        let Some(env) = env else {
            return Ok((base, sources));
        };

        let rel = environment_file(env);
        let text = match std::fs::read_to_string(root.join(&rel)) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                bail!(
                    "there is no environment `{env}` ({rel} does not exist); environments: {}",
                    environments(root)?.join(", ")
                )
            }
            Err(err) => return Err(err).with_context(|| format!("cannot read {rel}")),
        };
        let overlay: toml::Table = toml::from_str(&text).map_err(|err| anyhow!("{rel}: {err}"))?;
        let mut merged: toml::Table = toml::from_str(&base_text)?;
        merge(&mut merged, overlay.clone());
        // The base alone was valid, so whatever fails now was written in the environment file.
        let config: DeployConfig = toml::Value::Table(merged)
            .try_into()
            .map_err(|err| anyhow!("{rel}: {}", err.to_string().trim_end()))?;
        let origin = |key: &str| match lookup(&overlay, key) {
            true => rel.to_string(),
            false => CONFIG_FILE.to_owned(),
        };
        config.validate(&origin)?;
        sources.environment = Some(env.to_owned());
        sources.files.push(rel);
        Ok((config, sources))
    }
}

pub fn environment_file(env: &str) -> Utf8PathBuf {
    Utf8PathBuf::from(format!("{ENVIRONMENTS_DIR}/{env}.toml"))
}

/// The environments there are files for, sorted.
pub fn environments(root: &Utf8Path) -> Result<Vec<String>> {
    let dir = root.join(ENVIRONMENTS_DIR);
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot list {ENVIRONMENTS_DIR}"))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(env) = name.strip_suffix(".toml") {
            names.push(env.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Tables merge key by key; any other value in `overlay` replaces the one in `base`.
fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(base)), toml::Value::Table(overlay)) => merge(base, overlay),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Whether the dotted `key` is set in `table` (any prefix of it set to a non-table counts).
fn lookup(table: &toml::Table, key: &str) -> bool {
    let mut current = table;
    for part in key.split('.') {
        let part = part.trim_matches('"');
        match current.get(part) {
            Some(toml::Value::Table(inner)) => current = inner,
            Some(_) => return true,
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn repo() -> &'static Utf8Path {
        Utf8Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
    }

    /// A scratch project with the repository's config files, for editing in tests.
    fn scratch() -> (tempfile::TempDir, Utf8PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
        std::fs::create_dir_all(root.join(ENVIRONMENTS_DIR)).unwrap();
        std::fs::copy(repo().join(CONFIG_FILE), root.join(CONFIG_FILE)).unwrap();
        for env in environments(repo()).unwrap() {
            let rel = environment_file(&env);
            std::fs::copy(repo().join(&rel), root.join(&rel)).unwrap();
        }
        (dir, root)
    }

    fn edit(root: &Utf8Path, rel: &str, from: &str, to: &str) {
        let path = root.join(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{rel} has no `{from}`");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    fn append(root: &Utf8Path, rel: &str, extra: &str) {
        let path = root.join(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{text}\n{extra}\n")).unwrap();
    }

    fn error(root: &Utf8Path, env: Option<&str>) -> String {
        format!("{:#}", DeployConfig::load_env(root, env).unwrap_err())
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        for bad in ["5", "5 minutes", "", "0s", "m", "9999999999999999h", "18446744073709551615s1s"] {
            assert!(parse_duration(bad).unwrap_err().contains("is not a duration"), "{bad}");
        }
    }

    #[test]
    fn goals_read_like_people_write_them() {
        let goal = |text: &str| text.parse::<Goal>().unwrap();
        assert_eq!(goal("<= 300ms"), Goal { bound: Bound::AtMost, value: 0.3, quantity: Quantity::Time });
        assert_eq!(goal("≤ 4m").value, 240.0);
        assert_eq!(
            goal(">= 3,000/s"),
            Goal { bound: Bound::AtLeast, value: 3000.0, quantity: Quantity::Rate }
        );
        assert_eq!(goal("<=30MB").quantity, Quantity::Size);
        assert_eq!(goal(">= 50%").quantity, Quantity::Percent);
        assert_eq!(goal("<= 0"), Goal { bound: Bound::AtMost, value: 0.0, quantity: Quantity::Count });
        assert!(goal("<= 0.3s").met_by(0.3) && !goal("<= 0.3s").met_by(0.31));
        assert!(goal(">= 50%").met_by(50.0) && !goal(">= 50%").met_by(49.9));
        for bad in ["300ms", "< 3s", "<= fast", "<= 3 parsecs", ">=", "<= 1.2.3s"] {
            assert!(bad.parse::<Goal>().unwrap_err().contains("is not a goal"), "{bad}");
        }
    }

    #[test]
    fn the_committed_config_loads_with_the_seed_values() {
        let config = DeployConfig::load(repo()).unwrap();
        assert_eq!(config.budgets.get(BudgetKind::Build), Duration::from_secs(300));
        assert_eq!(config.budgets.get(BudgetKind::Deploy), Duration::from_secs(180));
        assert_eq!(config.budgets.get(BudgetKind::PodStart), Duration::from_secs(120));
        let limits = |name: &str| {
            let limits = &config.services[name].resources.limits;
            (limits.memory.0.clone(), limits.cpu.0.clone())
        };
        assert_eq!(limits("web"), ("256Mi".to_owned(), "200m".to_owned()));
        assert_eq!(limits("api"), ("512Mi".to_owned(), "300m".to_owned()));
        assert_eq!(config.ingress.host, "todo.local");
        assert_eq!(config.ingress.paths[&UrlPath("/".into())], "web");
        assert_eq!(config.ingress.paths[&UrlPath("/api".into())], "api");
    }

    #[test]
    fn every_environment_loads_and_the_defaults_fit_it() {
        assert_eq!(environments(repo()).unwrap(), ["cluster", "minikube"]);
        let (minikube, sources) = DeployConfig::load_env(repo(), Some("minikube")).unwrap();
        assert_eq!(sources.files, [CONFIG_FILE, "deploy/environments/minikube.toml"]);
        // Offline with no user input: a bundled database, the minikube profile's context.
        assert_eq!(minikube.database.mode, DatabaseMode::Bundled);
        assert_eq!(minikube.cluster.context.as_deref(), Some("todo"));
        assert_eq!(minikube.images.pull_policy, PullPolicy::IfNotPresent);
        let (cluster, _) = DeployConfig::load_env(repo(), Some("cluster")).unwrap();
        assert_eq!(cluster.database.mode, DatabaseMode::External);
        assert_eq!(cluster.cluster.context, None);
        // Tables merge key by key: the overlay changed replicas, the rest of the service stayed.
        assert_eq!(minikube.services["api"].port, cluster.services["api"].port);
    }

    #[test]
    fn unknown_keys_name_the_file_the_key_and_what_is_allowed() {
        let (_dir, root) = scratch();
        append(&root, "deploy/environments/cluster.toml", "[services.api]\nreplicaz = 3");
        let err = error(&root, Some("cluster"));
        assert!(
            err.starts_with("deploy/environments/cluster.toml: unknown field `replicaz`, expected one of"),
            "{err}"
        );
        assert!(err.contains("`replicas`") && err.contains("in `services.api`"), "{err}");

        let (_dir, root) = scratch();
        edit(&root, CONFIG_FILE, "[app]\n", "[app]\ncolour = \"blue\"\n");
        let err = error(&root, None);
        assert!(err.starts_with("deploy/todo.toml: TOML parse error at line"), "{err}");
        assert!(err.contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn bad_values_name_the_file_the_key_and_what_is_allowed() {
        let (_dir, root) = scratch();
        edit(&root, "deploy/environments/minikube.toml", "mode = \"bundled\"", "mode = \"mongodb\"");
        let err = error(&root, Some("minikube"));
        assert!(err.contains("deploy/environments/minikube.toml: unknown variant `mongodb`"), "{err}");
        assert!(err.contains("expected one of `external`, `bundled`, `sqlite`"), "{err}");
        assert!(err.contains("in `database.mode`"), "{err}");

        let (_dir, root) = scratch();
        append(
            &root,
            "deploy/environments/cluster.toml",
            "[services.web.resources.limits]\nmemory = \"256MB\"",
        );
        let err = error(&root, Some("cluster"));
        assert!(err.contains("`256MB` is not a quantity in binary units"), "{err}");
        assert!(err.contains("services.web.resources.limits.memory"), "{err}");

        let (_dir, root) = scratch();
        edit(&root, CONFIG_FILE, "run_as_user = 10001", "run_as_user = 0");
        let err = error(&root, None);
        assert!(err.contains("deploy/todo.toml") && err.contains("0 is not allowed"), "{err}");
        assert!(err.contains("from 10000"), "{err}");

        let (_dir, root) = scratch();
        edit(&root, CONFIG_FILE, "tag = \"17.6-alpine\"", "tag = \"latest\"");
        assert!(error(&root, None).contains("`latest` is not allowed"));
    }

    #[test]
    fn rules_across_keys_name_the_file_that_broke_them() {
        let (_dir, root) = scratch();
        append(&root, "deploy/environments/minikube.toml", "[ingress.paths]\n\"/admin\" = \"admin\"");
        let err = error(&root, Some("minikube"));
        assert_eq!(
            err,
            "deploy/environments/minikube.toml: `ingress.paths.\"/admin\"`: `admin` is not a service; services: api, web"
        );

        let (_dir, root) = scratch();
        edit(&root, "deploy/environments/cluster.toml", "mode = \"external\"", "mode = \"sqlite\"");
        let err = error(&root, Some("cluster"));
        assert!(
            err.starts_with("deploy/environments/cluster.toml: `database.mode`: `sqlite` allows one writer"),
            "{err}"
        );

        let (_dir, root) = scratch();
        edit(&root, CONFIG_FILE, "config_env = [", "config_env = [\"JWT_SECRET\", ");
        let err = error(&root, None);
        assert!(err.contains("deploy/todo.toml: `services.api.config_env`: JWT_SECRET is a secret"), "{err}");

        let (_dir, root) = scratch();
        append(&root, "deploy/environments/cluster.toml", "[services.web]\nreadiness_path = \"/healthz\"");
        assert!(error(&root, Some("cluster")).contains("is also the liveness path"));

        let (_dir, root) = scratch();
        assert!(error(&root, Some("staging")).contains("there is no environment `staging`"));
        assert!(error(&root, Some("staging")).contains("environments: cluster, minikube"));
    }
}
