//! Organisations' outbound webhooks (admins): add one (its signing secret is shown once),
//! list, remove, and see its latest deliveries. Delivery is the app's (`switchboard_app::notify`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use switchboard_app::notify::{DeliveryView, WebhookView};
use switchboard_domain::WebhookId;
use utoipa::ToSchema;

use super::json::ApiJson;
use crate::auth::{Admin, Auth};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookBody {
    name: String,
    /// Where to POST events, e.g. a Slack incoming-webhook URL.
    url: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedWebhookView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    webhook: WebhookView,
    /// Signs every delivery (`x-switchboard-signature`); shown this once.
    secret: String,
}

fn webhook_id(raw: &str) -> Result<WebhookId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::from_code(ErrorCode::NotFound))
}

/// Adds a webhook for approval events (requested, approved, denied, expired, executed, failed).
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "organization", request_body = CreateWebhookBody,
    responses((status = 201, description = "Created; the secret is in the body, once", body = CreatedWebhookView),
              (status = 400, description = "Bad name or URL (private addresses need the operator's allowlist)", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    ApiJson(body): ApiJson<CreateWebhookBody>,
) -> Result<(StatusCode, Json<CreatedWebhookView>), ApiError> {
    let created = state
        .app
        .create_webhook(&auth, &body.name, &body.url)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhookView {
            webhook: created.webhook,
            secret: created.secret,
        }),
    ))
}

/// The organisation's webhooks (never their secrets).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "organization",
    responses((status = 200, description = "Webhooks", body = Vec<Object>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth<Admin>,
) -> Result<Json<Vec<WebhookView>>, ApiError> {
    Ok(Json(state.app.list_webhooks(&auth).await?))
}

/// Removes a webhook and whatever was still queued for it.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "organization",
    params(("id" = String, Path, description = "The webhook")),
    responses((status = 204, description = "Removed"),
              (status = 404, description = "No such webhook here", body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_webhook(&auth, webhook_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The latest 50 deliveries to a webhook: event, status, attempts, last error.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "organization",
    params(("id" = String, Path, description = "The webhook")),
    responses((status = 200, description = "Deliveries, newest first", body = Vec<Object>)))]
pub async fn deliveries(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Path(id): Path<String>,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    Ok(Json(
        state
            .app
            .webhook_deliveries(&auth, webhook_id(&id)?)
            .await?,
    ))
}
