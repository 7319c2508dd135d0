//! State that protects sign-in: failed-attempt records for throttling, the first-boot
//! setup code, OIDC identities, single sign-ons in flight and SSO client secrets.

use switchboard_domain::{OrgId, Role, SecretId, Timestamp, UserId};

use crate::StoreError;

/// The stored first-boot setup code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupCodeRecord {
    pub code_hash: Vec<u8>,
    pub created_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

/// A single sign-on started in a browser and not yet finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoLoginRecord {
    /// Hash of the `state` parameter; the state itself stays in the browser's cookie.
    pub state_hash: Vec<u8>,
    pub provider: String,
    pub nonce: String,
    /// Local path to return to after signing in.
    pub return_to: String,
    pub created_at: Timestamp,
}

/// A user created by their first single sign-on, with their identity and membership.
#[derive(Clone, Debug)]
pub struct SsoSignup<'a> {
    pub user: &'a crate::UserRecord,
    pub issuer: &'a str,
    pub subject: &'a str,
    pub org: OrgId,
    pub role: Role,
    pub at: Timestamp,
}

#[async_trait::async_trait]
pub trait AuthStateRepo: Send + Sync {
    /// Records one failed attempt under `(scope, key)`.
    async fn record_failure(&self, scope: &str, key: &str, at: Timestamp)
        -> Result<(), StoreError>;
    /// Failed attempts under `(scope, key)` at or after `since`.
    async fn failures_since(
        &self,
        scope: &str,
        key: &str,
        since: Timestamp,
    ) -> Result<u64, StoreError>;
    /// Forgets the failures of `(scope, key)` (after a successful sign-in).
    async fn clear_failures(&self, scope: &str, key: &str) -> Result<(), StoreError>;
    /// Deletes failure records older than `before`.
    async fn purge_failures(&self, before: Timestamp) -> Result<u64, StoreError>;

    async fn setup_code(&self) -> Result<Option<SetupCodeRecord>, StoreError>;
    /// Stores a new setup code hash unless one was already used (setup happens once).
    async fn put_setup_code(&self, hash: &[u8], at: Timestamp) -> Result<(), StoreError>;
    /// Marks the setup code used; `false` if it was used already (a concurrent setup won).
    async fn consume_setup_code(&self, at: Timestamp) -> Result<bool, StoreError>;

    /// The user linked to an OIDC identity.
    async fn oidc_user(&self, issuer: &str, subject: &str) -> Result<Option<UserId>, StoreError>;
    async fn link_oidc(
        &self,
        issuer: &str,
        subject: &str,
        user: UserId,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Creates a user, links their OIDC identity and adds them to an organisation, in one
    /// transaction.
    async fn sso_signup(&self, signup: &SsoSignup<'_>) -> Result<(), StoreError>;

    async fn put_sso_login(&self, login: &SsoLoginRecord) -> Result<(), StoreError>;
    /// Removes and returns the sign-in with this state hash (single use).
    async fn take_sso_login(&self, state_hash: &[u8])
        -> Result<Option<SsoLoginRecord>, StoreError>;
    /// Deletes sign-ins started before `before` (abandoned in the browser).
    async fn purge_sso_logins(&self, before: Timestamp) -> Result<u64, StoreError>;

    /// The sealed client secret of an SSO provider.
    async fn sso_client_secret(&self, provider: &str) -> Result<Option<SecretId>, StoreError>;
    async fn put_sso_client_secret(
        &self,
        provider: &str,
        secret: SecretId,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// First-boot setup in one transaction: marks the setup code used and creates the first
    /// organisation, its owner and the membership. `false` (and nothing written) when the code
    /// was used already, so two concurrent setups cannot both succeed.
    async fn complete_setup(
        &self,
        org: &crate::OrgRecord,
        owner: &crate::UserRecord,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
}
