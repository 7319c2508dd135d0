//! Memory tools: the assistant remembers (T2), recalls (T1) and forgets (T4) facts through
//! the same service as `/api/v1/memory` (`crate::memory`).

use std::future::Future;
use std::pin::Pin;

use serde_json::{json, Value};
use switchboard_domain::{Role, Tier};

use super::{ToolDef, ToolFailure, ToolResult};
use crate::identity::Principal;
use crate::memory::MemoryInput;
use crate::App;

type Running<'a> = Pin<Box<dyn Future<Output = ToolResult> + Send + 'a>>;

pub(super) fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef {
            name: "memory.remember",
            description: "Remember a fact for later: about this person (`user`, the default) or \
                          for the whole organisation (`organization`). Never credentials.",
            input_schema: json!({
                "type": "object", "additionalProperties": false, "required": ["content"],
                "properties": {
                    "content": {"type": "string", "minLength": 1, "maxLength": 2000},
                    "scope": {"type": "string", "enum": ["user", "organization"]}
                }
            }),
            min_role: Role::Member,
            tier: Tier::T2,
            tier_for: None,
            check: None,
            run: remember,
        },
        ToolDef {
            name: "memory.recall",
            description: "Recall remembered facts by words, best match first (the \
                          organisation's and this person's).",
            input_schema: json!({
                "type": "object", "additionalProperties": false, "required": ["q"],
                "properties": {
                    "q": {"type": "string", "minLength": 1, "maxLength": 500},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 50}
                }
            }),
            min_role: Role::Viewer,
            tier: Tier::T1,
            tier_for: None,
            check: None,
            run: recall,
        },
        ToolDef {
            name: "memory.forget",
            description: "Forget a remembered fact by its `id` (from recall).",
            input_schema: json!({
                "type": "object", "additionalProperties": false, "required": ["id"],
                "properties": {"id": {"type": "string", "maxLength": 40}}
            }),
            min_role: Role::Member,
            tier: Tier::T4,
            tier_for: None,
            check: None,
            run: forget,
        },
    ]
}

fn remember<'a>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let input = MemoryInput {
            content: args["content"].as_str().unwrap_or_default().to_owned(),
            scope: args["scope"].as_str().map(str::to_owned),
        };
        let done = app.remember(p, input).await?;
        serde_json::to_value(done).map_err(|e| ToolFailure(e.to_string()))
    })
}

fn recall<'a>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let limit = args["limit"].as_u64().and_then(|n| u32::try_from(n).ok());
        let found = app
            .recall(p, args["q"].as_str().unwrap_or_default(), limit)
            .await?;
        Ok(json!({"results": found}))
    })
}

fn forget<'a>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let id = args["id"].as_str().unwrap_or_default();
        app.forget(p, id).await?;
        Ok(json!({"forgotten": id}))
    })
}
