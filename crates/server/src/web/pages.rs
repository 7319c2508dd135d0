//! Console pages.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::{flash, render, Layout};
use crate::state::AppState;

#[derive(askama::Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    overview: switchboard_app::health::SystemOverview,
}

pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (flashes, clear) = flash::take(&headers);
    let overview = state.app.overview().await;
    let page = HomePage {
        layout: Layout::new("Overview", "/", flashes),
        overview,
    };
    flash::finish(render(&page), clear)
}
