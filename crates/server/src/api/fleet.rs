//! The fleet over HTTP: registration tokens and agents for admins (`/api/v1/fleet/...`), and
//! the agent protocol for the agents themselves (`/api/v1/agent/...`, with the agent's own
//! credentials). The rules are the app's (`switchboard_app::fleet`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use switchboard_app::fleet::{
    AgentView, FinishedTask, NewTemplate, NewToken, TaskDetail, TaskView, TemplateView, TokenView,
};
use switchboard_app::tools::Invoked;
use switchboard_protocol::{
    ClaimRequest, ClaimResponse, Heartbeat, RegisterRequest, Registered, TaskEvents, TaskResult,
};

use super::json::ApiJson;
use crate::auth::{Admin, AgentAuth, Auth, Member, Viewer};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Creates a registration token (admins): `name`, `max_uses`?, `expires_at`? (RFC 3339,
/// default in 7 days). 201 `{"id","token",…}` — the token is shown this once.
#[utoipa::path(post, path = "/api/v1/fleet/registration-tokens", tag = "fleet", request_body = Object,
    responses((status = 201, description = "Created; `token` is shown once", body = Object),
              (status = 400, description = "Invalid; `details.field` names the field", body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (view, token) = state.app.create_registration_token(&auth, body).await?;
    let mut answer = serde_json::to_value(view).map_err(|e| ApiError::internal(&e))?;
    answer["token"] = json!(token);
    Ok((StatusCode::CREATED, Json(answer)))
}

/// The organisation's registration tokens (never the tokens themselves).
#[utoipa::path(get, path = "/api/v1/fleet/registration-tokens", tag = "fleet",
    responses((status = 200, description = "Tokens", body = Vec<Object>)))]
pub async fn tokens(
    State(state): State<AppState>,
    auth: Auth<Admin>,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    Ok(Json(state.app.registration_tokens(&auth).await?))
}

/// Revokes a registration token: it enrols no more agents (enrolled ones stay).
#[utoipa::path(delete, path = "/api/v1/fleet/registration-tokens/{id}", tag = "fleet",
    params(("id" = String, Path)),
    responses((status = 204, description = "Revoked"),
              (status = 404, description = "No such token here", body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.revoke_registration_token(&auth, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organisation's agents: `[{"id","name","status","last_seen","labels",…}]`; `status` is
/// `online`, `offline` or `revoked`.
#[utoipa::path(get, path = "/api/v1/fleet/agents", tag = "fleet",
    responses((status = 200, description = "Agents", body = Vec<Object>)))]
pub async fn agents(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
) -> Result<Json<Vec<AgentView>>, ApiError> {
    Ok(Json(state.app.fleet_agents(&auth).await?))
}

/// One agent.
#[utoipa::path(get, path = "/api/v1/fleet/agents/{id}", tag = "fleet",
    params(("id" = String, Path)),
    responses((status = 200, description = "The agent", body = Object),
              (status = 404, description = "No such agent here", body = ErrorBody)))]
pub async fn agent(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Path(id): Path<String>,
) -> Result<Json<AgentView>, ApiError> {
    Ok(Json(state.app.fleet_agent(&auth, &id).await?))
}

/// Revokes an agent (admins): its credentials stop working at once.
#[utoipa::path(delete, path = "/api/v1/fleet/agents/{id}", tag = "fleet",
    params(("id" = String, Path)),
    responses((status = 204, description = "Revoked"),
              (status = 404, description = "No such agent here", body = ErrorBody)))]
pub async fn revoke_agent(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.revoke_agent(&auth, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An agent enrols with a registration token: 201 with its id and secret (kept by the agent,
/// mode 0600; the hub keeps only a hash). 401 for an unknown, expired, revoked or used-up
/// token.
#[utoipa::path(post, path = "/api/v1/agent/register", tag = "fleet", request_body = Object,
    responses((status = 201, description = "`{agent_id, secret, organization}`", body = Object),
              (status = 400, description = "Invalid name, host, labels or protocol", body = ErrorBody),
              (status = 401, description = "The token is not usable", body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<Registered>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.register_agent(body).await?),
    ))
}

/// The agent is alive (agent credentials).
#[utoipa::path(post, path = "/api/v1/agent/heartbeat", tag = "fleet", request_body = Object,
    responses((status = 204, description = "Seen"),
              (status = 401, description = "Unknown or revoked agent", body = ErrorBody)))]
pub async fn heartbeat(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    ApiJson(body): ApiJson<Heartbeat>,
) -> Result<StatusCode, ApiError> {
    state.app.agent_heartbeat(&agent, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct TaskQuery {
    /// Only tasks in this status.
    status: Option<String>,
    /// Only tasks for (or run by) this agent.
    agent_id: Option<String>,
}

/// Creates a task (members and up) through the governed `fleet.run` tool:
/// `{"type","payload","target":{"agent_id"|"labels"},"idempotency_key"?,"max_attempts"?,
/// "priority"?}`. 201 `{"id","status",…}`; 200 with the existing task for an idempotency key
/// already used; 202 `{"approval_id","status":"waiting_approval"}` when the type changes a
/// server (an admin approves it; the task is queued then).
#[utoipa::path(post, path = "/api/v1/fleet/tasks", tag = "fleet", request_body = Object,
    responses((status = 201, description = "Queued", body = Object),
              (status = 200, description = "Already queued under this idempotency key", body = Object),
              (status = 202, description = "Waiting for an approval", body = Object),
              (status = 400, description = "Invalid; `details.field` names the field", body = ErrorBody),
              (status = 422, description = "Not the shape of a task", body = ErrorBody)))]
pub async fn create_task(
    State(state): State<AppState>,
    auth: Auth<Member>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    match state.app.queue_task(&auth, body).await? {
        Invoked::Done(task) => {
            let status = if task["new"] == json!(false) {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            Ok((status, Json(task)))
        }
        Invoked::Pending { approval_id } => Ok((
            StatusCode::ACCEPTED,
            Json(json!({"approval_id": approval_id.to_string(), "status": "waiting_approval"})),
        )),
    }
}

/// The organisation's most recent tasks (100), newest first.
#[utoipa::path(get, path = "/api/v1/fleet/tasks", tag = "fleet", params(TaskQuery),
    responses((status = 200, description = "Tasks", body = Vec<Object>)))]
pub async fn tasks(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Query(query): Query<TaskQuery>,
) -> Result<Json<Vec<TaskView>>, ApiError> {
    Ok(Json(
        state
            .app
            .fleet_tasks(&auth, query.status.as_deref(), query.agent_id.as_deref())
            .await?,
    ))
}

/// A task: `{"id","status","attempts","result"?,"error"?,…,"events":[…]}`.
#[utoipa::path(get, path = "/api/v1/fleet/tasks/{id}", tag = "fleet",
    params(("id" = String, Path)),
    responses((status = 200, description = "The task with its history", body = Object),
              (status = 404, description = "No such task here", body = ErrorBody)))]
pub async fn task(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Path(id): Path<String>,
) -> Result<Json<TaskDetail>, ApiError> {
    Ok(Json(state.app.fleet_task(&auth, &id).await?))
}

/// Cancels a task that has not finished (members and up).
#[utoipa::path(post, path = "/api/v1/fleet/tasks/{id}/cancel", tag = "fleet",
    params(("id" = String, Path)),
    responses((status = 200, description = "Cancelled", body = Object),
              (status = 404, description = "No such task here", body = ErrorBody),
              (status = 409, description = "It finished already", body = ErrorBody)))]
pub async fn cancel_task(
    State(state): State<AppState>,
    auth: Auth<Member>,
    Path(id): Path<String>,
) -> Result<Json<TaskView>, ApiError> {
    Ok(Json(state.app.cancel_task(&auth, &id).await?))
}

/// Long-polls for a task (agent credentials): waits up to `wait_secs` (at most 25 s on this
/// hub) and answers `{"task": null}` or a leased task.
#[utoipa::path(post, path = "/api/v1/agent/claim", tag = "fleet", request_body = Object,
    responses((status = 200, description = "`{task}`", body = Object),
              (status = 401, description = "Unknown or revoked agent", body = ErrorBody)))]
pub async fn claim(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    ApiJson(body): ApiJson<ClaimRequest>,
) -> Result<Json<ClaimResponse>, ApiError> {
    let task = state
        .app
        .claim_task(&agent, body.wait_secs, &body.executors)
        .await?;
    Ok(Json(ClaimResponse { task }))
}

/// Extends the agent's lease of a task: `{"lease_secs"}`; 409 when it is no longer the
/// agent's (stop working on it).
#[utoipa::path(post, path = "/api/v1/agent/tasks/{id}/lease", tag = "fleet",
    params(("id" = String, Path)),
    responses((status = 200, description = "`{lease_secs}`", body = Object),
              (status = 409, description = "No longer leased to this agent", body = ErrorBody)))]
pub async fn extend_lease(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let secs = state.app.extend_task_lease(&agent, &id).await?;
    Ok(Json(json!({"lease_secs": secs})))
}

/// Progress (0–100) and log lines of a running task.
#[utoipa::path(post, path = "/api/v1/agent/tasks/{id}/events", tag = "fleet", request_body = Object,
    params(("id" = String, Path)),
    responses((status = 204, description = "Kept"),
              (status = 409, description = "No longer leased to this agent", body = ErrorBody)))]
pub async fn task_events(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TaskEvents>,
) -> Result<StatusCode, ApiError> {
    state.app.record_task_events(&agent, &id, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The task's result: `{"success","output","error"?,"log","next"?}`; 409 when the task is no
/// longer the agent's (its lease ran out and it was handed on, or it was cancelled). With
/// `next` (a claim's body) the answer also carries `next` (a claim's answer), once the result
/// is recorded.
#[utoipa::path(post, path = "/api/v1/agent/tasks/{id}/result", tag = "fleet", request_body = Object,
    params(("id" = String, Path)),
    responses((status = 200, description = "The task now", body = Object),
              (status = 409, description = "No longer leased to this agent", body = ErrorBody)))]
pub async fn task_result(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TaskResult>,
) -> Result<Json<FinishedTask>, ApiError> {
    Ok(Json(state.app.finish_task(&agent, &id, body).await?))
}

/// Saves a task template (members and up): `{"name","type","payload","target"}`, checked as a
/// task's would be. 201 with the template; 409 when the name is taken.
#[utoipa::path(post, path = "/api/v1/fleet/templates", tag = "fleet", request_body = Object,
    responses((status = 201, description = "Saved", body = Object),
              (status = 400, description = "Invalid; `details.field` names the field", body = ErrorBody),
              (status = 409, description = "The name is taken", body = ErrorBody)))]
pub async fn create_template(
    State(state): State<AppState>,
    auth: Auth<Member>,
    ApiJson(body): ApiJson<NewTemplate>,
) -> Result<(StatusCode, Json<TemplateView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.save_task_template(&auth, body).await?),
    ))
}

/// The organisation's task templates by name.
#[utoipa::path(get, path = "/api/v1/fleet/templates", tag = "fleet",
    responses((status = 200, description = "Templates", body = Vec<Object>)))]
pub async fn templates(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
) -> Result<Json<Vec<TemplateView>>, ApiError> {
    Ok(Json(state.app.task_templates(&auth).await?))
}

/// Deletes a task template (members and up).
#[utoipa::path(delete, path = "/api/v1/fleet/templates/{id}", tag = "fleet",
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"),
              (status = 404, description = "No such template here", body = ErrorBody)))]
pub async fn delete_template(
    State(state): State<AppState>,
    auth: Auth<Member>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_task_template(&auth, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
