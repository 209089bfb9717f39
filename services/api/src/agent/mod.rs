//! The chat agent behind `POST /api/chat`: turns a user's message into tool calls on their tasks
//! and a reply, through a language model (any OpenAI-compatible endpoint) or, with no key, the
//! offline agent that understands plain English task commands.
//!
//! Whichever answers, the turn is recorded the same way (the user's message, each step's tool
//! calls and results, the reply), the same tools run as the signed-in user, and the same rules
//! hold: more than one deletion in a turn waits for the user's "yes" ([`confirm`]), as do changes
//! to more than one task asked for by a language model (which reads task text, and text can try
//! to steer it), and task text is only ever data.
//!
//! In layers, each importing only from those below it:
//! - `routes`: the HTTP handler, which loads and stores the conversation around a turn;
//! - this module: which agent answers ([`ChatAgent`], [`take_turn`]);
//! - [`offline`] and [`llm`]: the two agents;
//! - [`confirm`]: the questions a turn may leave waiting and their answers;
//! - [`turn`]: one turn's context, write budget, tool runs and stored log; and [`budget`], the
//!   language model's daily calls.

pub mod budget;
pub mod confirm;
pub mod llm;
pub mod offline;
mod routes;
pub mod turn;

pub use routes::{MESSAGE_MAX_CHARS, chat};

use self::confirm::Answered;
use self::confirm::pending::Pending;
use self::turn::{Turn, TurnContext};
use crate::config::{LlmConfig, LlmProvider};
use crate::conversations::Message;
use crate::error::ApiError;

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

/// Answers one message: first whatever the conversation was waiting for, then the agent.
pub async fn take_turn(
    agent: &ChatAgent,
    ctx: &TurnContext<'_>,
    history: &[Message],
    pending: Option<Pending>,
    message: &str,
) -> Result<Turn, ApiError> {
    let dropped = match confirm::answer(ctx, pending, message).await? {
        Answered::Turn(turn) => return Ok(turn),
        Answered::NotAnAnswer { dropped } => dropped,
    };
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
