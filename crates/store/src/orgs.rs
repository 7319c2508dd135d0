//! Organisations (tenants).

use switchboard_domain::{OrgId, OrgStatus, Slug, Timestamp};

use crate::StoreError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgRecord {
    pub id: OrgId,
    pub slug: Slug,
    pub name: String,
    pub domain: Option<String>,
    pub status: OrgStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
    /// Members must use TOTP to sign in.
    pub require_totp: bool,
    /// SSO may create accounts for people who are not members yet.
    pub allow_sso_signup: bool,
}

#[async_trait::async_trait]
pub trait OrgRepo: Send + Sync {
    /// Saves a new organisation; [`StoreError::Conflict`] when the slug is taken.
    async fn insert(&self, org: &OrgRecord) -> Result<(), StoreError>;
    async fn get(&self, id: OrgId) -> Result<Option<OrgRecord>, StoreError>;
    async fn get_by_slug(&self, slug: &str) -> Result<Option<OrgRecord>, StoreError>;
    /// All organisations, oldest first.
    async fn list(&self) -> Result<Vec<OrgRecord>, StoreError>;
    async fn count(&self) -> Result<u64, StoreError>;
    /// Sets the status; [`StoreError::NotFound`] when there is no such organisation.
    async fn set_status(
        &self,
        id: OrgId,
        status: OrgStatus,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Sets the security settings; [`StoreError::NotFound`] when there is no such organisation.
    async fn update_settings(
        &self,
        id: OrgId,
        require_totp: bool,
        allow_sso_signup: bool,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Member counts per organisation (organisations without members are absent).
    async fn member_counts(&self) -> Result<Vec<(OrgId, u64)>, StoreError>;
    /// Organisations deleted before `before`, due for purging.
    async fn deleted_before(&self, before: Timestamp) -> Result<Vec<OrgRecord>, StoreError>;
    /// Removes a deleted organisation and everything that belongs to it (members, keys,
    /// invites, sealed secrets, its audit chain), in one transaction. Sessions that had it as
    /// their current organisation lose that choice. Returns the rows removed. Refuses
    /// (NotFound) unless the organisation's status is `deleted`.
    ///
    /// Every table with an `org_id` must be listed here; new capabilities extend it.
    async fn purge(&self, id: OrgId) -> Result<u64, StoreError>;
}
