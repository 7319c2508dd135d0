//! The JSON API. Every route here is registered through `utoipa_axum::routes!`, which needs the
//! handler's `#[utoipa::path]`, so a route cannot exist without its OpenAPI entry; registering
//! one with a bare `.route()` is a clippy error (see `clippy.toml`). The spec is served at
//! `/api/v1/openapi.json`.

pub mod health;

use std::sync::Arc;

use axum::Json;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard API",
        description = "REST API of the Switchboard AI operations hub. Errors always have the \
                       shape {\"error\":{\"code\",\"message\",\"details\"}} with a stable code.",
        license(name = "AGPL-3.0-only")
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "health", description = "Liveness, readiness and metrics"),
        (name = "meta", description = "This API's own description")
    )
)]
struct ApiDoc;

/// The API routes and their OpenAPI description, built together.
pub fn router() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, spec) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .routes(routes!(openapi_json))
        .split_for_parts();
    (router, spec)
}

/// This API's OpenAPI 3.1 description.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json"))
)]
async fn openapi_json(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Json<Arc<utoipa::openapi::OpenApi>> {
    Json(state.openapi.clone())
}
