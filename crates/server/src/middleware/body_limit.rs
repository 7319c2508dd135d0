//! The request body limit: the general one for every route, the document library's for the
//! upload routes (`crate::upload::ROUTES`). A declared `Content-Length` past the limit is
//! refused at once with 413; a body that grows past it while streaming fails to read, which
//! extractors answer with 413 too.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The two limits, in bytes.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub general: usize,
    pub upload: usize,
}

pub async fn limit(limits: Limits, request: Request, next: Next) -> Response {
    let upload =
        request.method() == Method::POST && crate::upload::ROUTES.contains(&request.uri().path());
    let max = if upload {
        limits.upload
    } else {
        limits.general
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        // `error_bodies` gives the bare status its JSON body or error page.
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let request = request.map(|body| Body::new(http_body_util::Limited::new(body, max)));
    next.run(request).await
}
