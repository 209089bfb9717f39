//! Tasks: the validated values a task is made of, and the store that keeps them per owner.
//! The HTTP handlers and the chat agent's tools both go through [`store`].

mod routes;
pub mod store;

use serde::Serialize;

use crate::db::Timestamp;

pub use routes::{create_task, delete_task, get_task, list_tasks, update_task};

pub const TITLE_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 2000;
pub const SEARCH_MAX_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Task {
    /// The task's number in its owner's list: 1 for a user's first task, then 2, 3, …; stable,
    /// never reused by that user even after a delete (see the `task_numbers` migration). Users
    /// see and type it ("#3"), REST paths and the agent's tools take it. Not a global key: other
    /// users have a task with the same number.
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    pub completed: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A title: at most 200 characters as sent, stored trimmed, which must leave some text on one
/// line.
///
/// Lengths count the text as sent, before trimming, so a schema's `maxLength` states them
/// exactly (the OpenAPI document takes these constants, and its `pattern`s the trimming rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.chars().count() > TITLE_MAX_CHARS {
            return Err(format!("title must be at most {TITLE_MAX_CHARS} characters"));
        }
        let title = raw.trim();
        if title.is_empty() {
            return Err("title must not be empty".into());
        }
        if title.chars().any(char::is_control) {
            return Err("title must be a single line without control characters".into());
        }
        Ok(Self(title.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A description: at most 2000 characters as sent, stored trimmed, line breaks and tabs allowed.
/// Blank text is no description (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        if raw.chars().count() > DESCRIPTION_MAX_CHARS {
            return Err(format!("description must be at most {DESCRIPTION_MAX_CHARS} characters"));
        }
        let text = raw.trim();
        if text.is_empty() {
            return Ok(None);
        }
        // Postgres refuses NUL in text; other control characters are never intended.
        if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err("description must not contain control characters".into());
        }
        Ok(Some(Self(text.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub title: Title,
    pub description: Option<Description>,
}

/// A partial update; `None` leaves a field as it is. `description: Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskPatch {
    pub title: Option<Title>,
    pub description: Option<Option<Description>>,
    pub completed: Option<bool>,
}

impl TaskPatch {
    pub fn is_empty(&self) -> bool {
        self.title.is_none() && self.description.is_none() && self.completed.is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusFilter {
    #[default]
    All,
    Pending,
    Completed,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    pub status: StatusFilter,
    /// Case-insensitive substring of the title or description.
    pub search: Option<String>,
}

impl TaskFilter {
    pub fn new(status: StatusFilter, search: Option<&str>) -> Result<Self, String> {
        if search.is_some_and(|q| q.chars().count() > SEARCH_MAX_CHARS) {
            return Err(format!("q must be at most {SEARCH_MAX_CHARS} characters"));
        }
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        if search.is_some_and(|q| q.chars().any(char::is_control)) {
            return Err("q must not contain control characters".into());
        }
        Ok(Self { status, search: search.map(str::to_owned) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(Title::parse("  Buy milk ").unwrap().as_str(), "Buy milk");
        assert!(Title::parse("   ").is_err());
        assert!(Title::parse(&"é".repeat(200)).is_ok());
        assert!(Title::parse(&"é".repeat(201)).is_err());
        // Lengths count what was sent, as the OpenAPI document's maxLength does.
        assert!(Title::parse(&format!("{} ", "x".repeat(200))).is_err());
        assert!(Title::parse("two\nlines").is_err());
        assert!(Title::parse("nul\0").is_err());
    }

    #[test]
    fn descriptions_allow_lines_but_not_nul_and_blank_means_none() {
        assert_eq!(Description::parse("  \n ").unwrap(), None);
        assert!(Description::parse("a\nb\tc").unwrap().is_some());
        assert!(Description::parse("a\0b").is_err());
        assert!(Description::parse(&"x".repeat(2001)).is_err());
        assert!(Description::parse(&" ".repeat(2001)).is_err());
    }

    #[test]
    fn search_text_is_trimmed_and_bounded() {
        assert_eq!(TaskFilter::new(StatusFilter::All, Some("  ")).unwrap().search, None);
        assert!(TaskFilter::new(StatusFilter::All, Some(&"q".repeat(201))).is_err());
        assert!(TaskFilter::new(StatusFilter::All, Some(&format!(" {}", "q".repeat(200)))).is_err());
        assert!(TaskFilter::new(StatusFilter::All, Some("a\0")).is_err());
    }
}
