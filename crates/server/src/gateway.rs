//! The OpenAI-compatible AI gateway: `POST /v1/chat/completions` (whole or streamed),
//! `GET /v1/models` and `POST /v1/embeddings`, authenticated with a virtual key
//! (`Authorization: Bearer sbk_...`). Handlers parse the OpenAI body, call the gateway
//! service once and render its answer in the OpenAI shapes; every response carries
//! `x-switchboard-overhead-ms` (time spent in the hub, not waiting for the provider — for a
//! stream, up to its first byte).

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Extension, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use switchboard_app::gateway::chat::{ChatReply, GatewayStream};
use switchboard_llm::openai_compat::{self, ChunkWriter};
use uuid::Uuid;

use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::middleware::timing::RequestStart;
use crate::state::AppState;

pub const OVERHEAD_HEADER: &str = "x-switchboard-overhead-ms";

fn bearer(headers: &HeaderMap) -> Result<String, ApiError> {
    crate::auth::bearer(headers).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unauthorized,
            "Send a gateway key: Authorization: Bearer sbk_...",
        )
    })
}

fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidRequest,
            format!("The body is not valid JSON: {e}"),
        )
    })
}

/// When the request entered the hub (the outermost layer's stamp).
fn start_of(stamp: Option<Extension<RequestStart>>) -> Instant {
    stamp.map_or_else(Instant::now, |Extension(RequestStart(at))| at)
}

fn with_overhead(mut response: Response, overhead: Duration) -> Response {
    let ms = format!("{:.3}", overhead.as_secs_f64() * 1000.0);
    if let Ok(value) = HeaderValue::from_str(&ms) {
        response.headers_mut().insert(OVERHEAD_HEADER, value);
    }
    response
}

/// Seconds since the Unix epoch, for the `created` field.
fn created(state: &AppState) -> i64 {
    state.app.clock.now().timestamp()
}

/// A chat completion through the gateway (OpenAI Chat Completions format).
#[utoipa::path(post, path = "/v1/chat/completions", tag = "gateway",
    request_body(content = Object, description = "An OpenAI Chat Completions request"),
    responses(
        (status = 200, description = "A `chat.completion`, or with `stream: true` an event stream of `chat.completion.chunk`s ending in `[DONE]`"),
        (status = 401, description = "No valid gateway key", body = ErrorBody),
        (status = 402, description = "`budget_exceeded`", body = ErrorBody),
        (status = 403, description = "`model_not_allowed`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with Retry-After", body = ErrorBody),
        (status = 400, description = "`invalid_request` or `content_blocked`", body = ErrorBody),
        (status = 502, description = "`upstream_error`", body = ErrorBody)
    ))]
pub async fn chat_completions(
    State(state): State<AppState>,
    stamp: Option<Extension<RequestStart>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = start_of(stamp);
    let key = bearer(&headers)?;
    let chat = openai_compat::parse_chat_request(&json_body(&body)?)
        .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.0))?;
    let include_usage = chat.include_usage;
    let id = format!("chatcmpl-{}", Uuid::now_v7().simple());
    match state.app.gateway.chat(&key, chat, started).await? {
        ChatReply::Whole(reply) => {
            let body =
                openai_compat::completion_body(&id, created(&state), &reply.model, &reply.answer);
            Ok(with_overhead(Json(body).into_response(), reply.overhead))
        }
        ChatReply::Stream(stream) => {
            let writer = ChunkWriter::new(id, created(&state), stream.model());
            let overhead = stream.overhead();
            let events = sse_events(stream, writer, include_usage);
            let response = Response::builder()
                .header(header::CONTENT_TYPE, "text/event-stream")
                .header(header::CACHE_CONTROL, "no-cache")
                .body(Body::from_stream(events))
                .map_err(|e| ApiError::internal(&e))?;
            Ok(with_overhead(response, overhead))
        }
    }
}

enum Phase {
    Events,
    Done,
    Over,
}

fn done() -> Bytes {
    Bytes::from_static(b"data: [DONE]\n\n")
}

/// The answer as `data:` lines: one chunk per event, an error object if the stream fails
/// (what the OpenAI SDKs raise), the usage chunk when asked for, then `[DONE]`.
fn sse_events(
    stream: Box<GatewayStream>,
    writer: ChunkWriter,
    include_usage: bool,
) -> impl futures_util::Stream<Item = Result<Bytes, std::convert::Infallible>> {
    let data = |value: &Value| Bytes::from(format!("data: {value}\n\n"));
    futures_util::stream::unfold(
        (stream, writer, Phase::Events),
        move |(mut stream, mut writer, phase)| async move {
            match phase {
                Phase::Events => loop {
                    match stream.next().await {
                        Some(Ok(event)) => {
                            if let Some(chunk) = writer.event(&event) {
                                return Some((Ok(data(&chunk)), (stream, writer, Phase::Events)));
                            }
                        }
                        Some(Err(e)) => {
                            let error = ApiError::from(e);
                            let body = serde_json::to_value(error.body()).unwrap_or(Value::Null);
                            return Some((Ok(data(&body)), (stream, writer, Phase::Done)));
                        }
                        None if include_usage => {
                            let chunk = writer.usage(stream.usage());
                            return Some((Ok(data(&chunk)), (stream, writer, Phase::Done)));
                        }
                        None => return Some((Ok(done()), (stream, writer, Phase::Over))),
                    }
                },
                Phase::Done => Some((Ok(done()), (stream, writer, Phase::Over))),
                Phase::Over => None,
            }
        },
    )
}

/// The models this key may use.
#[utoipa::path(get, path = "/v1/models", tag = "gateway",
    responses(
        (status = 200, description = "An OpenAI model list"),
        (status = 401, description = "No valid gateway key", body = ErrorBody)
    ))]
pub async fn models(
    State(state): State<AppState>,
    stamp: Option<Extension<RequestStart>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let started = start_of(stamp);
    let key = bearer(&headers)?;
    let ids = state.app.gateway.models_for_key(&key).await?;
    Ok(with_overhead(
        Json(openai_compat::models_body(&ids)).into_response(),
        started.elapsed(),
    ))
}

/// Embeddings through the gateway (OpenAI Embeddings format; OpenAI-compatible providers).
#[utoipa::path(post, path = "/v1/embeddings", tag = "gateway",
    request_body(content = Object, description = "An OpenAI Embeddings request"),
    responses(
        (status = 200, description = "An OpenAI embeddings list"),
        (status = 401, description = "No valid gateway key", body = ErrorBody),
        (status = 502, description = "`upstream_error`", body = ErrorBody)
    ))]
pub async fn embeddings(
    State(state): State<AppState>,
    stamp: Option<Extension<RequestStart>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = start_of(stamp);
    let key = bearer(&headers)?;
    let (model, input) = openai_compat::parse_embeddings_request(&json_body(&body)?)
        .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.0))?;
    let reply = state
        .app
        .gateway
        .embed(&key, &model, input, started)
        .await?;
    let body = openai_compat::embeddings_body(&reply.model, &reply.vectors, reply.input_tokens);
    Ok(with_overhead(Json(body).into_response(), reply.overhead))
}
