//! `POST /api/chat`: one turn of a conversation. The conversation is read from and written to
//! the database on every turn, so whichever replica gets the next one can answer it.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::confirm::pending::Pending;
use super::turn::{Action, Draining, TurnContext, TurnWrites};
use super::{llm, take_turn};
use crate::auth::CurrentUser;
use crate::conversations::{MAX_MESSAGES, NewMessage, store};
use crate::error::ApiError;
use crate::http::extract::JsonBody;
use crate::rate_limit::WriteBudget;
use crate::state::AppState;

/// Longest message accepted, in characters: a paragraph or two of instructions.
pub const MESSAGE_MAX_CHARS: usize = 4000;
/// Most messages one turn can store: the user's, each round's call step and results (the calls
/// run and one error standing for any beyond them), the reply.
const MAX_TURN_MESSAGES: i64 = 2 + (llm::MAX_ROUNDS * (2 + llm::MAX_CALLS_PER_ROUND)) as i64;
// A conversation holds many turns before it rolls over.
const _: () = assert!(MAX_TURN_MESSAGES < MAX_MESSAGES / 4);
/// Time kept back from the request timeout (and from the shutdown grace period), so a turn ends
/// with its own answer (and its actions stored) rather than being cut off by the server's 503 or
/// by the end of the process.
const DEADLINE_MARGIN: Duration = Duration::from_secs(2);
const CONVERSATION_TITLE_CHARS: usize = 80;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatBody {
    #[serde(default, deserialize_with = "crate::http::extract::whole_number")]
    conversation_id: Option<i64>,
    message: String,
}

#[derive(Serialize)]
pub struct ChatReply {
    conversation_id: i64,
    reply: String,
    actions: Vec<Action>,
    /// The reply asks the user to confirm a bulk deletion or change; "yes" runs it.
    awaiting_confirmation: bool,
}

pub async fn chat(
    State(state): State<AppState>,
    CurrentUser(owner): CurrentUser,
    Extension(writes): Extension<WriteBudget>,
    JsonBody(body): JsonBody<ChatBody>,
) -> Result<Json<ChatReply>, ApiError> {
    let started = Instant::now();
    let message = validate(&body.message)?;
    let db = &state.db;

    // The conversation so far: what the agent needs of it, and whether it has room for a turn.
    let mut rolled_over = false;
    let (conversation_id, history, pending) = match body.conversation_id {
        None => (None, vec![], None),
        Some(id) => {
            let (count, pending) = store::turn_state(db, owner, id)
                .await?
                .ok_or(ApiError::NotFound("no conversation with this id"))?;
            if count + MAX_TURN_MESSAGES > MAX_MESSAGES {
                rolled_over = true;
                (None, vec![], None)
            } else {
                let history = if state.agent.needs_history() {
                    store::recent_messages(db, owner, id, llm::HISTORY_WINDOW).await?.unwrap_or_default()
                } else {
                    vec![]
                };
                (Some(id), history, pending.and_then(Pending::from_value))
            }
        }
    };

    let ctx = TurnContext {
        db,
        owner,
        deadline: started + state.request_timeout.saturating_sub(DEADLINE_MARGIN),
        now: chrono::Utc::now(),
        writes: TurnWrites::new(Some(writes)),
        draining: Draining::new(
            state.lifecycle.clone(),
            state.shutdown_grace.saturating_sub(DEADLINE_MARGIN),
        ),
    };
    let mut turn = take_turn(&state.agent, &ctx, &history, pending, &message).await?;
    if rolled_over {
        turn.reply = format!("(Your previous conversation was full, so this is a new one.) {}", turn.reply);
    }

    let conversation_id = match conversation_id {
        Some(id) => id,
        None => store::create(db, owner, Some(&title_of(&message))).await?.id,
    };
    let mut messages = Vec::with_capacity(turn.messages.len() + 1);
    messages.push(NewMessage::User { content: message });
    messages.append(&mut turn.messages);
    let pending = turn.pending.as_ref().map(Pending::to_value);
    if !store::record_turn(db, owner, conversation_id, &messages, pending.as_ref()).await? {
        // Deleted by another request while this turn ran.
        return Err(ApiError::NotFound("no conversation with this id"));
    }
    tracing::info!(
        conversation_id,
        actions = turn.actions.len(),
        awaiting_confirmation = turn.pending.is_some(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "chat turn answered"
    );
    Ok(Json(ChatReply {
        conversation_id,
        reply: turn.reply,
        actions: turn.actions,
        awaiting_confirmation: matches!(turn.pending, Some(Pending::Confirm { .. })),
    }))
}

fn validate(message: &str) -> Result<String, ApiError> {
    // Counted as sent, before trimming, as the OpenAPI document's maxLength says.
    if message.chars().count() > MESSAGE_MAX_CHARS {
        return Err(ApiError::Validation(format!("message must be at most {MESSAGE_MAX_CHARS} characters")));
    }
    let message = message.trim();
    if message.is_empty() {
        return Err(ApiError::Validation("message must not be empty".into()));
    }
    if message.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(ApiError::Validation("message must not contain control characters".into()));
    }
    Ok(message.to_owned())
}

/// The first line of the first message, shortened at a word.
fn title_of(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default().trim();
    if line.chars().count() <= CONVERSATION_TITLE_CHARS {
        return line.to_owned();
    }
    let cut: String = line.chars().take(CONVERSATION_TITLE_CHARS - 1).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head).trim_end();
    format!("{cut}\u{2026}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_trimmed_and_bounded() {
        assert_eq!(validate("  add milk \n").unwrap(), "add milk");
        assert!(validate(" ").is_err());
        assert!(validate(&"x".repeat(MESSAGE_MAX_CHARS + 1)).is_err());
        assert!(validate("a\0b").is_err());
        assert!(validate("two\nlines").is_ok());
    }

    #[test]
    fn titles_are_the_first_line_cut_at_a_word() {
        assert_eq!(title_of("add milk\nand more"), "add milk");
        let long = "word ".repeat(40);
        let title = title_of(&long);
        assert!(title.chars().count() <= CONVERSATION_TITLE_CHARS, "{title}");
        assert!(title.ends_with("word\u{2026}"), "{title}");
    }
}
