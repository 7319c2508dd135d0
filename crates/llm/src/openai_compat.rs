//! The OpenAI Chat Completions format as the gateway *serves* it: a client's request body
//! turned into the provider-neutral [`ChatRequest`], and answers turned back into
//! `chat.completion` bodies, `chat.completion.chunk` stream events, model lists and
//! embedding responses — the shapes the official `openai` SDKs parse.
//!
//! Supported in requests: `model`, `messages` (`system`/`developer`, `user`, `assistant` with
//! `tool_calls`, `tool`), text content as a string or `[{"type":"text"}]` parts, `tools`
//! (functions), `max_tokens`/`max_completion_tokens`, `temperature`, `stream`,
//! `stream_options.include_usage`. Other fields are accepted and not forwarded; non-text
//! content parts are refused with a clear message.

use serde_json::{json, Map, Value};

use crate::request::{ChatRequest, Message, Part, ResponseFormat, Role, ToolChoice, ToolSpec};
use crate::types::{Answer, FinishReason, StreamEvent, ToolCall, Usage};

/// A client's chat request as the gateway understands it.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientChat {
    /// The model id the client asked for (`<provider>/<model>` or `default`).
    pub model: String,
    pub request: ChatRequest,
    /// Whether the client wants the usage chunk at the end of a stream.
    pub include_usage: bool,
}

/// Why a request body was refused; the message names the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

fn bad(message: impl Into<String>) -> BadRequest {
    BadRequest(message.into())
}

/// Reads a `POST /v1/chat/completions` body.
pub fn parse_chat_request(body: &Value) -> Result<ClientChat, BadRequest> {
    let object = body
        .as_object()
        .ok_or_else(|| bad("The body must be a JSON object."))?;
    let model = object
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| bad("`model` is required (a model id such as `local/gpt-test`)."))?
        .to_owned();
    let raw_messages = object
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| bad("`messages` must be a non-empty array."))?;
    let mut system: Vec<String> = Vec::new();
    let mut messages: Vec<Message> = Vec::new();
    for (i, m) in raw_messages.iter().enumerate() {
        let role = m["role"].as_str().unwrap_or("");
        match role {
            "system" | "developer" => system.push(text_content(&m["content"], i)?),
            "user" => push(&mut messages, Role::User, Part::Text(text_content(&m["content"], i)?)),
            "assistant" => {
                let mut parts = Vec::new();
                if !m["content"].is_null() {
                    let text = text_content(&m["content"], i)?;
                    if !text.is_empty() {
                        parts.push(Part::Text(text));
                    }
                }
                for call in m["tool_calls"].as_array().into_iter().flatten() {
                    let function = &call["function"];
                    let name = function["name"].as_str().ok_or_else(|| {
                        bad(format!("messages[{i}].tool_calls[].function.name is required."))
                    })?;
                    parts.push(Part::ToolCall(ToolCall {
                        id: call["id"].as_str().unwrap_or_default().to_owned(),
                        name: name.to_owned(),
                        arguments: function["arguments"].as_str().unwrap_or("{}").to_owned(),
                    }));
                }
                for part in parts {
                    push(&mut messages, Role::Assistant, part);
                }
            }
            "tool" => {
                let call_id = m["tool_call_id"]
                    .as_str()
                    .ok_or_else(|| bad(format!("messages[{i}].tool_call_id is required.")))?;
                push(
                    &mut messages,
                    Role::User,
                    Part::ToolResult {
                        call_id: call_id.to_owned(),
                        content: text_content(&m["content"], i)?,
                        is_error: false,
                    },
                );
            }
            other => {
                return Err(bad(format!(
                    "messages[{i}].role `{other}` is not one of system, developer, user, assistant, tool."
                )))
            }
        }
    }
    let mut tools = Vec::new();
    for (i, tool) in object
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let function = &tool["function"];
        let name = function["name"]
            .as_str()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| bad(format!("tools[{i}].function.name is required.")))?;
        tools.push(ToolSpec {
            name: name.to_owned(),
            description: function["description"].as_str().unwrap_or("").to_owned(),
            input_schema: if function["parameters"].is_object() {
                function["parameters"].clone()
            } else {
                json!({"type": "object", "properties": {}})
            },
        });
    }
    let max_tokens = ["max_completion_tokens", "max_tokens"]
        .iter()
        .find_map(|k| object.get(*k).filter(|v| !v.is_null()))
        .map(|v| {
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| bad("`max_tokens` must be a positive integer."))
        })
        .transpose()?;
    let temperature = match object.get("temperature") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_f64()
                .filter(|t| (0.0..=2.0).contains(t))
                .ok_or_else(|| bad("`temperature` must be a number from 0 to 2."))?,
        ),
    };
    let stream = object
        .get("stream")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let include_usage = object
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let tool_choice = object
        .get("tool_choice")
        .filter(|v| !v.is_null())
        .map(|v| tool_choice(v, &tools))
        .transpose()?;
    Ok(ClientChat {
        model,
        request: ChatRequest {
            model: String::new(),
            system: (!system.is_empty()).then(|| system.join("\n\n")),
            messages,
            tools,
            max_tokens,
            temperature,
            stream,
            tool_choice,
            stop: stop(object.get("stop"))?,
            response_format: object
                .get("response_format")
                .filter(|v| !v.is_null() && v["type"] != "text")
                .map(response_format)
                .transpose()?,
        },
        include_usage,
    })
}

/// `tool_choice`: `"auto"`, `"none"`, `"required"` or `{"type":"function","function":{"name"}}`
/// naming one of the tools.
fn tool_choice(value: &Value, tools: &[ToolSpec]) -> Result<ToolChoice, BadRequest> {
    let named = value["function"]["name"].as_str();
    match (value.as_str(), named) {
        (Some("auto"), _) => Ok(ToolChoice::Auto),
        (Some("none"), _) => Ok(ToolChoice::None),
        (Some("required"), _) => Ok(ToolChoice::Required),
        (None, Some(name)) if tools.iter().any(|t| t.name == name) => {
            Ok(ToolChoice::Tool(name.to_owned()))
        }
        (None, Some(name)) => Err(bad(format!(
            "`tool_choice` names `{name}`, which is not in `tools`."
        ))),
        _ => Err(bad(
            "`tool_choice` must be \"auto\", \"none\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}.",
        )),
    }
}

/// `stop`: a string or up to 4 strings.
fn stop(value: Option<&Value>) -> Result<Vec<String>, BadRequest> {
    let invalid = || bad("`stop` must be a string or an array of up to 4 non-empty strings.");
    let list = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(invalid))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid()),
    };
    if list.len() > 4 || list.iter().any(String::is_empty) {
        return Err(invalid());
    }
    Ok(list)
}

/// `response_format`: `text` (the default, nothing to ask), `json_object`, or `json_schema`
/// with its schema object.
fn response_format(value: &Value) -> Result<ResponseFormat, BadRequest> {
    match value["type"].as_str() {
        Some("json_object") => Ok(ResponseFormat::JsonObject),
        Some("json_schema") if value["json_schema"].is_object() => {
            Ok(ResponseFormat::JsonSchema(value["json_schema"].clone()))
        }
        Some("json_schema") => Err(bad(
            "`response_format.json_schema` must be an object with `name` and `schema`.",
        )),
        _ => Err(bad(
            "`response_format.type` must be \"text\", \"json_object\" or \"json_schema\".",
        )),
    }
}

/// Adds a part to the last message when it has the same role (tool results that follow each
/// other form one user turn), else starts a new message.
fn push(messages: &mut Vec<Message>, role: Role, part: Part) {
    match messages.last_mut() {
        Some(last) if last.role == role => last.parts.push(part),
        _ => messages.push(Message {
            role,
            parts: vec![part],
        }),
    }
}

fn text_content(content: &Value, i: usize) -> Result<String, BadRequest> {
    match content {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        Value::Array(parts) => {
            let mut text = String::new();
            for part in parts {
                match (part["type"].as_str(), part["text"].as_str()) {
                    (Some("text"), Some(t)) => {
                        if !text.is_empty() {
                            text.push('\n');
                        }
                        text.push_str(t);
                    }
                    (kind, _) => {
                        return Err(bad(format!(
                            "messages[{i}].content: only text parts are supported, not `{}`.",
                            kind.unwrap_or("?")
                        )))
                    }
                }
            }
            Ok(text)
        }
        _ => Err(bad(format!(
            "messages[{i}].content must be a string or an array of text parts."
        ))),
    }
}

/// The `finish_reason` value OpenAI clients expect.
pub fn finish_reason_name(reason: Option<&FinishReason>) -> &'static str {
    match reason {
        Some(FinishReason::Length) => "length",
        Some(FinishReason::ToolCalls) => "tool_calls",
        Some(FinishReason::ContentFilter) => "content_filter",
        Some(FinishReason::Stop) | Some(FinishReason::Other(_)) | None => "stop",
    }
}

fn usage_json(usage: Usage) -> Value {
    json!({
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
    })
}

fn tool_calls_json(calls: &[ToolCall]) -> Value {
    Value::Array(
        calls
            .iter()
            .map(|c| {
                json!({"id": c.id, "type": "function",
                       "function": {"name": c.name, "arguments": c.arguments}})
            })
            .collect(),
    )
}

/// A whole `chat.completion` body.
pub fn completion_body(id: &str, created: i64, model: &str, answer: &Answer) -> Value {
    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    message.insert(
        "content".into(),
        if answer.text.is_empty() && !answer.tool_calls.is_empty() {
            Value::Null
        } else {
            json!(answer.text)
        },
    );
    if !answer.tool_calls.is_empty() {
        message.insert("tool_calls".into(), tool_calls_json(&answer.tool_calls));
    }
    let finish = if answer.finish.is_none() && !answer.tool_calls.is_empty() {
        "tool_calls"
    } else {
        finish_reason_name(answer.finish.as_ref())
    };
    json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": Value::Object(message), "finish_reason": finish}],
        "usage": usage_json(answer.usage),
    })
}

/// Builds the `chat.completion.chunk` events of one streamed answer.
#[derive(Clone, Debug)]
pub struct ChunkWriter {
    id: String,
    created: i64,
    model: String,
    started: bool,
}

impl ChunkWriter {
    pub fn new(id: impl Into<String>, created: i64, model: impl Into<String>) -> ChunkWriter {
        ChunkWriter {
            id: id.into(),
            created,
            model: model.into(),
            started: false,
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })
    }

    /// The chunk for one event, or `None` for events that have no chunk of their own
    /// (usage, which goes into [`ChunkWriter::usage`]).
    pub fn event(&mut self, event: &StreamEvent) -> Option<Value> {
        let mut delta = match event {
            StreamEvent::Text(text) => json!({"content": text}),
            StreamEvent::ToolCallStart { index, id, name } => json!({"tool_calls": [{
                "index": index, "id": id, "type": "function",
                "function": {"name": name, "arguments": ""},
            }]}),
            StreamEvent::ToolArguments { index, json } => json!({"tool_calls": [{
                "index": index, "function": {"arguments": json},
            }]}),
            StreamEvent::Finish(reason) => {
                return Some(self.chunk(json!({}), Some(finish_reason_name(Some(reason)))))
            }
            StreamEvent::Usage(_) => return None,
        };
        if !self.started {
            self.started = true;
            delta["role"] = json!("assistant");
        }
        Some(self.chunk(delta, None))
    }

    /// The final usage chunk (`choices` empty), sent when the client asked for it.
    pub fn usage(&self, usage: Usage) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": usage_json(usage),
        })
    }
}

/// A `GET /v1/models` body.
pub fn models_body(ids: &[String]) -> Value {
    json!({
        "object": "list",
        "data": ids.iter().map(|id| json!({
            "id": id,
            "object": "model",
            "created": 0,
            "owned_by": id.split_once('/').map_or("switchboard", |(p, _)| p),
        })).collect::<Vec<_>>(),
    })
}

/// A client's `POST /v1/embeddings` body: the model id and the texts.
pub fn parse_embeddings_request(body: &Value) -> Result<(String, Vec<String>), BadRequest> {
    let model = body["model"]
        .as_str()
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| bad("`model` is required."))?
        .to_owned();
    let input = match &body["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("`input` must be a string or an array of strings."))?,
        _ => {
            return Err(bad(
                "`input` must be a string or a non-empty array of strings.",
            ))
        }
    };
    Ok((model, input))
}

/// A `POST /v1/embeddings` response body.
pub fn embeddings_body(model: &str, vectors: &[Vec<f32>], input_tokens: u64) -> Value {
    json!({
        "object": "list",
        "model": model,
        "data": vectors.iter().enumerate().map(|(i, v)| json!({
            "object": "embedding", "index": i, "embedding": v,
        })).collect::<Vec<_>>(),
        "usage": {"prompt_tokens": input_tokens, "total_tokens": input_tokens},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_with_tools_and_tool_results_become_neutral_turns() {
        let body = json!({
            "model": "local/gpt-test",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Oslo\"}"}},
                    {"id": "c2", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "c1", "content": "cold"},
                {"role": "tool", "tool_call_id": "c2", "content": "warm"}
            ],
            "tools": [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}],
            "max_tokens": 50, "temperature": 0.5, "stream": true,
            "stream_options": {"include_usage": true}
        });
        let chat = parse_chat_request(&body).unwrap();
        assert_eq!(chat.model, "local/gpt-test");
        assert!(chat.include_usage);
        let r = chat.request;
        assert_eq!(r.system.as_deref(), Some("Be brief."));
        assert_eq!(
            r.messages.len(),
            3,
            "user, assistant (2 calls), user (2 results)"
        );
        assert_eq!(r.messages[1].parts.len(), 2);
        assert_eq!(r.messages[2].parts.len(), 2);
        assert_eq!(r.tools[0].name, "weather");
        assert_eq!(
            (r.max_tokens, r.temperature, r.stream),
            (Some(50), Some(0.5), true)
        );
    }

    #[test]
    fn tool_choice_stop_and_response_format_are_read() {
        let tools = json!([{"type": "function", "function": {"name": "lookup"}}]);
        let parse = |extra: Value| {
            let mut body = json!({"model": "m", "tools": tools, "messages": [{"role": "user", "content": "x"}]});
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            parse_chat_request(&body).map(|c| c.request)
        };
        let r = parse(json!({"tool_choice": "required", "stop": "END", "response_format": {"type": "json_object"}})).unwrap();
        assert_eq!(r.tool_choice, Some(ToolChoice::Required));
        assert_eq!(r.stop, vec!["END"]);
        assert_eq!(r.response_format, Some(ResponseFormat::JsonObject));
        let schema = json!({"name": "x", "schema": {"type": "object"}});
        let r = parse(
            json!({"tool_choice": {"type": "function", "function": {"name": "lookup"}},
            "stop": ["a", "b"], "response_format": {"type": "json_schema", "json_schema": schema}}),
        )
        .unwrap();
        assert_eq!(r.tool_choice, Some(ToolChoice::Tool("lookup".into())));
        assert_eq!(r.stop, vec!["a", "b"]);
        assert_eq!(r.response_format, Some(ResponseFormat::JsonSchema(schema)));
        let r = parse(json!({"tool_choice": "none", "response_format": {"type": "text"}})).unwrap();
        assert_eq!(
            (r.tool_choice, r.response_format),
            (Some(ToolChoice::None), None)
        );
        for (extra, says) in [
            (
                json!({"tool_choice": {"type": "function", "function": {"name": "other"}}}),
                "not in `tools`",
            ),
            (json!({"tool_choice": "sometimes"}), "`tool_choice`"),
            (json!({"stop": ["a", "b", "c", "d", "e"]}), "`stop`"),
            (json!({"stop": 3}), "`stop`"),
            (
                json!({"response_format": {"type": "yaml"}}),
                "`response_format.type`",
            ),
            (
                json!({"response_format": {"type": "json_schema"}}),
                "json_schema",
            ),
        ] {
            let err = parse(extra.clone()).unwrap_err();
            assert!(err.0.contains(says), "{extra}: {err}");
        }
    }

    #[test]
    fn bad_requests_name_the_field() {
        for (body, field) in [
            (
                json!({"messages": [{"role": "user", "content": "x"}]}),
                "model",
            ),
            (json!({"model": "m", "messages": []}), "messages"),
            (
                json!({"model": "m", "messages": [{"role": "wizard", "content": "x"}]}),
                "role",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}),
                "image_url",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": -1}),
                "max_tokens",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 9}),
                "temperature",
            ),
        ] {
            let err = parse_chat_request(&body).unwrap_err();
            assert!(err.0.contains(field), "{err} should mention {field}");
        }
    }

    #[test]
    fn answers_render_as_completions_and_chunks() {
        let answer = Answer {
            text: String::new(),
            tool_calls: vec![ToolCall {
                id: "c1".into(),
                name: "f".into(),
                arguments: "{}".into(),
            }],
            usage: Usage {
                input_tokens: 3,
                output_tokens: 4,
            },
            finish: Some(FinishReason::ToolCalls),
        };
        let body = completion_body("chatcmpl-1", 7, "local/m", &answer);
        assert_eq!(body["choices"][0]["message"]["content"], Value::Null);
        assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(body["usage"]["total_tokens"], 7);

        let mut w = ChunkWriter::new("chatcmpl-1", 7, "local/m");
        let first = w.event(&StreamEvent::Text("Hi".into())).unwrap();
        assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(first["choices"][0]["delta"]["content"], "Hi");
        let second = w.event(&StreamEvent::Text("!".into())).unwrap();
        assert!(second["choices"][0]["delta"].get("role").is_none());
        assert!(w.event(&StreamEvent::Usage(Usage::default())).is_none());
        let end = w.event(&StreamEvent::Finish(FinishReason::Stop)).unwrap();
        assert_eq!(end["choices"][0]["finish_reason"], "stop");
        assert_eq!(w.usage(answer.usage)["choices"], json!([]));
    }

    #[test]
    fn embeddings_requests_take_a_string_or_strings() {
        assert_eq!(
            parse_embeddings_request(&json!({"model": "m", "input": "a"})).unwrap(),
            ("m".to_owned(), vec!["a".to_owned()])
        );
        assert!(parse_embeddings_request(&json!({"model": "m", "input": [1]})).is_err());
        assert!(parse_embeddings_request(&json!({"model": "m"})).is_err());
    }
}
