//! Invitations to join an organisation. The link carries a random token; only its SHA-256 is
//! stored, and a link works once.

use switchboard_domain::{InviteId, OrgId, Role, Timestamp, UserId};

use crate::StoreError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteRecord {
    pub id: InviteId,
    pub org_id: OrgId,
    pub email: String,
    pub role: Role,
    pub token_hash: Vec<u8>,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

#[async_trait::async_trait]
pub trait InviteRepo: Send + Sync {
    async fn insert(&self, invite: &InviteRecord) -> Result<(), StoreError>;
    async fn get_by_token_hash(&self, hash: &[u8]) -> Result<Option<InviteRecord>, StoreError>;
    /// Invites of an organisation that are neither used nor revoked, newest first.
    async fn list_open(&self, org: OrgId) -> Result<Vec<InviteRecord>, StoreError>;
    /// Marks an open invite used; `false` when it was used or revoked meanwhile.
    async fn mark_used(&self, id: InviteId, at: Timestamp) -> Result<bool, StoreError>;
    async fn revoke(&self, org: OrgId, id: InviteId, at: Timestamp) -> Result<bool, StoreError>;
}
