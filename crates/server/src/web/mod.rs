//! The web console: server-rendered askama pages over the same services the API uses, one
//! CSS file and one small JS file embedded in the binary. Forms work without JavaScript.

pub mod assets;
pub mod flash;
mod pages;

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
    Router::new()
        .route("/", get(pages::home))
        .route("/assets/{file}", get(assets::serve))
}

/// Navigation entries of the console header: (path, label).
pub const NAVIGATION: &[(&str, &str)] = &[("/", "Overview")];

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The shared frame of every page: navigation, the organisation switcher slot and flashes.
pub struct Layout {
    pub title: String,
    pub active: &'static str,
    pub flashes: Vec<flash::Flash>,
    pub css: String,
    pub js: String,
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
        }
    }

    pub fn navigation(&self) -> Vec<NavItem> {
        NAVIGATION
            .iter()
            .map(|(href, label)| NavItem {
                href,
                label,
                current: *href == self.active,
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
