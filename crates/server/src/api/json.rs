//! `ApiJson<T>`: a JSON body whose rejections use the public error body. Quoted values are
//! cut out of deserialisation messages, so a misplaced secret is never echoed back.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::Json;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode};

#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(rejected(&rejection)),
        }
    }
}

fn rejected(rejection: &JsonRejection) -> ApiError {
    let code = ErrorCode::for_status(rejection.status());
    ApiError::new(code, without_quoted(&rejection.body_text()))
}

/// `invalid type: string "hunter2", expected u32` → `invalid type: string "…", expected u32`.
fn without_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut inside = false;
    for c in message.chars() {
        if c == '"' {
            if inside {
                out.push('…');
            }
            inside = !inside;
            out.push(c);
        } else if !inside {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoted_values_are_removed() {
        assert_eq!(
            super::without_quoted("invalid type: string \"hunter2\", expected u32"),
            "invalid type: string \"…\", expected u32"
        );
    }
}
