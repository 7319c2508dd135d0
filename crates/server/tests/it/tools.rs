//! The tool layer over HTTP: what each role sees, schema checks before anything runs, policy
//! decisions (role, disabled tools, raised tiers, rules), and the audit trail of every call.

use reqwest::Method;
use serde_json::{json, Value};

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

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
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
        assert_eq!(names(&all), ["audit.search", "usage.summary", "org.members"]);
        assert_eq!((all[0]["tier"].as_str(), all[0]["decision"].as_str()), (Some("T1"), Some("allow")));
        assert!(all[0]["input_schema"]["properties"]["limit"].is_object());
        let (_, seen) = server.send(&viewer, Method::GET, "/api/v1/tools", None).await;
        assert_eq!(names(&seen), ["org.members"]);

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
        assert_eq!(names(&seen), Vec::<&str>::new());
        let (status, body) = invoke(&server, &viewer, "org.members", json!({})).await;
        assert_eq!((status, body["error"]["details"]["reason"].as_str()), (403, Some("org.members is disabled in this organisation")));
        let (status, body) = server.send(&owner, Method::PUT, "/api/v1/tools/org.members/settings", Some(json!({"enabled": true, "tier": "T3"}))).await;
        assert_eq!((status, body["tier"].as_str()), (200, Some("T3")), "{body}");
        let (status, body) = invoke(&server, &owner, "org.members", json!({})).await;
        assert_eq!((status, body["error"]["code"].as_str()), (409, Some("approval_required")), "{body}");
        assert_eq!((body["error"]["details"]["tier"].as_str(), body["error"]["details"]["approver_role"].as_str()), (Some("T3"), Some("admin")));
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
}
