//! What every handler can reach: the application services and the API description.

use std::sync::Arc;

use switchboard_app::App;

#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub openapi: Arc<utoipa::openapi::OpenApi>,
    pub options: Arc<crate::ServerOptions>,
}
