//! Who is using the console: the [`ConsoleUser`] extractor (a signed-in browser session, or
//! a redirect to sign-in / setup), the header's view of the session, and form CSRF checks.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use switchboard_app::identity::{token, OrgAccess, Principal};
use switchboard_domain::Role;

use super::flash::{self, Flash, FlashKind};
use crate::auth::{self, Caller};
use crate::error::ErrorCode;
use crate::state::AppState;

/// Which signed-in users see a navigation entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sees {
    Everyone,
    Members,
    Admins,
    Operators,
}

/// What the page frame shows about the signed-in user.
#[derive(Clone, Debug)]
pub struct SessionView {
    pub name: String,
    pub email: String,
    pub csrf: String,
    pub is_operator: bool,
    /// Role in the current organisation.
    pub role: Option<Role>,
    /// (slug, name, current) for the organisation switcher.
    pub orgs: Vec<(String, String, bool)>,
    /// Approval requests waiting in the current organisation (the navigation badge).
    pub pending_approvals: u64,
}

impl SessionView {
    pub fn sees(&self, sees: Sees) -> bool {
        match sees {
            Sees::Everyone => true,
            Sees::Members => self.role.is_some(),
            Sees::Admins => self.role.is_some_and(|r| r.at_least(Role::Admin)),
            Sees::Operators => self.is_operator,
        }
    }

    pub fn current_org(&self) -> Option<&str> {
        self.orgs
            .iter()
            .find(|(_, _, c)| *c)
            .map(|(_, n, _)| n.as_str())
    }
}

/// A signed-in browser user. Without a session the console redirects to `/login` (or to
/// `/setup` before first-boot setup).
#[derive(Debug)]
pub struct ConsoleUser {
    pub caller: Caller,
    pub view: SessionView,
}

impl ConsoleUser {
    pub fn principal(&self) -> &Principal {
        &self.caller.principal
    }

    /// Checks the `csrf` field of a submitted form.
    pub fn check_csrf(&self, offered: &str) -> Result<(), Response> {
        let expected = self.caller.csrf_token().unwrap_or_default();
        if !expected.is_empty() && token::same(offered, &expected) {
            Ok(())
        } else {
            Err(super::error_page(ErrorCode::CsrfFailed))
        }
    }
}

impl FromRequestParts<AppState> for ConsoleUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let caller = match auth::resolve(parts, state).await {
            Ok(Some(caller)) if caller.session_token.is_some() => caller,
            Ok(_) | Err(_) => {
                let finished = state.app.identity.setup_finished().await.unwrap_or(true);
                let to = if finished { "/login" } else { "/setup" };
                return Err(Redirect::to(to).into_response());
            }
        };
        let memberships = match &caller.principal.user {
            Some(user) => state
                .app
                .identity
                .memberships_of(user.id)
                .await
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let current = caller.principal.org_id();
        let pending_approvals = state.app.pending_approvals(&caller.principal).await;
        let user = caller.principal.user.clone();
        let view = SessionView {
            name: user.as_ref().map(|u| u.name.clone()).unwrap_or_default(),
            email: user.as_ref().map(|u| u.email.clone()).unwrap_or_default(),
            csrf: caller.csrf_token().unwrap_or_default(),
            is_operator: caller.principal.is_operator(),
            role: caller.principal.org.as_ref().map(|a| a.role),
            orgs: memberships
                .iter()
                .map(|OrgAccess { org, .. }| {
                    (
                        org.slug.as_str().to_owned(),
                        org.name.clone(),
                        Some(org.id) == current,
                    )
                })
                .collect(),
            pending_approvals,
        };
        Ok(ConsoleUser { caller, view })
    }
}

/// What a form shows for a failed action: the message of a refusal the user can fix, or the
/// error page for internal failures and missing things.
pub fn form_message(e: switchboard_app::identity::IdentityError) -> Result<String, Response> {
    use switchboard_app::identity::IdentityError;
    match e {
        IdentityError::Internal(cause) => {
            tracing::error!(error = %cause, "internal error");
            Err(super::error_page(ErrorCode::Internal))
        }
        IdentityError::NotFound => Err(super::error_page(ErrorCode::NotFound)),
        other => Ok(other.to_string()),
    }
}

/// Redirects to `to` showing `message` there.
pub fn redirect_with(to: &str, kind: FlashKind, message: impl Into<String>) -> Response {
    let mut response = Redirect::to(to).into_response();
    if let Some(cookie) = flash::cookie(&Flash {
        kind,
        message: message.into(),
    }) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, cookie);
    }
    response
}
