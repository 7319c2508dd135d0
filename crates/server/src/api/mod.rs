//! The JSON API. Every route here is registered through `utoipa_axum::routes!`, which needs the
//! handler's `#[utoipa::path]`, so a route cannot exist without its OpenAPI entry; registering
//! one with a bare `.route()` is a clippy error (see `clippy.toml`). The spec is served at
//! `/api/v1/openapi.json`.

pub mod agents;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod conversations;
pub mod documents;
pub mod fleet;
pub mod gateway;
pub mod health;
mod json;
pub mod members;
pub mod memory;
pub mod orgs;
pub mod projects;
pub mod setup;
pub mod tools;
pub mod webhooks;
pub mod workspace;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Json;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
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
        (name = "meta", description = "This API's own description"),
        (name = "identity", description = "Setup, sign-in, the caller's account, API keys"),
        (name = "organization", description = "The current organisation: members, invites, settings"),
        (name = "operator", description = "Platform operators manage organisations"),
        (name = "audit", description = "The tamper-evident audit log"),
        (name = "gateway", description = "The OpenAI-compatible AI gateway (`/v1`, gateway keys) and its keys, usage and models"),
        (name = "tools", description = "The governed tool layer: tools, calls, settings and rules"),
        (name = "assistant", description = "Agents, conversations and runs of the assistant"),
        (name = "fleet", description = "Server agents: registration tokens, enrolment, heartbeats; the agent protocol"),
        (name = "workspace", description = "Requests, tickets, projects and milestones, with comments and activity; documents with full-text search; the assistant's memory")
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
        .routes(routes!(setup::setup))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::begin_totp, auth::disable_totp))
        .routes(routes!(auth::confirm_totp))
        .routes(routes!(api_keys::create, api_keys::list))
        .routes(routes!(api_keys::revoke))
        .routes(routes!(orgs::list, orgs::create))
        .routes(routes!(orgs::suspend))
        .routes(routes!(orgs::resume))
        .routes(routes!(orgs::delete))
        .routes(routes!(members::list))
        .routes(routes!(members::change_role, members::remove))
        .routes(routes!(members::invite, members::invites))
        .routes(routes!(members::revoke_invite))
        .routes(routes!(members::accept))
        .routes(routes!(members::settings, members::update_settings))
        .routes(routes!(audit::list))
        .routes(routes!(audit::verify))
        .routes(routes!(gateway::create_key, gateway::list_keys))
        .routes(routes!(gateway::revoke_key))
        .routes(routes!(gateway::usage))
        .routes(routes!(gateway::platform_usage))
        .routes(routes!(gateway::settings, gateway::update_settings))
        .routes(routes!(gateway::save_provider, gateway::delete_provider))
        .routes(routes!(crate::gateway::chat_completions))
        .routes(routes!(crate::gateway::models))
        .routes(routes!(crate::gateway::embeddings))
        .routes(routes!(tools::list))
        .routes(routes!(tools::invoke))
        .routes(routes!(tools::settings))
        .routes(routes!(tools::rules, tools::set_rules))
        .routes(routes!(tools::approvals))
        .routes(routes!(tools::approval))
        .routes(routes!(tools::approve))
        .routes(routes!(tools::deny))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::delete))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(agents::list, agents::create))
        .routes(routes!(agents::get, agents::update, agents::delete))
        .routes(routes!(agents::export_skills, agents::import_skills))
        .routes(routes!(conversations::create, conversations::list))
        .routes(routes!(
            conversations::get,
            conversations::rename,
            conversations::delete
        ))
        .routes(routes!(conversations::post_message))
        .routes(routes!(conversations::run))
        .routes(routes!(conversations::events))
        .routes(routes!(conversations::cancel))
        .routes(routes!(
            workspace::tickets::create,
            workspace::tickets::list
        ))
        .routes(routes!(
            workspace::tickets::get,
            workspace::tickets::update,
            workspace::tickets::delete
        ))
        .routes(routes!(workspace::tickets::comment))
        .routes(routes!(
            workspace::requests::create,
            workspace::requests::list
        ))
        .routes(routes!(
            workspace::requests::get,
            workspace::requests::update,
            workspace::requests::delete
        ))
        .routes(routes!(workspace::requests::comment))
        .routes(routes!(workspace::dashboard))
        .routes(routes!(documents::upload, documents::list).layer(DefaultBodyLimit::disable()))
        .routes(routes!(documents::search))
        .routes(routes!(
            documents::get,
            documents::update,
            documents::delete
        ))
        .routes(routes!(documents::content))
        .routes(routes!(fleet::create_token, fleet::tokens))
        .routes(routes!(fleet::revoke_token))
        .routes(routes!(fleet::agents))
        .routes(routes!(fleet::agent, fleet::revoke_agent))
        .routes(routes!(fleet::register))
        .routes(routes!(fleet::heartbeat))
        .routes(routes!(fleet::create_task, fleet::tasks))
        .routes(routes!(fleet::task))
        .routes(routes!(fleet::cancel_task))
        .routes(routes!(fleet::create_template, fleet::templates))
        .routes(routes!(fleet::delete_template))
        .routes(routes!(fleet::claim))
        .routes(routes!(fleet::extend_lease))
        .routes(routes!(fleet::task_events))
        .routes(routes!(fleet::task_result))
        .routes(routes!(memory::remember, memory::list))
        .routes(routes!(memory::search))
        .routes(routes!(memory::forget))
        .routes(routes!(projects::create, projects::list))
        .routes(routes!(projects::get, projects::update, projects::delete))
        .routes(routes!(projects::add_milestone))
        .routes(routes!(
            projects::update_milestone,
            projects::delete_milestone
        ))
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
