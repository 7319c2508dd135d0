//! Authentication and authorisation for HTTP: who is calling (session cookie or
//! `Authorization: Bearer sb_...`), which organisation they act in
//! (`Switchboard-Organization` header or the session's choice), and the extractor types that
//! make a handler's requirement part of its signature:
//!
//! - [`Auth<R>`]: a member of the current organisation with at least role `R`
//!   ([`Viewer`], [`Member`], [`Admin`], [`Owner`]); suspended organisations are refused.
//! - [`Signed`]: any signed-in user or API key, no organisation needed (`/me`).
//! - [`SessionUser`]: a signed-in user with a browser session (account pages, logout).
//! - [`OperatorAuth`]: a platform operator.
//!
//! A session cookie on a state-changing API request must come with the `X-CSRF-Token` header
//! (the value `/api/v1/me` and the login response return); console forms carry it as a field.

pub mod cookies;

use std::marker::PhantomData;
use std::net::SocketAddr;
use std::ops::Deref;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, Method};
use switchboard_app::identity::{token, Principal};
use switchboard_domain::Role;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

pub const ORG_HEADER: &str = "switchboard-organization";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The caller of a request, resolved once and cached in the request's extensions.
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    /// The session token from the cookie (for CSRF); `None` for API keys.
    pub session_token: Option<String>,
}

impl Caller {
    /// The CSRF token of this caller's session.
    pub fn csrf_token(&self) -> Option<String> {
        self.session_token.as_deref().map(token::csrf_for)
    }
}

/// Resolves the caller, or `None` for anonymous requests. A bearer token wins over a cookie.
pub async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Option<Caller>, ApiError> {
    if let Some(cached) = parts.extensions.get::<Option<Caller>>() {
        return Ok(cached.clone());
    }
    let requested_org = parts
        .headers
        .get(ORG_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let identity = &state.app.identity;
    let caller = if let Some(bearer) = bearer(&parts.headers) {
        let principal = identity
            .authenticate_api_key(&bearer)
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthorized,
                    "The API key is invalid, revoked or expired.",
                )
            })?;
        Some(Caller {
            principal,
            session_token: None,
        })
    } else if let Some(token) = cookies::session_token(&parts.headers) {
        identity
            .authenticate_session(&token, requested_org.as_deref())
            .await?
            .map(|principal| Caller {
                principal,
                session_token: Some(token),
            })
    } else {
        None
    };
    parts.extensions.insert(caller.clone());
    Ok(caller)
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// Checks the CSRF header of a cookie-authenticated, state-changing API request.
fn check_csrf(parts: &Parts, caller: &Caller) -> Result<(), ApiError> {
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    let Some(expected) = caller.csrf_token() else {
        return Ok(());
    };
    if safe {
        return Ok(());
    }
    let offered = parts
        .headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if token::same(offered, &expected) {
        Ok(())
    } else {
        Err(ApiError::from_code(ErrorCode::CsrfFailed))
    }
}

async fn signed_in(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
    let caller = resolve(parts, state)
        .await?
        .ok_or_else(|| ApiError::from_code(ErrorCode::Unauthorized))?;
    check_csrf(parts, &caller)?;
    Ok(caller)
}

/// Any authenticated caller (user session or API key).
#[derive(Debug)]
pub struct Signed(pub Caller);

impl FromRequestParts<AppState> for Signed {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        signed_in(parts, state).await.map(Signed)
    }
}

/// A signed-in user with a browser session.
#[derive(Debug)]
pub struct SessionUser(pub Caller);

impl FromRequestParts<AppState> for SessionUser {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = signed_in(parts, state).await?;
        if caller.session_token.is_none() {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "This needs a signed-in user, not an API key.",
            ));
        }
        Ok(SessionUser(caller))
    }
}

/// A platform operator (a signed-in user with the operator flag).
#[derive(Debug)]
pub struct OperatorAuth(pub Caller);

impl FromRequestParts<AppState> for OperatorAuth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = signed_in(parts, state).await?;
        if !caller.principal.is_operator() {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "Only platform operators may do this.",
            ));
        }
        Ok(OperatorAuth(caller))
    }
}

/// A minimum role, as a type.
pub trait RoleRequirement: Send + Sync {
    const MIN: Role;
}

macro_rules! role_markers {
    ($($name:ident => $role:ident),*) => {$(
        #[derive(Debug)]
        pub struct $name;
        impl RoleRequirement for $name {
            const MIN: Role = Role::$role;
        }
    )*};
}
role_markers!(Viewer => Viewer, Member => Member, Admin => Admin, Owner => Owner);

/// A member of the current organisation with at least role `R`.
#[derive(Debug)]
pub struct Auth<R: RoleRequirement> {
    pub caller: Caller,
    _role: PhantomData<R>,
}

impl<R: RoleRequirement> Deref for Auth<R> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.caller.principal
    }
}

impl<R: RoleRequirement> FromRequestParts<AppState> for Auth<R> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = signed_in(parts, state).await?;
        caller.principal.tenant(R::MIN)?;
        Ok(Auth {
            caller,
            _role: PhantomData,
        })
    }
}

/// The client's address (the TCP peer), for throttling and the audit log.
#[derive(Clone, Debug)]
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string())
            .unwrap_or_else(|| "unknown".to_owned());
        Ok(ClientAddr(addr))
    }
}

/// A server agent of the fleet, by its credentials (`x-switchboard-agent-id` and
/// `x-switchboard-agent-secret`); anything else — a session, an API key — is not one.
#[derive(Debug)]
pub struct AgentAuth(pub switchboard_app::fleet::FleetAgent);

impl FromRequestParts<AppState> for AgentAuth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let id = header(switchboard_protocol::AGENT_ID_HEADER);
        let secret = header(switchboard_protocol::AGENT_SECRET_HEADER);
        if id.is_empty() || secret.is_empty() {
            return Err(ApiError::new(
                ErrorCode::Unauthorized,
                "Agent requests carry the agent's id and secret headers.",
            ));
        }
        Ok(AgentAuth(state.app.authenticate_agent(&id, &secret).await?))
    }
}
