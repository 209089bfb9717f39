//! A client for OpenAI-compatible `POST {base}/chat/completions` with tool calling: the subset of
//! the wire format the agent needs, typed; bounded waits; retries with backoff; and errors that
//! say, in words a user can act on, whether the provider is unreachable or refuses us.
//!
//! Hand-written over hyper-util's client rather than async-openai: that crate adds 47 crates and
//! close to a minute of compile time for types we use a dozen fields of, and retries 429 only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER, USER_AGENT,
};
use axum::http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{ApiKey, OpenAiConfig};

/// The largest reply body read. A chat completion is a few KiB; anything near this is not one.
const MAX_REPLY_BYTES: usize = 2 * 1024 * 1024;
/// The first retry waits this long, each later one twice as long (with jitter).
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// A `Retry-After` longer than this is not waited for: the request fails instead.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
/// Provider messages are logged up to this many characters.
const MAX_LOGGED_MESSAGE: usize = 300;

/// One message of the conversation, as chat-completions takes and returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireMessage {
    pub role: String,
    /// `null` for an assistant turn that only calls tools.
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<WireToolCall>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl WireMessage {
    pub fn system(content: impl Into<String>) -> Self {
        Self { role: "system".into(), content: Some(content.into()), tool_calls: None, tool_call_id: None }
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self { role: "user".into(), content: Some(content.into()), tool_calls: None, tool_call_id: None }
    }

    pub fn assistant(content: Option<String>, tool_calls: Vec<WireToolCall>) -> Self {
        let tool_calls = (!tool_calls.is_empty()).then_some(tool_calls);
        Self { role: "assistant".into(), content, tool_calls, tool_call_id: None }
    }

    pub fn tool(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: "tool".into(),
            content: Some(content.into()),
            tool_calls: None,
            tool_call_id: Some(tool_call_id.into()),
        }
    }
}

/// `{"id", "type": "function", "function": {"name", "arguments"}}`; `arguments` is a JSON text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireToolCall {
    pub id: String,
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    pub function: WireFunction,
}

fn function_type() -> String {
    "function".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireFunction {
    pub name: String,
    /// Some servers omit it for a call without arguments.
    #[serde(default)]
    pub arguments: String,
}

/// A tool offered to the model: `{"type": "function", "function": {name, description, parameters}}`.
#[derive(Debug, Clone, Serialize)]
pub struct WireTool {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: WireToolSpec,
}

#[derive(Debug, Clone, Serialize)]
pub struct WireToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub parameters: Value,
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: &'a [WireMessage],
    tools: &'a [WireTool],
    tool_choice: &'static str,
}

#[derive(Deserialize)]
struct Reply {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: ReplyMessage,
}

#[derive(Deserialize)]
struct ReplyMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

/// What the model answered: text, tool calls, or both.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub content: Option<String>,
    pub tool_calls: Vec<WireToolCall>,
}

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("cannot connect to the language model service: {0}")]
    Unreachable(String),
    #[error("the language model service did not answer within {} seconds", .0.as_secs().max(1))]
    TimedOut(Duration),
    #[error(
        "the language model service is rate limiting requests (HTTP 429) and still was after {attempts} attempts"
    )]
    RateLimited { attempts: u32 },
    #[error("the language model service failed with HTTP {status} {attempts} times in a row")]
    ServerError { status: u16, attempts: u32 },
    #[error("the language model service refused the request with HTTP {status}: {message}")]
    Rejected { status: u16, message: String },
    #[error("the language model service sent something that is not a chat completion: {0}")]
    Malformed(String),
    #[error("the TLS connection to the language model service failed: {0}")]
    Tls(String),
}

impl LlmError {
    /// Refusals that only an operator can fix (key, model, URL), as opposed to outages.
    pub fn is_rejection(&self) -> bool {
        matches!(self, Self::Rejected { .. } | Self::Tls(_))
    }

    /// The sentence a chat user sees. Never contains the key; names the setting to fix when
    /// the fix is an operator's.
    pub fn user_message(&self) -> String {
        match self {
            Self::Unreachable(_) => "The assistant's language model service cannot be reached right now \
                 (the connection failed). Try again in a moment."
                .into(),
            Self::TimedOut(after) => format!(
                "The assistant's language model service did not answer within {} seconds. Try again in a moment.",
                after.as_secs().max(1)
            ),
            Self::RateLimited { .. } => "The assistant's language model service is busy (it is rate limiting \
                 requests). Try again in a minute."
                .into(),
            Self::ServerError { status, .. } => format!(
                "The assistant's language model service is failing (HTTP {status}). Try again later."
            ),
            Self::Rejected { status: 401 | 403, .. } => "The assistant's language model service refused the \
                 server's API key. An operator needs to fix LLM_API_KEY (or set LLM_PROVIDER=offline)."
                .into(),
            Self::Rejected { status: 404, .. } => "The assistant's language model service does not know the \
                 configured endpoint or model (HTTP 404). An operator needs to check LLM_BASE_URL and LLM_MODEL."
                .into(),
            Self::Rejected { status, .. } => format!(
                "The assistant's language model service refused the request (HTTP {status}). An operator \
                 needs to check LLM_BASE_URL and LLM_MODEL."
            ),
            Self::Tls(_) => "The assistant's language model service could not be reached securely (its \
                 certificate is not trusted, or TLS failed). An operator needs to check LLM_BASE_URL."
                .into(),
            Self::Malformed(_) => "The assistant's language model service sent a reply that is not a chat \
                 completion. An operator needs to check LLM_BASE_URL."
                .into(),
        }
    }
}

/// The client, built once at startup; cheap to share.
#[derive(Clone)]
pub struct ChatClient {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    url: Uri,
    model: Arc<str>,
    /// `Bearer <key>`, marked sensitive so no header dump shows it.
    authorization: HeaderValue,
    api_key: ApiKey,
    timeout: Duration,
    max_retries: u32,
}

impl std::fmt::Debug for ChatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatClient")
            .field("url", &self.url)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl ChatClient {
    /// The settings were validated when read: the URL parses and the key is a header value.
    pub fn new(config: &OpenAiConfig) -> Self {
        // rustls with ring and the bundled Mozilla roots: the same TLS stack sqlx uses, and no
        // dependency on a CA store in the image (it has none).
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(config.timeout.min(Duration::from_secs(10))));
        // Plain http stays possible for a model server on the same host or network (Ollama,
        // vLLM); config warns when a key would cross a network in the clear. Redirects are never
        // followed: an API endpoint that redirects is a wrong LLM_BASE_URL.
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let http =
            Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(60)).build(https);
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", config.api_key.expose()))
            .expect("the key was checked to be a valid header value");
        authorization.set_sensitive(true);
        Self {
            http,
            url: format!("{}/chat/completions", config.base_url)
                .parse()
                .expect("the base URL was checked to parse"),
            model: config.model.as_str().into(),
            authorization,
            api_key: config.api_key.clone(),
            timeout: config.timeout,
            max_retries: config.max_retries,
        }
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// One chat completion, retried on 429, 5xx, timeouts and connection failures with
    /// exponential backoff (or the server's `Retry-After`), each attempt bounded by the
    /// configured timeout and all of them by `deadline`.
    pub async fn complete(
        &self,
        messages: &[WireMessage],
        tools: &[WireTool],
        deadline: Instant,
    ) -> Result<Completion, LlmError> {
        let body =
            serde_json::to_vec(&ChatRequest { model: &self.model, messages, tools, tool_choice: "auto" })
                .expect("a chat request serialises");
        let body = Bytes::from(body);
        let attempts = self.max_retries + 1;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(LlmError::TimedOut(self.timeout));
            }
            let limit = self.timeout.min(remaining);
            let started = Instant::now();
            let outcome = match tokio::time::timeout(limit, self.attempt(body.clone())).await {
                Ok(outcome) => outcome,
                Err(_) => Attempt::Retry(LlmError::TimedOut(self.timeout), None),
            };
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let (error, retry_after) = match outcome {
                Attempt::Done(completion) => {
                    tracing::info!(model = %self.model, attempt, elapsed_ms, tool_calls = completion.tool_calls.len(), "llm call answered");
                    return Ok(completion);
                }
                Attempt::Fail(error) => {
                    tracing::warn!(model = %self.model, attempt, elapsed_ms, error = %error, "llm call failed");
                    return Err(error);
                }
                Attempt::Retry(error, retry_after) => (error, retry_after),
            };
            let error = match error {
                LlmError::RateLimited { .. } => LlmError::RateLimited { attempts: attempt },
                LlmError::ServerError { status, .. } => LlmError::ServerError { status, attempts: attempt },
                other => other,
            };
            let wait = retry_after.unwrap_or_else(|| backoff(attempt));
            let out_of_time = Instant::now() + wait >= deadline;
            if attempt >= attempts || out_of_time || wait > MAX_RETRY_AFTER {
                tracing::warn!(model = %self.model, attempt, elapsed_ms, error = %error, "llm call failed; not retrying");
                return Err(error);
            }
            tracing::warn!(model = %self.model, attempt, elapsed_ms, error = %error, retry_in_ms = wait.as_millis() as u64, "llm call failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt(&self, body: Bytes) -> Attempt {
        let request = Request::post(self.url.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, concat!("todo-api/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(body))
            .expect("a request from valid parts");
        let response = match self.http.request(request).await {
            Ok(response) => response,
            // A certificate the server presents will not change by asking again.
            Err(e) if is_tls_failure(&e) => return Attempt::Fail(LlmError::Tls(self.describe(&e))),
            Err(e) => return Attempt::Retry(LlmError::Unreachable(self.describe(&e)), None),
        };
        let (parts, body) = response.into_parts();
        let retry_after = retry_after(&parts.headers);
        let bytes = match Limited::new(body, MAX_REPLY_BYTES).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<LengthLimitError>() => {
                return Attempt::Fail(LlmError::Malformed(format!(
                    "the reply is larger than {MAX_REPLY_BYTES} bytes"
                )));
            }
            Err(e) => return Attempt::Retry(LlmError::Unreachable(self.describe(&*e)), None),
        };
        match parts.status {
            s if s.is_success() => match parse_reply(&bytes) {
                Ok(completion) => Attempt::Done(completion),
                Err(e) => Attempt::Fail(e),
            },
            StatusCode::TOO_MANY_REQUESTS => {
                Attempt::Retry(LlmError::RateLimited { attempts: 1 }, retry_after)
            }
            // 408 and the 5xx family are transient by definition; 529 is "overloaded" on some
            // providers.
            s if s == StatusCode::REQUEST_TIMEOUT || s.is_server_error() => {
                Attempt::Retry(LlmError::ServerError { status: s.as_u16(), attempts: 1 }, retry_after)
            }
            s => {
                let message = self.redact(
                    &provider_message(&bytes)
                        .unwrap_or_else(|| s.canonical_reason().unwrap_or("no reason given").to_owned()),
                );
                Attempt::Fail(LlmError::Rejected { status: s.as_u16(), message })
            }
        }
    }

    /// A transport error with its causes ("client error (Connect): tcp connect error: Connection
    /// refused"), for the log.
    fn describe(&self, e: &(dyn std::error::Error + 'static)) -> String {
        let mut text = e.to_string();
        let mut source = e.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        self.redact(&text)
    }

    /// Provider messages sometimes quote the key back (partly masked): never pass it on.
    fn redact(&self, text: &str) -> String {
        let key = self.api_key.expose();
        let text = if key.len() >= 8 { text.replace(key, "<redacted>") } else { text.to_owned() };
        text.chars().take(MAX_LOGGED_MESSAGE).collect()
    }
}

enum Attempt {
    Done(Completion),
    /// Worth another attempt, after the server's `Retry-After` if it sent one.
    Retry(LlmError, Option<Duration>),
    Fail(LlmError),
}

/// Whether a connection failed in the TLS handshake: rustls's error somewhere in the chain.
fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(e) = cause {
        if e.is::<rustls::Error>() {
            return true;
        }
        // An io::Error's `source` skips the error it wraps (hyper-util's connect error holds an
        // io::Error holding an io::Error holding rustls's): look inside, however deep.
        let mut wrapped = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref());
        while let Some(inner) = wrapped {
            if inner.is::<rustls::Error>() {
                return true;
            }
            wrapped = inner.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref());
        }
        cause = e.source();
    }
    false
}

fn backoff(attempt: u32) -> Duration {
    let base = FIRST_BACKOFF * 2u32.saturating_pow(attempt.saturating_sub(1));
    // ±25% jitter, so replicas retrying together do not stay in step.
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    let factor = 0.75 + f64::from(byte[0]) / 255.0 * 0.5;
    base.mul_f64(factor)
}

/// `Retry-After` in seconds (the HTTP-date form is not used by these APIs). Any wait longer than
/// [`MAX_RETRY_AFTER`] is not waited for, so longer ones (up to `1e20`, which no `Duration` or
/// `Instant` holds) are all read as just over it: never a panic, never a retry.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let too_long = MAX_RETRY_AFTER + Duration::from_secs(1);
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let seconds = value.parse::<f64>().ok().filter(|s| !s.is_nan() && *s >= 0.0)?;
    Some(Duration::try_from_secs_f64(seconds).map_or(too_long, |wait| wait.min(too_long)))
}

/// `{"error": {"message": ...}}`, the OpenAI error shape most compatible servers copy; some
/// send `{"error": "..."}` or `{"message": ...}`.
fn provider_message(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let message = value
        .pointer("/error/message")
        .or_else(|| value.get("error").filter(|e| e.is_string()))
        .or_else(|| value.get("message"))?
        .as_str()?;
    Some(message.trim().to_owned()).filter(|m| !m.is_empty())
}

fn parse_reply(body: &[u8]) -> Result<Completion, LlmError> {
    let reply: Reply = serde_json::from_slice(body).map_err(|e| {
        let start: String = String::from_utf8_lossy(body).chars().take(80).collect();
        LlmError::Malformed(format!("{e} (the body starts with {start:?})"))
    })?;
    let Some(choice) = reply.choices.into_iter().next() else {
        return Err(LlmError::Malformed("the reply has no choices".into()));
    };
    let message = choice.message;
    let content = message.content.or(message.refusal).filter(|c| !c.trim().is_empty());
    let tool_calls = message.tool_calls.unwrap_or_default();
    if let Some(call) =
        tool_calls.iter().find(|c| c.id.trim().is_empty() || c.function.name.trim().is_empty())
    {
        return Err(LlmError::Malformed(format!("a tool call without an id or name: {call:?}")));
    }
    Ok(Completion { content, tool_calls })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_with_text_tool_calls_or_neither_are_read() {
        let text = br#"{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi!"},"finish_reason":"stop"}]}"#;
        assert_eq!(
            parse_reply(text).unwrap(),
            Completion { content: Some("Hi!".into()), tool_calls: vec![] }
        );
        let calls = br#"{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"add_task","arguments":"{\"title\":\"x\"}"}}]}}]}"#;
        let completion = parse_reply(calls).unwrap();
        assert_eq!(completion.content, None);
        assert_eq!(completion.tool_calls[0].function.arguments, r#"{"title":"x"}"#);
        assert!(matches!(parse_reply(b"<html>502 Bad Gateway</html>"), Err(LlmError::Malformed(_))));
        assert!(matches!(parse_reply(br#"{"choices":[]}"#), Err(LlmError::Malformed(_))));
        let nameless = br#"{"choices":[{"message":{"tool_calls":[{"id":"c","function":{"name":""}}]}}]}"#;
        assert!(matches!(parse_reply(nameless), Err(LlmError::Malformed(_))));
    }

    #[test]
    fn provider_messages_are_found_in_the_usual_shapes() {
        assert_eq!(
            provider_message(br#"{"error":{"message":"bad key","type":"x"}}"#).as_deref(),
            Some("bad key")
        );
        assert_eq!(provider_message(br#"{"error":"nope"}"#).as_deref(), Some("nope"));
        assert_eq!(provider_message(br#"{"message":"m"}"#).as_deref(), Some("m"));
        assert_eq!(provider_message(b"plain"), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_retry_after_is_read() {
        for attempt in 1..=3u32 {
            let base = 500.0 * f64::from(2u32.pow(attempt - 1));
            let ms = backoff(attempt).as_secs_f64() * 1000.0;
            assert!((base * 0.75..=base * 1.25).contains(&ms), "attempt {attempt}: {ms}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert(RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
        // Waits beyond any Duration are read as too long to wait for, not as a panic.
        for huge in ["1e20", "inf", "3600"] {
            headers.insert(RETRY_AFTER, huge.parse().unwrap());
            let wait = retry_after(&headers).unwrap();
            assert!(
                wait > MAX_RETRY_AFTER && wait <= MAX_RETRY_AFTER + Duration::from_secs(1),
                "{huge}: {wait:?}"
            );
        }
        headers.insert(RETRY_AFTER, "-1".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn tls_failures_are_found_in_the_error_chain() {
        let handshake = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert!(is_tls_failure(&handshake));
        // As hyper-util's connector reports it.
        assert!(is_tls_failure(&std::io::Error::other(handshake)));
        assert!(!is_tls_failure(&std::io::Error::from(std::io::ErrorKind::ConnectionRefused)));
        assert!(LlmError::Tls("x".into()).is_rejection());
    }

    #[test]
    fn user_messages_never_carry_provider_text() {
        let e =
            LlmError::Rejected { status: 401, message: "Incorrect API key provided: sk-abc***xyz".into() };
        assert!(e.is_rejection());
        assert!(!e.user_message().contains("sk-"), "{}", e.user_message());
        assert!(e.user_message().contains("LLM_API_KEY"));
    }
}
