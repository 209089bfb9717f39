//! Accounts and authentication: who the caller is, decided once per request from the bearer token.

mod credentials;
mod middleware;
mod password;
mod routes;
mod token;
pub mod users;

use serde::{Deserialize, Serialize};

pub use credentials::{
    EMAIL_LOCAL_MAX_CHARS, EMAIL_MAX_CHARS, Email, NewPassword, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS,
};
pub use middleware::{CurrentUser, require_user};
pub use password::Passwords;
pub use routes::{login, me, signup};
pub use token::{AUDIENCE, Claims, ISSUER, TOKEN_TTL, TokenError, Tokens};

/// The id of an account. Store functions take it as the owner of what they touch; handlers get
/// it only from a verified token, never from a request body or query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub i64);
