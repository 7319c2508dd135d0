//! Sign-in with password (and TOTP), sessions, sign-out.

use serde_json::json;
use switchboard_domain::{OrgId, SessionId, Timestamp};
use switchboard_store::{SessionRecord, UserRecord, UserStatus};

use super::principal::{Credential, OrgAccess, Principal};
use super::{normalise_email, password, throttle, token, totp, Identity, IdentityError};
use crate::audit::Actor;

/// What a sign-in attempt offers.
#[derive(Clone, Debug)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// A 6-digit TOTP code or a backup code.
    pub totp_code: Option<String>,
    /// The client address, for throttling and the audit log.
    pub client: String,
}

/// A new session. `token` goes into the cookie and is never stored.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub session: SessionRecord,
    pub user: UserRecord,
}

/// Refreshing `last_seen_at` at most this often keeps reads from turning into writes.
const TOUCH_EVERY_SECONDS: i64 = 60;

impl Identity {
    /// Signs in. Throttled per account and per client before the password is looked at;
    /// unknown accounts take as long as known ones and fail with the same error.
    pub async fn login(&self, request: LoginRequest) -> Result<NewSession, IdentityError> {
        let email =
            normalise_email(&request.email).unwrap_or_else(|_| request.email.trim().to_lowercase());
        for (limit, key) in [
            (throttle::LOGIN_ACCOUNT, email.as_str()),
            (throttle::LOGIN_CLIENT, request.client.as_str()),
        ] {
            if let Err(e) = self.check_limit(limit, key).await {
                self.audit_login(None, &email, &request.client, "throttled")
                    .await?;
                return Err(e);
            }
        }
        let user = self.store.users.get_by_email(&email).await?;
        let stored_hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
        let password_ok = password::verify(&request.password, stored_hash);
        let user = match user {
            Some(user) if password_ok && user.status == UserStatus::Active => user,
            other => {
                self.login_failed(other.as_ref(), &email, &request.client, "bad password")
                    .await?;
                return Err(IdentityError::InvalidCredentials);
            }
        };
        if user.totp_enabled() {
            let Some(code) = request
                .totp_code
                .as_deref()
                .filter(|c| !c.trim().is_empty())
            else {
                return Err(IdentityError::TotpRequired);
            };
            if !self.check_second_factor(&user, code).await? {
                self.login_failed(Some(&user), &email, &request.client, "bad totp code")
                    .await?;
                return Err(IdentityError::InvalidTotp);
            }
        }
        self.store
            .auth
            .clear_failures(throttle::LOGIN_ACCOUNT.scope, &email)
            .await?;
        let session = self.start_session(&user).await?;
        self.audit_login(Some(&user), &email, &request.client, "ok")
            .await?;
        Ok(session)
    }

    async fn login_failed(
        &self,
        user: Option<&UserRecord>,
        email: &str,
        client: &str,
        reason: &str,
    ) -> Result<(), IdentityError> {
        self.note_failure(throttle::LOGIN_ACCOUNT, email).await?;
        self.note_failure(throttle::LOGIN_CLIENT, client).await?;
        tracing::info!(reason, "sign-in failed");
        self.audit_login(user, email, client, "denied").await
    }

    async fn audit_login(
        &self,
        user: Option<&UserRecord>,
        email: &str,
        client: &str,
        decision: &str,
    ) -> Result<(), IdentityError> {
        let details = json!({ "email": email, "client": client });
        match user {
            Some(user) => {
                self.record_for_user(
                    user.id,
                    Actor::User(user.id.to_string()),
                    "auth.login",
                    Some(decision),
                    details,
                )
                .await
            }
            None => {
                self.record(
                    OrgId::PLATFORM,
                    Actor::System,
                    "auth.login",
                    None,
                    Some(decision),
                    details,
                )
                .await
            }
        }
    }

    /// Checks a TOTP code (replay-protected) or a backup code (single use).
    pub(crate) async fn check_second_factor(
        &self,
        user: &UserRecord,
        code: &str,
    ) -> Result<bool, IdentityError> {
        let Some(secret_id) = user.totp_secret_id else {
            return Ok(false);
        };
        let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() == totp::DIGITS as usize && digits.bytes().all(|b| b.is_ascii_digit()) {
            let secret = self
                .secrets
                .open(secret_id, None, super::account::TOTP_PURPOSE)
                .await?;
            let Some(step) = totp::matching_step(&secret, &digits, self.now().timestamp()) else {
                return Ok(false);
            };
            return Ok(self.store.users.accept_totp_step(user.id, step).await?);
        }
        let hash = token::digest(&token::normalise_code(code));
        Ok(self
            .store
            .users
            .use_backup_code(user.id, &hash, self.now())
            .await?)
    }

    pub(crate) async fn start_session(
        &self,
        user: &UserRecord,
    ) -> Result<NewSession, IdentityError> {
        let now = self.now();
        let token = token::random_token();
        let preferred = self.org_for_user(user.id, None, None).await?;
        let session = SessionRecord {
            id: SessionId::generate(self.clock.as_ref()),
            token_hash: token::digest(&token),
            user_id: user.id,
            org_id: preferred.map(|a| a.org.id),
            created_at: now,
            last_seen_at: now,
            expires_at: now + self.sessions.absolute,
            revoked_at: None,
        };
        self.store.sessions.insert(&session).await?;
        Ok(NewSession {
            csrf_token: token::csrf_for(&token),
            token,
            session,
            user: user.clone(),
        })
    }

    /// The caller behind a session cookie, or `None` when the session is unknown, revoked,
    /// idle too long or past its absolute end. `requested_org` is the
    /// `Switchboard-Organization` header.
    pub async fn authenticate_session(
        &self,
        session_token: &str,
        requested_org: Option<&str>,
    ) -> Result<Option<Principal>, IdentityError> {
        let Some(caller) = self
            .store
            .sessions
            .caller(&token::digest(session_token))
            .await?
        else {
            return Ok(None);
        };
        let (session, user) = (caller.session, caller.user);
        let now = self.now();
        if !self.session_live(&session, now) || user.status != UserStatus::Active {
            return Ok(None);
        }
        // The session's organisation came with it; another one asked for, or none kept,
        // is looked up among the user's memberships.
        let org = match (caller.org, requested_org) {
            (Some((org, role)), None) => Some(OrgAccess { org, role }),
            _ => {
                self.org_for_user(session.user_id, session.org_id, requested_org)
                    .await?
            }
        };
        if (now - session.last_seen_at).num_seconds() >= TOUCH_EVERY_SECONDS {
            self.store.sessions.touch(session.id, now).await?;
        }
        Ok(Some(Principal {
            credential: Credential::Session(session.id),
            user: Some(user),
            org,
        }))
    }

    fn session_live(&self, session: &SessionRecord, now: Timestamp) -> bool {
        session.revoked_at.is_none()
            && now < session.expires_at
            && now - session.last_seen_at < self.sessions.idle
    }

    /// Signs out: the session is revoked in the database, so the cookie is worthless.
    pub async fn logout(&self, principal: &Principal) -> Result<(), IdentityError> {
        if let Some(id) = principal.session_id() {
            self.store.sessions.revoke(id, self.now()).await?;
            if let Some(user) = &principal.user {
                self.record_for_user(
                    user.id,
                    principal.actor(),
                    "auth.logout",
                    Some("ok"),
                    json!({}),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Makes `slug` the session's current organisation (the console's switcher).
    pub async fn switch_org(&self, principal: &Principal, slug: &str) -> Result<(), IdentityError> {
        let (Some(session), Some(user)) = (principal.session_id(), &principal.user) else {
            return Err(IdentityError::Forbidden(
                "Only signed-in users switch organisations.",
            ));
        };
        let access = self
            .org_for_user(user.id, None, Some(slug))
            .await?
            .ok_or(IdentityError::NotFound)?;
        self.store
            .sessions
            .set_org(session, Some(access.org.id))
            .await?;
        Ok(())
    }

    /// Deletes sessions that ended more than a day ago (run periodically).
    pub async fn purge_sessions(&self) -> Result<u64, IdentityError> {
        Ok(self
            .store
            .sessions
            .purge_ended(self.now() - chrono::Duration::days(1))
            .await?)
    }
}
