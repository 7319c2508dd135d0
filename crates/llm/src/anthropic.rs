//! The Anthropic Messages API stream (`POST /v1/messages` with `"stream": true`): events
//! `message_start`, `content_block_start` (`text` or `tool_use`), `content_block_delta`
//! (`text_delta`, `input_json_delta`, and `thinking_delta`/`signature_delta`, which are not
//! answer text), `content_block_stop`, `message_delta` (stop reason, output tokens),
//! `message_stop`, `ping` and `error`.

use serde_json::{json, Map, Value};

use crate::request::{ChatRequest, Part, Role, ToolChoice, DEFAULT_MAX_TOKENS};
use crate::sse::Event;
use crate::types::{Answer, FinishReason, ProviderError, StreamEvent, ToolCall, Usage};

/// The JSON body of `POST /v1/messages` for `request`. Tool results travel in user turns as
/// `tool_result` blocks; tool calls in assistant turns as `tool_use` blocks with their input
/// as an object.
pub fn request_body(request: &ChatRequest) -> Value {
    let messages: Vec<Value> = request
        .messages
        .iter()
        .map(|m| {
            let content: Vec<Value> = m
                .parts
                .iter()
                .map(|part| match part {
                    Part::Text(text) => json!({"type": "text", "text": text}),
                    Part::ToolCall(call) => json!({
                        "type": "tool_use", "id": call.id, "name": call.name,
                        "input": arguments_object(&call.arguments),
                    }),
                    Part::ToolResult {
                        call_id,
                        content,
                        is_error,
                    } => json!({
                        "type": "tool_result", "tool_use_id": call_id, "content": content,
                        "is_error": is_error,
                    }),
                })
                .collect();
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            json!({"role": role, "content": content})
        })
        .collect();
    let mut body = Map::new();
    body.insert("model".into(), json!(request.model));
    body.insert(
        "max_tokens".into(),
        json!(request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS)),
    );
    if let Some(system) = &request.system {
        body.insert("system".into(), json!(system));
    }
    body.insert("messages".into(), Value::Array(messages));
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.input_schema}))
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = &request.tool_choice {
        let choice = match choice {
            ToolChoice::Auto => json!({"type": "auto"}),
            ToolChoice::None => json!({"type": "none"}),
            ToolChoice::Required => json!({"type": "any"}),
            ToolChoice::Tool(name) => json!({"type": "tool", "name": name}),
        };
        body.insert("tool_choice".into(), choice);
    }
    if !request.stop.is_empty() {
        body.insert("stop_sequences".into(), json!(request.stop));
    }
    if let Some(t) = request.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if request.stream {
        body.insert("stream".into(), json!(true));
    }
    Value::Object(body)
}

/// A whole (non-streaming) `/v1/messages` response.
pub fn parse_response(body: &Value) -> Result<Answer, ProviderError> {
    if body["type"] == "error" {
        return Err(ProviderError::Reported {
            kind: text(&body["error"]["type"]),
            message: text(&body["error"]["message"]),
        });
    }
    let blocks = body["content"]
        .as_array()
        .ok_or_else(|| ProviderError::Malformed("response without content".into()))?;
    let mut answer = Answer::default();
    for block in blocks {
        match block["type"].as_str() {
            Some("text") => answer
                .text
                .push_str(block["text"].as_str().unwrap_or_default()),
            Some("tool_use") => answer.tool_calls.push(ToolCall {
                id: text(&block["id"]),
                name: text(&block["name"]),
                arguments: block["input"].to_string(),
            }),
            _ => {}
        }
    }
    let usage = &body["usage"];
    answer.usage = Usage {
        input_tokens: tokens(&usage["input_tokens"])
            + tokens(&usage["cache_creation_input_tokens"])
            + tokens(&usage["cache_read_input_tokens"]),
        output_tokens: tokens(&usage["output_tokens"]),
    };
    answer.finish = body["stop_reason"].as_str().map(finish_reason);
    Ok(answer)
}

/// Tool-call arguments as the JSON object Anthropic wants (`{}` when empty or not an object).
fn arguments_object(arguments: &str) -> Value {
    serde_json::from_str::<Value>(arguments)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}))
}

/// Decodes one stream's events; keeps the running token counts.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    usage: Usage,
}

impl StreamDecoder {
    pub fn new() -> StreamDecoder {
        StreamDecoder::default()
    }

    /// The neutral events for one SSE event (often none).
    pub fn decode(&mut self, event: &Event) -> Result<Vec<StreamEvent>, ProviderError> {
        let body: Value = serde_json::from_str(&event.data)
            .map_err(|_| ProviderError::Malformed("event (not JSON)".into()))?;
        // The `type` inside the data is authoritative; the SSE `event:` line repeats it.
        let kind = body
            .get("type")
            .and_then(Value::as_str)
            .or(event.event.as_deref())
            .unwrap_or("");
        let mut out = Vec::new();
        match kind {
            "message_start" => {
                let usage = &body["message"]["usage"];
                self.usage.input_tokens = tokens(&usage["input_tokens"])
                    + tokens(&usage["cache_creation_input_tokens"])
                    + tokens(&usage["cache_read_input_tokens"]);
                self.usage.output_tokens = tokens(&usage["output_tokens"]);
                out.push(StreamEvent::Usage(self.usage));
            }
            "content_block_start" => {
                let index = index(&body)?;
                let block = &body["content_block"];
                match block["type"].as_str() {
                    Some("tool_use") => {
                        out.push(StreamEvent::ToolCallStart {
                            index,
                            id: text(&block["id"]),
                            name: text(&block["name"]),
                        });
                        // Usually `{}` with the real input streamed as deltas.
                        if let Some(input) = block["input"].as_object().filter(|o| !o.is_empty()) {
                            out.push(StreamEvent::ToolArguments {
                                index,
                                json: Value::Object(input.clone()).to_string(),
                            });
                        }
                    }
                    Some("text") => {
                        let initial = text(&block["text"]);
                        if !initial.is_empty() {
                            out.push(StreamEvent::Text(initial));
                        }
                    }
                    _ => {}
                }
            }
            "content_block_delta" => {
                let delta = &body["delta"];
                match delta["type"].as_str() {
                    Some("text_delta") => out.push(StreamEvent::Text(text(&delta["text"]))),
                    Some("input_json_delta") => out.push(StreamEvent::ToolArguments {
                        index: index(&body)?,
                        json: text(&delta["partial_json"]),
                    }),
                    _ => {} // thinking and signature deltas are not answer text
                }
            }
            "message_delta" => {
                if let Some(n) = body["usage"]["output_tokens"].as_u64() {
                    self.usage.output_tokens = n;
                }
                if let Some(n) = body["usage"]["input_tokens"].as_u64() {
                    self.usage.input_tokens = n;
                }
                out.push(StreamEvent::Usage(self.usage));
                if let Some(reason) = body["delta"]["stop_reason"].as_str() {
                    out.push(StreamEvent::Finish(finish_reason(reason)));
                }
            }
            "error" => {
                return Err(ProviderError::Reported {
                    kind: text(&body["error"]["type"]),
                    message: text(&body["error"]["message"]),
                })
            }
            // content_block_stop, message_stop, ping and future events carry nothing we need.
            _ => {}
        }
        Ok(out)
    }
}

/// Anthropic's stop reasons in neutral terms.
pub fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "end_turn" | "stop_sequence" | "pause_turn" => FinishReason::Stop,
        "max_tokens" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

fn tokens(value: &Value) -> u64 {
    value.as_u64().unwrap_or(0)
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn index(body: &Value) -> Result<usize, ProviderError> {
    body["index"]
        .as_u64()
        .and_then(|i| usize::try_from(i).ok())
        .ok_or_else(|| ProviderError::Malformed("content block without index".into()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::sse::tests::assert_split_invariant;
    use crate::types::{Answer, ToolCall};

    /// A real-shaped stream: text, a tool call with its input in three fragments, a thinking
    /// delta, pings, usage in `message_start` and `message_delta`.
    const FIXTURE: &str = concat!(
        "event: message_start\n",
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-x\",\"stop_reason\":null,\"usage\":{\"input_tokens\":472,\"output_tokens\":2}}}\n\n",
        "event: ping\ndata: {\"type\": \"ping\"}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Let me check the weather in Zürich \u{2600}\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"get_weather\",\"input\":{}}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\": \\\"Zü\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"rich\\\"}\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n",
        "event: message_delta\n",
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );

    fn answer(stream: &str) -> Result<Answer, ProviderError> {
        let mut decoder = StreamDecoder::new();
        let mut answer = Answer::default();
        let mut indices = Vec::new();
        for event in assert_split_invariant(stream.as_bytes()) {
            for e in decoder.decode(&event)? {
                answer.apply(e, &mut indices);
            }
        }
        Ok(answer)
    }

    #[test]
    fn the_fixture_decodes_to_text_tool_call_usage_and_reason() {
        let answer = answer(FIXTURE).unwrap();
        assert_eq!(answer.text, "Let me check the weather in Zürich \u{2600}");
        assert_eq!(
            answer.tool_calls,
            [ToolCall {
                id: "toolu_01".into(),
                name: "get_weather".into(),
                arguments: "{\"location\": \"Zürich\"}".into(),
            }]
        );
        let args: Value = serde_json::from_str(&answer.tool_calls[0].arguments).unwrap();
        assert_eq!(args["location"], "Zürich");
        assert_eq!(
            answer.usage,
            Usage {
                input_tokens: 472,
                output_tokens: 89
            }
        );
        assert_eq!(answer.finish, Some(FinishReason::ToolCalls));
    }

    #[test]
    fn error_events_become_provider_errors() {
        let stream = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        assert_eq!(
            answer(stream).unwrap_err(),
            ProviderError::Reported {
                kind: "overloaded_error".into(),
                message: "Overloaded".into()
            }
        );
        assert!(matches!(
            answer("data: not json\n\n").unwrap_err(),
            ProviderError::Malformed(_)
        ));
    }

    fn round_trip_request() -> ChatRequest {
        use crate::request::{Message, ToolSpec};
        ChatRequest {
            model: "claude-x".into(),
            system: Some("Be brief.".into()),
            messages: vec![
                Message::user("Weather in Zürich?"),
                Message {
                    role: Role::Assistant,
                    parts: vec![
                        Part::Text("Checking.".into()),
                        Part::ToolCall(ToolCall {
                            id: "toolu_01".into(),
                            name: "get_weather".into(),
                            arguments: "{\"city\":\"Zürich\"}".into(),
                        }),
                    ],
                },
                Message {
                    role: Role::User,
                    parts: vec![Part::ToolResult {
                        call_id: "toolu_01".into(),
                        content: "12 °C".into(),
                        is_error: false,
                    }],
                },
            ],
            tools: vec![ToolSpec {
                name: "get_weather".into(),
                description: "Current weather".into(),
                input_schema: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            }],
            max_tokens: None,
            temperature: None,
            stream: true,
            ..ChatRequest::default()
        }
    }

    #[test]
    fn tool_choice_and_stop_take_anthropic_names() {
        let mut request = round_trip_request();
        for (choice, expected) in [
            (ToolChoice::Auto, json!({"type": "auto"})),
            (ToolChoice::None, json!({"type": "none"})),
            (ToolChoice::Required, json!({"type": "any"})),
            (
                ToolChoice::Tool("get_weather".into()),
                json!({"type": "tool", "name": "get_weather"}),
            ),
        ] {
            request.tool_choice = Some(choice);
            assert_eq!(request_body(&request)["tool_choice"], expected);
        }
        request.stop = vec!["END".into(), "STOP".into()];
        assert_eq!(
            request_body(&request)["stop_sequences"],
            json!(["END", "STOP"])
        );
    }

    #[test]
    fn requests_carry_tool_calls_and_results_in_anthropic_shape() {
        let body = request_body(&round_trip_request());
        assert_eq!(body["max_tokens"], DEFAULT_MAX_TOKENS);
        assert_eq!(body["system"], "Be brief.");
        assert_eq!(body["stream"], true);
        assert_eq!(
            body["messages"][1]["content"][1],
            json!({
                "type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Zürich"}
            })
        );
        assert_eq!(
            body["messages"][2],
            json!({"role": "user", "content": [{
                "type": "tool_result", "tool_use_id": "toolu_01", "content": "12 °C", "is_error": false
            }]})
        );
        assert_eq!(
            body["tools"][0]["input_schema"]["properties"]["city"]["type"],
            "string"
        );
        assert!(body.get("temperature").is_none());
    }

    #[test]
    fn whole_responses_parse() {
        let body = json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Bern"}}
            ],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 30, "cache_read_input_tokens": 10, "output_tokens": 12}
        });
        let answer = parse_response(&body).unwrap();
        assert_eq!(answer.text, "Checking.");
        assert_eq!(answer.tool_calls[0].arguments, "{\"city\":\"Bern\"}");
        assert_eq!(
            answer.usage,
            Usage {
                input_tokens: 40,
                output_tokens: 12
            }
        );
        assert_eq!(answer.finish, Some(FinishReason::ToolCalls));
        let error =
            json!({"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}});
        assert!(matches!(
            parse_response(&error),
            Err(ProviderError::Reported { .. })
        ));
    }

    #[test]
    fn stop_reasons_map() {
        assert_eq!(finish_reason("end_turn"), FinishReason::Stop);
        assert_eq!(finish_reason("max_tokens"), FinishReason::Length);
        assert_eq!(finish_reason("refusal"), FinishReason::ContentFilter);
        assert_eq!(
            finish_reason("new_reason"),
            FinishReason::Other("new_reason".into())
        );
    }
}
