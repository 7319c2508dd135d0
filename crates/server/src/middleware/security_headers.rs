//! Security headers on every response. The console has no inline script or style, so the
//! content security policy can be strict.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::Response;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
    object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'";

/// The headers to add; HSTS only when the hub is served over TLS.
pub fn headers(tls: bool) -> Arc<[(HeaderName, HeaderValue)]> {
    let mut headers = vec![
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    if tls {
        headers.push((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ));
    }
    headers
        .into_iter()
        .map(|(name, value)| (name, HeaderValue::from_static(value)))
        .collect()
}

/// Adds each of `headers` the response does not carry already (a handler may set its own,
/// such as a stricter policy for one page). One step for all of them: a layer per header
/// cost a boxed service clone per header on every request.
pub async fn add(
    State(headers): State<Arc<[(HeaderName, HeaderValue)]>>,
    mut response: Response,
) -> Response {
    let present = response.headers_mut();
    for (name, value) in headers.iter() {
        if !present.contains_key(name) {
            present.insert(name.clone(), value.clone());
        }
    }
    response
}
