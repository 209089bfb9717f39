//! Turns the `Authorization: Bearer` header into the caller's identity, or a 401.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

use super::{UserId, users};
use crate::error::ApiError;
use crate::state::AppState;

/// The signed-in caller. Only [`require_user`] puts it into a request, so a handler that takes
/// it cannot be reached without a valid token (without the layer it answers 500, never serves).
#[derive(Debug, Clone, Copy)]
pub struct CurrentUser(pub UserId);

pub async fn require_user(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = bearer_token(&request)?;
    let user = state.tokens.verify(token)?;
    // Checked here, once, for every authenticated route: a token outlives a database that was
    // reset or replaced, and its user's writes would then break foreign keys (500) while its
    // reads found nothing (200, empty). One primary-key lookup per request.
    if users::find(&state.db, user).await?.is_none() {
        return Err(ApiError::AccountNotFound);
    }
    request.extensions_mut().insert(CurrentUser(user));
    Ok(next.run(request).await)
}

fn bearer_token(request: &Request) -> Result<&str, ApiError> {
    let missing = ApiError::Unauthorized("a bearer token is required in the Authorization header");
    let value = request
        .headers()
        .get(AUTHORIZATION)
        .ok_or(missing)?
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is not readable"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim())
        }
        _ => Err(ApiError::Unauthorized("the Authorization header must be `Bearer <token>`")),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentUser>()
            .copied()
            .ok_or_else(|| ApiError::internal("a handler needing a user is routed without require_user"))
    }
}
