//! Organisation admin screens (API keys, members and invites, security settings) and the
//! operator's organisation list.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use switchboard_app::identity::members::Member;
use switchboard_app::identity::orgs::OrgSummary;
use switchboard_app::identity::IdentityError;
use switchboard_app::records::{ApiKeyRecord, InviteRecord};
use switchboard_domain::{OrgStatus, Role};

use super::console::{redirect_with, ConsoleUser};
use super::flash::{self, FlashKind};
use super::{error_page, render, Layout};
use crate::error::ErrorCode;
use crate::state::AppState;

/// Why a console action did not happen, from any service's error: who may do it (the
/// identity rules), an internal failure, or a reason the person can act on.
pub(super) enum Refusal {
    Identity(IdentityError),
    Internal(String),
    Reason(String),
}

impl From<IdentityError> for Refusal {
    fn from(e: IdentityError) -> Self {
        Refusal::Identity(e)
    }
}

/// Services whose errors carry an identity refusal and an internal failure; every other
/// variant is a reason shown to the person.
macro_rules! refusal_from {
    ($($error:ty),*) => {$(
        impl From<$error> for Refusal {
            fn from(e: $error) -> Self {
                type E = $error;
                match e {
                    E::Identity(e) => Refusal::Identity(e),
                    E::Internal(cause) => Refusal::Internal(cause),
                    other => Refusal::Reason(other.to_string()),
                }
            }
        }
    )*};
}
refusal_from!(
    switchboard_app::runtime::RuntimeError,
    switchboard_app::workspace::WorkspaceError,
    switchboard_app::tools::ToolError,
    switchboard_app::fleet::FleetError,
    switchboard_app::gateway::GatewayError
);

impl From<switchboard_app::fleet::QueueError> for Refusal {
    fn from(e: switchboard_app::fleet::QueueError) -> Self {
        match e {
            switchboard_app::fleet::QueueError::Task(e) => e.into(),
            switchboard_app::fleet::QueueError::Tool(e) => e.into(),
        }
    }
}

/// Maps a refused or failed action to what the console shows: the error page for what is
/// missing, forbidden or broken, otherwise the reason, on the page at `back`.
pub(super) fn refused(e: impl Into<Refusal>, back: &str) -> Response {
    let e = match e.into() {
        Refusal::Identity(e) => e,
        Refusal::Internal(cause) => {
            tracing::error!(error = %cause, "internal error");
            return error_page(ErrorCode::Internal);
        }
        Refusal::Reason(reason) => return redirect_with(back, FlashKind::Error, reason),
    };
    match e {
        IdentityError::Internal(cause) => {
            tracing::error!(error = %cause, "internal error");
            error_page(ErrorCode::Internal)
        }
        IdentityError::NotFound => error_page(ErrorCode::NotFound),
        IdentityError::Forbidden(_) => error_page(ErrorCode::Forbidden),
        IdentityError::OrgSuspended => error_page(ErrorCode::OrganizationSuspended),
        IdentityError::TotpEnrollmentRequired => redirect_with(
            "/account",
            FlashKind::Warning,
            "Your organisation requires two-factor authentication. Set it up to continue.",
        ),
        other => redirect_with(back, FlashKind::Error, other.to_string()),
    }
}

fn parse_role(raw: &str) -> Option<Role> {
    raw.parse().ok()
}

/// The roles the signed-in user may hand out (none above their own), for role pickers.
fn grantable_roles(user: &ConsoleUser) -> Vec<&'static str> {
    let own = user.view.role.unwrap_or(Role::Viewer);
    Role::ALL
        .iter()
        .filter(|r| **r <= own)
        .map(|r| r.as_str())
        .collect()
}

/// A form that creates something with a role: CSRF checked, role chosen; otherwise the
/// response to send (back to `back` with a message).
fn role_form(user: &ConsoleUser, form: &AdminForm, back: &str) -> Result<Role, Response> {
    user.check_csrf(&form.csrf)?;
    parse_role(&form.role).ok_or_else(|| redirect_with(back, FlashKind::Error, "Choose a role."))
}

#[derive(Debug, Deserialize)]
pub struct AdminForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    require_totp: Option<String>,
    #[serde(default)]
    allow_sso_signup: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "keys.html")]
struct KeysPage {
    layout: Layout,
    keys: Vec<ApiKeyRecord>,
    new_key: Option<String>,
    roles: Vec<&'static str>,
}

pub async fn keys_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
) -> Response {
    keys_render(&state, &user, &headers, None).await
}

async fn keys_render(
    state: &AppState,
    user: &ConsoleUser,
    headers: &HeaderMap,
    new_key: Option<String>,
) -> Response {
    let keys = match state.app.identity.list_api_keys(user.principal()).await {
        Ok(keys) => keys,
        Err(e) => return refused(e, "/"),
    };
    let (flashes, clear) = flash::take(headers);
    let page = KeysPage {
        layout: Layout::signed_in("API keys", "/keys", flashes, user.view.clone()),
        keys,
        new_key,
        roles: grantable_roles(user),
    };
    flash::finish(render(&page), clear)
}

pub async fn keys_create(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Form(form): Form<AdminForm>,
) -> Response {
    let role = match role_form(&user, &form, "/keys") {
        Ok(role) => role,
        Err(response) => return response,
    };
    match state
        .app
        .identity
        .create_api_key(user.principal(), &form.name, role, None)
        .await
    {
        Ok(created) => keys_render(&state, &user, &headers, Some(created.key)).await,
        Err(e) => refused(e, "/keys"),
    }
}

pub async fn keys_revoke(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<AdminForm>,
) -> Response {
    if let Err(p) = user.check_csrf(&form.csrf) {
        return p;
    }
    let Ok(id) = id.parse() else {
        return error_page(ErrorCode::NotFound);
    };
    match state
        .app
        .identity
        .revoke_api_key(user.principal(), id)
        .await
    {
        Ok(()) => redirect_with("/keys", FlashKind::Success, "The key is revoked."),
        Err(e) => refused(e, "/keys"),
    }
}

#[derive(askama::Template)]
#[template(path = "members.html")]
struct MembersPage {
    layout: Layout,
    members: Vec<Member>,
    invites: Vec<InviteRecord>,
    can_manage: bool,
    invite_url: Option<String>,
    /// How the invite went out: emailed, or the link to pass on.
    invite_note: String,
    roles: Vec<&'static str>,
}

pub async fn members_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
) -> Response {
    members_render(&state, &user, &headers, None).await
}

/// A new invite's link and how it went out, for the page that created it.
fn invite_link(
    state: &AppState,
    created: &switchboard_app::identity::members::CreatedInvite,
) -> (String, String) {
    use switchboard_app::identity::members::Delivery;
    let url = format!("{}/invite/{}", state.public_url(), created.token);
    let email = &created.record.email;
    let note = match &created.delivery {
        Delivery::Emailed => format!(
            "We emailed the invitation to {email}. You can also pass on this link yourself; \
             it works once, for 7 days."
        ),
        Delivery::Failed(why) => format!(
            "Emailing {email} failed ({why}). Send this link yourself; it works once, for 7 days."
        ),
        Delivery::LinkOnly => format!("Send this link to {email}. It works once, for 7 days."),
    };
    (url, note)
}

async fn members_render(
    state: &AppState,
    user: &ConsoleUser,
    headers: &HeaderMap,
    invite: Option<(String, String)>,
) -> Response {
    let (invite_url, invite_note) = match invite {
        Some((url, note)) => (Some(url), note),
        None => (None, String::new()),
    };
    let identity = &state.app.identity;
    let members = match identity.list_members(user.principal()).await {
        Ok(m) => m,
        Err(e) => return refused(e, "/"),
    };
    let can_manage = user.view.role.is_some_and(|r| r.at_least(Role::Admin));
    let invites = if can_manage {
        identity
            .list_invites(user.principal())
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let (flashes, clear) = flash::take(headers);
    let page = MembersPage {
        layout: Layout::signed_in("Members", "/members", flashes, user.view.clone()),
        members,
        invites,
        can_manage,
        invite_url,
        invite_note,
        roles: grantable_roles(user),
    };
    flash::finish(render(&page), clear)
}

pub async fn members_invite(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Form(form): Form<AdminForm>,
) -> Response {
    let role = match role_form(&user, &form, "/members") {
        Ok(role) => role,
        Err(response) => return response,
    };
    match state
        .app
        .identity
        .create_invite(user.principal(), &form.email, role)
        .await
    {
        Ok(created) => {
            let invite = invite_link(&state, &created);
            members_render(&state, &user, &headers, Some(invite)).await
        }
        Err(e) => refused(e, "/members"),
    }
}

pub async fn members_role(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<AdminForm>,
) -> Response {
    if let Err(p) = user.check_csrf(&form.csrf) {
        return p;
    }
    let (Ok(id), Some(role)) = (id.parse(), parse_role(&form.role)) else {
        return error_page(ErrorCode::NotFound);
    };
    match state
        .app
        .identity
        .change_role(user.principal(), id, role)
        .await
    {
        Ok(()) => redirect_with("/members", FlashKind::Success, "Role changed."),
        Err(e) => refused(e, "/members"),
    }
}

pub async fn members_remove(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<AdminForm>,
) -> Response {
    if let Err(p) = user.check_csrf(&form.csrf) {
        return p;
    }
    let Ok(id) = id.parse() else {
        return error_page(ErrorCode::NotFound);
    };
    match state.app.identity.remove_member(user.principal(), id).await {
        Ok(()) => redirect_with("/members", FlashKind::Success, "Member removed."),
        Err(e) => refused(e, "/members"),
    }
}

#[derive(askama::Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    require_totp: bool,
    allow_sso_signup: bool,
}

pub async fn settings_page(user: ConsoleUser, headers: HeaderMap) -> Response {
    let access = match user.principal().tenant(Role::Admin) {
        Ok(access) => access.clone(),
        Err(e) => return refused(e, "/"),
    };
    let (flashes, clear) = flash::take(&headers);
    let page = SettingsPage {
        layout: Layout::signed_in("Security", "/settings", flashes, user.view.clone()),
        require_totp: access.org.require_totp,
        allow_sso_signup: access.org.allow_sso_signup,
    };
    flash::finish(render(&page), clear)
}

pub async fn settings_save(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<AdminForm>,
) -> Response {
    if let Err(p) = user.check_csrf(&form.csrf) {
        return p;
    }
    let result = state
        .app
        .identity
        .update_org_settings(
            user.principal(),
            form.require_totp.is_some(),
            form.allow_sso_signup.is_some(),
        )
        .await;
    match result {
        Ok(_) => redirect_with("/settings", FlashKind::Success, "Security settings saved."),
        Err(e) => refused(e, "/settings"),
    }
}

#[derive(askama::Template)]
#[template(path = "operator.html")]
struct OperatorPage {
    layout: Layout,
    orgs: Vec<OrgSummary>,
    invite_url: Option<String>,
    invite_note: String,
}

pub async fn operator_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
) -> Response {
    operator_render(&state, &user, &headers, None).await
}

async fn operator_render(
    state: &AppState,
    user: &ConsoleUser,
    headers: &HeaderMap,
    invite: Option<(String, String)>,
) -> Response {
    let (invite_url, invite_note) = match invite {
        Some((url, note)) => (Some(url), note),
        None => (None, String::new()),
    };
    let orgs = match state.app.identity.list_orgs(user.principal()).await {
        Ok(orgs) => orgs,
        Err(e) => return refused(e, "/"),
    };
    let (flashes, clear) = flash::take(headers);
    let page = OperatorPage {
        layout: Layout::signed_in("Organisations", "/operator", flashes, user.view.clone()),
        orgs,
        invite_url,
        invite_note,
    };
    flash::finish(render(&page), clear)
}

pub async fn operator_create(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Form(form): Form<AdminForm>,
) -> Response {
    if let Err(p) = user.check_csrf(&form.csrf) {
        return p;
    }
    let owner = Some(form.email.as_str()).filter(|e| !e.trim().is_empty());
    match state
        .app
        .identity
        .create_org(user.principal(), &form.name, &form.slug, owner)
        .await
    {
        Ok((_, invite)) => {
            let invite = invite.map(|i| invite_link(&state, &i));
            operator_render(&state, &user, &headers, invite).await
        }
        Err(e) => refused(e, "/operator"),
    }
}

pub async fn operator_action(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((slug, action)): Path<(String, String)>,
    Form(form): Form<AdminForm>,
) -> Response {
    if let Err(p) = user.check_csrf(&form.csrf) {
        return p;
    }
    let to = match action.as_str() {
        "suspend" => OrgStatus::Suspended,
        "resume" => OrgStatus::Active,
        "delete" => OrgStatus::Deleted,
        _ => return error_page(ErrorCode::NotFound),
    };
    match state
        .app
        .identity
        .set_org_status(user.principal(), &slug, to)
        .await
    {
        Ok(org) => redirect_with(
            "/operator",
            FlashKind::Success,
            format!("{} is now {}.", org.name, org.status.as_str()),
        ),
        Err(e) => refused(e, "/operator"),
    }
}
