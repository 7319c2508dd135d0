//! State that protects sign-in: failed-attempt records for throttling and the first-boot
//! setup code.

use switchboard_domain::{Timestamp, UserId};

use crate::StoreError;

/// The stored first-boot setup code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupCodeRecord {
    pub code_hash: Vec<u8>,
    pub created_at: Timestamp,
    pub used_at: Option<Timestamp>,
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
