//! Console pages.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::console::ConsoleUser;
use super::{flash, render, Layout};
use crate::state::AppState;

#[derive(askama::Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    overview: switchboard_app::health::SystemOverview,
}

pub async fn home(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
) -> Response {
    let (flashes, clear) = flash::take(&headers);
    let overview = state.app.overview().await;
    let page = HomePage {
        layout: Layout::signed_in("Overview", "/", flashes, user.view),
        overview,
    };
    flash::finish(render(&page), clear)
}
