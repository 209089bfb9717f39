//! The offline agent: plain English task commands, understood by [`grammar`] and carried out
//! with the same tools a language model uses. Deterministic and without network, so the product
//! and its tests work with no key.
//!
//! When words of a title fit more than one task it asks which (and remembers the question on the
//! conversation, so "the oat one" or "5" answers it); when it does not understand it says so and
//! shows what it does understand.

pub mod grammar;

use serde_json::{Value, json};

use self::grammar::{Intent, Ref};
use super::pending::{Answer, Pending};
use super::{Executed, Turn, TurnContext, TurnLog, confirmation_question, existing_tasks, run};
use crate::error::ApiError;
use crate::page::{MAX_LIMIT, PageRequest};
use crate::tasks::{StatusFilter, Task, TaskFilter, store};
use crate::tools::matching::{Coverage, find_by_title_covered};
use crate::tools::matching::{same_word, significant_words};
use crate::tools::{self, Match, ToolCall};

const EXAMPLES: &str = "For example:\n\
    \u{2022} add buy oat milk (or: remind me to call mom tomorrow)\n\
    \u{2022} what's on my list / show completed tasks / find milk\n\
    \u{2022} mark 3 done / I finished the milk one\n\
    \u{2022} rename 3 to buy oat milk\n\
    \u{2022} delete 3 / delete all completed tasks";

/// Tasks shown in a list reply; the rest are counted.
const LIST_SHOWN: usize = 20;
/// Most task ids one message may name ("mark 1 2 3 done"): a message is one request, and
/// hundreds of changes from it would be write amplification.
pub const MAX_IDS_PER_MESSAGE: usize = 20;

pub async fn respond(ctx: &TurnContext<'_>, message: &str) -> Result<Turn, ApiError> {
    let mut log = TurnLog::default();
    let (reply, pending) = match grammar::parse(message) {
        Intent::Help => (
            format!(
                "I'm the built-in assistant (no AI model is configured here), so I understand plain task \
                 commands. Tasks are numbered by id, like #3. {EXAMPLES}"
            ),
            None,
        ),
        Intent::Greeting => {
            ("Hi! I can add, list, complete, rename and delete your tasks. Try \u{201c}add buy milk\u{201d} or \u{201c}what's on my list\u{201d}.".into(), None)
        }
        Intent::Thanks => ("Glad to help. Anything else?".into(), None),
        Intent::Incomplete(hint) => (hint.into(), None),
        // A yes or no with no question open.
        Intent::Unknown if super::pending::classify(message) != Answer::Other => {
            ("There's nothing waiting for an answer right now. What would you like to do with your tasks?".into(), None)
        }
        Intent::Unknown => (format!("Sorry, I didn't understand that. I can add, list, complete, rename and delete tasks. {EXAMPLES}"), None),
        Intent::Add { title, description } => {
            let mut arguments = json!({"title": title});
            if let Some(d) = description {
                arguments["description"] = json!(d);
            }
            (single(ctx, &mut log, tools::ADD_TASK, arguments).await?, None)
        }
        Intent::List { status, query } => {
            let mut arguments = json!({"status": tools::status_name(status)});
            if let Some(q) = &query {
                arguments["query"] = json!(q);
            }
            match ToolCall::parse(tools::LIST_TASKS, &arguments) {
                Ok(call) => {
                    let executed = run(ctx, &call).await?;
                    let reply = describe_list(&executed.result, status, query.as_deref());
                    log.step(None, vec![executed]);
                    (reply, None)
                }
                Err(e) => (format!("I can't search for that: {}.", e.message), None),
            }
        }
        Intent::Complete { target, completed } => {
            let arguments = if completed { json!({}) } else { json!({"completed": false}) };
            act(ctx, &mut log, tools::COMPLETE_TASK, arguments, target, Some(!completed)).await?
        }
        Intent::Rename { target, title } => {
            act(ctx, &mut log, tools::UPDATE_TASK, json!({"title": title}), target, None).await?
        }
        Intent::Describe { target, description } => {
            act(ctx, &mut log, tools::UPDATE_TASK, json!({"description": description}), target, None).await?
        }
        Intent::Delete { target } => act(ctx, &mut log, tools::DELETE_TASK, json!({}), target, None).await?,
        Intent::DeleteAll { status } => {
            let filter = TaskFilter { status, search: None };
            let page = PageRequest::new(Some(MAX_LIMIT), None).expect("a valid page");
            let listed = store::list(ctx.db, ctx.owner, &filter, page).await?;
            let ids: Vec<i64> = listed.items.iter().map(|t| t.id).collect();
            let which = match status {
                StatusFilter::All => "",
                StatusFilter::Pending => "pending ",
                StatusFilter::Completed => "completed ",
            };
            if ids.is_empty() {
                (format!("You have no {which}tasks, so there is nothing to delete."), None)
            } else {
                let (mut reply, pending) = delete_many(ctx, &mut log, &ids).await?;
                // One question covers at most a page of tasks: say so, rather than let "all"
                // read as all of them.
                if listed.total > ids.len() as i64 {
                    reply.push_str(&format!(
                        " (That is the newest {} of your {} {which}tasks; ask again afterwards for the rest.)",
                        ids.len(),
                        listed.total
                    ));
                }
                (reply, pending)
            }
        }
    };
    Ok(log.finish(reply, pending))
}

/// Runs one call built from `arguments`; the reply describes its result.
async fn single(
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

/// `tool` on the task(s) `target` means: by id directly; by words once they fit exactly one
/// task, or after asking which.
async fn act(
    ctx: &TurnContext<'_>,
    log: &mut TurnLog,
    tool: &str,
    arguments: Value,
    target: Ref,
    prefer_completed: Option<bool>,
) -> Result<(String, Option<Pending>), ApiError> {
    let with_id = |id: i64| {
        let mut a = arguments.clone();
        a["task_id"] = json!(id);
        a
    };
    match target {
        Ref::Id(id) => Ok((single(ctx, log, tool, with_id(id)).await?, None)),
        Ref::Ids(ids) if ids.len() > MAX_IDS_PER_MESSAGE => Ok((
            format!(
                "That names {} tasks, but I change at most {MAX_IDS_PER_MESSAGE} per message, so I \
                 changed nothing. Please send them in smaller groups.",
                ids.len()
            ),
            None,
        )),
        Ref::Ids(ids) if tool == tools::DELETE_TASK => delete_many(ctx, log, &ids).await,
        Ref::Ids(ids) => {
            let mut replies = Vec::new();
            for id in ids {
                let reply = single(ctx, log, tool, with_id(id)).await?;
                replies.push(reply);
                // Refused by the write budget: the rest would be refused too.
                if log.actions().last().is_some_and(|a| super::is_rate_limited(&a.result)) {
                    break;
                }
            }
            Ok((replies.join(" "), None))
        }
        Ref::Words(words) => {
            match find_by_title_covered(ctx.db, ctx.owner, &words, prefer_completed).await? {
                (Match::One(task), _) => {
                    let already =
                        prefer_completed.is_some_and(|pending_wanted| task.completed != pending_wanted);
                    let reply = single(ctx, log, tool, with_id(task.id)).await?;
                    Ok(if already && tool == tools::COMPLETE_TASK {
                        (
                            format!(
                                "\u{201c}{}\u{201d} was already {}.",
                                task.title,
                                if task.completed { "done" } else { "open" }
                            ),
                            None,
                        )
                    } else {
                        (reply, None)
                    })
                }
                (Match::None, coverage) => Ok((
                    format!(
                        "I couldn't find a task matching \u{201c}{}\u{201d}{}. Say \u{201c}list\u{201d} to see your tasks.",
                        significant_words(&words).join(" "),
                        covered(coverage)
                    ),
                    None,
                )),
                (Match::Many(tasks), coverage) => {
                    let pending = Pending::Choose {
                        tool: tool.to_owned(),
                        arguments,
                        candidates: tasks.iter().map(|t| t.id).collect(),
                        asked_at: ctx.now,
                    };
                    Ok((which_one(&words, &tasks) + &covered(coverage), Some(pending)))
                }
            }
        }
    }
}

/// Deletes the tasks that exist of `ids`: at once if that is one task, after a yes otherwise.
async fn delete_many(
    ctx: &TurnContext<'_>,
    log: &mut TurnLog,
    ids: &[i64],
) -> Result<(String, Option<Pending>), ApiError> {
    let doomed = existing_tasks(ctx, ids).await?;
    match doomed.len() {
        0 if ids.len() == 1 => {
            Ok((single(ctx, log, tools::DELETE_TASK, json!({"task_id": ids[0]})).await?, None))
        }
        0 => Ok(("None of those tasks exist, so nothing was deleted.".into(), None)),
        n if n <= super::DELETES_WITHOUT_CONFIRMATION => {
            Ok((single(ctx, log, tools::DELETE_TASK, json!({"task_id": doomed[0].id})).await?, None))
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

/// When a title search compared only the newest tasks: which share of them, as in "looked at
/// the newest 100 of 150 tasks with those words"; empty when it compared them all.
fn covered(coverage: Coverage) -> String {
    if coverage.is_partial() {
        format!(
            " (I looked at the newest {} of your {} tasks with those words; give the task's number to reach an older one)",
            coverage.compared, coverage.total
        )
    } else {
        String::new()
    }
}

fn which_one(words: &str, tasks: &[Task]) -> String {
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

/// How the answer to a "which one?" went.
pub enum Choice {
    Done(Turn),
    /// Not one of the candidates: ask again, keeping the question.
    AskAgain(String),
    Cancelled,
    /// A new request rather than an answer.
    NotAnAnswer,
}

/// Resolves the answer to "which one?" among `candidates`: an id ("5", "#5"), a position ("the
/// second one"), words that fit exactly one ("the oat one"), or "both".
pub async fn answer_choice(
    ctx: &TurnContext<'_>,
    tool: &str,
    arguments: &Value,
    candidates: &[i64],
    message: &str,
) -> Result<Choice, ApiError> {
    if super::pending::classify(message) == Answer::No {
        return Ok(Choice::Cancelled);
    }
    let tasks = existing_tasks(ctx, candidates).await?;
    if tasks.is_empty() {
        return Ok(Choice::NotAnAnswer);
    }
    let options =
        || tasks.iter().map(|t| format!("#{} \u{201c}{}\u{201d}", t.id, t.title)).collect::<Vec<_>>();
    if super::pending::classify(message) == Answer::Yes {
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
    if tool == tools::DELETE_TASK && chosen.len() > super::DELETES_WITHOUT_CONFIRMATION {
        let ids: Vec<i64> = chosen.iter().map(|t| t.id).collect();
        let (reply, pending) = delete_many(ctx, &mut log, &ids).await?;
        return Ok(Choice::Done(log.finish(reply, pending)));
    }
    let mut replies = Vec::new();
    for task in chosen {
        let mut a = arguments.clone();
        a["task_id"] = json!(task.id);
        replies.push(single(ctx, &mut log, tool, a).await?);
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
    match executed.call.function.name.as_str() {
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

fn describe_list(result: &Value, status: StatusFilter, query: Option<&str>) -> String {
    let tasks = result.get("items").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let total = result.get("total").and_then(Value::as_i64).unwrap_or(tasks.len() as i64);
    let kind = match status {
        StatusFilter::All => "",
        StatusFilter::Pending => "pending ",
        StatusFilter::Completed => "completed ",
    };
    let matching = query.map(|q| format!(" matching \u{201c}{q}\u{201d}")).unwrap_or_default();
    if total == 0 {
        return match (status, query) {
            (StatusFilter::All, None) => {
                "Your list is empty. Add something with, for example, \u{201c}add buy milk\u{201d}.".into()
            }
            (StatusFilter::Pending, None) => "Nothing pending: you're all caught up.".into(),
            _ => format!("You have no {kind}tasks{matching}."),
        };
    }
    let noun = if total == 1 { "task" } else { "tasks" };
    let mut lines = vec![format!("You have {total} {kind}{noun}{matching}:")];
    for task in tasks.iter().take(LIST_SHOWN) {
        let done = if task["completed"] == json!(true) { " (done)" } else { "" };
        let title = task["title"].as_str().unwrap_or_default();
        lines.push(format!("\u{2022} #{} {title}{done}", task["id"]));
    }
    let shown = tasks.len().min(LIST_SHOWN) as i64;
    if total > shown {
        lines.push(format!("\u{2026}and {} more.", total - shown));
    }
    lines.join("\n")
}
