//! Outbound webhooks: added by admins (private addresses refused unless allowlisted), every
//! approval event delivered as signed, Slack-compatible JSON, retried with backoff after a
//! failure, visible in the delivery log.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::TestServer;

/// A receiver on loopback that fails its first request and records every one.
async fn receiver() -> (String, Arc<Mutex<Vec<(HeaderMap, String)>>>) {
    let seen: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let log = log.clone();
            async move {
                let mut log = log.lock().unwrap();
                log.push((headers, body));
                if log.len() == 1 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    #[allow(
        clippy::disallowed_methods,
        reason = "a test receiver that lives as long as the test"
    )]
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

async fn run(db: switchboard_store::testing::TestDb) {
    let server = TestServer::start_app(db, Default::default(), |app| {
        app.with_webhook_allow_hosts(vec!["127.0.0.1".into()])
    })
    .await;
    let operator = server.setup().await;
    let owner = server.org_with_owner(&operator, "acme").await;
    let member = server.member(&owner, "me@acme.test", "member").await;
    let (url, seen) = receiver().await;

    for (bad, field) in [
        (json!({"name": "x", "url": "http://10.0.0.1/hook"}), "url"),
        (
            json!({"name": "x", "url": "ftp://hooks.example.com/x"}),
            "url",
        ),
        (
            json!({"name": "", "url": "https://hooks.example.com/x"}),
            "name",
        ),
    ] {
        let (status, body) = server
            .send(&owner, Method::POST, "/api/v1/webhooks", Some(bad))
            .await;
        assert_eq!(
            (status, body["error"]["details"]["field"].as_str()),
            (400, Some(field)),
            "{body}"
        );
    }
    let (status, _) = server
        .send(
            &member,
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"name": "x", "url": url})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, created) = server
        .send(
            &owner,
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"name": "Ops chat", "url": url})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let id = created["id"].as_str().unwrap().to_owned();
    let (_, list) = server
        .send(&owner, Method::GET, "/api/v1/webhooks", None)
        .await;
    assert_eq!(list[0]["name"], "Ops chat");
    assert!(
        !list.to_string().contains(&secret),
        "the secret is never listed"
    );

    // An approval request: the first delivery fails, the retry (1 s later) succeeds.
    let (status, _) = server
        .send(
            &owner,
            Method::PUT,
            "/api/v1/tools/org.members/settings",
            Some(json!({"tier": "T3"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = server
        .send(
            &member,
            Method::POST,
            "/api/v1/tools/org.members/invoke",
            Some(json!({"arguments": {}})),
        )
        .await;
    assert_eq!(status, 202);
    let mut waited = 0;
    while seen.lock().unwrap().len() < 2 {
        assert!(waited < 100, "no retry after 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    let (headers, body) = seen.lock().unwrap()[1].clone();
    let event: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(event["event"], "approval.requested");
    assert!(
        event["text"]
            .as_str()
            .unwrap()
            .starts_with("Approval needed: org.members (T3)"),
        "{event}"
    );
    assert_eq!(event["data"]["tool"], "org.members");
    assert_eq!(headers["x-switchboard-event"], "approval.requested");
    let signature = headers["x-switchboard-signature"].to_str().unwrap();
    let t: i64 = signature
        .strip_prefix("t=")
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        signature,
        switchboard_app::notify::signature(secret.as_bytes(), t, &body),
        "signed with the secret"
    );
    let first = seen.lock().unwrap()[0].0["x-switchboard-delivery"].clone();
    assert_eq!(
        headers["x-switchboard-delivery"], first,
        "a retry is the same delivery"
    );

    for _ in 0..50 {
        let (_, d) = server
            .send(
                &owner,
                Method::GET,
                &format!("/api/v1/webhooks/{id}/deliveries"),
                None,
            )
            .await;
        if d[0]["status"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, deliveries) = server
        .send(
            &owner,
            Method::GET,
            &format!("/api/v1/webhooks/{id}/deliveries"),
            None,
        )
        .await;
    assert_eq!(
        (
            deliveries[0]["status"].as_str(),
            deliveries[0]["attempts"].as_i64()
        ),
        (Some("delivered"), Some(2)),
        "{deliveries}"
    );
    assert!(
        deliveries[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("500"),
        "{deliveries}"
    );

    let (status, _) = server
        .send(
            &owner,
            Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        server
            .send(&owner, Method::GET, "/api/v1/webhooks", None)
            .await
            .1,
        json!([])
    );
    let (status, _) = server
        .send(
            &owner,
            Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_events_reach_webhooks_signed_and_retried_sqlite() {
    run(switchboard_store::testing::TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_events_reach_webhooks_signed_and_retried_postgres() {
    match switchboard_store::testing::TestDb::postgres().await {
        Some(db) => run(db).await,
        None => eprintln!("skipped: TEST_DATABASE_URL is not set"),
    }
}
