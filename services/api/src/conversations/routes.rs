//! `GET /api/conversations` and `GET /api/conversations/{id}/messages`.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::{Conversation, Message, store};
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::http::extract::{PathId, QueryParams};
use crate::page::{Page, PageRequest};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Serialize)]
pub struct Messages {
    items: Vec<Message>,
}

pub async fn list_conversations(
    State(state): State<AppState>,
    CurrentUser(owner): CurrentUser,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Json<Page<Conversation>>, ApiError> {
    let page = PageRequest::new(params.limit, params.offset).map_err(ApiError::Validation)?;
    Ok(Json(store::list(&state.db, owner, page).await?))
}

pub async fn list_messages(
    State(state): State<AppState>,
    CurrentUser(owner): CurrentUser,
    PathId(id): PathId,
) -> Result<Json<Messages>, ApiError> {
    store::messages(&state.db, owner, id)
        .await?
        .map(|items| Json(Messages { items }))
        .ok_or(ApiError::NotFound("no conversation with this id"))
}
