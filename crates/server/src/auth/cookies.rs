//! The session cookie (`sb_session`) and the single sign-on cookie (`sb_sso`): HttpOnly,
//! SameSite=Lax, Secure when clients use TLS.

use axum::http::{header, HeaderMap, HeaderValue};
use switchboard_app::identity::sso::{flow::SIGN_IN_VALID, SSO_COOKIE};

pub const SESSION_COOKIE: &str = "sb_session";

/// The session token from the `Cookie` header.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// The value of the single sign-on cookie that binds a sign-in to this browser.
pub fn sso_binding(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SSO_COOKIE)
}

fn cookie(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

/// `Set-Cookie` for a sign-in in flight, readable only by the callback path; `None` clears
/// it.
pub fn set_sso(value: Option<&str>, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let (value, max_age) = match value {
        Some(v) => (v, SIGN_IN_VALID.num_seconds()),
        None => ("", 0),
    };
    HeaderValue::from_str(&format!(
        "{SSO_COOKIE}={value}; Path=/auth/sso; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("sb_sso=; Path=/auth/sso; Max-Age=0"))
}

/// `Set-Cookie` for a new session.
pub fn set_session(token: &str, max_age_secs: i64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

/// `response` with the `Set-Cookie` of a new session (API login, console sign-in, invite
/// acceptance, password change all use this one).
pub fn with_session(
    state: &crate::state::AppState,
    session: &switchboard_app::identity::login::NewSession,
    response: impl axum::response::IntoResponse,
) -> axum::response::Response {
    let max_age = state.app.identity.sessions.absolute.num_seconds();
    let mut response = response.into_response();
    if let Some(cookie) = set_session(&session.token, max_age, state.options.tls) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_session(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("sb_session=; Path=/; Max-Age=0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others_and_set_safely() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; sb_session=tok; b=2"),
        );
        assert_eq!(session_token(&headers).as_deref(), Some("tok"));
        let set = set_session("tok", 60, true).unwrap();
        let set = set.to_str().unwrap();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Secure"));
        assert!(!set_session("tok", 60, false)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Secure"));
    }
}
