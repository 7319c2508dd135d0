//! A fake LLM provider for tests and benchmarks. It speaks the Anthropic Messages API
//! (`POST /v1/messages`) and the OpenAI Chat Completions API (`POST /v1/chat/completions`,
//! `GET /v1/models`, `POST /v1/embeddings`), streaming and not, exactly in their wire formats.
//!
//! Each request takes the next [`Script`] from a queue (text, tool calls, an error status,
//! a delay before answering, a delay between stream chunks); with none queued it echoes the
//! last user message. Every request is recorded so a test can assert what reached the
//! provider. Scripts can be queued in-process or with `POST /_fake/scripts`; recordings are at
//! `GET /_fake/requests`.

pub mod wire;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A tool call the fake model makes.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct ScriptedCall {
    pub name: String,
    #[serde(default)]
    pub arguments: Value,
}

/// An error answer instead of a completion.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct ScriptedError {
    /// HTTP status, e.g. 429, 500, 529.
    pub status: u16,
    /// Seconds for `Retry-After`.
    #[serde(default)]
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub message: String,
}

/// What the next request gets.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Script {
    pub text: String,
    pub tool_calls: Vec<ScriptedCall>,
    pub error: Option<ScriptedError>,
    /// Wait before the response starts.
    pub delay_ms: u64,
    /// Wait between stream chunks.
    pub chunk_delay_ms: u64,
    /// Pieces the text is streamed in (at least one).
    pub chunks: usize,
    /// Token counts to report; by default words of the prompt and of the answer.
    pub usage: Option<(u64, u64)>,
    /// Streamed answers break off after the text with the provider's in-stream error event
    /// (Anthropic `overloaded_error`, an OpenAI `{"error":...}` chunk).
    pub fail_mid_stream: bool,
}

impl Script {
    pub fn text(text: impl Into<String>) -> Script {
        Script {
            text: text.into(),
            ..Script::default()
        }
    }

    pub fn tool_call(name: impl Into<String>, arguments: Value) -> Script {
        Script {
            tool_calls: vec![ScriptedCall {
                name: name.into(),
                arguments,
            }],
            ..Script::default()
        }
    }

    pub fn error(status: u16, message: impl Into<String>) -> Script {
        Script {
            error: Some(ScriptedError {
                status,
                retry_after: None,
                message: message.into(),
            }),
            ..Script::default()
        }
    }
}

/// One request as received.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Recorded {
    pub path: String,
    /// Lower-case header names with their values.
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Inner {
    scripts: Mutex<VecDeque<Script>>,
    requests: Mutex<Vec<Recorded>>,
}

/// The fake provider; clones share the queue and the recordings.
#[derive(Clone, Default)]
pub struct FakeLlm {
    inner: Arc<Inner>,
}

impl FakeLlm {
    pub fn new() -> FakeLlm {
        FakeLlm::default()
    }

    /// Queues a script for a later request.
    pub fn script(&self, script: Script) {
        self.inner
            .scripts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(script);
    }

    /// How many requests were received so far.
    pub fn request_count(&self) -> usize {
        self.inner
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The requests received after the first `from` (without copying the rest).
    pub fn requests_since(&self, from: usize) -> Vec<Recorded> {
        let requests = self
            .inner
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        requests.get(from..).unwrap_or_default().to_vec()
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/messages", post(anthropic))
            .route("/v1/chat/completions", post(openai))
            .route("/v1/models", get(models))
            .route("/v1/embeddings", post(embeddings))
            .route("/_fake/scripts", post(queue_scripts))
            .route("/_fake/requests", get(recorded))
            .with_state(self.clone())
    }

    /// Serves on `127.0.0.1:0` until the runtime ends; returns the base URL (`http://…`).
    pub async fn start(&self) -> std::io::Result<String> {
        use axum::serve::ListenerExt as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        // Streamed answers are many small writes; Nagle would hold each for a delayed ACK.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let router = self.router();
        #[allow(
            clippy::disallowed_methods,
            reason = "a test server that lives as long as its runtime"
        )]
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(base)
    }

    /// The next script for this request, then the request in the log: a test that sees a
    /// request recorded knows it already has its script (recorded first, a second request
    /// could take the first one's script in between).
    fn take(&self, path: &str, headers: &HeaderMap, body: &Value) -> Script {
        let scripted = self
            .inner
            .scripts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        self.record(path, headers, body);
        scripted.unwrap_or_else(|| Script::text(format!("echo: {}", wire::last_user_text(body))))
    }

    /// Adds a request to the log.
    fn record(&self, path: &str, headers: &HeaderMap, body: &Value) {
        let headers = headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        self.inner
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Recorded {
                path: path.to_owned(),
                headers,
                body: body.clone(),
            });
    }
}

async fn anthropic(
    State(fake): State<FakeLlm>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let script = fake.take("/v1/messages", &headers, &body);
    answer(script, &body, wire::Format::Anthropic).await
}

async fn openai(
    State(fake): State<FakeLlm>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let script = fake.take("/v1/chat/completions", &headers, &body);
    answer(script, &body, wire::Format::OpenAi).await
}

async fn answer(script: Script, body: &Value, format: wire::Format) -> Response {
    if script.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(script.delay_ms)).await;
    }
    if let Some(error) = &script.error {
        let status =
            StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(wire::error_body(format, error))).into_response();
        if let Some(seconds) = error.retry_after {
            if let Ok(value) = seconds.to_string().parse() {
                response.headers_mut().insert("retry-after", value);
            }
        }
        return response;
    }
    let model = body["model"].as_str().unwrap_or("fake-model").to_owned();
    let usage = script
        .usage
        .unwrap_or_else(|| (wire::prompt_words(body), words(&script.text)));
    if body["stream"] != json!(true) {
        return Json(wire::whole(format, &script, &model, usage)).into_response();
    }
    let include_usage = body["stream_options"]["include_usage"] == json!(true);
    let events = wire::stream(format, &script, &model, usage, include_usage);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, Infallible>>(16);
    let pause = Duration::from_millis(script.chunk_delay_ms);
    #[allow(clippy::disallowed_methods, reason = "streams one fake response")]
    tokio::spawn(async move {
        for (i, event) in events.into_iter().enumerate() {
            if i > 0 && !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            if tx.send(Ok(Bytes::from(event))).await.is_err() {
                return;
            }
        }
    });
    let mut response =
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)).into_response();
    if let Ok(value) = "text/event-stream".parse() {
        response.headers_mut().insert("content-type", value);
    }
    response
}

async fn models() -> Json<Value> {
    Json(json!({"object": "list", "data": [
        {"id": "fake-model", "object": "model", "created": 0, "owned_by": "fake"}
    ]}))
}

/// Words that mean the same to the fake embeddings model (the first of each group stands for
/// all), so tests can tell recall by meaning from recall by words.
const SYNONYMS: &[&[&str]] = &[
    &["car", "cars", "vehicle", "vehicles", "automobile", "van"],
    &[
        "laptop",
        "laptops",
        "notebook",
        "notebooks",
        "computer",
        "computers",
        "pc",
    ],
    &[
        "backup",
        "backups",
        "copy",
        "copies",
        "snapshot",
        "snapshots",
    ],
    &["password", "passwords", "passphrase", "credential", "login"],
    &["printer", "printers", "printing", "copier"],
    &["boss", "manager", "director", "supervisor"],
    &["holiday", "holidays", "vacation", "leave", "pto"],
];

/// Words the fake embeddings model gives no meaning (as real models nearly do).
const FUNCTION_WORDS: &[&str] = &[
    "the", "and", "are", "for", "with", "our", "where", "which", "what", "who", "how", "this",
    "that", "from", "has", "have",
];

/// Dimensions of the fake embeddings.
pub const EMBEDDING_DIMENSIONS: usize = 1024;

/// A deterministic "bag of meanings": each word of three letters or more (synonyms joined,
/// function words left out) adds to one of 1024 dimensions; the vector is normalised. Texts
/// sharing words or synonyms are close.
pub fn fake_embedding(text: &str) -> Vec<f64> {
    let mut vector = vec![0.0f64; EMBEDDING_DIMENSIONS];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
        .map(str::to_lowercase)
        .filter(|w| !FUNCTION_WORDS.contains(&w.as_str()))
    {
        let canonical = SYNONYMS
            .iter()
            .find(|group| group.contains(&word.as_str()))
            .map_or(word.as_str(), |group| group[0]);
        let dimension = canonical.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        }) % EMBEDDING_DIMENSIONS as u64;
        vector[usize::try_from(dimension).unwrap_or(0)] += 1.0;
    }
    let norm = vector.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|v| *v /= norm);
    }
    vector
}

/// Vectors from [`fake_embedding`], in the OpenAI wire format (recorded; scripts are for
/// chat).
async fn embeddings(
    State(fake): State<FakeLlm>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    fake.record("/v1/embeddings", &headers, &body);
    let inputs: Vec<String> = match &body["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().unwrap_or_default().to_owned())
            .collect(),
        _ => Vec::new(),
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| json!({"object": "embedding", "index": i, "embedding": fake_embedding(text)}))
        .collect();
    let tokens: u64 = inputs.iter().map(|t| words(t)).sum();
    Json(json!({
        "object": "list", "data": data, "model": body["model"],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens}
    }))
}

async fn queue_scripts(
    State(fake): State<FakeLlm>,
    Json(scripts): Json<Vec<Script>>,
) -> StatusCode {
    for script in scripts {
        fake.script(script);
    }
    StatusCode::NO_CONTENT
}

async fn recorded(State(fake): State<FakeLlm>) -> Json<Vec<Recorded>> {
    Json(fake.requests())
}

fn words(text: &str) -> u64 {
    u64::try_from(text.split_whitespace().count()).unwrap_or(u64::MAX)
}
