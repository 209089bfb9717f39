//! Conversations with the chat agent and their messages: stored so the server keeps no state
//! between chat requests. `GET` routes read them; the chat agent writes them a whole turn at a
//! time through [`store::record_turn`].

mod routes;
pub mod store;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::db::Timestamp;

pub use routes::{list_conversations, list_messages};

pub const TITLE_MAX_CHARS: usize = 200;
/// Most messages a conversation holds. The chat endpoint starts a new conversation before a turn
/// could pass this, so reading one back (which returns at most this many) is bounded.
pub const MAX_MESSAGES: i64 = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Conversation {
    pub id: i64,
    pub title: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    Tool,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Role::User, Role::Assistant, Role::Tool].into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub id: i64,
    pub role: Role,
    pub content: String,
    /// For an assistant turn that called tools: the OpenAI-style `tool_calls` array.
    pub tool_calls: Option<Value>,
    /// For a tool turn: the id of the call whose result `content` is.
    pub tool_call_id: Option<String>,
    pub created_at: Timestamp,
}

/// One turn to store. The variants mirror what the schema allows, so an invalid combination
/// (a tool result without its call id, tool calls on a user turn) cannot be built.
#[derive(Debug, Clone, PartialEq)]
pub enum NewMessage {
    User {
        content: String,
    },
    Assistant {
        content: String,
        /// Each element an OpenAI-style `{id, type: "function", function: {name, arguments}}`.
        tool_calls: Vec<Value>,
    },
    Tool {
        tool_call_id: String,
        content: String,
    },
}
