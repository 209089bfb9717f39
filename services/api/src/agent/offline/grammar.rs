//! The offline agent's grammar: what a plain-English message asks for. Pure and deterministic:
//! nothing here reads the database, so "the milk one" stays words until the caller looks it up.
//!
//! Each intent is recognised by how the message starts ("add …", "mark … done", "rename … to
//! …") or, for a few, how it ends ("… is done"); a question about the list needs a word about
//! tasks in it. Matching is on ASCII-lower-cased text, which keeps byte offsets, so titles are
//! cut from the message as the user typed them: each piece of the message is a `Phrase`, the
//! text with its lower-cased twin. Words saying a task's state (done, open, checked, not
//! finished yet, …) come from one vocabulary, [`super::status_words`], whatever the rule.
//!
//! The rules are tried in a fixed order, and the order is part of the grammar (see [`parse`]).

use super::status_words::{is_status_word, status_in, trailing_status};
use crate::tasks::StatusFilter;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    Help,
    Greeting,
    Thanks,
    Add {
        title: String,
        description: Option<String>,
    },
    List {
        status: StatusFilter,
        query: Option<String>,
    },
    /// "how many …": a number, not a list.
    Count {
        status: StatusFilter,
        query: Option<String>,
    },
    /// `completed: false` reopens.
    Complete {
        target: Ref,
        completed: bool,
    },
    Rename {
        target: Ref,
        title: String,
    },
    /// An empty description removes it.
    Describe {
        target: Ref,
        description: String,
    },
    /// `status`: the state the message named ("delete the finished report"): only a task in that
    /// state may be deleted.
    Delete {
        target: Ref,
        status: Option<StatusFilter>,
    },
    /// Every task in a state ("delete all completed tasks", "clear my list").
    DeleteAll {
        status: StatusFilter,
    },
    /// Recognised, but something needed is missing; the text says what to say instead.
    Incomplete(&'static str),
    Unknown,
}

/// Which task(s) a message means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ref {
    Id(i64),
    /// Two or more ids ("3 and 4", "#3, #5").
    Ids(Vec<i64>),
    /// Words of a title, as typed.
    Words(String),
    /// What the user says they did ("I bought the milk"): the verb in its plain form ("buy")
    /// and what they did it to ("the milk"). Matched as "buy the milk", then as "the milk".
    Deed {
        verb: String,
        object: String,
    },
}

/// What `message` asks for. The rules are tried in this order, and the first that recognises the
/// message wins:
/// 1. the few whole-message answers (help, greetings, thanks);
/// 2. `count` before `list`: "how many tasks …" is a question about the list, but wants a number;
/// 3. `list` before any verb rule: a question ("what's done?", "which ones are open?") is never an
///    order, whatever verb it contains;
/// 4. `describe`, `mark`, `reopen`, `rename`, `complete`, `delete`: each starts with its own verbs;
///    `describe` goes first because its lead-ins ("add a note to", "remove the description of")
///    start with other rules' verbs, and `mark`/`reopen` before `complete`, whose verbs are parts
///    of theirs ("mark … complete", "uncomplete");
/// 5. `add` with an explicit verb ("add", "remind me to", "I need to");
/// 6. `complete_suffix`: a state said at the end ("the report is done", "… isn't finished yet"),
///    after every verb rule so that "delete everything that's done" stays a deletion;
/// 7. `deed`: a completion said in the past tense ("I bought the milk"), after `add` so that "I
///    need to …" is never read as something done;
/// 8. `add_implied`: a plainly task-like order with no "add" ("schedule …", "book …"), last, as
///    the reading of what nothing else claimed.
pub fn parse(message: &str) -> Intent {
    let message = Phrase::new(clean(message));
    let lower = message.lower.as_str();
    if lower.is_empty() {
        return Intent::Help;
    }
    if HELP.contains(&lower) || lower.starts_with("help ") {
        return Intent::Help;
    }
    if GREETINGS.contains(&lower) {
        return Intent::Greeting;
    }
    if THANKS.contains(&lower) {
        return Intent::Thanks;
    }
    let request = &strip_lead_ins(&message.text);
    count(request)
        .or_else(|| list(request))
        .or_else(|| describe(request))
        .or_else(|| mark(request))
        .or_else(|| reopen(request))
        .or_else(|| rename(request))
        .or_else(|| complete(request))
        .or_else(|| delete(request))
        .or_else(|| add(request))
        .or_else(|| complete_suffix(request))
        .or_else(|| deed(request))
        .or_else(|| add_implied(request))
        .unwrap_or(Intent::Unknown)
}

/// Text as the user typed it, with the ASCII-lower-cased twin that matching reads. Lower-casing
/// only ASCII keeps every byte offset, so a place found in `lower` cuts `text` at the same byte.
#[derive(Debug, Clone)]
struct Phrase {
    text: String,
    lower: String,
}

impl Phrase {
    fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let lower = text.to_ascii_lowercase();
        Self { text, lower }
    }

    /// The text after the first of `prefixes` it starts with as whole words, with the separators
    /// after it (`:`, `,`, `-`) dropped.
    fn after_any(&self, prefixes: &[&str]) -> Option<Phrase> {
        let mut sorted: Vec<&&str> = prefixes.iter().collect();
        sorted.sort_by_key(|p| std::cmp::Reverse(p.len()));
        sorted.into_iter().find_map(|p| self.after(p))
    }

    fn after(&self, prefix: &str) -> Option<Phrase> {
        let rest = self.lower.strip_prefix(prefix)?;
        let boundary = rest.is_empty()
            || rest.starts_with([' ', ':', ',', '-'])
            || prefix.ends_with([' ', ':', '#'])
            || !prefix.ends_with(|c: char| c.is_ascii_alphanumeric());
        boundary
            .then(|| Phrase::new(self.text[prefix.len()..].trim_start_matches([' ', ':', ',', '-']).trim()))
    }

    /// The text before the first of `suffixes` it ends with (a whole-word ending).
    fn before_any(&self, suffixes: &[&str]) -> Option<Phrase> {
        let mut sorted: Vec<&&str> = suffixes.iter().collect();
        sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
        sorted.into_iter().find_map(|s| {
            let head = self.lower.strip_suffix(s)?;
            (head.ends_with(' ') || head.is_empty() || s.starts_with([' ', '\'']))
                .then(|| Phrase::new(self.text[..head.len()].trim()))
        })
    }

    /// The text before and after the first ` {word} ` in it.
    fn split_on(&self, word: &str) -> Option<(&str, &str)> {
        let needle = format!(" {word} ");
        let at = self.lower.find(&needle)?;
        Some((self.text[..at].trim(), self.text[at + needle.len()..].trim()))
    }
}

const HELP: &[&str] = &[
    "help",
    "help me",
    "?",
    "commands",
    "what can you do",
    "what can i do",
    "what can i say",
    "what do you do",
    "how does this work",
    "how do i use this",
    "how do i use you",
    "examples",
    "menu",
    "options",
    "usage",
    "who are you",
    "what are you",
    "instructions",
];
const GREETINGS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "hiya",
    "yo",
    "howdy",
    "hi there",
    "hello there",
    "hey there",
    "good morning",
    "good afternoon",
    "good evening",
];
const THANKS: &[&str] = &[
    "thanks",
    "thank you",
    "thx",
    "ty",
    "cheers",
    "thanks a lot",
    "thank you so much",
    "great",
    "awesome",
    "cool",
    "nice",
    "perfect",
    "great thanks",
    "ok",
    "okay",
    "ok thanks",
    "okay thanks",
    "got it",
];

/// Typographic quotes made plain, spaces collapsed, closing punctuation dropped.
pub(super) fn clean(message: &str) -> String {
    let plain: String = message
        .chars()
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' => '\'',
            '\u{201c}' | '\u{201d}' => '"',
            c if c.is_whitespace() => ' ',
            c => c,
        })
        .collect();
    let collapsed = plain.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
    collapsed.trim_end_matches(['.', '!', '?', ' ']).to_owned()
}

/// "please", "can you", "hey" … in front of a request, and "please" after it.
fn strip_lead_ins(text: &str) -> Phrase {
    const LEAD_INS: &[&str] = &[
        "please",
        "pls",
        "plz",
        "hey",
        "hi",
        "hello",
        "ok",
        "okay",
        "so",
        "and",
        "also",
        "now",
        "then",
        "can you",
        "could you",
        "would you",
        "will you",
        "can u",
        "i want you to",
        "i'd like you to",
        "i would like you to",
        "go ahead and",
        "assistant",
        "actually",
        "oh",
        "oops",
        "well",
    ];
    let mut phrase = Phrase::new(text.trim());
    while let Some(rest) = phrase.after_any(LEAD_INS) {
        // Never strip the whole request ("ok" alone is an answer, handled before).
        if rest.text.is_empty() {
            break;
        }
        phrase = rest;
    }
    let mut text = phrase.text;
    for tail in [", please", " please", ", thanks", " thanks", ", thank you", " thank you"] {
        if text.to_ascii_lowercase().ends_with(tail) && text.len() > tail.len() {
            text.truncate(text.len() - tail.len());
        }
    }
    Phrase::new(text.trim_end_matches([',', ' ']))
}

fn words(lower: &str) -> Vec<&str> {
    lower
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '\'' && c != '-')
        .filter(|w| !w.is_empty())
        .collect()
}

fn unquote(text: &str) -> &str {
    let t = text.trim();
    for (open, close) in [('"', '"'), ('\'', '\''), ('`', '`')] {
        if t.len() >= 2 && t.starts_with(open) && t.ends_with(close) {
            return t[1..t.len() - 1].trim();
        }
    }
    t
}

/// A task reference: "3", "#3", "task 3", "number 3", "3 and 4", or words of a title.
pub fn parse_ref(text: &str) -> Option<Ref> {
    let text = unquote(text);
    let lower = text.to_ascii_lowercase();
    let mut core = lower.as_str();
    loop {
        let before = core;
        for prefix in [
            "the ", "my ", "task ", "tasks ", "number ", "numbers ", "no. ", "item ", "items ", "todo ",
            "id ", "ids ",
        ] {
            core = core.strip_prefix(prefix).unwrap_or(core);
        }
        if core == before {
            break;
        }
    }
    for suffix in [" task", " one", " item"] {
        core = core.strip_suffix(suffix).unwrap_or(core);
    }
    let ids: Option<Vec<i64>> = core
        .split([',', '&', ' '])
        .map(|p| p.trim().trim_start_matches('#'))
        .filter(|p| !p.is_empty() && *p != "and")
        .map(|p| p.parse::<i64>().ok().filter(|n| *n > 0))
        .collect();
    match ids {
        Some(mut ids) if !ids.is_empty() => {
            ids.dedup();
            Some(if ids.len() == 1 { Ref::Id(ids[0]) } else { Ref::Ids(ids) })
        }
        _ if crate::tools::matching::significant_words(text).is_empty() => None,
        _ => Some(Ref::Words(text.to_owned())),
    }
}

/// Words that make a question about the list.
const LIST_NOUNS: &[&str] = &[
    "task",
    "tasks",
    "list",
    "todo",
    "todos",
    "to-do",
    "to-dos",
    "items",
    "plate",
    "agenda",
    "chores",
    "everything",
];
/// Words that carry no search meaning in a listing request.
const LIST_NOISE: &[&str] = &[
    "me",
    "my",
    "the",
    "all",
    "what",
    "what's",
    "whats",
    "is",
    "are",
    "i",
    "have",
    "do",
    "to",
    "on",
    "in",
    "of",
    "list",
    "tasks",
    "task",
    "todo",
    "todos",
    "to-do",
    "items",
    "item",
    "ones",
    "please",
    "still",
    "that",
    "which",
    "there",
    "any",
    "anything",
    "everything",
    "yet",
    "so",
    "far",
    "now",
    "currently",
    "for",
    "with",
    "about",
    "today",
    "need",
    "got",
    "left",
    "pending",
    "open",
    "done",
    "completed",
    "complete",
    "finished",
    "remaining",
    "outstanding",
    "unfinished",
    "incomplete",
    "not",
    "a",
    "an",
    "you",
    "your",
    "can",
    "show",
    "again",
    "full",
    "whole",
    "entire",
    "it",
    "them",
    "we",
    "did",
    "i've",
    "ive",
    "how",
    "many",
];

fn list(p: &Phrase) -> Option<Intent> {
    const SHOW: &[&str] = &[
        "list",
        "ls",
        "show",
        "show me",
        "display",
        "view",
        "see",
        "give me",
        "get me",
        "tell me",
        "read",
        "read me",
        "print",
        "let me see",
    ];
    const SEARCH: &[&str] = &["find", "search", "search for", "look for", "look up", "lookup", "filter"];
    const ASK: &[&str] = &[
        "what",
        "what's",
        "whats",
        "which",
        "how many",
        "do i have",
        "have i",
        "did i",
        "is there",
        "are there",
        "anything",
        "any",
        "where",
    ];
    // "what did I finish today": a question about what is done, asked with a verb.
    const DID: &[&str] = &[
        "did i finish",
        "did i complete",
        "did i do",
        "did i get done",
        "did i check off",
        "did i tick off",
        "have i completed",
        "have i checked off",
        "i've done",
        "i have done",
        "i've finished",
        "i have finished",
    ];
    let status = status_in(&p.lower).unwrap_or(StatusFilter::All);
    let marked_query = || marked_query(p);
    if let Some(rest) = p.after_any(SEARCH) {
        let rest = rest.after_any(&["for"]).unwrap_or(rest);
        return Some(Intent::List { status, query: marked_query().or_else(|| leftover_query(&rest.text)) });
    }
    let ws = words(&p.lower);
    let about_list = ws.iter().any(|w| LIST_NOUNS.contains(w)) || status_in(&p.lower).is_some();
    if let Some(rest) = p.after_any(SHOW) {
        // "show milk tasks" searches; "tell me a joke" is not about the list at all.
        let query = marked_query().or_else(|| leftover_query(&rest.text));
        return (query.is_none() || about_list || marked_query().is_some())
            .then_some(Intent::List { status, query });
    }
    if p.after_any(ASK).is_some() {
        let padded = format!(" {} ", ws.join(" "));
        if DID.iter().any(|d| padded.contains(&format!(" {d} "))) {
            return Some(Intent::List { status: StatusFilter::Completed, query: marked_query() });
        }
        if about_list {
            return Some(Intent::List { status, query: marked_query() });
        }
    }
    // Bare nouns: "tasks", "my list", "pending tasks", "completed ones", "closed ones".
    let bare = ws.iter().all(|w| LIST_NOISE.contains(w) || LIST_NOUNS.contains(w) || is_status_word(w))
        && about_list;
    bare.then_some(Intent::List { status, query: None })
}

/// The search words of "… about milk", "… called 'rent'".
fn marked_query(p: &Phrase) -> Option<String> {
    [
        "about",
        "with",
        "containing",
        "mentioning",
        "matching",
        "related to",
        "called",
        "named",
        "regarding",
        "that mention",
        "that contain",
    ]
    .iter()
    .find_map(|m| p.split_on(m).map(|(_, q)| unquote(q).to_owned()))
    .filter(|q| !q.is_empty())
}

/// What is left of a listing request once the words every listing has are dropped: "show milk
/// tasks" searches for "milk".
fn leftover_query(rest: &str) -> Option<String> {
    let kept: Vec<&str> = rest
        .split(' ')
        .filter(|w| {
            let w = w.to_ascii_lowercase();
            let w = w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'');
            !w.is_empty() && !LIST_NOISE.contains(&w) && !is_status_word(w)
        })
        .collect();
    Some(unquote(&kept.join(" ")).to_owned()).filter(|q| !q.is_empty())
}

/// "how many tasks do I have", "how many are done", "count what's left": a number, split by
/// state when no state was asked for.
fn count(p: &Phrase) -> Option<Intent> {
    const ASK: &[&str] = &[
        "how many",
        "count",
        "count up",
        "number of",
        "the number of",
        "what's the number of",
        "whats the number of",
        "what is the number of",
        "total number of",
        "how much",
    ];
    let rest = p.after_any(ASK)?;
    // Only "how many" is always about the list; "count the money", "how much is it" are not.
    let about_list = words(&p.lower).iter().any(|w| LIST_NOUNS.contains(w)) || status_in(&p.lower).is_some();
    if !p.lower.starts_with("how many") && !about_list {
        return None;
    }
    let status = status_in(&p.lower).unwrap_or(StatusFilter::All);
    const COUNT_NOISE: &[&str] = &["things", "stuff", "ones", "there", "of", "they", "many", "much", "total"];
    let query = marked_query(p).or_else(|| {
        leftover_query(&rest.text).map(|q| {
            q.split(' ')
                .filter(|w| !COUNT_NOISE.contains(&w.to_ascii_lowercase().as_str()))
                .collect::<Vec<_>>()
                .join(" ")
        })
    });
    Some(Intent::Count { status, query: query.filter(|q| !q.is_empty()) })
}

fn describe(p: &Phrase) -> Option<Intent> {
    const CLEAR: &[&str] = &[
        "remove the description of",
        "remove the description from",
        "clear the description of",
        "delete the description of",
        "remove description of",
        "clear description of",
    ];
    if let Some(target) = p.after_any(CLEAR) {
        return Some(match parse_ref(&target.text) {
            Some(target) => Intent::Describe { target, description: String::new() },
            None => Intent::Incomplete(
                "Which task's description should I remove? Say, for example, \u{201c}remove the description of 3\u{201d}.",
            ),
        });
    }
    const SET: &[&str] = &[
        "set the description of",
        "change the description of",
        "update the description of",
        "set description of",
        "change description of",
        "set the notes of",
        "set the note of",
        "describe",
        "add a note to",
        "add note to",
        "add a description to",
        "add description to",
        "add details to",
        "note on",
        "note for",
    ];
    let rest = p.after_any(SET)?;
    // "… to Y", "… as Y", or "…: Y".
    let (target, description) = rest
        .split_on("to")
        .or_else(|| rest.split_on("as"))
        .or_else(|| rest.text.split_once(':').map(|(a, b)| (a.trim(), b.trim())))
        .or_else(|| rest.split_on("saying"))?;
    let description = unquote(description).to_owned();
    Some(match parse_ref(target) {
        Some(Ref::Ids(_)) | None => Intent::Incomplete(
            "Which task? Say, for example, \u{201c}set the description of 3 to oat, not dairy\u{201d}.",
        ),
        Some(target) if !description.is_empty() => Intent::Describe { target, description },
        Some(_) => Intent::Incomplete("What should the description say?"),
    })
}

/// "mark X (as) done", "mark X as not done", "set X to done", "flag X as open".
fn mark(p: &Phrase) -> Option<Intent> {
    let rest = p.after_any(&["mark", "set", "flag"])?;
    let (target, completed) = trailing_status(&rest.text)?;
    Some(match parse_ref(&target) {
        Some(target) => Intent::Complete { target, completed },
        None => Intent::Incomplete("Which task? Say, for example, \u{201c}mark 3 done\u{201d}."),
    })
}

fn reopen(p: &Phrase) -> Option<Intent> {
    let rest = p.after_any(&[
        "i haven't finished",
        "i havent finished",
        "i haven't done",
        "i havent done",
        "i didn't finish",
        "i didnt finish",
        "i didn't do",
        "i didnt do",
        "i'm not done with",
        "im not done with",
        "i am not done with",
        "not done with",
        "i'm not finished with",
        "mark undone",
        "reopen",
        "re-open",
        "uncomplete",
        "un-complete",
        "undo",
        "uncheck",
        "untick",
        "unmark",
        "restore",
    ])?;
    Some(match parse_ref(&rest.text) {
        Some(target) => Intent::Complete { target, completed: false },
        None => Intent::Incomplete("Which task should I reopen? Say, for example, \u{201c}reopen 3\u{201d}."),
    })
}

fn rename(p: &Phrase) -> Option<Intent> {
    const VERBS: &[&str] = &[
        "rename",
        "retitle",
        "change the title of",
        "change the name of",
        "change title of",
        "update the title of",
        "set the title of",
        "change",
        "update",
        "edit",
    ];
    let rest = p.after_any(VERBS)?;
    // A quoted target may contain " to ".
    let (target, title) = if rest.text.starts_with(['"', '\'']) {
        let quote = rest.text.chars().next().expect("not empty");
        let end = rest.text[1..].find(quote)? + 1;
        let after = rest.text[end + 1..].trim_start();
        let title = after.strip_prefix("to ").or_else(|| after.strip_prefix("as "))?;
        (&rest.text[..=end], title)
    } else {
        rest.split_on("to").or_else(|| rest.split_on("as"))?
    };
    let target = Phrase::new(target);
    let target = target.before_any(&["'s title", "'s name", " title", " name"]).unwrap_or(target);
    let title = unquote(title).to_owned();
    Some(match parse_ref(&target.text) {
        Some(Ref::Ids(_)) => Intent::Incomplete("I can rename one task at a time."),
        None => Intent::Incomplete("Which task? Say, for example, \u{201c}rename 3 to buy oat milk\u{201d}."),
        Some(_) if title.is_empty() => Intent::Incomplete("What should the new title be?"),
        Some(target) => Intent::Rename { target, title },
    })
}

fn complete(p: &Phrase) -> Option<Intent> {
    const VERBS: &[&str] = &[
        "complete",
        "check off",
        "tick off",
        "cross off",
        "i'm finished with",
        "im finished with",
        "i am finished with",
        "finished with",
        "completed",
        "done",
        "i checked off",
        "i ticked off",
        "i crossed off",
        "checked off",
        "ticked off",
        "crossed off",
        "i finished",
        "i've finished",
        "ive finished",
        "i have finished",
        "finished",
        "i completed",
        "i've completed",
        "i have completed",
        "i did",
        "i've done",
        "i have done",
        "done with",
        "i'm done with",
        "im done with",
        "i am done with",
        "close",
        "finish",
    ];
    if let Some(rest) = p.after_any(VERBS) {
        let finish_words = p.lower.starts_with("finish ") || p.lower.starts_with("close ");
        return Some(match parse_ref(&rest.text) {
            // "finish the report" is as likely a new task as a finished one: only ids count.
            Some(Ref::Words(_)) if finish_words => return None,
            Some(target) => Intent::Complete { target, completed: true },
            None => Intent::Incomplete("Which task is done? Say, for example, \u{201c}mark 3 done\u{201d}."),
        });
    }
    // "check X off", "tick X off", "cross X off".
    for verb in ["check ", "tick ", "cross "] {
        if p.lower.starts_with(verb) && p.lower.ends_with(" off") {
            let target = &p.text[verb.len()..p.text.len() - " off".len()];
            return parse_ref(target).map(|target| Intent::Complete { target, completed: true });
        }
    }
    None
}

/// A state said at the end: "the milk one is done", "3 finished", "the report isn't finished
/// yet" (which reopens it).
fn complete_suffix(p: &Phrase) -> Option<Intent> {
    let (target, completed) = trailing_status(&p.text)?;
    // "is the report done", "did I finish it": questions, not news.
    const QUESTIONS: &[&str] = &[
        "is", "are", "was", "were", "did", "do", "does", "has", "have", "what", "which", "how", "why", "when",
    ];
    let first = target.split(' ').next().unwrap_or_default().to_ascii_lowercase();
    if QUESTIONS.contains(&first.as_str()) {
        return None;
    }
    match parse_ref(&target)? {
        Ref::Words(words) if words.split(' ').count() > 8 => None,
        target => Some(Intent::Complete { target, completed }),
    }
}

fn delete(p: &Phrase) -> Option<Intent> {
    const VERBS: &[&str] = &[
        "delete",
        "remove",
        "erase",
        "drop",
        "get rid of",
        "cancel",
        "trash",
        "discard",
        "forget about",
        "scrap",
        "clear out",
        "clean out",
        "clear",
        "wipe",
        "empty",
        "purge",
    ];
    let rest = p.after_any(VERBS)?;
    // "drop off the parcel" is an errand, not a deletion.
    if p.lower.starts_with("drop off") {
        return None;
    }
    // The place words of "remove milk from my list".
    let rest = rest
        .before_any(&[
            " from my list",
            " from the list",
            " from my tasks",
            " from my todo list",
            " from my to-do list",
            " off my list",
            " from list",
        ])
        .unwrap_or(rest);
    let ws = words(&rest.lower);
    const BULK: &[&str] = &[
        "all",
        "every",
        "everything",
        "list",
        "them",
        "tasks",
        "ones",
        "items",
        "todos",
        "entire",
        "whole",
        "one",
        "any",
    ];
    const NOISE: &[&str] = &[
        "of", "my", "the", "task", "these", "those", "stuff", "things", "in", "on", "from", "that", "are",
        "i've", "ive", "i", "have", "already", "which", "that's", "thats", "is", "were", "was", "been",
        "marked", "as", "i'm", "im", "with", "we", "you", "one", "and",
    ];
    // Only bulk words, filler and state words: every task, or every task in the state named
    // ("delete everything that's done", "remove the ones I haven't finished").
    let bulk_only = ws.iter().all(|w| BULK.contains(w) || NOISE.contains(w) || is_status_word(w));
    let names_bulk = ws.iter().any(|w| BULK.contains(w) || is_status_word(w));
    let starts_clear = ["clear", "wipe", "empty", "purge"].iter().any(|v| p.lower.starts_with(v));
    if (bulk_only && names_bulk) || (ws.is_empty() && starts_clear) {
        return Some(Intent::DeleteAll { status: status_in(&rest.lower).unwrap_or(StatusFilter::All) });
    }
    // One task, perhaps with its state ("delete the finished report"): the state words are not
    // words of the title, and only a task in that state may go.
    let status = status_in(&rest.lower);
    let target = match status {
        Some(_) => rest
            .text
            .split(' ')
            .filter(|w| {
                !is_status_word(
                    w.to_ascii_lowercase().trim_matches(|c: char| !c.is_alphanumeric() && c != '\''),
                )
            })
            .collect::<Vec<_>>()
            .join(" "),
        None => rest.text.clone(),
    };
    Some(match parse_ref(&target) {
        Some(target) => Intent::Delete { target, status },
        None => Intent::Incomplete("Which task should I delete? Say, for example, \u{201c}delete 3\u{201d}."),
    })
}

fn add(p: &Phrase) -> Option<Intent> {
    const VERBS: &[&str] = &[
        "add",
        "add task",
        "add a task",
        "add new task",
        "add a new task",
        "add an item",
        "add item",
        "add a task called",
        "add a task named",
        "add a new task called",
        "add a task to",
        "add a new task to",
        "add a task for",
        "add a reminder to",
        "add reminder to",
        "create",
        "create task",
        "create a task",
        "create a new task",
        "create a task called",
        "new task",
        "new todo",
        "new to-do",
        "new item",
        "make a task",
        "make a note to",
        "remind me to",
        "remind me about",
        "remind me",
        "remember to",
        "remember",
        "don't forget to",
        "dont forget to",
        "i need to",
        "i have to",
        "i've got to",
        "ive got to",
        "i gotta",
        "i must",
        "i should",
        "i want to",
        "i'd like to",
        "id like to",
        "i would like to",
        "i'm going to",
        "im going to",
        "i am going to",
        "i plan to",
        "i ought to",
        "i still need to",
        "i still have to",
        "make sure to",
        "make sure i",
        "don't let me forget to",
        "dont let me forget to",
        "gotta",
        "need to",
        "todo",
        "to do",
        "to-do",
        "note to self",
        "jot down",
        "write down",
        "put",
    ];
    let rest = p.after_any(VERBS)?;
    // "I want to delete task 3" is a wish to do it now, not a task: what follows a wish is read
    // as a request of its own, and added only when it is no other command.
    const WISHES: &[&str] = &["i want to", "i'd like to", "id like to", "i would like to"];
    if WISHES.iter().any(|w| p.lower.starts_with(w)) {
        match parse(&rest.text) {
            Intent::Unknown | Intent::Incomplete(_) | Intent::Add { .. } | Intent::Help => {}
            Intent::Greeting | Intent::Thanks => {}
            command => return Some(command),
        }
    }
    let is_put = p.lower.starts_with("put");
    // "add to my list: buy milk".
    let rest = rest
        .after_any(&[
            "to my list",
            "to the list",
            "to my todo list",
            "to my to-do list",
            "to my tasks",
            "to list",
            "called",
            "named",
            "titled",
        ])
        .unwrap_or(rest);
    // "buy milk to my list", "put milk on my list".
    let places = [
        " to my list",
        " to the list",
        " to my todo list",
        " to my to-do list",
        " to my tasks",
        " to my todos",
        " to the todo list",
        " to my todo",
        " on my list",
        " on the list",
        " on my todo list",
        " on my to-do list",
        " to list",
        " as a task",
        " as a todo",
    ];
    let placed = rest.before_any(&places);
    if is_put && placed.is_none() {
        return None;
    }
    let rest = placed.unwrap_or(rest);
    // "X with description Y", "X, notes: Y".
    let mut title = rest.text.clone();
    let mut description = None;
    for marker in [
        " with the description ",
        " with description ",
        " with a description ",
        " with details ",
        " with the note ",
        " with a note ",
        " with note ",
        " with notes ",
        ", description:",
        ", details:",
        ", notes:",
        ", note:",
        "; description:",
        " description:",
        " notes:",
    ] {
        if let Some(at) = rest.lower.find(marker) {
            title = rest.text[..at].trim().to_owned();
            description =
                Some(unquote(rest.text[at + marker.len()..].trim_start_matches([':', ' '])).to_owned());
            break;
        }
    }
    let title = unquote(&title).trim_end_matches([',', ';', ':']).to_owned();
    if title.is_empty() {
        return Some(Intent::Incomplete(
            "What should I add? Say, for example, \u{201c}add buy oat milk\u{201d}.",
        ));
    }
    Some(Intent::Add { title, description: description.filter(|d| !d.is_empty()) })
}

/// "I bought the milk", "sent the invoice", "I've called mom": a completion told as news, in the
/// past tense. The verb is put back in its plain form ("buy"), the form a task's title has.
fn deed(p: &Phrase) -> Option<Intent> {
    // "have I paid the rent?" asks; it does not tell.
    if ["have i ", "have we ", "has ", "did "].iter().any(|q| p.lower.starts_with(q)) {
        return None;
    }
    const SUBJECTS: &[&str] =
        &["i", "i've", "ive", "we", "we've", "have", "just", "already", "finally", "also"];
    let mut rest = p.clone();
    while let Some(after) = rest.after_any(SUBJECTS) {
        if after.text.is_empty() {
            return None;
        }
        rest = after;
    }
    let (verb_text, object) = rest.text.split_once(' ')?;
    let verb = past_tense::plain_form(&verb_text.to_ascii_lowercase())?;
    let object = object.trim();
    let first = object.split(' ').next().unwrap_or_default().to_ascii_lowercase();
    // "did I buy milk" is a question; "wanted to call mom" is not something done.
    if ["i", "you", "we", "he", "she", "they", "it", "that", "this", "so", "not"].contains(&first.as_str()) {
        return None;
    }
    let object = unquote(object).to_owned();
    (!crate::tools::matching::significant_words(&object).is_empty())
        .then_some(Intent::Complete { target: Ref::Deed { verb, object }, completed: true })
}

/// "schedule a dentist appointment for next friday", "book a table for two": an order that is
/// plainly a task, added with its verb as the title says it. Only verbs of errands and chores:
/// "finish the report" could as well mean the task is done, and is asked about instead.
fn add_implied(p: &Phrase) -> Option<Intent> {
    let first = p.lower.split(' ').next()?;
    if !TASK_VERBS.contains(&first) {
        return None;
    }
    let words: Vec<&str> = p.lower.split(' ').collect();
    // "call me later", "text you": about the conversation, not an errand.
    if words.len() < 2 || ["me", "you", "i", "us", "it"].contains(&words[1]) {
        return None;
    }
    let title = unquote(&p.text).to_owned();
    Some(Intent::Add { title, description: None })
}

/// Verbs that start a task's title when a message is an errand or a chore.
pub(super) const TASK_VERBS: &[&str] = &[
    "schedule", "book", "buy", "call", "phone", "ring", "email", "e-mail", "text", "message", "pay", "pick",
    "renew", "clean", "wash", "fix", "repair", "write", "send", "mail", "post", "order", "return", "make",
    "get", "take", "bring", "visit", "water", "walk", "feed", "cook", "bake", "prepare", "plan", "organize",
    "organise", "arrange", "study", "practice", "practise", "learn", "file", "submit", "apply", "sign",
    "register", "pack", "unpack", "mow", "vacuum", "tidy", "sort", "go", "meet", "reply", "respond",
    "contact", "ask", "review", "read", "watch", "grab", "collect", "deliver", "invite", "hire", "research",
    "install", "iron", "fold", "shop", "print", "wrap", "charge", "refill", "replace", "cut", "paint",
    "sweep", "mop", "dust", "drop", "see", "do", "start", "prep", "draft", "backup", "back",
];

/// Past tenses of the verbs tasks start with, back to their plain form.
mod past_tense {
    const IRREGULAR: &[(&str, &str)] = &[
        ("bought", "buy"),
        ("brought", "bring"),
        ("sent", "send"),
        ("paid", "pay"),
        ("got", "get"),
        ("went", "go"),
        ("did", "do"),
        ("made", "make"),
        ("wrote", "write"),
        ("took", "take"),
        ("gave", "give"),
        ("met", "meet"),
        ("ate", "eat"),
        ("fed", "feed"),
        ("found", "find"),
        ("sold", "sell"),
        ("told", "tell"),
        ("spoke", "speak"),
        ("swept", "sweep"),
        ("hung", "hang"),
        ("ran", "run"),
        ("rang", "ring"),
        ("caught", "catch"),
        ("taught", "teach"),
        ("threw", "throw"),
        ("drove", "drive"),
        ("rode", "ride"),
        ("built", "build"),
        ("spent", "spend"),
        ("lent", "lend"),
        ("kept", "keep"),
        ("drew", "draw"),
        ("flew", "fly"),
        ("sang", "sing"),
        ("swam", "swim"),
        ("wore", "wear"),
        ("won", "win"),
        ("dug", "dig"),
        ("chose", "choose"),
        ("sought", "seek"),
        ("fought", "fight"),
        ("held", "hold"),
        ("heard", "hear"),
        ("slept", "sleep"),
        ("withdrew", "withdraw"),
    ];
    /// Words ending in "-ed" that are no past tense of a task, or that say something not done
    /// ("wanted", "forgot" is not here at all).
    const NOT_DEEDS: &[&str] = &[
        "need",
        "needed",
        "wanted",
        "started",
        "tried",
        "planned",
        "decided",
        "hoped",
        "liked",
        "loved",
        "hated",
        "wondered",
        "used",
        "supposed",
        "tired",
        "bored",
        "excited",
        "interested",
        "worried",
        "scared",
        "stressed",
        "confused",
        "married",
        "retired",
        "allowed",
        "required",
        "based",
        "red",
        "bed",
        "shed",
        "wed",
        "feed",
        "seed",
        "speed",
        "weed",
        "added",
        "deleted",
        "removed",
        "marked",
        "completed",
        "finished",
        "renamed",
        "listed",
        "checked",
        "ticked",
        "crossed",
        "closed",
    ];

    /// The plain form of a past tense ("bought" → "buy", "called" → "call", "replied" →
    /// "reply"); `None` for words that are not one. The plain form of a regular verb may keep a
    /// letter too many ("filed" → "fil", "shopped" → "shopp"): title matching compares word
    /// starts, so "fil" still finds "file".
    pub fn plain_form(word: &str) -> Option<String> {
        if let Some((_, plain)) = IRREGULAR.iter().find(|(past, _)| *past == word) {
            return Some((*plain).to_owned());
        }
        if NOT_DEEDS.contains(&word) || word.ends_with("eed") || word.len() < 5 || !word.is_ascii() {
            return None;
        }
        let stem = word.strip_suffix("ed")?;
        Some(match stem.strip_suffix('i') {
            Some(y_stem) => format!("{y_stem}y"),
            None => stem.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StatusFilter::*;

    fn add(title: &str) -> Intent {
        Intent::Add { title: title.into(), description: None }
    }
    fn list(status: StatusFilter, query: Option<&str>) -> Intent {
        Intent::List { status, query: query.map(Into::into) }
    }
    fn words(w: &str) -> Ref {
        Ref::Words(w.into())
    }
    fn done(target: Ref) -> Intent {
        Intent::Complete { target, completed: true }
    }
    fn reopen(target: Ref) -> Intent {
        Intent::Complete { target, completed: false }
    }
    fn deed(verb: &str, object: &str) -> Ref {
        Ref::Deed { verb: verb.into(), object: object.into() }
    }
    fn delete(target: Ref) -> Intent {
        Intent::Delete { target, status: None }
    }
    fn delete_in(target: Ref, status: StatusFilter) -> Intent {
        Intent::Delete { target, status: Some(status) }
    }
    fn delete_all(status: StatusFilter) -> Intent {
        Intent::DeleteAll { status }
    }
    fn count(status: StatusFilter) -> Intent {
        Intent::Count { status, query: None }
    }

    #[test]
    fn phrasings() {
        let cases: Vec<(&str, Intent)> = vec![
            // Adding.
            ("add buy oat milk", add("buy oat milk")),
            ("Add Buy oat milk.", add("Buy oat milk")),
            ("please add buy oat milk to my list", add("buy oat milk")),
            ("add \"buy oat milk\"", add("buy oat milk")),
            ("remind me to call mom tomorrow", add("call mom tomorrow")),
            ("can you remind me to call mom tomorrow?", add("call mom tomorrow")),
            ("add a task to water the plants", add("water the plants")),
            ("new task: renew passport", add("renew passport")),
            ("create a task called book flights", add("book flights")),
            ("I need to do the laundry", add("do the laundry")),
            ("don't forget to pay rent", add("pay rent")),
            ("put eggs on my list", add("eggs")),
            ("add to my list: buy bread", add("buy bread")),
            ("todo: fix the bike", add("fix the bike")),
            // Adding without the word "add": errands and chores, and what I need to do.
            (
                "schedule a dentist appointment for next friday",
                add("schedule a dentist appointment for next friday"),
            ),
            ("book a table for two at Luigi's", add("book a table for two at Luigi's")),
            ("buy milk", add("buy milk")),
            ("call the plumber tomorrow", add("call the plumber tomorrow")),
            ("pay the electricity bill", add("pay the electricity bill")),
            ("drop off the parcel", add("drop off the parcel")),
            ("I need to renew my passport", add("renew my passport")),
            ("I want to learn Spanish", add("learn Spanish")),
            ("I want to delete task 3", delete(Ref::Id(3))),
            ("I'd like to see my tasks", list(All, None)),
            ("I have to pick up the kids at 5", add("pick up the kids at 5")),
            ("make sure to water the plants", add("water the plants")),
            ("gotta email the landlord", add("email the landlord")),
            ("call me later", Intent::Unknown),
            (
                "add buy milk with description oat, not dairy",
                Intent::Add { title: "buy milk".into(), description: Some("oat, not dairy".into()) },
            ),
            (
                "add",
                Intent::Incomplete("What should I add? Say, for example, \u{201c}add buy oat milk\u{201d}."),
            ),
            // Listing.
            ("what's on my list", list(All, None)),
            ("What’s on my list?", list(All, None)),
            ("show my tasks", list(All, None)),
            ("list", list(All, None)),
            ("tasks", list(All, None)),
            ("show completed tasks", list(Completed, None)),
            ("what have I done", list(Completed, None)),
            ("what do I have to do", list(Pending, None)),
            ("what's left", list(Pending, None)),
            ("show pending tasks", list(Pending, None)),
            ("what's not done yet", list(Pending, None)),
            ("find milk", list(All, Some("milk"))),
            ("search for oat milk", list(All, Some("oat milk"))),
            ("show tasks about milk", list(All, Some("milk"))),
            ("which ones have I done?", list(Completed, None)),
            ("what did I finish today", list(Completed, None)),
            ("what's still open", list(Pending, None)),
            ("show me the closed ones", list(Completed, None)),
            ("show checked tasks", list(Completed, None)),
            ("show closed tasks", list(Completed, None)),
            ("what haven't I done yet", list(Pending, None)),
            ("anything left to do?", list(Pending, None)),
            ("done tasks", list(Completed, None)),
            ("what is there to be done", list(Pending, None)),
            ("which tasks are not finished", list(Pending, None)),
            // Counting.
            ("how many tasks do I have", count(All)),
            ("how many tasks do I have?", count(All)),
            ("how many are done", count(Completed)),
            ("how many tasks are left", count(Pending)),
            ("how many have I finished", count(Completed)),
            ("how many pending tasks", count(Pending)),
            ("count my tasks", count(All)),
            ("what's the number of open tasks", count(Pending)),
            ("how many milk tasks", Intent::Count { status: All, query: Some("milk".into()) }),
            ("count the money", Intent::Unknown),
            ("show milk tasks", list(All, Some("milk"))),
            ("show me everything", list(All, None)),
            ("tell me a joke", Intent::Unknown),
            // Completing.
            ("mark 3 done", done(Ref::Id(3))),
            ("mark #3 as done", done(Ref::Id(3))),
            ("mark task 3 as completed", done(Ref::Id(3))),
            ("complete 3", done(Ref::Id(3))),
            ("finish 3", done(Ref::Id(3))),
            ("check off 7", done(Ref::Id(7))),
            ("tick 7 off", done(Ref::Id(7))),
            ("I finished the milk one", done(words("the milk one"))),
            ("mark buy milk as done", done(words("buy milk"))),
            ("done with the report", done(words("the report"))),
            ("the milk one is done", done(words("the milk one"))),
            ("3 done", done(Ref::Id(3))),
            ("mark 3 and 4 done", done(Ref::Ids(vec![3, 4]))),
            ("mark 3 as not done", Intent::Complete { target: Ref::Id(3), completed: false }),
            ("reopen the milk one", Intent::Complete { target: words("the milk one"), completed: false }),
            // Completing, told as news: the past tense, or a state.
            ("I bought the milk", done(deed("buy", "the milk"))),
            ("bought milk", done(deed("buy", "milk"))),
            ("I sent the email to Bob", done(deed("send", "the email to Bob"))),
            ("I called mom", done(deed("call", "mom"))),
            ("I've paid the rent", done(deed("pay", "the rent"))),
            ("just watered the plants", done(deed("water", "the plants"))),
            ("I replied to Sam", done(deed("reply", "to Sam"))),
            ("I went to the gym", done(deed("go", "to the gym"))),
            ("I wanted to call mom", Intent::Unknown),
            ("the report is done", done(words("the report"))),
            ("the milk one is finished", done(words("the milk one"))),
            ("3 is complete", done(Ref::Id(3))),
            ("the milk's done", done(words("the milk"))),
            ("finished the report", done(words("the report"))),
            ("completed the report", done(words("the report"))),
            ("done: buy milk", done(words("buy milk"))),
            ("I'm finished with the report", done(words("the report"))),
            ("the report still isn't done", reopen(words("the report"))),
            ("have I paid the rent", Intent::Unknown),
            ("I'm done with the report", done(words("the report"))),
            ("checked off the milk", done(words("the milk"))),
            ("mark 3 as checked", done(Ref::Id(3))),
            ("set 3 to done", done(Ref::Id(3))),
            // Reopening.
            ("reopen 3", reopen(Ref::Id(3))),
            ("uncheck 3", reopen(Ref::Id(3))),
            ("the report is not finished yet", reopen(words("the report"))),
            ("the report isn't done", reopen(words("the report"))),
            ("3 not finished yet", reopen(Ref::Id(3))),
            ("mark 3 as open", reopen(Ref::Id(3))),
            ("mark 3 undone", reopen(Ref::Id(3))),
            ("I haven't finished the report", reopen(words("the report"))),
            // Questions about a state are not news.
            ("is the milk one done", Intent::Unknown),
            ("finish the report", Intent::Unknown),
            // Renaming and describing.
            ("rename 3 to buy oat milk", Intent::Rename { target: Ref::Id(3), title: "buy oat milk".into() }),
            (
                "rename buy milk to buy oat milk",
                Intent::Rename { target: words("buy milk"), title: "buy oat milk".into() },
            ),
            (
                "change task 3's title to call dad",
                Intent::Rename { target: Ref::Id(3), title: "call dad".into() },
            ),
            (
                "rename \"go to gym\" to go to the pool",
                Intent::Rename { target: words("go to gym"), title: "go to the pool".into() },
            ),
            (
                "set the description of 3 to oat, not dairy",
                Intent::Describe { target: Ref::Id(3), description: "oat, not dairy".into() },
            ),
            (
                "remove the description of 3",
                Intent::Describe { target: Ref::Id(3), description: String::new() },
            ),
            // Deleting.
            ("delete 3", delete(Ref::Id(3))),
            ("remove task #3", delete(Ref::Id(3))),
            ("erase 3", delete(Ref::Id(3))),
            ("delete the milk one", delete(words("the milk one"))),
            ("get rid of buy milk", delete(words("buy milk"))),
            ("get rid of the milk one", delete(words("the milk one"))),
            ("remove milk from my list", delete(words("milk"))),
            ("delete 3 and 4", delete(Ref::Ids(vec![3, 4]))),
            // Deleting by state: only tasks in that state.
            ("remove everything that's done", delete_all(Completed)),
            ("remove the completed ones", delete_all(Completed)),
            ("delete all checked tasks", delete_all(Completed)),
            ("delete closed tasks", delete_all(Completed)),
            ("erase the finished tasks", delete_all(Completed)),
            ("clear out the finished ones", delete_all(Completed)),
            ("get rid of everything I've finished", delete_all(Completed)),
            ("delete the completed one", delete_all(Completed)),
            ("delete the ones that aren't done", delete_all(Pending)),
            ("clear the open tasks", delete_all(Pending)),
            ("delete everything I haven't finished", delete_all(Pending)),
            ("delete all done and open tasks", delete_all(All)),
            ("delete the finished report", delete_in(words("the report"), Completed)),
            ("remove the done milk one", delete_in(words("the milk one"), Completed)),
            ("delete completed task 3", delete_in(Ref::Id(3), Completed)),
            ("delete all my tasks", Intent::DeleteAll { status: All }),
            ("delete everything", Intent::DeleteAll { status: All }),
            ("clear my list", Intent::DeleteAll { status: All }),
            ("delete all completed tasks", Intent::DeleteAll { status: Completed }),
            ("clear completed", Intent::DeleteAll { status: Completed }),
            ("remove the done ones", Intent::DeleteAll { status: Completed }),
            // The rest.
            ("help", Intent::Help),
            ("what can you do?", Intent::Help),
            ("", Intent::Help),
            ("hello", Intent::Greeting),
            ("thanks!", Intent::Thanks),
            ("what's the weather like", Intent::Unknown),
            ("sing me a song", Intent::Unknown),
            ("asdfgh", Intent::Unknown),
        ];
        let mut failures = Vec::new();
        for (message, expected) in &cases {
            let got = parse(message);
            if &got != expected {
                failures.push(format!("{message:?}\n   expected {expected:?}\n        got {got:?}"));
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} phrasings misread:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn references() {
        assert_eq!(parse_ref("#12"), Some(Ref::Id(12)));
        assert_eq!(parse_ref("the 3rd"), Some(words("the 3rd")));
        assert_eq!(parse_ref("tasks 3, 5 and 8"), Some(Ref::Ids(vec![3, 5, 8])));
        assert_eq!(parse_ref("the task"), None);
        assert_eq!(parse_ref("'milk'"), Some(words("milk")));
    }
}
