//! Conversation persistence, scoped to an owner like the task store.

use std::borrow::Cow;

use sqlx::types::Json;

use super::{Conversation, Message, NewMessage, Role};
use crate::auth::UserId;
use crate::db::{Db, Timestamp, on_pool};
use crate::page::{Page, PageRequest};

// Macros so `concat!` can build literal SQL, which is all sqlx accepts without an audit.
macro_rules! columns {
    () => {
        "id, title, created_at, updated_at"
    };
}
macro_rules! message_columns {
    () => {
        "id, role, content, tool_calls, tool_call_id, created_at"
    };
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    role: String,
    content: String,
    tool_calls: Option<Json<serde_json::Value>>,
    tool_call_id: Option<String>,
    created_at: Timestamp,
}

impl TryFrom<MessageRow> for Message {
    type Error = sqlx::Error;

    fn try_from(row: MessageRow) -> Result<Self, Self::Error> {
        let role = Role::parse(&row.role).ok_or_else(|| {
            sqlx::Error::Decode(format!("message {} has unknown role {:?}", row.id, row.role).into())
        })?;
        Ok(Message {
            id: row.id,
            role,
            content: row.content,
            tool_calls: row.tool_calls.map(|j| j.0),
            tool_call_id: row.tool_call_id,
            created_at: row.created_at,
        })
    }
}

pub async fn create(db: &Db, owner: UserId, title: Option<&str>) -> Result<Conversation, sqlx::Error> {
    let now = Timestamp::now();
    // Titles are derived from a first message, so an overlong one is shortened, not refused.
    let title: Option<String> = title
        .map(|t| t.trim().chars().take(super::TITLE_MAX_CHARS).collect())
        .filter(|t: &String| !t.is_empty());
    let sql = concat!(
        "INSERT INTO conversations (user_id, title, created_at, updated_at) \
         VALUES ($1, $2, $3, $3) RETURNING ",
        columns!()
    );
    on_pool!(db, pool => {
        sqlx::query_as::<_, Conversation>(sql)
            .bind(owner.0)
            .bind(title.as_deref())
            .bind(now)
            .fetch_one(pool)
            .await
    })
}

pub async fn get(db: &Db, owner: UserId, id: i64) -> Result<Option<Conversation>, sqlx::Error> {
    let sql = concat!("SELECT ", columns!(), " FROM conversations WHERE id = $1 AND user_id = $2");
    on_pool!(db, pool => {
        sqlx::query_as::<_, Conversation>(sql)
            .bind(id)
            .bind(owner.0)
            .fetch_optional(pool)
            .await
    })
}

/// Most recently active first.
pub async fn list(db: &Db, owner: UserId, page: PageRequest) -> Result<Page<Conversation>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM conversations WHERE user_id = $1 \
         ORDER BY updated_at DESC, id DESC LIMIT $2 OFFSET $3"
    );
    let (items, total) = on_pool!(db, pool => {
        let items = sqlx::query_as::<_, Conversation>(sql)
            .bind(owner.0)
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(pool)
            .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM conversations WHERE user_id = $1")
            .bind(owner.0)
            .fetch_one(pool)
            .await?;
        (items, total)
    });
    Ok(Page { items, total, limit: page.limit, offset: page.offset })
}

/// Appends a turn and marks the conversation active. `None` if the owner has no such
/// conversation.
pub async fn append_message(
    db: &Db,
    owner: UserId,
    conversation_id: i64,
    message: &NewMessage,
) -> Result<Option<Message>, sqlx::Error> {
    let appended = append(db, owner, conversation_id, std::slice::from_ref(message), Question::Keep).await?;
    Ok(appended.map(|mut messages| messages.remove(0)))
}

/// The messages of a conversation, oldest first: all of them, up to [`super::MAX_MESSAGES`]
/// (which the chat agent never exceeds). `None` if the owner has no such conversation.
pub async fn messages(
    db: &Db,
    owner: UserId,
    conversation_id: i64,
) -> Result<Option<Vec<Message>>, sqlx::Error> {
    recent_messages(db, owner, conversation_id, super::MAX_MESSAGES).await
}

/// The latest `limit` messages of a conversation, oldest first; `None` if the owner has no such
/// conversation.
pub async fn recent_messages(
    db: &Db,
    owner: UserId,
    conversation_id: i64,
    limit: i64,
) -> Result<Option<Vec<Message>>, sqlx::Error> {
    if get(db, owner, conversation_id).await?.is_none() {
        return Ok(None);
    }
    let sql = concat!(
        "SELECT ",
        message_columns!(),
        " FROM (SELECT ",
        message_columns!(),
        " FROM messages WHERE conversation_id = $1 ORDER BY id DESC LIMIT $2) AS recent ORDER BY id"
    );
    let rows = on_pool!(db, pool => {
        sqlx::query_as::<_, MessageRow>(sql)
            .bind(conversation_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
    });
    rows.into_iter().map(Message::try_from).collect::<Result<Vec<_>, _>>().map(Some)
}

/// How many messages a conversation holds, and what it waits for from the user (see
/// `agent::confirm::pending`); `None` if the owner has no such conversation.
pub async fn turn_state(
    db: &Db,
    owner: UserId,
    conversation_id: i64,
) -> Result<Option<(i64, Option<serde_json::Value>)>, sqlx::Error> {
    let sql = "SELECT (SELECT COUNT(*) FROM messages WHERE conversation_id = c.id), c.pending \
               FROM conversations c WHERE c.id = $1 AND c.user_id = $2";
    let row: Option<(i64, Option<Json<serde_json::Value>>)> = on_pool!(db, pool => {
        sqlx::query_as(sql).bind(conversation_id).bind(owner.0).fetch_optional(pool).await?
    });
    Ok(row.map(|(count, pending)| (count, pending.map(|p| p.0))))
}

/// Appends a whole chat turn in one transaction and sets what the conversation now waits for
/// (`None` clears it). `false` if the owner has no such conversation (nothing is written).
pub async fn record_turn(
    db: &Db,
    owner: UserId,
    conversation_id: i64,
    messages: &[NewMessage],
    pending: Option<&serde_json::Value>,
) -> Result<bool, sqlx::Error> {
    Ok(append(db, owner, conversation_id, messages, Question::Set(pending)).await?.is_some())
}

/// What an append does to the question a conversation waits on.
enum Question<'a> {
    Keep,
    /// `None` clears it.
    Set(Option<&'a serde_json::Value>),
}

/// Appends `messages` in one transaction and marks the conversation active. The conversation row
/// is updated first, in the same statement as the ownership check, which locks it until commit:
/// a message never lands in someone else's conversation, and two turns on one conversation cannot
/// interleave their messages. `None` if the owner has no such conversation (nothing is written).
async fn append(
    db: &Db,
    owner: UserId,
    conversation_id: i64,
    messages: &[NewMessage],
    question: Question<'_>,
) -> Result<Option<Vec<Message>>, sqlx::Error> {
    let now = Timestamp::now();
    let insert = concat!(
        "INSERT INTO messages (conversation_id, role, content, tool_calls, tool_call_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
        message_columns!()
    );
    let (claim, pending) = match question {
        Question::Keep => ("UPDATE conversations SET updated_at = $3 WHERE id = $1 AND user_id = $2", None),
        Question::Set(pending) => (
            "UPDATE conversations SET updated_at = $3, pending = $4 WHERE id = $1 AND user_id = $2",
            Some(pending.map(|p| Json(json_without_nul(p.clone())))),
        ),
    };
    let rows = on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let mut claim = sqlx::query(claim).bind(conversation_id).bind(owner.0).bind(now);
        if let Some(pending) = pending {
            claim = claim.bind(pending);
        }
        if claim.execute(&mut *tx).await?.rows_affected() != 1 {
            return Ok(None);
        }
        let mut rows = Vec::with_capacity(messages.len());
        for message in messages {
            let (role, content, tool_calls, tool_call_id) = columns_of(message);
            let row = sqlx::query_as::<_, MessageRow>(insert)
                .bind(conversation_id)
                .bind(role.as_str())
                .bind(content)
                .bind(tool_calls)
                .bind(tool_call_id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            rows.push(row);
        }
        tx.commit().await?;
        rows
    });
    rows.into_iter().map(Message::try_from).collect::<Result<Vec<_>, _>>().map(Some)
}

type MessageColumns<'a> = (Role, Cow<'a, str>, Option<Json<serde_json::Value>>, Option<Cow<'a, str>>);

/// What a turn stores in each column: an empty tool-call list is stored as none. Without NULs:
/// a model's text and tool calls may hold U+0000, which Postgres refuses in TEXT and JSONB (the
/// whole turn, tools already run, would fail to be recorded), and which no reader needs.
fn columns_of(message: &NewMessage) -> MessageColumns<'_> {
    match message {
        NewMessage::User { content } => (Role::User, without_nul(content), None, None),
        NewMessage::Assistant { content, tool_calls } => (
            Role::Assistant,
            without_nul(content),
            (!tool_calls.is_empty())
                .then(|| Json(json_without_nul(serde_json::Value::Array(tool_calls.clone())))),
            None,
        ),
        NewMessage::Tool { tool_call_id, content } => {
            (Role::Tool, without_nul(content), None, Some(without_nul(tool_call_id)))
        }
    }
}

fn without_nul(text: &str) -> Cow<'_, str> {
    if text.contains('\0') { Cow::Owned(text.replace('\0', "")) } else { Cow::Borrowed(text) }
}

/// Every string of `value`, keys included, without NULs.
fn json_without_nul(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => Value::String(s.replace('\0', "")),
        Value::Array(items) => Value::Array(items.into_iter().map(json_without_nul).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter().map(|(k, v)| (without_nul(&k).into_owned(), json_without_nul(v))).collect(),
        ),
        other => other,
    }
}
