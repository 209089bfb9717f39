//! `/api/tasks` and `/api/tasks/{id}`, where `{id}` is the task's per-user number (see
//! [`super::Task::id`]): wire formats in, validated values to the store, tasks out.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer};

use super::{Description, NewTask, StatusFilter, Task, TaskFilter, TaskPatch, Title, store};
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::http::extract::{JsonBody, PathId, QueryParams};
use crate::page::{Page, PageRequest};
use crate::state::AppState;

const NOT_FOUND: ApiError = ApiError::NotFound("no task with this number");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    #[serde(default)]
    status: StatusFilter,
    q: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    title: String,
    #[serde(default)]
    description: Option<String>,
}

/// Every field is optional; `null` is meaningful only for `description` (it clears it), so the
/// outer `Option` tells "absent" from "null".
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    #[serde(default, deserialize_with = "present")]
    title: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    completed: Option<Option<bool>>,
}

fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

pub async fn list_tasks(
    State(state): State<AppState>,
    CurrentUser(owner): CurrentUser,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Json<Page<Task>>, ApiError> {
    let filter = TaskFilter::new(params.status, params.q.as_deref()).map_err(ApiError::Validation)?;
    let page = PageRequest::new(params.limit, params.offset).map_err(ApiError::Validation)?;
    Ok(Json(store::list(&state.db, owner, &filter, page).await?))
}

pub async fn create_task(
    State(state): State<AppState>,
    CurrentUser(owner): CurrentUser,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    let new = NewTask {
        title: Title::parse(&body.title).map_err(ApiError::Validation)?,
        description: match body.description {
            Some(d) => Description::parse(&d).map_err(ApiError::Validation)?,
            None => None,
        },
    };
    let task = store::create(&state.db, owner, &new).await?;
    Ok((StatusCode::CREATED, Json(task)))
}

pub async fn get_task(
    State(state): State<AppState>,
    CurrentUser(owner): CurrentUser,
    PathId(id): PathId,
) -> Result<Json<Task>, ApiError> {
    store::get(&state.db, owner, id).await?.map(Json).ok_or(NOT_FOUND)
}

pub async fn update_task(
    State(state): State<AppState>,
    CurrentUser(owner): CurrentUser,
    PathId(id): PathId,
    JsonBody(body): JsonBody<UpdateBody>,
) -> Result<Json<Task>, ApiError> {
    let patch = TaskPatch {
        title: match body.title {
            None => None,
            Some(None) => return Err(ApiError::Validation("title must not be null".into())),
            Some(Some(t)) => Some(Title::parse(&t).map_err(ApiError::Validation)?),
        },
        description: match body.description {
            None => None,
            Some(None) => Some(None),
            Some(Some(d)) => Some(Description::parse(&d).map_err(ApiError::Validation)?),
        },
        completed: match body.completed {
            None => None,
            Some(None) => return Err(ApiError::Validation("completed must not be null".into())),
            Some(Some(c)) => Some(c),
        },
    };
    store::update(&state.db, owner, id, &patch).await?.map(Json).ok_or(NOT_FOUND)
}

pub async fn delete_task(
    State(state): State<AppState>,
    CurrentUser(owner): CurrentUser,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    if store::delete(&state.db, owner, id).await? { Ok(StatusCode::NO_CONTENT) } else { Err(NOT_FOUND) }
}
