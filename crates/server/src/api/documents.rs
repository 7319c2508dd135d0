//! The document library over HTTP: upload (multipart), list, search, read, download, tag and
//! delete. The rules are the app's (`switchboard_app::workspace`): viewers find, read and
//! download; members upload and tag; admins delete.

use axum::body::Body;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_app::workspace::{DocumentDetail, DocumentListQuery, DocumentPage, DocumentView};
use utoipa::IntoParams;

use super::json::ApiJson;
use crate::auth::{Admin, Auth, Member, Viewer};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Uploads a document (members and up): multipart/form-data with the file in `file`, and
/// optionally `tags` (comma-separated) and `name` (instead of the file's). Its text (plain
/// text, Markdown, HTML, PDF) is extracted and indexed; the file is sealed at rest. 201 with
/// `{"id","name","size",…}`; 413 `payload_too_large` past the limit (20 MB by default).
#[utoipa::path(post, path = "/api/v1/documents", tag = "workspace",
    request_body(content_type = "multipart/form-data", description = "`file`, `tags`?, `name`?"),
    responses((status = 201, description = "Stored", body = Object),
              (status = 400, description = "Invalid; `details.field` names the field", body = ErrorBody),
              (status = 413, description = "Larger than the limit", body = ErrorBody),
              (status = 415, description = "Not a multipart form", body = ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    auth: Auth<Member>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<DocumentView>), ApiError> {
    let app = &state.app;
    let form =
        crate::upload::read(multipart, app.document_max_bytes, &app.too_large_message()).await?;
    Ok((
        StatusCode::CREATED,
        Json(app.upload_document(&auth, form.upload).await?),
    ))
}

/// A page of documents, newest first: `tag`, `page`, `per_page`.
#[utoipa::path(get, path = "/api/v1/documents", tag = "workspace",
    params(("tag" = Option<String>, Query), ("page" = Option<u32>, Query),
           ("per_page" = Option<u32>, Query)),
    responses((status = 200, description = "`{documents, total, page, per_page}`", body = Object),
              (status = 400, description = "Invalid filter", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Query(query): Query<DocumentListQuery>,
) -> Result<Json<DocumentPage>, ApiError> {
    Ok(Json(state.app.list_documents(&auth, &query).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SearchQuery {
    /// Words to look for (in names, tags and text).
    q: String,
    /// Only documents with this tag.
    tag: Option<String>,
    /// 1–50, default 10.
    limit: Option<u32>,
}

/// Documents matching the words of `q`, best first:
/// `{"results":[{"id","name","snippet","score","tags","format","size"}]}`. `snippet` is
/// HTML-escaped text around the words, each matched word in `<mark>`.
#[utoipa::path(get, path = "/api/v1/documents/search", tag = "workspace", params(SearchQuery),
    responses((status = 200, description = "`{results}`", body = Object),
              (status = 400, description = "No words", body = ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let hits = state
        .app
        .search_documents(&auth, &query.q, query.tag.as_deref(), query.limit)
        .await?;
    let results: Vec<Value> = hits.iter().map(|h| h.to_json()).collect();
    Ok(Json(json!({ "results": results })))
}

/// One document's details and activity.
#[utoipa::path(get, path = "/api/v1/documents/{id}", tag = "workspace",
    params(("id" = String, Path)),
    responses((status = 200, description = "The document", body = Object),
              (status = 404, description = "No such document here", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Path(id): Path<String>,
) -> Result<Json<DocumentDetail>, ApiError> {
    Ok(Json(state.app.document(&auth, &id).await?))
}

/// The file as uploaded, always as an attachment (never shown inline by the browser).
#[utoipa::path(get, path = "/api/v1/documents/{id}/content", tag = "workspace",
    params(("id" = String, Path)),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
              (status = 404, description = "No such document here", body = ErrorBody)))]
pub async fn content(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let file = state.app.download_document(&auth, &id).await?;
    Ok(attachment(file))
}

/// A download response: the type as detected, `attachment` with the name, sandboxed.
pub fn attachment(file: switchboard_app::workspace::Download) -> Response {
    let ascii: String = file
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._- ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = file
        .name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    let mut response = Body::from(file.bytes.to_vec()).into_response();
    let headers = response.headers_mut();
    let content_type = HeaderValue::from_str(&file.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentPatch {
    /// Comma-separated, or a list.
    tags: Tags,
    /// The `updated_at` you read; refused with 409 if the document changed since.
    expected_updated_at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Tags {
    Text(String),
    List(Vec<String>),
}

/// Replaces a document's tags (members and up): `{"tags": "a, b"}` or `{"tags": ["a","b"]}`.
#[utoipa::path(patch, path = "/api/v1/documents/{id}", tag = "workspace", request_body = Object,
    params(("id" = String, Path)),
    responses((status = 200, description = "The document now", body = Object),
              (status = 400, description = "Invalid tags", body = ErrorBody),
              (status = 404, description = "No such document here", body = ErrorBody),
              (status = 409, description = "Changed meanwhile", body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth<Member>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DocumentPatch>,
) -> Result<Json<DocumentView>, ApiError> {
    let tags = match body.tags {
        Tags::Text(t) => t,
        Tags::List(list) => list.join(","),
    };
    Ok(Json(
        state
            .app
            .tag_document(&auth, &id, &tags, body.expected_updated_at.as_deref())
            .await?,
    ))
}

/// Deletes a document and its file (admins).
#[utoipa::path(delete, path = "/api/v1/documents/{id}", tag = "workspace",
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"),
              (status = 404, description = "No such document here", body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_document(&auth, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
