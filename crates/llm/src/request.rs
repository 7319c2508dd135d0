//! A provider-neutral chat request: system text, a conversation of user and assistant turns
//! (text, tool calls, tool results) and the tools on offer. `anthropic::request_body` and
//! `openai::request_body` turn it into each wire format.

use serde_json::Value;

use crate::types::ToolCall;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

/// One piece of a turn.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    Text(String),
    /// The assistant asked for a tool (only in assistant turns).
    ToolCall(ToolCall),
    /// The result of a tool call (only in user turns).
    ToolResult {
        call_id: String,
        content: String,
        is_error: bool,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub role: Role,
    pub parts: Vec<Part>,
}

impl Message {
    pub fn user(text: impl Into<String>) -> Message {
        Message {
            role: Role::User,
            parts: vec![Part::Text(text.into())],
        }
    }

    pub fn assistant(text: impl Into<String>) -> Message {
        Message {
            role: Role::Assistant,
            parts: vec![Part::Text(text.into())],
        }
    }
}

/// A tool the model may call.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the input object.
    pub input_schema: Value,
}

/// Whether and which tool the model must call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolChoice {
    /// The model decides (the default when tools are given).
    Auto,
    /// No tool call; text only.
    None,
    /// Some tool call.
    Required,
    /// This tool.
    Tool(String),
}

/// The shape the answer must take (OpenAI `response_format`).
#[derive(Clone, Debug, PartialEq)]
pub enum ResponseFormat {
    /// A JSON object (`{"type": "json_object"}`).
    JsonObject,
    /// JSON matching a schema: the whole `json_schema` object (`name`, `schema`, `strict`).
    JsonSchema(Value),
}

/// What to ask the model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChatRequest {
    /// The model's name at the provider (without the `<provider>/` prefix).
    pub model: String,
    pub system: Option<String>,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub stream: bool,
    pub tool_choice: Option<ToolChoice>,
    /// Sequences that end the answer (at most 4).
    pub stop: Vec<String>,
    /// `None` is free text. Anthropic models refuse a JSON format (`CallError::Unsupported`).
    pub response_format: Option<ResponseFormat>,
}

/// Anthropic requires `max_tokens`; this is used when the caller gives none.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;
