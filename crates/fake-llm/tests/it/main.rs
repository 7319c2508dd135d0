//! The fake provider answers in formats the real decoders of `switchboard-llm` read back
//! exactly: whole and streamed, text and tool calls, errors with `Retry-After`, recordings.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed step fails the test"
)]

use serde_json::{json, Value};
use switchboard_fake_llm::{FakeLlm, Script};
use switchboard_llm::openai::Decoded;
use switchboard_llm::{anthropic, openai, Answer, FinishReason, SseParser, Usage};

async fn post(base: &str, path: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("authorization", "Bearer test-key")
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Reads an SSE body in the chunks the network delivers and folds it into an answer.
async fn streamed(response: reqwest::Response, anthropic_format: bool) -> Answer {
    let mut response = response;
    let mut parser = SseParser::new();
    let mut decoder = anthropic::StreamDecoder::new();
    let (mut answer, mut indices, mut events) = (Answer::default(), Vec::new(), Vec::new());
    while let Some(chunk) = response.chunk().await.unwrap() {
        parser.push(&chunk, &mut events).unwrap();
    }
    parser.finish(&mut events);
    for event in &events {
        let decoded = if anthropic_format {
            decoder.decode(event).unwrap()
        } else {
            match openai::decode(event).unwrap() {
                Decoded::Events(e) => e,
                Decoded::Done => Vec::new(),
            }
        };
        for e in decoded {
            answer.apply(e, &mut indices);
        }
    }
    answer
}

fn script() -> Script {
    Script {
        text: "Grüezi, the weather is fine ☀".into(),
        tool_calls: vec![switchboard_fake_llm::ScriptedCall {
            name: "get_weather".into(),
            arguments: json!({"city": "Zürich"}),
        }],
        chunks: 4,
        usage: Some((11, 7)),
        ..Script::default()
    }
}

fn check(answer: &Answer) {
    assert_eq!(answer.text, "Grüezi, the weather is fine ☀");
    assert_eq!(answer.tool_calls.len(), 1);
    assert_eq!(answer.tool_calls[0].name, "get_weather");
    let args: Value = serde_json::from_str(&answer.tool_calls[0].arguments).unwrap();
    assert_eq!(args, json!({"city": "Zürich"}));
    assert_eq!(
        answer.usage,
        Usage {
            input_tokens: 11,
            output_tokens: 7
        }
    );
    assert_eq!(answer.finish, Some(FinishReason::ToolCalls));
}

#[tokio::test]
async fn both_formats_round_trip_whole_and_streamed() {
    let fake = FakeLlm::new();
    let base = fake.start().await.unwrap();
    let ask =
        json!({"model": "m", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]});

    fake.script(script());
    let body: Value = post(&base, "/v1/messages", ask.clone())
        .await
        .json()
        .await
        .unwrap();
    check(&anthropic::parse_response(&body).unwrap());

    fake.script(script());
    let mut streaming = ask.clone();
    streaming["stream"] = json!(true);
    let response = post(&base, "/v1/messages", streaming.clone()).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    check(&streamed(response, true).await);

    fake.script(script());
    let body: Value = post(&base, "/v1/chat/completions", ask.clone())
        .await
        .json()
        .await
        .unwrap();
    check(&openai::parse_response(&body).unwrap());

    fake.script(script());
    streaming["stream_options"] = json!({"include_usage": true});
    let response = post(&base, "/v1/chat/completions", streaming).await;
    check(&streamed(response, false).await);

    let requests = fake.requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[0].path, "/v1/messages");
    assert_eq!(requests[3].path, "/v1/chat/completions");
    assert_eq!(requests[3].header("authorization"), Some("Bearer test-key"));
    assert_eq!(requests[3].body["messages"][0]["content"], "hi");
}

#[tokio::test]
async fn unscripted_requests_echo_and_errors_carry_retry_after() {
    let fake = FakeLlm::new();
    let base = fake.start().await.unwrap();
    let ask = json!({"model": "m", "messages": [{"role": "user", "content": "ping me"}]});
    let body: Value = post(&base, "/v1/chat/completions", ask.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(openai::parse_response(&body).unwrap().text, "echo: ping me");

    let mut limited = Script::error(429, "slow down");
    if let Some(e) = limited.error.as_mut() {
        e.retry_after = Some(3);
    }
    fake.script(limited);
    let response = post(&base, "/v1/messages", ask.clone()).await;
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "3");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error");

    // Scripts can be queued over HTTP (for the benchmark binary).
    let queued = reqwest::Client::new()
        .post(format!("{base}/_fake/scripts"))
        .json(&json!([{"text": "from http"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(queued.status().as_u16(), 204);
    let body: Value = post(&base, "/v1/chat/completions", ask)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(openai::parse_response(&body).unwrap().text, "from http");
    let recorded: Value = reqwest::get(format!("{base}/_fake/requests"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(recorded.as_array().unwrap().len(), 3);
}
