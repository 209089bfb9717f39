//! The questions a turn may leave a conversation waiting on, and their answers: a yes to held
//! deletions or changes, or which of several matching tasks was meant ([`pending`] is how they
//! are stored). Both agents ask them; the answers are taken here, before any agent is asked, and
//! no model is involved in running what a yes confirms.
//!
//! Also how one executed call is told in a sentence ([`describe_result`]), which is how the
//! offline agent replies and how confirmed changes are reported whichever agent held them.

pub mod pending;

use serde_json::{Value, json};

use self::pending::{Answer, HeldChange, Pending};
use super::turn::{Executed, Turn, TurnContext, TurnLog, is_rate_limited, run};
use crate::error::ApiError;
use crate::tasks::{Task, store};
use crate::tools::matching::{same_word, significant_words};
use crate::tools::{self, ToolCall};

/// A turn deletes at most this many tasks without asking first.
pub const DELETES_WITHOUT_CONFIRMATION: usize = 1;
/// A language model's turn changes (completes, edits or deletes) at most this many tasks without
/// asking first.
pub const CHANGES_WITHOUT_CONFIRMATION: usize = 1;

/// What a message did to the question the conversation was waiting on.
pub enum Answered {
    /// It answered it, and this is the turn.
    Turn(Turn),
    /// It is a new request (or nothing was waiting): an agent takes it. `dropped` is the note put
    /// in front of the agent's reply when that drops held changes unrun.
    NotAnAnswer { dropped: Option<&'static str> },
}

/// Answers whatever the conversation was waiting for, if `message` is an answer to it. A question
/// older than [`pending::EXPIRES_AFTER`] counts as none.
pub async fn answer(
    ctx: &TurnContext<'_>,
    pending: Option<Pending>,
    message: &str,
) -> Result<Answered, ApiError> {
    let turn = match pending.filter(|p| !p.is_expired(ctx.now)) {
        Some(Pending::Confirm { task_ids, changes, .. }) => match pending::classify(message) {
            Answer::Yes if changes.is_empty() => confirm_deletes(ctx, &task_ids).await?,
            Answer::Yes => confirm_changes(ctx, &changes, &task_ids).await?,
            Answer::No if changes.is_empty() => {
                TurnLog::default().finish("OK, I didn't delete anything.", None)
            }
            Answer::No => TurnLog::default().finish("OK, I didn't change anything.", None),
            Answer::Other if changes.is_empty() => {
                return Ok(Answered::NotAnAnswer {
                    dropped: Some("(I didn't delete the tasks I asked about.)"),
                });
            }
            Answer::Other => {
                return Ok(Answered::NotAnAnswer {
                    dropped: Some("(I didn't change the tasks I asked about.)"),
                });
            }
        },
        Some(Pending::Choose { tool, arguments, candidates, asked_at }) => {
            match answer_choice(ctx, &tool, &arguments, &candidates, message).await? {
                Choice::Done(turn) => turn,
                Choice::AskAgain(reply) => {
                    let pending = Pending::Choose { tool, arguments, candidates, asked_at };
                    TurnLog::default().finish(reply, Some(pending))
                }
                Choice::Cancelled => TurnLog::default().finish("OK, never mind.", None),
                Choice::NotAnAnswer => return Ok(Answered::NotAnAnswer { dropped: None }),
            }
        }
        None => return Ok(Answered::NotAnAnswer { dropped: None }),
    };
    Ok(Answered::Turn(turn))
}

/// The held deletions, now that the user said yes. No model is involved.
async fn confirm_deletes(ctx: &TurnContext<'_>, task_ids: &[i64]) -> Result<Turn, ApiError> {
    let mut log = TurnLog::default();
    let reply = run_deletes(ctx, &mut log, task_ids).await?;
    Ok(log.finish(reply, None))
}

/// Deletes `task_ids` as one step of `log`, stopping at the write budget's refusal; the reply
/// says what was deleted.
async fn run_deletes(ctx: &TurnContext<'_>, log: &mut TurnLog, task_ids: &[i64]) -> Result<String, ApiError> {
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
    log.step(None, executed);
    Ok(reply)
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
        replies.push(describe_result(&executed));
        log.step(None, vec![executed]);
        if limited {
            break;
        }
    }
    if !limited && !task_ids.is_empty() {
        replies.push(run_deletes(ctx, &mut log, task_ids).await?);
    }
    Ok(log.finish(replies.join(" "), None))
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

/// The question asked when `words` fit several tasks: which one.
pub fn which_one(words: &str, tasks: &[Task]) -> String {
    // "the milk one" is quoted back as "milk".
    let significant = significant_words(words).join(" ");
    let words = if significant.is_empty() { words } else { &significant };
    let list: Vec<String> =
        tasks.iter().take(10).map(|t| format!("#{} \u{201c}{}\u{201d}", t.id, t.title)).collect();
    let more = if tasks.len() > 10 { format!(" (and {} more)", tasks.len() - 10) } else { String::new() };
    format!(
        "{} tasks match \u{201c}{words}\u{201d}: {}{more}. Which one do you mean? Reply with its number, for example \u{201c}{}\u{201d}.",
        tasks.len(),
        list.join(", "),
        tasks[0].id
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

/// Deletes the tasks that exist of `ids`: at once if that is one task, after a yes otherwise.
pub async fn delete_many(
    ctx: &TurnContext<'_>,
    log: &mut TurnLog,
    ids: &[i64],
) -> Result<(String, Option<Pending>), ApiError> {
    let doomed = existing_tasks(ctx, ids).await?;
    match doomed.len() {
        0 if ids.len() == 1 => {
            Ok((run_described(ctx, log, tools::DELETE_TASK, json!({"task_id": ids[0]})).await?, None))
        }
        0 => Ok(("None of those tasks exist, so nothing was deleted.".into(), None)),
        n if n <= DELETES_WITHOUT_CONFIRMATION => {
            Ok((run_described(ctx, log, tools::DELETE_TASK, json!({"task_id": doomed[0].id})).await?, None))
        }
        _ => {
            let pending = Pending::Confirm {
                task_ids: doomed.iter().map(|t| t.id).collect(),
                changes: vec![],
                asked_at: ctx.now,
            };
            Ok((confirmation_question(&doomed), Some(pending)))
        }
    }
}

/// Runs one call built from `arguments` as a step of `log`; the reply describes its result.
pub async fn run_described(
    ctx: &TurnContext<'_>,
    log: &mut TurnLog,
    tool: &str,
    arguments: Value,
) -> Result<String, ApiError> {
    match ToolCall::parse(tool, &arguments) {
        Ok(call) => {
            let executed = run(ctx, &call).await?;
            let reply = describe_result(&executed);
            log.step(None, vec![executed]);
            Ok(reply)
        }
        // The grammar's words broke a rule (a 300-character title): say which.
        Err(e) => Ok(format!("I couldn't do that: {}.", e.message)),
    }
}

/// How the answer to a "which one?" went.
enum Choice {
    Done(Turn),
    /// Not one of the candidates: ask again, keeping the question.
    AskAgain(String),
    Cancelled,
    /// A new request rather than an answer.
    NotAnAnswer,
}

/// Resolves the answer to "which one?" among `candidates`: an id ("5", "#5"), a position ("the
/// second one"), words that fit exactly one ("the oat one"), or "both".
async fn answer_choice(
    ctx: &TurnContext<'_>,
    tool: &str,
    arguments: &Value,
    candidates: &[i64],
    message: &str,
) -> Result<Choice, ApiError> {
    if pending::classify(message) == Answer::No {
        return Ok(Choice::Cancelled);
    }
    let tasks = existing_tasks(ctx, candidates).await?;
    if tasks.is_empty() {
        return Ok(Choice::NotAnAnswer);
    }
    let options =
        || tasks.iter().map(|t| format!("#{} \u{201c}{}\u{201d}", t.id, t.title)).collect::<Vec<_>>();
    if pending::classify(message) == Answer::Yes {
        return Ok(Choice::AskAgain(format!("Which one: {}?", options().join(" or "))));
    }
    let lower = message.trim().to_lowercase();
    let text = lower.trim_end_matches(['.', '!', '?']).trim();
    let text = ["i mean ", "i meant ", "it's ", "its ", "the one ", "number ", "task ", "#"]
        .iter()
        .fold(text, |t, p| t.strip_prefix(p).unwrap_or(t).trim());
    let chosen: Vec<&Task> = if let Ok(id) = text.trim_start_matches('#').parse::<i64>() {
        match tasks.iter().find(|t| t.id == id) {
            Some(task) => vec![task],
            None => {
                return Ok(Choice::AskAgain(format!(
                    "#{id} isn't one of them. Which one: {}?",
                    options().join(" or ")
                )));
            }
        }
    } else if ["both", "both of them", "all", "all of them", "each", "every one"].contains(&text) {
        tasks.iter().collect()
    } else if let Some(index) = ordinal(text, tasks.len()) {
        vec![&tasks[index]]
    } else {
        let words = significant_words(text);
        let fits: Vec<&Task> = tasks
            .iter()
            .filter(|t| {
                let title = significant_words(&t.title);
                !words.is_empty() && words.iter().all(|w| title.iter().any(|tw| same_word(w, tw)))
            })
            .collect();
        if fits.len() != 1 {
            return Ok(Choice::NotAnAnswer);
        }
        fits
    };

    let mut log = TurnLog::default();
    if tool == tools::DELETE_TASK && chosen.len() > DELETES_WITHOUT_CONFIRMATION {
        let ids: Vec<i64> = chosen.iter().map(|t| t.id).collect();
        let (reply, pending) = delete_many(ctx, &mut log, &ids).await?;
        return Ok(Choice::Done(log.finish(reply, pending)));
    }
    let mut replies = Vec::new();
    for task in chosen {
        let mut a = arguments.clone();
        a["task_id"] = json!(task.id);
        replies.push(run_described(ctx, &mut log, tool, a).await?);
    }
    Ok(Choice::Done(log.finish(replies.join(" "), None)))
}

fn ordinal(text: &str, count: usize) -> Option<usize> {
    let text = text.strip_prefix("the ").unwrap_or(text);
    let text = text.strip_suffix(" one").unwrap_or(text);
    let index = match text {
        "first" | "1st" | "former" => 0,
        "second" | "2nd" => 1,
        "third" | "3rd" => 2,
        "fourth" | "4th" => 3,
        "fifth" | "5th" => 4,
        "last" | "latter" => count.checked_sub(1)?,
        _ => return None,
    };
    (index < count).then_some(index)
}

/// One executed call in a sentence.
pub fn describe_result(executed: &Executed) -> String {
    let result = &executed.result;
    if let Some(error) = result.get("error") {
        let code = error.get("code").and_then(Value::as_str).unwrap_or("");
        let message = error.get("message").and_then(Value::as_str).unwrap_or("it failed");
        return match (code, executed.arguments.get("task_id").and_then(Value::as_i64)) {
            ("not_found", Some(id)) => {
                format!("You have no task #{id}. Say \u{201c}list\u{201d} to see your tasks.")
            }
            _ => format!("I couldn't do that: {message}."),
        };
    }
    let title = result.get("title").and_then(Value::as_str).unwrap_or("the task");
    let id = result.get("id").and_then(Value::as_i64).unwrap_or_default();
    match executed.call.name.as_str() {
        tools::ADD_TASK => format!("Added \u{201c}{title}\u{201d} to your list (#{id})."),
        tools::COMPLETE_TASK if result["completed"] == json!(true) => {
            format!("Marked \u{201c}{title}\u{201d} as done.")
        }
        tools::COMPLETE_TASK => format!("Reopened \u{201c}{title}\u{201d}."),
        tools::UPDATE_TASK if executed.arguments.get("title").is_some() => {
            format!("Renamed #{id} to \u{201c}{title}\u{201d}.")
        }
        tools::UPDATE_TASK if result["description"].is_null() => {
            format!("Removed the description of \u{201c}{title}\u{201d}.")
        }
        tools::UPDATE_TASK => format!("Updated the description of \u{201c}{title}\u{201d}."),
        tools::DELETE_TASK => format!("Deleted \u{201c}{title}\u{201d}."),
        _ => "Done.".into(),
    }
}
