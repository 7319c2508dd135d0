//! The assistant's memory over HTTP: remember, list, search and forget facts. The rules are
//! the app's (`switchboard_app::memory`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_app::memory::{MemoryInput, MemoryView, Remembered};
use utoipa::IntoParams;

use super::json::ApiJson;
use crate::auth::{Auth, Viewer};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Remembers a fact: `content` (1–2,000 characters, no credentials), `scope` (`user`, the
/// default for people, or `organization`, for members and up). 201 when new; 200 with
/// `"new": false` when the same fact is already remembered in that scope.
#[utoipa::path(post, path = "/api/v1/memory", tag = "workspace", request_body = Object,
    responses((status = 201, description = "Remembered", body = Object),
              (status = 200, description = "Already remembered", body = Object),
              (status = 400, description = "Invalid, or holds a credential; `details.field` names the field", body = ErrorBody)))]
pub async fn remember(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    ApiJson(body): ApiJson<MemoryInput>,
) -> Result<(StatusCode, Json<Remembered>), ApiError> {
    let done = state.app.remember(&auth, body).await?;
    let status = if done.new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(done)))
}

/// The facts the caller can see (the organisation's and their own), newest first.
#[utoipa::path(get, path = "/api/v1/memory", tag = "workspace",
    responses((status = 200, description = "Facts", body = Vec<Object>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
) -> Result<Json<Vec<MemoryView>>, ApiError> {
    Ok(Json(state.app.memories(&auth).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SearchQuery {
    /// Words to look for.
    q: String,
    /// 1–50, default 10.
    limit: Option<u32>,
}

/// Facts matching the words of `q`, best first: `{"results":[{"id","content","scope","score"}]}`.
#[utoipa::path(get, path = "/api/v1/memory/search", tag = "workspace", params(SearchQuery),
    responses((status = 200, description = "`{results}`", body = Object),
              (status = 400, description = "No words", body = ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let results = state.app.recall(&auth, &query.q, query.limit).await?;
    Ok(Json(json!({ "results": results })))
}

/// Forgets a fact: one's own, or (admins) an organisation-wide one.
#[utoipa::path(delete, path = "/api/v1/memory/{id}", tag = "workspace",
    params(("id" = String, Path)),
    responses((status = 204, description = "Forgotten"),
              (status = 404, description = "No such fact you can see", body = ErrorBody)))]
pub async fn forget(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.forget(&auth, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
