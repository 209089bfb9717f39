//! Reading .env against what the environment needs: generated values, the key rules, the report
//! of where each value came from.

use std::collections::BTreeSet;

use anyhow::{Result, bail};

use super::{Generate, Item, Origin, SecretsPlan};
use crate::config::{self, DatabaseMode, DeployConfig};
use crate::context::Context;
use crate::env_file::{self, EnvFile};
use crate::secret::Secret;

impl SecretsPlan {
    pub(super) fn prepare(cx: &Context, env: &str, generate: Generate) -> Result<SecretsPlan> {
        let (config, _) = DeployConfig::load_env(&cx.root, Some(env))?;
        let file = EnvFile::read(&cx.root, &env_file::cluster_env_file())?;
        let mode = config.database.mode;

        let mut wanted: BTreeSet<String> =
            config.services.values().flat_map(|s| s.secret_env.iter().map(|k| k.0.clone())).collect();
        if mode == DatabaseMode::Bundled {
            wanted.insert("POSTGRES_PASSWORD".to_owned());
        }
        if mode == DatabaseMode::Sqlite {
            wanted.remove("DATABASE_URL");
        }

        // Generate once, keep in .env: a regenerated JWT secret would sign everyone out, a
        // regenerated database password would lock the api out of its data.
        let mut generated = Vec::new();
        for (key, bytes) in [("JWT_SECRET", 32), ("POSTGRES_PASSWORD", 24)] {
            if wanted.contains(key) && file.get(key).is_none() {
                generated.push((key.to_owned(), Secret::new(env_file::random_hex(bytes)?)));
            }
        }
        for (_, value) in &generated {
            cx.ui.redactor().register(value);
        }
        let value_of = |key: &str| -> Option<(Secret, Origin)> {
            if let Some(entry) = file.get(key) {
                return Some((entry.value.clone(), Origin::Line(entry.line)));
            }
            generated.iter().find(|(k, _)| k == key).map(|(_, v)| (v.clone(), Origin::GeneratedNow(generate)))
        };
        // Only secret keys' values: redacting a setting like `RUST_LOG=debug` would blank out
        // every "debug" xtask prints.
        for entry in file
            .entries
            .iter()
            .filter(|e| wanted.contains(&e.key) || config::SECRET_KEYS.contains(&e.key.as_str()))
        {
            cx.ui.redactor().register(&entry.value);
        }

        let env_rel = config::environment_file(env);
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let mut secrets = Vec::new();
        for key in &wanted {
            let found = value_of(key);
            let line = match &found {
                Some((_, Origin::Line(line))) => format!("{}:{line}: ", env_file::ENV_FILE),
                _ => format!("{}: ", env_file::ENV_FILE),
            };
            // The bundled Postgres's DATABASE_URL is composed below, from its password.
            if key == "DATABASE_URL" && mode == DatabaseMode::Bundled {
                if found.is_some() {
                    warnings.push(format!(
                        "{line}DATABASE_URL is not used: environment `{env}` runs the bundled Postgres ({env_rel}: database.mode = \"bundled\"), and its DATABASE_URL is composed from POSTGRES_PASSWORD"
                    ));
                }
                continue;
            }
            let Some((value, origin)) = found else {
                if key == "DATABASE_URL" {
                    problems.push(format!(
                        "{}: DATABASE_URL is required: environment `{env}` uses an external database ({}: database.mode = \"external\"). Add it to .env, e.g. DATABASE_URL=postgres://USER:PASSWORD@HOST/DB?sslmode=require{}",
                        env_file::ENV_FILE,
                        origin_of_mode(&cx.root, &env_rel),
                        documented_at(cx, "DATABASE_URL")
                    ));
                }
                // Optional keys (LLM_API_KEY, OPENAI_API_KEY): the pods start without them.
                continue;
            };
            if let Some((_, rule)) = VALUE_RULES.iter().find(|(rule_key, _)| rule_key == key)
                && let Some(problem) = rule(value.expose())
            {
                problems.push(format!("{line}{problem}"));
            }
            secrets.push((Item { key: key.clone(), origin }, value));
        }
        if mode == DatabaseMode::Bundled
            && let Some(password) =
                secrets.iter().find(|(item, _)| item.key == "POSTGRES_PASSWORD").map(|s| &s.1)
        {
            let bundled = &config.database.bundled;
            let url = Secret::new(format!(
                "postgres://{}:{}@{}:5432/{}?sslmode=disable",
                bundled.user,
                percent_encode(password.expose()),
                config.postgres_host(),
                bundled.database
            ));
            cx.ui.redactor().register(&url);
            secrets.push((Item { key: "DATABASE_URL".to_owned(), origin: Origin::Composed }, url));
        }
        if !problems.is_empty() {
            let count = if problems.len() == 1 {
                "1 problem".to_owned()
            } else {
                format!("{} problems", problems.len())
            };
            bail!(
                "{count} in {} for environment `{env}`:\n{}",
                env_file::ENV_FILE,
                problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
            );
        }
        secrets.sort_by(|a, b| a.0.key.cmp(&b.0.key));

        let config_keys: BTreeSet<String> =
            config.services.values().flat_map(|s| s.config_env.iter().map(|k| k.0.clone())).collect();
        let settings: Vec<(Item, String)> = config_keys
            .iter()
            .filter_map(|key| {
                file.get(key).map(|e| (Item { key: key.clone(), origin: Origin::Line(e.line) }, e))
            })
            .map(|(item, entry)| (item, entry.value.expose().to_owned()))
            .collect();
        let mut unused: Vec<String> = file
            .entries
            .iter()
            .map(|e| e.key.clone())
            .filter(|key| !wanted.contains(key) && !config_keys.contains(key))
            .collect();
        unused.sort();
        unused.dedup();

        Ok(SecretsPlan {
            env: env.to_owned(),
            file,
            generated,
            context: config.cluster.context.clone(),
            namespace: config.app.namespace.0.clone(),
            secret_name: config.app.secret_name.0.clone(),
            config_map_name: config.app.config_map_name.0.clone(),
            app: config.app.name.0.clone(),
            secrets,
            settings,
            unused,
            warnings,
        })
    }

    /// Generate once, keep in .env: a regenerated JWT secret would sign everyone out, a
    /// regenerated database password would lock the api out of its data.
    pub(super) fn keep_generated(&mut self) -> Result<()> {
        if self.generated.is_empty() {
            return Ok(());
        }
        self.file.fill_in(
            &self.generated,
            "Generated by `cargo xtask secrets` and kept: delete a line to have a new value generated.",
        )
    }

    pub(super) fn context_args(&self) -> Vec<String> {
        match &self.context {
            Some(context) => vec!["--context".to_owned(), context.clone()],
            None => Vec::new(),
        }
    }
}

/// A check of a value: the problem with it, if any.
type ValueRule = fn(&str) -> Option<String>;

/// What a value in .env must be, for the keys that have a rule: the problem with it, if any.
/// Messages never include the value.
const VALUE_RULES: [(&str, ValueRule); 3] = [
    ("DATABASE_URL", |url| {
        let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
        (!postgres).then(|| {
            "DATABASE_URL must be a postgres:// or postgresql:// URL (the value is not shown)".to_owned()
        })
    }),
    ("JWT_SECRET", |secret| {
        (secret.len() < 32).then(|| {
            format!(
                "JWT_SECRET is {} bytes; the api needs at least 32. Delete the line and `cargo xtask secrets` generates one",
                secret.len()
            )
        })
    }),
    ("POSTGRES_PASSWORD", |password| {
        (password.len() < 16).then(|| {
            "POSTGRES_PASSWORD is shorter than 16 characters. Delete the line and `cargo xtask secrets` generates one \
             (the bundled database keeps the password it was created with: change both together)"
                .to_owned()
        })
    }),
];

pub(super) fn describe(origin: &Origin) -> String {
    match origin {
        Origin::Line(line) => format!(".env line {line}"),
        Origin::GeneratedNow(Generate::Persist) => "generated now, kept in .env".to_owned(),
        Origin::GeneratedNow(Generate::InMemory) => "would be generated and kept in .env".to_owned(),
        Origin::Composed => "composed for the bundled Postgres".to_owned(),
    }
}

/// Which file set the database mode, for the error message.
fn origin_of_mode(root: &camino::Utf8Path, env_rel: &camino::Utf8Path) -> String {
    let sets_mode = std::fs::read_to_string(root.join(env_rel))
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .is_some_and(|table| table.get("database").and_then(|d| d.get("mode")).is_some());
    if sets_mode { env_rel.to_string() } else { config::CONFIG_FILE.to_owned() }
}

/// ` (documented at deploy/.env.example:LINE)`, when it is.
fn documented_at(cx: &Context, key: &str) -> String {
    let Ok(text) = std::fs::read_to_string(cx.root.join(env_file::EXAMPLE_FILE)) else {
        return String::new();
    };
    text.lines()
        .position(|line| {
            line.trim_start().trim_start_matches('#').trim_start().starts_with(&format!("{key}="))
        })
        .map_or(String::new(), |i| format!(" (documented at {}:{})", env_file::EXAMPLE_FILE, i + 1))
}

/// A URL's userinfo part: everything but the unreserved characters percent-encoded.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn passwords_are_encoded_for_urls() {
        assert_eq!(percent_encode("a-b_c.d~9"), "a-b_c.d~9");
        assert_eq!(percent_encode("p@ss:w/rd%"), "p%40ss%3Aw%2Frd%25");
    }
}
