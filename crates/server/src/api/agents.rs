//! Agents over HTTP: the organisation's agents (system ones included), creating them from a
//! template or from scratch, changing and deleting them (admins), and their skills as JSON
//! for export and import. The rules are the app's (`switchboard_app::runtime::agents`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use switchboard_app::runtime::{Agent, AgentInput, Skill};
use utoipa::ToSchema;

use super::json::ApiJson;
use crate::auth::{Admin, Auth, Viewer};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Every agent of the organisation: the system agents (the supervisor `operator` and the
/// specialists), then the organisation's own.
#[utoipa::path(get, path = "/api/v1/agents", tag = "assistant",
    responses((status = 200, description = "Agents", body = Vec<Object>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
) -> Result<Json<Vec<Agent>>, ApiError> {
    Ok(Json(state.app.agents(&auth).await?))
}

/// Creates an agent (admins): `slug`, `name`, `instructions`, optionally `template`
/// (`helpdesk`, `auditor`), `model`, `max_steps`, `tools` (globs), `min_role`, `skills`.
#[utoipa::path(post, path = "/api/v1/agents", tag = "assistant", request_body = Object,
    responses((status = 201, description = "Created", body = Object),
              (status = 400, description = "Invalid; `details.field` names the field", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    ApiJson(body): ApiJson<AgentInput>,
) -> Result<(StatusCode, Json<Agent>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.create_agent(&auth, body).await?),
    ))
}

/// One agent.
#[utoipa::path(get, path = "/api/v1/agents/{agent}", tag = "assistant",
    params(("agent" = String, Path, description = "The agent's slug")),
    responses((status = 200, description = "The agent", body = Object),
              (status = 404, description = "No such agent", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Path(agent): Path<String>,
) -> Result<Json<Agent>, ApiError> {
    Ok(Json(state.app.agent(&auth, &agent).await?))
}

/// Changes an organisation agent (admins; fields not given stay).
#[utoipa::path(put, path = "/api/v1/agents/{agent}", tag = "assistant", request_body = Object,
    params(("agent" = String, Path, description = "The agent's slug")),
    responses((status = 200, description = "The agent now", body = Object),
              (status = 403, description = "A system agent", body = ErrorBody),
              (status = 404, description = "No such agent", body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Path(agent): Path<String>,
    ApiJson(body): ApiJson<AgentInput>,
) -> Result<Json<Agent>, ApiError> {
    Ok(Json(state.app.update_agent(&auth, &agent, body).await?))
}

/// Deletes an organisation agent (admins).
#[utoipa::path(delete, path = "/api/v1/agents/{agent}", tag = "assistant",
    params(("agent" = String, Path, description = "The agent's slug")),
    responses((status = 204, description = "Deleted"),
              (status = 403, description = "A system agent", body = ErrorBody),
              (status = 404, description = "No such agent", body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Path(agent): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_agent(&auth, &agent).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An agent's skills as JSON (`{"skills":[{"name","content","enabled"}]}`), to keep or to
/// import into another agent.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Skills {
    #[schema(value_type = Vec<Object>)]
    skills: Vec<Skill>,
}

/// Exports an agent's skills.
#[utoipa::path(get, path = "/api/v1/agents/{agent}/skills", tag = "assistant",
    params(("agent" = String, Path, description = "The agent's slug")),
    responses((status = 200, description = "The skills", body = Skills),
              (status = 404, description = "No such agent", body = ErrorBody)))]
pub async fn export_skills(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Path(agent): Path<String>,
) -> Result<Json<Skills>, ApiError> {
    let agent = state.app.agent(&auth, &agent).await?;
    Ok(Json(Skills {
        skills: agent.skills,
    }))
}

/// Replaces an organisation agent's skills with the ones given (an import; admins).
#[utoipa::path(put, path = "/api/v1/agents/{agent}/skills", tag = "assistant", request_body = Skills,
    params(("agent" = String, Path, description = "The agent's slug")),
    responses((status = 200, description = "The skills now", body = Skills),
              (status = 400, description = "Invalid skills", body = ErrorBody),
              (status = 403, description = "A system agent", body = ErrorBody)))]
pub async fn import_skills(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Path(agent): Path<String>,
    ApiJson(body): ApiJson<Skills>,
) -> Result<Json<Skills>, ApiError> {
    let agent = state.app.import_skills(&auth, &agent, body.skills).await?;
    Ok(Json(Skills {
        skills: agent.skills,
    }))
}
