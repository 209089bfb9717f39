//! Request extractors whose failures are [`ApiError`]s, so a bad body, query or path gets the
//! same JSON error shape as everything else and a message that names the offending field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::error::ApiError;

/// Largest request body accepted, in bytes. Titles and descriptions fit many times over.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON request body deserialised into `T`.
///
/// Malformed JSON is a 400 `bad_request`; JSON of the wrong shape (unknown or missing fields,
/// wrong types) is a 422 `validation_error` whose message names the field.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&request) {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as JSON with `Content-Type: application/json`".into(),
            ));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(MAX_BODY_BYTES)
            } else {
                ApiError::BadRequest(format!("could not read the request body: {}", rejection.body_text()))
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

fn is_json(request: &Request) -> bool {
    let Some(value) = request.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // An unknown field's path ends with the field itself, which the message already
        // names: prefix only the object it was found in.
        let path = if inner.to_string().starts_with("unknown field") {
            path.rsplit_once('.').map_or(".", |(parent, _)| parent).to_owned()
        } else {
            path
        };
        match inner.classify() {
            Category::Data => {
                ApiError::Validation(if path == "." { inner.to_string() } else { format!("{path}: {inner}") })
            }
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::BadRequest(format!("malformed JSON: {inner}"))
            }
        }
    })?;
    deserializer.end().map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// Query-string parameters deserialised into `T`; problems are a 422 naming the parameter.
pub struct QueryParams<T>(pub T);

impl<S, T> FromRequestParts<S> for QueryParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| QueryParams(q))
            .map_err(|rejection| ApiError::Validation(rejection.body_text()))
    }
}

/// The `{id}` segment of a path. Ids are positive integers; anything else cannot name a row, so
/// it is answered like an id that does not exist.
pub struct PathId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Whatever the segment fails on (bytes that are not UTF-8, say, from `%FF`), it cannot
        // name a row either: the same 404 as an id that does not exist, never a 500.
        let Ok(Path(raw)) = Path::<String>::from_request_parts(parts, state).await else {
            return Err(ApiError::NotFound("no resource with this id"));
        };
        raw.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(PathId)
            .ok_or(ApiError::NotFound("no resource with this id"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        title: String,
        n: Option<i32>,
    }

    fn message(e: ApiError) -> (&'static str, String) {
        (e.code(), e.to_string())
    }

    #[test]
    fn unknown_fields_are_named() {
        let (code, msg) = message(parse_json::<Body>(br#"{"title":"x","owner_id":2}"#).unwrap_err());
        assert_eq!(code, "validation_error");
        assert!(msg.starts_with("unknown field `owner_id`"), "{msg}");
    }

    #[test]
    fn wrong_types_name_the_path() {
        let (code, msg) = message(parse_json::<Body>(br#"{"title":"x","n":"seven"}"#).unwrap_err());
        assert_eq!(code, "validation_error");
        assert!(msg.starts_with("n: invalid type"), "{msg}");
    }

    #[test]
    fn syntax_errors_and_trailing_garbage_are_bad_requests() {
        assert_eq!(parse_json::<Body>(br#"{"title": "#).unwrap_err().code(), "bad_request");
        assert_eq!(parse_json::<Body>(br#"{"title":"x"} {}"#).unwrap_err().code(), "bad_request");
        assert_eq!(parse_json::<Body>(b"").unwrap_err().code(), "bad_request");
    }
}
