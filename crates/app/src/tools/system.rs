//! System tools: what the hub itself knows, useful from the first day. Each calls the same
//! service the API uses, as the caller (services check the caller's rights again).

use std::future::Future;
use std::pin::Pin;

use serde_json::{json, Value};
use switchboard_domain::{Role, Tier, Timestamp};
use switchboard_store::{AuditFilter, UsageGroup};

use super::{ToolDef, ToolFailure, ToolResult};
use crate::identity::Principal;
use crate::App;

type Running<'a> = Pin<Box<dyn Future<Output = ToolResult> + Send + 'a>>;

pub(super) fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef {
            name: "audit.search",
            description: "Search this organisation's audit log: who did what and when, newest \
                           first. Filter by event kind prefix (e.g. `tool.`, `auth.login`), actor \
                           id and time range.",
            input_schema: json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "kind": {"type": "string", "maxLength": 100, "description": "Event kind prefix"},
                    "actor": {"type": "string", "maxLength": 100},
                    "since": {"type": "string", "format": "date-time"},
                    "until": {"type": "string", "format": "date-time"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 200}
                }
            }),
            min_role: Role::Admin,
            tier: Tier::T1,
            tier_for: None,
            check: None,
            run: audit_search,
        },
        ToolDef {
            name: "usage.summary",
            description: "Model usage of this organisation (requests, errors, tokens, cost in \
                           USD) in a period, grouped by day, model or key.",
            input_schema: json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "from": {"type": "string", "format": "date-time"},
                    "to": {"type": "string", "format": "date-time"},
                    "group_by": {"type": "string", "enum": ["day", "model", "key"]}
                }
            }),
            min_role: Role::Admin,
            tier: Tier::T1,
            tier_for: None,
            check: None,
            run: usage_summary,
        },
        ToolDef {
            name: "approvals.list",
            description: "Approval requests of this organisation, newest first: the tool, its \
                           (guarded) arguments, tier, who asked, the status and the result.",
            input_schema: json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "status": {"type": "string",
                               "enum": ["pending", "approved", "denied", "expired", "executed", "failed"]}
                }
            }),
            min_role: Role::Viewer,
            tier: Tier::T1,
            tier_for: None,
            check: None,
            run: approvals_list,
        },
        ToolDef {
            name: "org.members",
            description: "The members of this organisation: name, email and role.",
            input_schema: json!({"type": "object", "additionalProperties": false, "properties": {}}),
            min_role: Role::Viewer,
            tier: Tier::T1,
            tier_for: None,
            check: None,
            run: org_members,
        },
    ]
}

fn time(arguments: &Value, field: &str) -> Option<Timestamp> {
    arguments[field]
        .as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}

fn audit_search<'a>(app: &'a App, principal: &'a Principal, arguments: Value) -> Running<'a> {
    Box::pin(async move {
        let filter = AuditFilter {
            kind_prefix: arguments["kind"].as_str().map(str::to_owned),
            actor_id: arguments["actor"].as_str().map(str::to_owned),
            since: time(&arguments, "since"),
            until: time(&arguments, "until"),
            after_seq: 0,
            before_seq: None,
            newest_first: true,
            limit: arguments["limit"]
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(50),
        };
        let events = app.identity.audit_events(principal, filter).await?;
        let events: Vec<Value> = events
            .iter()
            .map(|e| {
                json!({
                    "seq": e.seq,
                    "at": e.at.to_rfc3339(),
                    "actor_kind": e.actor_kind,
                    "actor_id": e.actor_id,
                    "kind": e.kind,
                    "target": e.target,
                    "decision": e.decision,
                    "details": serde_json::from_str::<Value>(&e.details).unwrap_or(Value::Null),
                })
            })
            .collect();
        Ok(json!({"events": events}))
    })
}

fn usage_summary<'a>(app: &'a App, principal: &'a Principal, arguments: Value) -> Running<'a> {
    Box::pin(async move {
        let to = time(&arguments, "to").unwrap_or_else(|| app.clock.now());
        let from = time(&arguments, "from").unwrap_or(to - chrono::Duration::days(30));
        let group = match arguments["group_by"].as_str().unwrap_or("day") {
            "model" => UsageGroup::Model,
            "key" => UsageGroup::Key,
            _ => UsageGroup::Day,
        };
        let rows = app
            .gateway
            .usage_summary(principal, from, to, group)
            .await
            .map_err(|e| ToolFailure(e.to_string()))?;
        let rows: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "group": r.group, "requests": r.requests, "errors": r.errors,
                    "input_tokens": r.input_tokens, "output_tokens": r.output_tokens,
                    "cost_usd": r.cost_usd,
                })
            })
            .collect();
        Ok(json!({"from": from.to_rfc3339(), "to": to.to_rfc3339(), "rows": rows}))
    })
}

fn approvals_list<'a>(app: &'a App, principal: &'a Principal, arguments: Value) -> Running<'a> {
    Box::pin(async move {
        let status = arguments["status"]
            .as_str()
            .and_then(switchboard_domain::ApprovalStatus::parse);
        let list = app
            .list_approvals(principal, status)
            .await
            .map_err(|e| ToolFailure(e.to_string()))?;
        Ok(json!({"approvals": list}))
    })
}

fn org_members<'a>(app: &'a App, principal: &'a Principal, _arguments: Value) -> Running<'a> {
    Box::pin(async move {
        let members = app.identity.list_members(principal).await?;
        let members: Vec<Value> = members
            .iter()
            .map(|m| json!({"name": m.name, "email": m.email, "role": m.role.as_str()}))
            .collect();
        Ok(json!({"members": members}))
    })
}
