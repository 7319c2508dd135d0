//! LLM provider clients: Anthropic Messages and OpenAI-compatible Chat Completions, with
//! streaming, tool calls, usage accounting inputs, retries and fallbacks.
//!
//! May depend on `domain` only (plus HTTP and serde). Built so far: the event-stream parser
//! (`sse`), the provider-neutral request and stream types (`request`, `types`), and for both
//! wire formats the request bodies, whole responses and stream decoders (`anthropic`,
//! `openai`), and the HTTP client (`client`: timeouts, retries with backoff and
//! `Retry-After`, streaming). The `catalog` names
//! providers and priced models and routes a model id to it and its fallbacks.

pub mod anthropic;
pub mod catalog;
pub mod client;
pub mod openai;
pub mod openai_compat;
pub mod request;
pub mod sse;
pub mod types;

pub use request::{ChatRequest, Message, Part, ResponseFormat, Role, ToolChoice, ToolSpec};
pub use sse::{Event, SseError, SseParser};
pub use types::{Answer, FinishReason, ProviderError, StreamEvent, ToolCall, Usage};
