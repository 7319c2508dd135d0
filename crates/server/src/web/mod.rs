//! The web console: server-rendered askama pages over the same services the API uses, one
//! CSS file and one small JS file embedded in the binary. Forms work without JavaScript.

#![allow(
    clippy::result_large_err,
    reason = "console handlers return ready-made error pages as the error variant"
)]

mod account;
mod admin;
mod agents;
mod approvals;
pub mod assets;
mod audit;
pub mod charts;
mod chat;
pub mod console;
mod documents;
pub mod flash;
mod fleet;
mod gateway;
mod memory;
mod pages;
mod projects;
mod signin;
mod sso;
mod usage;
mod workspace;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::ErrorCode;
use crate::state::AppState;

/// Console routes. They render HTML, so they are not part of the OpenAPI document.
#[allow(
    clippy::disallowed_methods,
    reason = "console pages are HTML, not API routes"
)]
pub fn router() -> Router<AppState> {
    use axum::routing::post;
    Router::new()
        .route("/", get(pages::home))
        .route("/assets/{file}", get(assets::serve))
        .route("/setup", get(signin::setup_page).post(signin::setup_submit))
        .route("/login", get(signin::login_page).post(signin::login_submit))
        .route("/logout", post(signin::logout))
        .route("/auth/sso/{provider}", get(sso::begin))
        .route("/auth/sso/{provider}/callback", get(sso::callback))
        .route("/switch-org", post(signin::switch_org))
        .route(
            "/invite/{token}",
            get(signin::invite_page).post(signin::invite_submit),
        )
        .route("/account", get(account::page))
        .route("/account/totp/begin", post(account::totp_begin))
        .route("/account/totp/confirm", post(account::totp_confirm))
        .route("/account/totp/disable", post(account::totp_disable))
        .route("/account/password", post(account::password))
        .route("/keys", get(admin::keys_page).post(admin::keys_create))
        .route("/keys/{id}/revoke", post(admin::keys_revoke))
        .route("/members", get(admin::members_page))
        .route("/members/invite", post(admin::members_invite))
        .route("/members/{id}/role", post(admin::members_role))
        .route("/members/{id}/remove", post(admin::members_remove))
        .route(
            "/settings",
            get(admin::settings_page).post(admin::settings_save),
        )
        .route(
            "/operator",
            get(admin::operator_page).post(admin::operator_create),
        )
        .route("/gateway", get(gateway::keys_page))
        .route("/gateway/keys", post(gateway::keys_create))
        .route("/gateway/keys/{id}/revoke", post(gateway::keys_revoke))
        .route("/models", get(gateway::models_page))
        .route("/models/default", post(gateway::models_default))
        .route("/models/guard", post(gateway::models_guard))
        .route("/models/embedding", post(gateway::models_embedding))
        .route("/models/providers", post(gateway::providers_save))
        .route(
            "/models/providers/{name}/delete",
            post(gateway::providers_delete),
        )
        .route("/usage", get(usage::org_page))
        .route("/audit", get(audit::page))
        .route("/chat", get(chat::index).post(chat::create))
        .route("/chat/{id}", get(chat::conversation).post(chat::send))
        .route("/chat/{id}/rename", post(chat::rename))
        .route("/chat/{id}/delete", post(chat::delete))
        .route("/agents", get(agents::list).post(agents::create))
        .route("/agents/{slug}", get(agents::edit).post(agents::save))
        .route("/agents/{slug}/delete", post(agents::delete))
        .route("/agents/{slug}/skills", post(agents::import_skills))
        .nest(
            "/tickets",
            workspace::routes(switchboard_domain::ItemKind::Ticket),
        )
        .nest(
            "/requests",
            workspace::routes(switchboard_domain::ItemKind::Request),
        )
        .route(
            "/documents",
            get(documents::list)
                .post(documents::upload)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/documents/{id}", get(documents::detail))
        .route("/documents/{id}/download", get(documents::download))
        .route("/documents/{id}/tags", post(documents::tags))
        .route("/documents/{id}/delete", post(documents::delete))
        .route("/memory", get(memory::page).post(memory::remember))
        .route("/memory/{id}/forget", post(memory::forget))
        .route("/projects", get(projects::list).post(projects::create))
        .route(
            "/projects/{id}",
            get(projects::detail).post(projects::change),
        )
        .route("/projects/{id}/delete", post(projects::delete))
        .route("/projects/{id}/milestones", post(projects::add_milestone))
        .route(
            "/projects/{id}/milestones/{milestone_id}",
            post(projects::change_milestone),
        )
        .route("/fleet", get(fleet::page))
        .route("/fleet/tasks", post(fleet::create_task))
        .route("/fleet/tasks/{id}", get(fleet::task))
        .route("/fleet/tasks/{id}/cancel", post(fleet::cancel_task))
        .route("/fleet/tasks/{id}/retry", post(fleet::retry_task))
        .route("/fleet/templates/{id}/run", post(fleet::run_template))
        .route("/fleet/templates/{id}/delete", post(fleet::delete_template))
        .route("/fleet/tokens", post(fleet::create_token))
        .route("/fleet/tokens/{id}/revoke", post(fleet::revoke_token))
        .route("/fleet/agents/{id}", get(fleet::agent))
        .route("/fleet/agents/{id}/revoke", post(fleet::revoke_agent))
        .route("/approvals", get(approvals::page))
        .route("/approvals/{id}/{action}", post(approvals::decide))
        .route("/operator/usage", get(usage::platform_page))
        .route("/operator/{slug}/{action}", post(admin::operator_action))
}

/// Navigation entries of the console header: (path, label, who sees it).
pub const NAVIGATION: &[(&str, &str, console::Sees)] = &[
    ("/", "Overview", console::Sees::Everyone),
    ("/chat", "Assistant", console::Sees::Members),
    ("/agents", "Agents", console::Sees::Members),
    ("/tickets", "Tickets", console::Sees::Members),
    ("/requests", "Requests", console::Sees::Members),
    ("/projects", "Projects", console::Sees::Members),
    ("/documents", "Documents", console::Sees::Members),
    ("/memory", "Memory", console::Sees::Members),
    ("/fleet", "Fleet", console::Sees::Members),
    ("/members", "Members", console::Sees::Members),
    ("/approvals", "Approvals", console::Sees::Members),
    ("/keys", "API keys", console::Sees::Admins),
    ("/settings", "Security", console::Sees::Admins),
    ("/gateway", "AI gateway", console::Sees::Admins),
    ("/models", "Models", console::Sees::Admins),
    ("/usage", "Usage", console::Sees::Admins),
    ("/audit", "Audit log", console::Sees::Admins),
    ("/operator", "Organisations", console::Sees::Operators),
    (
        "/operator/usage",
        "Platform usage",
        console::Sees::Operators,
    ),
    ("/account", "Account", console::Sees::Everyone),
];

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
    /// A count shown next to the label (pending approvals), when there is one.
    pub badge: Option<u64>,
}

/// The shared frame of every page: navigation, the organisation switcher slot and flashes.
pub struct Layout {
    pub title: String,
    pub active: &'static str,
    pub flashes: Vec<flash::Flash>,
    pub css: String,
    pub js: String,
    /// The signed-in user, when there is one (header menu, switcher, CSRF token).
    pub session: Option<console::SessionView>,
}

impl Layout {
    pub fn new(
        title: impl Into<String>,
        active: &'static str,
        flashes: Vec<flash::Flash>,
    ) -> Layout {
        Layout {
            title: title.into(),
            active,
            flashes,
            css: assets::url("app.css"),
            js: assets::url("app.js"),
            session: None,
        }
    }

    /// The frame for a signed-in page.
    pub fn signed_in(
        title: impl Into<String>,
        active: &'static str,
        flashes: Vec<flash::Flash>,
        session: console::SessionView,
    ) -> Layout {
        let mut layout = Layout::new(title, active, flashes);
        layout.session = Some(session);
        layout
    }

    pub fn csrf(&self) -> &str {
        self.session.as_ref().map_or("", |s| s.csrf.as_str())
    }

    pub fn navigation(&self) -> Vec<NavItem> {
        let Some(session) = &self.session else {
            return Vec::new();
        };
        NAVIGATION
            .iter()
            .filter(|(_, _, sees)| session.sees(*sees))
            .map(|(href, label, _)| NavItem {
                href,
                label,
                current: *href == self.active,
                badge: (*href == "/approvals").then_some(session.pending_approvals),
            })
            .collect()
    }
}

/// Renders a template, or the 500 page if rendering fails.
pub fn render(template: &impl askama::Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            error_page(ErrorCode::Internal)
        }
    }
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    heading: &'static str,
    message: &'static str,
}

/// The styled error page for a status (404, 500, ...).
pub fn error_page(code: ErrorCode) -> Response {
    let status = code.status();
    let heading = match status {
        StatusCode::NOT_FOUND => "Page not found",
        s if s.is_server_error() => "Something went wrong",
        _ => "This request could not be completed",
    };
    let page = ErrorPage {
        layout: Layout::new(heading, "", Vec::new()),
        status: status.as_u16(),
        heading,
        message: code.default_message(),
    };
    let html = page.render_fallback();
    (status, Html(html)).into_response()
}

impl ErrorPage {
    /// Error pages must never fail themselves; fall back to plain text markup.
    fn render_fallback(&self) -> String {
        use askama::Template as _;
        self.render()
            .unwrap_or_else(|_| format!("<h1>{}</h1>", self.status))
    }
}

/// The console's fallback: a styled 404 page.
pub async fn not_found() -> Response {
    error_page(ErrorCode::NotFound)
}
