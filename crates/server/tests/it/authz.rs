//! The authorisation matrix: every operation in the OpenAPI document × every kind of caller
//! → the expected outcome. A route without an entry in `requirement` fails the test, so a new
//! endpoint cannot ship without deciding who may call it.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{Caller, TestServer};
use crate::server_tests;

/// Who may call an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Need {
    /// Anyone, signed in or not.
    Public,
    /// Only before setup; afterwards everyone gets `invalid_setup_code`.
    SetupOnce,
    /// Any signed-in user or API key.
    Signed,
    /// A signed-in user with a browser session (not an API key).
    Session,
    /// A member of the current organisation with at least this role (0 viewer … 3 owner).
    Tenant(u8),
    /// A platform operator.
    Operator,
    /// A gateway key (`sbk_...`); no session or API key is one.
    GatewayKey,
    /// A person (not an API key) who is a member of the current organisation.
    Person,
    /// Only the person it belongs to (acme's owner here); everyone else finds nothing.
    Mine,
    /// A server agent's own credentials; no session or key is one.
    FleetAgent,
}

fn requirement(method: &str, path: &str) -> Option<Need> {
    use Need::*;
    Some(match (method, path) {
        ("get", "/healthz" | "/readyz" | "/metrics" | "/api/v1/openapi.json") => Public,
        ("post", "/api/v1/auth/login" | "/api/v1/invites/accept") => Public,
        ("post", "/api/v1/setup") => SetupOnce,
        ("get", "/api/v1/me") => Signed,
        (
            "post",
            "/api/v1/auth/logout"
            | "/api/v1/me/password"
            | "/api/v1/me/totp"
            | "/api/v1/me/totp/confirm",
        ) => Session,
        ("delete", "/api/v1/me/totp") => Session,
        ("get", "/api/v1/members") => Tenant(0),
        ("patch" | "delete", "/api/v1/members/{user_id}") => Tenant(2),
        ("get" | "post", "/api/v1/api-keys" | "/api/v1/invites") => Tenant(2),
        ("delete", "/api/v1/api-keys/{id}" | "/api/v1/invites/{id}") => Tenant(2),
        ("get" | "put", "/api/v1/organization/settings") => Tenant(2),
        ("get", "/api/v1/audit" | "/api/v1/audit/verify") => Tenant(2),
        ("get" | "post", "/api/v1/organizations") => Operator,
        (
            "post",
            "/api/v1/organizations/{slug}/suspend" | "/api/v1/organizations/{slug}/resume",
        ) => Operator,
        ("delete", "/api/v1/organizations/{slug}") => Operator,
        ("get", "/api/v1/tools") => Tenant(0),
        ("post", "/api/v1/tools/{name}/invoke") => Tenant(0),
        ("put", "/api/v1/tools/{name}/settings") => Tenant(2),
        ("get" | "put", "/api/v1/tool-rules") => Tenant(2),
        ("get", "/api/v1/approvals" | "/api/v1/approvals/{id}") => Tenant(0),
        ("get" | "post", "/api/v1/webhooks") => Tenant(2),
        ("delete", "/api/v1/webhooks/{id}") => Tenant(2),
        ("get", "/api/v1/webhooks/{id}/deliveries") => Tenant(2),
        ("post", "/api/v1/approvals/{id}/approve" | "/api/v1/approvals/{id}/deny") => Tenant(2),
        ("get" | "post", "/api/v1/gateway/keys") => Tenant(2),
        ("delete", "/api/v1/gateway/keys/{id}") => Tenant(2),
        ("get", "/api/v1/usage" | "/api/v1/llm/settings") => Tenant(2),
        ("put", "/api/v1/llm/settings") => Tenant(2),
        ("put" | "delete", "/api/v1/llm/providers/{name}") => Tenant(2),
        ("get", "/api/v1/platform/usage") => Operator,
        ("post", "/v1/chat/completions" | "/v1/embeddings") => GatewayKey,
        ("get", "/v1/models") => GatewayKey,
        ("get" | "post", "/api/v1/conversations") => Person,
        ("get" | "patch" | "delete", "/api/v1/conversations/{id}") => Mine,
        ("post", "/api/v1/conversations/{id}/messages" | "/api/v1/runs/{id}/cancel") => Mine,
        ("get", "/api/v1/runs/{id}" | "/api/v1/runs/{id}/events") => Mine,
        ("get", "/api/v1/agents" | "/api/v1/agents/{agent}" | "/api/v1/agents/{agent}/skills") => {
            Tenant(0)
        }
        ("post", "/api/v1/agents") => Tenant(2),
        ("put" | "delete", "/api/v1/agents/{agent}") => Tenant(2),
        ("put", "/api/v1/agents/{agent}/skills") => Tenant(2),
        (
            "get",
            "/api/v1/tickets"
            | "/api/v1/tickets/{id}"
            | "/api/v1/requests"
            | "/api/v1/requests/{id}"
            | "/api/v1/workspace/dashboard",
        ) => Tenant(0),
        (
            "post",
            "/api/v1/tickets"
            | "/api/v1/requests"
            | "/api/v1/tickets/{id}/comments"
            | "/api/v1/requests/{id}/comments",
        ) => Tenant(1),
        ("patch", "/api/v1/tickets/{id}" | "/api/v1/requests/{id}") => Tenant(1),
        ("delete", "/api/v1/tickets/{id}" | "/api/v1/requests/{id}") => Tenant(2),
        ("get", "/api/v1/projects" | "/api/v1/projects/{id}") => Tenant(0),
        (
            "get",
            "/api/v1/documents"
            | "/api/v1/documents/search"
            | "/api/v1/documents/{id}"
            | "/api/v1/documents/{id}/content",
        ) => Tenant(0),
        ("post", "/api/v1/documents") | ("patch", "/api/v1/documents/{id}") => Tenant(1),
        ("delete", "/api/v1/documents/{id}") => Tenant(2),
        ("get" | "post", "/api/v1/fleet/registration-tokens") => Tenant(2),
        ("delete", "/api/v1/fleet/registration-tokens/{id}" | "/api/v1/fleet/agents/{id}") => {
            Tenant(2)
        }
        ("get", "/api/v1/fleet/agents" | "/api/v1/fleet/agents/{id}") => Tenant(0),
        // A token is the credential (an unusable one is refused with 401 — tested in fleet.rs).
        ("post", "/api/v1/agent/register") => Public,
        (
            "post",
            "/api/v1/agent/heartbeat"
            | "/api/v1/agent/claim"
            | "/api/v1/agent/tasks/{id}/lease"
            | "/api/v1/agent/tasks/{id}/events"
            | "/api/v1/agent/tasks/{id}/result",
        ) => FleetAgent,
        ("get", "/api/v1/fleet/tasks" | "/api/v1/fleet/tasks/{id}") => Tenant(0),
        ("post", "/api/v1/fleet/tasks" | "/api/v1/fleet/tasks/{id}/cancel") => Tenant(1),
        ("get", "/api/v1/fleet/templates") => Tenant(0),
        ("post", "/api/v1/fleet/templates") | ("delete", "/api/v1/fleet/templates/{id}") => {
            Tenant(1)
        }
        // With the bodies below: an organisation-wide fact (members and up), forgotten by
        // admins (a person's own facts are any member's; tested in workspace.rs).
        ("get", "/api/v1/memory" | "/api/v1/memory/search") => Tenant(0),
        ("post", "/api/v1/memory") => Tenant(1),
        ("delete", "/api/v1/memory/{id}") => Tenant(2),
        ("post", "/api/v1/projects" | "/api/v1/projects/{id}/milestones") => Tenant(1),
        ("patch", "/api/v1/projects/{id}" | "/api/v1/projects/{id}/milestones/{milestone_id}") => {
            Tenant(1)
        }
        ("delete", "/api/v1/projects/{id}" | "/api/v1/projects/{id}/milestones/{milestone_id}") => {
            Tenant(2)
        }
        _ => return None,
    })
}

/// A caller of the matrix and what it is.
struct Who {
    name: &'static str,
    caller: Caller,
    /// Role in acme (0..=3), if a member there.
    acme_role: Option<u8>,
    /// Role in its own current organisation when that is not acme (cross-tenant callers).
    other_role: Option<u8>,
    session: bool,
    operator: bool,
    suspended: bool,
}

/// What the matrix expects.
#[derive(Debug, PartialEq)]
enum Outcome {
    Allowed,
    Code(u16, &'static str),
}

fn expected(need: Need, who: &Who, targets_acme_resource: bool) -> Outcome {
    use Outcome::*;
    let anonymous = who.caller.session.is_none() && who.caller.bearer.is_none();
    match need {
        Need::Public => Allowed,
        Need::SetupOnce => Code(403, "invalid_setup_code"),
        Need::GatewayKey | Need::FleetAgent => Code(401, "unauthorized"),
        _ if anonymous => Code(401, "unauthorized"),
        Need::Signed => Allowed,
        Need::Session if who.session => Allowed,
        Need::Session => Code(403, "forbidden"),
        Need::Operator if who.operator => Allowed,
        Need::Operator => Code(403, "forbidden"),
        Need::Tenant(_) | Need::Person | Need::Mine if who.suspended => {
            Code(403, "organization_suspended")
        }
        Need::Person | Need::Mine if !who.session => Code(403, "forbidden"),
        Need::Person => Allowed,
        Need::Mine if who.name == "owner" => Allowed,
        Need::Mine => Code(404, "not_found"),
        Need::Tenant(min) => {
            let role = who.acme_role.or(who.other_role).unwrap_or(0);
            if role < min {
                Code(403, "forbidden")
            } else if who.acme_role.is_none() && targets_acme_resource {
                Code(404, "not_found")
            } else {
                Allowed
            }
        }
    }
}

/// Error codes that mean "authorisation refused"; an allowed call never answers with one.
const REFUSALS: [&str; 5] = [
    "unauthorized",
    "forbidden",
    "organization_suspended",
    "csrf_failed",
    "totp_enrollment_required",
];

struct Fixture {
    callers: Vec<Who>,
    /// acme's disposable resources, by path parameter.
    params: BTreeMap<&'static str, String>,
}

async fn fixture(server: &TestServer) -> Fixture {
    let operator = server.setup().await;
    let owner = server.org_with_owner(&operator, "acme").await;
    let admin = server.member(&owner, "admin@acme.test", "admin").await;
    let member = server.member(&owner, "member@acme.test", "member").await;
    let viewer = server.member(&owner, "viewer@acme.test", "viewer").await;
    server.member(&owner, "target@acme.test", "viewer").await;
    let globex_owner = server.org_with_owner(&operator, "globex").await;
    let globex_admin = server
        .member(&globex_owner, "admin@globex.test", "admin")
        .await;
    let initech = server.org_with_owner(&operator, "initech").await;
    let (status, body) = server
        .send(
            &owner,
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": "low", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let viewer_key = Caller::key(body["key"].as_str().unwrap());
    let (status, _) = server
        .send(
            &operator,
            Method::POST,
            "/api/v1/organizations/initech/suspend",
            None,
        )
        .await;
    assert_eq!(status, 200);

    // Disposable acme resources for the `{param}` routes.
    let (_, key) = server
        .send(
            &owner,
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": "target", "role": "viewer"})),
        )
        .await;
    let (_, invite) = server
        .send(
            &owner,
            Method::POST,
            "/api/v1/invites",
            Some(json!({"email": "later@acme.test", "role": "viewer"})),
        )
        .await;
    let (_, gateway_key) = server
        .send(
            &owner,
            Method::POST,
            "/api/v1/gateway/keys",
            Some(json!({"name": "target"})),
        )
        .await;
    // A pending approval: org.members raised to T3 asks an admin.
    let (status, _) = server
        .send(
            &owner,
            Method::PUT,
            "/api/v1/tools/org.members/settings",
            Some(json!({"tier": "T3"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, approval) = server
        .send(
            &owner,
            Method::POST,
            "/api/v1/tools/org.members/invoke",
            Some(json!({"arguments": {}})),
        )
        .await;
    assert_eq!(status, 202, "{approval}");
    let (status, webhook) = server
        .send(
            &owner,
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"name": "target", "url": "https://hooks.example.com/target"})),
        )
        .await;
    assert_eq!(status, 201, "{webhook}");
    let (_, members) = server
        .send(&owner, Method::GET, "/api/v1/members", None)
        .await;
    let target = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "target@acme.test")
        .unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, tmp) = server
        .send(
            &operator,
            Method::POST,
            "/api/v1/organizations",
            Some(json!({"name": "Tmp", "slug": "tmp"})),
        )
        .await;
    assert_eq!(tmp["slug"], "tmp");
    // Personal resources of acme's owner: a conversation, and a run (in another one, which
    // the matrix does not delete); without a provider the run ends at once.
    let (_, conversation) = server
        .send(&owner, Method::POST, "/api/v1/conversations", None)
        .await;
    let (_, other) = server
        .send(&owner, Method::POST, "/api/v1/conversations", None)
        .await;
    let response = server
        .request(
            &owner,
            Method::POST,
            &format!(
                "/api/v1/conversations/{}/messages",
                other["id"].as_str().unwrap()
            ),
            Some(json!({"content": "hello"})),
        )
        .await;
    let run = response.headers()["x-switchboard-run-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(response.text().await.unwrap().contains("event: done"));
    let (status, agent) = server
        .send(
            &owner,
            Method::POST,
            "/api/v1/agents",
            Some(json!({"slug": "matrix-agent", "name": "M", "instructions": "x"})),
        )
        .await;
    assert_eq!(status, 201, "{agent}");
    let (status, ticket) = server
        .send(
            &owner,
            Method::POST,
            "/api/v1/tickets",
            Some(json!({"title": "Matrix ticket"})),
        )
        .await;
    assert_eq!(status, 201, "{ticket}");
    let (status, request) = server
        .send(
            &owner,
            Method::POST,
            "/api/v1/requests",
            Some(json!({"title": "Matrix request"})),
        )
        .await;
    assert_eq!(status, 201, "{request}");
    let (status, project) = server
        .send(
            &owner,
            Method::POST,
            "/api/v1/projects",
            Some(json!({"name": "Matrix project"})),
        )
        .await;
    assert_eq!(status, 201, "{project}");
    let project_id = project["id"].as_str().unwrap().to_owned();
    let (status, milestone) = server
        .send(
            &owner,
            Method::POST,
            &format!("/api/v1/projects/{project_id}/milestones"),
            Some(json!({"title": "Matrix milestone"})),
        )
        .await;
    assert_eq!(status, 201, "{milestone}");
    let (status, fact) = server
        .send(
            &owner,
            Method::POST,
            "/api/v1/memory",
            Some(json!({"content": "Matrix fact", "scope": "organization"})),
        )
        .await;
    assert_eq!(status, 201, "{fact}");
    let (status, document) = server
        .upload(
            &owner,
            "/api/v1/documents",
            &[crate::harness::Part::File {
                field: "file",
                name: "matrix.txt",
                content_type: "text/plain",
                bytes: b"Matrix document",
            }],
        )
        .await;
    assert_eq!(status, 201, "{document}");
    let (status, fleet_token) = server
        .send(
            &owner,
            Method::POST,
            "/api/v1/fleet/registration-tokens",
            Some(json!({"name": "Matrix servers"})),
        )
        .await;
    assert_eq!(status, 201, "{fleet_token}");
    let (status, fleet_agent) = server
        .send(
            &Caller::anonymous(),
            Method::POST,
            "/api/v1/agent/register",
            Some(
                json!({"token": fleet_token["token"], "name": "matrix-1", "host": "matrix-1",
                "identity": {"protocol_version": 1, "agent_version": "0.1.0"}}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{fleet_agent}");
    let (status, fleet_task) = server
        .send(
            &owner,
            Method::POST,
            "/api/v1/fleet/tasks",
            Some(
                json!({"type": "echo", "payload": {"message": "matrix"}, "target": {"labels": {}}}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{fleet_task}");
    let (status, fleet_template) = server
        .send(
            &owner,
            Method::POST,
            "/api/v1/fleet/templates",
            Some(
                json!({"name": "Matrix ping", "type": "echo", "payload": {"message": "matrix"},
                        "target": {"labels": {}}}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{fleet_template}");
    let params = BTreeMap::from([
        ("{id}", String::new()), // chosen per route below
        ("{user_id}", target),
        ("{slug}", "tmp".to_owned()),
        ("api-key", key["id"].as_str().unwrap().to_owned()),
        ("invite", invite["id"].as_str().unwrap().to_owned()),
        (
            "gateway-key",
            gateway_key["id"].as_str().unwrap().to_owned(),
        ),
        ("{name}", "matrix-provider".to_owned()),
        ("tool", "org.members".to_owned()),
        (
            "approval",
            approval["approval_id"].as_str().unwrap().to_owned(),
        ),
        ("webhook", webhook["id"].as_str().unwrap().to_owned()),
        (
            "conversation",
            conversation["id"].as_str().unwrap().to_owned(),
        ),
        ("run", run),
        ("{agent}", "matrix-agent".to_owned()),
        ("ticket", ticket["id"].as_str().unwrap().to_owned()),
        ("request", request["id"].as_str().unwrap().to_owned()),
        ("project", project_id),
        ("memory", fact["id"].as_str().unwrap().to_owned()),
        ("document", document["id"].as_str().unwrap().to_owned()),
        (
            "fleet-token",
            fleet_token["id"].as_str().unwrap().to_owned(),
        ),
        (
            "fleet-agent",
            fleet_agent["agent_id"].as_str().unwrap().to_owned(),
        ),
        ("fleet-task", fleet_task["id"].as_str().unwrap().to_owned()),
        (
            "fleet-template",
            fleet_template["id"].as_str().unwrap().to_owned(),
        ),
        (
            "{milestone_id}",
            milestone["id"].as_str().unwrap().to_owned(),
        ),
    ]);

    let who = |name, caller, acme_role, other_role, session, operator, suspended| Who {
        name,
        caller,
        acme_role,
        other_role,
        session,
        operator,
        suspended,
    };
    let callers = vec![
        who(
            "anonymous",
            Caller::anonymous(),
            None,
            None,
            false,
            false,
            false,
        ),
        who(
            "api key (viewer ceiling)",
            viewer_key,
            Some(0),
            None,
            false,
            false,
            false,
        ),
        who("viewer", viewer, Some(0), None, true, false, false),
        who("member", member, Some(1), None, true, false, false),
        who(
            "admin of another organisation",
            globex_admin,
            None,
            Some(2),
            true,
            false,
            false,
        ),
        who(
            "suspended organisation",
            initech,
            None,
            Some(3),
            true,
            false,
            true,
        ),
        who("operator", operator, None, Some(3), true, true, false),
        who("admin", admin, Some(2), None, true, false, false),
        who("owner", owner, Some(3), None, true, false, false),
    ];
    Fixture { callers, params }
}

fn body_for(method: &str, path: &str) -> Option<Value> {
    Some(match (method, path) {
        ("post", "/api/v1/setup") => {
            json!({"setup_code": "WRONG", "organization": {"name": "x", "slug": "xx"},
            "owner": {"email": "x@x.test", "name": "x", "password": "correct horse battery staple"}})
        }
        ("post", "/api/v1/auth/login") => {
            json!({"email": "nobody@x.test", "password": "not the password"})
        }
        ("post", "/api/v1/invites/accept") => {
            json!({"token": "unknown", "name": "x", "password": "correct horse battery staple"})
        }
        ("post", "/api/v1/me/password") => {
            json!({"current_password": "wrong wrong wrong", "new_password": "another long passphrase"})
        }
        ("post", "/api/v1/me/totp/confirm") => json!({"code": "000000"}),
        ("delete", "/api/v1/me/totp") => json!({"current_password": "wrong wrong wrong"}),
        ("patch", "/api/v1/members/{user_id}") => json!({"role": "viewer"}),
        ("post", "/api/v1/api-keys") => json!({"name": "matrix", "role": "viewer"}),
        ("post", "/api/v1/invites") => json!({"email": "matrix@acme.test", "role": "viewer"}),
        ("put", "/api/v1/organization/settings") => {
            json!({"require_totp": false, "allow_sso_signup": false})
        }
        ("post", "/api/v1/organizations") => json!({"name": "Matrix", "slug": "matrix"}),
        ("post", "/api/v1/gateway/keys") => json!({"name": "matrix"}),
        ("put", "/api/v1/llm/settings") => json!({}),
        ("put", "/api/v1/llm/providers/{name}") => json!({"kind": "openai",
            "base_url": "https://llm.example.com/v1", "models": [{"name": "m"}]}),
        ("post", "/v1/chat/completions") => {
            json!({"model": "default", "messages": [{"role": "user", "content": "x"}]})
        }
        ("post", "/v1/embeddings") => json!({"model": "default", "input": "x"}),
        ("post", "/api/v1/tools/{name}/invoke") => json!({"arguments": {}}),
        ("put", "/api/v1/tools/{name}/settings") => json!({"enabled": true}),
        ("put", "/api/v1/tool-rules") => json!({"rules": []}),
        ("post", "/api/v1/webhooks") => {
            json!({"name": "matrix", "url": "https://hooks.example.com/x"})
        }
        ("patch", "/api/v1/conversations/{id}") => json!({"title": "Renamed"}),
        ("post", "/api/v1/conversations/{id}/messages") => json!({"content": "hi"}),
        ("post", "/api/v1/agents") => json!({"slug": "matrix", "name": "M", "instructions": "x"}),
        ("put", "/api/v1/agents/{agent}") => json!({"name": "M2"}),
        ("put", "/api/v1/agents/{agent}/skills") => json!({"skills": []}),
        ("post", "/api/v1/tickets" | "/api/v1/requests") => json!({"title": "Matrix"}),
        ("patch", "/api/v1/tickets/{id}" | "/api/v1/requests/{id}") => json!({"title": "Renamed"}),
        ("post", "/api/v1/tickets/{id}/comments" | "/api/v1/requests/{id}/comments") => {
            json!({"body": "Matrix comment"})
        }
        ("post", "/api/v1/projects") => json!({"name": "Matrix"}),
        ("post", "/api/v1/memory") => {
            json!({"content": "A matrix fact", "scope": "organization"})
        }
        ("patch", "/api/v1/projects/{id}") => json!({"name": "Renamed"}),
        ("post", "/api/v1/projects/{id}/milestones") => json!({"title": "Matrix"}),
        ("patch", "/api/v1/projects/{id}/milestones/{milestone_id}") => json!({"progress": 50}),
        ("patch", "/api/v1/documents/{id}") => json!({"tags": "matrix"}),
        ("post", "/api/v1/fleet/registration-tokens") => json!({"name": "Matrix"}),
        ("post", "/api/v1/fleet/templates") => json!({"name": "Matrix", "type": "echo",
                                                      "target": {"labels": {}}}),
        ("post", "/api/v1/fleet/tasks") => {
            json!({"type": "echo", "payload": {}, "target": {"labels": {}}})
        }
        _ => return None,
    })
}

fn concrete(path: &str, params: &BTreeMap<&'static str, String>) -> (String, bool) {
    let mut targets_acme = false;
    let filled = path
        .split('/')
        .map(|seg| {
            if !seg.starts_with('{') {
                return seg.to_owned();
            }
            let key = match (seg, path.contains("api-keys"), path.contains("invites")) {
                ("{id}", true, _) => "api-key",
                ("{id}", _, true) => "invite",
                ("{id}", _, _) if path.contains("gateway/keys") => "gateway-key",
                ("{name}", _, _) if path.contains("/tools/") => "tool",
                ("{id}", _, _) if path.contains("/approvals/") => "approval",
                ("{id}", _, _) if path.contains("/webhooks/") => "webhook",
                ("{id}", _, _) if path.contains("/conversations/") => "conversation",
                ("{id}", _, _) if path.contains("/runs/") => "run",
                ("{id}", _, _) if path.contains("/tickets/") => "ticket",
                ("{id}", _, _) if path.contains("/requests/") => "request",
                ("{id}", _, _) if path.contains("/projects/") => "project",
                ("{id}", _, _) if path.contains("/memory/") => "memory",
                ("{id}", _, _) if path.contains("/documents/") => "document",
                ("{id}", _, _) if path.contains("/registration-tokens/") => "fleet-token",
                ("{id}", _, _) if path.contains("/fleet/agents/") => "fleet-agent",
                ("{id}", _, _) if path.contains("/fleet/templates/") => "fleet-template",
                ("{id}", _, _) if path.contains("/tasks/") => "fleet-task",
                (other, _, _) => other,
            };
            // `{slug}` names any organisation; `{name}` is a provider of the caller's own.
            // Tools are the installation's.
            targets_acme |= key != "{slug}" && key != "{name}" && key != "tool";
            params
                .get(key)
                .unwrap_or_else(|| panic!("{path}: no fixture for {key}"))
                .clone()
        })
        .collect::<Vec<_>>()
        .join("/");
    (filled, targets_acme)
}

server_tests! {
    async fn every_route_answers_every_caller_as_the_matrix_says(server: TestServer) {
        let fixture = fixture(&server).await;
        let spec: Value = server.get("/api/v1/openapi.json").await.json().await.unwrap();
        let mut operations = Vec::new();
        for (path, item) in spec["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                let need = requirement(method, path)
                    .unwrap_or_else(|| panic!("{method} {path} has no entry in the authorisation matrix"));
                operations.push((method.clone(), path.clone(), need));
            }
        }
        // Signing out ends the callers' sessions: do it last. Deleting a target comes after
        // the other operations on it.
        operations.sort_by_key(|(m, p, _)| (p == "/api/v1/auth/logout", p.clone(), m == "delete", m.clone()));
        let mut deleted = std::collections::HashSet::new();
        let mut failures = Vec::new();
        let mut checked = 0;
        for (method, path, need) in &operations {
            let (url, targets_acme) = concrete(path, &fixture.params);
            for who in &fixture.callers {
                let want = expected(*need, who, targets_acme);
                let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let (status, body) = server.send(&who.caller, m, &url, body_for(method, path)).await;
                let code = body["error"]["code"].as_str().unwrap_or("");
                let ok = match &want {
                    // A 404 is fine only once an earlier caller deleted the target (or for a
                    // public route given an unknown token).
                    Outcome::Allowed if status == 404 => {
                        *need == Need::Public || deleted.iter().any(|d: &String| url.starts_with(d.as_str()))
                    }
                    Outcome::Allowed => !REFUSALS.contains(&code),
                    // Setup attempts after setup are also throttled per client.
                    Outcome::Code(403, "invalid_setup_code") => {
                        (status, code) == (403, "invalid_setup_code") || (status, code) == (429, "rate_limited")
                    }
                    Outcome::Code(s, c) => status == *s && code == *c,
                };
                if method == "delete" && (200..300).contains(&status) {
                    deleted.insert(url.clone());
                }
                if !ok {
                    failures.push(format!("{method} {path} as {}: expected {want:?}, got {status} {code}", who.name));
                }
                checked += 1;
            }
        }
        assert!(failures.is_empty(), "{} of {checked} checks failed:\n{}", failures.len(), failures.join("\n"));
        assert!(checked >= 25 * 9, "only {checked} checks");
    }
}
