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
}
