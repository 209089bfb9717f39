//! Finding a task by words of its title ("the milk one"), for `complete_task` and for the offline
//! agent. Deterministic: the same words and tasks always give the same answer, and when more than
//! one task fits, the caller is told so instead of one being picked.

use crate::auth::UserId;
use crate::db::Db;
use crate::page::{MAX_LIMIT, PageRequest};
use crate::tasks::{StatusFilter, Task, TaskFilter, store};

/// Words that say nothing about which task is meant.
const FILLER: &[&str] = &[
    "the", "a", "an", "one", "task", "item", "todo", "to-do", "my", "that", "this", "thing", "called",
    "named",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    None,
    One(Task),
    /// Newest first.
    Many(Vec<Task>),
}

/// The owner's task that `words` describe. A task matches when every word of the query is a word
/// of its title (or the start of one, or the other way round, so "egg" finds "eggs"). A title
/// equal to the query wins over titles that merely contain it. When `completed` is given, tasks in
/// that state are preferred (completing looks at pending tasks first) but others still match.
///
/// Candidates are the 100 newest tasks containing the query's longest word, and beyond them any
/// task whose title is exactly the query (looked for page by page, up to [`MAX_SCANNED`] tasks):
/// a title typed out in full is found however old the task is.
pub async fn find_by_title(
    db: &Db,
    owner: UserId,
    words: &str,
    completed: Option<bool>,
) -> Result<Match, sqlx::Error> {
    Ok(find_by_title_covered(db, owner, words, completed).await?.0)
}

/// How many tasks a title search compared in full: the newest `compared` of the `total` tasks
/// that contain the query's longest word (older ones were checked for an exact title only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Coverage {
    pub compared: i64,
    pub total: i64,
}

impl Coverage {
    pub fn is_partial(&self) -> bool {
        self.total > self.compared
    }
}

/// [`find_by_title`], also saying how much of the owner's list it compared, so that a reply can
/// say when not every task was looked at.
pub async fn find_by_title_covered(
    db: &Db,
    owner: UserId,
    words: &str,
    completed: Option<bool>,
) -> Result<(Match, Coverage), sqlx::Error> {
    let query = significant_words(words);
    let Some(longest) = query.iter().max_by_key(|w| w.chars().count()) else {
        return Ok((Match::None, Coverage::default()));
    };
    // Narrow in the database by the word's start, so "eggs" also reaches "egg" and "groceries"
    // "grocery"; `choose` then decides on whole words.
    let keep = match longest.chars().count() {
        n @ 0..=3 => n,
        4 => 3,
        _ => 4,
    };
    let stem: String = longest.chars().take(keep).collect();
    let Ok(filter) = TaskFilter::new(StatusFilter::All, Some(&stem)) else {
        return Ok((Match::None, Coverage::default()));
    };
    let page = PageRequest::new(Some(MAX_LIMIT), None).expect("a valid page");
    let first = store::list(db, owner, &filter, page).await?;
    let mut candidates = first.items;
    let coverage = Coverage { compared: candidates.len() as i64, total: first.total };
    let mut offset = candidates.len() as i64;
    while offset < first.total.min(MAX_SCANNED) {
        let page = PageRequest { limit: MAX_LIMIT, offset };
        let items = store::list(db, owner, &filter, page).await?.items;
        if items.is_empty() {
            break;
        }
        offset += items.len() as i64;
        candidates.extend(items.into_iter().filter(|task| significant_words(&task.title) == query));
    }
    Ok((choose(&query, candidates, completed), coverage))
}

/// Most tasks [`find_by_title`] reads when looking for an exact title beyond the newest page.
pub const MAX_SCANNED: i64 = 10_000;

/// The decision of [`find_by_title`], apart from the database.
fn choose(query: &[String], candidates: Vec<Task>, completed: Option<bool>) -> Match {
    if query.is_empty() {
        return Match::None;
    }
    let mut matches: Vec<(bool, Task)> = candidates
        .into_iter()
        .filter_map(|task| {
            let title = significant_words(&task.title);
            let fits = query.iter().all(|q| title.iter().any(|t| same_word(q, t)));
            fits.then(|| (title == query, task))
        })
        .collect();
    if matches.iter().any(|(exact, _)| *exact) {
        matches.retain(|(exact, _)| *exact);
    }
    let mut tasks: Vec<Task> = matches.into_iter().map(|(_, task)| task).collect();
    if let Some(wanted) = completed
        && tasks.iter().any(|t| t.completed == wanted)
    {
        tasks.retain(|t| t.completed == wanted);
    }
    match tasks.len() {
        0 => Match::None,
        1 => Match::One(tasks.remove(0)),
        _ => Match::Many(tasks),
    }
}

/// Lower-case words without punctuation or filler.
pub fn significant_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-')
        .map(|w| w.trim_matches(|c| c == '\'' || c == '-').to_lowercase())
        .filter(|w| !w.is_empty() && !FILLER.contains(&w.as_str()))
        .collect()
}

pub fn same_word(query: &str, title: &str) -> bool {
    if query == title {
        return true;
    }
    let (short, long) = if query.len() <= title.len() { (query, title) } else { (title, query) };
    short.chars().count() >= 3 && long.starts_with(short)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Timestamp;

    fn task(id: i64, title: &str, completed: bool) -> Task {
        let now = Timestamp::now();
        Task { id, title: title.into(), description: None, completed, created_at: now, updated_at: now }
    }

    fn ids(m: Match) -> Vec<i64> {
        match m {
            Match::None => vec![],
            Match::One(t) => vec![t.id],
            Match::Many(ts) => ts.into_iter().map(|t| t.id).collect(),
        }
    }

    fn find(words: &str, tasks: &[Task], completed: Option<bool>) -> Vec<i64> {
        ids(choose(&significant_words(words), tasks.to_vec(), completed))
    }

    #[test]
    fn words_pick_tasks_exact_titles_win_and_ties_are_reported() {
        let tasks = [
            task(1, "Buy milk", false),
            task(2, "Buy oat milk", false),
            task(3, "Call mom", true),
            task(4, "Buy eggs", false),
        ];
        assert_eq!(find("the milk one", &tasks, None), [1, 2], "two fit: ambiguous");
        assert_eq!(find("buy milk", &tasks, None), [1], "an exact title wins");
        assert_eq!(find("oat", &tasks, None), [2]);
        assert_eq!(find("egg", &tasks, None), [4], "singular finds plural");
        assert_eq!(find("MOM!", &tasks, Some(false)), [3], "a preference does not exclude");
        assert_eq!(find("bread", &tasks, None), Vec::<i64>::new());
        assert_eq!(find("the task", &tasks, None), Vec::<i64>::new(), "only filler");
        assert_eq!(find("mi", &tasks, None), Vec::<i64>::new(), "too short to be a prefix");
    }

    #[test]
    fn the_wanted_state_breaks_ties() {
        let tasks = [task(1, "buy milk", true), task(2, "buy oat milk", false)];
        assert_eq!(find("milk", &tasks, Some(false)), [2]);
        assert_eq!(find("milk", &tasks, Some(true)), [1]);
        assert_eq!(find("milk", &tasks, None), [1, 2]);
    }
}
