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
    /// Wrong email or password (or an unusable account); deliberately vague.
    InvalidCredentials => ("invalid_credentials", UNAUTHORIZED),
    /// The password was right; the account needs a TOTP (or backup) code too.
    TotpRequired => ("totp_required", UNAUTHORIZED),
    /// The TOTP or backup code is wrong or was already used.
    InvalidTotpCode => ("invalid_totp_code", UNAUTHORIZED),
    /// The first-boot setup code is wrong or was already used.
    InvalidSetupCode => ("invalid_setup_code", FORBIDDEN),
    /// The organisation is suspended; tenant endpoints refuse every request.
    OrganizationSuspended => ("organization_suspended", FORBIDDEN),
    /// The organisation requires TOTP and the user has not set it up.
    TotpEnrollmentRequired => ("totp_enrollment_required", FORBIDDEN),
    /// A state-changing request with a session cookie lacked a valid CSRF token.
    CsrfFailed => ("csrf_failed", FORBIDDEN),
    /// The change would leave an organisation without an owner.
    LastOwner => ("last_owner", CONFLICT),
    /// A single sign-on was refused (bad state, token, or no account for the person).
    SsoFailed => ("sso_failed", UNAUTHORIZED),
    /// The gateway key has used its monthly budget; nothing was sent to the provider.
    BudgetExceeded => ("budget_exceeded", PAYMENT_REQUIRED),
    /// The gateway key may not use the requested model.
    ModelNotAllowed => ("model_not_allowed", FORBIDDEN),
    /// No such model (or no default model configured).
    ModelNotFound => ("model_not_found", NOT_FOUND),
    /// The guard policy blocks something in the request or the answer.
    ContentBlocked => ("content_blocked", BAD_REQUEST),
    /// The model provider (and every fallback) failed.
    UpstreamError => ("upstream_error", BAD_GATEWAY),
    /// The tool policy refused the call (unknown or disabled tool, role, or a rule).
    ToolDenied => ("tool_denied", FORBIDDEN),
    /// The tool's arguments do not match its input schema; nothing ran.
    InvalidArguments => ("invalid_arguments", UNPROCESSABLE_ENTITY),
    /// A four-eyes (T4) request may not be approved by the person who asked for it.
    FourEyesRequired => ("four_eyes_required", FORBIDDEN),
    /// The tool ran and failed.
    ToolFailed => ("tool_failed", BAD_GATEWAY),
}

impl ErrorCode {
    /// The code for a bare status produced by a framework layer (timeout, body limit, ...).
    pub fn for_status(status: StatusCode) -> ErrorCode {
        // Only the generic codes: a framework layer never means `invalid_arguments` or
        // `budget_exceeded`.
        const GENERIC: [ErrorCode; 12] = [
            ErrorCode::InvalidRequest,
            ErrorCode::Unauthorized,
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::Timeout,
            ErrorCode::Conflict,
            ErrorCode::PayloadTooLarge,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::RateLimited,
            ErrorCode::Internal,
            ErrorCode::NotReady,
        ];
        GENERIC
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
            ErrorCode::InvalidCredentials => "The email or password is incorrect.",
            ErrorCode::TotpRequired => "Enter the code from your authenticator app.",
            ErrorCode::InvalidTotpCode => {
                "The authentication code is incorrect or was already used."
            }
            ErrorCode::InvalidSetupCode => "The setup code is wrong or was already used.",
            ErrorCode::OrganizationSuspended => "This organisation is suspended.",
            ErrorCode::TotpEnrollmentRequired => {
                "Your organisation requires two-factor authentication; set it up first."
            }
            ErrorCode::CsrfFailed => {
                "The form expired or did not come from this site; reload and try again."
            }
            ErrorCode::LastOwner => "An organisation must keep at least one owner.",
            ErrorCode::SsoFailed => "Single sign-on failed.",
            ErrorCode::BudgetExceeded => "The monthly budget of this key is used up.",
            ErrorCode::ModelNotAllowed => "This key may not use that model.",
            ErrorCode::ModelNotFound => "There is no such model.",
            ErrorCode::ContentBlocked => "The guard policy blocked this content.",
            ErrorCode::UpstreamError => "The model provider failed.",
            ErrorCode::ToolDenied => "The tool policy refused this call.",
            ErrorCode::InvalidArguments => "The tool's arguments are invalid.",
            ErrorCode::FourEyesRequired => "Someone other than the requester must approve this.",
            ErrorCode::ToolFailed => "The tool failed.",
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

impl From<switchboard_app::identity::IdentityError> for ApiError {
    fn from(e: switchboard_app::identity::IdentityError) -> ApiError {
        use switchboard_app::identity::IdentityError as E;
        let message = e.to_string();
        match e {
            E::Invalid { field, .. } => ApiError::new(ErrorCode::InvalidRequest, message)
                .with_details(serde_json::json!({ "field": field })),
            E::InvalidCredentials => ApiError::from_code(ErrorCode::InvalidCredentials),
            E::TotpRequired => ApiError::from_code(ErrorCode::TotpRequired),
            E::InvalidTotp => ApiError::from_code(ErrorCode::InvalidTotpCode),
            E::Throttled { retry_after_secs } => ApiError::new(ErrorCode::RateLimited, message)
                .with_details(serde_json::json!({ "retry_after_seconds": retry_after_secs })),
            E::InvalidSetupCode => ApiError::from_code(ErrorCode::InvalidSetupCode),
            E::NotFound => ApiError::from_code(ErrorCode::NotFound),
            E::Forbidden(_) => ApiError::new(ErrorCode::Forbidden, message),
            E::LastOwner => ApiError::from_code(ErrorCode::LastOwner),
            E::Conflict(_) => ApiError::new(ErrorCode::Conflict, message),
            E::OrgSuspended => ApiError::from_code(ErrorCode::OrganizationSuspended),
            E::TotpEnrollmentRequired => ApiError::from_code(ErrorCode::TotpEnrollmentRequired),
            E::Sso(_) => ApiError::new(ErrorCode::SsoFailed, message),
            E::Internal(cause) => ApiError::internal(&cause),
        }
    }
}

impl From<switchboard_app::gateway::GatewayError> for ApiError {
    fn from(e: switchboard_app::gateway::GatewayError) -> ApiError {
        use switchboard_app::gateway::GatewayError as E;
        let message = e.to_string();
        match e {
            E::Unauthorized => ApiError::new(ErrorCode::Unauthorized, message),
            E::Invalid { field, .. } => ApiError::new(ErrorCode::InvalidRequest, message)
                .with_details(serde_json::json!({ "field": field })),
            E::ModelNotFound(_) => ApiError::new(ErrorCode::ModelNotFound, message),
            E::ModelNotAllowed(_) => ApiError::new(ErrorCode::ModelNotAllowed, message),
            E::RateLimited {
                retry_after_secs, ..
            } => ApiError::new(ErrorCode::RateLimited, message)
                .with_details(serde_json::json!({ "retry_after_seconds": retry_after_secs })),
            E::BudgetExceeded { .. } => ApiError::new(ErrorCode::BudgetExceeded, message),
            E::ContentBlocked(_) => ApiError::new(ErrorCode::ContentBlocked, message),
            E::Upstream(_) => ApiError::from_code(ErrorCode::UpstreamError),
            E::Identity(inner) => inner.into(),
            E::Internal(cause) => ApiError::internal(&cause),
        }
    }
}

impl From<switchboard_app::notify::NotifyError> for ApiError {
    fn from(e: switchboard_app::notify::NotifyError) -> ApiError {
        use switchboard_app::notify::NotifyError as E;
        let message = e.to_string();
        match e {
            E::Invalid { field, .. } => ApiError::new(ErrorCode::InvalidRequest, message)
                .with_details(serde_json::json!({ "field": field })),
            E::Identity(inner) => inner.into(),
            E::Internal(cause) => ApiError::internal(&cause),
        }
    }
}

impl From<switchboard_app::runtime::RuntimeError> for ApiError {
    fn from(e: switchboard_app::runtime::RuntimeError) -> ApiError {
        use switchboard_app::runtime::RuntimeError as E;
        let message = e.to_string();
        match e {
            E::Invalid { field, .. } => ApiError::new(ErrorCode::InvalidRequest, message)
                .with_details(serde_json::json!({ "field": field })),
            E::Conflict(_) => ApiError::new(ErrorCode::Conflict, message),
            E::Identity(inner) => inner.into(),
            E::Internal(cause) => ApiError::internal(&cause),
        }
    }
}

impl From<switchboard_app::workspace::WorkspaceError> for ApiError {
    fn from(e: switchboard_app::workspace::WorkspaceError) -> ApiError {
        use switchboard_app::workspace::WorkspaceError as E;
        let message = e.to_string();
        match e {
            E::Invalid { field, .. } => ApiError::new(ErrorCode::InvalidRequest, message)
                .with_details(serde_json::json!({ "field": field })),
            E::Conflict(_) => ApiError::new(ErrorCode::Conflict, message),
            E::Identity(inner) => inner.into(),
            E::Internal(cause) => ApiError::internal(&cause),
        }
    }
}

impl From<switchboard_app::fleet::FleetError> for ApiError {
    fn from(e: switchboard_app::fleet::FleetError) -> ApiError {
        use switchboard_app::fleet::FleetError as E;
        let message = e.to_string();
        match e {
            E::Invalid { field, .. } => ApiError::new(ErrorCode::InvalidRequest, message)
                .with_details(serde_json::json!({ "field": field })),
            E::Unauthorized(_) => ApiError::new(ErrorCode::Unauthorized, message),
            E::Conflict(_) => ApiError::new(ErrorCode::Conflict, message),
            E::Identity(inner) => inner.into(),
            E::Internal(cause) => ApiError::internal(&cause),
        }
    }
}

impl From<switchboard_app::fleet::QueueError> for ApiError {
    fn from(e: switchboard_app::fleet::QueueError) -> ApiError {
        use switchboard_app::fleet::QueueError as E;
        use switchboard_app::tools::ToolError;
        match e {
            E::Task(e) => e.into(),
            // The service refused it after the check (say, its agent was revoked meanwhile).
            E::Tool(ToolError::Failed(message)) => {
                ApiError::new(ErrorCode::InvalidRequest, message)
            }
            E::Tool(e) => e.into(),
        }
    }
}

impl From<switchboard_app::tools::ToolError> for ApiError {
    fn from(e: switchboard_app::tools::ToolError) -> ApiError {
        use switchboard_app::tools::ToolError as E;
        let message = e.to_string();
        match e {
            E::InvalidArguments(problems) => ApiError::new(ErrorCode::InvalidArguments, message)
                .with_details(serde_json::json!({ "problems": problems })),
            E::Denied(reason) => ApiError::new(ErrorCode::ToolDenied, message)
                .with_details(serde_json::json!({ "reason": reason })),
            E::FourEyes => ApiError::new(ErrorCode::FourEyesRequired, message),
            E::Conflict(_) => ApiError::new(ErrorCode::Conflict, message),
            E::Failed(_) => ApiError::new(ErrorCode::ToolFailed, message),
            E::Identity(inner) => inner.into(),
            E::Internal(cause) => ApiError::internal(&cause),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = self
            .details
            .as_ref()
            .and_then(|d| d.get("retry_after_seconds"))
            .and_then(serde_json::Value::as_u64);
        let mut response = (self.code.status(), Json(self.body())).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
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
            ErrorCode::for_status(StatusCode::GATEWAY_TIMEOUT),
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
