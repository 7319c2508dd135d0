//! `POST /api/v1/setup`: first-boot setup (the wizard's contract).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use switchboard_app::identity::setup::SetupRequest;
use utoipa::ToSchema;

use super::json::ApiJson;
use crate::auth::ClientAddr;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
pub struct SetupBody {
    /// The code `switchboard serve` printed (or `SWITCHBOARD_SETUP_CODE`).
    setup_code: String,
    organization: SetupOrg,
    owner: SetupOwner,
}

#[derive(Deserialize, ToSchema)]
pub struct SetupOrg {
    name: String,
    slug: String,
}

#[derive(Deserialize, ToSchema)]
pub struct SetupOwner {
    email: String,
    name: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct SetupCreated {
    organization: super::auth::OrgView,
    owner_id: String,
}

/// Creates the first organisation and its owner (who becomes platform operator). Works once.
#[utoipa::path(post, path = "/api/v1/setup", tag = "identity", request_body = SetupBody,
    responses(
        (status = 201, description = "Set up", body = SetupCreated),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 403, description = "`invalid_setup_code`: wrong or used code", body = ErrorBody),
        (status = 429, description = "Too many wrong codes", body = ErrorBody)
    ))]
pub async fn setup(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<SetupBody>,
) -> Result<(StatusCode, Json<SetupCreated>), ApiError> {
    let done = state
        .app
        .identity
        .complete_setup(
            SetupRequest {
                setup_code: body.setup_code,
                org_name: body.organization.name,
                org_slug: body.organization.slug,
                owner_email: body.owner.email,
                owner_name: body.owner.name,
                owner_password: body.owner.password,
            },
            &client,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(SetupCreated {
            organization: super::auth::OrgView::new(&done.org, switchboard_domain::Role::Owner),
            owner_id: done.owner.to_string(),
        }),
    ))
}
