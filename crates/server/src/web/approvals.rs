//! The approvals inbox: requests waiting for a decision (approve or deny with a reason, for
//! admins) and the recent ones with their outcome. Same service as `/api/v1/approvals`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use switchboard_app::identity::IdentityError;
use switchboard_app::tools::approvals::ApprovalView;
use switchboard_domain::{ApprovalStatus, Role};

use super::admin::refused;
use super::console::{redirect_with, ConsoleUser};
use super::flash::{self, FlashKind};
use super::{error_page, render, Layout};
use crate::error::ErrorCode;
use crate::state::AppState;

/// A request as the inbox shows it.
pub struct Card {
    pub id: String,
    pub tool: String,
    pub tier: String,
    pub arguments: String,
    pub reason: String,
    pub requested_by: String,
    pub four_eyes: bool,
    /// The signed-in user has the role this request needs (the service checks it again).
    pub can_decide: bool,
    pub status: String,
    pub decided_by: String,
    pub decision_reason: String,
    pub created_at: String,
    pub expires_at: String,
    pub result: String,
}

/// People's names by user id (and API keys' by key id), for "asked by" and "decided by".
type Names = std::collections::HashMap<String, String>;

fn card(v: &ApprovalView, names: &Names, role: Option<Role>) -> Card {
    let who = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_owned());
    let when = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|_| s.to_owned())
    };
    Card {
        id: v.id.clone(),
        tool: v.tool.clone(),
        tier: v.tier.clone(),
        arguments: serde_json::to_string_pretty(&v.arguments).unwrap_or_default(),
        reason: v.reason.clone(),
        requested_by: who(&v.requested_by),
        four_eyes: v.four_eyes,
        can_decide: match (role, v.approver_role.parse::<Role>()) {
            (Some(mine), Ok(needed)) => mine.at_least(needed),
            _ => false,
        },
        status: v.status.clone(),
        decided_by: v.decided_by.as_deref().map(who).unwrap_or_default(),
        decision_reason: v.decision_reason.clone().unwrap_or_default(),
        created_at: when(&v.created_at),
        expires_at: when(&v.expires_at),
        result: v
            .result
            .as_ref()
            .map(|r| serde_json::to_string_pretty(r).unwrap_or_default())
            .unwrap_or_default(),
    }
}

#[derive(askama::Template)]
#[template(path = "approvals.html")]
struct ApprovalsPage {
    layout: Layout,
    pending: Vec<Card>,
    recent: Vec<Card>,
    /// How the signed-in user appears in `requested_by`, to mark their own four-eyes requests.
    me: String,
}

pub async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
) -> Response {
    let all = match state.app.list_approvals(user.principal(), None).await {
        Ok(all) => all,
        Err(e) => return refused(e, "/approvals"),
    };
    let mut names: Names = match state.app.identity.list_members(user.principal()).await {
        Ok(members) => members
            .into_iter()
            .map(|m| (m.user_id.to_string(), format!("{} ({})", m.name, m.email)))
            .collect(),
        Err(e) => return refused(e, "/"),
    };
    // Requests made with an API key show the key's name to those who may see the keys
    // (admins); others see its id.
    match state.app.identity.list_api_keys(user.principal()).await {
        Ok(keys) => names.extend(
            keys.into_iter()
                .map(|k| (k.id.to_string(), format!("API key “{}”", k.name))),
        ),
        Err(IdentityError::Forbidden(_)) => {}
        Err(e) => return refused(e, "/"),
    }
    let (pending, recent): (Vec<&ApprovalView>, Vec<&ApprovalView>) = all
        .iter()
        .partition(|a| a.status == ApprovalStatus::Pending.as_str());
    let (flashes, clear) = flash::take(&headers);
    let page = ApprovalsPage {
        layout: Layout::signed_in("Approvals", "/approvals", flashes, user.view.clone()),
        pending: pending
            .into_iter()
            .map(|a| card(a, &names, user.view.role))
            .collect(),
        recent: recent
            .into_iter()
            .take(50)
            .map(|a| card(a, &names, user.view.role))
            .collect(),
        me: user
            .principal()
            .user_id()
            .map(|u| {
                let id = u.to_string();
                names.get(&id).cloned().unwrap_or(id)
            })
            .unwrap_or_default(),
    };
    flash::finish(render(&page), clear)
}

#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

pub async fn decide(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<DecisionForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    let approve = match action.as_str() {
        "approve" => true,
        "deny" => false,
        _ => return error_page(ErrorCode::NotFound),
    };
    let Ok(id) = id.parse() else {
        return error_page(ErrorCode::NotFound);
    };
    let reason = Some(form.reason).filter(|r| !r.trim().is_empty());
    match state
        .app
        .decide_approval(user.principal(), id, approve, reason)
        .await
    {
        Ok(view) => redirect_with(
            "/approvals",
            FlashKind::Success,
            if approve {
                format!("Approved: {} runs now.", view.tool)
            } else {
                format!("Denied: {} will not run.", view.tool)
            },
        ),
        Err(e) => refused(e, "/approvals"),
    }
}
