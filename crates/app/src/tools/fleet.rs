//! Fleet tools: the assistant lists the organisation's agents (T1), reads a task (T1) and
//! runs one (`fleet.run`: T2 for echo, checks and reads; T3 — an admin's approval — for
//! anything that changes a server), through the same service as `/api/v1/fleet`.

use std::future::Future;
use std::pin::Pin;

use serde_json::{json, Value};
use switchboard_domain::{Role, Tier};

use super::{ToolDef, ToolFailure, ToolResult};
use crate::fleet::{FleetError, NewTask};
use crate::identity::Principal;
use crate::App;

type Running<'a> = Pin<Box<dyn Future<Output = ToolResult> + Send + 'a>>;

impl From<FleetError> for ToolFailure {
    fn from(e: FleetError) -> Self {
        ToolFailure(e.to_string())
    }
}

pub(super) fn tools() -> Vec<ToolDef> {
    let types: Vec<&str> = switchboard_domain::fleet::TASK_TYPES
        .iter()
        .map(|(k, _)| *k)
        .collect();
    vec![
        ToolDef {
            name: "fleet.agents",
            description: "List this organisation's server agents: name, host, labels, \
                          online/offline and when last seen.",
            input_schema: json!({"type": "object", "additionalProperties": false, "properties": {}}),
            min_role: Role::Viewer,
            tier: Tier::T1,
            tier_for: None,
            check: None,
            run: agents,
        },
        ToolDef {
            name: "fleet.task_status",
            description: "A fleet task's status, attempts, result and history by its `id`.",
            input_schema: json!({"type": "object", "additionalProperties": false, "required": ["id"],
                                 "properties": {"id": {"type": "string", "maxLength": 40}}}),
            min_role: Role::Viewer,
            tier: Tier::T1,
            tier_for: None,
            check: None,
            run: task_status,
        },
        ToolDef {
            name: "fleet.run",
            description: "Run a task on a server agent: `type` (echo, http.check, file.read, \
                          env.read, shell, file.write, env.update, compose, composite), its \
                          `payload`, and a `target` (`agent_id`, or `labels` every one of \
                          which the agent must carry). Tasks that change a server wait for an \
                          admin's approval. The agent runs only what its own allowlist permits.",
            input_schema: json!({
                "type": "object", "additionalProperties": false, "required": ["type", "target"],
                "properties": {
                    "type": {"type": "string", "enum": types},
                    "payload": {"type": "object"},
                    "target": {
                        "type": "object", "additionalProperties": false,
                        "properties": {
                            "agent_id": {"type": "string", "maxLength": 40},
                            "labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 63}}
                        }
                    },
                    "idempotency_key": {"type": "string", "maxLength": 200},
                    "max_attempts": {"type": "integer", "minimum": 1, "maximum": 10},
                    "priority": {"type": "integer", "minimum": -100, "maximum": 100}
                }
            }),
            min_role: Role::Member,
            tier: Tier::T2,
            tier_for: Some(crate::fleet::tier_of_call),
            check: Some(crate::fleet::payload_problems),
            run: run_task,
        },
    ]
}

fn agents<'a>(app: &'a App, p: &'a Principal, _args: Value) -> Running<'a> {
    Box::pin(async move { Ok(json!({"agents": app.fleet_agents(p).await?})) })
}

fn task_status<'a>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let detail = app
            .fleet_task(p, args["id"].as_str().unwrap_or_default())
            .await?;
        serde_json::to_value(detail).map_err(|e| ToolFailure(e.to_string()))
    })
}

fn run_task<'a>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let input: NewTask = serde_json::from_value(args)
            .map_err(|e| ToolFailure(format!("The task is not well-formed: {e}")))?;
        let (task, new) = app.create_task(p, input).await?;
        let mut answer = serde_json::to_value(task).map_err(|e| ToolFailure(e.to_string()))?;
        answer["new"] = json!(new);
        Ok(answer)
    })
}
