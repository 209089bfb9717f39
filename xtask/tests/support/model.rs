//! A scripted OpenAI-compatible chat-completions server on loopback, for the built-in assistant's
//! model request and for kubectl-ai: answers each request as scripted (a message, or an HTTP
//! error with the provider's error body), records every request (headers and body).

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct ScriptedModel {
    /// `http://127.0.0.1:PORT/v1`, what LLM_BASE_URL / OPENAI_ENDPOINT are set to.
    pub url: String,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

/// One answer: status, content type, body.
type Answer = (u16, &'static str, String);

impl ScriptedModel {
    /// Answers each request (200) with the assistant message `answer` makes of (its index, its
    /// body): a chat completion, or server-sent events when the request asked for a stream.
    pub fn start(answer: impl Fn(usize, &str) -> serde_json::Value + Send + 'static) -> ScriptedModel {
        ScriptedModel::serve(move |index, body| {
            let message = answer(index, body);
            let finish = if message.get("tool_calls").is_some() { "tool_calls" } else { "stop" };
            let streamed = body.replace(' ', "").contains("\"stream\":true");
            if streamed {
                // Server-sent events: one chunk with the whole message as its delta.
                let chunk = serde_json::json!({
                    "id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 0, "model": "scripted",
                    "choices": [{"index": 0, "delta": message, "finish_reason": null}],
                });
                let done = serde_json::json!({
                    "id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 0, "model": "scripted",
                    "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
                });
                (200, "text/event-stream", format!("data: {chunk}\n\ndata: {done}\n\ndata: [DONE]\n\n"))
            } else {
                let reply = serde_json::json!({
                    "id": "chatcmpl-scripted", "object": "chat.completion", "created": 0, "model": "scripted",
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                });
                (200, "application/json", reply.to_string())
            }
        })
    }

    /// Answers every request with HTTP `status` and `body`, as a provider reports an error
    /// (`{"error": {"message": ...}}`).
    pub fn failing(status: u16, body: serde_json::Value) -> ScriptedModel {
        ScriptedModel::serve(move |_, _| (status, "application/json", body.to_string()))
    }

    fn serve(respond: impl Fn(usize, &str) -> Answer + Send + 'static) -> ScriptedModel {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://127.0.0.1:{}/v1", listener.local_addr().unwrap().port());
        let (requests, stop) = (Arc::new(Mutex::new(Vec::new())), Arc::new(AtomicBool::new(false)));
        let (seen, flag) = (requests.clone(), stop.clone());
        std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                stream.set_nonblocking(false).unwrap();
                stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let mut raw = Vec::new();
                let mut buf = [0u8; 8192];
                // Headers, then Content-Length bytes of body.
                let body_start = loop {
                    let Ok(n) = stream.read(&mut buf) else { break None };
                    if n == 0 {
                        break None;
                    }
                    raw.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&raw).into_owned();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if raw.len() >= end + 4 + length {
                            break Some(end + 4);
                        }
                    }
                };
                let Some(start) = body_start else { continue };
                let request = String::from_utf8_lossy(&raw).into_owned();
                let body = String::from_utf8_lossy(&raw[start..]).into_owned();
                let index = {
                    let mut all = seen.lock().unwrap();
                    all.push(request);
                    all.len() - 1
                };
                let (status, content_type, text) = respond(index, &body);
                let _ = stream.write_all(
                    format!(
                        "HTTP/1.1 {status} Scripted\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                        text.len()
                    )
                    .as_bytes(),
                );
            }
        });
        ScriptedModel { url, requests, stop }
    }

    /// Every request so far: request line, headers and body.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// The bodies of the requests so far.
    pub fn bodies(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|request| request.split_once("\r\n\r\n").map_or("", |(_, body)| body).to_owned())
            .collect()
    }
}

impl Drop for ScriptedModel {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
