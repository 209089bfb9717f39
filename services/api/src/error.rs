//! The one error type handlers return, and its JSON form:
//! `{"error": {"code": "...", "message": "..."}}`. Codes are stable; clients branch on them.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Well-formed input that breaks a rule (unknown field, title too long, …).
    #[error("{0}")]
    Validation(String),
    /// Input that could not be parsed at all (malformed JSON).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("invalid email or password")]
    InvalidCredentials,
    /// A valid token for an account this server does not have (its database was reset or
    /// replaced since the token was issued): signing in again cannot help, signing up can.
    #[error(
        "the account this token was issued for does not exist on this server (its data may have been reset); sign up again"
    )]
    AccountNotFound,
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("{0}")]
    NotFound(&'static str),
    #[error("this method is not allowed on this resource")]
    MethodNotAllowed,
    #[error("the request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    #[error("too many requests; retry after {} seconds", retry_after_secs(*.0))]
    RateLimited(Duration),
    #[error("the request took longer than {} seconds", .0.as_secs())]
    Timeout(Duration),
    #[error("{0}")]
    NotReady(String),
    /// The language model provider could not be reached or did not answer usably (down,
    /// timing out, rate limiting us past our retries, replying with something unreadable).
    #[error("{0}")]
    LlmUnavailable(String),
    /// The provider refused our request as configured (key, model or URL): an operator's fix.
    #[error("{0}")]
    LlmRejected(String),
    /// The caller used today's share of language model calls.
    #[error(
        "you have used today's {limit} assistant requests; more are available in {} seconds",
        retry_after_secs(*.retry_after)
    )]
    LlmBudgetExhausted { limit: u32, retry_after: Duration },
    /// Anything the client cannot fix. The cause is logged, never sent.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl ApiError {
    pub fn internal(e: impl Into<BoxError>) -> Self {
        Self::Internal(e.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unauthorized(_) | Self::InvalidCredentials | Self::AccountNotFound => {
                StatusCode::UNAUTHORIZED
            }
            Self::EmailTaken => StatusCode::CONFLICT,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            // 503 rather than 408: browsers may silently resend a request answered with 408,
            // which for a write could apply it twice.
            Self::Timeout(_) | Self::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::LlmUnavailable(_) | Self::LlmRejected(_) => StatusCode::BAD_GATEWAY,
            Self::LlmBudgetExhausted { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation_error",
            Self::BadRequest(_) => "bad_request",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Unauthorized(_) => "unauthorized",
            Self::InvalidCredentials => "invalid_credentials",
            Self::AccountNotFound => "account_not_found",
            Self::EmailTaken => "email_taken",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::RateLimited(_) => "rate_limited",
            Self::Timeout(_) => "timeout",
            Self::NotReady(_) => "not_ready",
            Self::LlmUnavailable(_) => "llm_unavailable",
            Self::LlmRejected(_) => "llm_rejected",
            Self::LlmBudgetExhausted { .. } => "llm_budget_exhausted",
            Self::Internal(_) => "internal",
        }
    }
}

fn retry_after_secs(wait: Duration) -> u64 {
    // Round up: retrying at the rounded-down second would be refused again.
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::internal(e)
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: &'a str,
}

/// Builds the error body for a status that has no richer error behind it (used for responses
/// produced outside our handlers).
pub fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::to_vec(&Body { error: Detail { code, message } })
        .expect("serialising two strings cannot fail");
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            // The span around the request carries the request id, which the client also got.
            tracing::error!(error = %cause, error.debug = ?cause, "request failed");
        }
        let mut response = json_error(self.status(), self.code(), &self.to_string());
        match &self {
            Self::RateLimited(wait) | Self::LlmBudgetExhausted { retry_after: wait, .. } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs(*wait)));
            }
            Self::Unauthorized(_) | Self::InvalidCredentials | Self::AccountNotFound => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"todo-api\""));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn internal_errors_hide_their_cause() {
        let response = ApiError::internal("password authentication failed for user \"todo\"").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_of(response).await;
        assert_eq!(body, serde_json::json!({"error": {"code": "internal", "message": "internal error"}}));
    }

    #[tokio::test]
    async fn rate_limited_rounds_retry_after_up() {
        let response = ApiError::RateLimited(Duration::from_millis(1_200)).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        assert_eq!(body_of(response).await["error"]["code"], "rate_limited");
    }

    #[tokio::test]
    async fn llm_errors_are_bad_gateways_and_an_exhausted_budget_says_when_to_come_back() {
        let rejected = ApiError::LlmRejected("the key was refused".into()).into_response();
        assert_eq!(rejected.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(body_of(rejected).await["error"]["code"], "llm_rejected");
        let budget =
            ApiError::LlmBudgetExhausted { limit: 5, retry_after: Duration::from_secs(3600) }.into_response();
        assert_eq!(budget.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(budget.headers()[header::RETRY_AFTER], "3600");
        let body = body_of(budget).await;
        assert_eq!(body["error"]["code"], "llm_budget_exhausted");
        assert!(body["error"]["message"].as_str().unwrap().contains("today's 5"), "{body}");
    }
}
