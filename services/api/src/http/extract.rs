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
/// Malformed JSON is a 400 `bad_request`; JSON of the wrong shape (not an object, unknown or
/// missing fields, wrong types) is a 422 `validation_error` whose message names the field.
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
    // Every body the API takes is an object. Serde would fill a struct from an array too
    // (`["title", "description"]` positionally), and a `Value` takes anything: refuse the rest
    // here, once, after malformed JSON has had its 400.
    let first = bytes.iter().find(|&&b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if first != Some(&b'{') {
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
            .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
        let kind = match first {
            Some(b'[') => "an array",
            Some(b'"') => "a string",
            Some(b't' | b'f') => "a boolean",
            Some(b'n') => "null",
            _ => "a number",
        };
        return Err(ApiError::Validation(format!("the request body must be a JSON object, not {kind}")));
    }
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

/// An optional integer field that also takes a number written with a zero fraction (`482.0`):
/// JSON Schema's `integer` is the value, not its spelling, and the OpenAPI document says
/// `integer`.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::de::{Deserialize, Error};
    let Some(number) = Option::<serde_json::Number>::deserialize(d)? else { return Ok(None) };
    as_i64(&number).map(Some).ok_or_else(|| D::Error::custom(format!("expected an integer, got {number}")))
}

/// The number as an i64 when it is a whole number in range, however it is written.
pub fn as_i64(number: &serde_json::Number) -> Option<i64> {
    number.as_i64().or_else(|| {
        // An integer literal out of i64's range arrives as a float rounded to at least 2^63 in
        // size: both bounds are exclusive so that it is refused, not clamped.
        let bound = 2f64.powi(63);
        number.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < bound).map(|f| f as i64)
    })
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
    fn whole_numbers_may_have_a_zero_fraction() {
        #[derive(Debug, Deserialize)]
        struct Id {
            #[serde(default, deserialize_with = "whole_number")]
            id: Option<i64>,
        }
        let id = |body: &str| parse_json::<Id>(body.as_bytes()).map(|i| i.id);
        assert_eq!(id(r#"{"id": 482.0}"#).unwrap(), Some(482));
        assert_eq!(id(r#"{"id": -3}"#).unwrap(), Some(-3));
        assert_eq!(id(r#"{"id": null}"#).unwrap(), None);
        assert_eq!(id("{}").unwrap(), None);
        assert_eq!(id(r#"{"id": 1.5}"#).unwrap_err().code(), "validation_error");
        assert_eq!(id(r#"{"id": 1e19}"#).unwrap_err().code(), "validation_error");
        assert_eq!(id(r#"{"id": -9223372036854775809}"#).unwrap_err().code(), "validation_error");
        assert_eq!(id(r#"{"id": -9223372036854775808}"#).unwrap(), Some(i64::MIN));
        assert_eq!(id(r#"{"id": "1"}"#).unwrap_err().code(), "validation_error");
    }

    #[test]
    fn only_objects_are_bodies() {
        // A struct deserialises from a sequence too: this one would be `{title: "x", n: 1}`.
        for (body, kind) in [
            (&br#"["x", 1]"#[..], "an array"),
            (b" []", "an array"),
            (b"\"x\"", "a string"),
            (b"true", "a boolean"),
            (b"null", "null"),
            (b"-1.5", "a number"),
        ] {
            let (code, msg) = message(parse_json::<Body>(body).unwrap_err());
            assert_eq!(code, "validation_error");
            assert_eq!(msg, format!("the request body must be a JSON object, not {kind}"));
            let (code, _) = message(parse_json::<serde_json::Value>(body).unwrap_err());
            assert_eq!(code, "validation_error");
        }
        assert!(parse_json::<serde_json::Value>(b"\n {}").is_ok());
        // Malformed is malformed, whatever it starts with.
        assert_eq!(parse_json::<Body>(b"[1,").unwrap_err().code(), "bad_request");
        assert_eq!(parse_json::<Body>(b"[] []").unwrap_err().code(), "bad_request");
    }

    #[test]
    fn syntax_errors_and_trailing_garbage_are_bad_requests() {
        assert_eq!(parse_json::<Body>(br#"{"title": "#).unwrap_err().code(), "bad_request");
        assert_eq!(parse_json::<Body>(br#"{"title":"x"} {}"#).unwrap_err().code(), "bad_request");
        assert_eq!(parse_json::<Body>(b"").unwrap_err().code(), "bad_request");
    }
}
