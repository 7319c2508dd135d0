//! What every handler can reach: the application services and the API description.

use std::sync::Arc;

use switchboard_app::App;

#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub openapi: Arc<utoipa::openapi::OpenApi>,
    pub options: Arc<crate::ServerOptions>,
}

impl AppState {
    /// The console's base URL without a trailing slash, or `""` (relative links).
    pub fn public_url(&self) -> &str {
        self.options
            .public_url
            .as_deref()
            .map(|u| u.trim_end_matches('/'))
            .unwrap_or("")
    }

    /// Where people and programs reach this hub: the configured public URL, else the host
    /// the browser used (letters, digits, `.-:[]` only; `localhost` otherwise) with the
    /// scheme this server speaks. For what the console shows and for SSO redirect URIs.
    pub fn origin(&self, headers: &axum::http::HeaderMap) -> String {
        if !self.public_url().is_empty() {
            return self.public_url().to_owned();
        }
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .unwrap_or("localhost");
        let scheme = if self.options.tls { "https" } else { "http" };
        format!("{scheme}://{host}")
    }
}
