//! A scripted stand-in for an OpenAI-compatible chat-completions server, on loopback: it answers
//! `POST /v1/chat/completions` from a script (one step per request, in order) and records every
//! request it gets, so tests can check what the API sent and drive every reply a real provider
//! gives: text, tool calls, errors with their status codes and bodies, slowness.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::net::TcpListener;

pub const KEY: &str = "sk-scripted-test-key-0123456789";

#[derive(Debug, Clone)]
pub enum Step {
    /// 200 with this chat-completion body.
    Reply(Value),
    /// This status with an OpenAI-style error body, and a `Retry-After` if given.
    Error { status: u16, message: &'static str, retry_after: Option<u64> },
    /// 200 with a body that is not a chat completion.
    Garbage(&'static str),
    /// Answers only after this long (longer than the client waits, in the timeout tests).
    Slow(Duration, Box<Step>),
}

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Clone, Default)]
struct Shared {
    script: Arc<Mutex<VecDeque<Step>>>,
    received: Arc<Mutex<Vec<Received>>>,
}

pub struct ScriptedLlm {
    pub base_url: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptedLlm {
    pub async fn start(script: Vec<Step>) -> Self {
        let shared = Shared { script: Arc::new(Mutex::new(script.into())), ..Shared::default() };
        let app = Router::new().route("/v1/chat/completions", post(answer)).with_state(shared.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { base_url: format!("http://{addr}/v1"), shared, task }
    }

    /// The settings that point the API at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("LLM_API_KEY", KEY.to_owned()),
            ("LLM_BASE_URL", self.base_url.clone()),
            ("LLM_MODEL", "scripted-model".to_owned()),
            ("LLM_TIMEOUT_SECS", "2".to_owned()),
            ("LLM_MAX_RETRIES", "2".to_owned()),
        ]
    }

    pub fn push(&self, steps: impl IntoIterator<Item = Step>) {
        self.shared.script.lock().unwrap().extend(steps);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }
}

impl Drop for ScriptedLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    shared.received.lock().unwrap().push(Received { authorization, body });
    let step = shared.script.lock().unwrap().pop_front();
    match step {
        Some(step) => play(step).await,
        None => error(500, "the test script has no more steps", None),
    }
}

async fn play(step: Step) -> Response {
    match step {
        Step::Reply(body) => ([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response(),
        Step::Error { status, message, retry_after } => error(status, message, retry_after),
        Step::Garbage(text) => ([(header::CONTENT_TYPE, "text/html")], text).into_response(),
        Step::Slow(wait, step) => {
            tokio::time::sleep(wait).await;
            Box::pin(play(*step)).await
        }
    }
}

fn error(status: u16, message: &str, retry_after: Option<u64>) -> Response {
    let body =
        json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}});
    let mut response = (
        StatusCode::from_u16(status).unwrap(),
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if let Some(secs) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, secs.into());
    }
    response
}

/// A final text answer, as chat-completions sends it.
pub fn text(content: &str) -> Step {
    Step::Reply(completion(json!({"role": "assistant", "content": content}), "stop"))
}

/// A reply that calls tools: (name, arguments) each, with ids `call_<n>`.
pub fn tool_calls(calls: &[(&str, Value)]) -> Step {
    let calls: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(i, (name, arguments))| {
            json!({"id": format!("call_{i}"), "type": "function", "function": {"name": name, "arguments": arguments.to_string()}})
        })
        .collect();
    Step::Reply(completion(json!({"role": "assistant", "content": null, "tool_calls": calls}), "tool_calls"))
}

fn completion(message: Value, finish_reason: &str) -> Value {
    json!({
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": 1_790_000_000,
        "model": "scripted-model",
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}
    })
}

pub fn status(status: u16, message: &'static str) -> Step {
    Step::Error { status, message, retry_after: None }
}
