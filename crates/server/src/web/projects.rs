//! Projects in the console: the list (status, words, pages) with a form to start one; a
//! project's page with its progress, milestones in order (progress, status, order, due date),
//! the details form, status moves (admins) and the activity log. Same services as
//! `/api/v1/projects`.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use switchboard_app::workspace::{
    MilestoneInput, MilestonePatch, ProjectDetail, ProjectInput, ProjectPage, ProjectPatch,
    ProjectQuery,
};
use switchboard_domain::workspace::project;
use switchboard_domain::Role;

use super::admin::refused;
use super::console::{redirect_with, ConsoleUser};
use super::flash::{self, FlashKind};
use super::workspace::Labels;
use super::{render, Layout};
use crate::state::AppState;

#[derive(askama::Template)]
#[template(path = "projects.html")]
struct ProjectsPage {
    layout: Layout,
    page: ProjectPage,
    statuses: Vec<&'static str>,
    status: String,
    q: String,
    can_start: bool,
    prev: Option<u32>,
    next: Option<u32>,
    pages: u64,
}

impl Labels for ProjectsPage {}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    q: Option<String>,
    page: Option<u32>,
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

pub async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    let filter = ProjectQuery {
        status: nonempty(query.status),
        q: nonempty(query.q),
        page: query.page,
        per_page: Some(25),
    };
    let page = match state.app.list_projects(user.principal(), &filter).await {
        Ok(page) => page,
        Err(e) => return refused(e, "/projects"),
    };
    let (flashes, clear) = flash::take(&headers);
    let pages = page.total.div_ceil(u64::from(page.per_page)).max(1);
    let view = ProjectsPage {
        layout: Layout::signed_in("Projects", "/projects", flashes, user.view.clone()),
        pages,
        prev: (page.page > 1).then(|| page.page - 1),
        next: (u64::from(page.page) < pages).then(|| page.page + 1),
        page,
        statuses: project::STATUSES.to_vec(),
        status: filter.status.unwrap_or_default(),
        q: filter.q.unwrap_or_default(),
        can_start: user.view.role.is_some_and(|r| r.at_least(Role::Member)),
    };
    flash::finish(render(&view), clear)
}

#[derive(Debug, Deserialize)]
pub struct NewProjectForm {
    csrf: String,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    start_date: String,
    #[serde(default)]
    due_date: String,
}

pub async fn create(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<NewProjectForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    let input = ProjectInput {
        name: form.name,
        description: form.description,
        start_date: Some(form.start_date),
        due_date: Some(form.due_date),
    };
    match state.app.create_project(user.principal(), input).await {
        Ok(p) => redirect_with(
            &format!("/projects/{}", p.id),
            FlashKind::Success,
            format!("Project {} started. Add its milestones below.", p.name),
        ),
        Err(e) => refused(e, "/projects"),
    }
}

#[derive(askama::Template)]
#[template(path = "project.html")]
struct ProjectPageView {
    layout: Layout,
    detail: ProjectDetail,
    moves: Vec<&'static str>,
    is_member: bool,
    is_admin: bool,
}

impl Labels for ProjectPageView {}

impl ProjectPageView {
    fn date_or_empty(&self, d: &Option<String>) -> String {
        d.clone().unwrap_or_default()
    }
}

pub async fn detail(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let detail = match state.app.project(user.principal(), &id).await {
        Ok(detail) => detail,
        Err(e) => return refused(e, "/projects"),
    };
    let (flashes, clear) = flash::take(&headers);
    let moves = project::STATUSES
        .iter()
        .copied()
        .filter(|s| project::can_move(&detail.project.status, s))
        .collect();
    let page = ProjectPageView {
        layout: Layout::signed_in(
            detail.project.name.clone(),
            "/projects",
            flashes,
            user.view.clone(),
        ),
        moves,
        is_member: user.view.role.is_some_and(|r| r.at_least(Role::Member)),
        is_admin: user.view.role.is_some_and(|r| r.at_least(Role::Admin)),
        detail,
    };
    flash::finish(render(&page), clear)
}

#[derive(Debug, Deserialize)]
pub struct ChangeForm {
    csrf: String,
    name: Option<String>,
    description: Option<String>,
    status: Option<String>,
    start_date: Option<String>,
    due_date: Option<String>,
}

pub async fn change(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<ChangeForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    let here = format!("/projects/{id}");
    let patch = ProjectPatch {
        name: form.name,
        description: form.description,
        status: form.status.filter(|s| !s.is_empty()),
        start_date: form.start_date,
        due_date: form.due_date,
    };
    match state.app.update_project(user.principal(), &id, patch).await {
        Ok(p) => redirect_with(&here, FlashKind::Success, format!("{} saved.", p.name)),
        Err(e) => refused(e, &here),
    }
}

#[derive(Debug, Deserialize)]
pub struct MilestoneForm {
    csrf: String,
    title: String,
    #[serde(default)]
    due_date: String,
}

pub async fn add_milestone(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<MilestoneForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    let here = format!("/projects/{id}");
    let input = MilestoneInput {
        title: form.title,
        due_date: Some(form.due_date),
    };
    match state.app.add_milestone(user.principal(), &id, input).await {
        Ok(m) => redirect_with(
            &format!("{here}#milestones"),
            FlashKind::Success,
            format!("Milestone {} added.", m.title),
        ),
        Err(e) => refused(e, &here),
    }
}

#[derive(Debug, Deserialize)]
pub struct MilestoneChangeForm {
    csrf: String,
    status: Option<String>,
    progress: Option<String>,
    position: Option<String>,
    due_date: Option<String>,
}

pub async fn change_milestone(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((id, milestone_id)): Path<(String, String)>,
    Form(form): Form<MilestoneChangeForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    let here = format!("/projects/{id}");
    let number = |field: &'static str, v: Option<String>| -> Result<Option<i64>, Response> {
        match v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => s.parse().map(Some).map_err(|_| {
                redirect_with(
                    &here,
                    FlashKind::Error,
                    format!("`{field}` must be a whole number."),
                )
            }),
        }
    };
    let progress = match number("progress", form.progress) {
        Ok(p) => p,
        Err(page) => return page,
    };
    let position = match number("position", form.position) {
        Ok(p) => p,
        Err(page) => return page,
    };
    let progress = match progress.map(u8::try_from) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(_)) => return redirect_with(&here, FlashKind::Error, "`progress` must be 0–100."),
    };
    let patch = MilestonePatch {
        title: None,
        status: form.status.filter(|s| !s.is_empty()),
        progress,
        due_date: form.due_date,
        position,
    };
    match state
        .app
        .update_milestone(user.principal(), &id, &milestone_id, patch)
        .await
    {
        Ok(m) => redirect_with(
            &format!("{here}#milestones"),
            FlashKind::Success,
            format!("Milestone {} saved.", m.title),
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
    Path(id): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    match state.app.delete_project(user.principal(), &id).await {
        Ok(()) => redirect_with("/projects", FlashKind::Success, "Project deleted."),
        Err(e) => refused(e, &format!("/projects/{id}")),
    }
}
