//! Who may do what, in which organisation (DESIGN 4.1): first-boot setup, sign-in with
//! password and TOTP, sessions, API keys, organisations and their members, invites.
//!
//! Every rule lives here; the HTTP layer resolves a [`Principal`] through
//! [`Identity::authenticate_session`] or [`Identity::authenticate_api_key`] and passes it to
//! the service methods, which check roles themselves as well, so a rule holds whichever
//! surface calls it.

pub mod account;
pub mod api_keys;
pub mod audit_log;
pub mod login;
pub mod members;
pub mod orgs;
pub mod password;
pub mod principal;
pub mod setup;
pub mod sso;
pub mod throttle;
pub mod token;
pub mod totp;

use std::sync::Arc;

use switchboard_domain::{Clock, OrgId, UserId};
use switchboard_store::{Store, StoreError, UserRecord};

use crate::audit::{Actor, Audit, AuditError, NewEvent};
use crate::secrets::{Secrets, SecretsError};

pub use principal::{Credential, OrgAccess, Principal};

/// Failures of identity operations. Each maps to one stable public error code.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Bad input; `field` names the offending field.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// Wrong email, password, code or key; deliberately vague.
    #[error("The email or password is incorrect.")]
    InvalidCredentials,
    #[error("Enter the code from your authenticator app.")]
    TotpRequired,
    #[error("The authentication code is incorrect or was already used.")]
    InvalidTotp,
    #[error("Too many failed attempts; try again in {retry_after_secs} seconds.")]
    Throttled { retry_after_secs: u64 },
    #[error("The setup code is wrong or was already used.")]
    InvalidSetupCode,
    #[error("There is nothing here.")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("An organisation must keep at least one owner.")]
    LastOwner,
    #[error("{0}")]
    Conflict(String),
    #[error("This organisation is suspended.")]
    OrgSuspended,
    #[error("Your organisation requires two-factor authentication; set it up under Account.")]
    TotpEnrollmentRequired,
    /// A single sign-on was refused; the message says why in words for the person.
    #[error("{0}")]
    Sso(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for IdentityError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => IdentityError::NotFound,
            StoreError::Conflict(what) => {
                IdentityError::Conflict(format!("Already exists ({what})."))
            }
            other => IdentityError::Internal(other.to_string()),
        }
    }
}

impl From<AuditError> for IdentityError {
    fn from(e: AuditError) -> Self {
        IdentityError::Internal(e.to_string())
    }
}

impl From<SecretsError> for IdentityError {
    fn from(e: SecretsError) -> Self {
        IdentityError::Internal(e.to_string())
    }
}

impl IdentityError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> IdentityError {
        IdentityError::Invalid {
            field,
            message: message.into(),
        }
    }
}

/// How long sessions last. Defaults: 12 hours idle, 7 days at most.
#[derive(Clone, Copy, Debug)]
pub struct SessionPolicy {
    pub idle: chrono::Duration,
    pub absolute: chrono::Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle: chrono::Duration::hours(12),
            absolute: chrono::Duration::days(7),
        }
    }
}

/// The identity service.
#[derive(Clone)]
pub struct Identity {
    store: Store,
    clock: Arc<dyn Clock>,
    secrets: Secrets,
    audit: Audit,
    pub sessions: SessionPolicy,
    /// Configured OpenID providers.
    sso: Arc<Vec<sso::SsoProvider>>,
    oidc: Arc<sso::oidc::OidcClient>,
    /// Outgoing mail for invites, when SMTP is configured.
    mail: Option<OutgoingMail>,
    /// Counts organisation status changes made through this process (caches of what an
    /// organisation's status allows compare it).
    org_status_changes: Arc<std::sync::atomic::AtomicU64>,
}

/// SMTP and the absolute base URL links in emails point at.
#[derive(Clone, Debug)]
pub struct OutgoingMail {
    pub mailer: crate::mail::Mailer,
    pub public_url: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").finish_non_exhaustive()
    }
}

impl Identity {
    pub fn new(store: Store, clock: Arc<dyn Clock>, secrets: Secrets, audit: Audit) -> Identity {
        Identity {
            store,
            clock,
            secrets,
            audit,
            sessions: SessionPolicy::default(),
            sso: Arc::new(Vec::new()),
            oidc: Arc::new(sso::oidc::OidcClient::new()),
            mail: None,
            org_status_changes: Arc::default(),
        }
    }

    /// How many organisation status changes (suspend, resume, delete) went through this
    /// process: a cached answer read under another count is stale.
    pub fn org_status_changes(&self) -> u64 {
        self.org_status_changes
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Sends invites by email through `mail`.
    pub fn with_mail(mut self, mail: OutgoingMail) -> Identity {
        self.mail = Some(mail);
        self
    }

    /// Outgoing mail, when SMTP is configured (approval notices use it too).
    pub fn mail(&self) -> Option<&OutgoingMail> {
        self.mail.as_ref()
    }

    /// Sets the single sign-on providers, after checking each and that ids are unique.
    pub fn with_sso(
        mut self,
        providers: Vec<sso::SsoProvider>,
    ) -> Result<Identity, sso::ProviderError> {
        for (i, provider) in providers.iter().enumerate() {
            provider.validate()?;
            if providers[..i].iter().any(|p| p.id == provider.id) {
                return Err(sso::ProviderError {
                    provider: provider.id.clone(),
                    field: "id",
                    message: "two providers have this id".into(),
                });
            }
        }
        self.sso = Arc::new(providers);
        Ok(self)
    }

    fn now(&self) -> switchboard_domain::Timestamp {
        self.clock.now()
    }

    /// Records an event in one organisation's chain (or the platform chain).
    async fn record(
        &self,
        org: OrgId,
        actor: Actor,
        kind: &str,
        target: Option<String>,
        decision: Option<&str>,
        details: serde_json::Value,
    ) -> Result<(), IdentityError> {
        self.audit
            .record(NewEvent {
                org,
                actor,
                kind: kind.to_owned(),
                target,
                decision: decision.map(str::to_owned),
                details,
            })
            .await?;
        Ok(())
    }

    /// Records an event about a user in the chain of every organisation they belong to (the
    /// platform chain when they belong to none), so each organisation's admins see it.
    async fn record_for_user(
        &self,
        user: UserId,
        actor: Actor,
        kind: &str,
        decision: Option<&str>,
        details: serde_json::Value,
    ) -> Result<(), IdentityError> {
        let memberships = self.store.memberships.list_for_user(user).await?;
        let mut orgs: Vec<OrgId> = memberships.iter().map(|m| m.org_id).collect();
        if orgs.is_empty() {
            orgs.push(OrgId::PLATFORM);
        }
        for org in orgs {
            self.record(
                org,
                actor.clone(),
                kind,
                Some(user.to_string()),
                decision,
                details.clone(),
            )
            .await?;
        }
        Ok(())
    }

    /// A new active organisation with default settings.
    fn new_org(
        &self,
        name: String,
        slug: switchboard_domain::Slug,
    ) -> switchboard_store::OrgRecord {
        let now = self.now();
        switchboard_store::OrgRecord {
            id: OrgId::generate(self.clock.as_ref()),
            slug,
            name,
            domain: None,
            status: switchboard_domain::OrgStatus::Active,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            require_totp: false,
            allow_sso_signup: false,
        }
    }

    /// A new active user without TOTP; `password_hash` is `None` for users who sign in only
    /// through single sign-on.
    fn new_user(
        &self,
        email: String,
        name: String,
        password_hash: Option<String>,
        is_operator: bool,
    ) -> UserRecord {
        let now = self.now();
        UserRecord {
            id: UserId::generate(self.clock.as_ref()),
            email,
            name,
            password_hash,
            is_operator,
            status: switchboard_store::UserStatus::Active,
            created_at: now,
            updated_at: now,
            totp_secret_id: None,
            totp_enabled_at: None,
            totp_last_step: None,
        }
    }

    async fn org(&self, id: OrgId) -> Result<switchboard_store::OrgRecord, IdentityError> {
        self.store
            .orgs
            .get(id)
            .await?
            .ok_or(IdentityError::NotFound)
    }

    async fn user(&self, id: UserId) -> Result<UserRecord, IdentityError> {
        self.store
            .users
            .get(id)
            .await?
            .ok_or(IdentityError::NotFound)
    }
}

/// Lower-cases and trims an email address and checks its rough shape.
pub fn normalise_email(email: &str) -> Result<String, IdentityError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(IdentityError::invalid(
            "email",
            "Enter a valid email address.",
        ))
    }
}

/// Trims a display name and checks its length.
pub fn clean_name(field: &'static str, name: &str) -> Result<String, IdentityError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(IdentityError::invalid(
            field,
            "Enter a name of 1 to 100 characters.",
        ));
    }
    Ok(name.to_owned())
}
