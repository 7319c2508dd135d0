//! LLM provider clients: Anthropic Messages and OpenAI-compatible Chat Completions, with
//! streaming, tool calls, usage accounting inputs, retries and fallbacks.
//!
//! May depend on `domain` only (plus HTTP and serde). The provider layer is built in the
//! gateway capability (see the issue tracker); until then this crate only reserves its place in
//! the dependency graph.
