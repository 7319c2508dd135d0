//! The assistant's memory in the console: the facts the person can see (the organisation's
//! and their own), a search by words, a form to remember one, and forgetting. Same service as
//! `/api/v1/memory`.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use switchboard_app::memory::{MemoryInput, MemoryView};
use switchboard_domain::Role;

use super::admin::refused;
use super::console::{redirect_with, ConsoleUser};
use super::flash::{self, FlashKind};
use super::workspace::Labels;
use super::{render, Layout};
use crate::state::AppState;

#[derive(askama::Template)]
#[template(path = "memory.html")]
struct MemoryPage {
    layout: Layout,
    facts: Vec<MemoryView>,
    q: String,
    searched: bool,
    is_member: bool,
    is_admin: bool,
}

impl Labels for MemoryPage {}

#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Query(query): Query<SearchQuery>,
) -> Response {
    let q = query.q.unwrap_or_default().trim().to_owned();
    let facts = if q.is_empty() {
        state.app.memories(user.principal()).await
    } else {
        state.app.recall(user.principal(), &q, Some(50)).await
    };
    let facts = match facts {
        Ok(facts) => facts,
        Err(e) => return refused(e, "/memory"),
    };
    let (flashes, clear) = flash::take(&headers);
    let view = MemoryPage {
        layout: Layout::signed_in("Memory", "/memory", flashes, user.view.clone()),
        facts,
        searched: !q.is_empty(),
        q,
        is_member: user.view.role.is_some_and(|r| r.at_least(Role::Member)),
        is_admin: user.view.role.is_some_and(|r| r.at_least(Role::Admin)),
    };
    flash::finish(render(&view), clear)
}

#[derive(Debug, Deserialize)]
pub struct RememberForm {
    csrf: String,
    content: String,
    #[serde(default)]
    scope: String,
}

pub async fn remember(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<RememberForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    let input = MemoryInput {
        content: form.content,
        scope: Some(form.scope).filter(|s| !s.is_empty()),
    };
    match state.app.remember(user.principal(), input).await {
        Ok(done) if done.new => redirect_with("/memory", FlashKind::Success, "Remembered."),
        Ok(_) => redirect_with("/memory", FlashKind::Info, "That was already remembered."),
        Err(e) => refused(e, "/memory"),
    }
}

#[derive(Debug, Deserialize)]
pub struct ForgetForm {
    csrf: String,
}

pub async fn forget(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<ForgetForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    match state.app.forget(user.principal(), &id).await {
        Ok(()) => redirect_with("/memory", FlashKind::Success, "Forgotten."),
        Err(e) => refused(e, "/memory"),
    }
}
