//! Secret values and their redaction.
//!
//! A [`Secret`] never formats its value; code must call [`Secret::expose`] to get at it, which
//! makes every place a value leaves our hands easy to find. Each secret handed to the runner is
//! also registered with the [`Redactor`], which every line xtask prints passes through — so a
//! value echoed back by a child process (`helm --debug`, a tool printing its stdin) is still shown
//! as `<redacted>`.

use std::fmt;
use std::sync::{Arc, RwLock};

pub const REDACTED: &str = "<redacted>";

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Shorter values are not looked for in output and argv (see [`Redactor::register`]).
pub const MIN_MATCHED_CHARS: usize = 8;

/// The set of secret values known to this process; shared by the UI and the runner.
#[derive(Clone, Default)]
pub struct Redactor {
    values: Arc<RwLock<Vec<String>>>,
}

impl Redactor {
    pub fn register(&self, secret: &Secret) {
        let value = secret.expose();
        // Matching is by substring: a placeholder such as `x` or `local` (what local LLM servers
        // accept as a key) would mangle every line and refuse innocent commands. No issued key or
        // password is that short; echoed command lines hide such values anyway.
        if value.chars().count() < MIN_MATCHED_CHARS {
            return;
        }
        let mut values = self.values.write().unwrap();
        if !values.iter().any(|known| known == value) {
            values.push(value.to_owned());
            // Longest first, so a secret containing another is replaced whole.
            values.sort_by_key(|known| std::cmp::Reverse(known.len()));
        }
    }

    pub fn redact(&self, text: &str) -> String {
        let values = self.values.read().unwrap();
        let mut out = text.to_owned();
        for value in values.iter() {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), REDACTED);
            }
        }
        out
    }

    /// Whether any registered secret occurs in `text` (which one is never said).
    pub fn contains_secret(&self, text: &str) -> bool {
        self.values.read().unwrap().iter().any(|value| text.contains(value.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_format_their_value() {
        let secret = Secret::new("hunter2-canary");
        assert_eq!(format!("{secret} {secret:?}"), "<redacted> <redacted>");
    }

    #[test]
    fn redactor_replaces_every_occurrence_longest_first() {
        let redactor = Redactor::default();
        redactor.register(&Secret::new("abcdefgh"));
        redactor.register(&Secret::new("abcdefghijk"));
        redactor.register(&Secret::new(""));
        assert_eq!(
            redactor.redact("x=abcdefghijk y=abcdefgh z=abcdefg"),
            "x=<redacted> y=<redacted> z=abcdefg"
        );
        assert!(redactor.contains_secret("--password=abcdefgh"));
        assert!(!redactor.contains_secret("--password=abcdefg"));
    }

    #[test]
    fn placeholder_values_are_not_matched_in_ordinary_text() {
        let redactor = Redactor::default();
        redactor.register(&Secret::new("x"));
        redactor.register(&Secret::new("local"));
        assert_eq!(redactor.redact("cargo xtask up, TODO_ENV=local"), "cargo xtask up, TODO_ENV=local");
        assert!(!redactor.contains_secret("--field-manager=cargo-xtask-secrets"));
    }
}
