//! The app's LLM settings (.env: `LLM_API_KEY`/`OPENAI_API_KEY`, `LLM_BASE_URL`, `LLM_MODEL`,
//! `LLM_PROVIDER`), the secret values the showcase must never show, and one chat-completions
//! request to an OpenAI-compatible endpoint.
//!
//! `http://` endpoints (a local Ollama, vLLM, a test's scripted server) are reached with xtask's
//! own little HTTP client; `https://` ones through `curl`, whose key and URL go on stdin as a
//! `--config -` file, never on its command line. A TLS stack in xtask for one optional request
//! would cost more than it saves.

use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::{Value, json};
use xshell::cmd;

use crate::base64;
use crate::config::DeployConfig;
use crate::context::Context;
use crate::env_file::{self, EnvFile};
use crate::http::{self, Endpoint, Request};
use crate::runner::{Cmd, CommandError, Failure};
use crate::secret::{Redactor, Secret};

pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";

/// Environment variables that hold the AI tools' keys: registered as secrets when set.
pub const KEY_VARIABLES: [&str; 7] = [
    "GEMINI_API_KEY",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "GROK_API_KEY",
    "LLM_API_KEY",
    "DOCKER_PAT",
];

/// The app's OpenAI-compatible settings, when a key is configured.
#[derive(Clone, Debug)]
pub struct LlmSettings {
    pub base_url: String,
    pub model: String,
    pub key: Secret,
}

/// Reads .env (or `XTASK_ENV_FILE`), registers every secret value in it with the redactor, and
/// returns the LLM settings if a key is set and `LLM_PROVIDER` is not `offline`.
pub fn load(cx: &Context, config: &DeployConfig) -> Result<Option<LlmSettings>> {
    let file = EnvFile::read(&cx.root, &env_file::cluster_env_file())?;
    register_secrets(cx, config, &file);
    let value = |key: &str| file.get(key).map(|entry| entry.value.expose().trim().to_owned());
    if value("LLM_PROVIDER").as_deref() == Some("offline") {
        return Ok(None);
    }
    let Some(key) = file.get("LLM_API_KEY").or_else(|| file.get("OPENAI_API_KEY")) else {
        return Ok(None);
    };
    Ok(Some(LlmSettings {
        base_url: value("LLM_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
        model: value("LLM_MODEL").unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
        key: key.value.clone(),
    }))
}

/// Every value that must not be shown: the keys the pods read from the Secret, anything in .env
/// named like a secret, and the AI tools' keys in xtask's environment. Each in its base64 form
/// too: `kubectl get secret -o yaml`, which kubectl-ai and kagent run, prints a Secret's values
/// so.
fn register_secrets(cx: &Context, config: &DeployConfig, file: &EnvFile) {
    let redactor = cx.ui.redactor();
    let secret_keys: Vec<&str> =
        config.services.values().flat_map(|s| s.secret_env.iter().map(|k| k.0.as_str())).collect();
    for entry in &file.entries {
        if secret_keys.contains(&entry.key.as_str()) || looks_secret(&entry.key) {
            register_with_base64(redactor, &entry.value);
        }
    }
    for key in KEY_VARIABLES {
        if let Ok(value) = std::env::var(key) {
            register_with_base64(redactor, &Secret::new(value));
        }
    }
}

/// `secret` and its base64 form, as a Secret's `data` holds it.
fn register_with_base64(redactor: &Redactor, secret: &Secret) {
    redactor.register(secret);
    redactor.register(&Secret::new(base64::encode(secret.expose().as_bytes())));
}

fn looks_secret(key: &str) -> bool {
    ["KEY", "SECRET", "PASSWORD", "TOKEN", "DATABASE_URL", "_PAT"].iter().any(|word| key.contains(word))
}

/// One chat completion: the system and user messages, the model's answer. The messages must
/// already be redacted: they are checked once more, and refused if a known secret is in them.
pub fn complete(
    cx: &Context,
    settings: &LlmSettings,
    system: &str,
    user: &str,
    timeout: Duration,
) -> Result<String> {
    let body = json!({
        "model": settings.model,
        "temperature": 0.2,
        "messages": [
            { "role": "system", "content": system },
            { "role": "user", "content": user },
        ],
    });
    let text = body.to_string();
    if cx.ui.redactor().contains_secret(&text) {
        bail!("refusing to send the cluster's state to the model: a secret value is in it");
    }
    let base = settings.base_url.trim_end_matches('/');
    let answer = if base.starts_with("http://") {
        let (endpoint, prefix) = split_base(base)?;
        let path = format!("{prefix}/chat/completions");
        let host = endpoint.url().trim_start_matches("http://").to_owned();
        let request = Request {
            method: "POST",
            path: &path,
            host: &host,
            bearer: Some(settings.key.expose()),
            json: Some(&body),
        };
        let response = http::send(&endpoint, &request, timeout)
            .with_context(|| format!("asking the model at {base}"))?;
        if response.status != 200 {
            return Err(status_error(settings, base, response.status, &response.body));
        }
        response.json()?
    } else if base.starts_with("https://") {
        curl(cx, settings, base, &text, timeout)?
    } else {
        bail!("LLM_BASE_URL `{base}` is neither an http:// nor an https:// URL");
    };
    answer["choices"][0]["message"]["content"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("the model's answer has no choices[0].message.content: {answer}"))
}

/// `http://host:port/v1` → the endpoint and `/v1`.
fn split_base(base: &str) -> Result<(Endpoint, String)> {
    let rest = base.strip_prefix("http://").unwrap_or(base);
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, ""),
    };
    Ok((Endpoint::parse(&format!("http://{authority}"))?, path.to_owned()))
}

/// What a provider's error answer means for the settings in .env, with the provider's own words
/// (`error.message` of an OpenAI-compatible error body).
fn status_error(settings: &LlmSettings, base: &str, status: u16, body: &str) -> anyhow::Error {
    let said = provider_message(body);
    let said = if said.is_empty() { String::new() } else { format!(": {said}") };
    match status {
        401 | 403 => anyhow!(
            "LLM_API_KEY rejected by LLM_BASE_URL {base} (HTTP {status}{said}); check LLM_API_KEY in .env"
        ),
        404 => anyhow!(
            "LLM_MODEL `{}` unknown at LLM_BASE_URL {base} (HTTP 404{said}); set LLM_MODEL in .env to a model it \
             serves (or LLM_BASE_URL to where /chat/completions is)",
            settings.model
        ),
        _ => anyhow!("the model at {base} answered HTTP {status}{said}"),
    }
}

/// `error.message` (or `error`, or `message`) of an error body; else its start, on one line.
fn provider_message(body: &str) -> String {
    if let Ok(json) = serde_json::from_str::<Value>(body) {
        let said = [&json["error"]["message"], &json["error"], &json["message"], &json["detail"]]
            .into_iter()
            .find_map(Value::as_str);
        if let Some(said) = said {
            return said.trim().to_owned();
        }
    }
    let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &flat[..at]),
        None => flat,
    }
}

/// An https request through curl: URL, key and body file named in a config on its stdin. curl
/// prints the body, then the HTTP status on a line of its own.
fn curl(cx: &Context, settings: &LlmSettings, base: &str, body: &str, timeout: Duration) -> Result<Value> {
    let dir = cx.state_dir().join("ai-showcase");
    std::fs::create_dir_all(&dir)?;
    let request = dir.join("llm-request.json");
    std::fs::write(&request, body)?;
    let quote = |text: &str| format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""));
    let config = format!(
        "url = {}\nheader = {}\nheader = \"Content-Type: application/json\"\ndata-binary = {}\n",
        quote(&format!("{base}/chat/completions")),
        quote(&format!("Authorization: Bearer {}", settings.key.expose())),
        quote(&format!("@{request}")),
    );
    let max_time = timeout.as_secs().max(1).to_string();
    let write_out = "\\n%{http_code}";
    let call =
        cmd!(cx.sh, "curl --silent --show-error --max-time {max_time} --write-out {write_out} --config -");
    let run = Cmd::from(call)
        .read_only()
        .quiet()
        .allow_failure()
        .secret_stdin(Secret::new(config))
        .timeout(timeout + Duration::from_secs(5));
    let output = match cx.output(run) {
        Ok(output) => output,
        Err(err) if matches!(err.downcast_ref::<CommandError>(), Some(e) if matches!(e.failure, Failure::NotInstalled)) =>
        {
            bail!("https:// LLM endpoints are reached through curl, which is not on PATH: install curl")
        }
        Err(err) => return Err(err),
    };
    if !output.success() {
        // Not an HTTP answer at all: DNS, connection, TLS, timeout (curl's exit code says which).
        let why = output.stderr.lines().find(|line| !line.trim().is_empty()).unwrap_or_default().trim();
        bail!(
            "curl could not reach {base} (exit {}): {why}",
            output.status.map_or("?".to_owned(), |c| c.to_string())
        );
    }
    let (answer, status) = output.stdout.rsplit_once('\n').unwrap_or(("", output.stdout.as_str()));
    let status: u16 =
        status.trim().parse().with_context(|| format!("curl printed no HTTP status: {}", status.trim()))?;
    if status != 200 {
        return Err(status_error(settings, base, status, answer));
    }
    serde_json::from_str(answer).context("the model's answer is not JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_split_into_endpoint_and_path() {
        let (endpoint, path) = split_base("http://127.0.0.1:11434/v1").unwrap();
        assert_eq!((endpoint.port, path.as_str()), (11434, "/v1"));
        let (endpoint, path) = split_base("http://localhost:8000").unwrap();
        assert_eq!((endpoint.host.as_str(), path.as_str()), ("localhost", ""));
        assert!(looks_secret("POSTGRES_PASSWORD") && looks_secret("GEMINI_API_KEY"));
        assert!(!looks_secret("LLM_BASE_URL") && !looks_secret("RUST_LOG"));
    }

    #[test]
    fn error_answers_name_the_setting_at_fault_and_keep_the_providers_words() {
        let settings =
            LlmSettings { base_url: "https://x/v1".into(), model: "tiny".into(), key: Secret::new("k") };
        let error = |status, body| status_error(&settings, "https://x/v1", status, body).to_string();
        let denied = error(401, r#"{"error": {"message": "Incorrect API key provided", "type": "auth"}}"#);
        assert_eq!(
            denied,
            "LLM_API_KEY rejected by LLM_BASE_URL https://x/v1 (HTTP 401: Incorrect API key provided); check \
             LLM_API_KEY in .env"
        );
        assert!(error(403, "forbidden").starts_with("LLM_API_KEY rejected by LLM_BASE_URL"));
        let unknown = error(404, r#"{"error": {"message": "The model `tiny` does not exist"}}"#);
        assert!(
            unknown.starts_with("LLM_MODEL `tiny` unknown at LLM_BASE_URL https://x/v1 (HTTP 404: The model"),
            "{unknown}"
        );
        assert_eq!(
            error(429, r#"{"error": {"message": "Rate limit reached"}}"#),
            "the model at https://x/v1 answered HTTP 429: Rate limit reached"
        );
        assert_eq!(
            error(502, "<html>\n bad gateway </html>"),
            "the model at https://x/v1 answered HTTP 502: <html> bad gateway </html>"
        );
        assert_eq!(
            error(500, r#"{"error": "overloaded"}"#),
            "the model at https://x/v1 answered HTTP 500: overloaded"
        );
    }
}
