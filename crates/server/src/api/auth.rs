//! Sign-in, sign-out and the caller's own account: `/api/v1/auth/*` and `/api/v1/me*`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use switchboard_app::identity::login::LoginRequest;
use switchboard_app::identity::{OrgAccess, Principal};
use switchboard_app::records::OrgRecord;
use switchboard_domain::Role;
use utoipa::ToSchema;

use super::json::ApiJson;
use crate::auth::{cookies, ClientAddr, SessionUser, Signed};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct OrgView {
    id: String,
    slug: String,
    name: String,
    /// `pending`, `active`, `suspended` or `deleted`.
    status: String,
    /// The caller's role here.
    role: String,
    require_totp: bool,
    allow_sso_signup: bool,
}

impl OrgView {
    pub fn new(org: &OrgRecord, role: Role) -> OrgView {
        OrgView {
            id: org.id.to_string(),
            slug: org.slug.as_str().to_owned(),
            name: org.name.clone(),
            status: org.status.as_str().to_owned(),
            role: role.as_str().to_owned(),
            require_totp: org.require_totp,
            allow_sso_signup: org.allow_sso_signup,
        }
    }

    fn of(access: &OrgAccess) -> OrgView {
        OrgView::new(&access.org, access.role)
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserView {
    id: String,
    email: String,
    name: String,
    is_operator: bool,
    totp_enabled: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    /// The signed-in user; absent for API keys.
    user: Option<UserView>,
    /// `session` or `api_key`.
    credential: &'static str,
    memberships: Vec<OrgView>,
    current_organization: Option<OrgView>,
    /// Send this as `X-CSRF-Token` on state-changing requests made with the session cookie.
    csrf_token: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    email: String,
    password: String,
    /// A TOTP code or a backup code, when the account has TOTP.
    totp_code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginDone {
    user: UserView,
    /// Send this as `X-CSRF-Token` on state-changing requests made with the session cookie.
    csrf_token: String,
}

fn user_view(user: &switchboard_app::records::UserRecord) -> UserView {
    UserView {
        id: user.id.to_string(),
        email: user.email.clone(),
        name: user.name.clone(),
        is_operator: user.is_operator,
        totp_enabled: user.totp_enabled(),
    }
}

/// Signs in with email and password (and TOTP code). Sets the `sb_session` cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "identity", request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in; the session cookie is set", body = LoginDone),
        (status = 401, description = "`invalid_credentials`, `totp_required` or `invalid_totp_code`", body = ErrorBody),
        (status = 429, description = "Too many failed attempts (`rate_limited`)", body = ErrorBody)
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let session = state
        .app
        .identity
        .login(LoginRequest {
            email: body.email,
            password: body.password,
            totp_code: body.totp_code,
            client,
        })
        .await?;
    let body = Json(LoginDone {
        user: user_view(&session.user),
        csrf_token: session.csrf_token.clone(),
    });
    Ok(cookies::with_session(&state, &session, body))
}

/// Signs out: revokes the session and clears the cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "identity",
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not signed in", body = ErrorBody)
    ))]
pub async fn logout(
    State(state): State<AppState>,
    SessionUser(caller): SessionUser,
) -> Result<Response, ApiError> {
    state.app.identity.logout(&caller.principal).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::clear_session(state.options.tls),
    );
    Ok(response)
}

/// The caller: user, memberships and the organisation this request acts in.
#[utoipa::path(get, path = "/api/v1/me", tag = "identity",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "Not signed in", body = ErrorBody)
    ))]
pub async fn me(
    State(state): State<AppState>,
    Signed(caller): Signed,
) -> Result<Json<Me>, ApiError> {
    let principal: &Principal = &caller.principal;
    let memberships = match &principal.user {
        Some(user) => state
            .app
            .identity
            .memberships_of(user.id)
            .await?
            .iter()
            .map(OrgView::of)
            .collect(),
        None => principal.org.iter().map(OrgView::of).collect(),
    };
    Ok(Json(Me {
        user: principal.user.as_ref().map(user_view),
        credential: if caller.session_token.is_some() {
            "session"
        } else {
            "api_key"
        },
        memberships,
        current_organization: principal.org.as_ref().map(OrgView::of),
        csrf_token: caller.csrf_token(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordBody {
    current_password: String,
    new_password: String,
}

/// Changes the password; every session of the user is revoked and a new one is set.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "identity", request_body = PasswordBody,
    responses(
        (status = 200, description = "Changed; a new session cookie is set", body = LoginDone),
        (status = 400, description = "The new password breaks the policy", body = ErrorBody),
        (status = 401, description = "Wrong current password", body = ErrorBody)
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    SessionUser(caller): SessionUser,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<Response, ApiError> {
    let session = state
        .app
        .identity
        .change_password(
            &caller.principal,
            &body.current_password,
            &body.new_password,
        )
        .await?;
    let body = Json(LoginDone {
        user: user_view(&session.user),
        csrf_token: session.csrf_token.clone(),
    });
    Ok(cookies::with_session(&state, &session, body))
}

#[derive(Serialize, ToSchema)]
pub struct TotpEnrolmentView {
    /// The secret in base32, for typing into an app by hand.
    secret: String,
    otpauth_url: String,
    /// The URL as a QR code (SVG markup).
    qr_svg: String,
}

/// Starts TOTP enrolment; confirm with a code to turn it on.
#[utoipa::path(post, path = "/api/v1/me/totp", tag = "identity",
    responses(
        (status = 200, description = "Pending enrolment", body = TotpEnrolmentView),
        (status = 409, description = "TOTP is already on", body = ErrorBody)
    ))]
pub async fn begin_totp(
    State(state): State<AppState>,
    SessionUser(caller): SessionUser,
) -> Result<Json<TotpEnrolmentView>, ApiError> {
    let enrolment = state.app.identity.begin_totp(&caller.principal).await?;
    Ok(Json(TotpEnrolmentView {
        secret: enrolment.secret_base32,
        otpauth_url: enrolment.otpauth_url,
        qr_svg: enrolment.qr_svg,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct CodeBody {
    code: String,
}

#[derive(Serialize, ToSchema)]
pub struct BackupCodes {
    /// Ten single-use codes, shown once.
    backup_codes: Vec<String>,
}

/// Confirms TOTP enrolment with a current code; returns the backup codes.
#[utoipa::path(post, path = "/api/v1/me/totp/confirm", tag = "identity", request_body = CodeBody,
    responses(
        (status = 200, description = "TOTP is on", body = BackupCodes),
        (status = 401, description = "`invalid_totp_code`", body = ErrorBody)
    ))]
pub async fn confirm_totp(
    State(state): State<AppState>,
    SessionUser(caller): SessionUser,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Json<BackupCodes>, ApiError> {
    let backup_codes = state
        .app
        .identity
        .confirm_totp(&caller.principal, &body.code)
        .await?;
    Ok(Json(BackupCodes { backup_codes }))
}

#[derive(Deserialize, ToSchema)]
pub struct DisableTotpBody {
    current_password: String,
}

/// Turns TOTP off (needs the current password).
#[utoipa::path(delete, path = "/api/v1/me/totp", tag = "identity", request_body = DisableTotpBody,
    responses(
        (status = 204, description = "TOTP is off"),
        (status = 401, description = "Wrong password", body = ErrorBody),
        (status = 403, description = "An organisation requires TOTP", body = ErrorBody)
    ))]
pub async fn disable_totp(
    State(state): State<AppState>,
    SessionUser(caller): SessionUser,
    ApiJson(body): ApiJson<DisableTotpBody>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .identity
        .disable_totp(&caller.principal, &body.current_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
