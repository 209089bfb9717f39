//! The chat agent behind `POST /api/chat`: turns a user's message into tool calls on their tasks
//! and a reply, through a language model (any OpenAI-compatible endpoint) or, with no key, the
//! offline agent that understands plain English task commands.
//!
//! Whichever answers, the turn is recorded the same way (the user's message, each step's tool
//! calls and results, the reply), the same tools run as the signed-in user, and the same rules
//! hold: more than one deletion in a turn waits for the user's "yes" ([`pending`]), as do changes to
//! more than one task asked for by a language model (which reads task text, and text can try to
//! steer it), and task text is only ever data.

pub mod budget;
pub mod llm;
pub mod offline;
pub mod pending;
mod routes;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

pub use routes::chat;

use self::llm::client::{WireFunction, WireToolCall};
use self::pending::{Answer, HeldChange, Pending};
use crate::auth::UserId;
use crate::config::{LlmConfig, LlmProvider};
use crate::conversations::{Message, NewMessage};
use crate::db::Db;
use crate::error::ApiError;
use crate::rate_limit::WriteBudget;
use crate::shutdown::Lifecycle;
use crate::tasks::{Task, store};
use crate::tools::{self, ToolCall, ToolError};

/// A turn deletes at most this many tasks without asking first.
pub const DELETES_WITHOUT_CONFIRMATION: usize = 1;
/// A language model's turn changes (completes, edits or deletes) at most this many tasks without
/// asking first.
pub const CHANGES_WITHOUT_CONFIRMATION: usize = 1;

/// Who answers.
pub enum ChatAgent {
    Offline,
    Llm(Box<llm::LlmAgent>),
}

impl ChatAgent {
    pub fn new(config: &LlmConfig) -> Self {
        match &config.provider {
            LlmProvider::Offline => Self::Offline,
            LlmProvider::OpenAi(openai) => {
                Self::Llm(Box::new(llm::LlmAgent::new(openai, config.daily_calls_per_user)))
            }
        }
    }

    /// For the startup log.
    pub fn describe(&self) -> String {
        match self {
            Self::Offline => "offline (plain-English commands, no language model)".into(),
            Self::Llm(agent) => format!("language model {}", agent.model()),
        }
    }

    /// Whether answering needs the conversation so far (the offline agent reads only the
    /// message and what the conversation waits for).
    pub fn needs_history(&self) -> bool {
        matches!(self, Self::Llm(_))
    }
}

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

/// A tool call that ran: as the caller sent it (kept verbatim for the stored history) and with
/// its result.
#[derive(Debug, Clone)]
pub struct Executed {
    pub call: WireToolCall,
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
            if tools::changes_a_task(&e.call.function.name)
                && tools::result_error(&e.result).is_none()
                && let Some(id) = e.result.get("id").and_then(Value::as_i64)
                && !self.changed.contains(&id)
            {
                self.changed.push(id);
            }
            self.messages
                .push(NewMessage::Tool { tool_call_id: e.call.id.clone(), content: e.result.to_string() });
            self.actions.push(Action {
                tool: e.call.function.name,
                arguments: e.arguments,
                result: e.result,
            });
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
    Ok(Executed {
        call: WireToolCall {
            id: new_call_id(),
            kind: "function".into(),
            function: WireFunction { name: call.name().into(), arguments: arguments.to_string() },
        },
        arguments,
        result,
    })
}

/// `call_` and 24 hex digits, in the style of the ids models give their calls.
pub fn new_call_id() -> String {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("call_{hex}")
}

/// Answers one message: first whatever the conversation was waiting for, then the agent.
pub async fn take_turn(
    agent: &ChatAgent,
    ctx: &TurnContext<'_>,
    history: &[Message],
    pending: Option<Pending>,
    message: &str,
) -> Result<Turn, ApiError> {
    let pending = pending.filter(|p| !p.is_expired(ctx.now));
    let mut dropped = None;
    match pending {
        Some(Pending::Confirm { task_ids, changes, .. }) => match pending::classify(message) {
            Answer::Yes if changes.is_empty() => return confirm_deletes(ctx, &task_ids).await,
            Answer::Yes => return confirm_changes(ctx, &changes, &task_ids).await,
            Answer::No if changes.is_empty() => {
                return Ok(TurnLog::default().finish("OK, I didn't delete anything.", None));
            }
            Answer::No => return Ok(TurnLog::default().finish("OK, I didn't change anything.", None)),
            Answer::Other if changes.is_empty() => {
                dropped = Some("(I didn't delete the tasks I asked about.)")
            }
            Answer::Other => dropped = Some("(I didn't change the tasks I asked about.)"),
        },
        Some(Pending::Choose { tool, arguments, candidates, asked_at }) => {
            match offline::answer_choice(ctx, &tool, &arguments, &candidates, message).await? {
                offline::Choice::Done(turn) => return Ok(turn),
                offline::Choice::AskAgain(reply) => {
                    let pending = Pending::Choose { tool, arguments, candidates, asked_at };
                    return Ok(TurnLog::default().finish(reply, Some(pending)));
                }
                offline::Choice::Cancelled => return Ok(TurnLog::default().finish("OK, never mind.", None)),
                offline::Choice::NotAnAnswer => {}
            }
        }
        None => {}
    }
    let mut turn = match agent {
        ChatAgent::Offline => offline::respond(ctx, message).await?,
        ChatAgent::Llm(llm) => {
            llm.respond(ctx, if agent.needs_history() { history } else { &[] }, message).await?
        }
    };
    if let Some(note) = dropped {
        turn.reply = format!("{note} {}", turn.reply);
    }
    Ok(turn)
}

/// The held deletions, now that the user said yes. No model is involved.
async fn confirm_deletes(ctx: &TurnContext<'_>, task_ids: &[i64]) -> Result<Turn, ApiError> {
    let mut executed = Vec::with_capacity(task_ids.len());
    let mut limited = false;
    for &task_id in task_ids {
        let e = run(ctx, &ToolCall::DeleteTask { task_id }).await?;
        if is_rate_limited(&e.result) {
            limited = true;
            break;
        }
        executed.push(e);
    }
    let deleted: Vec<String> = executed
        .iter()
        .filter(|e| tools::result_error(&e.result).is_none())
        .filter_map(|e| e.result.get("title").and_then(Value::as_str).map(|t| format!("\u{201c}{t}\u{201d}")))
        .collect();
    let gone = executed.len() - deleted.len();
    let mut reply = match deleted.len() {
        0 => "Those tasks were already gone; nothing was deleted.".to_owned(),
        1 => format!("Deleted {}.", deleted[0]),
        n => format!("Deleted {n} tasks: {}.", deleted.join(", ")),
    };
    if gone > 0 && !deleted.is_empty() {
        reply.push_str(&format!(" ({gone} of them had already been deleted.)"));
    }
    if limited {
        reply.push_str(&format!(
            " I stopped there: the limit of task changes per minute is reached, so {} of the {} were \
             not deleted. Ask again in a minute.",
            task_ids.len() - executed.len(),
            task_ids.len()
        ));
    }
    let mut log = TurnLog::default();
    log.step(None, executed);
    Ok(log.finish(reply, None))
}

/// The held changes and deletions, now that the user said yes: the changes first (a change to a
/// task also being deleted would otherwise fail), each described as the offline agent describes
/// it. No model is involved.
async fn confirm_changes(
    ctx: &TurnContext<'_>,
    changes: &[HeldChange],
    task_ids: &[i64],
) -> Result<Turn, ApiError> {
    let mut log = TurnLog::default();
    let mut replies = Vec::new();
    let mut limited = false;
    for change in changes {
        // Held calls were validated when they were made; one that no longer parses (stored by
        // another version) is skipped rather than guessed at.
        let Ok(call) = ToolCall::parse(&change.tool, &change.arguments) else { continue };
        let executed = run(ctx, &call).await?;
        limited = is_rate_limited(&executed.result);
        replies.push(offline::describe_result(&executed));
        log.step(None, vec![executed]);
        if limited {
            break;
        }
    }
    if !limited && !task_ids.is_empty() {
        let deletes = confirm_deletes(ctx, task_ids).await?;
        replies.push(deletes.reply);
        let Turn { mut messages, actions, .. } = deletes;
        // The deletions' step, without the reply confirm_deletes ended it with.
        messages.pop();
        log.messages.extend(messages);
        log.actions.extend(actions);
    }
    Ok(log.finish(replies.join(" "), None))
}

/// Whether a tool result is the write budget's refusal.
pub fn is_rate_limited(result: &Value) -> bool {
    result.get("error").and_then(|e| e.get("code")).and_then(Value::as_str) == Some(RATE_LIMITED)
}

/// The question that holds deletions: which tasks, and how to answer.
pub fn confirmation_question(tasks: &[Task]) -> String {
    const NAMED: usize = 10;
    let mut list: Vec<String> =
        tasks.iter().take(NAMED).map(|t| format!("#{} \u{201c}{}\u{201d}", t.id, t.title)).collect();
    if tasks.len() > NAMED {
        list.push(format!("and {} more", tasks.len() - NAMED));
    }
    let (noun, them) = if tasks.len() == 1 { ("task", "it") } else { ("tasks", "them") };
    format!(
        "That would delete {} {noun}: {}. Reply \u{201c}yes\u{201d} to delete {them}, or \u{201c}no\u{201d} to keep {them}.",
        tasks.len(),
        list.join(", ")
    )
}

/// The question that holds a model's changes to several tasks: what each would do, and how to
/// answer. Only deletions: the deletion question.
pub fn change_question(changes: &[(ToolCall, Task)], deletes: &[Task]) -> String {
    const NAMED: usize = 10;
    if changes.is_empty() {
        return confirmation_question(deletes);
    }
    let mut list: Vec<String> = changes
        .iter()
        .map(|(call, t)| {
            let task = format!("#{} \u{201c}{}\u{201d}", t.id, t.title);
            match call {
                ToolCall::CompleteTask { completed: true, .. } => format!("mark {task} done"),
                ToolCall::CompleteTask { completed: false, .. } => format!("reopen {task}"),
                ToolCall::UpdateTask { patch, .. } => match &patch.title {
                    Some(title) => format!("rename {task} to \u{201c}{}\u{201d}", title.as_str()),
                    None => format!("change the description of {task}"),
                },
                _ => format!("change {task}"),
            }
        })
        .chain(deletes.iter().map(|t| format!("delete #{} \u{201c}{}\u{201d}", t.id, t.title)))
        .collect();
    let count = list.len();
    if count > NAMED {
        list.truncate(NAMED);
        list.push(format!("and {} more", count - NAMED));
    }
    let noun = if count == 1 { "change" } else { "changes" };
    format!(
        "That would make {count} {noun}: {}. Reply \u{201c}yes\u{201d} to go ahead, or \u{201c}no\u{201d} to leave your tasks as they are.",
        list.join(", ")
    )
}

/// Of the tasks a turn wants deleted, those that exist (the owner's; others are not found and so
/// harmless to attempt).
pub async fn existing_tasks(ctx: &TurnContext<'_>, task_ids: &[i64]) -> Result<Vec<Task>, ApiError> {
    let mut tasks = Vec::with_capacity(task_ids.len());
    for &id in task_ids {
        if let Some(task) = store::get(ctx.db, ctx.owner, id).await?
            && !tasks.iter().any(|t: &Task| t.id == id)
        {
            tasks.push(task);
        }
    }
    Ok(tasks)
}
