//! Single sign-on in the browser: `/auth/sso/{provider}` sends the browser to the provider,
//! `/auth/sso/{provider}/callback` brings it back and signs it in. The rules live in
//! `switchboard_app::identity::sso`; these handlers move cookies and redirects.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use switchboard_app::identity::sso::SsoCallback;

use super::console::{form_message, redirect_with};
use super::flash::FlashKind;
use crate::auth::{cookies, ClientAddr};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct BeginQuery {
    /// Local path to continue at after signing in.
    next: Option<String>,
}

pub async fn begin(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    ClientAddr(client): ClientAddr,
    Query(query): Query<BeginQuery>,
    headers: HeaderMap,
) -> Response {
    let redirect_uri = callback_url(&state, &headers, &provider);
    let started = state
        .app
        .identity
        .sso_begin(&provider, &redirect_uri, query.next.as_deref(), &client)
        .await;
    match started {
        Ok(start) => {
            let mut response = Redirect::to(&start.authorize_url).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                cookies::set_sso(Some(&start.cookie_value), state.options.tls),
            );
            response
        }
        Err(e) => refused(e),
    }
}

pub async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    ClientAddr(client): ClientAddr,
    Query(query): Query<SsoCallback>,
    headers: HeaderMap,
) -> Response {
    let redirect_uri = callback_url(&state, &headers, &provider);
    let binding = cookies::sso_binding(&headers);
    let finished = state
        .app
        .identity
        .sso_finish(&provider, &redirect_uri, binding.as_deref(), query, &client)
        .await;
    let mut response = match finished {
        Ok((session, next)) => cookies::with_session(&state, &session, Redirect::to(&next)),
        Err(e) => refused(e),
    };
    // The binding is single use either way.
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::set_sso(None, state.options.tls),
    );
    response
}

fn refused(e: switchboard_app::identity::IdentityError) -> Response {
    match form_message(e) {
        Ok(message) => redirect_with("/login", FlashKind::Error, message),
        Err(page) => page,
    }
}

/// The redirect URI registered at the provider: under `public_url` when configured, else
/// under the host the browser used.
fn callback_url(state: &AppState, headers: &HeaderMap, provider: &str) -> String {
    format!("{}/auth/sso/{provider}/callback", state.origin(headers))
}
