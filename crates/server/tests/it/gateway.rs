//! The OpenAI-compatible gateway against the fake provider: whole and streamed answers, tool
//! calls, model lists, embeddings, limits, budgets, the guard on prompts and answers, usage
//! records with their audit events, and the management API.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_fake_llm::{FakeLlm, Script};
use switchboard_llm::catalog::{Catalog, Model, Provider};
use switchboard_llm::client::{Endpoint, Kind, Timeouts};

use crate::harness::{Caller, TestServer};

fn catalog(base: &str) -> Catalog {
    let endpoint = |kind| Endpoint {
        kind,
        base_url: format!("{base}/v1"),
        api_key: Some("upstream-secret".into()),
        timeouts: Timeouts::default(),
        retries: 0,
    };
    let model = |name: &str, input, output| Model {
        name: name.into(),
        input_usd_per_mtok: input,
        output_usd_per_mtok: output,
        fallbacks: vec![],
    };
    Catalog {
        providers: vec![
            Provider {
                name: "local".into(),
                endpoint: endpoint(Kind::OpenAi),
                models: vec![model("gpt-test", 1.0, 2.0), model("other", 0.0, 0.0)],
            },
            Provider {
                name: "anth".into(),
                endpoint: endpoint(Kind::Anthropic),
                models: vec![model("claude-test", 3.0, 15.0)],
            },
        ],
        default_model: Some("local/gpt-test".into()),
        embedding_model: None,
    }
}

struct Gw {
    server: TestServer,
    fake: FakeLlm,
    owner: Caller,
}

impl Gw {
    async fn key(&self, body: Value) -> (String, String) {
        let (status, created) = self
            .server
            .send(
                &self.owner,
                Method::POST,
                "/api/v1/gateway/keys",
                Some(body),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        (
            created["key"].as_str().unwrap().to_owned(),
            created["id"].as_str().unwrap().to_owned(),
        )
    }

    async fn post(&self, key: &str, path: &str, body: Value) -> reqwest::Response {
        self.server
            .client
            .post(self.server.url(path))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn chat(&self, key: &str, body: Value) -> (u16, Value, reqwest::header::HeaderMap) {
        let response = self.post(key, "/v1/chat/completions", body).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            headers,
        )
    }

    /// The `data:` payloads of a streamed answer.
    async fn stream(&self, key: &str, body: Value) -> Vec<String> {
        let response = self.post(key, "/v1/chat/completions", body).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        assert!(response.headers().contains_key("x-switchboard-overhead-ms"));
        let text = response.text().await.unwrap();
        text.split("\n\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .map(str::to_owned)
            .collect()
    }

    async fn flushed(&self) {
        assert!(
            self.server
                .app
                .gateway
                .flush_usage(Duration::from_secs(10))
                .await
        );
    }
}

fn user(text: &str) -> Value {
    json!({"model": "local/gpt-test", "messages": [{"role": "user", "content": text}]})
}

fn streamed_text(events: &[String]) -> String {
    events
        .iter()
        .filter(|e| e.as_str() != "[DONE]")
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

async fn start(db: switchboard_store::testing::TestDb) -> Gw {
    let fake = FakeLlm::new();
    let base = fake.start().await.unwrap();
    let server = TestServer::start_app(db, Default::default(), |app| {
        app.with_llm(catalog(&base), Default::default())
    })
    .await;
    let operator = server.setup().await;
    let owner = server.org_with_owner(&operator, "acme").await;
    Gw {
        server,
        fake,
        owner,
    }
}

macro_rules! gateway_tests {
    ($(async fn $name:ident($gw:ident : Gw) $body:block)*) => {
        $(
            mod $name {
                use super::*;

                async fn run($gw: Gw) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run(start(switchboard_store::testing::TestDb::sqlite().await).await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    match switchboard_store::testing::TestDb::postgres().await {
                        Some(db) => run(start(db).await).await,
                        None => eprintln!("skipped: TEST_DATABASE_URL is not set"),
                    }
                }
            }
        )*
    };
}

gateway_tests! {
    async fn completions_whole_and_streamed_on_both_wire_formats(gw: Gw) {
        let (key, _) = gw.key(json!({"name": "n8n"})).await;
        gw.fake.script(Script::text("Hello from the fake."));
        let (status, body, headers) = gw.chat(&key, user("Hi")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["object"], "chat.completion");
        assert_eq!(body["model"], "local/gpt-test");
        assert_eq!(body["choices"][0]["message"]["content"], "Hello from the fake.");
        assert_eq!(body["choices"][0]["finish_reason"], "stop");
        assert!(body["usage"]["total_tokens"].as_u64().unwrap() > 0);
        let overhead: f64 = headers["x-switchboard-overhead-ms"].to_str().unwrap().parse().unwrap();
        assert!((0.0..1000.0).contains(&overhead), "{overhead}");
        // The provider got the model's own name and the installation's key, not the client's.
        let seen = gw.fake.requests().pop().unwrap();
        assert_eq!(seen.path, "/v1/chat/completions");
        assert_eq!(seen.body["model"], "gpt-test");
        assert_eq!(seen.header("authorization"), Some("Bearer upstream-secret"));

        // "default" is the installation's default model; Anthropic models speak their format.
        gw.fake.script(Script::text("Default."));
        let (status, body, _) = gw.chat(&key, json!({"model": "default", "messages": [{"role": "user", "content": "x"}]})).await;
        assert_eq!((status, body["model"].as_str()), (200, Some("local/gpt-test")));
        gw.fake.script(Script { text: "Bonjour tout le monde".into(), chunks: 4, ..Script::default() });
        let events = gw.stream(&key, json!({"model": "anth/claude-test", "stream": true,
            "stream_options": {"include_usage": true},
            "messages": [{"role": "system", "content": "Be French."}, {"role": "user", "content": "Hi"}]})).await;
        assert_eq!(gw.fake.requests().pop().unwrap().path, "/v1/messages");
        assert_eq!(streamed_text(&events), "Bonjour tout le monde");
        assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
        let usage: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
        assert_eq!(usage["choices"], json!([]));
        assert!(usage["usage"]["completion_tokens"].as_u64().unwrap() > 0);
        let finish = events.iter().filter_map(|e| serde_json::from_str::<Value>(e).ok())
            .find_map(|v| v["choices"][0]["finish_reason"].as_str().map(str::to_owned));
        assert_eq!(finish.as_deref(), Some("stop"));

        // Unknown models and bad bodies are clear errors; nothing reaches the provider.
        let before = gw.fake.requests().len();
        let (status, body, _) = gw.chat(&key, json!({"model": "nope/x", "messages": [{"role": "user", "content": "x"}]})).await;
        assert_eq!((status, body["error"]["code"].as_str()), (404, Some("model_not_found")));
        let (status, body, _) = gw.chat(&key, json!({"model": "local/gpt-test", "messages": []})).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_request")));
        let (status, body, _) = gw.chat("sbk_wrong", user("x")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")));
        assert_eq!(gw.fake.requests().len(), before);
    }

    async fn tool_calls_round_trip_and_models_follow_the_key(gw: Gw) {
        let (key, _) = gw.key(json!({"name": "tools", "models": ["local/gpt-test"]})).await;
        gw.fake.script(Script::tool_call("get_weather", json!({"city": "Oslo"})));
        let tools = json!([{"type": "function", "function": {"name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);
        let (status, body, _) = gw.chat(&key, json!({"model": "local/gpt-test", "tools": tools,
            "messages": [{"role": "user", "content": "Weather in Oslo?"}]})).await;
        assert_eq!(status, 200, "{body}");
        let call = &body["choices"][0]["message"]["tool_calls"][0];
        assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(call["function"]["name"], "get_weather");
        assert_eq!(serde_json::from_str::<Value>(call["function"]["arguments"].as_str().unwrap()).unwrap(), json!({"city": "Oslo"}));
        assert_eq!(gw.fake.requests().pop().unwrap().body["tools"][0]["function"]["name"], "get_weather");

        gw.fake.script(Script::text("It is cold."));
        let (status, body, _) = gw.chat(&key, json!({"model": "local/gpt-test", "tools": tools, "messages": [
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": null, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call["id"], "content": "-5 °C"}]})).await;
        assert_eq!((status, body["choices"][0]["message"]["content"].as_str()), (200, Some("It is cold.")));
        let sent = gw.fake.requests().pop().unwrap().body;
        let tool_message = sent["messages"].as_array().unwrap().iter().find(|m| m["role"] == "tool").unwrap().clone();
        assert_eq!(tool_message["content"], "-5 °C");
        assert_eq!(tool_message["tool_call_id"], call["id"]);

        // tool_choice, stop and a JSON response format reach the provider in its own terms.
        let (any_key, _) = gw.key(json!({"name": "any"})).await;
        gw.fake.script(Script::text("{}"));
        let (status, body, _) = gw.chat(&any_key, json!({"model": "local/gpt-test", "tools": tools,
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}}, "stop": ["END"],
            "response_format": {"type": "json_object"}, "messages": [{"role": "user", "content": "x"}]})).await;
        assert_eq!(status, 200, "{body}");
        let sent = gw.fake.requests().pop().unwrap().body;
        assert_eq!(sent["tool_choice"], json!({"type": "function", "function": {"name": "get_weather"}}));
        assert_eq!((sent["stop"].clone(), sent["response_format"].clone()), (json!(["END"]), json!({"type": "json_object"})));
        gw.fake.script(Script::text("ok"));
        let (status, body, _) = gw.chat(&any_key, json!({"model": "anth/claude-test", "tools": tools,
            "tool_choice": "required", "stop": "END", "messages": [{"role": "user", "content": "x"}]})).await;
        assert_eq!(status, 200, "{body}");
        let sent = gw.fake.requests().pop().unwrap().body;
        assert_eq!((sent["tool_choice"].clone(), sent["stop_sequences"].clone()), (json!({"type": "any"}), json!(["END"])));
        let before = gw.fake.requests().len();
        let (status, body, _) = gw.chat(&any_key, json!({"model": "anth/claude-test",
            "response_format": {"type": "json_object"}, "messages": [{"role": "user", "content": "x"}]})).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_request")), "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("response_format"), "{body}");
        assert_eq!(gw.fake.requests().len(), before, "refused before any call");

        // The key may use one model: the list says so, and the others are refused.
        let models: Value = gw.server.client.get(gw.server.url("/v1/models")).bearer_auth(&key)
            .send().await.unwrap().json().await.unwrap();
        let ids: Vec<&str> = models["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["local/gpt-test"]);
        let (all_key, _) = gw.key(json!({"name": "all"})).await;
        let models: Value = gw.server.client.get(gw.server.url("/v1/models")).bearer_auth(&all_key)
            .send().await.unwrap().json().await.unwrap();
        assert_eq!(models["data"].as_array().unwrap().len(), 3);
        let before = gw.fake.requests().len();
        let (status, body, _) = gw.chat(&key, json!({"model": "anth/claude-test", "messages": [{"role": "user", "content": "x"}]})).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("model_not_allowed")));
        assert_eq!(gw.fake.requests().len(), before);

        // Embeddings pass through too.
        let response = gw.post(&all_key, "/v1/embeddings", json!({"model": "local/gpt-test", "input": ["a", "b"]})).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["data"].as_array().unwrap().len(), 2);
        assert!(body["data"][0]["embedding"].as_array().unwrap().len() > 1);
    }

    async fn limits_and_budgets_refuse_before_the_provider(gw: Gw) {
        let (key, _) = gw.key(json!({"name": "slow", "rpm": 2})).await;
        for _ in 0..2 {
            assert_eq!(gw.chat(&key, user("x")).await.0, 200);
        }
        let before = gw.fake.requests().len();
        let (status, body, headers) = gw.chat(&key, user("x")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")));
        let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=30).contains(&retry), "{retry}");
        assert_eq!(gw.fake.requests().len(), before);

        // A budget of nothing: refused before any upstream call.
        let (broke, _) = gw.key(json!({"name": "broke", "monthly_budget_usd": 0.0})).await;
        let (status, body, _) = gw.chat(&broke, user("x")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (402, Some("budget_exceeded")));
        assert_eq!(gw.fake.requests().len(), before);

        // A small budget: the call that crosses it is served, the next one is not.
        let (small, _) = gw.key(json!({"name": "small", "monthly_budget_usd": 0.00001})).await;
        gw.fake.script(Script { text: "expensive".into(), usage: Some((10, 10)), ..Script::default() });
        assert_eq!(gw.chat(&small, user("x")).await.0, 200);
        let (status, body, _) = gw.chat(&small, user("x")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (402, Some("budget_exceeded")));
        assert_eq!(gw.fake.requests().len(), before + 1);
    }

    async fn the_guard_redacts_prompts_blocks_secrets_and_redacts_streams(gw: Gw) {
        let (key, _) = gw.key(json!({"name": "guarded"})).await;
        gw.fake.script(Script::text("Noted: I will write to [EMAIL_1]."));
        let (status, body, _) = gw.chat(&key, user("Please email ada@example.com about it")).await;
        assert_eq!(status, 200, "{body}");
        let sent = gw.fake.requests().pop().unwrap().body;
        let text = sent["messages"][0]["content"].as_str().unwrap();
        assert!(text.contains("[EMAIL_1]") && !text.contains("ada@example.com"), "{text}");
        // The client gets its own value back (restore_in_answers is on by default).
        assert_eq!(body["choices"][0]["message"]["content"], "Noted: I will write to ada@example.com.");

        // An email the model produces is redacted, even split across stream chunks.
        gw.fake.script(Script { text: "Contact grace.hopper@navy.example.org today".into(), chunks: 9, ..Script::default() });
        let events = gw.stream(&key, json!({"model": "local/gpt-test", "stream": true, "messages": [{"role": "user", "content": "who?"}]})).await;
        let text = streamed_text(&events);
        assert_eq!(text, "Contact [EMAIL_1] today");

        // Secrets set to `block`: refused, nothing reaches the provider.
        let (status, body) = gw.server.send(&gw.owner, Method::PUT, "/api/v1/llm/settings",
            Some(json!({"guard_policy": {"actions": {"api_key": "block"}, "restore_in_answers": true}}))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["guard_policy"]["actions"]["api_key"], "block");
        let before = gw.fake.requests().len();
        let (status, body, _) = gw.chat(&key, user("my key is sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD ok")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("content_blocked")), "{body}");
        assert!(!body.to_string().contains("sk-proj-"), "the error never repeats the secret");
        assert_eq!(gw.fake.requests().len(), before);
    }

    async fn every_call_is_counted_once_with_its_audit_event(gw: Gw) {
        let (key, key_id) = gw.key(json!({"name": "load"})).await;
        let n = 60;
        let mut calls = Vec::new();
        for i in 0..n {
            let body = if i % 3 == 0 {
                json!({"model": "local/gpt-test", "stream": true, "messages": [{"role": "user", "content": "x"}]})
            } else {
                user("count me")
            };
            calls.push(gw.post(&key, "/v1/chat/completions", body));
        }
        for response in futures_join(calls).await {
            assert_eq!(response.status(), 200);
            let _ = response.text().await.unwrap();
        }
        gw.flushed().await;
        let org = gw.server.app.store.orgs.get_by_slug("acme").await.unwrap().unwrap().id;
        assert_eq!(gw.server.app.store.usage.count(org).await.unwrap(), n);
        let (status, rows) = gw.server.send(&gw.owner, Method::GET, "/api/v1/usage?group_by=key", None).await;
        assert_eq!(status, 200, "{rows}");
        assert_eq!(rows[0]["group"], key_id);
        assert_eq!(rows[0]["requests"], n);
        let expected_cost = rows[0]["input_tokens"].as_f64().unwrap() * 1e-6 + rows[0]["output_tokens"].as_f64().unwrap() * 2e-6;
        assert!((rows[0]["cost_usd"].as_f64().unwrap() - expected_cost).abs() < 1e-9);
        let (_, by_model) = gw.server.send(&gw.owner, Method::GET, "/api/v1/usage?group_by=model", None).await;
        assert_eq!(by_model[0]["group"], "local/gpt-test");
        let csv = gw.server.request(&gw.owner, Method::GET, "/api/v1/usage?group_by=day&format=csv", None).await;
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = csv.text().await.unwrap();
        assert!(csv.starts_with("day,requests,errors,input_tokens,output_tokens,cost_usd\r\n"), "{csv}");
        assert!(csv.contains(&format!(",{n},0,")), "{csv}");
        // Refusals of a valid key are counted too, as errors under the model asked for.
        let (narrow, _) = gw.key(json!({"name": "narrow", "models": ["local/other"]})).await;
        assert_eq!(gw.chat(&narrow, user("x")).await.0, 403);
        let (status, _, _) = gw.chat(&narrow, json!({"model": "nope/none", "messages": [{"role": "user", "content": "x"}]})).await;
        assert_eq!(status, 404);
        gw.flushed().await;
        assert_eq!(gw.server.app.store.usage.count(org).await.unwrap(), n + 2);
        let (_, by_model) = gw.server.send(&gw.owner, Method::GET, "/api/v1/usage?group_by=model", None).await;
        let refused: Vec<_> = by_model.as_array().unwrap().iter()
            .filter(|r| r["errors"] == 1).map(|r| r["group"].as_str().unwrap()).collect();
        assert_eq!(refused.len(), 2, "{by_model}");
        assert!(refused.contains(&"nope/none"), "{by_model}");
        let (status, body) = gw.server.send(&gw.owner, Method::GET, "/api/v1/usage?group_by=weekday", None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_request")));

        let (_, events) = gw.server.send(&gw.owner, Method::GET, "/api/v1/audit?kind=ai.call&limit=1000", None).await;
        let events = events.as_array().unwrap();
        assert_eq!(events.len() as u64, n + 2, "one ai.call event per call");
        assert_eq!(events[0]["actor_kind"], "gateway_key");
        let (_, verify) = gw.server.send(&gw.owner, Method::GET, "/api/v1/audit/verify", None).await;
        assert_eq!(verify["ok"], true, "{verify}");
    }

    async fn keys_are_managed_per_organisation(gw: Gw) {
        let (key, id) = gw.key(json!({"name": "temp", "rpm": 10, "tpm": 1000, "monthly_budget_usd": 5.0})).await;
        let (status, list) = gw.server.send(&gw.owner, Method::GET, "/api/v1/gateway/keys", None).await;
        assert_eq!(status, 200);
        assert_eq!(list[0]["id"], id);
        assert_eq!(list[0]["rpm"], 10);
        assert!(!list.to_string().contains(&key), "the key itself is never listed");
        for (body, field) in [
            (json!({"name": "x", "models": ["nope/x"]}), "models"),
            (json!({"name": "x", "rpm": 0}), "rpm"),
            (json!({"name": "x", "monthly_budget_usd": -1.0}), "monthly_budget_usd"),
            (json!({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}), "expires_at"),
            (json!({"name": ""}), "name"),
        ] {
            let (status, err) = gw.server.send(&gw.owner, Method::POST, "/api/v1/gateway/keys", Some(body)).await;
            assert_eq!(status, 400, "{err}");
            assert_eq!(err["error"]["details"]["field"], field, "{err}");
        }
        assert_eq!(gw.chat(&key, user("x")).await.0, 200);
        let (status, _) = gw.server.send(&gw.owner, Method::DELETE, &format!("/api/v1/gateway/keys/{id}"), None).await;
        assert_eq!(status, 204);
        let (status, body, _) = gw.chat(&key, user("x")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")), "revoked at once");
        let (status, _) = gw.server.send(&gw.owner, Method::DELETE, &format!("/api/v1/gateway/keys/{id}"), None).await;
        assert_eq!(status, 404);

        // An organisation's own provider (private addresses refused by default), its key
        // sealed and never shown.
        let (status, err) = gw.server.send(&gw.owner, Method::PUT, "/api/v1/llm/providers/mine",
            Some(json!({"kind": "openai", "base_url": "http://127.0.0.1:1/v1", "api_key": "sk-mine", "models": [{"name": "m"}]}))).await;
        assert_eq!((status, err["error"]["details"]["field"].as_str()), (400, Some("base_url")), "{err}");
        let (status, settings) = gw.server.send(&gw.owner, Method::PUT, "/api/v1/llm/providers/mine",
            Some(json!({"kind": "openai", "base_url": "https://llm.example.com/v1", "api_key": "sk-mine-123",
                        "models": [{"name": "m", "input_usd_per_mtok": 0.5, "output_usd_per_mtok": 1.5}]}))).await;
        assert_eq!(status, 200, "{settings}");
        assert!(!settings.to_string().contains("sk-mine-123"));
        let mine = settings["providers"].as_array().unwrap().iter().find(|p| p["name"] == "mine").unwrap().clone();
        assert_eq!((mine["scope"].as_str(), mine["has_api_key"].as_bool()), (Some("organization"), Some(true)));
        let (status, settings) = gw.server.send(&gw.owner, Method::PUT, "/api/v1/llm/settings", Some(json!({"default_model": "mine/m"}))).await;
        assert_eq!((status, settings["effective_default_model"].as_str()), (200, Some("mine/m")));
        let (status, _) = gw.server.send(&gw.owner, Method::PUT, "/api/v1/llm/providers/local",
            Some(json!({"kind": "openai", "base_url": "https://x.example.com/v1", "models": [{"name": "m"}]}))).await;
        assert_eq!(status, 400, "installation names are taken");
        let (status, _) = gw.server.send(&gw.owner, Method::DELETE, "/api/v1/llm/providers/mine", None).await;
        assert_eq!(status, 204);
    }
    async fn the_console_manages_keys_and_models_and_charts_usage(gw: Gw) {
        let (status, page) = html(&gw, &gw.owner, "/gateway").await;
        assert_eq!(status, 200);
        assert!(page.contains("No gateway keys yet"), "{page}");
        assert!(page.contains(r#"name="models" value="local/gpt-test""#), "models to pick: {page}");

        // Bad numbers come back as a message and create nothing.
        let (status, location, flash) = submit(&gw, &gw.owner, "/gateway/keys", &[("name", "x"), ("rpm", "lots")]).await;
        assert_eq!((status, location.as_str()), (303, "/gateway"));
        assert!(flash.contains("lots"), "{flash}");
        let (status, location, flash) = submit(&gw, &gw.owner, "/gateway/keys", &[("name", "x"), ("models", "nope/x")]).await;
        assert_eq!((status, location.as_str()), (303, "/gateway"), "{flash}");
        let (_, list) = gw.server.send(&gw.owner, Method::GET, "/api/v1/gateway/keys", None).await;
        assert_eq!(list, json!([]));

        let (status, _, page) = submit(&gw, &gw.owner, "/gateway/keys", &[
            ("name", "Console key"), ("models", "local/gpt-test"), ("rpm", "30"), ("budget", "2.5"),
            ("expires", "2099-12-31"), ("tpm", ""), ("cache_ttl", ""),
        ]).await;
        assert_eq!(status, 200);
        let start = page.find(r#"data-testid="new-gateway-key">"#).expect("the new key is shown") + 30;
        let key = page[start..start + page[start..].find('<').unwrap()].to_owned();
        assert!(key.starts_with("sbk_"), "{key}");
        let (_, list) = gw.server.send(&gw.owner, Method::GET, "/api/v1/gateway/keys", None).await;
        assert_eq!(list[0]["models"], json!(["local/gpt-test"]));
        assert_eq!((list[0]["rpm"].as_u64(), list[0]["monthly_budget_usd"].as_f64()), (Some(30), Some(2.5)));
        assert_eq!(list[0]["expires_at"], "2100-01-01T00:00:00+00:00", "works through the chosen day");

        gw.fake.script(Script::text("Counted."));
        assert_eq!(gw.chat(&key, user("Hello")).await.0, 200);
        gw.flushed().await;
        let (status, page) = html(&gw, &gw.owner, "/gateway").await;
        assert_eq!(status, 200);
        assert!(page.contains("Console key") && page.contains("of $2.50"), "{page}");
        let (status, page) = html(&gw, &gw.owner, "/usage?metric=tokens").await;
        assert_eq!(status, 200);
        assert!(page.contains(r#"data-testid="total-requests">1<"#), "{page}");
        for chart in ["usage-by-day", "usage-by-model", "usage-by-key"] {
            assert!(page.contains(&format!(r#"data-testid="{chart}""#)), "{chart}: {page}");
            assert!(page.contains(&format!(r#"data-testid="{chart}-csv""#)), "{chart}");
        }
        assert!(page.contains("<th scope=\"row\">Console key</th>"), "keys by name: {page}");
        assert!(page.contains("<th scope=\"row\">local/gpt-test</th>"), "{page}");
        assert_eq!(page.matches(r#"<svg class="chart" viewBox"#).count(), 3);
        assert!(!page.contains("style="), "no inline styles (strict CSP)");
        let reversed = gw.server.request(&gw.owner, Method::GET, "/usage?from=2026-02-01&to=2026-01-01", None).await;
        assert_eq!((reversed.status().as_u16(), reversed.headers()["location"].to_str().unwrap()), (303, "/usage"),
            "a reversed period goes back to the default page with a message");
        let csv = gw.server.request(&gw.owner, Method::GET, "/api/v1/usage?group_by=key&format=csv", None).await;
        assert_eq!(csv.status(), 200);
        assert!(csv.text().await.unwrap().starts_with("key,requests,errors"));

        // Models: default model, guard policy and an organisation's own provider.
        let (status, page) = html(&gw, &gw.owner, "/models").await;
        assert_eq!(status, 200);
        assert!(page.contains(r#"<option value="local/other">local/other</option>"#), "{page}");
        let (status, location, flash) = submit(&gw, &gw.owner, "/models/default", &[("default_model", "nope/x")]).await;
        assert_eq!((status, location.as_str()), (303, "/models"));
        assert!(flash.starts_with("sb_flash=error"), "{flash}");
        let (status, _, _) = submit(&gw, &gw.owner, "/models/default", &[("default_model", "local/other")]).await;
        assert_eq!(status, 303);
        let mut guard: Vec<(String, String)> = switchboard_app::gateway::models::GuardKind::ALL.iter()
            .map(|k| (format!("guard_{}", k.as_str()), "redact".to_owned())).collect();
        guard[0].1 = "block".into();
        let guard_form: Vec<(&str, &str)> = guard.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (status, _, _) = submit(&gw, &gw.owner, "/models/guard", &guard_form).await;
        assert_eq!(status, 303);
        let (status, location, flash) = submit(&gw, &gw.owner, "/models/providers", &[
            ("name", "mine"), ("kind", "openai"), ("base_url", "http://10.0.0.1/v1"), ("models", "m 1 2"),
        ]).await;
        assert_eq!((status, location.as_str()), (303, "/models"));
        assert!(flash.starts_with("sb_flash=error"), "private addresses are refused: {flash}");
        let (status, _, _) = submit(&gw, &gw.owner, "/models/providers", &[
            ("name", "mine"), ("kind", "anthropic"), ("base_url", "https://llm.example.com/v1"),
            ("api_key", "sk-console-secret"), ("models", "m 0.5 1.5\nn"),
        ]).await;
        assert_eq!(status, 303);
        let (_, settings) = gw.server.send(&gw.owner, Method::GET, "/api/v1/llm/settings", None).await;
        assert_eq!(settings["default_model"], "local/other");
        assert_eq!(settings["guard_policy"]["actions"][switchboard_app::gateway::models::GuardKind::ALL[0].as_str()], "block");
        let mine = settings["providers"].as_array().unwrap().iter().find(|p| p["name"] == "mine").unwrap().clone();
        assert_eq!((mine["kind"].as_str(), mine["has_api_key"].as_bool()), (Some("anthropic"), Some(true)));
        assert_eq!(mine["models"][0]["output_usd_per_mtok"], 1.5);
        assert_eq!(mine["models"][1]["name"], "n");
        let (_, page) = html(&gw, &gw.owner, "/models").await;
        assert!(!page.contains("sk-console-secret"), "the provider key is never shown");
        let (status, _, _) = submit(&gw, &gw.owner, "/models/providers/mine/delete", &[]).await;
        assert_eq!(status, 303);

        // Revoking from the console stops the key at once.
        let id = list[0]["id"].as_str().unwrap();
        let (status, location, _) = submit(&gw, &gw.owner, &format!("/gateway/keys/{id}/revoke"), &[]).await;
        assert_eq!((status, location.as_str()), (303, "/gateway"));
        assert_eq!(gw.chat(&key, user("x")).await.0, 401);

        // Members below admin see none of it; operators see every organisation's usage.
        let member = gw.server.member(&gw.owner, "mo@acme.test", "member").await;
        for path in ["/gateway", "/models", "/usage"] {
            assert_eq!(html(&gw, &member, path).await.0, 403, "{path}");
        }
        assert_eq!(html(&gw, &gw.owner, "/operator/usage").await.0, 403);
        let (_, page) = html(&gw, &member, "/").await;
        assert!(!page.contains(r#"href="/usage""#), "no navigation to what they cannot open");
        let operator = gw.server.login("operator@ops.test", crate::harness::PASSWORD).await;
        let (status, page) = html(&gw, &operator, "/operator/usage").await;
        assert_eq!(status, 200);
        assert!(page.contains("<th scope=\"row\">acme Ltd</th>"), "organisations by name: {page}");
        assert!(page.contains(r#"data-testid="usage-by-org""#));
    }
}

/// Submits a console form as `caller` (the CSRF token added); returns status, the redirect
/// target and the body.
async fn submit(
    gw: &Gw,
    caller: &Caller,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let mut form: Vec<(&str, &str)> = vec![("csrf", caller.csrf.as_deref().unwrap())];
    form.extend_from_slice(fields);
    let response = gw
        .server
        .client
        .post(gw.server.url(path))
        .header(
            "cookie",
            format!("sb_session={}", caller.session.as_deref().unwrap()),
        )
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let flash = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sb_flash="))
        .unwrap_or("")
        .to_owned();
    let body = response.text().await.unwrap();
    (status, location, if body.is_empty() { flash } else { body })
}

async fn html(gw: &Gw, caller: &Caller, path: &str) -> (u16, String) {
    let response = gw.server.request(caller, Method::GET, path, None).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Runs requests concurrently.
async fn futures_join<F: std::future::Future<Output = reqwest::Response>>(
    calls: Vec<F>,
) -> Vec<reqwest::Response> {
    futures_util::future::join_all(calls).await
}
