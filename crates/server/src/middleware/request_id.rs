//! `x-request-id`: taken from the client when it sends a sane one, otherwise a new UUIDv7; echoed
//! on the response and recorded on the request's tracing span.

use axum::http::{HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

#[derive(Clone, Copy, Debug, Default)]
pub struct MakeRequestUuidV7;

impl MakeRequestId for MakeRequestUuidV7 {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        // Request ids are correlation handles, not domain values, so they do not need the
        // injected Clock.
        let id = uuid::Uuid::now_v7().to_string();
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// A client-supplied request id is kept only if it is short and plainly printable, so it
/// cannot smuggle anything into logs.
pub fn is_acceptable(value: &HeaderValue) -> bool {
    value.len() <= 128
        && value
            .as_bytes()
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}
