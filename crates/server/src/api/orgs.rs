//! `/api/v1/organizations`: platform operators manage tenants.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use switchboard_app::identity::orgs::OrgSummary;
use switchboard_domain::OrgStatus;
use utoipa::ToSchema;

use super::json::ApiJson;
use crate::auth::OperatorAuth;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
pub struct CreateOrgBody {
    name: String,
    slug: String,
    /// Invite this person as the organisation's first owner.
    owner_email: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OrgAdminView {
    id: String,
    slug: String,
    name: String,
    status: String,
    members: u64,
    created_at: String,
    deleted_at: Option<String>,
    /// The first owner's invite link (only when `owner_email` was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_invite_url: Option<String>,
    /// How the owner invite went out: `emailed`, `failed` or `link` (see `POST /invites`).
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_invite_delivery: Option<&'static str>,
}

fn view(org: &switchboard_app::records::OrgRecord, members: u64) -> OrgAdminView {
    OrgAdminView {
        id: org.id.to_string(),
        slug: org.slug.as_str().to_owned(),
        name: org.name.clone(),
        status: org.status.as_str().to_owned(),
        members,
        created_at: org.created_at.to_rfc3339(),
        deleted_at: org.deleted_at.map(|t| t.to_rfc3339()),
        owner_invite_url: None,
        owner_invite_delivery: None,
    }
}

/// Every organisation with its status and member count.
#[utoipa::path(get, path = "/api/v1/organizations", tag = "operator",
    responses(
        (status = 200, description = "Organisations", body = Vec<OrgAdminView>),
        (status = 403, description = "Not an operator", body = ErrorBody)
    ))]
pub async fn list(
    State(state): State<AppState>,
    OperatorAuth(caller): OperatorAuth,
) -> Result<Json<Vec<OrgAdminView>>, ApiError> {
    let orgs = state.app.identity.list_orgs(&caller.principal).await?;
    Ok(Json(
        orgs.iter()
            .map(|OrgSummary { org, members }| view(org, *members))
            .collect(),
    ))
}

/// Creates an active organisation (invite its first owner next).
#[utoipa::path(post, path = "/api/v1/organizations", tag = "operator", request_body = CreateOrgBody,
    responses(
        (status = 201, description = "Created", body = OrgAdminView),
        (status = 400, description = "Invalid name or slug", body = ErrorBody),
        (status = 409, description = "The slug is taken", body = ErrorBody)
    ))]
pub async fn create(
    State(state): State<AppState>,
    OperatorAuth(caller): OperatorAuth,
    ApiJson(body): ApiJson<CreateOrgBody>,
) -> Result<(StatusCode, Json<OrgAdminView>), ApiError> {
    let (org, invite) = state
        .app
        .identity
        .create_org(
            &caller.principal,
            &body.name,
            &body.slug,
            body.owner_email.as_deref(),
        )
        .await?;
    let mut view = view(&org, 0);
    view.owner_invite_delivery = invite.as_ref().map(|i| i.delivery.as_str());
    view.owner_invite_url = invite.map(|i| format!("{}/invite/{}", state.public_url(), i.token));
    Ok((StatusCode::CREATED, Json(view)))
}

async fn transition(
    state: &AppState,
    caller: &crate::auth::Caller,
    slug: &str,
    to: OrgStatus,
) -> Result<Json<OrgAdminView>, ApiError> {
    let org = state
        .app
        .identity
        .set_org_status(&caller.principal, slug, to)
        .await?;
    Ok(Json(view(&org, 0)))
}

/// Suspends an organisation: its users and keys get `organization_suspended`.
#[utoipa::path(post, path = "/api/v1/organizations/{slug}/suspend", tag = "operator",
    params(("slug" = String, Path, description = "The organisation's slug")),
    responses(
        (status = 200, description = "Suspended", body = OrgAdminView),
        (status = 404, description = "No such organisation", body = ErrorBody),
        (status = 409, description = "Not possible from the current status", body = ErrorBody)
    ))]
pub async fn suspend(
    State(state): State<AppState>,
    OperatorAuth(caller): OperatorAuth,
    Path(slug): Path<String>,
) -> Result<Json<OrgAdminView>, ApiError> {
    transition(&state, &caller, &slug, OrgStatus::Suspended).await
}

/// Resumes a suspended organisation.
#[utoipa::path(post, path = "/api/v1/organizations/{slug}/resume", tag = "operator",
    params(("slug" = String, Path, description = "The organisation's slug")),
    responses(
        (status = 200, description = "Active again", body = OrgAdminView),
        (status = 404, description = "No such organisation", body = ErrorBody),
        (status = 409, description = "Not possible from the current status", body = ErrorBody)
    ))]
pub async fn resume(
    State(state): State<AppState>,
    OperatorAuth(caller): OperatorAuth,
    Path(slug): Path<String>,
) -> Result<Json<OrgAdminView>, ApiError> {
    transition(&state, &caller, &slug, OrgStatus::Active).await
}

/// Deletes an organisation (soft: data is kept for the retention period, then purged).
#[utoipa::path(delete, path = "/api/v1/organizations/{slug}", tag = "operator",
    params(("slug" = String, Path, description = "The organisation's slug")),
    responses(
        (status = 200, description = "Deleted", body = OrgAdminView),
        (status = 404, description = "No such organisation", body = ErrorBody)
    ))]
pub async fn delete(
    State(state): State<AppState>,
    OperatorAuth(caller): OperatorAuth,
    Path(slug): Path<String>,
) -> Result<Json<OrgAdminView>, ApiError> {
    transition(&state, &caller, &slug, OrgStatus::Deleted).await
}
