//! `x-request-id`: taken from the caller (an ingress or a client that already has one) when it
//! is safe to log and echo, generated otherwise, and returned on every response.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const MAX_LEN: usize = 128;

#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

impl RequestId {
    pub fn as_str(&self) -> &str {
        // Only ever built from ASCII (see `is_sane` and `generate`).
        self.0.to_str().unwrap_or("")
    }
}

pub async fn request_id(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .filter(|v| is_sane(v.as_bytes()))
        .cloned()
        .unwrap_or_else(generate);
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    response.headers_mut().insert(X_REQUEST_ID.clone(), id);
    response
}

/// Short, and only characters that cannot forge log lines or break header parsing downstream.
fn is_sane(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn generate() -> HeaderValue {
    let mut bytes = [0u8; 16];
    // The OS generator failing is practically impossible; a zero id is still a valid header.
    let _ = getrandom::fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    HeaderValue::from_str(&hex).expect("hex is a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_ids_are_echoed() {
        assert!(is_sane(b"3f2a-prod.ingress:42_x"));
        assert!(!is_sane(b""));
        assert!(!is_sane(b"a b"));
        assert!(!is_sane(b"id\"} forged=1"));
        assert!(!is_sane("é".as_bytes()));
        assert!(!is_sane(&[b'a'; 129]));
    }

    #[test]
    fn generated_ids_are_unique_and_sane() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert!(is_sane(a.as_bytes()));
        assert_eq!(a.len(), 32);
    }
}
