//! Who belongs to which organisation, with which role.

use switchboard_domain::{OrgId, Role, Timestamp, UserId};

use crate::StoreError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipRecord {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub role: Role,
    pub created_at: Timestamp,
}

/// The result of a change that must leave an organisation with at least one owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerGuarded {
    Done,
    /// The member is the last owner; nothing changed.
    LastOwner,
    /// There is no such membership.
    NotFound,
}

#[async_trait::async_trait]
pub trait MembershipRepo: Send + Sync {
    /// Adds a member, or changes the role of an existing one.
    async fn upsert(&self, membership: &MembershipRecord) -> Result<(), StoreError>;
    async fn get(&self, org: OrgId, user: UserId) -> Result<Option<MembershipRecord>, StoreError>;
    /// A user's memberships, oldest first.
    async fn list_for_user(&self, user: UserId) -> Result<Vec<MembershipRecord>, StoreError>;
    /// A user's memberships with their organisations, leaving out deleted ones, oldest first
    /// (one read, whatever the number of organisations).
    async fn orgs_of_user(
        &self,
        user: UserId,
    ) -> Result<Vec<(MembershipRecord, crate::OrgRecord)>, StoreError>;
    /// An organisation's members with their accounts, oldest membership first (one read).
    async fn users_of_org(
        &self,
        org: OrgId,
    ) -> Result<Vec<(MembershipRecord, crate::UserRecord)>, StoreError>;
    /// An organisation's members, oldest first.
    async fn list_for_org(&self, org: OrgId) -> Result<Vec<MembershipRecord>, StoreError>;
    /// Changes a member's role unless that would demote the organisation's last owner.
    async fn change_role(
        &self,
        org: OrgId,
        user: UserId,
        role: Role,
    ) -> Result<OwnerGuarded, StoreError>;
    /// Removes a member unless they are the organisation's last owner.
    async fn remove(&self, org: OrgId, user: UserId) -> Result<OwnerGuarded, StoreError>;
}
