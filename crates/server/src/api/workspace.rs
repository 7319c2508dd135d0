//! Requests and tickets over HTTP: `/api/v1/tickets` and `/api/v1/requests` (the same shape),
//! with comments under each, and the workspace dashboard's counts. The rules are the app's
//! (`switchboard_app::workspace`): members file, change and comment, admins change status and
//! delete, viewers read (without internal comments).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;
use switchboard_app::workspace::{
    CommentInput, CommentView, ItemDetail, ItemInput, ItemPage, ItemPatch, ItemQuery, ItemView,
};
use switchboard_domain::ItemKind;

use super::json::ApiJson;
use crate::auth::{Admin, Auth, Member, Viewer};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// The handlers of one kind's endpoints (the paths differ, so utoipa needs each).
macro_rules! item_endpoints {
    ($module:ident, $kind:expr, $tag:literal, $list:literal, $one:literal, $comments:literal) => {
        pub mod $module {
            use super::*;

            /// Files one (members and up): `title`, `description`, `priority`
            /// (`low`, `medium`, `high`, `critical`), `category`.
            #[utoipa::path(post, path = $list, tag = $tag, request_body = Object,
                responses((status = 201, description = "Filed", body = Object),
                          (status = 400, description = "Invalid; `details.field` names the field", body = ErrorBody)))]
            pub async fn create(
                State(state): State<AppState>,
                auth: Auth<Member>,
                ApiJson(body): ApiJson<ItemInput>,
            ) -> Result<(StatusCode, Json<ItemView>), ApiError> {
                Ok((StatusCode::CREATED, Json(state.app.create_item(&auth, $kind, body).await?)))
            }

            /// A page, most recently changed first: `status`, `priority`, `q` (words in the
            /// title or description), `page` (from 1), `per_page` (1–100, default 25).
            #[utoipa::path(get, path = $list, tag = $tag,
                params(("status" = Option<String>, Query), ("priority" = Option<String>, Query),
                       ("q" = Option<String>, Query), ("page" = Option<u32>, Query),
                       ("per_page" = Option<u32>, Query)),
                responses((status = 200, description = "`{items, total, page, per_page}`", body = Object),
                          (status = 400, description = "Invalid filter", body = ErrorBody)))]
            pub async fn list(
                State(state): State<AppState>,
                auth: Auth<Viewer>,
                Query(query): Query<ItemQuery>,
            ) -> Result<Json<ItemPage>, ApiError> {
                Ok(Json(state.app.list_items(&auth, $kind, &query).await?))
            }

            /// One, with its comments and activity.
            #[utoipa::path(get, path = $one, tag = $tag,
                params(("id" = String, Path)),
                responses((status = 200, description = "The item, `comments`, `activity`", body = Object),
                          (status = 404, description = "No such item here", body = ErrorBody)))]
            pub async fn get(
                State(state): State<AppState>,
                auth: Auth<Viewer>,
                Path(id): Path<String>,
            ) -> Result<Json<ItemDetail>, ApiError> {
                Ok(Json(state.app.item(&auth, $kind, &id).await?))
            }

            /// Changes fields (members and up) or the status (admins); fields not given stay.
            #[utoipa::path(patch, path = $one, tag = $tag, request_body = Object,
                params(("id" = String, Path)),
                responses((status = 200, description = "The item now", body = Object),
                          (status = 400, description = "Invalid, or a move its status may not make", body = ErrorBody),
                          (status = 404, description = "No such item here", body = ErrorBody),
                          (status = 409, description = "Changed meanwhile", body = ErrorBody)))]
            pub async fn update(
                State(state): State<AppState>,
                auth: Auth<Member>,
                Path(id): Path<String>,
                ApiJson(body): ApiJson<ItemPatch>,
            ) -> Result<Json<ItemView>, ApiError> {
                Ok(Json(state.app.update_item(&auth, $kind, &id, body).await?))
            }

            /// Deletes one with its comments (admins); the activity log keeps the deletion.
            #[utoipa::path(delete, path = $one, tag = $tag,
                params(("id" = String, Path)),
                responses((status = 204, description = "Deleted"),
                          (status = 404, description = "No such item here", body = ErrorBody)))]
            pub async fn delete(
                State(state): State<AppState>,
                auth: Auth<Admin>,
                Path(id): Path<String>,
            ) -> Result<StatusCode, ApiError> {
                state.app.delete_item(&auth, $kind, &id).await?;
                Ok(StatusCode::NO_CONTENT)
            }

            /// Comments (members and up): `body`, `internal` (staff only; default false).
            #[utoipa::path(post, path = $comments, tag = $tag, request_body = Object,
                params(("id" = String, Path)),
                responses((status = 201, description = "The comment", body = Object),
                          (status = 400, description = "Invalid", body = ErrorBody),
                          (status = 404, description = "No such item here", body = ErrorBody)))]
            pub async fn comment(
                State(state): State<AppState>,
                auth: Auth<Member>,
                Path(id): Path<String>,
                ApiJson(body): ApiJson<CommentInput>,
            ) -> Result<(StatusCode, Json<CommentView>), ApiError> {
                Ok((
                    StatusCode::CREATED,
                    Json(state.app.comment_item(&auth, $kind, &id, body).await?),
                ))
            }
        }
    };
}

item_endpoints!(
    tickets,
    ItemKind::Ticket,
    "workspace",
    "/api/v1/tickets",
    "/api/v1/tickets/{id}",
    "/api/v1/tickets/{id}/comments"
);
item_endpoints!(
    requests,
    ItemKind::Request,
    "workspace",
    "/api/v1/requests",
    "/api/v1/requests/{id}",
    "/api/v1/requests/{id}/comments"
);

/// How many requests and tickets are in each status.
#[utoipa::path(get, path = "/api/v1/workspace/dashboard", tag = "workspace",
    responses((status = 200, description = "`{requests: {status: n}, tickets: {status: n}}`", body = Object)))]
pub async fn dashboard(
    State(state): State<AppState>,
    auth: Auth<Viewer>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(state.app.item_counts(&auth).await?))
}
