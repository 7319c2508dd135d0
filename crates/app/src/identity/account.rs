//! A signed-in user's own account: TOTP enrolment and removal, backup codes, password change.

use serde_json::json;

use super::login::NewSession;
use super::principal::Principal;
use super::{password, token, totp, Identity, IdentityError};

/// The sealing purpose of TOTP secrets (installation-wide: a user spans organisations).
pub const TOTP_PURPOSE: &str = "totp";
/// Shown by authenticator apps next to the account.
pub const TOTP_ISSUER: &str = "Switchboard";
pub const BACKUP_CODES: usize = 10;

/// What the user needs to add the account to an authenticator app.
#[derive(Clone, Debug)]
pub struct TotpEnrolment {
    pub secret_base32: String,
    pub otpauth_url: String,
    pub qr_svg: String,
}

impl Identity {
    fn signed_in_user<'a>(
        &self,
        principal: &'a Principal,
    ) -> Result<&'a switchboard_store::UserRecord, IdentityError> {
        principal.user.as_ref().ok_or(IdentityError::Forbidden(
            "Only signed-in users have an account.",
        ))
    }

    /// Starts (or restarts) TOTP enrolment: a new sealed secret, pending until confirmed.
    pub async fn begin_totp(&self, principal: &Principal) -> Result<TotpEnrolment, IdentityError> {
        let user = self.user(self.signed_in_user(principal)?.id).await?;
        if user.totp_enabled() {
            return Err(IdentityError::Conflict(
                "Two-factor authentication is already on; turn it off first.".into(),
            ));
        }
        if user.password_hash.is_none() {
            return Err(IdentityError::Forbidden(
                "You sign in through single sign-on; your provider handles the second factor.",
            ));
        }
        let secret = totp::generate_secret();
        let id = self.secrets.seal(None, TOTP_PURPOSE, &secret).await?;
        if let Some(old) = user.totp_secret_id {
            self.store.secrets.delete(old).await?;
        }
        self.store
            .users
            .set_totp(user.id, Some(id), None, self.now())
            .await?;
        let url = totp::otpauth_url(TOTP_ISSUER, &user.email, &secret);
        Ok(TotpEnrolment {
            secret_base32: totp::base32(&secret),
            qr_svg: totp::qr_svg(&url).unwrap_or_default(),
            otpauth_url: url,
        })
    }

    /// Confirms enrolment with a code from the app; returns the backup codes (shown once).
    pub async fn confirm_totp(
        &self,
        principal: &Principal,
        code: &str,
    ) -> Result<Vec<String>, IdentityError> {
        let user = self.user(self.signed_in_user(principal)?.id).await?;
        let Some(secret_id) = user.totp_secret_id else {
            return Err(IdentityError::Conflict("Start the set-up first.".into()));
        };
        if user.totp_enabled() {
            return Err(IdentityError::Conflict(
                "Two-factor authentication is already on.".into(),
            ));
        }
        let secret = self.secrets.open(secret_id, None, TOTP_PURPOSE).await?;
        let step = totp::matching_step(&secret, code, self.now().timestamp())
            .ok_or(IdentityError::InvalidTotp)?;
        if !self.store.users.accept_totp_step(user.id, step).await? {
            return Err(IdentityError::InvalidTotp);
        }
        let now = self.now();
        // set_totp resets the replay marker; record the confirming step again afterwards.
        self.store
            .users
            .set_totp(user.id, Some(secret_id), Some(now), now)
            .await?;
        self.store.users.accept_totp_step(user.id, step).await?;
        let codes = self.new_backup_codes(user.id).await?;
        self.record_for_user(
            user.id,
            principal.actor(),
            "auth.totp_enabled",
            Some("ok"),
            json!({}),
        )
        .await?;
        Ok(codes)
    }

    /// Replaces the backup codes (requires a current TOTP code).
    pub async fn regenerate_backup_codes(
        &self,
        principal: &Principal,
        code: &str,
    ) -> Result<Vec<String>, IdentityError> {
        let user = self.user(self.signed_in_user(principal)?.id).await?;
        if !user.totp_enabled() || !self.check_second_factor(&user, code).await? {
            return Err(IdentityError::InvalidTotp);
        }
        let codes = self.new_backup_codes(user.id).await?;
        self.record_for_user(
            user.id,
            principal.actor(),
            "auth.backup_codes_regenerated",
            Some("ok"),
            json!({}),
        )
        .await?;
        Ok(codes)
    }

    async fn new_backup_codes(
        &self,
        user: switchboard_domain::UserId,
    ) -> Result<Vec<String>, IdentityError> {
        let codes: Vec<String> = (0..BACKUP_CODES).map(|_| token::human_code(2)).collect();
        let hashes: Vec<Vec<u8>> = codes
            .iter()
            .map(|c| token::digest(&token::normalise_code(c)))
            .collect();
        self.store.users.replace_backup_codes(user, &hashes).await?;
        Ok(codes)
    }

    /// Turns TOTP off; needs the current password (or, for SSO-only users, a TOTP code).
    /// Refused while an organisation of the user requires TOTP.
    pub async fn disable_totp(
        &self,
        principal: &Principal,
        current_password: &str,
    ) -> Result<(), IdentityError> {
        let user = self.user(self.signed_in_user(principal)?.id).await?;
        if !password::verify(current_password, user.password_hash.as_deref()) {
            return Err(IdentityError::InvalidCredentials);
        }
        for access in self.memberships_of(user.id).await? {
            if access.org.require_totp {
                return Err(IdentityError::Forbidden(
                    "An organisation you belong to requires two-factor authentication.",
                ));
            }
        }
        self.store
            .users
            .set_totp(user.id, None, None, self.now())
            .await?;
        self.store.users.replace_backup_codes(user.id, &[]).await?;
        if let Some(old) = user.totp_secret_id {
            self.store.secrets.delete(old).await?;
        }
        self.record_for_user(
            user.id,
            principal.actor(),
            "auth.totp_disabled",
            Some("ok"),
            json!({}),
        )
        .await?;
        Ok(())
    }

    /// Changes the password, revokes every session of the user (other browsers are signed
    /// out) and returns a fresh session for the caller.
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: &str,
        new: &str,
    ) -> Result<NewSession, IdentityError> {
        let user = self.user(self.signed_in_user(principal)?.id).await?;
        if !password::verify(current, user.password_hash.as_deref()) {
            return Err(IdentityError::InvalidCredentials);
        }
        password::check(new, &user.email)
            .map_err(|e| IdentityError::invalid("new_password", e.to_string()))?;
        let hash = password::hash(new).map_err(|e| IdentityError::Internal(e.to_string()))?;
        let now = self.now();
        self.store.users.set_password(user.id, &hash, now).await?;
        self.store
            .sessions
            .revoke_all_for_user(user.id, now)
            .await?;
        self.record_for_user(
            user.id,
            principal.actor(),
            "auth.password_changed",
            Some("ok"),
            json!({}),
        )
        .await?;
        self.start_session(&user).await
    }
}
