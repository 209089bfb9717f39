//! When a message is still not understood: the closest commands the grammar can form from it,
//! offered as a question ("Did you mean “delete 3”?") and never run. Every suggestion is checked
//! by parsing it, so what is offered is always something the agent would understand.

use super::grammar::{self, Intent, clean};
use super::status_words::{self, status_in};
use crate::tasks::StatusFilter;

/// Words a misspelling is compared with: the command verbs and the state words.
const KNOWN: &[&str] = &[
    "add",
    "delete",
    "remove",
    "complete",
    "finish",
    "mark",
    "rename",
    "reopen",
    "show",
    "list",
    "find",
    "search",
    "clear",
    "erase",
    "check",
    "help",
    "remind",
    "schedule",
    "tasks",
    "task",
    "done",
    "pending",
    "completed",
    "finished",
    "everything",
    "all",
];

/// Suggestions for a message that parsed as [`Intent::Unknown`], best first (at most two).
pub fn closest(message: &str) -> Vec<String> {
    let text = clean(message);
    let lower = text.to_ascii_lowercase();
    let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    if words.is_empty() || words.len() > 12 {
        return vec![];
    }
    if let Some(fixed) = respelled(&words) {
        return vec![fixed];
    }
    // "finish the report": done, or a new task? Both are one step away.
    for verb in ["finish", "close", "complete"] {
        if let Some(rest) = lower.strip_prefix(verb).and_then(|r| r.strip_prefix(' ')) {
            let rest = &text[text.len() - rest.len()..];
            return understood([format!("mark {rest} done"), format!("add {text}")]);
        }
    }
    // "is the milk one done?", "did I finish the report?": a question about a state.
    let first = lower.split(' ').next().unwrap_or_default();
    if ["is", "are", "was", "did", "have", "has"].contains(&first) {
        return match status_in(&lower) {
            Some(StatusFilter::Pending) => understood(["show pending tasks".to_owned()]),
            _ => understood(["show completed tasks".to_owned()]),
        };
    }
    // "dentist on friday", "meeting with Bob at 3pm": a task named by its thing and its time or
    // company, not an order; adding it is one word away, and only offered.
    const QUESTIONS: &[&str] = &[
        "what", "what's", "whats", "how", "why", "when", "where", "who", "which", "can", "could", "would",
        "will", "should", "do", "does", "tell", "i", "i'm", "you", "it's",
    ];
    const TASK_MARKS: &[&str] = &[
        "at",
        "on",
        "with",
        "for",
        "by",
        "before",
        "after",
        "tomorrow",
        "today",
        "tonight",
        "next",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "weekend",
        "morning",
        "afternoon",
        "evening",
        "am",
        "pm",
    ];
    let marked = lower
        .split(' ')
        .skip(1)
        .any(|w| TASK_MARKS.contains(&w) || w.ends_with("pm") && w.starts_with(|c: char| c.is_ascii_digit()));
    if (2..=8).contains(&words.len()) && !QUESTIONS.contains(&first) && marked && !lower.contains(" me ") {
        return understood([format!("add {text}")]);
    }
    vec![]
}

/// The message with one misspelt word put right ("delte 3" → "delete 3"), if that is then
/// understood.
fn respelled(words: &[&str]) -> Option<String> {
    for (at, word) in words.iter().enumerate() {
        let lower = word.to_ascii_lowercase();
        if lower.len() < 3 || KNOWN.contains(&lower.as_str()) || status_words::DONE.contains(&lower.as_str())
        {
            continue;
        }
        let allowed = if lower.len() <= 4 { 1 } else { 2 };
        let best = KNOWN
            .iter()
            .map(|k| (distance(&lower, k), *k))
            .filter(|(d, _)| *d <= allowed)
            .min_by_key(|(d, _)| *d);
        if let Some((_, known)) = best {
            let mut fixed: Vec<&str> = words.to_vec();
            fixed[at] = known;
            let fixed = fixed.join(" ");
            if is_understood(&fixed) {
                return Some(fixed);
            }
        }
    }
    None
}

fn understood(candidates: impl IntoIterator<Item = String>) -> Vec<String> {
    candidates.into_iter().filter(|c| is_understood(c)).collect()
}

fn is_understood(command: &str) -> bool {
    !matches!(grammar::parse(command), Intent::Unknown | Intent::Incomplete(_))
}

/// Edit distance counting a swap of two neighbouring letters as one edit ("dleete").
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closest_understood_command_is_offered() {
        assert_eq!(closest("delte 3"), ["delete 3"]);
        assert_eq!(closest("dleete the milk one"), ["delete the milk one"]);
        assert_eq!(closest("mark 3 dnoe"), ["mark 3 done"]);
        assert_eq!(closest("finish the report"), ["mark the report done", "add finish the report"]);
        assert_eq!(closest("is the milk one done?"), ["show completed tasks"]);
        assert_eq!(closest("dentist on friday"), ["add dentist on friday"]);
        assert_eq!(closest("meeting with Bob at 3pm"), ["add meeting with Bob at 3pm"]);
        assert_eq!(closest("what's the weather like"), Vec::<String>::new());
        assert_eq!(closest("asdf qwerty"), Vec::<String>::new());
    }
}
