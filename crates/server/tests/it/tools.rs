//! The tool layer over HTTP: what each role sees, schema checks before anything runs, policy
//! decisions (role, disabled tools, raised tiers, rules), and the audit trail of every call.

use reqwest::Method;
use serde_json::{json, Value};

use std::time::Duration;

use crate::harness::{Caller, TestServer};
use crate::server_tests;

async fn invoke(
    server: &TestServer,
    caller: &Caller,
    tool: &str,
    arguments: Value,
) -> (u16, Value) {
    server
        .send(
            caller,
            Method::POST,
            &format!("/api/v1/tools/{tool}/invoke"),
            Some(json!({"arguments": arguments})),
        )
        .await
}

/// The system tools listed (the workspace's and memory's are tested in `workspace.rs`).
fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .filter(|n| {
            !n.starts_with("workspace.") && !n.starts_with("memory.") && !n.starts_with("fleet.")
        })
        .collect()
}

server_tests! {
    async fn tools_are_listed_checked_decided_and_audited(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let viewer = server.member(&owner, "vi@acme.test", "viewer").await;
        let member = server.member(&owner, "me@acme.test", "member").await;

        // Each role sees what it may use, with the tier and the decision it would get.
        let (status, all) = server.send(&owner, Method::GET, "/api/v1/tools", None).await;
        assert_eq!(status, 200);
        assert_eq!(names(&all), ["audit.search", "usage.summary", "approvals.list", "org.members"]);
        assert_eq!((all[0]["tier"].as_str(), all[0]["decision"].as_str()), (Some("T1"), Some("allow")));
        assert!(all[0]["input_schema"]["properties"]["limit"].is_object());
        let (_, seen) = server.send(&viewer, Method::GET, "/api/v1/tools", None).await;
        assert_eq!(names(&seen), ["approvals.list", "org.members"]);

        let (status, body) = invoke(&server, &viewer, "org.members", json!({})).await;
        assert_eq!(status, 200, "{body}");
        let emails: Vec<&str> = body["result"]["members"].as_array().unwrap().iter()
            .map(|m| m["email"].as_str().unwrap()).collect();
        assert!(emails.contains(&"vi@acme.test") && emails.contains(&"owner@acme.test"), "{emails:?}");

        // Refusals: role, unknown tool, invalid arguments (nothing runs).
        let (status, body) = invoke(&server, &member, "audit.search", json!({})).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("tool_denied")), "{body}");
        assert_eq!(body["error"]["details"]["reason"], "audit.search needs the admin role");
        let (status, body) = invoke(&server, &owner, "nope.tool", json!({})).await;
        assert_eq!((status, body["error"]["details"]["reason"].as_str()), (403, Some("unknown tool")));
        let (status, body) = invoke(&server, &owner, "audit.search", json!({"limit": 0, "since": "yesterday", "bogus": 1})).await;
        assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_arguments")), "{body}");
        let problems: Vec<&str> = body["error"]["details"]["problems"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("`limit` must be at least 1")), "{problems:?}");
        let (status, body) = server.send(&owner, Method::POST, "/api/v1/tools/org.members/invoke", Some(json!({"args": {}}))).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_request")), "unknown body fields: {body}");

        // An allowed call runs as the caller, with the guard on what the audit log keeps.
        let (status, body) = invoke(&server, &owner, "audit.search", json!({"kind": "tool.call", "actor": "ada@example.com"})).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["result"]["events"].is_array());
        let (status, body) = invoke(&server, &owner, "usage.summary", json!({"group_by": "model"})).await;
        assert_eq!((status, body["result"]["rows"].clone()), (200, json!([])), "{body}");

        // Organisation settings: disable, raise a tier (never lower), rules.
        let (status, body) = server.send(&owner, Method::PUT, "/api/v1/tools/org.members/settings", Some(json!({"enabled": false}))).await;
        assert_eq!((status, body["enabled"].as_bool()), (200, Some(false)), "{body}");
        let (_, seen) = server.send(&viewer, Method::GET, "/api/v1/tools", None).await;
        assert_eq!(names(&seen), ["approvals.list"]);
        let (status, body) = invoke(&server, &viewer, "org.members", json!({})).await;
        assert_eq!((status, body["error"]["details"]["reason"].as_str()), (403, Some("org.members is disabled in this organisation")));
        let (status, body) = server.send(&owner, Method::PUT, "/api/v1/tools/org.members/settings", Some(json!({"enabled": true, "tier": "T3"}))).await;
        assert_eq!((status, body["tier"].as_str()), (200, Some("T3")), "{body}");
        let (status, body) = invoke(&server, &owner, "org.members", json!({})).await;
        assert_eq!((status, body["status"].as_str()), (202, Some("pending")), "{body}");
        assert!(body["approval_id"].is_string());
        let (status, _) = server.send(&owner, Method::PUT, "/api/v1/tools/org.members/settings", Some(json!({"tier": "T9"}))).await;
        assert_eq!(status, 400);
        let (status, _) = server.send(&owner, Method::PUT, "/api/v1/tools/nope/settings", Some(json!({"enabled": false}))).await;
        assert_eq!(status, 404);
        let (status, body) = server.send(&owner, Method::PUT, "/api/v1/tools/org.members/settings", Some(json!({"tier": "T1"}))).await;
        assert_eq!((status, body["tier"].clone()), (200, Value::Null), "back to the tool's own tier");

        let (status, _) = server.send(&owner, Method::PUT, "/api/v1/tool-rules", Some(json!({"rules": [{"pattern": "bad pattern!", "effect": "deny"}]}))).await;
        assert_eq!(status, 422);
        let (status, _) = server.send(&owner, Method::PUT, "/api/v1/tool-rules", Some(json!({"rules": [{"pattern": "x", "effect": "maybe"}]}))).await;
        assert_eq!(status, 400);
        let rules = json!({"rules": [{"pattern": "audit.*", "effect": "deny"}, {"pattern": "*", "effect": "allow"}]});
        let (status, _) = server.send(&owner, Method::PUT, "/api/v1/tool-rules", Some(rules.clone())).await;
        assert_eq!(status, 200);
        assert_eq!(server.send(&owner, Method::GET, "/api/v1/tool-rules", None).await.1, rules);
        let (status, body) = invoke(&server, &owner, "audit.search", json!({})).await;
        assert_eq!((status, body["error"]["details"]["reason"].as_str()), (403, Some("denied by the rule `audit.*`")));
        let (_, all) = server.send(&owner, Method::GET, "/api/v1/tools", None).await;
        assert_eq!(all[0]["decision"], "deny");

        // Every call and decision is in the audit log, arguments guarded; the chain holds.
        let (_, events) = server.send(&owner, Method::GET, "/api/v1/audit?kind=tool.call&limit=100", None).await;
        let decisions: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["decision"].as_str().unwrap()).collect();
        assert_eq!(decisions, ["allow", "deny", "deny", "invalid_arguments", "allow", "allow", "deny", "ask", "deny"]);
        let logged = events.to_string();
        assert!(!logged.contains("ada@example.com") && logged.contains("[EMAIL_1]"), "{logged}");
        let (_, verify) = server.send(&owner, Method::GET, "/api/v1/audit/verify", None).await;
        assert_eq!(verify["ok"], true, "{verify}");
    }

    async fn the_audit_viewer_filters_pages_verifies_and_exports(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let member = server.member(&owner, "me@acme.test", "member").await;
        for _ in 0..55 {
            assert_eq!(invoke(&server, &owner, "org.members", json!({})).await.0, 200);
        }
        let page = |caller: &Caller, path: &str| {
            let (caller, path) = (caller.clone(), path.to_owned());
            let server = &server;
            async move {
                let r = server.request(&caller, Method::GET, &path, None).await;
                (r.status().as_u16(), r.text().await.unwrap())
            }
        };
        let (status, html) = page(&owner, "/audit?kind=tool.").await;
        assert_eq!(status, 200);
        assert_eq!(html.matches("<code>tool.call</code>").count(), 50, "a page of 50, newest first");
        assert!(!html.contains("admin.invite_created"), "filtered by kind");
        let older = html.find("before=").map(|i| &html[i + 7..]).unwrap();
        let before: i64 = older[..older.find('"').unwrap()].parse().unwrap();
        let (_, html) = page(&owner, &format!("/audit?kind=tool.&before={before}")).await;
        assert_eq!(html.matches("<code>tool.call</code>").count(), 5, "the older page holds the rest");
        assert!(!html.contains("Older events"));
        let (_, html) = page(&owner, "/audit?verify=1").await;
        assert!(html.contains("The chain is intact"), "{html}");
        assert_eq!(page(&member, "/audit").await.0, 403);
        let reversed = server.request(&owner, Method::GET, "/audit?from=nope", None).await;
        assert_eq!(reversed.status(), 303);

        let csv = server.request(&owner, Method::GET, "/api/v1/audit?kind=tool.&format=csv&limit=3", None).await;
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = csv.text().await.unwrap();
        let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
        assert_eq!(lines[0], "seq,at,actor_kind,actor_id,kind,target,decision,details,hash");
        assert_eq!(lines.len(), 4);
        assert!(lines[1].contains(",tool.call,org.members,allow,\""), "details quoted: {}", lines[1]);
        let (_, newest) = server.send(&owner, Method::GET, "/api/v1/audit?order=desc&limit=2", None).await;
        assert!(newest[0]["seq"].as_i64() > newest[1]["seq"].as_i64());
        let (status, _) = server.send(&owner, Method::GET, "/api/v1/audit?order=sideways", None).await;
        assert_eq!(status, 400);
    }

    async fn approvals_wait_for_the_right_person_then_run_as_the_requester(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let admin = server.member(&owner, "ad@acme.test", "admin").await;
        let member = server.member(&owner, "me@acme.test", "member").await;
        let raise = |tier: &'static str| {
            let (server, owner) = (&server, owner.clone());
            async move {
                let (status, _) = server.send(&owner, Method::PUT, "/api/v1/tools/org.members/settings", Some(json!({"tier": tier}))).await;
                assert_eq!(status, 200);
            }
        };
        raise("T3").await;

        // T3: a member asks, an admin approves, the worker runs it as the member.
        let (status, body) = invoke(&server, &member, "org.members", json!({})).await;
        assert_eq!(status, 202, "{body}");
        let id = body["approval_id"].as_str().unwrap().to_owned();
        let (_, pending) = server.send(&member, Method::GET, "/api/v1/approvals?status=pending", None).await;
        assert_eq!(pending[0]["id"], id.as_str());
        assert_eq!((pending[0]["tier"].as_str(), pending[0]["approver_role"].as_str()), (Some("T3"), Some("admin")));
        let (status, _) = server.send(&member, Method::POST, &format!("/api/v1/approvals/{id}/approve"), None).await;
        assert_eq!(status, 403, "members do not approve");
        let (status, body) = server.send(&admin, Method::POST, &format!("/api/v1/approvals/{id}/approve"), Some(json!({"reason": "fine"}))).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("approved")), "{body}");
        let done = settled(&server, &member, &id).await;
        assert_eq!(done["status"], "executed", "{done}");
        assert!(done["result"]["members"].as_array().unwrap().len() >= 3, "{done}");
        assert_eq!(done["decision_reason"], "fine");
        let (status, body) = server.send(&admin, Method::POST, &format!("/api/v1/approvals/{id}/deny"), None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (409, Some("conflict")), "{body}");

        // Denied: never runs.
        let (_, body) = invoke(&server, &member, "org.members", json!({})).await;
        let denied = body["approval_id"].as_str().unwrap().to_owned();
        let (status, body) = server.send(&owner, Method::POST, &format!("/api/v1/approvals/{denied}/deny"), Some(json!({"reason": "no"}))).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("denied")), "{body}");
        tokio::time::sleep(Duration::from_millis(700)).await;
        let (_, body) = server.send(&member, Method::GET, &format!("/api/v1/approvals/{denied}"), None).await;
        assert_eq!((body["status"].as_str(), body.get("result")), (Some("denied"), None));

        // T4: four eyes — the requester may not approve, another admin may.
        raise("T4").await;
        let (_, body) = invoke(&server, &admin, "org.members", json!({})).await;
        let t4 = body["approval_id"].as_str().unwrap().to_owned();
        let (status, body) = server.send(&admin, Method::POST, &format!("/api/v1/approvals/{t4}/approve"), None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("four_eyes_required")), "{body}");
        let (status, _) = server.send(&owner, Method::POST, &format!("/api/v1/approvals/{t4}/approve"), None).await;
        assert_eq!(status, 200);
        assert_eq!(settled(&server, &admin, &t4).await["status"], "executed");

        // Through an API key the admin made: the admin still may not approve it, and keys
        // never decide.
        let (status, key) = server.send(&admin, Method::POST, "/api/v1/api-keys", Some(json!({"name": "script", "role": "admin"}))).await;
        assert_eq!(status, 201, "{key}");
        let script = Caller::key(key["key"].as_str().unwrap());
        let (status, body) = invoke(&server, &script, "org.members", json!({})).await;
        assert_eq!(status, 202, "{body}");
        let by_key = body["approval_id"].as_str().unwrap().to_owned();
        let (status, body) = server.send(&admin, Method::POST, &format!("/api/v1/approvals/{by_key}/approve"), None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("four_eyes_required")), "{body}");
        let (status, body) = server.send(&script, Method::POST, &format!("/api/v1/approvals/{by_key}/approve"), None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "{body}");
        let (status, _) = server.send(&owner, Method::POST, &format!("/api/v1/approvals/{by_key}/approve"), None).await;
        assert_eq!(status, 200);
        assert_eq!(settled(&server, &admin, &by_key).await["status"], "executed", "runs as the key");

        // The assistant's view of it: approvals.list, filtered by status.
        let (status, body) = invoke(&server, &member, "approvals.list", json!({"status": "executed"})).await;
        assert_eq!(status, 200, "{body}");
        let listed = body["result"]["approvals"].as_array().unwrap();
        assert_eq!(listed.len(), 3, "{body}");
        assert!(listed.iter().all(|a| a["status"] == "executed"));
        let (status, _) = invoke(&server, &member, "approvals.list", json!({"status": "lost"})).await;
        assert_eq!(status, 422);

        // Another organisation sees none of it; bad input is refused.
        let other = server.org_with_owner(&operator, "globex").await;
        let (status, _) = server.send(&other, Method::GET, &format!("/api/v1/approvals/{t4}"), None).await;
        assert_eq!(status, 404);
        assert_eq!(server.send(&other, Method::GET, "/api/v1/approvals", None).await.1, json!([]));
        let (status, _) = server.send(&owner, Method::GET, "/api/v1/approvals?status=maybe", None).await;
        assert_eq!(status, 400);

        // The whole story is in the audit log.
        let (_, events) = server.send(&owner, Method::GET, "/api/v1/audit?kind=approval.&limit=100", None).await;
        let kinds: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        for kind in ["approval.requested", "approval.approved", "approval.executed", "approval.denied"] {
            assert!(kinds.contains(&kind), "{kind}: {kinds:?}");
        }
        let (_, verify) = server.send(&owner, Method::GET, "/api/v1/audit/verify", None).await;
        assert_eq!(verify["ok"], true);
    }
}

/// Waits (up to 10 s) until the request is no longer pending or approved.
async fn settled(server: &TestServer, caller: &Caller, id: &str) -> Value {
    for _ in 0..100 {
        let (_, body) = server
            .send(
                caller,
                Method::GET,
                &format!("/api/v1/approvals/{id}"),
                None,
            )
            .await;
        if body["status"] != "pending" && body["status"] != "approved" {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("approval {id} did not settle");
}

async fn expiry(db: switchboard_store::testing::TestDb) {
    let server = TestServer::start_app(db, Default::default(), |app| {
        app.with_approval_ttl(chrono::Duration::seconds(1))
    })
    .await;
    let operator = server.setup().await;
    let owner = server.org_with_owner(&operator, "acme").await;
    let (status, _) = server
        .send(
            &owner,
            Method::PUT,
            "/api/v1/tools/org.members/settings",
            Some(json!({"tier": "T3"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, body) = invoke(&server, &owner, "org.members", json!({})).await;
    let id = body["approval_id"].as_str().unwrap().to_owned();
    let done = settled(&server, &owner, &id).await;
    assert_eq!(done["status"], "expired", "an expiry is a denial: {done}");
    let (status, body) = server
        .send(
            &owner,
            Method::POST,
            &format!("/api/v1/approvals/{id}/approve"),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    let (_, events) = server
        .send(
            &owner,
            Method::GET,
            "/api/v1/audit?kind=approval.expired",
            None,
        )
        .await;
    assert_eq!(events.as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_approvals_expire_sqlite() {
    expiry(switchboard_store::testing::TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_approvals_expire_postgres() {
    match switchboard_store::testing::TestDb::postgres().await {
        Some(db) => expiry(db).await,
        None => eprintln!("skipped: TEST_DATABASE_URL is not set"),
    }
}
