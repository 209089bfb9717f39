//! One turn of a conversation, whichever agent takes it: who it acts for and by when
//! ([`TurnContext`]), the task changes it may make ([`TurnWrites`]), running a tool call as the
//! signed-in user ([`run`]), and the stored shape it builds as it goes ([`TurnLog`], [`Turn`]).
//!
//! The bottom layer of the agent: it knows tools and the conversation's stored form, and nothing
//! of the agents or of the questions a turn may ask.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::confirm::pending::Pending;
use crate::auth::UserId;
use crate::conversations::NewMessage;
use crate::db::Db;
use crate::error::ApiError;
use crate::rate_limit::WriteBudget;
use crate::shutdown::Lifecycle;
use crate::tools::{self, ToolCall, ToolError};

/// Who a turn acts for and how long it may take.
pub struct TurnContext<'a> {
    pub db: &'a Db,
    pub owner: UserId,
    /// The turn ends, with what it did so far, by this instant: before the request timeout.
    pub deadline: Instant,
    pub now: DateTime<Utc>,
    pub writes: TurnWrites,
    pub draining: Draining,
}

/// The server's shutdown as a turn sees it. Once draining starts, a turn makes no further model
/// calls after its tools ran, and one still waiting on the model gives up when the grace period is
/// nearly over, so the turn ends with what it did, recorded, instead of being cut off unrecorded.
pub struct Draining {
    lifecycle: Lifecycle,
    /// How long after draining starts a turn may still run (the grace period less the time kept
    /// back to record the turn).
    allowance: std::time::Duration,
}

impl Draining {
    pub fn new(lifecycle: Lifecycle, allowance: std::time::Duration) -> Self {
        Self { lifecycle, allowance }
    }

    pub fn started(&self) -> bool {
        self.lifecycle.is_draining()
    }

    /// Resolves when the turn must stop waiting: `allowance` after draining started.
    pub async fn over(&self) {
        self.lifecycle.draining().await;
        tokio::time::sleep(self.allowance).await;
    }
}

/// The task changes a turn may make. `POST /api/chat` is charged one write like any REST write,
/// which pays for the turn's first change; each further change is charged to the same per-minute
/// budgets, so that one message ("mark 1 2 3 … done") cannot buy hundreds of writes. Once a
/// change is refused the turn makes no more, and the refusal is the call's result.
pub struct TurnWrites {
    /// `None` charges nothing (a turn outside an HTTP request).
    budget: Option<WriteBudget>,
    made: AtomicUsize,
    refused: AtomicBool,
}

/// The result code of a change refused by the write budget.
pub const RATE_LIMITED: &str = "rate_limited";

impl TurnWrites {
    pub fn new(budget: Option<WriteBudget>) -> Self {
        Self { budget, made: AtomicUsize::new(0), refused: AtomicBool::new(false) }
    }

    /// Takes one write for `call` if it changes anything (reads are free).
    pub fn take_for(&self, call: &ToolCall) -> Result<(), ToolError> {
        if tools::spec(call.name()).is_some_and(|s| s.read_only) {
            return Ok(());
        }
        let refused = |detail: String| ToolError {
            code: RATE_LIMITED,
            message: format!(
                "the limit of task changes per minute is reached{detail}, so no more changes are made \
                 in this turn"
            ),
        };
        if self.refused.load(Ordering::Relaxed) {
            return Err(refused(String::new()));
        }
        // The request's own write pays for the first change.
        if self.made.fetch_add(1, Ordering::Relaxed) == 0 {
            return Ok(());
        }
        match self.budget.as_ref().map_or(Ok(()), WriteBudget::take) {
            Ok(()) => Ok(()),
            Err(wait) => {
                self.refused.store(true, Ordering::Relaxed);
                Err(refused(format!(" (try again in {} s)", wait.as_secs().max(1))))
            }
        }
    }
}

/// Whether a tool result is the write budget's refusal.
pub fn is_rate_limited(result: &Value) -> bool {
    result.get("error").and_then(|e| e.get("code")).and_then(Value::as_str) == Some(RATE_LIMITED)
}

/// One tool call of a turn, as the API reports it: the UI refreshes its list from these.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    pub tool: String,
    pub arguments: Value,
    pub result: Value,
}

/// A turn's outcome, ready to store after the user's message.
#[derive(Debug)]
pub struct Turn {
    pub messages: Vec<NewMessage>,
    pub actions: Vec<Action>,
    pub reply: String,
    /// What the conversation now waits for; `None` clears any earlier question.
    pub pending: Option<Pending>,
}

/// A tool call as a conversation stores it (an assistant message's `tool_calls`): its id, the
/// tool, and the arguments as the caller wrote them (JSON text, kept verbatim). Stored as
/// `{"id", "type": "function", "function": {"name", "arguments"}}`, the chat-completions shape,
/// so that a language model can be sent the history again as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "StoredShape", from = "StoredShape")]
pub struct StoredCall {
    pub id: String,
    /// `function` in every call made here; whatever a model sent, in one it made.
    pub kind: String,
    pub name: String,
    pub arguments: String,
}

impl StoredCall {
    /// A call made here, under a fresh id.
    pub fn new(name: impl Into<String>, arguments: &Value) -> Self {
        Self {
            id: new_call_id(),
            kind: "function".into(),
            name: name.into(),
            arguments: arguments.to_string(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct StoredShape {
    id: String,
    #[serde(rename = "type", default = "function_type")]
    kind: String,
    function: StoredFunction,
}

#[derive(Serialize, Deserialize)]
struct StoredFunction {
    name: String,
    #[serde(default)]
    arguments: String,
}

fn function_type() -> String {
    "function".into()
}

impl From<StoredShape> for StoredCall {
    fn from(s: StoredShape) -> Self {
        Self { id: s.id, kind: s.kind, name: s.function.name, arguments: s.function.arguments }
    }
}

impl From<StoredCall> for StoredShape {
    fn from(c: StoredCall) -> Self {
        Self { id: c.id, kind: c.kind, function: StoredFunction { name: c.name, arguments: c.arguments } }
    }
}

/// A tool call that ran: as the caller sent it (kept verbatim for the stored history), with its
/// arguments as JSON and its result.
#[derive(Debug, Clone)]
pub struct Executed {
    pub call: StoredCall,
    pub arguments: Value,
    pub result: Value,
}

/// The stored shape of a turn, built as it happens.
#[derive(Debug, Default)]
pub struct TurnLog {
    messages: Vec<NewMessage>,
    actions: Vec<Action>,
    /// Tasks this turn actually changed (completed, edited or deleted), which count toward
    /// needing a confirmation.
    changed: Vec<i64>,
}

impl TurnLog {
    /// An assistant step that called tools, then each call's result as a `tool` message.
    pub fn step(&mut self, content: Option<String>, executed: Vec<Executed>) {
        if executed.is_empty() {
            return;
        }
        let calls =
            executed.iter().map(|e| serde_json::to_value(&e.call).expect("a tool call serialises")).collect();
        self.messages.push(NewMessage::Assistant { content: content.unwrap_or_default(), tool_calls: calls });
        for e in executed {
            if tools::changes_a_task(&e.call.name)
                && tools::result_error(&e.result).is_none()
                && let Some(id) = e.result.get("id").and_then(Value::as_i64)
                && !self.changed.contains(&id)
            {
                self.changed.push(id);
            }
            self.messages.push(NewMessage::Tool { tool_call_id: e.call.id, content: e.result.to_string() });
            self.actions.push(Action { tool: e.call.name, arguments: e.arguments, result: e.result });
        }
    }

    /// Ids of the tasks this turn changed so far.
    pub fn changed(&self) -> &[i64] {
        &self.changed
    }

    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    pub fn finish(mut self, reply: impl Into<String>, pending: Option<Pending>) -> Turn {
        let reply = reply.into();
        self.messages.push(NewMessage::Assistant { content: reply.clone(), tool_calls: vec![] });
        Turn { messages: self.messages, actions: self.actions, reply, pending }
    }
}

/// Runs a validated call as the turn's owner, recording it under a fresh call id.
pub async fn run(ctx: &TurnContext<'_>, call: &ToolCall) -> Result<Executed, ApiError> {
    let arguments = call.arguments();
    let result = match ctx.writes.take_for(call) {
        Ok(()) => call.execute(ctx.db, ctx.owner).await?,
        Err(e) => e.to_result(),
    };
    Ok(Executed { call: StoredCall::new(call.name(), &arguments), arguments, result })
}

/// `call_` and 24 hex digits, in the style of the ids models give their calls.
pub fn new_call_id() -> String {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("call_{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_calls_keep_the_chat_completions_shape() {
        let call = StoredCall::new("add_task", &serde_json::json!({"title": "x"}));
        let value = serde_json::to_value(&call).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"id": call.id, "type": "function", "function": {"name": "add_task", "arguments": "{\"title\":\"x\"}"}})
        );
        assert_eq!(serde_json::from_value::<StoredCall>(value).unwrap(), call);
        let bare: StoredCall =
            serde_json::from_value(serde_json::json!({"id": "c", "function": {"name": "list_tasks"}}))
                .unwrap();
        assert_eq!((bare.kind.as_str(), bare.arguments.as_str()), ("function", ""));
    }
}
