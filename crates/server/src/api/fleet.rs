//! The fleet over HTTP: registration tokens and agents for admins (`/api/v1/fleet/...`), and
//! the agent protocol for the agents themselves (`/api/v1/agent/...`, with the agent's own
//! credentials). The rules are the app's (`switchboard_app::fleet`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use switchboard_app::fleet::{AgentView, NewToken, TokenView};
use switchboard_protocol::{Heartbeat, RegisterRequest, Registered};

use super::json::ApiJson;
use crate::auth::{Admin, AgentAuth, Auth, Viewer};
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
