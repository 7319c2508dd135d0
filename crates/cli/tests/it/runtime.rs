//! A run that waits for an approval survives the hub being killed: SIGKILL the only hub,
//! start two new ones on the same database, approve — exactly one of them resumes the run,
//! which completes with its answer stored once (the model is asked exactly twice).

use std::time::Duration;

use serde_json::{json, Value};
use switchboard_fake_llm::{FakeLlm, Script};

use crate::hub::{self, Backend, Hub};

const SETUP_CODE: &str = "CRASH-TEST-CODE";

fn config(fake: &str) -> String {
    format!(
        "[llm]\ndefault_model = \"local/gpt-test\"\n\n[[llm.providers]]\nname = \"local\"\n\
         kind = \"openai\"\nbase_url = \"{fake}/v1\"\n[[llm.providers.models]]\nname = \"gpt-test\"\n"
    )
}

fn events(text: &str) -> Vec<(i64, String, Value)> {
    text.split("\n\n")
        .filter_map(|block| {
            let mut id = 0;
            let mut name = None;
            let mut data = Value::Null;
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id: ") {
                    id = v.parse().unwrap();
                } else if let Some(v) = line.strip_prefix("event: ") {
                    name = Some(v.to_owned());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(v).unwrap();
                }
            }
            name.map(|n| (id, n, data))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_run_completes_once_after_the_hub_is_killed() {
    for backend in Backend::each().await {
        let fake = FakeLlm::new();
        let fake_base = fake.start().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("switchboard.toml");
        std::fs::write(&config_path, config(&fake_base)).unwrap();
        let config_path = config_path.to_str().unwrap().to_owned();
        let mut env = backend.env();
        env.push(("SWITCHBOARD_CONFIG", config_path.as_str()));
        env.push(("SWITCHBOARD_SETUP_CODE", SETUP_CODE));
        let first = Hub::start(dir.path(), &env);
        let me = hub::set_up(&first, SETUP_CODE, backend.name()).await;
        use reqwest::Method;
        let raised = me
            .send(
                &first.base,
                Method::PUT,
                "/api/v1/tools/org.members/settings",
                Some(json!({"tier": "T3"})),
            )
            .await;
        assert_eq!(raised.status(), 200);
        let conversation: Value = me
            .send(
                &first.base,
                Method::POST,
                "/api/v1/conversations",
                Some(json!({"agent": "workspace"})),
            )
            .await
            .json()
            .await
            .unwrap();
        let conversation = conversation["id"].as_str().unwrap().to_owned();
        fake.script(Script::tool_call("org__members", json!({})));
        fake.script(Script::text("Acme has one member: Ada."));
        let response = me
            .send(
                &first.base,
                Method::POST,
                &format!("/api/v1/conversations/{conversation}/messages"),
                Some(json!({"content": "Who is in Acme?"})),
            )
            .await;
        let run = response.headers()["x-switchboard-run-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let waiting = events(&response.text().await.unwrap());
        let names: Vec<&str> = waiting.iter().map(|(_, n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["tool_call", "approval_required", "done"],
            "{}: {waiting:?}",
            backend.name()
        );
        let approval = waiting[1].2["approval_id"].as_str().unwrap().to_owned();
        let last = waiting[2].0;

        // The hub dies with the run waiting; nothing of it lives in memory any more.
        first.kill();

        // Two new hubs on the same database; the approval is given through one of them.
        let second = Hub::start(dir.path(), &env);
        let third = Hub::start(dir.path(), &env);
        let approved = me
            .send(
                &second.base,
                Method::POST,
                &format!("/api/v1/approvals/{approval}/approve"),
                Some(json!({})),
            )
            .await;
        assert_eq!(approved.status(), 200, "{}", backend.name());
        let path = format!("/api/v1/runs/{run}/events?after={last}");
        let follow = me.send(&third.base, Method::GET, &path, None);
        let rest = tokio::time::timeout(Duration::from_secs(30), async {
            follow.await.text().await.unwrap()
        })
        .await
        .expect("the run resumes");
        let rest = events(&rest);
        let names: Vec<&str> = rest.iter().map(|(_, n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["approval_resolved", "tool_result", "text", "done"],
            "{}",
            backend.name()
        );
        assert_eq!(rest[3].2["status"], "completed");

        // Stored once, asked twice; nothing left for either hub to resume.
        tokio::time::sleep(Duration::from_millis(800)).await;
        let history: Value = me
            .send(
                &second.base,
                Method::GET,
                &format!("/api/v1/conversations/{conversation}"),
                None,
            )
            .await
            .json()
            .await
            .unwrap();
        let answers = history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["text"] == "Acme has one member: Ada.")
            .count();
        assert_eq!(answers, 1, "{}: {history}", backend.name());
        assert_eq!(fake.requests().len(), 2, "{}", backend.name());
        let all = me
            .send(
                &third.base,
                Method::GET,
                &format!("/api/v1/runs/{run}/events"),
                None,
            )
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(
            events(&all).iter().filter(|(_, n, _)| n == "done").count(),
            2,
            "{}",
            backend.name()
        );
        let (status, _) = second.terminate();
        assert_eq!(status, Some(0));
        let (status, _) = third.terminate();
        assert_eq!(status, Some(0));
        // Every model call, tool call and approval step left an intact chain behind.
        let verify = crate::hub::run(dir.path(), &["audit", "verify"], &env);
        assert!(
            verify.status.success(),
            "{}: {}",
            backend.name(),
            crate::hub::stderr(&verify)
        );
    }
}
