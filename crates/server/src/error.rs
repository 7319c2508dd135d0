//! The public error body `{"error":{"code","message","details"}}` and the one table that maps
//! each stable error code to its HTTP status. Internal details never go into the body; they
//! are logged with the request id.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident => ($code:literal, $status:ident)),* $(,)?) => {
        /// Stable machine-readable error codes. Clients match on these; never rename one.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant),*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code),* }
            }

            pub fn status(self) -> StatusCode {
                match self { $(ErrorCode::$variant => StatusCode::$status),* }
            }
        }
    };
}

error_codes! {
    /// The request is malformed (bad JSON, wrong field types, failed validation).
    InvalidRequest => ("invalid_request", BAD_REQUEST),
    /// No valid credentials were presented.
    Unauthorized => ("unauthorized", UNAUTHORIZED),
    /// The caller is known but may not do this.
    Forbidden => ("forbidden", FORBIDDEN),
    /// No such resource (also used for other tenants' resources, so existence is not leaked).
    NotFound => ("not_found", NOT_FOUND),
    MethodNotAllowed => ("method_not_allowed", METHOD_NOT_ALLOWED),
    /// The request timed out on the server.
    Timeout => ("timeout", REQUEST_TIMEOUT),
    /// The resource already exists or changed concurrently.
    Conflict => ("conflict", CONFLICT),
    /// The request body is larger than the limit.
    PayloadTooLarge => ("payload_too_large", PAYLOAD_TOO_LARGE),
    UnsupportedMediaType => ("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE),
    /// Too many requests; see `Retry-After`.
    RateLimited => ("rate_limited", TOO_MANY_REQUESTS),
    /// Something failed on the server; the log has the details under the request id.
    Internal => ("internal", INTERNAL_SERVER_ERROR),
    /// The hub is not ready (database unreachable or not migrated).
    NotReady => ("not_ready", SERVICE_UNAVAILABLE),
}

impl ErrorCode {
    /// The code for a bare status produced by a framework layer (timeout, body limit, ...).
    pub fn for_status(status: StatusCode) -> ErrorCode {
        ErrorCode::ALL
            .iter()
            .copied()
            .find(|code| code.status() == status)
            .unwrap_or(if status.is_server_error() {
                ErrorCode::Internal
            } else {
                ErrorCode::InvalidRequest
            })
    }

    /// The human message used when nothing more specific is known.
    pub fn default_message(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "The request is invalid.",
            ErrorCode::Unauthorized => "Sign in or present a valid API key.",
            ErrorCode::Forbidden => "You may not do this.",
            ErrorCode::NotFound => "There is nothing here.",
            ErrorCode::MethodNotAllowed => "This method is not allowed here.",
            ErrorCode::Timeout => "The request took too long.",
            ErrorCode::Conflict => "This conflicts with the current state.",
            ErrorCode::PayloadTooLarge => "The request body is too large.",
            ErrorCode::UnsupportedMediaType => "The request body has an unsupported type.",
            ErrorCode::RateLimited => "Too many requests; try again later.",
            ErrorCode::Internal => "Something went wrong on our side.",
            ErrorCode::NotReady => "The service is not ready.",
        }
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `not_found`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// Structured context, e.g. which field failed validation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// An error as the HTTP layer returns it.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, details: serde_json::Value) -> ApiError {
        self.details = Some(details);
        self
    }

    pub fn from_code(code: ErrorCode) -> ApiError {
        ApiError::new(code, code.default_message())
    }

    /// An internal failure: the cause is logged, the caller gets a generic message.
    pub fn internal(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "internal error");
        ApiError::from_code(ErrorCode::Internal)
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.as_str(),
                message: self.message.clone(),
                details: self.details.clone(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.code.status(), Json(self.body())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_map_to_error_statuses() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(
                seen.insert(code.as_str()),
                "duplicate code {}",
                code.as_str()
            );
            assert!(code
                .as_str()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_'));
            assert!(code.status().is_client_error() || code.status().is_server_error());
            assert!(!code.default_message().is_empty());
        }
    }

    #[test]
    fn bare_statuses_map_back_to_codes() {
        assert_eq!(
            ErrorCode::for_status(StatusCode::REQUEST_TIMEOUT),
            ErrorCode::Timeout
        );
        assert_eq!(
            ErrorCode::for_status(StatusCode::PAYLOAD_TOO_LARGE),
            ErrorCode::PayloadTooLarge
        );
        assert_eq!(
            ErrorCode::for_status(StatusCode::BAD_GATEWAY),
            ErrorCode::Internal
        );
        assert_eq!(
            ErrorCode::for_status(StatusCode::IM_A_TEAPOT),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn the_body_has_the_public_shape() {
        let err = ApiError::new(ErrorCode::NotFound, "no such thing")
            .with_details(serde_json::json!({"id": "x"}));
        let json = serde_json::to_value(err.body()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": "not_found", "message": "no such thing", "details": {"id": "x"}}})
        );
    }
}
