//! The accounts table.

use serde::Serialize;

use super::{Email, UserId};
use crate::db::{Db, Timestamp, is_unique_violation, on_pool};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub created_at: Timestamp,
}

impl User {
    pub fn user_id(&self) -> UserId {
        UserId(self.id)
    }
}

#[derive(sqlx::FromRow)]
struct UserWithHash {
    #[sqlx(flatten)]
    user: User,
    password_hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub async fn create(db: &Db, email: &Email, password_hash: &str) -> Result<User, CreateUserError> {
    let now = Timestamp::now();
    let result = on_pool!(db, pool => {
        sqlx::query_as::<_, User>(
            "INSERT INTO users (email, password_hash, created_at) VALUES ($1, $2, $3) \
             RETURNING id, email, created_at",
        )
        .bind(email.as_str())
        .bind(password_hash)
        .bind(now)
        .fetch_one(pool)
        .await
    });
    result.map_err(|e| {
        // Checked by the database, not by a prior SELECT, so two simultaneous signups for one
        // address cannot both succeed.
        if is_unique_violation(&e) { CreateUserError::EmailTaken } else { CreateUserError::Db(e) }
    })
}

/// The account with this email and its password hash, for checking a login.
pub async fn find_for_login(db: &Db, email: &Email) -> Result<Option<(User, String)>, sqlx::Error> {
    let row = on_pool!(db, pool => {
        sqlx::query_as::<_, UserWithHash>(
            "SELECT id, email, created_at, password_hash FROM users WHERE email = $1",
        )
        .bind(email.as_str())
        .fetch_optional(pool)
        .await
    })?;
    Ok(row.map(|r| (r.user, r.password_hash)))
}

pub async fn find(db: &Db, id: UserId) -> Result<Option<User>, sqlx::Error> {
    on_pool!(db, pool => {
        sqlx::query_as::<_, User>("SELECT id, email, created_at FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_optional(pool)
            .await
    })
}
