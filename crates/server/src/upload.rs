//! Reading a multipart upload (the API's and the console's): the `file` field into memory up
//! to the library's limit (counted as it streams, so an oversized file stops early with
//! `payload_too_large`), and the small text fields beside it.

use std::collections::HashMap;

use axum::extract::multipart::{Multipart, MultipartRejection};
use switchboard_app::workspace::Upload;

use crate::error::{ApiError, ErrorCode};

/// The routes (all `POST`) that take uploads: the general body limit does not apply to them,
/// the library's does (`crate::middleware::body_limit`).
pub const ROUTES: &[&str] = &["/api/v1/documents", "/documents"];

/// The longest text field beside the file.
const MAX_FIELD: usize = 4 * 1024;

/// An upload and the text fields that came with it (e.g. `tags`, `csrf`).
#[derive(Debug, Default)]
pub struct UploadForm {
    pub upload: Upload,
    pub fields: HashMap<String, String>,
}

fn bad(message: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, message)
        .with_details(serde_json::json!({"field": "file"}))
}

/// Reads the form; `max` is the largest file, `too_large` what an oversized one is told.
pub async fn read(
    multipart: Result<Multipart, MultipartRejection>,
    max: usize,
    too_large: &str,
) -> Result<UploadForm, ApiError> {
    let mut multipart = multipart.map_err(|_| {
        ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the file as multipart/form-data, in a field named `file`.",
        )
    })?;
    let mut form = UploadForm::default();
    let mut seen_file = false;
    let broken = |e: axum::extract::multipart::MultipartError| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(ErrorCode::PayloadTooLarge, too_large)
        } else {
            bad("The upload is not a well-formed multipart form.")
        }
    };
    while let Some(mut field) = multipart.next_field().await.map_err(broken)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if seen_file {
                return Err(bad("Send one file per upload."));
            }
            seen_file = true;
            form.upload.name = field.file_name().unwrap_or_default().to_owned();
            form.upload.content_type = field.content_type().map(str::to_owned);
            while let Some(chunk) = field.chunk().await.map_err(broken)? {
                if form.upload.bytes.len() + chunk.len() > max {
                    // Read the little that is left (the outer limit bounds it), so the answer
                    // is not lost to a connection reset over unread bytes.
                    while let Ok(Some(_)) = field.chunk().await {}
                    while let Ok(Some(mut rest)) = multipart.next_field().await {
                        while let Ok(Some(_)) = rest.chunk().await {}
                    }
                    return Err(ApiError::new(ErrorCode::PayloadTooLarge, too_large));
                }
                form.upload.bytes.extend_from_slice(&chunk);
            }
        } else {
            let mut value = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(broken)? {
                if value.len() + chunk.len() > MAX_FIELD {
                    return Err(ApiError::new(
                        ErrorCode::InvalidRequest,
                        format!("The field `{name}` is too long."),
                    ));
                }
                value.extend_from_slice(&chunk);
            }
            let value = String::from_utf8(value).map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("The field `{name}` is not UTF-8 text."),
                )
            })?;
            form.fields.insert(name, value);
        }
    }
    if !seen_file {
        return Err(bad("The form has no `file` field."));
    }
    if let Some(name) = form.fields.get("name").filter(|n| !n.trim().is_empty()) {
        form.upload.name = name.clone();
    }
    form.upload.tags = form.fields.get("tags").cloned();
    Ok(form)
}
