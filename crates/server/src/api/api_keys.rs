//! `/api/v1/api-keys`: create (shown once), list, revoke. Organisation admins only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use switchboard_app::records::ApiKeyRecord;
use switchboard_domain::{ApiKeyId, Role, Timestamp};
use utoipa::ToSchema;

use super::json::ApiJson;
use crate::auth::{Admin, Auth};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
pub struct CreateKeyBody {
    name: String,
    /// `viewer`, `member`, `admin` or `owner`; never above your own role.
    #[schema(value_type = String)]
    role: Role,
    /// RFC 3339; the key stops working then.
    #[schema(value_type = Option<String>)]
    expires_at: Option<Timestamp>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedKeyView {
    id: String,
    /// The key itself. It is shown this once; only a hash is kept.
    key: String,
    name: String,
    role: String,
    expires_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct KeyView {
    id: String,
    name: String,
    /// The key's first characters, to recognise it.
    prefix: String,
    role: String,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
}

pub fn key_view(k: &ApiKeyRecord) -> KeyView {
    KeyView {
        id: k.id.to_string(),
        name: k.name.clone(),
        prefix: k.prefix.clone(),
        role: k.role.as_str().to_owned(),
        created_at: k.created_at.to_rfc3339(),
        expires_at: k.expires_at.map(|t| t.to_rfc3339()),
        last_used_at: k.last_used_at.map(|t| t.to_rfc3339()),
    }
}

/// Creates an API key for the current organisation.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "identity", request_body = CreateKeyBody,
    responses(
        (status = 201, description = "Created; the key is in the body, once", body = CreatedKeyView),
        (status = 400, description = "Invalid input (e.g. role above yours)", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody)
    ))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    ApiJson(body): ApiJson<CreateKeyBody>,
) -> Result<(StatusCode, Json<CreatedKeyView>), ApiError> {
    let created = state
        .app
        .identity
        .create_api_key(&auth, &body.name, body.role, body.expires_at)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKeyView {
            id: created.record.id.to_string(),
            key: created.key,
            name: created.record.name,
            role: created.record.role.as_str().to_owned(),
            expires_at: created.record.expires_at.map(|t| t.to_rfc3339()),
        }),
    ))
}

/// Lists the current organisation's live keys (never the keys themselves).
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "identity",
    responses(
        (status = 200, description = "Keys", body = Vec<KeyView>),
        (status = 403, description = "Not an admin", body = ErrorBody)
    ))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth<Admin>,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    let keys = state.app.identity.list_api_keys(&auth).await?;
    Ok(Json(keys.iter().map(key_view).collect()))
}

/// Revokes a key; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "identity",
    params(("id" = String, Path, description = "The key's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such key in this organisation", body = ErrorBody)
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: ApiKeyId = id
        .parse()
        .map_err(|_| ApiError::from_code(ErrorCode::NotFound))?;
    state.app.identity.revoke_api_key(&auth, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
