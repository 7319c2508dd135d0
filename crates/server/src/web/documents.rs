//! The document library in the console: the list (by tag, in pages) or the best matches for
//! some words with highlighted snippets, an upload form (with a progress bar when scripts
//! run; a plain multipart post otherwise), and a document's page — details, tags, text
//! preview, download, delete (admins) and activity. Same services as `/api/v1/documents`.

use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use switchboard_app::workspace::{DocumentDetail, DocumentListQuery, DocumentPage};
use switchboard_domain::Role;

use super::admin::refused;
use super::console::{redirect_with, ConsoleUser};
use super::flash::{self, FlashKind};
use super::workspace::Labels;
use super::{render, Layout};
use crate::state::AppState;

/// How much of a document's text its page previews.
const PREVIEW: usize = 3_000;

/// One search result as the page shows it.
struct Found {
    id: String,
    name: String,
    tags: Vec<String>,
    /// Escaped text with `<mark>`s, built by the app (`Snippet::html`).
    snippet_html: String,
}

#[derive(askama::Template)]
#[template(path = "documents.html")]
struct DocumentsPage {
    layout: Layout,
    page: DocumentPage,
    found: Vec<Found>,
    q: String,
    tag: String,
    searched: bool,
    can_upload: bool,
    max_size: String,
    max_bytes: usize,
    prev: Option<u32>,
    next: Option<u32>,
    pages: u64,
}

impl Labels for DocumentsPage {}

impl DocumentsPage {
    /// `1.2 MB`, `340 KB`, `12 B`.
    fn size(&self, bytes: &i64) -> String {
        human(*bytes)
    }
}

fn human(bytes: i64) -> String {
    match bytes {
        b if b >= 1024 * 1024 && b % (1024 * 1024) == 0 => format!("{} MB", b / (1024 * 1024)),
        b if b >= 1024 * 1024 => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
        b if b >= 1024 => format!("{} KB", b / 1024),
        b => format!("{b} B"),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    tag: Option<String>,
    page: Option<u32>,
}

pub async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    let q = query.q.unwrap_or_default().trim().to_owned();
    let tag = query.tag.unwrap_or_default().trim().to_owned();
    let app = &state.app;
    let filter = DocumentListQuery {
        tag: Some(tag.clone()).filter(|t| !t.is_empty()),
        page: query.page,
        per_page: Some(25),
    };
    let page = match app.list_documents(user.principal(), &filter).await {
        Ok(page) => page,
        Err(e) => return refused(e, "/documents"),
    };
    let found = if q.is_empty() {
        Vec::new()
    } else {
        match app
            .search_documents(user.principal(), &q, filter.tag.as_deref(), Some(25))
            .await
        {
            Ok(hits) => hits
                .into_iter()
                .map(|h| Found {
                    snippet_html: h.snippet.html(),
                    id: h.document.id,
                    name: h.document.name,
                    tags: h.document.tags,
                })
                .collect(),
            Err(e) => return refused(e, "/documents"),
        }
    };
    let (flashes, clear) = flash::take(&headers);
    let pages = page.total.div_ceil(u64::from(page.per_page)).max(1);
    let view = DocumentsPage {
        layout: Layout::signed_in("Documents", "/documents", flashes, user.view.clone()),
        pages,
        prev: (page.page > 1).then(|| page.page - 1),
        next: (u64::from(page.page) < pages).then(|| page.page + 1),
        page,
        found,
        searched: !q.is_empty(),
        q,
        tag,
        can_upload: user.view.role.is_some_and(|r| r.at_least(Role::Member)),
        max_size: human(i64::try_from(app.document_max_bytes).unwrap_or(i64::MAX)),
        max_bytes: app.document_max_bytes,
    };
    flash::finish(render(&view), clear)
}

/// `POST /documents`: the upload form without scripts (with them, the page posts to the API
/// and shows progress).
pub async fn upload(
    State(state): State<AppState>,
    user: ConsoleUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let app = &state.app;
    let form = match crate::upload::read(
        multipart,
        app.document_max_bytes,
        &app.too_large_message(),
    )
    .await
    {
        Ok(form) => form,
        Err(e) => return redirect_with("/documents", FlashKind::Error, e.message),
    };
    let csrf = form.fields.get("csrf").cloned().unwrap_or_default();
    if let Err(page) = user.check_csrf(&csrf) {
        return page;
    }
    match app.upload_document(user.principal(), form.upload).await {
        Ok(d) => redirect_with(
            &format!("/documents/{}", d.id),
            FlashKind::Success,
            format!("Uploaded {}.", d.name),
        ),
        Err(e) => refused(e, "/documents"),
    }
}

#[derive(askama::Template)]
#[template(path = "document.html")]
struct DocumentPageView {
    layout: Layout,
    detail: DocumentDetail,
    preview: String,
    cut: bool,
    size: String,
    can_tag: bool,
    is_admin: bool,
}

impl Labels for DocumentPageView {}

pub async fn detail(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let app = &state.app;
    let detail = match app.document(user.principal(), &id).await {
        Ok(d) => d,
        Err(e) => return refused(e, "/documents"),
    };
    let (_, text, _) = match app.document_text(user.principal(), &id).await {
        Ok(read) => read,
        Err(e) => return refused(e, "/documents"),
    };
    let cut = text.chars().count() > PREVIEW;
    let (flashes, clear) = flash::take(&headers);
    let role = user.view.role;
    let view = DocumentPageView {
        layout: Layout::signed_in(
            &detail.document.name,
            "/documents",
            flashes,
            user.view.clone(),
        ),
        size: human(detail.document.size),
        preview: text.chars().take(PREVIEW).collect(),
        cut,
        detail,
        can_tag: role.is_some_and(|r| r.at_least(Role::Member)),
        is_admin: role.is_some_and(|r| r.at_least(Role::Admin)),
    };
    flash::finish(render(&view), clear)
}

/// `GET /documents/{id}/download`: the file, as an attachment.
pub async fn download(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Response {
    match state.app.download_document(user.principal(), &id).await {
        Ok(file) => crate::api::documents::attachment(file),
        Err(e) => refused(e, "/documents"),
    }
}

#[derive(Debug, Deserialize)]
pub struct TagsForm {
    csrf: String,
    #[serde(default)]
    tags: String,
    updated_at: String,
}

pub async fn tags(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<TagsForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    let back = format!("/documents/{id}");
    match state
        .app
        .tag_document(user.principal(), &id, &form.tags, Some(&form.updated_at))
        .await
    {
        Ok(_) => redirect_with(&back, FlashKind::Success, "Tags saved."),
        Err(e) => refused(e, &back),
    }
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    csrf: String,
}

pub async fn delete(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    match state.app.delete_document(user.principal(), &id).await {
        Ok(()) => redirect_with("/documents", FlashKind::Success, "Document deleted."),
        Err(e) => refused(e, &format!("/documents/{id}")),
    }
}
