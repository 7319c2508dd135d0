//! Requests and tickets in the console: a list with filters, words and pages and a form to
//! file one; a detail page with the comment thread, the activity log and the forms to change
//! it (status for admins). The same services as `/api/v1/tickets` and `/api/v1/requests`.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use axum::Form;
use serde::Deserialize;
use switchboard_app::workspace::{
    CommentInput, ItemDetail, ItemInput, ItemPage, ItemPatch, ItemQuery,
};
use switchboard_domain::{ItemKind, Priority, Role};

use super::admin::refused;
use super::console::{redirect_with, ConsoleUser};
use super::flash::{self, FlashKind};
use super::{render, Layout};
use crate::state::AppState;

/// The pages of one kind, nested under `/tickets` or `/requests`.
pub fn routes(kind: ItemKind) -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/", get(list).post(create))
        .route("/{id}", get(detail).post(change))
        .route("/{id}/comments", post(comment))
        .route("/{id}/delete", post(delete))
        .layer(axum::Extension(kind))
}

fn plural(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Ticket => "tickets",
        ItemKind::Request => "requests",
    }
}

fn title_of(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Ticket => "Tickets",
        ItemKind::Request => "Requests",
    }
}

/// A query-string value: everything but unreserved characters percent-encoded.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn priorities() -> Vec<&'static str> {
    Priority::ALL.iter().map(|p| p.as_str()).collect()
}

#[derive(askama::Template)]
#[template(path = "items.html")]
struct ItemsPage {
    layout: Layout,
    kind: &'static str,
    base: &'static str,
    heading: &'static str,
    page: ItemPage,
    statuses: Vec<&'static str>,
    priorities: Vec<&'static str>,
    status: String,
    priority: String,
    q: String,
    can_file: bool,
    /// Query string of the filters (for the page links).
    filters: String,
    pages: u64,
    prev: Option<u32>,
    next: Option<u32>,
}

/// Template helpers of the workspace pages.
pub(super) trait Labels {
    /// `waiting_on_client` → `waiting on client`.
    fn label(&self, status: &str) -> String {
        status.replace('_', " ")
    }
    fn same(&self, a: &str, b: &str) -> bool {
        a == b
    }
    /// An RFC 3339 time as `2026-12-01 11:06 UTC`.
    fn when(&self, rfc3339: &str) -> String {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .map(|t| {
                t.with_timezone(&chrono::Utc)
                    .format("%Y-%m-%d %H:%M UTC")
                    .to_string()
            })
            .unwrap_or_else(|_| rfc3339.to_owned())
    }
}

impl Labels for ItemsPage {}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    priority: Option<String>,
    q: Option<String>,
    page: Option<u32>,
}

fn nonempty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

pub async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Extension(kind): Extension<ItemKind>,
    Query(query): Query<ListQuery>,
) -> Response {
    let filter = ItemQuery {
        status: nonempty(&query.status),
        priority: nonempty(&query.priority),
        q: nonempty(&query.q),
        page: query.page,
        per_page: Some(25),
    };
    let page = match state.app.list_items(user.principal(), kind, &filter).await {
        Ok(page) => page,
        Err(e) => return refused(e, &format!("/{}", plural(kind))),
    };
    let filters = [
        ("status", &filter.status),
        ("priority", &filter.priority),
        ("q", &filter.q),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_deref().map(|v| format!("{k}={}", encode(v))))
    .collect::<Vec<_>>()
    .join("&");
    let (flashes, clear) = flash::take(&headers);
    let base = match kind {
        ItemKind::Ticket => "/tickets",
        ItemKind::Request => "/requests",
    };
    let pages = page.total.div_ceil(u64::from(page.per_page)).max(1);
    let view = ItemsPage {
        layout: Layout::signed_in(title_of(kind), base, flashes, user.view.clone()),
        kind: kind.as_str(),
        base,
        heading: title_of(kind),
        pages,
        prev: (page.page > 1).then(|| page.page - 1),
        next: (u64::from(page.page) < pages).then(|| page.page + 1),
        page,
        statuses: kind.statuses().to_vec(),
        priorities: priorities(),
        status: filter.status.unwrap_or_default(),
        priority: filter.priority.unwrap_or_default(),
        q: filter.q.unwrap_or_default(),
        can_file: user.view.role.is_some_and(|r| r.at_least(Role::Member)),
        filters,
    };
    flash::finish(render(&view), clear)
}

#[derive(Debug, Deserialize)]
pub struct NewItemForm {
    csrf: String,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    category: String,
}

pub async fn create(
    State(state): State<AppState>,
    user: ConsoleUser,
    Extension(kind): Extension<ItemKind>,
    Form(form): Form<NewItemForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    let back = format!("/{}", plural(kind));
    let input = ItemInput {
        title: form.title,
        description: form.description,
        priority: Some(form.priority).filter(|p| !p.is_empty()),
        category: Some(form.category).filter(|c| !c.trim().is_empty()),
    };
    match state.app.create_item(user.principal(), kind, input).await {
        Ok(item) => redirect_with(
            &format!("{back}/{}", item.id),
            FlashKind::Success,
            format!("{} filed.", item.reference),
        ),
        Err(e) => refused(e, &back),
    }
}

#[derive(askama::Template)]
#[template(path = "item.html")]
struct ItemPageView {
    layout: Layout,
    base: &'static str,
    detail: ItemDetail,
    /// The statuses it may move to next.
    moves: Vec<&'static str>,
    priorities: Vec<&'static str>,
    is_member: bool,
    is_admin: bool,
}

impl Labels for ItemPageView {}

pub async fn detail(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Extension(kind): Extension<ItemKind>,
    Path(id): Path<String>,
) -> Response {
    let back = format!("/{}", plural(kind));
    let detail = match state.app.item(user.principal(), kind, &id).await {
        Ok(detail) => detail,
        Err(e) => return refused(e, &back),
    };
    let (flashes, clear) = flash::take(&headers);
    let base = match kind {
        ItemKind::Ticket => "/tickets",
        ItemKind::Request => "/requests",
    };
    let moves = kind
        .statuses()
        .iter()
        .copied()
        .filter(|s| kind.can_move(&detail.item.status, s))
        .collect();
    let page = ItemPageView {
        layout: Layout::signed_in(
            format!("{} {}", detail.item.reference, detail.item.title),
            base,
            flashes,
            user.view.clone(),
        ),
        base,
        moves,
        priorities: priorities(),
        is_member: user.view.role.is_some_and(|r| r.at_least(Role::Member)),
        is_admin: user.view.role.is_some_and(|r| r.at_least(Role::Admin)),
        detail,
    };
    flash::finish(render(&page), clear)
}

#[derive(Debug, Deserialize)]
pub struct ChangeForm {
    csrf: String,
    title: Option<String>,
    description: Option<String>,
    priority: Option<String>,
    category: Option<String>,
    status: Option<String>,
}

pub async fn change(
    State(state): State<AppState>,
    user: ConsoleUser,
    Extension(kind): Extension<ItemKind>,
    Path(id): Path<String>,
    Form(form): Form<ChangeForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    let here = format!("/{}/{id}", plural(kind));
    let patch = ItemPatch {
        title: form.title,
        description: form.description,
        priority: form.priority.filter(|p| !p.is_empty()),
        category: form.category,
        status: form.status.filter(|s| !s.is_empty()),
    };
    match state
        .app
        .update_item(user.principal(), kind, &id, patch)
        .await
    {
        Ok(item) => redirect_with(
            &here,
            FlashKind::Success,
            format!("{} saved.", item.reference),
        ),
        Err(e) => refused(e, &here),
    }
}

#[derive(Debug, Deserialize)]
pub struct CommentForm {
    csrf: String,
    body: String,
    internal: Option<String>,
}

pub async fn comment(
    State(state): State<AppState>,
    user: ConsoleUser,
    Extension(kind): Extension<ItemKind>,
    Path(id): Path<String>,
    Form(form): Form<CommentForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    let here = format!("/{}/{id}", plural(kind));
    let input = CommentInput {
        body: form.body,
        internal: form.internal.is_some(),
    };
    match state
        .app
        .comment_item(user.principal(), kind, &id, input)
        .await
    {
        Ok(_) => redirect_with(
            &format!("{here}#comments"),
            FlashKind::Success,
            "Comment added.",
        ),
        Err(e) => refused(e, &here),
    }
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    csrf: String,
}

pub async fn delete(
    State(state): State<AppState>,
    user: ConsoleUser,
    Extension(kind): Extension<ItemKind>,
    Path(id): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    let back = format!("/{}", plural(kind));
    match state.app.delete_item(user.principal(), kind, &id).await {
        Ok(()) => redirect_with(&back, FlashKind::Success, "Deleted."),
        Err(e) => refused(e, &format!("{back}/{id}")),
    }
}
