//! The signed-in user's own account: two-factor authentication and password.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use switchboard_app::identity::account::TotpEnrolment;

use super::console::{form_message, redirect_with, ConsoleUser};
use super::flash::{self, FlashKind};
use super::{render, Layout};
use crate::auth::cookies;
use crate::state::AppState;

#[derive(askama::Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    /// Users created by single sign-on have no password; their provider handles sign-in.
    has_password: bool,
    totp_enabled: bool,
    enrolment: Option<TotpEnrolment>,
    backup_codes: Vec<String>,
    error: Option<String>,
}

fn view_for(user: &ConsoleUser, flashes: Vec<flash::Flash>) -> AccountPage {
    AccountPage {
        layout: Layout::signed_in("Account", "/account", flashes, user.view.clone()),
        has_password: user
            .principal()
            .user
            .as_ref()
            .is_some_and(|u| u.password_hash.is_some()),
        totp_enabled: user
            .principal()
            .user
            .as_ref()
            .is_some_and(|u| u.totp_enabled()),
        enrolment: None,
        backup_codes: Vec::new(),
        error: None,
    }
}

pub async fn page(user: ConsoleUser, headers: HeaderMap) -> Response {
    let (flashes, clear) = flash::take(&headers);
    flash::finish(render(&view_for(&user, flashes)), clear)
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

pub async fn totp_begin(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<CodeForm>,
) -> Response {
    if let Err(p) = user.check_csrf(&form.csrf) {
        return p;
    }
    let mut view = view_for(&user, Vec::new());
    match state.app.identity.begin_totp(user.principal()).await {
        Ok(enrolment) => view.enrolment = Some(enrolment),
        Err(e) => match form_message(e) {
            Ok(message) => view.error = Some(message),
            Err(p) => return p,
        },
    }
    render(&view)
}

pub async fn totp_confirm(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<CodeForm>,
) -> Response {
    if let Err(p) = user.check_csrf(&form.csrf) {
        return p;
    }
    let mut view = view_for(&user, Vec::new());
    match state
        .app
        .identity
        .confirm_totp(user.principal(), &form.code)
        .await
    {
        Ok(codes) => {
            view.totp_enabled = true;
            view.backup_codes = codes;
        }
        Err(e) => match form_message(e) {
            Ok(message) => {
                view.error = Some(format!("{message} Start again and enter the current code."));
            }
            Err(p) => return p,
        },
    }
    render(&view)
}

pub async fn totp_disable(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<CodeForm>,
) -> Response {
    if let Err(p) = user.check_csrf(&form.csrf) {
        return p;
    }
    match state
        .app
        .identity
        .disable_totp(user.principal(), &form.current_password)
        .await
    {
        Ok(()) => redirect_with(
            "/account",
            FlashKind::Success,
            "Two-factor authentication is off.",
        ),
        Err(e) => match form_message(e) {
            Ok(message) => redirect_with("/account", FlashKind::Error, message),
            Err(p) => p,
        },
    }
}

pub async fn password(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<CodeForm>,
) -> Response {
    if let Err(p) = user.check_csrf(&form.csrf) {
        return p;
    }
    match state
        .app
        .identity
        .change_password(user.principal(), &form.current_password, &form.new_password)
        .await
    {
        Ok(session) => {
            let response = redirect_with(
                "/account",
                FlashKind::Success,
                "Password changed. Other browsers were signed out.",
            );
            cookies::with_session(&state, &session, response)
        }
        Err(e) => match form_message(e) {
            Ok(message) => redirect_with("/account", FlashKind::Error, message),
            Err(p) => p,
        },
    }
}
