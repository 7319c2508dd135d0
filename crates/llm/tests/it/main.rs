//! The HTTP client against the fake provider on loopback: both wire formats whole and
//! streamed, authentication headers, retries on 429/5xx with `Retry-After`, no retries on
//! 4xx, and the first-byte and idle timeouts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed step fails the test"
)]

use std::time::{Duration, Instant};

use switchboard_fake_llm::{FakeLlm, Script, ScriptedError};
use switchboard_llm::client::{CallError, Client, Endpoint, Kind, Timeouts};
use switchboard_llm::{ChatRequest, FinishReason, Message, StreamEvent};

fn request() -> ChatRequest {
    ChatRequest {
        model: "fake-model".into(),
        system: Some("Be brief.".into()),
        messages: vec![Message::user("Hello there")],
        tools: Vec::new(),
        max_tokens: Some(64),
        temperature: None,
        stream: false,
        ..ChatRequest::default()
    }
}

async fn fake(kind: Kind, retries: u32, timeouts: Timeouts) -> (FakeLlm, Endpoint) {
    let fake = FakeLlm::new();
    let base = fake.start().await.unwrap();
    let endpoint = Endpoint {
        kind,
        base_url: format!("{base}/v1"),
        api_key: Some("sk-test".into()),
        timeouts,
        retries,
    };
    (fake, endpoint)
}

fn client() -> Client {
    Client::new(Duration::from_secs(2))
}

#[tokio::test]
async fn both_formats_whole_and_streamed_with_their_auth_headers() {
    for kind in [Kind::Anthropic, Kind::OpenAi] {
        let (fake, endpoint) = fake(kind, 0, Timeouts::default()).await;
        let answer = client().complete(&endpoint, &request()).await.unwrap();
        assert_eq!(answer.text, "echo: Hello there");
        assert_eq!(answer.finish, Some(FinishReason::Stop));
        assert!(answer.usage.input_tokens > 0 && answer.usage.output_tokens == 3);

        fake.script(Script {
            text: "one two three four".into(),
            chunks: 4,
            ..Script::default()
        });
        let mut stream = client().stream(&endpoint, &request()).await.unwrap();
        let mut texts = Vec::new();
        while let Some(event) = stream.next().await {
            if let StreamEvent::Text(t) = event.unwrap() {
                texts.push(t);
            }
        }
        assert!(
            texts.len() >= 4,
            "{kind:?}: the text arrives in pieces: {texts:?}"
        );
        assert_eq!(texts.concat(), "one two three four");

        let requests = fake.requests();
        assert_eq!(requests.len(), 2);
        match kind {
            Kind::Anthropic => {
                assert_eq!(requests[0].path, "/v1/messages");
                assert_eq!(requests[0].header("x-api-key"), Some("sk-test"));
                assert_eq!(requests[0].header("anthropic-version"), Some("2023-06-01"));
                assert_eq!(requests[0].body["system"], "Be brief.");
            }
            Kind::OpenAi => {
                assert_eq!(requests[0].path, "/v1/chat/completions");
                assert_eq!(requests[0].header("authorization"), Some("Bearer sk-test"));
                assert_eq!(requests[1].body["stream_options"]["include_usage"], true);
            }
        }
        assert_eq!(requests[1].body["stream"], true);
    }
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_honouring_retry_after() {
    let (fake, endpoint) = fake(Kind::OpenAi, 2, Timeouts::default()).await;
    fake.script(Script {
        error: Some(ScriptedError {
            status: 429,
            retry_after: Some(1),
            message: "slow down".into(),
        }),
        ..Script::default()
    });
    fake.script(Script::error(503, "busy"));
    let started = Instant::now();
    let answer = client().complete(&endpoint, &request()).await.unwrap();
    assert_eq!(answer.text, "echo: Hello there");
    assert_eq!(fake.requests().len(), 3);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );

    // Out of retries: the last error is returned.
    let (fake, endpoint) = fake_with_errors(1, &[500, 500, 500]).await;
    let err = client().complete(&endpoint, &request()).await.unwrap_err();
    assert!(
        matches!(err, CallError::Status { status: 500, .. }),
        "{err}"
    );
    assert_eq!(fake.requests().len(), 2);

    // Client errors are not retried.
    let (fake, endpoint) = fake_with_errors(3, &[400]).await;
    let err = client().complete(&endpoint, &request()).await.unwrap_err();
    assert!(
        matches!(err, CallError::Status { status: 400, .. }),
        "{err}"
    );
    assert!(!err.retryable());
    assert_eq!(fake.requests().len(), 1);
}

async fn fake_with_errors(retries: u32, statuses: &[u16]) -> (FakeLlm, Endpoint) {
    let (fake, endpoint) = fake(Kind::Anthropic, retries, Timeouts::default()).await;
    for status in statuses {
        fake.script(Script::error(*status, "scripted"));
    }
    (fake, endpoint)
}

#[tokio::test]
async fn first_byte_and_idle_timeouts_end_calls() {
    let quick = Timeouts {
        connect: Duration::from_secs(2),
        first_byte: Duration::from_millis(150),
        idle: Duration::from_millis(150),
    };
    let (fake, endpoint) = fake(Kind::Anthropic, 0, quick).await;
    fake.script(Script {
        text: "late".into(),
        delay_ms: 600,
        ..Script::default()
    });
    let err = client().complete(&endpoint, &request()).await.unwrap_err();
    assert!(matches!(err, CallError::Timeout("response")), "{err}");

    fake.script(Script {
        text: "a b c".into(),
        chunks: 3,
        chunk_delay_ms: 600,
        ..Script::default()
    });
    let mut stream = client().stream(&endpoint, &request()).await.unwrap();
    let mut last = None;
    while let Some(event) = stream.next().await {
        last = Some(event);
    }
    assert!(
        matches!(last, Some(Err(CallError::Timeout("stream chunk")))),
        "{last:?}"
    );
}

#[tokio::test]
async fn unreachable_providers_fail_with_a_connection_error() {
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let endpoint = Endpoint {
        kind: Kind::OpenAi,
        base_url: format!("http://127.0.0.1:{closed}/v1"),
        api_key: None,
        timeouts: Timeouts::default(),
        retries: 1,
    };
    let err = client().complete(&endpoint, &request()).await.unwrap_err();
    assert!(matches!(err, CallError::Connect(_)), "{err}");
    assert!(err.retryable());
}

#[tokio::test]
async fn a_failing_model_falls_back_to_the_next_route_but_not_on_client_errors() {
    use switchboard_llm::catalog::{Catalog, Model, Provider};
    let (down, down_endpoint) = fake(Kind::OpenAi, 1, Timeouts::default()).await;
    let (up, up_endpoint) = fake(Kind::Anthropic, 0, Timeouts::default()).await;
    let model = |name: &str, fallbacks: &[&str]| Model {
        name: name.into(),
        input_usd_per_mtok: 1.0,
        output_usd_per_mtok: 2.0,
        fallbacks: fallbacks.iter().map(|f| (*f).to_owned()).collect(),
    };
    let catalog = Catalog {
        providers: vec![
            Provider {
                name: "local".into(),
                endpoint: down_endpoint,
                models: vec![model("gpt-test", &["cloud/claude-test"])],
            },
            Provider {
                name: "cloud".into(),
                endpoint: up_endpoint,
                models: vec![model("claude-test", &[])],
            },
        ],
        default_model: Some("local/gpt-test".into()),
        embedding_model: None,
    };
    catalog.validate().unwrap();
    let routes = catalog.routes("default").unwrap();

    down.script(Script::error(502, "bad gateway"));
    down.script(Script::error(503, "unavailable"));
    let routed = client().complete_routed(&routes, &request()).await.unwrap();
    assert_eq!(routed.route, "cloud/claude-test");
    assert_eq!(routed.value.text, "echo: Hello there");
    assert_eq!(routed.failed.len(), 1, "{:?}", routed.failed);
    assert_eq!(down.requests().len(), 2, "the first route used its retry");
    assert_eq!(
        up.requests()[0].body["model"],
        "claude-test",
        "each route sends its own model name"
    );

    down.script(Script::error(400, "bad request"));
    let err = client()
        .stream_routed(&routes, &request())
        .await
        .unwrap_err();
    assert!(
        matches!(err, CallError::Status { status: 400, .. }),
        "{err}"
    );
    assert_eq!(up.requests().len(), 1, "client errors do not fall back");
}
