//! Calling a provider over HTTP: one `reqwest` client (rustls, TCP_NODELAY, pooled), the
//! three timeouts (connect, first byte, idle between stream chunks), and retries with jittered
//! exponential backoff on 429, 5xx, timeouts and connection errors — honouring `Retry-After` —
//! as long as nothing has been handed to the caller yet.

use std::collections::VecDeque;
use std::time::Duration;

use rand::Rng as _;
use serde_json::Value;

use crate::request::ChatRequest;
use crate::sse::{SseError, SseParser};
use crate::types::{Answer, ProviderError, StreamEvent};
use crate::{anthropic, openai};

/// Which wire format a provider speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Anthropic,
    OpenAi,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// Until the response headers arrive.
    pub first_byte: Duration,
    /// Between two chunks of a streamed body.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            first_byte: Duration::from_secs(120),
            idle: Duration::from_secs(60),
        }
    }
}

/// One upstream endpoint.
#[derive(Clone)]
pub struct Endpoint {
    pub kind: Kind,
    /// Up to and including the API version, e.g. `https://api.anthropic.com/v1` or
    /// `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    pub api_key: Option<String>,
    pub timeouts: Timeouts,
    /// Extra attempts after the first (0 = no retries).
    pub retries: u32,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("the provider answered HTTP {status}: {message}")]
    Status {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("no {0} from the provider in time")]
    Timeout(&'static str),
    #[error("cannot reach the provider: {0}")]
    Connect(String),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("the provider's event stream is broken: {0}")]
    Stream(#[from] SseError),
    #[error("no provider is configured for this model")]
    NoRoute,
    #[error("this provider does not offer {0}")]
    Unsupported(&'static str),
}

/// The vectors of one embeddings call.
#[derive(Clone, Debug, PartialEq)]
pub struct Embeddings {
    pub vectors: Vec<Vec<f32>>,
    pub input_tokens: u64,
}

impl CallError {
    /// Worth another attempt (here or at a fallback provider).
    pub fn retryable(&self) -> bool {
        match self {
            CallError::Status { status, .. } => *status == 429 || *status >= 500,
            CallError::Timeout(_) | CallError::Connect(_) => true,
            CallError::Provider(ProviderError::Reported { kind, .. }) => {
                kind == "overloaded_error" || kind == "rate_limit_error" || kind == "api_error"
            }
            _ => false,
        }
    }
}

/// A result and the route (`<provider>/<model>`) that produced it, with the routes that failed
/// before it and why.
#[derive(Debug)]
pub struct Routed<T> {
    pub value: T,
    pub route: String,
    pub failed: Vec<(String, String)>,
}

/// Longest `Retry-After` honoured; longer waits fail the call so fallbacks can be tried.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(20);
const BACKOFF_BASE: Duration = Duration::from_millis(200);

/// A shared HTTP client for every provider.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
}

impl Client {
    /// The connect timeout is per client; the others are per endpoint.
    pub fn new(connect_timeout: Duration) -> Client {
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .connect_timeout(connect_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Client { http }
    }

    /// A whole answer (non-streaming request).
    pub async fn complete(
        &self,
        endpoint: &Endpoint,
        request: &ChatRequest,
    ) -> Result<Answer, CallError> {
        let mut request = request.clone();
        request.stream = false;
        let response = self.send_with_retries(endpoint, &request).await?;
        let body = tokio::time::timeout(endpoint.timeouts.idle, response.bytes())
            .await
            .map_err(|_| CallError::Timeout("response body"))?
            .map_err(|e| CallError::Connect(e.to_string()))?;
        let json: Value = serde_json::from_slice(&body)
            .map_err(|_| ProviderError::Malformed("response (not JSON)".into()))?;
        Ok(match endpoint.kind {
            Kind::Anthropic => anthropic::parse_response(&json)?,
            Kind::OpenAi => openai::parse_response(&json)?,
        })
    }

    /// A streamed answer. Retries happen only before the stream is returned.
    pub async fn stream(
        &self,
        endpoint: &Endpoint,
        request: &ChatRequest,
    ) -> Result<AnswerStream, CallError> {
        let mut request = request.clone();
        request.stream = true;
        let response = self.send_with_retries(endpoint, &request).await?;
        Ok(AnswerStream {
            response,
            kind: endpoint.kind,
            idle: endpoint.timeouts.idle,
            parser: SseParser::new(),
            decoder: anthropic::StreamDecoder::new(),
            pending: VecDeque::new(),
            finished: false,
        })
    }

    /// Embeddings of `input` (OpenAI-compatible providers only): one vector per text, and
    /// the input tokens the provider counted.
    pub async fn embed(
        &self,
        endpoint: &Endpoint,
        model: &str,
        input: &[String],
    ) -> Result<Embeddings, CallError> {
        if endpoint.kind != Kind::OpenAi {
            return Err(CallError::Unsupported("embeddings"));
        }
        let body = serde_json::json!({"model": model, "input": input});
        let response = self
            .post_with_retries(endpoint, "embeddings", &body)
            .await?;
        let body = tokio::time::timeout(endpoint.timeouts.idle, response.bytes())
            .await
            .map_err(|_| CallError::Timeout("response body"))?
            .map_err(|e| CallError::Connect(e.to_string()))?;
        let json: Value = serde_json::from_slice(&body)
            .map_err(|_| ProviderError::Malformed("embeddings response (not JSON)".into()))?;
        let mut vectors = Vec::new();
        for item in json["data"].as_array().into_iter().flatten() {
            let vector = item["embedding"]
                .as_array()
                .ok_or_else(|| ProviderError::Malformed("embedding (not an array)".into()))?
                .iter()
                .map(|x| x.as_f64().map(|x| x as f32))
                .collect::<Option<Vec<f32>>>()
                .ok_or_else(|| ProviderError::Malformed("embedding value".into()))?;
            vectors.push(vector);
        }
        if vectors.len() != input.len() {
            return Err(ProviderError::Malformed(format!(
                "embeddings response with {} vectors for {} inputs",
                vectors.len(),
                input.len()
            ))
            .into());
        }
        Ok(Embeddings {
            vectors,
            input_tokens: json["usage"]["prompt_tokens"].as_u64().unwrap_or(0),
        })
    }

    /// A whole answer from the first route that works: each route gets its own retries; a
    /// retryable failure moves on to the next route (the model's fallbacks).
    pub async fn complete_routed(
        &self,
        routes: &[crate::catalog::Route<'_>],
        request: &ChatRequest,
    ) -> Result<Routed<Answer>, CallError> {
        self.routed(routes, request, |endpoint, request| async move {
            self.complete(endpoint, &request).await
        })
        .await
    }

    /// A streamed answer from the first route that starts streaming (see `complete_routed`).
    pub async fn stream_routed(
        &self,
        routes: &[crate::catalog::Route<'_>],
        request: &ChatRequest,
    ) -> Result<Routed<AnswerStream>, CallError> {
        self.routed(routes, request, |endpoint, request| async move {
            self.stream(endpoint, &request).await
        })
        .await
    }

    async fn routed<'r, T, F, Fut>(
        &self,
        routes: &'r [crate::catalog::Route<'r>],
        request: &ChatRequest,
        call: F,
    ) -> Result<Routed<T>, CallError>
    where
        F: Fn(&'r Endpoint, ChatRequest) -> Fut,
        Fut: std::future::Future<Output = Result<T, CallError>>,
    {
        let mut failed = Vec::new();
        let mut last = None;
        for route in routes {
            let mut request = request.clone();
            request.model = route.model.name.clone();
            match call(&route.provider.endpoint, request).await {
                Ok(value) => {
                    return Ok(Routed {
                        value,
                        route: route.id.clone(),
                        failed,
                    })
                }
                // A provider that cannot serve this request may have a fallback that can.
                Err(e) if e.retryable() || matches!(e, CallError::Unsupported(_)) => {
                    failed.push((route.id.clone(), e.to_string()));
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(CallError::NoRoute))
    }

    async fn send_with_retries(
        &self,
        endpoint: &Endpoint,
        request: &ChatRequest,
    ) -> Result<reqwest::Response, CallError> {
        let (path, body) = match endpoint.kind {
            Kind::Anthropic if request.response_format.is_some() => {
                return Err(CallError::Unsupported("a JSON `response_format`"))
            }
            Kind::Anthropic => ("messages", anthropic::request_body(request)),
            Kind::OpenAi => ("chat/completions", openai::request_body(request)),
        };
        self.post_with_retries(endpoint, path, &body).await
    }

    async fn post_with_retries(
        &self,
        endpoint: &Endpoint,
        path: &str,
        body: &Value,
    ) -> Result<reqwest::Response, CallError> {
        let mut attempt = 0;
        loop {
            match self.send_once(endpoint, path, body).await {
                Ok(response) => return Ok(response),
                Err(e) if e.retryable() && attempt < endpoint.retries => {
                    let wait = match &e {
                        CallError::Status {
                            retry_after: Some(after),
                            ..
                        } if *after > MAX_RETRY_AFTER => return Err(e),
                        CallError::Status {
                            retry_after: Some(after),
                            ..
                        } => *after,
                        _ => backoff(attempt),
                    };
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn send_once(
        &self,
        endpoint: &Endpoint,
        path: &str,
        body: &Value,
    ) -> Result<reqwest::Response, CallError> {
        let base = endpoint.base_url.trim_end_matches('/');
        let mut builder = self.http.post(format!("{base}/{path}")).json(body);
        builder = match (endpoint.kind, &endpoint.api_key) {
            (Kind::Anthropic, key) => {
                let builder = builder.header("anthropic-version", "2023-06-01");
                match key {
                    Some(key) => builder.header("x-api-key", key),
                    None => builder,
                }
            }
            (Kind::OpenAi, Some(key)) => builder.bearer_auth(key),
            (Kind::OpenAi, None) => builder,
        };
        let response = tokio::time::timeout(endpoint.timeouts.first_byte, builder.send())
            .await
            .map_err(|_| CallError::Timeout("response"))?
            .map_err(|e| {
                if e.is_timeout() {
                    CallError::Timeout("connection")
                } else {
                    CallError::Connect(without_url(&e))
                }
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = tokio::time::timeout(endpoint.timeouts.idle, response.bytes())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let message = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
        Err(CallError::Status {
            status: status.as_u16(),
            message,
            retry_after,
        })
    }
}

/// Exponential backoff with ±50 % jitter: ~200 ms, 400 ms, 800 ms, … capped at 5 s.
fn backoff(attempt: u32) -> Duration {
    let base = BACKOFF_BASE.saturating_mul(2u32.saturating_pow(attempt.min(5)));
    let base = base.min(Duration::from_secs(5));
    base.mul_f64(rand::thread_rng().gen_range(0.5..1.5))
}

fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "");
    }
    text.trim().to_owned()
}

/// The events of a streamed answer, read as the network delivers them.
#[derive(Debug)]
pub struct AnswerStream {
    response: reqwest::Response,
    kind: Kind,
    idle: Duration,
    parser: SseParser,
    decoder: anthropic::StreamDecoder,
    pending: VecDeque<StreamEvent>,
    finished: bool,
}

impl AnswerStream {
    /// The next event; `None` at the end of the answer.
    pub async fn next(&mut self) -> Option<Result<StreamEvent, CallError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            if self.finished {
                return None;
            }
            let chunk = match tokio::time::timeout(self.idle, self.response.chunk()).await {
                Err(_) => return self.fail(CallError::Timeout("stream chunk")),
                Ok(Err(e)) => return self.fail(CallError::Connect(without_url(&e))),
                Ok(Ok(chunk)) => chunk,
            };
            let mut events = Vec::new();
            match chunk {
                Some(bytes) => {
                    if let Err(e) = self.parser.push(&bytes, &mut events) {
                        return self.fail(e.into());
                    }
                }
                None => {
                    self.parser.finish(&mut events);
                    self.finished = true;
                }
            }
            for event in &events {
                let decoded = match self.kind {
                    Kind::Anthropic => self.decoder.decode(event),
                    Kind::OpenAi => match openai::decode(event) {
                        Ok(openai::Decoded::Events(e)) => Ok(e),
                        Ok(openai::Decoded::Done) => {
                            self.finished = true;
                            Ok(Vec::new())
                        }
                        Err(e) => Err(e),
                    },
                };
                match decoded {
                    Ok(decoded) => self.pending.extend(decoded),
                    Err(e) => return self.fail(e.into()),
                }
            }
        }
    }

    /// Reads the rest of the stream into a whole answer.
    pub async fn collect(mut self) -> Result<Answer, CallError> {
        let mut answer = Answer::default();
        let mut indices = Vec::new();
        while let Some(event) = self.next().await {
            answer.apply(event?, &mut indices);
        }
        Ok(answer)
    }

    fn fail(&mut self, e: CallError) -> Option<Result<StreamEvent, CallError>> {
        self.finished = true;
        self.pending.clear();
        Some(Err(e))
    }
}
