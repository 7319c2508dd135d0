//! The fleet over HTTP: registration tokens (validation naming the field, shown once, use
//! limits, revocation), agents enrolling with them, heartbeats marking them online, revocation
//! cutting them off, other tenants seeing nothing, and the audit log.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{Caller, TestServer};
use crate::server_tests;

fn field(body: &Value) -> Option<&str> {
    body["error"]["details"]["field"].as_str()
}

fn registration(token: &Value, name: &str) -> Value {
    json!({"token": token, "name": name, "host": format!("{name}.example"),
           "labels": {"env": "prod", "role": "web"},
           "identity": {"protocol_version": 1, "agent_version": "0.1.0"}})
}

/// Sends an agent request with the agent's credentials.
async fn as_agent(
    server: &TestServer,
    id: &str,
    secret: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let response = server
        .client
        .post(server.url(path))
        .header(switchboard_protocol::AGENT_ID_HEADER, id)
        .header(switchboard_protocol::AGENT_SECRET_HEADER, secret)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn beat() -> Value {
    json!({"host": "web-1.example", "identity": {"protocol_version": 1, "agent_version": "0.1.1"}})
}

server_tests! {
    async fn agents_enrol_with_tokens_report_in_and_are_cut_off_when_revoked(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let member = server.member(&owner, "me@acme.test", "member").await;
        let outsider = server.org_with_owner(&operator, "globex").await;

        // Tokens: admins only, validated, shown once.
        for (body, expected) in [
            (json!({"name": " "}), "name"),
            (json!({"name": "web", "max_uses": 0}), "max_uses"),
            (json!({"name": "web", "expires_at": "tomorrow"}), "expires_at"),
            (json!({"name": "web", "expires_at": "2000-01-01T00:00:00Z"}), "expires_at"),
        ] {
            let (status, answer) = server.send(&owner, Method::POST, "/api/v1/fleet/registration-tokens", Some(body)).await;
            assert_eq!((status, field(&answer)), (400, Some(expected)), "{answer}");
        }
        let (status, _) = server.send(&member, Method::POST, "/api/v1/fleet/registration-tokens", Some(json!({"name": "web"}))).await;
        assert_eq!(status, 403);
        let (status, made) = server.send(&owner, Method::POST, "/api/v1/fleet/registration-tokens",
            Some(json!({"name": "Web servers", "max_uses": 2}))).await;
        assert_eq!(status, 201, "{made}");
        let token = made["token"].clone();
        assert!(token.as_str().unwrap().starts_with("sbr_"));
        let (_, listed) = server.send(&owner, Method::GET, "/api/v1/fleet/registration-tokens", None).await;
        assert_eq!(listed[0]["usable"], true);
        assert!(!listed.to_string().contains(token.as_str().unwrap()), "never shown again");

        // Enrolment: the token decides the organisation; its uses run out.
        let anonymous = Caller::anonymous();
        let (status, answer) = server.send(&anonymous, Method::POST, "/api/v1/agent/register",
            Some(registration(&json!("sbr_not-a-token"), "web-0"))).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (401, Some("unauthorized")), "{answer}");
        let mut bad = registration(&token, "web-0");
        bad["labels"] = json!({"Env": "prod"});
        let (status, answer) = server.send(&anonymous, Method::POST, "/api/v1/agent/register", Some(bad)).await;
        assert_eq!((status, field(&answer)), (400, Some("labels")), "{answer}");
        let mut old = registration(&token, "web-0");
        old["identity"]["protocol_version"] = json!(99);
        let (status, answer) = server.send(&anonymous, Method::POST, "/api/v1/agent/register", Some(old)).await;
        assert_eq!((status, field(&answer)), (400, Some("identity")), "{answer}");
        let mut agents = Vec::new();
        for name in ["web-1", "web-2"] {
            let (status, enrolled) = server.send(&anonymous, Method::POST, "/api/v1/agent/register", Some(registration(&token, name))).await;
            assert_eq!(status, 201, "{enrolled}");
            assert_eq!(enrolled["organization"], "acme");
            assert!(enrolled["secret"].as_str().unwrap().starts_with("sba_"));
            agents.push((enrolled["agent_id"].as_str().unwrap().to_owned(), enrolled["secret"].as_str().unwrap().to_owned()));
        }
        let (status, _) = server.send(&anonymous, Method::POST, "/api/v1/agent/register", Some(registration(&token, "web-3"))).await;
        assert_eq!(status, 401, "two uses, both used");
        let (_, listed) = server.send(&owner, Method::GET, "/api/v1/fleet/registration-tokens", None).await;
        assert_eq!((listed[0]["uses"].as_i64(), listed[0]["usable"].as_bool()), (Some(2), Some(false)));

        // Heartbeats with the agent's own credentials; a wrong secret is refused.
        let (id, secret) = &agents[0];
        let (status, _) = as_agent(&server, id, secret, "/api/v1/agent/heartbeat", beat()).await;
        assert_eq!(status, 204);
        let (status, answer) = as_agent(&server, id, "sba_wrong", "/api/v1/agent/heartbeat", beat()).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (401, Some("unauthorized")));
        let (status, _) = server.send(&owner, Method::POST, "/api/v1/agent/heartbeat", Some(beat())).await;
        assert_eq!(status, 401, "a person's session is not an agent");
        let (_, listed) = server.send(&member, Method::GET, "/api/v1/fleet/agents", None).await;
        let web1 = listed.as_array().unwrap().iter().find(|a| a["name"] == "web-1").unwrap();
        assert_eq!((web1["status"].as_str(), web1["version"].as_str(), web1["host"].as_str()), (Some("online"), Some("0.1.1"), Some("web-1.example")));
        assert_eq!(web1["labels"], json!({"env": "prod", "role": "web"}));
        assert!(web1["last_seen"].is_string());

        // Other organisations see nothing of them.
        let (_, theirs) = server.send(&outsider, Method::GET, "/api/v1/fleet/agents", None).await;
        assert_eq!(theirs, json!([]));
        let (status, _) = server.send(&outsider, Method::GET, &format!("/api/v1/fleet/agents/{id}"), None).await;
        assert_eq!(status, 404);
        let (status, _) = server.send(&outsider, Method::DELETE, &format!("/api/v1/fleet/agents/{id}"), None).await;
        assert_eq!(status, 404);

        // Revoked: cut off at once.
        let (status, _) = server.send(&member, Method::DELETE, &format!("/api/v1/fleet/agents/{id}"), None).await;
        assert_eq!(status, 403);
        let (status, _) = server.send(&owner, Method::DELETE, &format!("/api/v1/fleet/agents/{id}"), None).await;
        assert_eq!(status, 204);
        let (status, _) = as_agent(&server, id, secret, "/api/v1/agent/heartbeat", beat()).await;
        assert_eq!(status, 401);
        let (_, one) = server.send(&owner, Method::GET, &format!("/api/v1/fleet/agents/{id}"), None).await;
        assert_eq!(one["status"], "revoked");

        // A revoked token enrols no one.
        let (_, second) = server.send(&owner, Method::POST, "/api/v1/fleet/registration-tokens", Some(json!({"name": "db"}))).await;
        let (status, _) = server.send(&owner, Method::DELETE, &format!("/api/v1/fleet/registration-tokens/{}", second["id"].as_str().unwrap()), None).await;
        assert_eq!(status, 204);
        let (status, _) = server.send(&anonymous, Method::POST, "/api/v1/agent/register", Some(registration(&second["token"], "db-1"))).await;
        assert_eq!(status, 401);

        let (_, audit) = server.send(&owner, Method::GET, "/api/v1/audit?kind=fleet.", None).await;
        let mut kinds: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds, ["fleet.agent.registered", "fleet.agent.revoked", "fleet.token.created", "fleet.token.revoked"]);
    }

    async fn a_silent_agent_goes_offline(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let (_, made) = server.send(&owner, Method::POST, "/api/v1/fleet/registration-tokens", Some(json!({"name": "web"}))).await;
        let (_, enrolled) = server.send(&Caller::anonymous(), Method::POST, "/api/v1/agent/register", Some(registration(&made["token"], "web-1"))).await;
        let (_, listed) = server.send(&owner, Method::GET, "/api/v1/fleet/agents", None).await;
        assert_eq!(listed[0]["status"], "online", "registering counts as being seen");
        // Seen 91 s ago by the hub's clock: offline (the default silence is 90 s).
        let id: switchboard_domain::FleetAgentId = enrolled["agent_id"].as_str().unwrap().parse().unwrap();
        let long_ago = server.app.clock.now() - chrono::Duration::seconds(91);
        server.app.store.fleet.heartbeat(id, "web-1", "0.1.0", long_ago).await.unwrap();
        let (_, listed) = server.send(&owner, Method::GET, "/api/v1/fleet/agents", None).await;
        assert_eq!(listed[0]["status"], "offline", "{listed}");
    }
}
