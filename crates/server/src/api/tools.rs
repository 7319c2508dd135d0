//! The tool layer over HTTP: the tools a caller may use (`GET /api/v1/tools`), calling one
//! (`POST /api/v1/tools/{name}/invoke`), and the organisation's tool settings and rules
//! (admins). Schema, policy and audit are the app's (`switchboard_app::tools`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_app::tools::approvals::ApprovalView;
use switchboard_app::tools::{Invoked, SettingsChange, ToolView};
use switchboard_domain::{ApprovalId, ApprovalStatus, Rule, Tier};
use utoipa::{IntoParams, ToSchema};

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

#[derive(Serialize, ToSchema)]
pub struct PendingResult {
    approval_id: String,
    /// `pending`.
    status: &'static str,
}

/// Calls a tool: arguments checked against its schema, then the policy, then the tool.
/// Every call is audited.
#[utoipa::path(post, path = "/api/v1/tools/{name}/invoke", tag = "tools", request_body = InvokeBody,
    params(("name" = String, Path, description = "The tool, e.g. `audit.search`")),
    responses(
        (status = 200, description = "The tool's result", body = InvokeResult),
        (status = 202, description = "Waiting for approval", body = PendingResult),
        (status = 403, description = "`tool_denied`", body = ErrorBody),
        (status = 422, description = "`invalid_arguments` with the problems", body = ErrorBody),
        (status = 502, description = "`tool_failed`", body = ErrorBody)
    ))]
pub async fn invoke(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<InvokeBody>,
) -> Result<Response, ApiError> {
    Ok(
        match state.app.invoke_tool(&auth, &name, body.arguments).await? {
            Invoked::Done(result) => Json(InvokeResult { result }).into_response(),
            Invoked::Pending { approval_id } => (
                StatusCode::ACCEPTED,
                Json(PendingResult {
                    approval_id: approval_id.to_string(),
                    status: "pending",
                }),
            )
                .into_response(),
        },
    )
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

#[derive(Deserialize, IntoParams)]
pub struct ApprovalsQuery {
    /// `pending`, `approved`, `denied`, `expired`, `executed` or `failed`.
    status: Option<String>,
}

/// The organisation's approval requests, newest first.
#[utoipa::path(get, path = "/api/v1/approvals", tag = "tools", params(ApprovalsQuery),
    responses((status = 200, description = "Requests", body = Vec<Object>),
              (status = 400, description = "Unknown status", body = ErrorBody)))]
pub async fn approvals(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Query(q): Query<ApprovalsQuery>,
) -> Result<Json<Vec<ApprovalView>>, ApiError> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(ApprovalStatus::parse(raw).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidRequest,
                "`status` must be pending, approved, denied, expired, executed or failed.",
            )
            .with_details(serde_json::json!({"field": "status"}))
        })?),
    };
    Ok(Json(state.app.list_approvals(&auth, status).await?))
}

fn approval_id(raw: &str) -> Result<ApprovalId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::from_code(ErrorCode::NotFound))
}

/// One approval request: status, tool, (guarded) arguments, tier, who asked and decided,
/// and the result once it ran.
#[utoipa::path(get, path = "/api/v1/approvals/{id}", tag = "tools",
    params(("id" = String, Path, description = "The request")),
    responses((status = 200, description = "The request", body = Object),
              (status = 404, description = "No such request here", body = ErrorBody)))]
pub async fn approval(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Path(id): Path<String>,
) -> Result<Json<ApprovalView>, ApiError> {
    Ok(Json(state.app.approval(&auth, approval_id(&id)?).await?))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// Why (kept in the audit log).
    reason: Option<String>,
}

/// The optional `{"reason"}` of a decision (an empty body is no reason).
fn decision_reason(body: &[u8]) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice::<DecisionBody>(body)
        .map(|b| b.reason)
        .map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidRequest,
                format!("The body is invalid: {e}"),
            )
        })
}

/// Approves a pending request; the call then runs in the background as the requester.
#[utoipa::path(post, path = "/api/v1/approvals/{id}/approve", tag = "tools", request_body = DecisionBody,
    params(("id" = String, Path, description = "The request")),
    responses((status = 200, description = "Approved", body = Object),
              (status = 403, description = "Not an approver, or `four_eyes_required`", body = ErrorBody),
              (status = 409, description = "Already decided or expired", body = ErrorBody)))]
pub async fn approve(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<ApprovalView>, ApiError> {
    decide(&state, &auth, &id, &body, true).await
}

/// Denies a pending request; the call never runs.
#[utoipa::path(post, path = "/api/v1/approvals/{id}/deny", tag = "tools", request_body = DecisionBody,
    params(("id" = String, Path, description = "The request")),
    responses((status = 200, description = "Denied", body = Object),
              (status = 403, description = "Not an approver", body = ErrorBody),
              (status = 409, description = "Already decided or expired", body = ErrorBody)))]
pub async fn deny(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<ApprovalView>, ApiError> {
    decide(&state, &auth, &id, &body, false).await
}

async fn decide(
    state: &AppState,
    auth: &Auth<Viewer>,
    id: &str,
    body: &[u8],
    approve: bool,
) -> Result<Json<ApprovalView>, ApiError> {
    let reason = decision_reason(body)?;
    let view = state
        .app
        .decide_approval(auth, approval_id(id)?, approve, reason)
        .await?;
    Ok(Json(view))
}
