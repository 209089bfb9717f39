//! The security headers every response carries.
//!
//! The Content-Security-Policy allows nothing but this origin's own files: no inline script or
//! style, no eval, no framing, no plugins, and Trusted Types with no policy, so the UI cannot
//! write HTML strings into the DOM at all (it builds elements; text goes in as text). With that,
//! a task title or an agent reply can never run as script. HSTS is left to whatever terminates
//! TLS (the ingress): on plain HTTP browsers ignore it.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'";

/// Features the app never uses, switched off so an injected script could not use them either.
const PERMISSIONS_POLICY: &str = "accelerometer=(), autoplay=(), camera=(), geolocation=(), gyroscope=(), \
    magnetometer=(), microphone=(), payment=(), usb=()";

pub fn headers() -> [(HeaderName, &'static str); 7] {
    [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (HeaderName::from_static("permissions-policy"), PERMISSIONS_POLICY),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
        (HeaderName::from_static("cross-origin-resource-policy"), "same-origin"),
    ]
}

/// Adds the headers to every response of `router` that does not set them itself (a proxied
/// API response keeps its own).
pub fn apply(mut router: Router) -> Router {
    for (name, value) in headers() {
        router = router.layer(SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value)));
    }
    router
}
