//! Provider-neutral pieces of a streamed answer. Anthropic and OpenAI-compatible streams are
//! both decoded into [`StreamEvent`]s, so everything above this crate sees one shape.

use serde::{Deserialize, Serialize};

/// Tokens counted by the provider for one call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// Why the model stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// A natural end (Anthropic `end_turn`/`stop_sequence`, OpenAI `stop`).
    Stop,
    /// The token limit (`max_tokens`, `length`).
    Length,
    /// The model wants tools called (`tool_use`, `tool_calls`).
    ToolCalls,
    /// The provider filtered the content.
    ContentFilter,
    Other(String),
}

/// One step of a streamed answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEvent {
    /// More answer text.
    Text(String),
    /// A tool call begins; its arguments follow as [`StreamEvent::ToolArguments`] fragments of
    /// JSON with the same `index`.
    ToolCallStart {
        index: usize,
        id: String,
        name: String,
    },
    ToolArguments {
        index: usize,
        json: String,
    },
    /// Token counts so far (the last one of a stream is the total).
    Usage(Usage),
    Finish(FinishReason),
}

/// A failure the provider reported inside a stream or body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider sent an error event (e.g. Anthropic `overloaded_error`).
    #[error("the provider reported {kind}: {message}")]
    Reported { kind: String, message: String },
    /// The provider sent something that is not its documented format.
    #[error("the provider sent an unexpected {0}")]
    Malformed(String),
}

/// A tool call as assembled from a stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// The arguments as JSON text (an object).
    pub arguments: String,
}

/// A whole answer assembled from stream events (what a non-streaming caller receives).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Usage,
    pub finish: Option<FinishReason>,
}

impl Answer {
    /// Folds one event into the answer. Tool calls are kept in the order their indices first
    /// appear.
    pub fn apply(&mut self, event: StreamEvent, indices: &mut Vec<usize>) {
        match event {
            StreamEvent::Text(text) => self.text.push_str(&text),
            StreamEvent::ToolCallStart { index, id, name } => {
                indices.push(index);
                self.tool_calls.push(ToolCall {
                    id,
                    name,
                    arguments: String::new(),
                });
            }
            StreamEvent::ToolArguments { index, json } => {
                if let Some(at) = indices.iter().position(|i| *i == index) {
                    if let Some(call) = self.tool_calls.get_mut(at) {
                        call.arguments.push_str(&json);
                    }
                }
            }
            StreamEvent::Usage(usage) => self.usage = usage,
            StreamEvent::Finish(reason) => self.finish = Some(reason),
        }
    }
}
