//! The per-user daily budget of language model calls (OWASP LLM10, unbounded consumption).
//!
//! Counted in the database, not in the process, so it holds across replicas and restarts: one
//! row per user with the UTC day it counts and the calls made on it. Taking a call is one
//! statement that either increments below the limit or changes nothing.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use crate::auth::UserId;
use crate::db::{Db, on_pool};

/// Takes one call from `owner`'s budget for today. `Err` holds the wait until the budget
/// renews (next midnight UTC).
pub async fn take(
    db: &Db,
    owner: UserId,
    limit: u32,
    now: DateTime<Utc>,
) -> Result<Result<(), Duration>, sqlx::Error> {
    let today: NaiveDate = now.date_naive();
    // A new day starts the count again; the same day counts up while below the limit. When the
    // limit is reached the WHERE makes the upsert a no-op and nothing is returned.
    let sql = "INSERT INTO llm_usage (user_id, day, calls) VALUES ($1, $2, 1) \
               ON CONFLICT (user_id) DO UPDATE SET \
                   calls = CASE WHEN llm_usage.day = excluded.day THEN llm_usage.calls + 1 ELSE 1 END, \
                   day = excluded.day \
               WHERE llm_usage.day <> excluded.day OR llm_usage.calls < $3 \
               RETURNING calls";
    let taken: Option<i32> = on_pool!(db, pool => {
        sqlx::query_scalar(sql)
            .bind(owner.0)
            .bind(today)
            .bind(i64::from(limit))
            .fetch_optional(pool)
            .await?
    });
    Ok(match taken {
        Some(_) => Ok(()),
        None => Err(until_next_day(now)),
    })
}

fn until_next_day(now: DateTime<Utc>) -> Duration {
    let tomorrow = now.date_naive().succ_opt().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc());
    tomorrow.and_then(|t| (t - now).to_std().ok()).unwrap_or(Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_renews_at_midnight_utc() {
        let now = DateTime::parse_from_rfc3339("2026-11-23T23:59:30Z").unwrap().with_timezone(&Utc);
        assert_eq!(until_next_day(now), Duration::from_secs(30));
        let now = DateTime::parse_from_rfc3339("2026-11-23T00:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(until_next_day(now), Duration::from_secs(86_400));
    }

    #[tokio::test]
    async fn calls_are_counted_per_user_and_day_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let config =
            crate::config::DatabaseConfig::Sqlite { path: dir.path().join("t.db"), max_connections: 2 };
        let db = Db::connect(&config).await.unwrap();
        db.migrate().await.unwrap();
        let Db::Sqlite(sqlite) = &db else { unreachable!() };
        for email in ["a@example.com", "b@example.com"] {
            sqlx::query("INSERT INTO users (email, password_hash, created_at) VALUES ($1, 'x', 'now')")
                .bind(email)
                .execute(&sqlite.pool)
                .await
                .unwrap();
        }
        let day1 = DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z").unwrap().with_timezone(&Utc);
        let day2 = day1 + chrono::Duration::days(1);
        let (a, b) = (UserId(1), UserId(2));
        assert_eq!(take(&db, a, 2, day1).await.unwrap(), Ok(()));
        assert_eq!(take(&db, a, 2, day1).await.unwrap(), Ok(()));
        assert!(take(&db, a, 2, day1).await.unwrap().is_err(), "the third call of the day is refused");
        assert_eq!(take(&db, b, 2, day1).await.unwrap(), Ok(()), "another user has a budget of their own");
        assert_eq!(take(&db, a, 2, day2).await.unwrap(), Ok(()), "a new day, a new budget");
        db.close().await;
    }
}
