//! The offline agent: plain English task commands, understood by [`grammar`] and carried out
//! with the same tools a language model uses. Deterministic and without network, so the product
//! and its tests work with no key.
//!
//! When words of a title fit more than one task it asks which (and remembers the question on the
//! conversation, so "the oat one" or "5" answers it: see [`super::confirm`]); when it does not
//! understand it says so and shows what it does understand.

pub mod grammar;

use serde_json::{Value, json};

use self::grammar::{Intent, Ref};
use super::confirm::pending::{self, Answer, Pending};
use super::confirm::{delete_many, run_described, which_one};
use super::turn::{Turn, TurnContext, TurnLog, is_rate_limited, run};
use crate::error::ApiError;
use crate::page::{MAX_LIMIT, PageRequest};
use crate::tasks::{StatusFilter, TaskFilter, store};
use crate::tools::matching::significant_words;
use crate::tools::matching::{Coverage, find_by_title_covered};
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
        Intent::Unknown if pending::classify(message) != Answer::Other => {
            ("There's nothing waiting for an answer right now. What would you like to do with your tasks?".into(), None)
        }
        Intent::Unknown => (format!("Sorry, I didn't understand that. I can add, list, complete, rename and delete tasks. {EXAMPLES}"), None),
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
        Ref::Words(words) => {
            match find_by_title_covered(ctx.db, ctx.owner, &words, prefer_completed).await? {
                (Match::One(task), _) => {
                    let already =
                        prefer_completed.is_some_and(|pending_wanted| task.completed != pending_wanted);
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
