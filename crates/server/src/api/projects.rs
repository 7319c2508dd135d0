//! Projects and their milestones over HTTP. The rules are the app's
//! (`switchboard_app::workspace`): members start and change projects and milestones, admins
//! change a project's status and delete, viewers read.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use switchboard_app::workspace::{
    MilestoneInput, MilestonePatch, MilestoneView, ProjectDetail, ProjectInput, ProjectPage,
    ProjectPatch, ProjectQuery, ProjectView,
};

use super::json::ApiJson;
use crate::auth::{Admin, Auth, Member, Viewer};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Starts a project (members and up): `name`, `description`, `start_date`, `due_date`
/// (`YYYY-MM-DD`). It begins `planned`.
#[utoipa::path(post, path = "/api/v1/projects", tag = "workspace", request_body = Object,
    responses((status = 201, description = "Started", body = Object),
              (status = 400, description = "Invalid; `details.field` names the field", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth<Member>,
    ApiJson(body): ApiJson<ProjectInput>,
) -> Result<(StatusCode, Json<ProjectView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.create_project(&auth, body).await?),
    ))
}

/// A page of projects, most recently changed first: `status`, `q`, `page`, `per_page`.
#[utoipa::path(get, path = "/api/v1/projects", tag = "workspace",
    params(("status" = Option<String>, Query), ("q" = Option<String>, Query),
           ("page" = Option<u32>, Query), ("per_page" = Option<u32>, Query)),
    responses((status = 200, description = "`{projects, total, page, per_page}`", body = Object),
              (status = 400, description = "Invalid filter", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Query(query): Query<ProjectQuery>,
) -> Result<Json<ProjectPage>, ApiError> {
    Ok(Json(state.app.list_projects(&auth, &query).await?))
}

/// One project with its milestones in order, its progress and its activity.
#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "workspace",
    params(("id" = String, Path)),
    responses((status = 200, description = "The project", body = Object),
              (status = 404, description = "No such project here", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
    Path(id): Path<String>,
) -> Result<Json<ProjectDetail>, ApiError> {
    Ok(Json(state.app.project(&auth, &id).await?))
}

/// Changes fields (members and up) or the status (admins: `planned → active → completed`,
/// `on_hold`, `cancelled`); an empty date clears it.
#[utoipa::path(patch, path = "/api/v1/projects/{id}", tag = "workspace", request_body = Object,
    params(("id" = String, Path)),
    responses((status = 200, description = "The project now", body = Object),
              (status = 400, description = "Invalid, or a move its status may not make", body = ErrorBody),
              (status = 404, description = "No such project here", body = ErrorBody),
              (status = 409, description = "Changed meanwhile", body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth<Member>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ProjectPatch>,
) -> Result<Json<ProjectView>, ApiError> {
    Ok(Json(state.app.update_project(&auth, &id, body).await?))
}

/// Deletes a project and its milestones (admins).
#[utoipa::path(delete, path = "/api/v1/projects/{id}", tag = "workspace",
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"),
              (status = 404, description = "No such project here", body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_project(&auth, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a milestone at the end (members and up): `title`, `due_date`.
#[utoipa::path(post, path = "/api/v1/projects/{id}/milestones", tag = "workspace", request_body = Object,
    params(("id" = String, Path)),
    responses((status = 201, description = "The milestone", body = Object),
              (status = 400, description = "Invalid", body = ErrorBody),
              (status = 404, description = "No such project here", body = ErrorBody)))]
pub async fn add_milestone(
    State(state): State<AppState>,
    auth: Auth<Member>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MilestoneInput>,
) -> Result<(StatusCode, Json<MilestoneView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.add_milestone(&auth, &id, body).await?),
    ))
}

/// Changes a milestone (members and up): `title`, `status` (`pending`, `in_progress`,
/// `done`), `progress` (0–100; 100 finishes it), `due_date`, `position` (from 1).
#[utoipa::path(patch, path = "/api/v1/projects/{id}/milestones/{milestone_id}", tag = "workspace",
    request_body = Object,
    params(("id" = String, Path), ("milestone_id" = String, Path)),
    responses((status = 200, description = "The milestone now", body = Object),
              (status = 400, description = "Invalid", body = ErrorBody),
              (status = 404, description = "No such milestone here", body = ErrorBody)))]
pub async fn update_milestone(
    State(state): State<AppState>,
    auth: Auth<Member>,
    Path((id, milestone_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<MilestonePatch>,
) -> Result<Json<MilestoneView>, ApiError> {
    Ok(Json(
        state
            .app
            .update_milestone(&auth, &id, &milestone_id, body)
            .await?,
    ))
}

/// Removes a milestone (admins).
#[utoipa::path(delete, path = "/api/v1/projects/{id}/milestones/{milestone_id}", tag = "workspace",
    params(("id" = String, Path), ("milestone_id" = String, Path)),
    responses((status = 204, description = "Removed"),
              (status = 404, description = "No such milestone here", body = ErrorBody)))]
pub async fn delete_milestone(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Path((id, milestone_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_milestone(&auth, &id, &milestone_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
