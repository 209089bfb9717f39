//! What a conversation waits for from the user, kept on the conversation row so that any replica
//! can take the next turn: a yes to a bulk change (deleting, completing or editing several tasks),
//! or which of several matching tasks was meant.
//!
//! A confirmation is the server's, not the model's: the changes are held, the user is asked in
//! words the server writes (listing the tasks), and only a plain "yes" on the next turn runs them.
//! Neither a model nor text inside a task can answer it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A question not answered within this long is dropped: a "yes" an hour later should not delete.
pub const EXPIRES_AFTER: chrono::Duration = chrono::Duration::minutes(10);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pending {
    /// Deleting these tasks, and making these other changes, waits for a yes.
    Confirm {
        task_ids: Vec<i64>,
        /// Held changes other than deletions. Absent in questions stored before they were held.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        changes: Vec<HeldChange>,
        asked_at: DateTime<Utc>,
    },
    /// Several tasks matched; `tool` with `arguments` (and the chosen `task_id`) runs once the
    /// user says which.
    Choose { tool: String, arguments: Value, candidates: Vec<i64>, asked_at: DateTime<Utc> },
}

/// A held change to one task: the tool and its arguments, naming the task by `task_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldChange {
    pub tool: String,
    pub arguments: Value,
}

impl Pending {
    pub fn asked_at(&self) -> DateTime<Utc> {
        match self {
            Self::Confirm { asked_at, .. } | Self::Choose { asked_at, .. } => *asked_at,
        }
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now - self.asked_at() > EXPIRES_AFTER
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a pending question serialises")
    }

    /// `None` for anything unreadable (written by another version, say): better to forget a
    /// question than to fail every later turn of the conversation.
    pub fn from_value(value: Value) -> Option<Self> {
        serde_json::from_value(value).ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// Anything else: a new request, which drops the question.
    Other,
}

/// A bare yes ("yes", "yes please", "go ahead", "delete them all") is made of these words and
/// fillers only, at least one of them a real yes. Anything more ("yes but keep the milk one") is
/// not a bare yes.
const STRONG_YES: &[&str] = &[
    "yes",
    "y",
    "yeah",
    "yep",
    "yup",
    "sure",
    "ok",
    "okay",
    "confirm",
    "confirmed",
    "proceed",
    "do",
    "ahead",
    "delete",
    "absolutely",
    "definitely",
    "correct",
];
const YES_FILLERS: &[&str] =
    &["it", "go", "them", "all", "please", "of", "course", "thanks", "that's", "right"];
/// A bare no, the same way ("no", "don't delete them", "never mind").
const STRONG_NO: &[&str] = &[
    "no",
    "n",
    "nope",
    "nah",
    "cancel",
    "stop",
    "don't",
    "dont",
    "not",
    "keep",
    "never",
    "nevermind",
    "abort",
    "wait",
    "forget",
];
const NO_FILLERS: &[&str] = &["do", "them", "mind", "please", "thanks", "it", "delete", "anything"];

pub fn classify(text: &str) -> Answer {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase().replace('\u{2019}', "'"))
        .collect();
    let bare = |strong: &[&str], fillers: &[&str]| {
        let known = |w: &String| strong.contains(&w.as_str()) || fillers.contains(&w.as_str());
        words.iter().all(known) && words.iter().any(|w| strong.contains(&w.as_str()))
    };
    // "don't delete them" has a yes word in it, so no is checked first.
    if bare(STRONG_NO, NO_FILLERS) {
        Answer::No
    } else if bare(STRONG_YES, YES_FILLERS) {
        Answer::Yes
    } else {
        Answer::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bare_yes_confirms() {
        for yes in [
            "yes",
            "Yes!",
            "y",
            "yes please",
            "ok",
            "Go ahead.",
            "do it",
            "yes, delete them all",
            "Confirm",
            "sure",
        ] {
            assert_eq!(classify(yes), Answer::Yes, "{yes}");
        }
        for no in
            ["no", "No thanks", "cancel", "don't delete them", "keep them", "never mind", "stop", "nope"]
        {
            assert_eq!(classify(no), Answer::No, "{no}");
        }
        for other in ["yes but keep the milk one", "delete task 3", "what's on my list", "", "please", "them"]
        {
            assert_eq!(classify(other), Answer::Other, "{other}");
        }
    }

    #[test]
    fn questions_round_trip_and_expire() {
        let now = Utc::now();
        let p = Pending::Confirm { task_ids: vec![1, 2], changes: vec![], asked_at: now };
        assert_eq!(Pending::from_value(p.to_value()), Some(p.clone()));
        let change = HeldChange { tool: "update_task".into(), arguments: serde_json::json!({"task_id": 3}) };
        let with_changes = Pending::Confirm { task_ids: vec![], changes: vec![change], asked_at: now };
        assert_eq!(Pending::from_value(with_changes.to_value()), Some(with_changes));
        assert_eq!(p.to_value()["kind"], "confirm");
        assert!(!p.is_expired(now + chrono::Duration::minutes(9)));
        assert!(p.is_expired(now + chrono::Duration::minutes(11)));
        assert_eq!(Pending::from_value(serde_json::json!({"kind": "teleport"})), None);
    }
}
