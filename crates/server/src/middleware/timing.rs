//! When a request entered the hub: the outermost layer stamps it, so the gateway's
//! `x-switchboard-overhead-ms` covers every layer before the handler too.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// The instant the request reached the first layer.
#[derive(Clone, Copy, Debug)]
pub struct RequestStart(pub Instant);

pub async fn stamp(mut request: Request, next: Next) -> Response {
    request
        .extensions_mut()
        .insert(RequestStart(Instant::now()));
    next.run(request).await
}
