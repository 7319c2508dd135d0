//! The request body limit: the general one for every route, the document library's for the
//! upload routes (`crate::upload::ROUTES`). A declared `Content-Length` past the limit is
//! refused at once with 413; a body that grows past it while streaming fails to read, which
//! extractors answer with 413 too.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The two limits, in bytes, and what an API client sending too large an upload is told.
#[derive(Clone, Debug)]
pub struct Limits {
    pub general: usize,
    pub upload: usize,
    pub upload_message: std::sync::Arc<str>,
}

pub async fn limit(limits: std::sync::Arc<Limits>, request: Request, next: Next) -> Response {
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
        if upload && request.uri().path().starts_with("/api/") {
            let message: &str = &limits.upload_message;
            return crate::error::ApiError::new(crate::error::ErrorCode::PayloadTooLarge, message)
                .into_response();
        }
        // `error_bodies` gives the bare status its JSON body or error page.
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let request = request.map(|body| Body::new(http_body_util::Limited::new(body, max)));
    next.run(request).await
}
