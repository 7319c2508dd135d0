//! Workspace tools: requests and tickets for the assistant, through the same services as the
//! API (`crate::workspace`). Reads are T1; filing, commenting and status changes T2 (status
//! changes for admins); deletes T4.

use std::future::Future;
use std::pin::Pin;

use serde_json::{json, Value};
use switchboard_domain::{ItemKind, Role, Tier};

use super::{ToolDef, ToolFailure, ToolResult};
use crate::identity::Principal;
use crate::workspace::{
    CommentInput, ItemInput, ItemPatch, ItemQuery, MilestoneInput, MilestonePatch, ProjectInput,
    ProjectPatch, ProjectQuery, WorkspaceError,
};
use crate::App;

type Running<'a> = Pin<Box<dyn Future<Output = ToolResult> + Send + 'a>>;

impl From<WorkspaceError> for ToolFailure {
    fn from(e: WorkspaceError) -> Self {
        ToolFailure(e.to_string())
    }
}

const fn kind(ticket: bool) -> ItemKind {
    if ticket {
        ItemKind::Ticket
    } else {
        ItemKind::Request
    }
}

fn id_schema(what: &str) -> Value {
    json!({"type": "string", "maxLength": 40, "description": format!("The {what}'s `id` (from a list)")})
}

pub(super) fn tools() -> Vec<ToolDef> {
    let mut tools = Vec::new();
    for ticket in [true, false] {
        let k = kind(ticket);
        let what = k.as_str();
        let statuses: Vec<&str> = k.statuses().to_vec();
        let priorities = ["low", "medium", "high", "critical"];
        let names: [&'static str; 6] = if ticket {
            [
                "workspace.list_tickets",
                "workspace.get_ticket",
                "workspace.create_ticket",
                "workspace.comment_ticket",
                "workspace.set_ticket_status",
                "workspace.delete_ticket",
            ]
        } else {
            [
                "workspace.list_requests",
                "workspace.get_request",
                "workspace.create_request",
                "workspace.comment_request",
                "workspace.set_request_status",
                "workspace.delete_request",
            ]
        };
        let descriptions: [&'static str; 6] = if ticket {
            [
                "List this organisation's tickets (problems to fix), most recently changed \
                 first: reference, title, priority, status. Filter by status, priority and words.",
                "One ticket with its description, comments and activity.",
                "File a ticket: a title, a description of the problem, a priority.",
                "Comment on a ticket; `internal` comments are for staff only.",
                "Move a ticket to another status (open, in_progress, waiting_on_client, \
                 resolved, closed).",
                "Delete a ticket and its comments.",
            ]
        } else {
            [
                "List this organisation's requests (things people asked for), most recently \
                 changed first: reference, title, priority, status. Filter by status, priority \
                 and words.",
                "One request with its description, comments and activity.",
                "File a request: a title, what is asked for, a priority, a category.",
                "Comment on a request; `internal` comments are for staff only.",
                "Move a request to another status (submitted, under_review, in_progress, \
                 completed, cancelled).",
                "Delete a request and its comments.",
            ]
        };
        tools.push(ToolDef {
            name: names[0],
            description: descriptions[0],
            input_schema: json!({
                "type": "object", "additionalProperties": false,
                "properties": {
                    "status": {"type": "string", "enum": statuses},
                    "priority": {"type": "string", "enum": priorities},
                    "q": {"type": "string", "maxLength": 200},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 50}
                }
            }),
            min_role: Role::Viewer,
            tier: Tier::T1,
            tier_for: None,
            check: None,
            run: if ticket { list::<true> } else { list::<false> },
        });
        tools.push(ToolDef {
            name: names[1],
            description: descriptions[1],
            input_schema: json!({
                "type": "object", "additionalProperties": false, "required": ["id"],
                "properties": {"id": id_schema(what)}
            }),
            min_role: Role::Viewer,
            tier: Tier::T1,
            tier_for: None,
            check: None,
            run: if ticket { get::<true> } else { get::<false> },
        });
        tools.push(ToolDef {
            name: names[2],
            description: descriptions[2],
            input_schema: json!({
                "type": "object", "additionalProperties": false, "required": ["title"],
                "properties": {
                    "title": {"type": "string", "minLength": 1, "maxLength": 200},
                    "description": {"type": "string", "maxLength": 20000},
                    "priority": {"type": "string", "enum": priorities},
                    "category": {"type": "string", "maxLength": 60}
                }
            }),
            min_role: Role::Member,
            tier: Tier::T2,
            tier_for: None,
            check: None,
            run: if ticket {
                create::<true>
            } else {
                create::<false>
            },
        });
        tools.push(ToolDef {
            name: names[3],
            description: descriptions[3],
            input_schema: json!({
                "type": "object", "additionalProperties": false, "required": ["id", "body"],
                "properties": {
                    "id": id_schema(what),
                    "body": {"type": "string", "minLength": 1, "maxLength": 20000},
                    "internal": {"type": "boolean"}
                }
            }),
            min_role: Role::Member,
            tier: Tier::T2,
            tier_for: None,
            check: None,
            run: if ticket {
                comment::<true>
            } else {
                comment::<false>
            },
        });
        tools.push(ToolDef {
            name: names[4],
            description: descriptions[4],
            input_schema: json!({
                "type": "object", "additionalProperties": false, "required": ["id", "status"],
                "properties": {"id": id_schema(what), "status": {"type": "string", "enum": statuses}}
            }),
            min_role: Role::Admin,
            tier: Tier::T2,
            tier_for: None,
            check: None,
            run: if ticket { set_status::<true> } else { set_status::<false> },
        });
        tools.push(ToolDef {
            name: names[5],
            description: descriptions[5],
            input_schema: json!({
                "type": "object", "additionalProperties": false, "required": ["id"],
                "properties": {"id": id_schema(what)}
            }),
            min_role: Role::Admin,
            tier: Tier::T4,
            tier_for: None,
            check: None,
            run: if ticket {
                delete::<true>
            } else {
                delete::<false>
            },
        });
    }
    tools.extend(project_tools());
    tools.push(ToolDef {
        name: "workspace.dashboard",
        description: "How many requests and tickets this organisation has in each status.",
        input_schema: json!({"type": "object", "additionalProperties": false, "properties": {}}),
        min_role: Role::Viewer,
        tier: Tier::T1,
        tier_for: None,
        check: None,
        run: dashboard,
    });
    tools
}

fn text(arguments: &Value, field: &str) -> Option<String> {
    arguments[field].as_str().map(str::to_owned)
}

fn list<'a, const TICKET: bool>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let query = ItemQuery {
            status: text(&args, "status"),
            priority: text(&args, "priority"),
            q: text(&args, "q"),
            page: None,
            per_page: Some(
                args["limit"]
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(20),
            ),
        };
        let page = app.list_items(p, kind(TICKET), &query).await?;
        let items: Vec<Value> = page
            .items
            .iter()
            .map(|i| {
                json!({"id": i.id, "reference": i.reference, "title": i.title,
                       "priority": i.priority, "status": i.status, "updated_at": i.updated_at})
            })
            .collect();
        Ok(json!({"total": page.total, "items": items}))
    })
}

fn get<'a, const TICKET: bool>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let id = text(&args, "id").unwrap_or_default();
        let detail = app.item(p, kind(TICKET), &id).await?;
        serde_json::to_value(detail).map_err(|e| ToolFailure(e.to_string()))
    })
}

fn create<'a, const TICKET: bool>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let input = ItemInput {
            title: text(&args, "title").unwrap_or_default(),
            description: text(&args, "description").unwrap_or_default(),
            priority: text(&args, "priority"),
            category: text(&args, "category"),
        };
        let item = app.create_item(p, kind(TICKET), input).await?;
        Ok(json!({"id": item.id, "reference": item.reference, "status": item.status}))
    })
}

fn comment<'a, const TICKET: bool>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let id = text(&args, "id").unwrap_or_default();
        let input = CommentInput {
            body: text(&args, "body").unwrap_or_default(),
            internal: args["internal"].as_bool().unwrap_or(false),
        };
        let comment = app.comment_item(p, kind(TICKET), &id, input).await?;
        Ok(json!({"comment_id": comment.id}))
    })
}

fn set_status<'a, const TICKET: bool>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let id = text(&args, "id").unwrap_or_default();
        let patch = ItemPatch {
            status: text(&args, "status"),
            ..ItemPatch::default()
        };
        let item = app.update_item(p, kind(TICKET), &id, patch).await?;
        Ok(json!({"id": item.id, "reference": item.reference, "status": item.status}))
    })
}

fn delete<'a, const TICKET: bool>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let id = text(&args, "id").unwrap_or_default();
        app.delete_item(p, kind(TICKET), &id).await?;
        Ok(json!({"deleted": id}))
    })
}

fn dashboard<'a>(app: &'a App, p: &'a Principal, _args: Value) -> Running<'a> {
    Box::pin(async move { Ok(app.item_counts(p).await?) })
}

fn project_tools() -> Vec<ToolDef> {
    let project_id = json!({"type": "string", "maxLength": 40, "description": "The project's `id` (from a list)"});
    let date = json!({"type": "string", "format": "date", "description": "YYYY-MM-DD"});
    vec![
        ToolDef {
            name: "workspace.list_projects",
            description: "List this organisation's projects, most recently changed first: name, \
                          status and dates. Filter by status and words.",
            input_schema: json!({
                "type": "object", "additionalProperties": false,
                "properties": {
                    "status": {"type": "string", "enum": switchboard_domain::workspace::project::STATUSES},
                    "q": {"type": "string", "maxLength": 200}
                }
            }),
            min_role: Role::Viewer,
            tier: Tier::T1,
            tier_for: None,
            check: None,
            run: list_projects,
        },
        ToolDef {
            name: "workspace.get_project",
            description:
                "One project with its milestones in order, their progress, and its activity.",
            input_schema: json!({"type": "object", "additionalProperties": false, "required": ["id"],
                                 "properties": {"id": project_id}}),
            min_role: Role::Viewer,
            tier: Tier::T1,
            tier_for: None,
            check: None,
            run: get_project,
        },
        ToolDef {
            name: "workspace.create_project",
            description: "Start a project: a name, a description, start and due dates.",
            input_schema: json!({
                "type": "object", "additionalProperties": false, "required": ["name"],
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 200},
                    "description": {"type": "string", "maxLength": 20000},
                    "start_date": date, "due_date": date
                }
            }),
            min_role: Role::Member,
            tier: Tier::T2,
            tier_for: None,
            check: None,
            run: create_project,
        },
        ToolDef {
            name: "workspace.add_milestone",
            description: "Add a milestone at the end of a project's list.",
            input_schema: json!({
                "type": "object", "additionalProperties": false, "required": ["project_id", "title"],
                "properties": {
                    "project_id": project_id,
                    "title": {"type": "string", "minLength": 1, "maxLength": 200},
                    "due_date": date
                }
            }),
            min_role: Role::Member,
            tier: Tier::T2,
            tier_for: None,
            check: None,
            run: add_milestone,
        },
        ToolDef {
            name: "workspace.update_milestone",
            description: "Change a milestone: status (pending, in_progress, done), progress \
                          (0–100; 100 finishes it), title, due date.",
            input_schema: json!({
                "type": "object", "additionalProperties": false, "required": ["project_id", "milestone_id"],
                "properties": {
                    "project_id": project_id,
                    "milestone_id": {"type": "string", "maxLength": 40},
                    "status": {"type": "string", "enum": switchboard_domain::workspace::milestone::STATUSES},
                    "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                    "title": {"type": "string", "minLength": 1, "maxLength": 200},
                    "due_date": date
                }
            }),
            min_role: Role::Member,
            tier: Tier::T2,
            tier_for: None,
            check: None,
            run: update_milestone,
        },
        ToolDef {
            name: "workspace.set_project_status",
            description:
                "Move a project to another status (planned, active, on_hold, completed, cancelled).",
            input_schema: json!({
                "type": "object", "additionalProperties": false, "required": ["id", "status"],
                "properties": {"id": project_id,
                    "status": {"type": "string", "enum": switchboard_domain::workspace::project::STATUSES}}
            }),
            min_role: Role::Admin,
            tier: Tier::T2,
            tier_for: None,
            check: None,
            run: set_project_status,
        },
        ToolDef {
            name: "workspace.delete_project",
            description: "Delete a project and its milestones.",
            input_schema: json!({"type": "object", "additionalProperties": false, "required": ["id"],
                                 "properties": {"id": project_id}}),
            min_role: Role::Admin,
            tier: Tier::T4,
            tier_for: None,
            check: None,
            run: delete_project,
        },
    ]
}

fn list_projects<'a>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let query = ProjectQuery {
            status: text(&args, "status"),
            q: text(&args, "q"),
            page: None,
            per_page: Some(50),
        };
        let page = app.list_projects(p, &query).await?;
        let projects: Vec<Value> = page
            .projects
            .iter()
            .map(|x| {
                json!({"id": x.id, "name": x.name, "status": x.status,
                            "start_date": x.start_date, "due_date": x.due_date})
            })
            .collect();
        Ok(json!({"total": page.total, "projects": projects}))
    })
}

fn get_project<'a>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let detail = app
            .project(p, &text(&args, "id").unwrap_or_default())
            .await?;
        serde_json::to_value(detail).map_err(|e| ToolFailure(e.to_string()))
    })
}

fn create_project<'a>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let input = ProjectInput {
            name: text(&args, "name").unwrap_or_default(),
            description: text(&args, "description").unwrap_or_default(),
            start_date: text(&args, "start_date"),
            due_date: text(&args, "due_date"),
        };
        let project = app.create_project(p, input).await?;
        Ok(json!({"id": project.id, "status": project.status}))
    })
}

fn add_milestone<'a>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let input = MilestoneInput {
            title: text(&args, "title").unwrap_or_default(),
            due_date: text(&args, "due_date"),
        };
        let m = app
            .add_milestone(p, &text(&args, "project_id").unwrap_or_default(), input)
            .await?;
        Ok(json!({"milestone_id": m.id, "position": m.position}))
    })
}

fn update_milestone<'a>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let patch = MilestonePatch {
            title: text(&args, "title"),
            status: text(&args, "status"),
            progress: args["progress"].as_u64().and_then(|n| u8::try_from(n).ok()),
            due_date: text(&args, "due_date"),
            position: None,
        };
        let m = app
            .update_milestone(
                p,
                &text(&args, "project_id").unwrap_or_default(),
                &text(&args, "milestone_id").unwrap_or_default(),
                patch,
            )
            .await?;
        serde_json::to_value(m).map_err(|e| ToolFailure(e.to_string()))
    })
}

fn set_project_status<'a>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let patch = ProjectPatch {
            status: text(&args, "status"),
            ..ProjectPatch::default()
        };
        let project = app
            .update_project(p, &text(&args, "id").unwrap_or_default(), patch)
            .await?;
        Ok(json!({"id": project.id, "status": project.status}))
    })
}

fn delete_project<'a>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let id = text(&args, "id").unwrap_or_default();
        app.delete_project(p, &id).await?;
        Ok(json!({"deleted": id}))
    })
}
