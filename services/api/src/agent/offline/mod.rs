//! The offline agent: plain English task commands, understood by [`grammar`] and carried out
//! with the same tools a language model uses. Deterministic and without network, so the product
//! and its tests work with no key.
//!
//! When words of a title fit more than one task it asks which (and remembers the question on the
//! conversation, so "the oat one" or "5" answers it: see [`super::confirm`]); when it does not
//! understand it says so, offers the closest command it can form ([`suggest`]) and shows what it
//! does understand.
//!
//! Tasks are named by their number in the user's own list (#1 is their first task), the number
//! the task list shows.

pub mod grammar;
pub mod status_words;
mod suggest;

use serde_json::{Value, json};

use self::grammar::{Intent, Ref};
use super::confirm::pending::{self, Answer, Pending};
use super::confirm::{delete_many, existing_tasks, run_described, which_one};
use super::turn::{Turn, TurnContext, TurnLog, is_rate_limited, run};
use crate::error::ApiError;
use crate::page::{MAX_LIMIT, PageRequest};
use crate::tasks::{StatusFilter, TaskFilter, store};
use crate::tools::matching::significant_words;
use crate::tools::matching::{Coverage, find_by_title_covered};
use crate::tools::{self, Match, ToolCall};

const EXAMPLES: &str = "For example:\n\
    \u{2022} add buy oat milk (or: schedule a dentist appointment for Friday)\n\
    \u{2022} what's on my list / which ones have I done / how many are left / find milk\n\
    \u{2022} mark 3 done / I bought the milk / the report isn't finished yet\n\
    \u{2022} rename 3 to buy oat milk\n\
    \u{2022} delete 3 / remove everything that's done";

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
                 commands. Tasks are numbered in your list, like #3. {EXAMPLES}"
            ),
            None,
        ),
        Intent::Greeting => {
            ("Hi! I can add, list, complete, rename and delete your tasks. Try \u{201c}add buy milk\u{201d} or \u{201c}what's on my list\u{201d}.".into(), None)
        }
        Intent::Thanks => ("Glad to help. Anything else?".into(), None),
        Intent::Incomplete(hint) => (hint.into(), None),
        // A yes or no with no question open.
        Intent::Unknown if pending::classify(message) != Answer::Other => {
            ("There's nothing waiting for an answer right now. What would you like to do with your tasks?".into(), None)
        }
        Intent::Unknown => {
            let guess = match suggest::closest(message).as_slice() {
                [] => String::new(),
                [one] => format!(" Did you mean \u{201c}{one}\u{201d}?"),
                [one, other, ..] => format!(" Did you mean \u{201c}{one}\u{201d} or \u{201c}{other}\u{201d}?"),
            };
            (
                format!(
                    "Sorry, I didn't understand that.{guess} I can add, list, count, complete, rename and delete tasks. {EXAMPLES}"
                ),
                None,
            )
        }
        Intent::Add { title, description } => {
            let mut arguments = json!({"title": title});
            if let Some(d) = description {
                arguments["description"] = json!(d);
            }
            (run_described(ctx, &mut log, tools::ADD_TASK, arguments).await?, None)
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
        Intent::Count { status, query } => (count(ctx, status, query.as_deref()).await?, None),
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
        Intent::Delete { target, status: None } => {
            act(ctx, &mut log, tools::DELETE_TASK, json!({}), target, None).await?
        }
        Intent::Delete { target, status: Some(status) } => {
            delete_in_state(ctx, &mut log, target, status).await?
        }
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
        Ref::Id(id) => Ok((run_described(ctx, log, tool, with_id(id)).await?, None)),
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
                let reply = run_described(ctx, log, tool, with_id(id)).await?;
                replies.push(reply);
                // Refused by the write budget: the rest would be refused too.
                if log.actions().last().is_some_and(|a| is_rate_limited(&a.result)) {
                    break;
                }
            }
            Ok((replies.join(" "), None))
        }
        Ref::Words(_) | Ref::Deed { .. } => {
            let (words, found) = find_words(ctx, target, prefer_completed).await?;
            by_words(ctx, log, tool, arguments, &words, found, prefer_completed, None).await
        }
    }
}

/// The tasks words of a title describe, and the words that found them. A deed ("I bought the
/// milk") is looked for as its verb and object ("buy the milk"), then, if nothing fits, as its
/// object alone ("the milk" finds "get milk").
async fn find_words(
    ctx: &TurnContext<'_>,
    target: Ref,
    prefer_completed: Option<bool>,
) -> Result<(String, (Match, Coverage)), ApiError> {
    let find = |words: String| async move {
        let found = find_by_title_covered(ctx.db, ctx.owner, &words, prefer_completed).await?;
        Ok::<_, ApiError>((words, found))
    };
    match target {
        Ref::Deed { verb, object } => {
            let both = find(format!("{verb} {object}")).await?;
            if matches!(both.1.0, Match::None) { find(object).await } else { Ok(both) }
        }
        Ref::Words(words) => find(words).await,
        Ref::Id(id) => find(id.to_string()).await,
        Ref::Ids(ids) => find(ids.iter().map(i64::to_string).collect::<Vec<_>>().join(" ")).await,
    }
}

/// `tool` on the task `found` by `words`: run once it is one task, asked about when several fit.
/// `state` names the state the tasks were restricted to, for the reply when none fits.
#[allow(clippy::too_many_arguments)]
async fn by_words(
    ctx: &TurnContext<'_>,
    log: &mut TurnLog,
    tool: &str,
    arguments: Value,
    words: &str,
    found: (Match, Coverage),
    prefer_completed: Option<bool>,
    state: Option<&str>,
) -> Result<(String, Option<Pending>), ApiError> {
    let with_id = |id: i64| {
        let mut a = arguments.clone();
        a["task_id"] = json!(id);
        a
    };
    match found {
        (Match::One(task), _) => {
            let already = prefer_completed.is_some_and(|pending_wanted| task.completed != pending_wanted);
            let reply = run_described(ctx, log, tool, with_id(task.id)).await?;
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
                "I couldn't find a {}task matching \u{201c}{}\u{201d}{}. Say \u{201c}list\u{201d} to see your tasks.",
                state.map(|s| format!("{s} ")).unwrap_or_default(),
                significant_words(words).join(" "),
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
            Ok((which_one(words, &tasks) + &covered(coverage), Some(pending)))
        }
    }
}

/// "delete the finished report", "delete completed task 3": deletes only tasks in the state the
/// message named, so a phrase with a state word never deletes a task in the other state.
async fn delete_in_state(
    ctx: &TurnContext<'_>,
    log: &mut TurnLog,
    target: Ref,
    status: StatusFilter,
) -> Result<(String, Option<Pending>), ApiError> {
    let (wanted, state) = match status {
        StatusFilter::All => return act(ctx, log, tools::DELETE_TASK, json!({}), target, None).await,
        StatusFilter::Completed => (true, "completed"),
        StatusFilter::Pending => (false, "pending"),
    };
    let ids = match target {
        Ref::Id(id) => vec![id],
        Ref::Ids(ids) if ids.len() <= MAX_IDS_PER_MESSAGE => ids,
        Ref::Ids(_) => return act(ctx, log, tools::DELETE_TASK, json!({}), target, None).await,
        words => {
            let (words, (found, coverage)) = find_words(ctx, words, Some(wanted)).await?;
            let found = match found {
                Match::One(task) if task.completed != wanted => Match::None,
                Match::Many(mut tasks) => {
                    tasks.retain(|t| t.completed == wanted);
                    match tasks.len() {
                        0 => Match::None,
                        1 => Match::One(tasks.remove(0)),
                        _ => Match::Many(tasks),
                    }
                }
                other => other,
            };
            let found = (found, coverage);
            return by_words(ctx, log, tools::DELETE_TASK, json!({}), &words, found, None, Some(state)).await;
        }
    };
    let tasks = existing_tasks(ctx, &ids).await?;
    if tasks.is_empty() {
        // Says which number does not exist.
        return delete_many(ctx, log, &ids).await;
    }
    let (kept, other): (Vec<_>, Vec<_>) = tasks.into_iter().partition(|t| t.completed == wanted);
    let (mut reply, pending) = if kept.is_empty() {
        (String::new(), None)
    } else {
        delete_many(ctx, log, &kept.iter().map(|t| t.id).collect::<Vec<_>>()).await?
    };
    if !other.is_empty() {
        let named: Vec<String> =
            other.iter().map(|t| format!("#{} \u{201c}{}\u{201d}", t.id, t.title)).collect();
        let (is, it) = if other.len() == 1 { ("is", "it") } else { ("are", "them") };
        let note = format!("{} {is} not {state}, so I left {it} alone.", named.join(", "));
        reply = if reply.is_empty() { note } else { format!("{reply} {note}") };
    }
    Ok((reply, pending))
}

/// "how many tasks do I have": the number, split into pending and completed when no state was
/// asked for. Counted in the database, so it is right however long the list is.
async fn count(ctx: &TurnContext<'_>, status: StatusFilter, query: Option<&str>) -> Result<String, ApiError> {
    let total_of = |status: StatusFilter| async move {
        let Ok(filter) = TaskFilter::new(status, query) else { return Ok::<_, ApiError>(None) };
        let page = PageRequest::new(Some(1), None).expect("a valid page");
        Ok(Some(store::list(ctx.db, ctx.owner, &filter, page).await?.total))
    };
    let matching = query.map(|q| format!(" matching \u{201c}{q}\u{201d}")).unwrap_or_default();
    let tasks = |n: i64| if n == 1 { "task" } else { "tasks" };
    let (Some(pending), Some(completed)) =
        (total_of(StatusFilter::Pending).await?, total_of(StatusFilter::Completed).await?)
    else {
        return Ok("I can't count with those words; try \u{201c}how many tasks do I have\u{201d}.".into());
    };
    let all = pending + completed;
    Ok(match status {
        StatusFilter::All if all == 0 => format!("You have no tasks{matching}."),
        StatusFilter::All => {
            format!("You have {all} {}{matching}: {pending} pending and {completed} completed.", tasks(all))
        }
        StatusFilter::Pending => {
            format!("You have {pending} pending {}{matching} (of {all}).", tasks(pending))
        }
        StatusFilter::Completed => {
            format!("You have completed {completed} {}{matching} (of {all}).", tasks(completed))
        }
    })
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
