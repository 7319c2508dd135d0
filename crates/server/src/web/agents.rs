//! Agents and their skills in the console: the system agents (read-only) and the
//! organisation's own, created from a template or from scratch and edited by admins —
//! instructions, model, step limit, tools, minimum role, and skills (ordered, toggled,
//! exported and imported as JSON). Same services as `/api/v1/agents`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use switchboard_app::runtime::agents::TEMPLATES;
use switchboard_app::runtime::{Agent, AgentInput, Skill};
use switchboard_domain::Role;

use super::admin::refused;
use super::console::{redirect_with, ConsoleUser};
use super::flash::{self, FlashKind};
use super::{render, Layout};
use crate::state::AppState;

#[derive(askama::Template)]
#[template(path = "agents.html")]
struct AgentsPage {
    layout: Layout,
    agents: Vec<Agent>,
    templates: Vec<(&'static str, &'static str)>,
    is_admin: bool,
}

pub async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
) -> Response {
    let agents = match state.app.agents(user.principal()).await {
        Ok(agents) => agents,
        Err(e) => return refused(e, "/"),
    };
    let (flashes, clear) = flash::take(&headers);
    let page = AgentsPage {
        is_admin: user.view.role.is_some_and(|r| r.at_least(Role::Admin)),
        layout: Layout::signed_in("Agents", "/agents", flashes, user.view.clone()),
        agents,
        templates: TEMPLATES
            .iter()
            .map(|(id, name, ..)| (*id, *name))
            .collect(),
    };
    flash::finish(render(&page), clear)
}

/// A form as key/value pairs (skills come as numbered fields).
type Fields = Vec<(String, String)>;

fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn csrf_ok(user: &ConsoleUser, fields: &Fields) -> Result<(), Response> {
    user.check_csrf(field(fields, "csrf").unwrap_or_default())
}

pub async fn create(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(fields): Form<Fields>,
) -> Response {
    if let Err(page) = csrf_ok(&user, &fields) {
        return page;
    }
    let text = |name: &str| {
        field(&fields, name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let input = AgentInput {
        slug: text("slug"),
        name: text("name"),
        instructions: text("instructions"),
        template: text("template"),
        ..AgentInput::default()
    };
    match state.app.create_agent(user.principal(), input).await {
        Ok(agent) => redirect_with(
            &format!("/agents/{}", agent.slug),
            FlashKind::Success,
            format!(
                "Agent {} created. Give it skills and tools below.",
                agent.name
            ),
        ),
        Err(e) => refused(e, "/agents"),
    }
}

#[derive(askama::Template)]
#[template(path = "agent.html")]
struct AgentPage {
    layout: Layout,
    agent: Agent,
    tools: String,
    editable: bool,
    roles: Vec<&'static str>,
}

pub async fn edit(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Response {
    let agent = match state.app.agent(user.principal(), &slug).await {
        Ok(agent) => agent,
        Err(e) => return refused(e, "/agents"),
    };
    let (flashes, clear) = flash::take(&headers);
    let page = AgentPage {
        editable: !agent.system && user.view.role.is_some_and(|r| r.at_least(Role::Admin)),
        tools: agent.tools.join("\n"),
        layout: Layout::signed_in(agent.name.clone(), "/agents", flashes, user.view.clone()),
        agent,
        roles: vec!["viewer", "member", "admin", "owner"],
    };
    flash::finish(render(&page), clear)
}

/// The skills of the edit form, in the order given, without removed ones, plus a new one.
fn skills_from(fields: &Fields) -> Vec<Skill> {
    let mut numbered: Vec<(i64, usize, Skill)> = Vec::new();
    for i in 0..100 {
        let Some(name) = field(fields, &format!("skill_{i}_name")) else {
            break;
        };
        if field(fields, &format!("skill_{i}_remove")).is_some() {
            continue;
        }
        let order = field(fields, &format!("skill_{i}_order"))
            .and_then(|o| o.trim().parse().ok())
            .unwrap_or(i as i64);
        numbered.push((
            order,
            i,
            Skill {
                name: name.trim().to_owned(),
                content: field(fields, &format!("skill_{i}_content"))
                    .unwrap_or_default()
                    .to_owned(),
                enabled: field(fields, &format!("skill_{i}_enabled")).is_some(),
            },
        ));
    }
    numbered.sort_by_key(|(order, i, _)| (*order, *i));
    let mut skills: Vec<Skill> = numbered.into_iter().map(|(_, _, s)| s).collect();
    if let Some(name) = field(fields, "skill_new_name").filter(|n| !n.trim().is_empty()) {
        skills.push(Skill {
            name: name.trim().to_owned(),
            content: field(fields, "skill_new_content")
                .unwrap_or_default()
                .to_owned(),
            enabled: true,
        });
    }
    skills
}

pub async fn save(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(slug): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    if let Err(page) = csrf_ok(&user, &fields) {
        return page;
    }
    let back = format!("/agents/{slug}");
    let max_steps = match field(&fields, "max_steps").map(str::trim) {
        None | Some("") => None,
        Some(raw) => match raw.parse() {
            Ok(n) => Some(n),
            Err(_) => {
                return redirect_with(&back, FlashKind::Error, "The step limit must be a number.")
            }
        },
    };
    let input = AgentInput {
        name: field(&fields, "name").map(str::to_owned),
        description: field(&fields, "description").map(str::to_owned),
        instructions: field(&fields, "instructions").map(str::to_owned),
        model: field(&fields, "model").map(str::to_owned),
        max_steps,
        tools: field(&fields, "tools").map(|t| {
            t.split(['\n', ','])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect()
        }),
        min_role: field(&fields, "min_role").map(str::to_owned),
        skills: Some(skills_from(&fields)),
        ..AgentInput::default()
    };
    match state.app.update_agent(user.principal(), &slug, input).await {
        Ok(_) => redirect_with(&back, FlashKind::Success, "Saved."),
        Err(e) => refused(e, &back),
    }
}

pub async fn import_skills(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(slug): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    if let Err(page) = csrf_ok(&user, &fields) {
        return page;
    }
    let back = format!("/agents/{slug}");
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Export {
        skills: Vec<Skill>,
    }
    let json = field(&fields, "skills_json").unwrap_or_default();
    let skills = match serde_json::from_str::<Export>(json) {
        Ok(export) => export.skills,
        Err(e) => {
            return redirect_with(
                &back,
                FlashKind::Error,
                format!("That is not a skills export ({{\"skills\": [...]}}): {e}"),
            )
        }
    };
    match state
        .app
        .import_skills(user.principal(), &slug, skills)
        .await
    {
        Ok(agent) => redirect_with(
            &back,
            FlashKind::Success,
            format!("Imported; {} skills now.", agent.skills.len()),
        ),
        Err(e) => refused(e, &back),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(slug): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    if let Err(page) = csrf_ok(&user, &fields) {
        return page;
    }
    match state.app.delete_agent(user.principal(), &slug).await {
        Ok(()) => redirect_with("/agents", FlashKind::Success, "Agent deleted."),
        Err(e) => refused(e, &format!("/agents/{slug}")),
    }
}
