//! The tool layer over HTTP: the tools a caller may use (`GET /api/v1/tools`), calling one
//! (`POST /api/v1/tools/{name}/invoke`), and the organisation's tool settings and rules
//! (admins). Schema, policy and audit are the app's (`switchboard_app::tools`).

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_app::tools::{SettingsChange, ToolView};
use switchboard_domain::{Rule, Tier};
use utoipa::ToSchema;

use super::json::ApiJson;
use crate::auth::{Admin, Auth, Viewer};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::state::AppState;

/// The tools the caller may use in the current organisation, with the tier that applies and
/// what a call would get now (`allow`, `ask` or `deny`).
#[utoipa::path(get, path = "/api/v1/tools", tag = "tools",
    responses((status = 200, description = "Tools", body = Vec<Object>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
) -> Result<Json<Vec<ToolView>>, ApiError> {
    Ok(Json(state.app.list_tools(&auth).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvokeBody {
    /// The tool's arguments, matching its `input_schema`.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    arguments: Value,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

#[derive(Serialize, ToSchema)]
pub struct InvokeResult {
    #[schema(value_type = Object)]
    result: Value,
}

/// Calls a tool: arguments checked against its schema, then the policy, then the tool.
/// Every call is audited.
#[utoipa::path(post, path = "/api/v1/tools/{name}/invoke", tag = "tools", request_body = InvokeBody,
    params(("name" = String, Path, description = "The tool, e.g. `audit.search`")),
    responses(
        (status = 200, description = "The tool's result", body = InvokeResult),
        (status = 403, description = "`tool_denied`", body = ErrorBody),
        (status = 409, description = "`approval_required`", body = ErrorBody),
        (status = 422, description = "`invalid_arguments` with the problems", body = ErrorBody),
        (status = 502, description = "`tool_failed`", body = ErrorBody)
    ))]
pub async fn invoke(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<InvokeBody>,
) -> Result<Json<InvokeResult>, ApiError> {
    let result = state.app.invoke_tool(&auth, &name, body.arguments).await?;
    Ok(Json(InvokeResult { result }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolSettingsBody {
    enabled: Option<bool>,
    /// `T1`…`T4`; only above the tool's own tier.
    tier: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ToolSettingsView {
    name: String,
    enabled: bool,
    /// The raised tier, if any.
    tier: Option<String>,
}

/// Enables or disables a tool for the organisation, or raises its tier (admins).
#[utoipa::path(put, path = "/api/v1/tools/{name}/settings", tag = "tools", request_body = ToolSettingsBody,
    params(("name" = String, Path, description = "The tool")),
    responses(
        (status = 200, description = "The tool's settings now", body = ToolSettingsView),
        (status = 404, description = "No such tool", body = ErrorBody),
        (status = 422, description = "A tier below the tool's own", body = ErrorBody)
    ))]
pub async fn settings(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<ToolSettingsBody>,
) -> Result<Json<ToolSettingsView>, ApiError> {
    let tier = match body.tier.as_deref() {
        None => None,
        Some(raw) => Some(Tier::parse(raw).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidRequest,
                "`tier` must be T1, T2, T3 or T4.",
            )
            .with_details(serde_json::json!({"field": "tier"}))
        })?),
    };
    let saved = state
        .app
        .update_tool_settings(
            &auth,
            &name,
            SettingsChange {
                enabled: body.enabled,
                tier,
            },
        )
        .await?;
    Ok(Json(ToolSettingsView {
        name,
        enabled: saved.enabled,
        tier: saved.tier.map(|t| t.as_str().to_owned()),
    }))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesBody {
    /// `[{"pattern": "n8n.*", "effect": "ask"}]`; deny beats ask beats allow.
    #[schema(value_type = Vec<Object>)]
    rules: Vec<Rule>,
}

/// The organisation's tool rules (admins).
#[utoipa::path(get, path = "/api/v1/tool-rules", tag = "tools",
    responses((status = 200, description = "Rules", body = RulesBody)))]
pub async fn rules(
    State(state): State<AppState>,
    auth: Auth<Admin>,
) -> Result<Json<RulesBody>, ApiError> {
    Ok(Json(RulesBody {
        rules: state.app.tool_rules(&auth).await?,
    }))
}

/// Replaces the organisation's tool rules (admins).
#[utoipa::path(put, path = "/api/v1/tool-rules", tag = "tools", request_body = RulesBody,
    responses((status = 200, description = "The rules now", body = RulesBody),
              (status = 422, description = "Bad patterns", body = ErrorBody)))]
pub async fn set_rules(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    ApiJson(body): ApiJson<RulesBody>,
) -> Result<Json<RulesBody>, ApiError> {
    state.app.set_tool_rules(&auth, body.rules.clone()).await?;
    Ok(Json(body))
}
