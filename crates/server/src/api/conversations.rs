//! Chat over HTTP: conversations (create, list, read with history, rename, delete), posting
//! a message (answered with the run's event stream, SSE), and runs (status and steps, the
//! event stream again from any point with `Last-Event-ID`, cancellation). The runtime is the
//! app's (`switchboard_app::runtime`); these handlers only translate.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use switchboard_app::runtime::{ConversationView, Followed, MessageView, RunFollower, RunView};
use switchboard_domain::{ConversationId, RunId};
use utoipa::{IntoParams, ToSchema};

use super::json::ApiJson;
use crate::auth::{Auth, Viewer};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::state::AppState;

fn conversation_id(raw: &str) -> Result<ConversationId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::from_code(ErrorCode::NotFound))
}

fn run_id(raw: &str) -> Result<RunId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::from_code(ErrorCode::NotFound))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct NewConversation {
    title: Option<String>,
    /// The agent that answers (a slug; `operator`, the supervisor, by default).
    agent: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    id: String,
    title: String,
    agent: String,
}

/// Starts a conversation.
#[utoipa::path(post, path = "/api/v1/conversations", tag = "assistant", request_body = NewConversation,
    responses((status = 201, description = "Created", body = Created),
              (status = 400, description = "A bad title or unknown agent", body = ErrorBody),
              (status = 403, description = "API keys have no conversations", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    body: Bytes,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let body: NewConversation = if body.iter().all(u8::is_ascii_whitespace) {
        NewConversation::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidRequest,
                format!("The body is invalid: {e}"),
            )
        })?
    };
    let view = state
        .app
        .create_conversation(&auth, body.title, body.agent)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Created {
            id: view.id,
            title: view.title,
            agent: view.agent,
        }),
    ))
}

/// The caller's conversations, most recently active first.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "assistant",
    responses((status = 200, description = "Conversations", body = Vec<Object>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
) -> Result<Json<Vec<ConversationView>>, ApiError> {
    Ok(Json(state.app.conversations(&auth).await?))
}

#[derive(Serialize)]
pub struct History {
    #[serde(flatten)]
    conversation: ConversationView,
    messages: Vec<MessageView>,
}

/// A conversation with its whole history: messages, tool calls and their results.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "assistant",
    params(("id" = String, Path, description = "The conversation")),
    responses((status = 200, description = "The conversation and its messages", body = Object),
              (status = 404, description = "Not one of yours", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Path(id): Path<String>,
) -> Result<Json<History>, ApiError> {
    let (conversation, messages) = state.app.conversation(&auth, conversation_id(&id)?).await?;
    Ok(Json(History {
        conversation,
        messages,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    title: String,
}

/// Renames a conversation.
#[utoipa::path(patch, path = "/api/v1/conversations/{id}", tag = "assistant", request_body = Rename,
    params(("id" = String, Path, description = "The conversation")),
    responses((status = 200, description = "Renamed", body = Object),
              (status = 404, description = "Not one of yours", body = ErrorBody)))]
pub async fn rename(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Rename>,
) -> Result<Json<ConversationView>, ApiError> {
    Ok(Json(
        state
            .app
            .rename_conversation(&auth, conversation_id(&id)?, &body.title)
            .await?,
    ))
}

/// Deletes a conversation with its messages and runs (a waiting run is cancelled).
#[utoipa::path(delete, path = "/api/v1/conversations/{id}", tag = "assistant",
    params(("id" = String, Path, description = "The conversation")),
    responses((status = 204, description = "Deleted"),
              (status = 404, description = "Not one of yours", body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_conversation(&auth, conversation_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    content: String,
    /// Another agent for this message (a slug).
    agent: Option<String>,
}

/// Sends a message; the answer is the run's event stream (`text`, `tool_call`,
/// `tool_result`, `approval_required`, `approval_resolved`, `error`, `done`), each with an
/// `id` for `Last-Event-ID` on `GET /api/v1/runs/{id}/events`. The stream ends with the first
/// `done` (`completed`, `waiting_approval`, `failed` or `cancelled`). The run id is in the
/// `x-switchboard-run-id` header.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "assistant", request_body = PostMessage,
    params(("id" = String, Path, description = "The conversation")),
    responses((status = 200, description = "An event stream", content_type = "text/event-stream"),
              (status = 400, description = "Empty or oversized content, or unknown agent", body = ErrorBody),
              (status = 404, description = "Not one of yours", body = ErrorBody)))]
pub async fn post_message(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PostMessage>,
) -> Result<Response, ApiError> {
    let app: &Arc<switchboard_app::App> = &state.app;
    let (run, follower) = app
        .post_message(&auth, conversation_id(&id)?, &body.content, body.agent)
        .await?;
    event_stream(follower, run)
}

/// A run: its status and steps (every event but the text).
#[utoipa::path(get, path = "/api/v1/runs/{id}", tag = "assistant",
    params(("id" = String, Path, description = "The run")),
    responses((status = 200, description = "The run", body = Object),
              (status = 404, description = "Not one of yours", body = ErrorBody)))]
pub async fn run(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Path(id): Path<String>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(state.app.run(&auth, run_id(&id)?).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct EventsQuery {
    /// Send events after this one (like `Last-Event-ID`, which wins when both are given).
    after: Option<i64>,
}

/// The run's events after `Last-Event-ID` (or `?after=`), then new ones as they happen,
/// until a `done` whose status is final (`completed`, `failed`, `cancelled`): a run waiting
/// for approval keeps the stream open and goes on when someone decides.
#[utoipa::path(get, path = "/api/v1/runs/{id}/events", tag = "assistant", params(
        ("id" = String, Path, description = "The run"), EventsQuery),
    responses((status = 200, description = "An event stream", content_type = "text/event-stream"),
              (status = 404, description = "Not one of yours", body = ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Path(id): Path<String>,
    Query(q): Query<EventsQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let run = run_id(&id)?;
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(q.after)
        .unwrap_or(0);
    let follower = state.app.follow_run(&auth, run, after, true).await?;
    event_stream(follower, run)
}

/// Cancels a run: one waiting for approval ends now (its request is denied), a running one
/// before its next step.
#[utoipa::path(post, path = "/api/v1/runs/{id}/cancel", tag = "assistant",
    params(("id" = String, Path, description = "The run")),
    responses((status = 200, description = "The run", body = Object),
              (status = 404, description = "Not one of yours", body = ErrorBody),
              (status = 409, description = "The run has already ended", body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Path(id): Path<String>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(state.app.cancel_run(&auth, run_id(&id)?).await?))
}

/// The follower as `text/event-stream`.
fn event_stream(follower: RunFollower, run: RunId) -> Result<Response, ApiError> {
    let stream = futures_util::stream::unfold(follower, |mut follower| async move {
        let chunk = match follower.next().await? {
            Followed::Event(e) => {
                format!("id: {}\nevent: {}\ndata: {}\n\n", e.seq, e.event, e.data)
            }
            Followed::KeepAlive => ": keep-alive\n\n".to_owned(),
        };
        Some((
            Ok::<_, std::convert::Infallible>(Bytes::from(chunk)),
            follower,
        ))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .header("x-accel-buffering", "no")
        .header("x-switchboard-run-id", run.to_string())
        .body(Body::from_stream(stream))
        .map_err(|e| ApiError::internal(&e))
        .map(IntoResponse::into_response)
}
