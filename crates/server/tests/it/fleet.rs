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

    async fn an_organisation_may_raise_fleet_tasks_to_t4_with_four_eyes(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let admin = server.member(&owner, "second@acme.test", "admin").await;
        let (status, body) = server.send(&owner, Method::PUT, "/api/v1/tools/fleet.run/settings", Some(json!({"tier": "T4"}))).await;
        assert_eq!(status, 200, "{body}");
        // Even an echo task now waits, and not for the one who asked.
        let (status, asked) = server.send(&owner, Method::POST, "/api/v1/fleet/tasks",
            Some(json!({"type": "echo", "payload": {"message": "hi"}, "target": {"labels": {}}}))).await;
        assert_eq!(status, 202, "{asked}");
        let approval = asked["approval_id"].as_str().unwrap();
        let (_, pending) = server.send(&owner, Method::GET, &format!("/api/v1/approvals/{approval}"), None).await;
        assert_eq!(pending["tier"], "T4", "{pending}");
        let (status, answer) = server.send(&owner, Method::POST, &format!("/api/v1/approvals/{approval}/approve"), Some(json!({}))).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (403, Some("four_eyes_required")), "{answer}");
        let (status, answer) = server.send(&admin, Method::POST, &format!("/api/v1/approvals/{approval}/approve"), Some(json!({}))).await;
        assert_eq!(status, 200, "{answer}");
        let mut tasks = Value::Null;
        for _ in 0..100 {
            (_, tasks) = server.send(&owner, Method::GET, "/api/v1/fleet/tasks", None).await;
            if tasks.as_array().is_some_and(|t| !t.is_empty()) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(tasks[0]["status"], "queued", "queued once a second admin approved it: {tasks}");
    }

    async fn a_task_asked_for_with_an_api_key_shows_the_keys_name_to_approvers(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let (status, made) = server.send(&owner, Method::POST, "/api/v1/api-keys", Some(json!({"name": "nightly ops", "role": "admin"}))).await;
        assert_eq!(status, 201, "{made}");
        let key = Caller::key(made["key"].as_str().unwrap());
        let (status, asked) = server.send(&key, Method::POST, "/api/v1/fleet/tasks",
            Some(json!({"type": "shell", "payload": {"command": "/bin/echo", "args": ["hi"]}, "target": {"labels": {}}}))).await;
        assert_eq!(status, 202, "{asked}");
        let page = server.request(&owner, Method::GET, "/approvals", None).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("Asked by API key “nightly ops”"), "{html}");
        assert!(!html.contains(made["id"].as_str().unwrap()), "the key's id is not shown: {html}");
    }

    async fn a_suspended_organisations_agents_wait_until_it_resumes(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let (_, made) = server.send(&owner, Method::POST, "/api/v1/fleet/registration-tokens", Some(json!({"name": "web"}))).await;
        let (_, enrolled) = server.send(&Caller::anonymous(), Method::POST, "/api/v1/agent/register", Some(registration(&made["token"], "web-1"))).await;
        let (id, secret) = (enrolled["agent_id"].as_str().unwrap(), enrolled["secret"].as_str().unwrap());
        let (status, _) = server.send(&operator, Method::POST, "/api/v1/organizations/acme/suspend", None).await;
        assert_eq!(status, 200);
        // Not 401 (which stops an agent for good): 403, and the agent tries again later.
        let (status, answer) = as_agent(&server, id, secret, "/api/v1/agent/claim", json!({"wait_secs": 0, "executors": ["echo"]})).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (403, Some("organization_suspended")), "{answer}");
        let (status, _) = server.send(&operator, Method::POST, "/api/v1/organizations/acme/resume", None).await;
        assert_eq!(status, 200);
        let (status, _) = as_agent(&server, id, secret, "/api/v1/agent/heartbeat", beat()).await;
        assert_eq!(status, 204);
    }

    async fn a_waiting_claim_gets_a_new_task_at_once_and_a_revoked_agents_claim_ends(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let (_, made) = server.send(&owner, Method::POST, "/api/v1/fleet/registration-tokens", Some(json!({"name": "web"}))).await;
        let (_, enrolled) = server.send(&Caller::anonymous(), Method::POST, "/api/v1/agent/register", Some(registration(&made["token"], "web-1"))).await;
        let (id, secret) = (enrolled["agent_id"].as_str().unwrap(), enrolled["secret"].as_str().unwrap());
        let long_claim = json!({"wait_secs": 10, "executors": ["echo"]});

        // The agent waits; a task for it is stored leased to it and handed over.
        let started = std::time::Instant::now();
        let ((status, got), (created, task)) = tokio::join!(
            as_agent(&server, id, secret, "/api/v1/agent/claim", long_claim.clone()),
            async {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                server.send(&owner, Method::POST, "/api/v1/fleet/tasks",
                    Some(json!({"type": "echo", "payload": {"message": "now"}, "target": {"labels": {"role": "web"}}}))).await
            }
        );
        assert_eq!((created, task["status"].as_str(), task["agent_id"].as_str()), (201, Some("leased"), Some(id)), "{task}");
        assert_eq!((status, got["task"]["id"].as_str(), got["task"]["attempt"].as_u64()), (200, task["id"].as_str(), Some(1)), "{got}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "handed over, not found by a later look");
        let task_id = task["id"].as_str().unwrap();
        let (_, seen) = server.send(&owner, Method::GET, &format!("/api/v1/fleet/tasks/{task_id}"), None).await;
        let history: Vec<(Option<&str>, Option<&str>)> = seen["events"].as_array().unwrap().iter()
            .map(|e| (e["from"].as_str(), e["to"].as_str())).collect();
        assert_eq!(history, [(None, Some("queued")), (Some("queued"), Some("leased"))], "{seen}");
        let (status, done) = as_agent(&server, id, secret, &format!("/api/v1/agent/tasks/{task_id}/result"), json!({"success": true, "output": "ok"})).await;
        assert_eq!((status, done["status"].as_str()), (200, Some("succeeded")), "{done}");
        assert!(done.get("next").is_none(), "no claim asked for, none answered: {done}");
        // The task keeps the agent that ran it, and is among that agent's tasks.
        let (_, ran) = server.send(&owner, Method::GET, &format!("/api/v1/fleet/tasks?agent_id={id}"), None).await;
        let ran: Vec<(Option<&str>, Option<&str>, Option<&str>)> = ran.as_array().unwrap().iter()
            .map(|t| (t["id"].as_str(), t["status"].as_str(), t["agent_id"].as_str())).collect();
        assert_eq!(ran, [(Some(task_id), Some("succeeded"), Some(id))]);
        let (_, audit) = server.send(&owner, Method::GET, "/api/v1/audit?kind=fleet.task.", None).await;
        let kinds: Vec<&str> = audit.as_array().unwrap().iter().filter(|e| e["target"] == task_id).filter_map(|e| e["kind"].as_str()).collect();
        for kind in ["fleet.task.queued", "fleet.task.leased", "fleet.task.succeeded"] {
            assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
        }

        // Revoking the agent ends its waiting claim with 401 (not after the wait).
        let started = std::time::Instant::now();
        let ((status, answer), revoked) = tokio::join!(
            as_agent(&server, id, secret, "/api/v1/agent/claim", long_claim),
            async {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                server.send(&owner, Method::DELETE, &format!("/api/v1/fleet/agents/{id}"), None).await.0
            }
        );
        assert_eq!((revoked, status), (204, 401), "{answer}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "cut off at once");
    }

    async fn a_stopping_hub_ends_waiting_claims_and_waits_for_no_new_ones(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let (_, made) = server.send(&owner, Method::POST, "/api/v1/fleet/registration-tokens", Some(json!({"name": "web"}))).await;
        let (_, enrolled) = server.send(&Caller::anonymous(), Method::POST, "/api/v1/agent/register", Some(registration(&made["token"], "web-1"))).await;
        let (id, secret) = (enrolled["agent_id"].as_str().unwrap(), enrolled["secret"].as_str().unwrap());
        let long_claim = json!({"wait_secs": 20, "executors": ["echo"]});

        let started = std::time::Instant::now();
        let ((status, got), ()) = tokio::join!(
            as_agent(&server, id, secret, "/api/v1/agent/claim", long_claim.clone()),
            async {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                server.app.begin_stop();
            }
        );
        assert_eq!((status, &got["task"]), (200, &Value::Null), "no task: {got}");
        assert!(started.elapsed() < std::time::Duration::from_secs(3), "answered when the stop began, not after the wait");

        // While it stops: a claim does not wait, but a task already queued is still handed out.
        let started = std::time::Instant::now();
        let (status, got) = as_agent(&server, id, secret, "/api/v1/agent/claim", long_claim.clone()).await;
        assert_eq!((status, &got["task"]), (200, &Value::Null), "{got}");
        assert!(started.elapsed() < std::time::Duration::from_secs(3), "no wait");
        let (created, task) = server.send(&owner, Method::POST, "/api/v1/fleet/tasks",
            Some(json!({"type": "echo", "payload": {"message": "late"}, "target": {"labels": {"role": "web"}}}))).await;
        assert_eq!(created, 201, "{task}");
        let (status, got) = as_agent(&server, id, secret, "/api/v1/agent/claim", long_claim).await;
        assert_eq!((status, got["task"]["id"].as_str()), (200, task["id"].as_str()), "{got}");
    }

    async fn a_result_carries_the_agents_next_claim(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let (_, made) = server.send(&owner, Method::POST, "/api/v1/fleet/registration-tokens", Some(json!({"name": "web"}))).await;
        let (_, enrolled) = server.send(&Caller::anonymous(), Method::POST, "/api/v1/agent/register", Some(registration(&made["token"], "web-1"))).await;
        let (id, secret) = (enrolled["agent_id"].as_str().unwrap(), enrolled["secret"].as_str().unwrap());
        let enqueue = |message: &'static str| {
            let (server, owner) = (&server, &owner);
            async move {
                let (status, task) = server.send(owner, Method::POST, "/api/v1/fleet/tasks",
                    Some(json!({"type": "echo", "payload": {"message": message}, "target": {"labels": {"role": "web"}}}))).await;
                assert_eq!(status, 201, "{task}");
                task["id"].as_str().unwrap().to_owned()
            }
        };
        let result = |task: String, next: Value| {
            let server = &server;
            async move {
                as_agent(server, id, secret, &format!("/api/v1/agent/tasks/{task}/result"),
                    json!({"success": true, "output": "ok", "next": next})).await
            }
        };
        let status_of = |task: String| {
            let (server, owner) = (&server, &owner);
            async move {
                let (_, seen) = server.send(owner, Method::GET, &format!("/api/v1/fleet/tasks/{task}"), None).await;
                seen["status"].as_str().unwrap_or_default().to_owned()
            }
        };

        // A queued task comes back with the result of the one before.
        let first = enqueue("one").await;
        let (_, got) = as_agent(&server, id, secret, "/api/v1/agent/claim", json!({"wait_secs": 0, "executors": ["echo"]})).await;
        assert_eq!(got["task"]["id"].as_str(), Some(first.as_str()), "{got}");
        let second = enqueue("two").await;
        let (status, answer) = result(first.clone(), json!({"wait_secs": 5, "executors": ["echo"]})).await;
        assert_eq!((status, answer["id"].as_str(), answer["status"].as_str()), (200, Some(first.as_str()), Some("succeeded")), "{answer}");
        assert_eq!((answer["next"]["task"]["id"].as_str(), answer["next"]["task"]["attempt"].as_u64()), (Some(second.as_str()), Some(1)), "{answer}");
        assert_eq!(status_of(second.clone()).await, "leased");

        // The result is recorded before the wait: a task queued meanwhile is handed over.
        let started = std::time::Instant::now();
        let ((status, answer), third) = tokio::join!(
            result(second.clone(), json!({"wait_secs": 10, "executors": ["echo"]})),
            async {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                assert_eq!(status_of(second.clone()).await, "succeeded", "recorded while the claim waits");
                enqueue("three").await
            }
        );
        assert_eq!((status, answer["next"]["task"]["id"].as_str()), (200, Some(third.as_str())), "{answer}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "handed over, not after the wait");

        // Nothing to claim within the wait: `next` says so.
        let (status, answer) = result(third.clone(), json!({"wait_secs": 0, "executors": ["echo"]})).await;
        assert_eq!((status, answer["status"].as_str(), answer["next"].clone()), (200, Some("succeeded"), json!({"task": null})), "{answer}");
        // A result refused claims nothing.
        let fourth = enqueue("four").await;
        let (status, _) = result(third.clone(), json!({"wait_secs": 0, "executors": ["echo"]})).await;
        assert_eq!(status, 409, "a result counts once");
        assert_eq!(status_of(fourth.clone()).await, "queued", "no claim behind a refused result");

        // Revoked while its claim waits: the result is kept, the claim ends empty, and the
        // agent's own claim is refused.
        let (_, got) = as_agent(&server, id, secret, "/api/v1/agent/claim", json!({"wait_secs": 0, "executors": ["echo"]})).await;
        assert_eq!(got["task"]["id"].as_str(), Some(fourth.as_str()), "{got}");
        let started = std::time::Instant::now();
        let ((status, answer), revoked) = tokio::join!(
            result(fourth.clone(), json!({"wait_secs": 10, "executors": ["echo"]})),
            async {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                server.send(&owner, Method::DELETE, &format!("/api/v1/fleet/agents/{id}"), None).await.0
            }
        );
        assert_eq!((revoked, status, answer["next"].clone()), (204, 200, json!({"task": null})), "{answer}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "cut off at once");
        assert_eq!(status_of(fourth).await, "succeeded");
        let (status, _) = as_agent(&server, id, secret, "/api/v1/agent/claim", json!({"wait_secs": 0, "executors": ["echo"]})).await;
        assert_eq!(status, 401);
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

    async fn tasks_are_queued_approved_claimed_and_finished_once(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let admin = server.member(&owner, "admin@acme.test", "admin").await;
        let member = server.member(&owner, "me@acme.test", "member").await;
        let viewer = server.member(&owner, "vi@acme.test", "viewer").await;
        let outsider = server.org_with_owner(&operator, "globex").await;
        let (_, made) = server.send(&owner, Method::POST, "/api/v1/fleet/registration-tokens", Some(json!({"name": "web"}))).await;
        let (_, enrolled) = server.send(&Caller::anonymous(), Method::POST, "/api/v1/agent/register", Some(registration(&made["token"], "web-1"))).await;
        let (agent, secret) = (enrolled["agent_id"].as_str().unwrap().to_owned(), enrolled["secret"].as_str().unwrap().to_owned());
        let (_, theirs) = server.send(&outsider, Method::POST, "/api/v1/fleet/registration-tokens", Some(json!({"name": "x"}))).await;
        let (_, other) = server.send(&Caller::anonymous(), Method::POST, "/api/v1/agent/register", Some(registration(&theirs["token"], "theirs"))).await;
        let (other_id, other_secret) = (other["agent_id"].as_str().unwrap().to_owned(), other["secret"].as_str().unwrap().to_owned());
        let claim = |id: String, secret: String| {
            let server = &server;
            async move { as_agent(server, &id, &secret, "/api/v1/agent/claim", json!({"wait_secs": 0, "executors": ["echo", "shell"]})).await }
        };

        // Bad tasks are refused with the reason; viewers do not run tasks.
        let (status, answer) = server.send(&member, Method::POST, "/api/v1/fleet/tasks",
            Some(json!({"type": "rm", "target": {"labels": {}}}))).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("invalid_arguments")), "{answer}");
        let (status, answer) = server.send(&member, Method::POST, "/api/v1/fleet/tasks",
            Some(json!({"type": "echo", "target": {"agent_id": other_id}}))).await;
        assert_eq!(status, 400, "another organisation's agent is no target: {answer}");
        assert_eq!(answer["error"]["details"]["field"], "target", "{answer}");
        // A task that would need an approval is checked before one is asked for.
        let (status, answer) = server.send(&member, Method::POST, "/api/v1/fleet/tasks",
            Some(json!({"type": "shell", "payload": {"command": "/bin/true"}, "target": {"agent_id": other_id}}))).await;
        assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some("target")), "{answer}");
        // So is its payload's shape (what it may run is the agent's own allowlist).
        let (status, answer) = server.send(&member, Method::POST, "/api/v1/fleet/tasks",
            Some(json!({"type": "shell", "payload": {"path": "/bin/sleep"}, "target": {"labels": {"role": "web"}}}))).await;
        assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some("payload")), "{answer}");
        assert!(answer["error"]["message"].as_str().unwrap_or_default().contains("`command`"), "{answer}");
        let steps = json!({"steps": [{"type": "echo"}, {"type": "compose", "payload": {"stack": "../etc", "action": "up"}}]});
        let (status, answer) = server.send(&member, Method::POST, "/api/v1/fleet/tasks",
            Some(json!({"type": "composite", "payload": steps, "target": {"labels": {}}}))).await;
        assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some("payload")), "{answer}");
        assert!(answer["error"]["message"].as_str().unwrap_or_default().contains("Step 2 (compose)"), "{answer}");
        // Through the tool itself (as the assistant calls it): the tool's invalid arguments.
        let (status, answer) = server.send(&member, Method::POST, "/api/v1/tools/fleet.run/invoke",
            Some(json!({"arguments": {"type": "file.write", "payload": {"path": "/srv/a"}, "target": {"labels": {}}}}))).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("invalid_arguments")), "{answer}");
        assert!(answer.to_string().contains("`content`"), "{answer}");
        assert!(!answer["error"]["message"].as_str().unwrap_or_default().contains(".."), "{answer}");
        let (_, pending) = server.send(&member, Method::GET, "/api/v1/approvals?status=pending", None).await;
        assert_eq!(pending.as_array().map(Vec::len), Some(0), "no approval asked for a bad task: {pending}");
        let (status, _) = server.send(&viewer, Method::POST, "/api/v1/fleet/tasks",
            Some(json!({"type": "echo", "target": {"labels": {}}}))).await;
        assert_eq!(status, 403);

        // An echo task: queued at once; the same idempotency key gives the same task.
        let echo = json!({"type": "echo", "payload": {"message": "hello"}, "target": {"labels": {"role": "web"}}, "idempotency_key": "hello-1"});
        let (status, task) = server.send(&member, Method::POST, "/api/v1/fleet/tasks", Some(echo.clone())).await;
        assert_eq!((status, task["status"].as_str()), (201, Some("queued")), "{task}");
        let (status, again) = server.send(&member, Method::POST, "/api/v1/fleet/tasks", Some(echo)).await;
        assert_eq!((status, again["id"].clone()), (200, task["id"].clone()), "one task per key");
        let id = task["id"].as_str().unwrap().to_owned();

        // Only an agent of the organisation, carrying the labels, claims it — once.
        let (_, none) = claim(other_id.clone(), other_secret.clone()).await;
        assert_eq!(none["task"], Value::Null, "another organisation's agent gets nothing");
        let (status, got) = claim(agent.clone(), secret.clone()).await;
        assert_eq!(status, 200, "{got}");
        assert_eq!((got["task"]["id"].as_str(), got["task"]["type"].as_str(), got["task"]["attempt"].as_u64()), (Some(id.as_str()), Some("echo"), Some(1)));
        assert_eq!(got["task"]["payload"]["message"], "hello");
        let (_, empty) = claim(agent.clone(), secret.clone()).await;
        assert_eq!(empty["task"], Value::Null);
        let (status, lease) = as_agent(&server, &agent, &secret, &format!("/api/v1/agent/tasks/{id}/lease"), json!({})).await;
        assert_eq!((status, lease["lease_secs"].as_u64()), (200, Some(30)));
        let (status, _) = as_agent(&server, &other_id, &other_secret, &format!("/api/v1/agent/tasks/{id}/result"), json!({"success": true})).await;
        assert_eq!(status, 404, "another organisation's agent cannot even see it");
        let (status, _) = as_agent(&server, &agent, &secret, &format!("/api/v1/agent/tasks/{id}/events"),
            json!({"progress": 50, "log": ["saying hello"]})).await;
        assert_eq!(status, 204);
        let (status, done) = as_agent(&server, &agent, &secret, &format!("/api/v1/agent/tasks/{id}/result"),
            json!({"success": true, "output": {"message": "hello"}, "log": ["said hello"]})).await;
        assert_eq!((status, done["status"].as_str()), (200, Some("succeeded")), "{done}");
        let (status, _) = as_agent(&server, &agent, &secret, &format!("/api/v1/agent/tasks/{id}/result"), json!({"success": false})).await;
        assert_eq!(status, 409, "a result counts once");
        let (status, _) = as_agent(&server, &agent, &secret, &format!("/api/v1/agent/tasks/{id}/events"), json!({"log": ["late"]})).await;
        assert_eq!(status, 409, "no log lines once the task is finished");
        let (_, seen) = server.send(&viewer, Method::GET, &format!("/api/v1/fleet/tasks/{id}"), None).await;
        assert_eq!((seen["status"].as_str(), seen["attempts"].as_i64()), (Some("succeeded"), Some(1)));
        assert_eq!(seen["result"]["output"]["message"], "hello");
        let history: Vec<String> = seen["events"].as_array().unwrap().iter()
            .map(|e| format!("{}:{}", e["kind"].as_str().unwrap(), e["to"].as_str().or(e["message"].as_str()).unwrap_or("-"))).collect();
        assert_eq!(history, ["status:queued", "status:leased", "progress:50", "log:saying hello", "status:succeeded"]);
        let (status, _) = server.send(&outsider, Method::GET, &format!("/api/v1/fleet/tasks/{id}"), None).await;
        assert_eq!(status, 404);

        // A shell task changes a server: it waits for an admin's approval, then is queued.
        let shell = json!({"type": "shell", "payload": {"command": "/bin/sleep", "args": ["1"]}, "target": {"agent_id": agent}});
        let (status, pending) = server.send(&member, Method::POST, "/api/v1/fleet/tasks", Some(shell)).await;
        assert_eq!((status, pending["status"].as_str()), (202, Some("waiting_approval")), "{pending}");
        let (_, nothing) = claim(agent.clone(), secret.clone()).await;
        assert_eq!(nothing["task"], Value::Null, "not before it is approved");
        let approval = pending["approval_id"].as_str().unwrap();
        let (status, decided) = server.send(&admin, Method::POST, &format!("/api/v1/approvals/{approval}/approve"), Some(json!({}))).await;
        assert_eq!(status, 200, "{decided}");
        let mut shell_task = Value::Null;
        for _ in 0..50 {
            let (_, got) = claim(agent.clone(), secret.clone()).await;
            if !got["task"].is_null() {
                shell_task = got["task"].clone();
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(shell_task["type"], "shell", "queued once approved");

        // A lease that runs out: the task goes back with a wait, or is dead after its attempts.
        let shell_id: switchboard_domain::TaskId = shell_task["id"].as_str().unwrap().parse().unwrap();
        let agent_id: switchboard_domain::FleetAgentId = agent.parse().unwrap();
        let acme = server.app.store.orgs.get_by_slug("acme").await.unwrap().unwrap().id;
        let past = server.app.clock.now() - chrono::Duration::seconds(1);
        assert!(server.app.store.fleet.extend_lease(acme, shell_id, agent_id, past).await.unwrap());
        let mut requeued = Value::Null;
        for _ in 0..30 {
            let (_, t) = server.send(&viewer, Method::GET, &format!("/api/v1/fleet/tasks/{shell_id}"), None).await;
            if t["status"] == "queued" {
                requeued = t;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(requeued["status"], "queued", "the lease worker put it back: {requeued}");
        assert!(requeued["error"].as_str().unwrap().contains("lease ran out"), "{requeued}");
        let (status, _) = as_agent(&server, &agent, &secret, &format!("/api/v1/agent/tasks/{shell_id}/result"), json!({"success": true})).await;
        assert_eq!(status, 409, "a late result from the old lease does not count");
        let (_, cancelled) = server.send(&member, Method::POST, &format!("/api/v1/fleet/tasks/{shell_id}/cancel"), None).await;
        assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
        let (status, _) = server.send(&member, Method::POST, &format!("/api/v1/fleet/tasks/{shell_id}/cancel"), None).await;
        assert_eq!(status, 409);

        let once = json!({"type": "echo", "payload": {}, "target": {"agent_id": agent}, "max_attempts": 1});
        let (_, t) = server.send(&member, Method::POST, "/api/v1/fleet/tasks", Some(once)).await;
        let once_id: switchboard_domain::TaskId = t["id"].as_str().unwrap().parse().unwrap();
        let (_, got) = claim(agent.clone(), secret.clone()).await;
        assert_eq!(got["task"]["id"].as_str(), Some(once_id.to_string().as_str()));
        let past = server.app.clock.now() - chrono::Duration::seconds(1);
        server.app.store.fleet.extend_lease(acme, once_id, agent_id, past).await.unwrap();
        let mut dead = Value::Null;
        for _ in 0..30 {
            let (_, t) = server.send(&viewer, Method::GET, &format!("/api/v1/fleet/tasks/{once_id}"), None).await;
            if t["status"] == "dead" {
                dead = t;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(dead["status"], "dead", "no attempts left: {dead}");

        let (_, audit) = server.send(&owner, Method::GET, "/api/v1/audit?kind=fleet.task", None).await;
        let mut kinds: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds, ["fleet.task.cancelled", "fleet.task.dead", "fleet.task.leased", "fleet.task.queued", "fleet.task.requeued", "fleet.task.succeeded"]);
    }
}
