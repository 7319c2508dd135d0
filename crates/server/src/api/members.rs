//! The current organisation's members, invites and security settings.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use switchboard_domain::{InviteId, Role, UserId};
use utoipa::ToSchema;

use super::auth::OrgView;
use super::json::ApiJson;
use crate::auth::{Admin, Auth, Viewer};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct MemberView {
    user_id: String,
    email: String,
    name: String,
    role: String,
    totp_enabled: bool,
}

/// The organisation's members.
#[utoipa::path(get, path = "/api/v1/members", tag = "organization",
    responses((status = 200, description = "Members", body = Vec<MemberView>),
              (status = 401, description = "Not signed in", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
) -> Result<Json<Vec<MemberView>>, ApiError> {
    let members = state.app.identity.list_members(&auth).await?;
    Ok(Json(
        members
            .into_iter()
            .map(|m| MemberView {
                user_id: m.user_id.to_string(),
                email: m.email,
                name: m.name,
                role: m.role.as_str().to_owned(),
                totp_enabled: m.totp_enabled,
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct RoleBody {
    #[schema(value_type = String)]
    role: Role,
}

fn user_id(raw: &str) -> Result<UserId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::from_code(ErrorCode::NotFound))
}

/// Changes a member's role (not above your own; the last owner stays owner).
#[utoipa::path(patch, path = "/api/v1/members/{user_id}", tag = "organization", request_body = RoleBody,
    params(("user_id" = String, Path, description = "The member's user id")),
    responses((status = 204, description = "Changed"),
              (status = 404, description = "No such member", body = ErrorBody),
              (status = 409, description = "`last_owner`", body = ErrorBody)))]
pub async fn change_role(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .identity
        .change_role(&auth, user_id(&id)?, body.role)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a member from the organisation.
#[utoipa::path(delete, path = "/api/v1/members/{user_id}", tag = "organization",
    params(("user_id" = String, Path, description = "The member's user id")),
    responses((status = 204, description = "Removed"),
              (status = 404, description = "No such member", body = ErrorBody),
              (status = 409, description = "`last_owner`", body = ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .identity
        .remove_member(&auth, user_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct InviteBody {
    email: String,
    #[schema(value_type = String)]
    role: Role,
}

#[derive(Serialize, ToSchema)]
pub struct InviteView {
    id: String,
    email: String,
    role: String,
    expires_at: String,
    /// The link to send (only in the response that created the invite).
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    /// How the invite went out (only in the response that created it): `emailed` (SMTP is
    /// configured and the server accepted it), `failed` (SMTP failed; send the link yourself)
    /// or `link` (no SMTP; send the link yourself).
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery: Option<&'static str>,
}

/// Invites someone by email. The response carries the single-use link to send them.
#[utoipa::path(post, path = "/api/v1/invites", tag = "organization", request_body = InviteBody,
    responses((status = 201, description = "Invited", body = InviteView),
              (status = 409, description = "Already a member", body = ErrorBody)))]
pub async fn invite(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    ApiJson(body): ApiJson<InviteBody>,
) -> Result<(StatusCode, Json<InviteView>), ApiError> {
    let created = state
        .app
        .identity
        .create_invite(&auth, &body.email, body.role)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(InviteView {
            id: created.record.id.to_string(),
            email: created.record.email,
            role: created.record.role.as_str().to_owned(),
            expires_at: created.record.expires_at.to_rfc3339(),
            url: Some(format!("{}/invite/{}", state.public_url(), created.token)),
            delivery: Some(created.delivery.as_str()),
        }),
    ))
}

/// Open invites of the organisation.
#[utoipa::path(get, path = "/api/v1/invites", tag = "organization",
    responses((status = 200, description = "Open invites", body = Vec<InviteView>)))]
pub async fn invites(
    State(state): State<AppState>,
    auth: Auth<Admin>,
) -> Result<Json<Vec<InviteView>>, ApiError> {
    let invites = state.app.identity.list_invites(&auth).await?;
    Ok(Json(
        invites
            .into_iter()
            .map(|i| InviteView {
                id: i.id.to_string(),
                email: i.email,
                role: i.role.as_str().to_owned(),
                expires_at: i.expires_at.to_rfc3339(),
                url: None,
                delivery: None,
            })
            .collect(),
    ))
}

/// Revokes an open invite.
#[utoipa::path(delete, path = "/api/v1/invites/{id}", tag = "organization",
    params(("id" = String, Path, description = "The invite's id")),
    responses((status = 204, description = "Revoked"),
              (status = 404, description = "No such open invite", body = ErrorBody)))]
pub async fn revoke_invite(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: InviteId = id
        .parse()
        .map_err(|_| ApiError::from_code(ErrorCode::NotFound))?;
    state.app.identity.revoke_invite(&auth, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct AcceptBody {
    token: String,
    name: String,
    password: String,
}

/// Accepts an invite as a new account (sets name and password, signs in). People who already
/// have an account accept in the console after signing in.
#[utoipa::path(post, path = "/api/v1/invites/accept", tag = "organization", request_body = AcceptBody,
    responses((status = 200, description = "Joined and signed in"),
              (status = 403, description = "The email has an account: sign in first", body = ErrorBody),
              (status = 404, description = "Unknown, used or expired invite", body = ErrorBody)))]
pub async fn accept(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<AcceptBody>,
) -> Result<Response, ApiError> {
    let session = state
        .app
        .identity
        .accept_invite(&body.token, None, Some(&body.name), Some(&body.password))
        .await?
        .ok_or_else(|| ApiError::from_code(ErrorCode::Internal))?;
    let body = Json(serde_json::json!({ "csrf_token": session.csrf_token }));
    Ok(crate::auth::cookies::with_session(&state, &session, body))
}

/// The organisation's security settings.
#[utoipa::path(get, path = "/api/v1/organization/settings", tag = "organization",
    responses((status = 200, description = "The current organisation", body = OrgView)))]
pub async fn settings(auth: Auth<Admin>) -> Result<Json<OrgView>, ApiError> {
    let access = auth.tenant(Role::Admin)?;
    Ok(Json(OrgView::new(&access.org, access.role)))
}

#[derive(Deserialize, ToSchema)]
pub struct SettingsBody {
    require_totp: bool,
    allow_sso_signup: bool,
}

/// Changes the organisation's security settings.
#[utoipa::path(put, path = "/api/v1/organization/settings", tag = "organization", request_body = SettingsBody,
    responses((status = 200, description = "Saved", body = OrgView)))]
pub async fn update_settings(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    ApiJson(body): ApiJson<SettingsBody>,
) -> Result<Json<OrgView>, ApiError> {
    let org = state
        .app
        .identity
        .update_org_settings(&auth, body.require_totp, body.allow_sso_signup)
        .await?;
    let role = auth.tenant(Role::Admin)?.role;
    Ok(Json(OrgView::new(&org, role)))
}
