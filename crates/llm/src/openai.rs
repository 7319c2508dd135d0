//! The OpenAI-compatible Chat Completions stream (`POST /v1/chat/completions` with
//! `"stream": true`, as spoken by OpenAI, OpenRouter, vLLM, Ollama, llama.cpp and LM Studio):
//! `data:` chunks with `choices[].delta` (`content`, `tool_calls[]` with an `index`, the `id` and
//! `function.name` in the first fragment and `function.arguments` in pieces), `finish_reason`,
//! an optional final chunk with `usage` (`stream_options.include_usage`), `data: [DONE]`, and
//! `{"error": {...}}` bodies some servers send mid-stream.

use serde_json::{json, Map, Value};

use crate::request::{ChatRequest, Part, ResponseFormat, Role, ToolChoice};
use crate::sse::Event;
use crate::types::{Answer, FinishReason, ProviderError, StreamEvent, ToolCall, Usage};

/// The JSON body of `POST /v1/chat/completions` for `request`. Tool results become `tool`
/// messages (one per result); a streaming request asks for the final usage chunk.
pub fn request_body(request: &ChatRequest) -> Value {
    let mut messages = Vec::new();
    if let Some(system) = &request.system {
        messages.push(json!({"role": "system", "content": system}));
    }
    for m in &request.messages {
        let text: String = m
            .parts
            .iter()
            .filter_map(|p| match p {
                Part::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n");
        match m.role {
            Role::User => {
                for part in &m.parts {
                    if let Part::ToolResult {
                        call_id, content, ..
                    } = part
                    {
                        messages.push(
                            json!({"role": "tool", "tool_call_id": call_id, "content": content}),
                        );
                    }
                }
                if !text.is_empty() {
                    messages.push(json!({"role": "user", "content": text}));
                }
            }
            Role::Assistant => {
                let calls: Vec<Value> = m
                    .parts
                    .iter()
                    .filter_map(|p| match p {
                        Part::ToolCall(call) => Some(json!({
                            "id": call.id, "type": "function",
                            "function": {"name": call.name, "arguments": call.arguments},
                        })),
                        _ => None,
                    })
                    .collect();
                let mut message = json!({"role": "assistant", "content": text});
                if !calls.is_empty() {
                    message["tool_calls"] = Value::Array(calls);
                }
                messages.push(message);
            }
        }
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(request.model));
    body.insert("messages".into(), Value::Array(messages));
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": t.input_schema,
                }})
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = &request.tool_choice {
        let choice = match choice {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Tool(name) => json!({"type": "function", "function": {"name": name}}),
        };
        body.insert("tool_choice".into(), choice);
    }
    if !request.stop.is_empty() {
        body.insert("stop".into(), json!(request.stop));
    }
    match &request.response_format {
        Some(ResponseFormat::JsonObject) => {
            body.insert("response_format".into(), json!({"type": "json_object"}));
        }
        Some(ResponseFormat::JsonSchema(schema)) => {
            body.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": schema}),
            );
        }
        None => {}
    }
    if let Some(n) = request.max_tokens {
        body.insert("max_tokens".into(), json!(n));
    }
    if let Some(t) = request.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if request.stream {
        body.insert("stream".into(), json!(true));
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Value::Object(body)
}

/// A whole (non-streaming) chat completion.
pub fn parse_response(body: &Value) -> Result<Answer, ProviderError> {
    if let Some(error) = body.get("error").filter(|e| !e.is_null()) {
        return Err(reported(error));
    }
    let choice = body["choices"]
        .as_array()
        .and_then(|c| c.first())
        .ok_or_else(|| ProviderError::Malformed("completion without choices".into()))?;
    let message = &choice["message"];
    let mut answer = Answer {
        text: message["content"].as_str().unwrap_or_default().to_owned(),
        ..Answer::default()
    };
    for call in message["tool_calls"].as_array().into_iter().flatten() {
        answer.tool_calls.push(ToolCall {
            id: call["id"].as_str().unwrap_or_default().to_owned(),
            name: call["function"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            arguments: call["function"]["arguments"]
                .as_str()
                .unwrap_or("{}")
                .to_owned(),
        });
    }
    answer.usage = Usage {
        input_tokens: body["usage"]["prompt_tokens"].as_u64().unwrap_or(0),
        output_tokens: body["usage"]["completion_tokens"].as_u64().unwrap_or(0),
    };
    answer.finish = choice["finish_reason"].as_str().map(finish_reason);
    Ok(answer)
}

fn reported(error: &Value) -> ProviderError {
    ProviderError::Reported {
        kind: error["type"]
            .as_str()
            .or(error["code"].as_str())
            .unwrap_or("error")
            .to_owned(),
        message: error["message"].as_str().unwrap_or_default().to_owned(),
    }
}

/// What one SSE event of the stream means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    Events(Vec<StreamEvent>),
    /// `data: [DONE]`: the stream is over.
    Done,
}

/// Decodes one SSE event. Only the first choice is read (the gateway asks for one).
pub fn decode(event: &Event) -> Result<Decoded, ProviderError> {
    let data = event.data.trim();
    if data == "[DONE]" {
        return Ok(Decoded::Done);
    }
    let body: Value = serde_json::from_str(data)
        .map_err(|_| ProviderError::Malformed("chunk (not JSON)".into()))?;
    if let Some(error) = body.get("error").filter(|e| !e.is_null()) {
        return Err(reported(error));
    }
    let mut out = Vec::new();
    if let Some(choice) = body["choices"].as_array().and_then(|c| c.first()) {
        let delta = &choice["delta"];
        if let Some(text) = delta["content"].as_str().filter(|t| !t.is_empty()) {
            out.push(StreamEvent::Text(text.to_owned()));
        }
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            let index = call["index"]
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .ok_or_else(|| ProviderError::Malformed("tool call without index".into()))?;
            if let Some(id) = call["id"].as_str() {
                out.push(StreamEvent::ToolCallStart {
                    index,
                    id: id.to_owned(),
                    name: call["function"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                });
            }
            if let Some(args) = call["function"]["arguments"]
                .as_str()
                .filter(|a| !a.is_empty())
            {
                out.push(StreamEvent::ToolArguments {
                    index,
                    json: args.to_owned(),
                });
            }
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            out.push(StreamEvent::Finish(finish_reason(reason)));
        }
    }
    if let Some(usage) = body.get("usage").filter(|u| u.is_object()) {
        out.push(StreamEvent::Usage(Usage {
            input_tokens: usage["prompt_tokens"].as_u64().unwrap_or(0),
            output_tokens: usage["completion_tokens"].as_u64().unwrap_or(0),
        }));
    }
    Ok(Decoded::Events(out))
}

/// OpenAI's finish reasons in neutral terms.
pub fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::sse::tests::assert_split_invariant;
    use crate::types::{Answer, ToolCall};

    /// Text, two parallel tool calls with arguments in fragments, the finish reason, a usage
    /// chunk with empty choices, a keep-alive comment, CRLF line endings, then `[DONE]`.
    const FIXTURE: &str = concat!(
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}\r\n\r\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Checking Zür\"},\"finish_reason\":null}]}\r\n\r\n",
        ": keep-alive\r\n\r\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ich and Bern \u{1f326}\"},\"finish_reason\":null}]}\r\n\r\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\r\n\r\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]},\"finish_reason\":null}]}\r\n\r\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Bern\\\"}\"}}]},\"finish_reason\":null}]}\r\n\r\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Zürich\\\"}\"}}]},\"finish_reason\":null}]}\r\n\r\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\r\n\r\n",
        "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":81,\"completion_tokens\":42,\"total_tokens\":123}}\r\n\r\n",
        "data: [DONE]\r\n\r\n",
    );

    fn answer(stream: &str) -> Result<(Answer, bool), ProviderError> {
        let mut answer = Answer::default();
        let mut indices = Vec::new();
        let mut done = false;
        for event in assert_split_invariant(stream.as_bytes()) {
            match decode(&event)? {
                Decoded::Events(events) => {
                    for e in events {
                        answer.apply(e, &mut indices);
                    }
                }
                Decoded::Done => done = true,
            }
        }
        Ok((answer, done))
    }

    #[test]
    fn the_fixture_decodes_to_text_parallel_tool_calls_usage_and_done() {
        let (answer, done) = answer(FIXTURE).unwrap();
        assert!(done);
        assert_eq!(answer.text, "Checking Zürich and Bern \u{1f326}");
        assert_eq!(
            answer.tool_calls,
            [
                ToolCall {
                    id: "call_a".into(),
                    name: "get_weather".into(),
                    arguments: "{\"city\":\"Zürich\"}".into()
                },
                ToolCall {
                    id: "call_b".into(),
                    name: "get_weather".into(),
                    arguments: "{\"city\":\"Bern\"}".into()
                },
            ]
        );
        assert_eq!(
            answer.usage,
            Usage {
                input_tokens: 81,
                output_tokens: 42
            }
        );
        assert_eq!(answer.finish, Some(FinishReason::ToolCalls));
    }

    #[test]
    fn error_chunks_and_garbage_are_errors() {
        let stream = "data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"rate_limit_error\"}}\n\n";
        assert_eq!(
            answer(stream).unwrap_err(),
            ProviderError::Reported {
                kind: "rate_limit_error".into(),
                message: "Rate limit reached".into()
            }
        );
        assert!(matches!(
            answer("data: {oops\n\n").unwrap_err(),
            ProviderError::Malformed(_)
        ));
    }

    #[test]
    fn requests_carry_system_tool_calls_and_tool_messages_in_openai_shape() {
        use crate::request::{Message, ToolSpec};
        let request = ChatRequest {
            model: "gpt-test".into(),
            system: Some("Be brief.".into()),
            messages: vec![
                Message::user("Weather?"),
                Message {
                    role: Role::Assistant,
                    parts: vec![Part::ToolCall(ToolCall {
                        id: "call_a".into(),
                        name: "get_weather".into(),
                        arguments: "{\"city\":\"Bern\"}".into(),
                    })],
                },
                Message {
                    role: Role::User,
                    parts: vec![Part::ToolResult {
                        call_id: "call_a".into(),
                        content: "9 °C".into(),
                        is_error: false,
                    }],
                },
            ],
            tools: vec![ToolSpec {
                name: "get_weather".into(),
                description: "Current weather".into(),
                input_schema: json!({"type": "object"}),
            }],
            max_tokens: Some(100),
            temperature: Some(0.2),
            stream: true,
            ..ChatRequest::default()
        };
        let body = request_body(&request);
        assert!(body.get("tool_choice").is_none() && body.get("stop").is_none());
        assert_eq!(
            body["messages"][0],
            json!({"role": "system", "content": "Be brief."})
        );
        let mut forced = request.clone();
        forced.tool_choice = Some(crate::ToolChoice::Tool("get_weather".into()));
        forced.stop = vec!["END".into()];
        forced.response_format = Some(crate::ResponseFormat::JsonObject);
        let body = request_body(&forced);
        assert_eq!(
            body["tool_choice"],
            json!({"type": "function", "function": {"name": "get_weather"}})
        );
        assert_eq!(body["stop"], json!(["END"]));
        assert_eq!(body["response_format"], json!({"type": "json_object"}));
        assert_eq!(
            body["messages"][2]["tool_calls"][0]["function"]["arguments"],
            "{\"city\":\"Bern\"}"
        );
        assert_eq!(
            body["messages"][3],
            json!({"role": "tool", "tool_call_id": "call_a", "content": "9 °C"})
        );
        assert_eq!(
            body["tools"][0]["function"]["parameters"],
            json!({"type": "object"})
        );
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(
            (body["max_tokens"].as_u64(), body["temperature"].as_f64()),
            (Some(100), Some(0.2))
        );
    }

    #[test]
    fn whole_completions_parse() {
        let body = json!({
            "id": "c1", "object": "chat.completion",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null,
                "tool_calls": [{"id": "call_a", "type": "function",
                                "function": {"name": "get_weather", "arguments": "{\"city\":\"Bern\"}"}}]
            }}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 7, "total_tokens": 27}
        });
        let answer = parse_response(&body).unwrap();
        assert_eq!(answer.text, "");
        assert_eq!(answer.tool_calls[0].name, "get_weather");
        assert_eq!(
            answer.usage,
            Usage {
                input_tokens: 20,
                output_tokens: 7
            }
        );
        assert_eq!(answer.finish, Some(FinishReason::ToolCalls));
        assert!(matches!(
            parse_response(&json!({"choices": []})),
            Err(ProviderError::Malformed(_))
        ));
    }

    #[test]
    fn finish_reasons_map() {
        assert_eq!(finish_reason("stop"), FinishReason::Stop);
        assert_eq!(finish_reason("length"), FinishReason::Length);
        assert_eq!(finish_reason("content_filter"), FinishReason::ContentFilter);
    }
}
