//! Gives bodies to bare error responses made by framework layers (timeout, body limit, method
//! not allowed, caught panics): the JSON error body on API paths, the styled error page in
//! the console. Error responses that already carry JSON (API) or HTML (console) pass through.

use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ErrorCode};
use crate::web;

/// Paths answered in JSON rather than HTML.
pub fn is_api_path(path: &str) -> bool {
    const EXACT: [&str; 4] = ["/healthz", "/readyz", "/metrics", "/mcp"];
    const PREFIXES: [&str; 3] = ["/api/", "/v1/", "/mcp/"];
    EXACT.contains(&path) || PREFIXES.iter().any(|prefix| path.starts_with(prefix))
}

pub async fn fill(request: Request, next: Next) -> Response {
    let api = is_api_path(request.uri().path());
    let response = next.run(request).await;
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let already_shaped = if api {
        content_type.starts_with("application/json")
    } else {
        content_type.starts_with("text/html")
    };
    if !(status.is_client_error() || status.is_server_error()) || already_shaped {
        return response;
    }
    let code = ErrorCode::for_status(status);
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let mut filled = if api {
        ApiError::from_code(code).into_response()
    } else {
        web::error_page(code)
    };
    // Keep the status and headers the layer chose (e.g. `Allow`, `Retry-After`).
    *filled.status_mut() = status;
    for (name, value) in filled.headers() {
        parts.headers.insert(name.clone(), value.clone());
    }
    let (_, body) = filled.into_parts();
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_are_recognised() {
        for path in [
            "/api/v1/openapi.json",
            "/v1/chat/completions",
            "/healthz",
            "/readyz",
            "/metrics",
        ] {
            assert!(is_api_path(path), "{path}");
        }
        for path in ["/", "/settings", "/apiary", "/assets/app.css", "/metricsx"] {
            assert!(!is_api_path(path), "{path}");
        }
    }
}
