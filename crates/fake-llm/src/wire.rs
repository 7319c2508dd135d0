//! The fake's answers in each provider's exact wire format, whole and as SSE events.

use serde_json::{json, Value};

use crate::{Script, ScriptedError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Anthropic,
    OpenAi,
}

/// The text of the last user message of either format (string or text blocks).
pub fn last_user_text(body: &Value) -> String {
    let Some(message) = body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
    else {
        return String::new();
    };
    match &message["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// A rough prompt size: the words of every string in the messages and system text.
pub fn prompt_words(body: &Value) -> u64 {
    fn count(value: &Value) -> u64 {
        match value {
            Value::String(s) => u64::try_from(s.split_whitespace().count()).unwrap_or(0),
            Value::Array(items) => items.iter().map(count).sum(),
            Value::Object(map) => map.values().map(count).sum(),
            _ => 0,
        }
    }
    count(&body["messages"]) + count(&body["system"])
}

pub fn error_body(format: Format, error: &ScriptedError) -> Value {
    match format {
        Format::Anthropic => {
            let kind = match error.status {
                400 => "invalid_request_error",
                401 => "authentication_error",
                403 => "permission_error",
                404 => "not_found_error",
                429 => "rate_limit_error",
                529 => "overloaded_error",
                _ => "api_error",
            };
            json!({"type": "error", "error": {"type": kind, "message": error.message}})
        }
        Format::OpenAi => {
            let kind = match error.status {
                429 => "rate_limit_error",
                400..=499 => "invalid_request_error",
                _ => "server_error",
            };
            json!({"error": {"message": error.message, "type": kind, "param": null, "code": null}})
        }
    }
}

fn arguments(script: &Script, i: usize) -> String {
    script.tool_calls[i].arguments.to_string()
}

/// The non-streaming response body.
pub fn whole(format: Format, script: &Script, model: &str, (input, output): (u64, u64)) -> Value {
    let calls = 0..script.tool_calls.len();
    match format {
        Format::Anthropic => {
            let mut content = Vec::new();
            if !script.text.is_empty() {
                content.push(json!({"type": "text", "text": script.text}));
            }
            for i in calls {
                content.push(json!({
                    "type": "tool_use", "id": format!("toolu_fake_{i}"),
                    "name": script.tool_calls[i].name, "input": script.tool_calls[i].arguments,
                }));
            }
            json!({
                "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
                "content": content, "stop_reason": anthropic_stop(script), "stop_sequence": null,
                "usage": {"input_tokens": input, "output_tokens": output},
            })
        }
        Format::OpenAi => {
            let mut message = json!({
                "role": "assistant",
                "content": if script.text.is_empty() { Value::Null } else { json!(script.text) },
            });
            if !script.tool_calls.is_empty() {
                let tool_calls: Vec<Value> = calls
                    .map(|i| json!({
                        "id": format!("call_fake_{i}"), "type": "function",
                        "function": {"name": script.tool_calls[i].name, "arguments": arguments(script, i)},
                    }))
                    .collect();
                message["tool_calls"] = Value::Array(tool_calls);
            }
            json!({
                "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": openai_finish(script)}],
                "usage": {"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output},
            })
        }
    }
}

/// The streamed response as SSE frames, in order.
pub fn stream(
    format: Format,
    script: &Script,
    model: &str,
    (input, output): (u64, u64),
    include_usage: bool,
) -> Vec<String> {
    let pieces = split(&script.text, script.chunks.max(1));
    match format {
        Format::Anthropic => {
            let mut events = vec![
                frame(
                    Some("message_start"),
                    &json!({"type": "message_start", "message": {
                        "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
                        "content": [], "stop_reason": null, "stop_sequence": null,
                        "usage": {"input_tokens": input, "output_tokens": 1},
                    }}),
                ),
                frame(Some("ping"), &json!({"type": "ping"})),
            ];
            let mut index = 0;
            if !script.text.is_empty() {
                events.push(frame(
                    Some("content_block_start"),
                    &json!({
                        "type": "content_block_start", "index": index,
                        "content_block": {"type": "text", "text": ""},
                    }),
                ));
                for piece in &pieces {
                    events.push(frame(
                        Some("content_block_delta"),
                        &json!({
                            "type": "content_block_delta", "index": index,
                            "delta": {"type": "text_delta", "text": piece},
                        }),
                    ));
                }
                events.push(block_stop(index));
                index += 1;
            }
            if script.fail_mid_stream {
                events.push(frame(
                    Some("error"),
                    &json!({"type": "error",
                            "error": {"type": "overloaded_error", "message": "Overloaded"}}),
                ));
                return events;
            }
            for (i, call) in script.tool_calls.iter().enumerate() {
                events.push(frame(
                    Some("content_block_start"),
                    &json!({
                        "type": "content_block_start", "index": index,
                        "content_block": {"type": "tool_use", "id": format!("toolu_fake_{i}"),
                                          "name": call.name, "input": {}},
                    }),
                ));
                for piece in split(&arguments(script, i), 2) {
                    events.push(frame(
                        Some("content_block_delta"),
                        &json!({
                            "type": "content_block_delta", "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": piece},
                        }),
                    ));
                }
                events.push(block_stop(index));
                index += 1;
            }
            events.push(frame(
                Some("message_delta"),
                &json!({
                    "type": "message_delta",
                    "delta": {"stop_reason": anthropic_stop(script), "stop_sequence": null},
                    "usage": {"output_tokens": output},
                }),
            ));
            events.push(frame(
                Some("message_stop"),
                &json!({"type": "message_stop"}),
            ));
            events
        }
        Format::OpenAi => {
            let chunk = |delta: Value, finish: Value| {
                frame(
                    None,
                    &json!({
                        "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
                        "model": model,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                    }),
                )
            };
            let mut events = vec![chunk(
                json!({"role": "assistant", "content": ""}),
                Value::Null,
            )];
            for piece in pieces.iter().filter(|p| !p.is_empty()) {
                events.push(chunk(json!({"content": piece}), Value::Null));
            }
            if script.fail_mid_stream {
                events.push(frame(
                    None,
                    &json!({"error": {"message": "The server had an error", "type": "server_error"}}),
                ));
                return events;
            }
            for (i, call) in script.tool_calls.iter().enumerate() {
                events.push(chunk(
                    json!({"tool_calls": [{"index": i, "id": format!("call_fake_{i}"),
                    "type": "function", "function": {"name": call.name, "arguments": ""}}]}),
                    Value::Null,
                ));
                for piece in split(&arguments(script, i), 2) {
                    events.push(chunk(
                        json!({"tool_calls": [{"index": i,
                        "function": {"arguments": piece}}]}),
                        Value::Null,
                    ));
                }
            }
            events.push(chunk(json!({}), json!(openai_finish(script))));
            if include_usage {
                events.push(frame(
                    None,
                    &json!({
                        "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
                        "model": model, "choices": [],
                        "usage": {"prompt_tokens": input, "completion_tokens": output,
                                  "total_tokens": input + output},
                    }),
                ));
            }
            events.push("data: [DONE]\n\n".to_owned());
            events
        }
    }
}

fn frame(event: Option<&str>, data: &Value) -> String {
    match event {
        Some(name) => format!("event: {name}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}

fn block_stop(index: usize) -> String {
    frame(
        Some("content_block_stop"),
        &json!({"type": "content_block_stop", "index": index}),
    )
}

fn anthropic_stop(script: &Script) -> &'static str {
    if script.tool_calls.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    }
}

fn openai_finish(script: &Script) -> &'static str {
    if script.tool_calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    }
}

/// `text` in `n` pieces of about equal length (by characters, so UTF-8 stays whole).
fn split(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let size = chars.len().div_ceil(n.max(1)).max(1);
    let pieces: Vec<String> = chars.chunks(size).map(|c| c.iter().collect()).collect();
    if pieces.is_empty() {
        vec![String::new()]
    } else {
        pieces
    }
}
