//! `POST /api/auth/signup`, `POST /api/auth/login`, `GET /api/auth/me`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::users::{self, CreateUserError, User};
use super::{CurrentUser, Email, NewPassword};
use crate::error::ApiError;
use crate::http::extract::JsonBody;
use crate::rate_limit::Scope;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    email: String,
    password: String,
}

#[derive(Serialize)]
pub struct AuthResponse {
    token: String,
    user: User,
}

pub async fn signup(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<(StatusCode, Json<AuthResponse>), ApiError> {
    let email = Email::parse(&body.email).map_err(ApiError::Validation)?;
    let password = NewPassword::parse(body.password).map_err(ApiError::Validation)?;
    let hash = state.passwords.hash(password.into_inner()).await?;
    let user = users::create(&state.db, &email, &hash).await.map_err(|e| match e {
        CreateUserError::EmailTaken => ApiError::EmailTaken,
        CreateUserError::Db(e) => e.into(),
    })?;
    tracing::info!(user.id = user.id, "account created");
    let token = state.tokens.issue(user.user_id())?;
    Ok((StatusCode::CREATED, Json(AuthResponse { token, user })))
}

pub async fn login(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<Json<AuthResponse>, ApiError> {
    // An address that cannot exist gets the same answer as a wrong password.
    let email = Email::parse(&body.email).map_err(|_| ApiError::InvalidCredentials)?;
    let found = users::find_for_login(&state.db, &email).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let password_ok = state.passwords.verify(body.password, hash).await?;
    match user {
        Some(user) if password_ok => {
            let token = state.tokens.issue(user.user_id())?;
            Ok(Json(AuthResponse { token, user }))
        }
        // Only failures count against the account: charging every attempt would let anyone who
        // knows an address keep its owner out by failing on purpose, and a correct password is
        // never refused on the account's budget (the per-IP limit in front still applies). Wrong
        // guesses at one account from many addresses, which the per-IP limit cannot see, get 429
        // once the account's budget of failures is spent.
        _ => {
            state.limiter.check(Scope::LoginPerAccount, email.as_str()).map_err(ApiError::RateLimited)?;
            Err(ApiError::InvalidCredentials)
        }
    }
}

pub async fn me(State(state): State<AppState>, CurrentUser(id): CurrentUser) -> Result<Json<User>, ApiError> {
    // A valid token for an account that no longer exists is no longer a valid identity.
    users::find(&state.db, id).await?.map(Json).ok_or(ApiError::AccountNotFound)
}
