//! LLM provider clients: Anthropic Messages and OpenAI-compatible Chat Completions, with
//! streaming, tool calls, usage accounting inputs, retries and fallbacks.
//!
//! May depend on `domain` only (plus HTTP and serde). Built so far: the event-stream parser
//! (`sse`), the provider-neutral stream types (`types`) and the stream decoders of both wire
//! formats (`anthropic`, `openai`). The HTTP clients, retries and fallbacks come next with the
//! gateway (see the issue tracker).

pub mod anthropic;
pub mod openai;
pub mod sse;
pub mod types;

pub use sse::{Event, SseError, SseParser};
pub use types::{Answer, FinishReason, ProviderError, StreamEvent, ToolCall, Usage};
