//! Requests and tickets over HTTP: filing, validation that names the field, lists with
//! filters and pages, changes by role, status moves along each kind's lines, comments
//! (internal ones hidden from viewers), the activity log and the audit log, other tenants
//! seeing nothing, and the same through the `workspace.*` tools.

use reqwest::Method;
use serde_json::{json, Value};

use crate::server_tests;

fn field(body: &Value) -> Option<&str> {
    body["error"]["details"]["field"].as_str()
}

server_tests! {
    async fn a_ticket_is_filed_worked_on_and_resolved(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let member = server.member(&owner, "me@acme.test", "member").await;
        let viewer = server.member(&owner, "vi@acme.test", "viewer").await;

        // Bad input names the field and files nothing.
        for (body, expected) in [
            (json!({"title": "  ", "description": "x"}), "title"),
            (json!({"title": "Printer", "priority": "urgent"}), "priority"),
            (json!({"title": "x".repeat(201)}), "title"),
        ] {
            let (status, answer) = server.send(&member, Method::POST, "/api/v1/tickets", Some(body)).await;
            assert_eq!((status, field(&answer)), (400, Some(expected)), "{answer}");
        }
        let (status, answer) = server.send(&member, Method::POST, "/api/v1/tickets", Some(json!({"title": "x", "colour": "red"}))).await;
        assert_eq!(status, 400, "unknown fields are refused: {answer}");
        let (status, _) = server.send(&viewer, Method::POST, "/api/v1/tickets", Some(json!({"title": "Viewer's"}))).await;
        assert_eq!(status, 403, "viewers only read");
        let (_, empty) = server.send(&member, Method::GET, "/api/v1/tickets", None).await;
        assert_eq!(empty["total"], 0, "nothing was filed: {empty}");

        let (status, t) = server.send(&member, Method::POST, "/api/v1/tickets",
            Some(json!({"title": "Printer on fire", "description": "Smoke from tray 2", "priority": "high"}))).await;
        assert_eq!(status, 201, "{t}");
        assert_eq!((t["reference"].as_str(), t["status"].as_str(), t["priority"].as_str()), (Some("T-1"), Some("open"), Some("high")));
        let id = t["id"].as_str().unwrap().to_owned();
        let (_, second) = server.send(&member, Method::POST, "/api/v1/tickets", Some(json!({"title": "VPN slow"}))).await;
        assert_eq!((second["reference"].as_str(), second["priority"].as_str()), (Some("T-2"), Some("medium")));

        // Lists: filters, words, pages; bad filters name the field.
        let (_, open) = server.send(&viewer, Method::GET, "/api/v1/tickets?status=open", None).await;
        assert_eq!(open["total"], 2);
        let (_, found) = server.send(&viewer, Method::GET, "/api/v1/tickets?q=printer", None).await;
        assert_eq!(found["items"][0]["id"].as_str(), Some(id.as_str()));
        assert_eq!(found["total"], 1);
        let (_, page) = server.send(&viewer, Method::GET, "/api/v1/tickets?per_page=1&page=2", None).await;
        assert_eq!((page["items"].as_array().unwrap().len(), page["total"].as_u64()), (1, Some(2)));
        assert_eq!(page["items"][0]["id"].as_str(), Some(id.as_str()), "most recently changed first");
        let (status, answer) = server.send(&viewer, Method::GET, "/api/v1/tickets?status=completed", None).await;
        assert_eq!((status, field(&answer)), (400, Some("status")), "{answer}");
        let (status, answer) = server.send(&viewer, Method::GET, "/api/v1/tickets?per_page=500", None).await;
        assert_eq!((status, field(&answer)), (400, Some("per_page")));

        // Members change fields; only admins move the status, and only along the lines.
        let path = format!("/api/v1/tickets/{id}");
        let (status, changed) = server.send(&member, Method::PATCH, &path, Some(json!({"priority": "critical"}))).await;
        assert_eq!((status, changed["priority"].as_str()), (200, Some("critical")), "{changed}");
        let (status, _) = server.send(&member, Method::PATCH, &path, Some(json!({"status": "in_progress"}))).await;
        assert_eq!(status, 403);
        let (status, _) = server.send(&viewer, Method::PATCH, &path, Some(json!({"title": "Mine now"}))).await;
        assert_eq!(status, 403);
        for next in ["in_progress", "waiting_on_client", "resolved"] {
            let (status, moved) = server.send(&owner, Method::PATCH, &path, Some(json!({"status": next}))).await;
            assert_eq!((status, moved["status"].as_str()), (200, Some(next)), "{moved}");
        }
        let (_, resolved) = server.send(&viewer, Method::GET, &path, None).await;
        assert!(resolved["resolved_at"].is_string(), "{resolved}");
        let (status, answer) = server.send(&owner, Method::PATCH, &path, Some(json!({"status": "open"}))).await;
        assert_eq!((status, field(&answer)), (400, Some("status")), "{answer}");
        assert!(answer["error"]["message"].as_str().unwrap().contains("resolved to open"), "{answer}");

        // Comments: internal ones are for staff.
        let comments = format!("{path}/comments");
        let (status, _) = server.send(&member, Method::POST, &comments, Some(json!({"body": "Replaced the fuser", "internal": true}))).await;
        assert_eq!(status, 201);
        let (status, _) = server.send(&member, Method::POST, &comments, Some(json!({"body": "Fixed, please check"}))).await;
        assert_eq!(status, 201);
        let (status, answer) = server.send(&member, Method::POST, &comments, Some(json!({"body": ""}))).await;
        assert_eq!((status, field(&answer)), (400, Some("body")));
        let (_, seen_by_viewer) = server.send(&viewer, Method::GET, &path, None).await;
        let bodies: Vec<&str> = seen_by_viewer["comments"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap()).collect();
        assert_eq!(bodies, ["Fixed, please check"]);
        let (_, seen_by_member) = server.send(&member, Method::GET, &path, None).await;
        assert_eq!(seen_by_member["comments"].as_array().unwrap().len(), 2);
        assert_eq!(seen_by_member["comments"][1]["author"], "me@acme.test");

        // Every change is in the activity log (who, what, from → to) and the audit log.
        let activity = seen_by_member["activity"].as_array().unwrap();
        let lines: Vec<String> = activity.iter().map(|a| format!("{} {} {} {}",
            a["action"].as_str().unwrap(), a["field"].as_str().unwrap_or("-"),
            a["from"].as_str().unwrap_or("-"), a["to"].as_str().unwrap_or("-"))).collect();
        assert_eq!(lines, [
            "created - - -",
            "changed priority high critical",
            "changed status open in_progress",
            "changed status in_progress waiting_on_client",
            "changed status waiting_on_client resolved",
            "commented - - internal",
            "commented - - public",
        ]);
        let (_, audit) = server.send(&owner, Method::GET, "/api/v1/audit?kind=workspace.ticket", None).await;
        let kinds: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds.iter().filter(|k| **k == "workspace.ticket.created").count(), 2, "{kinds:?}");
        assert_eq!(kinds.iter().filter(|k| **k == "workspace.ticket.changed").count(), 4, "{kinds:?}");
        assert_eq!(kinds.iter().filter(|k| **k == "workspace.ticket.commented").count(), 2, "{kinds:?}");

        // Deleting is for admins; afterwards it is gone.
        let (status, _) = server.send(&member, Method::DELETE, &path, None).await;
        assert_eq!(status, 403);
        let (status, _) = server.send(&owner, Method::DELETE, &path, None).await;
        assert_eq!(status, 204);
        let (status, _) = server.send(&owner, Method::GET, &path, None).await;
        assert_eq!(status, 404);
        let (_, dashboard) = server.send(&viewer, Method::GET, "/api/v1/workspace/dashboard", None).await;
        assert_eq!(dashboard["tickets"]["open"], 1, "{dashboard}");
        assert_eq!(dashboard["requests"]["submitted"], 0, "{dashboard}");
    }

    async fn requests_have_their_own_lines_and_other_tenants_see_nothing(server: TestServer) {
        let operator = server.setup().await;
        let acme = server.org_with_owner(&operator, "acme").await;
        let globex = server.org_with_owner(&operator, "globex").await;
        let (status, r) = server.send(&acme, Method::POST, "/api/v1/requests",
            Some(json!({"title": "New laptop for Sam", "category": "hardware"}))).await;
        assert_eq!(status, 201, "{r}");
        assert_eq!((r["reference"].as_str(), r["status"].as_str(), r["category"].as_str()), (Some("R-1"), Some("submitted"), Some("hardware")));
        let path = format!("/api/v1/requests/{}", r["id"].as_str().unwrap());
        let (status, answer) = server.send(&acme, Method::PATCH, &path, Some(json!({"status": "completed"}))).await;
        assert_eq!((status, field(&answer)), (400, Some("status")), "submitted cannot jump to completed");
        for next in ["under_review", "in_progress", "completed"] {
            let (status, moved) = server.send(&acme, Method::PATCH, &path, Some(json!({"status": next}))).await;
            assert_eq!((status, moved["status"].as_str()), (200, Some(next)), "{moved}");
        }

        // Another organisation, the other kind's path, a malformed id: 404, nothing changes.
        let as_ticket = path.replace("/requests/", "/tickets/");
        for (caller, method, p, body) in [
            (&globex, Method::GET, path.clone(), None),
            (&globex, Method::PATCH, path.clone(), Some(json!({"title": "Hijacked"}))),
            (&globex, Method::POST, format!("{path}/comments"), Some(json!({"body": "hi"}))),
            (&globex, Method::DELETE, path.clone(), None),
            (&acme, Method::GET, as_ticket.clone(), None),
            (&acme, Method::PATCH, as_ticket, Some(json!({"title": "Wrong kind"}))),
            (&acme, Method::GET, "/api/v1/requests/not-an-id".to_owned(), None),
        ] {
            let (status, answer) = server.send(caller, method.clone(), &p, body).await;
            assert_eq!(status, 404, "{method} {p}: {answer}");
        }
        let (_, theirs) = server.send(&globex, Method::GET, "/api/v1/requests", None).await;
        assert_eq!(theirs["total"], 0);
        let (_, still) = server.send(&acme, Method::GET, &path, None).await;
        assert_eq!(still["title"], "New laptop for Sam");
        assert!(still["comments"].as_array().unwrap().is_empty());
    }

    async fn the_workspace_tools_use_the_same_rules(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let member = server.member(&owner, "me@acme.test", "member").await;
        let invoke = |caller, tool: &str, arguments: Value| {
            let server = &server;
            let path = format!("/api/v1/tools/{tool}/invoke");
            async move { server.send(caller, Method::POST, &path, Some(json!({"arguments": arguments}))).await }
        };
        let (status, made) = invoke(&member, "workspace.create_ticket", json!({"title": "Mail bounces", "priority": "high"})).await;
        assert_eq!(status, 200, "{made}");
        assert_eq!(made["result"]["reference"], "T-1");
        let id = made["result"]["id"].as_str().unwrap().to_owned();
        let (status, listed) = invoke(&member, "workspace.list_tickets", json!({"status": "open"})).await;
        assert_eq!((status, listed["result"]["total"].as_u64()), (200, Some(1)), "{listed}");
        let (status, answer) = invoke(&member, "workspace.list_tickets", json!({"status": "done"})).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("invalid_arguments")), "{answer}");
        let (status, answer) = invoke(&member, "workspace.set_ticket_status", json!({"id": id, "status": "resolved"})).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (403, Some("tool_denied")), "status changes are for admins: {answer}");
        let (status, moved) = invoke(&owner, "workspace.set_ticket_status", json!({"id": id, "status": "resolved"})).await;
        assert_eq!((status, moved["result"]["status"].as_str()), (200, Some("resolved")), "{moved}");
        let (status, _) = invoke(&member, "workspace.comment_ticket", json!({"id": id, "body": "Seen it"})).await;
        assert_eq!(status, 200);
        let (status, made) = invoke(&member, "workspace.create_request", json!({"title": "Access to the CRM"})).await;
        assert_eq!((status, made["result"]["reference"].as_str()), (200, Some("R-1")), "{made}");
        // Deleting is T4: it waits for a second person.
        let (status, pending) = invoke(&owner, "workspace.delete_ticket", json!({"id": id})).await;
        assert_eq!((status, pending["status"].as_str()), (202, Some("pending")), "{pending}");
        let (status, counts) = invoke(&member, "workspace.dashboard", json!({})).await;
        assert_eq!(status, 200);
        assert_eq!((counts["result"]["tickets"]["resolved"].as_u64(), counts["result"]["requests"]["submitted"].as_u64()), (Some(1), Some(1)), "{counts}");
        let (_, detail) = server.send(&owner, Method::GET, &format!("/api/v1/tickets/{id}"), None).await;
        assert_eq!(detail["comments"][0]["body"], "Seen it");
        assert_eq!(detail["activity"].as_array().unwrap().len(), 3, "{detail}");

        // Projects and milestones through the tools.
        let (status, made) = invoke(&member, "workspace.create_project", json!({"name": "Office move", "due_date": "2027-01-31"})).await;
        assert_eq!(status, 200, "{made}");
        let project = made["result"]["id"].as_str().unwrap().to_owned();
        let (status, answer) = invoke(&member, "workspace.create_project", json!({"name": "Bad", "due_date": "31.01.2027"})).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("invalid_arguments")), "{answer}");
        let (status, m) = invoke(&member, "workspace.add_milestone", json!({"project_id": project, "title": "Pack"})).await;
        assert_eq!((status, m["result"]["position"].as_i64()), (200, Some(1)), "{m}");
        let milestone = m["result"]["milestone_id"].as_str().unwrap().to_owned();
        let (status, m) = invoke(&member, "workspace.update_milestone", json!({"project_id": project, "milestone_id": milestone, "progress": 100})).await;
        assert_eq!((status, m["result"]["status"].as_str()), (200, Some("done")), "{m}");
        let (status, moved) = invoke(&owner, "workspace.set_project_status", json!({"id": project, "status": "active"})).await;
        assert_eq!((status, moved["result"]["status"].as_str()), (200, Some("active")), "{moved}");
        let (status, got) = invoke(&member, "workspace.get_project", json!({"id": project})).await;
        assert_eq!((status, got["result"]["progress"].as_i64()), (200, Some(100)), "{got}");
        let (status, listed) = invoke(&member, "workspace.list_projects", json!({"status": "active"})).await;
        assert_eq!((status, listed["result"]["total"].as_u64()), (200, Some(1)), "{listed}");
        let (status, pending) = invoke(&owner, "workspace.delete_project", json!({"id": project})).await;
        assert_eq!((status, pending["status"].as_str()), (202, Some("pending")), "{pending}");
    }
    async fn projects_have_milestones_in_order_with_progress(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let member = server.member(&owner, "me@acme.test", "member").await;
        let globex = server.org_with_owner(&operator, "globex").await;
        for (body, expected) in [
            (json!({"name": ""}), "name"),
            (json!({"name": "Move", "start_date": "2026-13-01"}), "start_date"),
            (json!({"name": "Move", "start_date": "2026-12-10", "due_date": "2026-12-01"}), "due_date"),
        ] {
            let (status, answer) = server.send(&member, Method::POST, "/api/v1/projects", Some(body)).await;
            assert_eq!((status, field(&answer)), (400, Some(expected)), "{answer}");
        }
        let (status, p) = server.send(&member, Method::POST, "/api/v1/projects",
            Some(json!({"name": "Office move", "start_date": "2026-12-01", "due_date": "2027-01-31"}))).await;
        assert_eq!((status, p["status"].as_str()), (201, Some("planned")), "{p}");
        let path = format!("/api/v1/projects/{}", p["id"].as_str().unwrap());
        let mut ids = Vec::new();
        for title in ["Pack", "Move", "Unpack"] {
            let (status, m) = server.send(&member, Method::POST, &format!("{path}/milestones"), Some(json!({"title": title}))).await;
            assert_eq!(status, 201, "{m}");
            ids.push(m["id"].as_str().unwrap().to_owned());
        }
        let milestone = |i: usize| format!("{path}/milestones/{}", ids[i]);
        let (status, m) = server.send(&member, Method::PATCH, &milestone(0), Some(json!({"progress": 100}))).await;
        assert_eq!((status, m["status"].as_str(), m["progress"].as_i64()), (200, Some("done"), Some(100)), "{m}");
        let (status, m) = server.send(&member, Method::PATCH, &milestone(1), Some(json!({"progress": 50}))).await;
        assert_eq!((status, m["status"].as_str()), (200, Some("in_progress")), "{m}");
        let (status, answer) = server.send(&member, Method::PATCH, &milestone(1), Some(json!({"progress": 101}))).await;
        assert_eq!((status, field(&answer)), (400, Some("progress")));
        let (status, answer) = server.send(&member, Method::PATCH, &milestone(0), Some(json!({"status": "pending"}))).await;
        assert_eq!((status, field(&answer)), (400, Some("status")), "done cannot go back to pending: {answer}");
        let (status, _) = server.send(&member, Method::PATCH, &milestone(2), Some(json!({"position": 1}))).await;
        assert_eq!(status, 200);
        let (_, detail) = server.send(&member, Method::GET, &path, None).await;
        let order: Vec<&str> = detail["milestones"].as_array().unwrap().iter().map(|m| m["title"].as_str().unwrap()).collect();
        assert_eq!(order, ["Pack", "Unpack", "Move"], "{detail}");
        assert_eq!(detail["progress"], 50, "(100 + 0 + 50) / 3");

        // Status: admins, along the lines.
        let (status, _) = server.send(&member, Method::PATCH, &path, Some(json!({"status": "active"}))).await;
        assert_eq!(status, 403);
        let (status, answer) = server.send(&owner, Method::PATCH, &path, Some(json!({"status": "completed"}))).await;
        assert_eq!((status, field(&answer)), (400, Some("status")), "{answer}");
        let (status, active) = server.send(&owner, Method::PATCH, &path, Some(json!({"status": "active", "due_date": ""}))).await;
        assert_eq!((status, active["status"].as_str(), active["due_date"].is_null()), (200, Some("active"), true), "{active}");
        let (_, listed) = server.send(&member, Method::GET, "/api/v1/projects?status=active&q=office", None).await;
        assert_eq!(listed["total"], 1, "{listed}");

        // Another organisation sees nothing and changes nothing.
        for (method, p, body) in [
            (Method::GET, path.clone(), None),
            (Method::PATCH, path.clone(), Some(json!({"name": "Hijacked"}))),
            (Method::POST, format!("{path}/milestones"), Some(json!({"title": "Theirs"}))),
            (Method::PATCH, milestone(0), Some(json!({"progress": 0}))),
            (Method::DELETE, milestone(0), None),
            (Method::DELETE, path.clone(), None),
        ] {
            let (status, answer) = server.send(&globex, method.clone(), &p, body).await;
            assert_eq!(status, 404, "{method} {p}: {answer}");
        }

        let (_, detail) = server.send(&member, Method::GET, &path, None).await;
        let actions: Vec<&str> = detail["activity"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
        assert_eq!(actions.iter().filter(|a| **a == "milestone_added").count(), 3, "{actions:?}");
        assert!(actions.contains(&"milestone_changed") && actions.contains(&"changed"), "{actions:?}");
        let (_, audit) = server.send(&owner, Method::GET, "/api/v1/audit?kind=workspace.project", None).await;
        assert!(audit.as_array().unwrap().len() >= 8, "{audit}");
        let (status, _) = server.send(&member, Method::DELETE, &milestone(2), None).await;
        assert_eq!(status, 403, "removing is for admins");
        let (status, _) = server.send(&owner, Method::DELETE, &milestone(2), None).await;
        assert_eq!(status, 204);
        let (status, _) = server.send(&owner, Method::DELETE, &path, None).await;
        assert_eq!(status, 204);
        let (status, _) = server.send(&owner, Method::GET, &path, None).await;
        assert_eq!(status, 404);
    }
    async fn memory_keeps_facts_once_refuses_secrets_and_recalls_by_words(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let member = server.member(&owner, "me@acme.test", "member").await;
        let viewer = server.member(&owner, "vi@acme.test", "viewer").await;
        let globex = server.org_with_owner(&operator, "globex").await;
        let remember = |caller, body: Value| {
            let server = &server;
            async move { server.send(caller, Method::POST, "/api/v1/memory", Some(body)).await }
        };
        let (status, fact) = remember(&member, json!({"content": "The office printer is a Brother on the second floor", "scope": "organization"})).await;
        assert_eq!((status, fact["scope"].as_str(), fact["new"].as_bool()), (201, Some("organization"), Some(true)), "{fact}");
        let (status, again) = remember(&member, json!({"content": "the office printer is a  BROTHER on the second floor", "scope": "organization"})).await;
        assert_eq!((status, again["new"].as_bool(), again["id"].as_str()), (200, Some(false), fact["id"].as_str()), "de-duplicated: {again}");
        let (status, mine) = remember(&viewer, json!({"content": "I print double-sided on the second floor"})).await;
        assert_eq!((status, mine["scope"].as_str()), (201, Some("user")), "a person's own by default: {mine}");
        let (status, _) = remember(&viewer, json!({"content": "Everyone prints in colour", "scope": "organization"})).await;
        assert_eq!(status, 403, "organisation-wide facts are for members and up");
        for (body, expected) in [
            (json!({"content": "   "}), "content"),
            (json!({"content": "x", "scope": "team"}), "scope"),
            (json!({"content": "The AWS key is AKIAIOSFODNN7EXAMPLE"}), "content"),
            (json!({"content": "admin password: Summer2024!"}), "content"),
        ] {
            let (status, answer) = remember(&member, body.clone()).await;
            assert_eq!((status, field(&answer)), (400, Some(expected)), "{body}: {answer}");
        }
        let (_, listed) = server.send(&member, Method::GET, "/api/v1/memory", None).await;
        assert_eq!(listed.as_array().unwrap().len(), 1, "the secrets were not kept; the viewer's fact is theirs: {listed}");

        let (status, found) = server.send(&viewer, Method::GET, "/api/v1/memory/search?q=printers%20floor", None).await;
        assert_eq!(status, 200);
        let results = found["results"].as_array().unwrap();
        assert_eq!(results.len(), 2, "the organisation's and the viewer's own: {found}");
        assert!(results.iter().all(|r| r["score"].as_f64().unwrap() > 0.0));
        let (_, theirs) = server.send(&globex, Method::GET, "/api/v1/memory/search?q=printer", None).await;
        assert!(theirs["results"].as_array().unwrap().is_empty(), "other tenants find nothing: {theirs}");
        let (_, others) = server.send(&member, Method::GET, "/api/v1/memory/search?q=double-sided", None).await;
        assert!(others["results"].as_array().unwrap().is_empty(), "nor other people's own facts: {others}");
        let (status, answer) = server.send(&member, Method::GET, "/api/v1/memory/search?q=%20", None).await;
        assert_eq!((status, field(&answer)), (400, Some("q")));

        // Forgetting: one's own, or admins the organisation's.
        let org_fact = format!("/api/v1/memory/{}", fact["id"].as_str().unwrap());
        let own_fact = format!("/api/v1/memory/{}", mine["id"].as_str().unwrap());
        let (status, _) = server.send(&member, Method::DELETE, &org_fact, None).await;
        assert_eq!(status, 403);
        let (status, _) = server.send(&member, Method::DELETE, &own_fact, None).await;
        assert_eq!(status, 404, "another person's fact is not there for them");
        let (status, _) = server.send(&globex, Method::DELETE, &org_fact, None).await;
        assert_eq!(status, 404);
        let (status, _) = server.send(&viewer, Method::DELETE, &own_fact, None).await;
        assert_eq!(status, 204);
        let (status, _) = server.send(&owner, Method::DELETE, &org_fact, None).await;
        assert_eq!(status, 204);
        let (_, gone) = server.send(&owner, Method::GET, "/api/v1/memory/search?q=printer", None).await;
        assert!(gone["results"].as_array().unwrap().is_empty(), "{gone}");
        let (_, audit) = server.send(&owner, Method::GET, "/api/v1/audit?kind=memory.", None).await;
        let kinds: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["memory.remembered", "memory.remembered", "memory.forgotten", "memory.forgotten"], "{audit}");
        assert!(!audit.to_string().contains("Brother"), "the audit log keeps no memory text");

        // The tools: remember, recall; forgetting waits for approval (T4).
        let invoke = |caller, tool: &str, arguments: Value| {
            let server = &server;
            let path = format!("/api/v1/tools/{tool}/invoke");
            async move { server.send(caller, Method::POST, &path, Some(json!({"arguments": arguments}))).await }
        };
        let (status, r) = invoke(&member, "memory.remember", json!({"content": "Backups run nightly at 02:00", "scope": "organization"})).await;
        assert_eq!((status, r["result"]["new"].as_bool()), (200, Some(true)), "{r}");
        let (status, r) = invoke(&member, "memory.recall", json!({"q": "when do backups run"})).await;
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["result"]["results"][0]["content"], "Backups run nightly at 02:00");
        let (status, r) = invoke(&member, "memory.remember", json!({"content": "root password: hunter2hunter2"})).await;
        assert_eq!((status, r["error"]["code"].as_str()), (502, Some("tool_failed")), "refused, as a tool failure: {r}");
        assert!(r["error"]["message"].as_str().unwrap().contains("credential"), "{r}");
        let (_, listed) = server.send(&member, Method::GET, "/api/v1/memory", None).await;
        let (status, pending) = invoke(&owner, "memory.forget", json!({"id": listed[0]["id"]})).await;
        assert_eq!((status, pending["status"].as_str()), (202, Some("pending")), "{pending}");
    }
}
