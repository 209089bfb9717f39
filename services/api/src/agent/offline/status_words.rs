//! The done / not-done vocabulary: the one list of words that say what state a task is in, read
//! by every rule of the grammar that cares (listing and counting by state, deleting every task in
//! a state, "mark 3 done", "the report is finished", "the report isn't done yet"). Rules that kept
//! lists of their own drifted apart ("checked" was a deletion word but not a listing word, so
//! "delete all checked tasks" deleted every task); here a word means the same thing everywhere.
//!
//! A done word can be turned around: "not done", "isn't finished", "haven't completed", "yet to
//! be done", "tasks to complete" all mean pending.

use crate::tasks::StatusFilter;

/// Words that say a task is done.
pub const DONE: &[&str] =
    &["done", "completed", "complete", "finished", "checked", "ticked", "crossed", "closed", "resolved"];

/// Words that say a task is not done, on their own.
pub const PENDING: &[&str] = &[
    "pending",
    "open",
    "unfinished",
    "incomplete",
    "uncompleted",
    "undone",
    "unchecked",
    "unticked",
    "outstanding",
    "remaining",
    "left",
    "todo",
    "to-do",
    "active",
    "still",
];

/// Words that, up to three words before a done word, make it mean not done.
pub const NEGATORS: &[&str] = &[
    "not", "no", "never", "yet", "isn't", "isnt", "aren't", "arent", "wasn't", "wasnt", "weren't", "werent",
    "haven't", "havent", "hasn't", "hasnt", "didn't", "didnt", "don't", "dont", "doesn't", "doesnt",
];

/// Whether `word` (lower case) belongs to this vocabulary; with "to", "be" and "do", which make
/// "to do" and "to be done", a phrase made only of these words and bulk words is only a state.
pub fn is_status_word(word: &str) -> bool {
    DONE.contains(&word)
        || PENDING.contains(&word)
        || NEGATORS.contains(&word)
        || ["off", "to", "be", "do"].contains(&word)
}

/// Lower-case words of `lower`, without the punctuation around them.
fn tokens(lower: &str) -> Vec<&str> {
    lower
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '\'' && c != '-')
        .map(|w| w.trim_matches(['\'', '-']))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Whether the done word at `at` is turned around by what comes before it.
fn negated(words: &[&str], at: usize) -> bool {
    let before = &words[at.saturating_sub(3)..at];
    before.iter().any(|w| NEGATORS.contains(w))
        // "tasks to complete", "what is there to be done".
        || before.last() == Some(&"to")
        || before.ends_with(&["to", "be"])
}

/// The state a message speaks of, anywhere in it: `Pending` for "open", "not done", "left to
/// do"; `Completed` for "done", "checked off"; `None` when it names neither, or both (then it is
/// about every task).
pub fn status_in(lower: &str) -> Option<StatusFilter> {
    let words = tokens(lower);
    let (mut pending, mut done) = (false, false);
    for (at, word) in words.iter().enumerate() {
        if PENDING.contains(word) || (*word == "do" && at > 0 && words[at - 1] == "to") {
            pending = true;
        } else if DONE.contains(word) {
            if negated(&words, at) {
                pending = true;
            } else {
                done = true;
            }
        }
    }
    match (pending, done) {
        (true, false) => Some(StatusFilter::Pending),
        (false, true) => Some(StatusFilter::Completed),
        _ => None,
    }
}

/// Words between a task and the state said of it at the end of a message ("3 is done", "mark 3
/// as done", "set 3 to done", "the report has been finished already").
const LINKS: &[&str] = &[
    "still",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "as",
    "to",
    "has",
    "have",
    "now",
    "already",
    "all",
    "completely",
    "fully",
    "totally",
    "finally",
    "officially",
    "marked",
    "got",
    "gotten",
    "off",
];
/// Words that may follow the state at the very end ("done now", "not finished yet").
const TAIL: &[&str] = &["yet", "now", "already", "too", "today", "off", "anymore"];

/// A message that ends by saying a state: the text before that ending, and whether the state is
/// done (`true`) or not done (`false`). "the milk one is done" gives ("the milk one", true),
/// "the report isn't finished yet" ("the report", false), "3 as not done" ("3", false).
pub fn trailing_status(text: &str) -> Option<(String, bool)> {
    let lower = text.to_ascii_lowercase();
    // Words with their byte offsets, so the head is cut from the text as typed.
    let mut words: Vec<(usize, &str)> = Vec::new();
    let mut start = None;
    for (i, c) in lower.char_indices().chain([(lower.len(), ' ')]) {
        match (c == ' ', start) {
            (true, Some(s)) => {
                words.push((s, lower[s..i].trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '\'')));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    let mut end = words.len();
    while end > 0 && TAIL.contains(&words[end - 1].1) {
        end -= 1;
    }
    let last = end.checked_sub(1)?;
    let word = words[last].1;
    let plain: Vec<&str> = words.iter().map(|(_, w)| *w).collect();
    // A negator before the state turns it around as the links are read back; "to" here is a
    // link ("set 3 to done"), not the "to" of "tasks to complete".
    let (mut first, mut done) = if DONE.contains(&word) {
        (last, true)
    } else if PENDING.contains(&word) && word != "still" && word != "left" {
        (last, false)
    } else if word == "do" && last > 0 && plain[last - 1] == "to" {
        (last - 1, false)
    } else {
        return None;
    };
    while first > 0 && (LINKS.contains(&plain[first - 1]) || NEGATORS.contains(&plain[first - 1])) {
        first -= 1;
        if NEGATORS.contains(&plain[first]) {
            done = false;
        }
    }
    let head = text[..words.get(first).map_or(text.len(), |w| w.0)].trim();
    // "the milk's done".
    let head = match head.strip_suffix("'s") {
        Some(h)
            if !["it", "that", "what", "who", "there", "here"].contains(&h.to_ascii_lowercase().as_str()) =>
        {
            h
        }
        _ => head,
    };
    (!head.is_empty()).then(|| (head.to_owned(), done))
}

#[cfg(test)]
mod tests {
    use super::*;
    use StatusFilter::*;

    #[test]
    fn one_state_per_phrase() {
        for (phrase, expected) in [
            ("show done tasks", Some(Completed)),
            ("delete all checked tasks", Some(Completed)),
            ("delete closed tasks", Some(Completed)),
            ("everything that's done", Some(Completed)),
            ("what have i finished", Some(Completed)),
            ("what's not done yet", Some(Pending)),
            ("what haven't i done", Some(Pending)),
            ("tasks to complete", Some(Pending)),
            ("what is there to be done", Some(Pending)),
            ("what do i have to do", Some(Pending)),
            ("what's left", Some(Pending)),
            ("the ones that aren't finished", Some(Pending)),
            ("my tasks", None),
            ("done and open ones", None),
        ] {
            assert_eq!(status_in(phrase), expected, "{phrase}");
        }
    }

    #[test]
    fn a_state_at_the_end() {
        let said = |t: &str| trailing_status(t);
        assert_eq!(said("The milk one is done"), Some(("The milk one".into(), true)));
        assert_eq!(said("3 done"), Some(("3".into(), true)));
        assert_eq!(said("3 as not done"), Some(("3".into(), false)));
        assert_eq!(said("3 to done"), Some(("3".into(), true)));
        assert_eq!(said("the report isn't finished yet"), Some(("the report".into(), false)));
        assert_eq!(said("the report is not finished yet"), Some(("the report".into(), false)));
        assert_eq!(said("the report has been completed already"), Some(("the report".into(), true)));
        assert_eq!(said("the milk's done"), Some(("the milk".into(), true)));
        assert_eq!(said("3 as to do"), Some(("3".into(), false)));
        assert_eq!(said("3 as open"), Some(("3".into(), false)));
        assert_eq!(said("the report still isn't done"), Some(("the report".into(), false)));
        assert_eq!(said("done"), None);
        assert_eq!(said("buy milk"), None);
        assert_eq!(said("what's left"), None);
    }
}
