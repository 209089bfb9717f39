//! Task persistence. Every function takes the owner and every statement filters on it, so no
//! caller can reach another user's task by number: it is simply not found.
//!
//! Tasks are addressed by their per-user number (`tasks.number`, shown as the task's `id`); the
//! table's own identity column never leaves this module.

use super::{NewTask, StatusFilter, Task, TaskFilter, TaskPatch};
use crate::auth::UserId;
use crate::db::{Db, SqliteDb, Timestamp, on_pool};
use crate::page::{Page, PageRequest};

// A macro rather than a const so `concat!` can build each statement as a literal: sqlx only
// accepts literal SQL (or an explicit audit) to keep user data out of query text.
macro_rules! columns {
    () => {
        "number AS id, title, description, completed, created_at, updated_at"
    };
}

/// Creates a task with the owner's next number. Taking the number and inserting the task are
/// one transaction: on Postgres the counter's row lock makes a concurrent create wait for this
/// one to commit; SQLite lets one writer in at a time. So two creates never get the same number,
/// and a deleted task's number is never handed out again.
pub async fn create(db: &Db, owner: UserId, new: &NewTask) -> Result<Task, sqlx::Error> {
    let now = Timestamp::now();
    let take_number = "UPDATE users SET next_task_number = next_task_number + 1 WHERE id = $1 \
                       RETURNING next_task_number - 1";
    let insert = concat!(
        "INSERT INTO tasks (user_id, number, title, description, completed, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, FALSE, $5, $5) RETURNING ",
        columns!()
    );
    on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let number: i64 = sqlx::query_scalar(take_number).bind(owner.0).fetch_one(&mut *tx).await?;
        let task = sqlx::query_as::<_, Task>(insert)
            .bind(owner.0)
            .bind(number)
            .bind(new.title.as_str())
            .bind(new.description.as_ref().map(|d| d.as_str()))
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(task)
    })
}

pub async fn get(db: &Db, owner: UserId, number: i64) -> Result<Option<Task>, sqlx::Error> {
    let sql = concat!("SELECT ", columns!(), " FROM tasks WHERE number = $1 AND user_id = $2");
    on_pool!(db, pool => {
        sqlx::query_as::<_, Task>(sql)
            .bind(number)
            .bind(owner.0)
            .fetch_optional(pool)
            .await
    })
}

/// Newest first (by creation time, then by row, so equal timestamps still have one order: within
/// one owner, rows are inserted in number order, and `tasks.id` keeps the `tasks_owner_newest`
/// index usable).
///
/// On Postgres the page and the total are one statement, so one round trip to the server (the
/// request's account check is the other): the count is the left side of a join with the page,
/// so an empty page (no match, or an offset past the end) still comes back as one row holding
/// the total. Each side keeps the plan it has as a statement of its own (the page stops after
/// `limit + offset` rows of the newest-first index), and both see one snapshot. SQLite runs in
/// the process, where a statement costs no round trip and the join only adds a copy and a sort
/// of the page, so there they stay two statements.
pub async fn list(
    db: &Db,
    owner: UserId,
    filter: &TaskFilter,
    page: PageRequest,
) -> Result<Page<Task>, sqlx::Error> {
    let completed = match filter.status {
        StatusFilter::All => None,
        StatusFilter::Pending => Some(false),
        StatusFilter::Completed => Some(true),
    };
    let pattern = filter.search.as_deref().map(like_pattern);
    // `lower()` on both sides: Postgres `LIKE` is case-sensitive and SQLite has no `ILIKE`. The
    // pattern is lower-cased by Unicode rules; so is the column (SQLite connections get a Unicode
    // `lower()`, see db::unicode_lower), so "Ö" finds "ö" on both databases.
    macro_rules! filters {
        () => {
            " FROM tasks WHERE user_id = $1 AND ($2 IS NULL OR completed = $2) \
              AND ($3 IS NULL OR lower(title) LIKE $3 ESCAPE '\\' \
                   OR lower(coalesce(description, '')) LIKE $3 ESCAPE '\\')"
        };
    }
    macro_rules! page {
        () => {
            " ORDER BY created_at DESC, tasks.id DESC LIMIT $4 OFFSET $5"
        };
    }
    let (items, total) = match db {
        Db::Postgres(pool) => {
            let sql = concat!(
                "SELECT page.id, page.title, page.description, page.completed, page.created_at, \
                        page.updated_at, matching.total \
                 FROM (SELECT COUNT(*) AS total",
                filters!(),
                ") AS matching LEFT JOIN (SELECT ",
                columns!(),
                ", tasks.id AS row_id",
                filters!(),
                page!(),
                ") AS page ON TRUE ORDER BY page.created_at DESC, page.row_id DESC"
            );
            let rows = sqlx::query_as::<_, PageRow>(sql)
                .bind(owner.0)
                .bind(completed)
                .bind(pattern.as_deref())
                .bind(page.limit)
                .bind(page.offset)
                .fetch_all(pool)
                .await?;
            let total = rows.first().map_or(0, |row| row.total);
            (rows.into_iter().filter_map(PageRow::into_task).collect(), total)
        }
        Db::Sqlite(SqliteDb { pool, .. }) => {
            let select = concat!("SELECT ", columns!(), filters!(), page!());
            let count = concat!("SELECT COUNT(*)", filters!());
            let items = sqlx::query_as::<_, Task>(select)
                .bind(owner.0)
                .bind(completed)
                .bind(pattern.as_deref())
                .bind(page.limit)
                .bind(page.offset)
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(count)
                .bind(owner.0)
                .bind(completed)
                .bind(pattern.as_deref())
                .fetch_one(pool)
                .await?;
            (items, total)
        }
    };
    Ok(Page { items, total, limit: page.limit, offset: page.offset })
}

/// A row of [`list`]'s Postgres statement: a task and the total, or only the total when the page
/// is empty.
#[derive(sqlx::FromRow)]
struct PageRow {
    id: Option<i64>,
    title: Option<String>,
    description: Option<String>,
    completed: Option<bool>,
    created_at: Option<Timestamp>,
    updated_at: Option<Timestamp>,
    total: i64,
}

impl PageRow {
    fn into_task(self) -> Option<Task> {
        Some(Task {
            id: self.id?,
            title: self.title?,
            description: self.description,
            completed: self.completed?,
            created_at: self.created_at?,
            updated_at: self.updated_at?,
        })
    }
}

pub async fn update(
    db: &Db,
    owner: UserId,
    number: i64,
    patch: &TaskPatch,
) -> Result<Option<Task>, sqlx::Error> {
    if patch.is_empty() {
        return get(db, owner, number).await;
    }
    let sql = concat!(
        "UPDATE tasks SET \
             title = COALESCE($3, title), \
             description = CASE WHEN $4 THEN $5 ELSE description END, \
             completed = COALESCE($6, completed), \
             updated_at = $7 \
         WHERE number = $1 AND user_id = $2 RETURNING ",
        columns!()
    );
    let new_description = patch.description.as_ref().and_then(|d| d.as_ref().map(|d| d.as_str()));
    on_pool!(db, pool => {
        sqlx::query_as::<_, Task>(sql)
            .bind(number)
            .bind(owner.0)
            .bind(patch.title.as_ref().map(|t| t.as_str()))
            .bind(patch.description.is_some())
            .bind(new_description)
            .bind(patch.completed)
            .bind(Timestamp::now())
            .fetch_optional(pool)
            .await
    })
}

/// `true` if a task was deleted, `false` if the owner has no task with this number.
pub async fn delete(db: &Db, owner: UserId, number: i64) -> Result<bool, sqlx::Error> {
    let result = on_pool!(db, pool => {
        sqlx::query("DELETE FROM tasks WHERE number = $1 AND user_id = $2")
            .bind(number)
            .bind(owner.0)
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(result == 1)
}

/// A `LIKE` pattern matching `text` anywhere, with its own `%`, `_` and `\` taken literally.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_wildcards_in_search_text_are_literal() {
        assert_eq!(like_pattern("50%_Off\\"), "%50\\%\\_off\\\\%");
    }
}
