//! Pages for people who are not signed in yet: first-boot setup, sign-in, invites; and
//! signing out and switching organisation.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use switchboard_app::identity::login::LoginRequest;
use switchboard_app::identity::members::InvitePreview;
use switchboard_app::identity::setup::SetupRequest;
use switchboard_app::identity::sso::ProviderButton;
use switchboard_app::identity::IdentityError;

use super::console::{form_message, redirect_with, ConsoleUser};
use super::flash::{self, FlashKind};
use super::{error_page, render, Layout};
use crate::auth::{self, cookies, ClientAddr};
use crate::error::ErrorCode;
use crate::state::AppState;

#[derive(askama::Template)]
#[template(path = "setup.html")]
struct SetupPage {
    layout: Layout,
    error: Option<String>,
    form: SetupForm,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    setup_code: String,
    #[serde(default)]
    org_name: String,
    #[serde(default)]
    org_slug: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn setup_page(State(state): State<AppState>) -> Response {
    if state.app.identity.setup_finished().await.unwrap_or(true) {
        return error_page(ErrorCode::NotFound);
    }
    render(&SetupPage {
        layout: Layout::new("Set up Switchboard", "", Vec::new()),
        error: None,
        form: SetupForm::default(),
    })
}

pub async fn setup_submit(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<SetupForm>,
) -> Response {
    if state.app.identity.setup_finished().await.unwrap_or(true) {
        return error_page(ErrorCode::NotFound);
    }
    let request = SetupRequest {
        setup_code: form.setup_code.clone(),
        org_name: form.org_name.clone(),
        org_slug: form.org_slug.clone(),
        owner_email: form.email.clone(),
        owner_name: form.name.clone(),
        owner_password: form.password.clone(),
    };
    match state.app.identity.complete_setup(request, &client).await {
        Ok(_) => redirect_with(
            "/login",
            FlashKind::Success,
            "Switchboard is set up. Sign in with the account you just created.",
        ),
        Err(e) => match form_message(e) {
            Ok(message) => {
                let mut form = form;
                form.password.clear();
                form.setup_code.clear();
                render(&SetupPage {
                    layout: Layout::new("Set up Switchboard", "", Vec::new()),
                    error: Some(message),
                    form,
                })
            }
            Err(page) => page,
        },
    }
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    error: Option<String>,
    email: String,
    ask_totp: bool,
    providers: Vec<ProviderButton>,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    totp_code: String,
}

pub async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.app.identity.setup_finished().await.unwrap_or(true) {
        return Redirect::to("/setup").into_response();
    }
    let (flashes, clear) = flash::take(&headers);
    let page = LoginPage {
        layout: Layout::new("Sign in", "", flashes),
        error: None,
        email: String::new(),
        ask_totp: false,
        providers: state.app.identity.sso_buttons(),
    };
    flash::finish(render(&page), clear)
}

pub async fn login_submit(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<LoginForm>,
) -> Response {
    let totp = Some(form.totp_code.trim().to_owned()).filter(|c| !c.is_empty());
    let asked = totp.is_some();
    let result = state
        .app
        .identity
        .login(LoginRequest {
            email: form.email.clone(),
            password: form.password,
            totp_code: totp,
            client,
        })
        .await;
    match result {
        Ok(session) => {
            let response = Redirect::to("/").into_response();
            cookies::with_session(&state, &session, response)
        }
        Err(e) => {
            let ask_totp =
                asked || matches!(e, IdentityError::TotpRequired | IdentityError::InvalidTotp);
            let error = if matches!(e, IdentityError::TotpRequired) {
                Ok(
                    "Enter the 6-digit code from your authenticator app (or a backup code)."
                        .to_owned(),
                )
            } else {
                form_message(e)
            };
            match error {
                Ok(message) => render(&LoginPage {
                    layout: Layout::new("Sign in", "", Vec::new()),
                    error: Some(message),
                    email: form.email,
                    ask_totp,
                    providers: state.app.identity.sso_buttons(),
                }),
                Err(page) => page,
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    if let Err(e) = state.app.identity.logout(user.principal()).await {
        tracing::error!(error = %e, "sign-out failed");
        return error_page(ErrorCode::Internal);
    }
    let mut response = redirect_with("/login", FlashKind::Info, "You are signed out.");
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::clear_session(state.options.tls),
    );
    response
}

#[derive(Debug, Deserialize)]
pub struct SwitchForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    org: String,
}

pub async fn switch_org(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<SwitchForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    match state
        .app
        .identity
        .switch_org(user.principal(), &form.org)
        .await
    {
        Ok(()) => Redirect::to("/").into_response(),
        Err(_) => error_page(ErrorCode::NotFound),
    }
}

#[derive(askama::Template)]
#[template(path = "invite.html")]
struct InvitePage {
    layout: Layout,
    token: String,
    invite: InvitePreview,
    signed_in_as: Option<String>,
    error: Option<String>,
}

pub async fn invite_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    parts: axum::http::request::Parts,
) -> Response {
    let mut parts = parts;
    invite_render(&state, &mut parts, token, None).await
}

async fn invite_render(
    state: &AppState,
    parts: &mut axum::http::request::Parts,
    token: String,
    error: Option<String>,
) -> Response {
    let invite = match state.app.identity.preview_invite(&token).await {
        Ok(invite) => invite,
        Err(_) => return error_page(ErrorCode::NotFound),
    };
    let signed_in_as = auth::resolve(parts, state)
        .await
        .ok()
        .flatten()
        .and_then(|c| c.principal.user.map(|u| u.email));
    render(&InvitePage {
        layout: Layout::new("Join an organisation", "", Vec::new()),
        token,
        invite,
        signed_in_as,
        error,
    })
}

#[derive(Debug, Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

pub async fn invite_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    parts: axum::http::request::Parts,
    Form(form): Form<AcceptForm>,
) -> Response {
    let mut parts = parts;
    let caller = auth::resolve(&mut parts, &state).await.ok().flatten();
    let result = state
        .app
        .identity
        .accept_invite(
            &token,
            caller.as_ref().map(|c| &c.principal),
            Some(&form.name),
            Some(&form.password),
        )
        .await;
    match result {
        Ok(Some(session)) => {
            let response = redirect_with(
                "/",
                FlashKind::Success,
                "Welcome! You have joined the organisation.",
            );
            cookies::with_session(&state, &session, response)
        }
        Ok(None) => redirect_with("/", FlashKind::Success, "You have joined the organisation."),
        Err(e) => match form_message(e) {
            Ok(message) => invite_render(&state, &mut parts, token, Some(message)).await,
            Err(page) => page,
        },
    }
}
