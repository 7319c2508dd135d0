//! The fleet in the console: servers' agents (list, detail with their tasks, revoke),
//! registration tokens (admins: create — the token and the register command shown once —
//! and revoke), tasks (run one from a form or a saved template, the recent ones by status,
//! a task's page whose status, log and result follow live, retry and cancel) and templates.
//! Same services as `/api/v1/fleet`; tasks are made through the governed `fleet.run` tool, so
//! a task that changes a server goes to the approvals inbox first.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_app::fleet::{
    AgentView, NewTask, NewTemplate, NewToken, Target, TaskEventView, TaskView, TemplateView,
    TokenView,
};
use switchboard_app::tools::Invoked;
use switchboard_domain::fleet::{task_tier, TaskStatus, TASK_TYPES};
use switchboard_domain::{ApprovalStatus, Role};

use super::admin::refused;
use super::console::{redirect_with, ConsoleUser};
use super::flash::{self, FlashKind};
use super::workspace::Labels;
use super::{render, Layout};
use crate::state::AppState;

/// Where an agent keeps its id and secret in the register command the page shows.
const STATE_DIR: &str = "/var/lib/switchboard-agent";

/// A task as the tables show it.
pub struct TaskRow {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub target: String,
    /// The agent that holds (or last held) it, by name.
    pub agent: String,
    pub attempts: String,
    pub created_at: String,
}

/// `{"agent_id"}` as the agent's name, `{"labels"}` as `k=v, …` (or "any agent").
fn target_text(target: &Value, names: &BTreeMap<String, String>) -> String {
    if let Some(id) = target["agent_id"].as_str() {
        return names.get(id).cloned().unwrap_or_else(|| id.to_owned());
    }
    let labels = labels_text(&target["labels"]);
    if labels.is_empty() {
        "any agent".to_owned()
    } else {
        labels
    }
}

/// A task's or template's target as the service takes it again.
fn target_from(target: &Value) -> Target {
    Target {
        agent_id: target["agent_id"].as_str().map(str::to_owned),
        labels: target["labels"].as_object().map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        }),
    }
}

fn labels_text(labels: &Value) -> String {
    labels
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

fn row(t: &TaskView, names: &BTreeMap<String, String>) -> TaskRow {
    TaskRow {
        id: t.id.clone(),
        kind: t.kind.clone(),
        status: t.status.clone(),
        target: target_text(&t.target, names),
        agent: t
            .agent_id
            .as_ref()
            .map(|a| names.get(a).cloned().unwrap_or_else(|| a.clone()))
            .unwrap_or_default(),
        attempts: format!("{}/{}", t.attempts, t.max_attempts),
        created_at: t.created_at.clone(),
    }
}

/// Agent ids to names.
fn agent_names(agents: &[AgentView]) -> BTreeMap<String, String> {
    agents
        .iter()
        .map(|a| (a.id.clone(), a.name.clone()))
        .collect()
}

/// `role=web, env=prod` → labels.
fn parse_label_text(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    for pair in text
        .split([',', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair
            .split_once('=')
            .ok_or(format!("Labels are key=value pairs; `{pair}` has no `=`."))?;
        labels.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(labels)
}

/// The type picker: every task type with what it takes to run.
pub struct TypeOption {
    pub kind: &'static str,
    pub label: String,
}

fn type_options() -> Vec<TypeOption> {
    TASK_TYPES
        .iter()
        .map(|(kind, tier)| TypeOption {
            kind,
            label: match tier {
                switchboard_domain::Tier::T1 | switchboard_domain::Tier::T2 => {
                    format!("{kind} — runs at once")
                }
                _ => format!("{kind} — changes the server, an admin approves"),
            },
        })
        .collect()
}

/// The "Run a task" form's values (prefilled from a template, or kept after a refusal).
#[derive(Clone, Debug, Default)]
pub struct TaskFormValues {
    pub kind: String,
    pub agent_id: String,
    pub labels: String,
    pub payload: String,
    pub max_attempts: String,
    pub template: String,
}

/// A task that waits for an approval (a pending `fleet.run` request).
pub struct WaitingRow {
    pub approval_id: String,
    pub kind: String,
    pub target: String,
    pub created_at: String,
}

/// A registration token just made: shown once with the command that uses it.
pub struct NewTokenShown {
    pub name: String,
    pub token: String,
    pub command: String,
}

#[derive(askama::Template)]
#[template(path = "fleet.html")]
struct FleetPage {
    layout: Layout,
    agents: Vec<AgentView>,
    tasks: Vec<TaskRow>,
    waiting: Vec<WaitingRow>,
    templates: Vec<TemplateView>,
    tokens: Vec<TokenView>,
    new_token: Option<NewTokenShown>,
    status: String,
    statuses: Vec<&'static str>,
    types: Vec<TypeOption>,
    form: TaskFormValues,
    is_member: bool,
    is_admin: bool,
}

/// The badge class of a task's or an agent's status, one rule for every fleet page.
trait Badges {
    fn task_badge(&self, status: &str) -> &'static str {
        match status {
            "succeeded" => "badge-success",
            "failed" | "dead" => "badge-danger",
            "cancelled" => "badge-warning",
            _ => "badge-info",
        }
    }
    fn agent_badge(&self, status: &str) -> &'static str {
        match status {
            "online" => "badge-success",
            "revoked" => "badge-danger",
            _ => "badge-warning",
        }
    }
}

impl Labels for FleetPage {}
impl Badges for FleetPage {}

impl FleetPage {
    fn labels_of(&self, agent: &AgentView) -> String {
        labels_text(&json!(agent.labels))
    }
    fn target_of(&self, template: &TemplateView) -> String {
        target_text(&template.target, &agent_names(&self.agents))
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct FleetQuery {
    status: Option<String>,
    template: Option<String>,
}

async fn fleet_page(
    state: &AppState,
    user: &ConsoleUser,
    headers: &HeaderMap,
    query: FleetQuery,
    new_token: Option<NewTokenShown>,
) -> Response {
    let principal = user.principal();
    let status = query.status.unwrap_or_default();
    let agents = match state.app.fleet_agents(principal).await {
        Ok(a) => a,
        Err(e) => return refused(e, "/"),
    };
    let names = agent_names(&agents);
    let tasks = match state
        .app
        .fleet_tasks(
            principal,
            Some(status.as_str()).filter(|s| !s.is_empty()),
            None,
        )
        .await
    {
        Ok(t) => t,
        Err(e) => return refused(e, "/fleet"),
    };
    let templates = match state.app.task_templates(principal).await {
        Ok(t) => t,
        Err(e) => return refused(e, "/"),
    };
    let is_admin = user.view.role.is_some_and(|r| r.at_least(Role::Admin));
    let tokens = if is_admin {
        match state.app.registration_tokens(principal).await {
            Ok(t) => t,
            Err(e) => return refused(e, "/"),
        }
    } else {
        Vec::new()
    };
    let waiting = state
        .app
        .list_approvals(principal, Some(ApprovalStatus::Pending))
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a.tool == "fleet.run")
        .map(|a| WaitingRow {
            approval_id: a.id,
            kind: a.arguments["type"].as_str().unwrap_or_default().to_owned(),
            target: target_text(&a.arguments["target"], &names),
            created_at: a.created_at,
        })
        .collect();
    let mut form = TaskFormValues {
        kind: "echo".to_owned(),
        payload: "{\"message\": \"hello\"}".to_owned(),
        max_attempts: "3".to_owned(),
        ..Default::default()
    };
    if let Some(id) = query.template.filter(|t| !t.is_empty()) {
        if let Some(t) = templates.iter().find(|t| t.id == id) {
            form = TaskFormValues {
                kind: t.kind.clone(),
                agent_id: t.target["agent_id"].as_str().unwrap_or_default().to_owned(),
                labels: labels_text(&t.target["labels"]),
                payload: serde_json::to_string_pretty(&t.payload).unwrap_or_default(),
                max_attempts: "3".to_owned(),
                template: t.id.clone(),
            };
        }
    }
    let (flashes, clear) = flash::take(headers);
    let page = FleetPage {
        layout: Layout::signed_in("Fleet", "/fleet", flashes, user.view.clone()),
        tasks: tasks.iter().map(|t| row(t, &names)).collect(),
        agents,
        waiting,
        templates,
        tokens,
        new_token,
        status,
        statuses: TaskStatus::ALL.iter().map(|s| s.as_str()).collect(),
        types: type_options(),
        form,
        is_member: user.view.role.is_some_and(|r| r.at_least(Role::Member)),
        is_admin,
    };
    flash::finish(render(&page), clear)
}

pub async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Query(query): Query<FleetQuery>,
) -> Response {
    fleet_page(&state, &user, &headers, query, None).await
}

#[derive(Debug, Deserialize)]
pub struct TaskForm {
    csrf: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    agent_id: String,
    #[serde(default)]
    labels: String,
    #[serde(default)]
    payload: String,
    #[serde(default)]
    max_attempts: String,
    /// `run` (the default) or `save` (as a template named `name`).
    #[serde(default)]
    action: String,
    #[serde(default)]
    name: String,
}

/// The form's task: its type, payload (JSON text, empty = `{}`) and target.
fn form_task(form: &TaskForm) -> Result<(Value, Target), String> {
    let payload = if form.payload.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str::<Value>(&form.payload)
            .map_err(|e| format!("The payload is not JSON: {e}."))?
    };
    if !payload.is_object() {
        return Err("The payload is a JSON object, like {\"message\": \"hi\"}.".to_owned());
    }
    let target = if form.agent_id.is_empty() {
        Target {
            agent_id: None,
            labels: Some(parse_label_text(&form.labels)?),
        }
    } else {
        Target {
            agent_id: Some(form.agent_id.clone()),
            labels: None,
        }
    };
    Ok((payload, target))
}

/// Runs a task through `fleet.run`: to its page when queued, to the inbox when it waits for
/// an approval.
async fn run_task(state: &AppState, user: &ConsoleUser, task: NewTask, back: &str) -> Response {
    let arguments = match serde_json::to_value(&task) {
        Ok(a) => a,
        Err(e) => {
            return refused(
                switchboard_app::fleet::FleetError::Internal(e.to_string()),
                back,
            )
        }
    };
    match state.app.queue_task(user.principal(), arguments).await {
        Ok(Invoked::Done(task)) => {
            let id = task["id"].as_str().unwrap_or_default();
            redirect_with(
                &format!("/fleet/tasks/{id}"),
                FlashKind::Success,
                "Task queued; the first agent that may run it takes it.",
            )
        }
        Ok(Invoked::Pending { approval_id }) => redirect_with(
            "/fleet",
            FlashKind::Info,
            format!(
                "This task changes a server, so it waits for an admin's approval \
                 (request {approval_id}, in Approvals). It is queued once approved."
            ),
        ),
        Err(e) => refused(e, back),
    }
}

pub async fn create_task(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<TaskForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    let (payload, target) = match form_task(&form) {
        Ok(t) => t,
        Err(message) => return redirect_with("/fleet", FlashKind::Error, message),
    };
    if form.action == "save" {
        let template = NewTemplate {
            name: form.name.clone(),
            kind: form.kind.clone(),
            payload,
            target,
        };
        return match state
            .app
            .save_task_template(user.principal(), template)
            .await
        {
            Ok(t) => redirect_with(
                "/fleet",
                FlashKind::Success,
                format!("Saved the template “{}”.", t.name),
            ),
            Err(e) => refused(e, "/fleet"),
        };
    }
    let max_attempts = match form.max_attempts.trim() {
        "" => None,
        n => match n.parse() {
            Ok(n) => Some(n),
            Err(_) => {
                return redirect_with("/fleet", FlashKind::Error, "Attempts is a number, 1–10.")
            }
        },
    };
    let task = NewTask {
        kind: form.kind,
        payload,
        target,
        idempotency_key: None,
        max_attempts,
        priority: None,
    };
    run_task(&state, &user, task, "/fleet").await
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn run_template(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    let template = match state.app.task_template(user.principal(), &id).await {
        Ok(t) => t,
        Err(e) => return refused(e, "/fleet"),
    };
    let task = NewTask {
        kind: template.kind,
        payload: template.payload,
        target: target_from(&template.target),
        idempotency_key: None,
        max_attempts: None,
        priority: None,
    };
    run_task(&state, &user, task, "/fleet").await
}

pub async fn delete_template(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    match state.app.delete_task_template(user.principal(), &id).await {
        Ok(()) => redirect_with("/fleet", FlashKind::Success, "Template deleted."),
        Err(e) => refused(e, "/fleet"),
    }
}

/// An entry of a task's history as its page shows it.
pub struct HistoryRow {
    pub at: String,
    pub kind: String,
    pub text: String,
    pub agent: String,
}

fn history_row(e: &TaskEventView, names: &BTreeMap<String, String>) -> HistoryRow {
    let text = match e.kind.as_str() {
        "status" => {
            let to = e.to.clone().unwrap_or_default().replace('_', " ");
            let mut text = match &e.from {
                Some(from) => format!("{} → {to}", from.replace('_', " ")),
                None => to,
            };
            if let Some(m) = &e.message {
                text.push_str(": ");
                text.push_str(m);
            }
            text
        }
        "progress" => format!("{}%", e.message.clone().unwrap_or_default()),
        _ => e.message.clone().unwrap_or_default(),
    };
    HistoryRow {
        at: e.at.clone(),
        kind: e.kind.clone(),
        text,
        agent: e
            .agent_id
            .as_ref()
            .map(|a| names.get(a).cloned().unwrap_or_else(|| a.clone()))
            .unwrap_or_default(),
    }
}

#[derive(askama::Template)]
#[template(path = "fleet_task.html")]
struct TaskPage {
    layout: Layout,
    task: TaskView,
    target: String,
    agent: String,
    payload: String,
    result: String,
    /// The lines of the result's log and of the log events, in order.
    log: Vec<String>,
    history: Vec<HistoryRow>,
    progress: Option<u8>,
    finished: bool,
    can_cancel: bool,
    can_retry: bool,
    tier_needs_approval: bool,
}

impl Labels for TaskPage {}
impl Badges for TaskPage {}

pub async fn task(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let principal = user.principal();
    let detail = match state.app.fleet_task(principal, &id).await {
        Ok(d) => d,
        Err(e) => return refused(e, "/fleet"),
    };
    let agents = state.app.fleet_agents(principal).await.unwrap_or_default();
    let names = agent_names(&agents);
    let task = detail.task;
    let status = TaskStatus::parse(&task.status);
    let finished = status.is_some_and(TaskStatus::is_final);
    let is_member = user.view.role.is_some_and(|r| r.at_least(Role::Member));
    let mut log: Vec<String> = detail
        .events
        .iter()
        .filter(|e| e.kind == "log")
        .filter_map(|e| e.message.clone())
        .collect();
    if let Some(lines) = task.result.as_ref().and_then(|r| r["log"].as_array()) {
        if log.is_empty() {
            log = lines
                .iter()
                .filter_map(|l| l.as_str().map(str::to_owned))
                .collect();
        }
    }
    let progress = detail
        .events
        .iter()
        .rev()
        .find(|e| e.kind == "progress")
        .and_then(|e| e.message.as_deref()?.parse().ok());
    let result = task
        .result
        .as_ref()
        .map(|r| serde_json::to_string_pretty(r.get("output").unwrap_or(r)).unwrap_or_default())
        .unwrap_or_default();
    let (flashes, clear) = flash::take(&headers);
    let page = TaskPage {
        layout: Layout::signed_in(
            format!("Task {}", task.kind),
            "/fleet",
            flashes,
            user.view.clone(),
        ),
        target: target_text(&task.target, &names),
        agent: task
            .agent_id
            .as_ref()
            .map(|a| names.get(a).cloned().unwrap_or_else(|| a.clone()))
            .unwrap_or_default(),
        payload: serde_json::to_string_pretty(&task.payload).unwrap_or_default(),
        result,
        log,
        history: detail
            .events
            .iter()
            .map(|e| history_row(e, &names))
            .collect(),
        progress,
        finished,
        can_cancel: is_member && status.is_some_and(|s| s.can_move_to(TaskStatus::Cancelled)),
        can_retry: is_member && finished && task.status != "succeeded",
        tier_needs_approval: task_tier(&task.kind)
            .is_some_and(|t| t >= switchboard_domain::Tier::T3),
        task,
    };
    let mut response = flash::finish(render(&page), clear);
    // The page follows the task by fetching itself: never from a cache.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

pub async fn cancel_task(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    let back = format!("/fleet/tasks/{id}");
    match state.app.cancel_task(user.principal(), &id).await {
        Ok(_) => redirect_with(&back, FlashKind::Success, "Task cancelled."),
        Err(e) => refused(e, &back),
    }
}

/// Runs a finished task again: a new task with the same type, payload and target.
pub async fn retry_task(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    let back = format!("/fleet/tasks/{id}");
    let old = match state.app.fleet_task(user.principal(), &id).await {
        Ok(d) => d.task,
        Err(e) => return refused(e, &back),
    };
    let task = NewTask {
        kind: old.kind,
        payload: old.payload,
        target: target_from(&old.target),
        idempotency_key: None,
        max_attempts: Some(old.max_attempts),
        priority: Some(old.priority),
    };
    run_task(&state, &user, task, &back).await
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    csrf: String,
    name: String,
    #[serde(default)]
    max_uses: String,
    #[serde(default)]
    expires_days: String,
}

pub async fn create_token(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    let max_uses = match form.max_uses.trim() {
        "" => None,
        n => match n.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                return redirect_with(
                    "/fleet",
                    FlashKind::Error,
                    "Uses is a whole number (or empty for no limit).",
                )
            }
        },
    };
    let expires_at = match form.expires_days.trim() {
        "" => None,
        // The service decides which expiries are allowed (and says so); this only reads days.
        d => match d
            .parse::<i64>()
            .ok()
            .and_then(chrono::Duration::try_days)
            .and_then(|days| state.app.clock.now().checked_add_signed(days))
        {
            Some(at) => Some(at.to_rfc3339()),
            None => {
                return redirect_with("/fleet", FlashKind::Error, "Expiry is a number of days.")
            }
        },
    };
    let input = NewToken {
        name: form.name,
        max_uses,
        expires_at,
    };
    match state
        .app
        .create_registration_token(user.principal(), input)
        .await
    {
        Ok((view, token)) => {
            let command = format!(
                "switchboard-agent register --hub {} --token {token} --state-dir {STATE_DIR}",
                state.origin(&headers)
            );
            let shown = NewTokenShown {
                name: view.name,
                token,
                command,
            };
            let mut response =
                fleet_page(&state, &user, &headers, FleetQuery::default(), Some(shown)).await;
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            response
        }
        Err(e) => refused(e, "/fleet"),
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    match state
        .app
        .revoke_registration_token(user.principal(), &id)
        .await
    {
        Ok(()) => redirect_with(
            "/fleet",
            FlashKind::Success,
            "Token revoked; it enrols no more servers.",
        ),
        Err(e) => refused(e, "/fleet"),
    }
}

#[derive(askama::Template)]
#[template(path = "fleet_agent.html")]
struct AgentPage {
    layout: Layout,
    agent: AgentView,
    labels: String,
    current: Vec<TaskRow>,
    recent: Vec<TaskRow>,
    is_admin: bool,
}

impl Labels for AgentPage {}
impl Badges for AgentPage {}

pub async fn agent(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let principal = user.principal();
    let agent = match state.app.fleet_agent(principal, &id).await {
        Ok(a) => a,
        Err(e) => return refused(e, "/fleet"),
    };
    let tasks = match state.app.fleet_tasks(principal, None, Some(&id)).await {
        Ok(t) => t,
        Err(e) => return refused(e, "/fleet"),
    };
    let names = BTreeMap::from([(agent.id.clone(), agent.name.clone())]);
    let (current, recent): (Vec<&TaskView>, Vec<&TaskView>) =
        tasks.iter().partition(|t| t.status == "leased");
    let (flashes, clear) = flash::take(&headers);
    let page = AgentPage {
        layout: Layout::signed_in(agent.name.clone(), "/fleet", flashes, user.view.clone()),
        labels: labels_text(&json!(agent.labels)),
        current: current.into_iter().map(|t| row(t, &names)).collect(),
        recent: recent
            .into_iter()
            .take(50)
            .map(|t| row(t, &names))
            .collect(),
        agent,
        is_admin: user.view.role.is_some_and(|r| r.at_least(Role::Admin)),
    };
    flash::finish(render(&page), clear)
}

pub async fn revoke_agent(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    match state.app.revoke_agent(user.principal(), &id).await {
        Ok(()) => redirect_with(
            &format!("/fleet/agents/{id}"),
            FlashKind::Success,
            "Agent revoked; its credentials no longer work.",
        ),
        Err(e) => refused(e, &format!("/fleet/agents/{id}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_text_reads_pairs_and_refuses_a_bare_word() {
        let labels = parse_label_text(" role=web, env = prod\nzone=a ").unwrap();
        assert_eq!(
            labels,
            BTreeMap::from([
                ("env".to_owned(), "prod".to_owned()),
                ("role".to_owned(), "web".to_owned()),
                ("zone".to_owned(), "a".to_owned()),
            ])
        );
        assert!(parse_label_text("").unwrap().is_empty());
        assert!(parse_label_text("role").unwrap_err().contains("`role`"));
    }

    #[test]
    fn targets_read_as_names_or_labels() {
        let names = BTreeMap::from([("a1".to_owned(), "web-1".to_owned())]);
        assert_eq!(target_text(&json!({"agent_id": "a1"}), &names), "web-1");
        assert_eq!(
            target_text(&json!({"labels": {"role": "web"}}), &names),
            "role=web"
        );
        assert_eq!(target_text(&json!({"labels": {}}), &names), "any agent");
    }
}
