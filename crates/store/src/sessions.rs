//! Browser sessions. The cookie carries a random token; only its SHA-256 is stored.

use switchboard_domain::{OrgId, SessionId, Timestamp, UserId};

use crate::StoreError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: SessionId,
    pub token_hash: Vec<u8>,
    pub user_id: UserId,
    /// The organisation chosen in the console's switcher.
    pub org_id: Option<OrgId>,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// The absolute end of the session.
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

#[async_trait::async_trait]
pub trait SessionRepo: Send + Sync {
    async fn insert(&self, session: &SessionRecord) -> Result<(), StoreError>;
    async fn get_by_token_hash(&self, hash: &[u8]) -> Result<Option<SessionRecord>, StoreError>;
    /// The session with this token hash and its user, in one read.
    async fn get_with_user(
        &self,
        hash: &[u8],
    ) -> Result<Option<(SessionRecord, crate::UserRecord)>, StoreError>;
    async fn touch(&self, id: SessionId, at: Timestamp) -> Result<(), StoreError>;
    async fn set_org(&self, id: SessionId, org: Option<OrgId>) -> Result<(), StoreError>;
    async fn revoke(&self, id: SessionId, at: Timestamp) -> Result<(), StoreError>;
    /// Revokes every live session of a user; returns how many.
    async fn revoke_all_for_user(&self, user: UserId, at: Timestamp) -> Result<u64, StoreError>;
    /// Deletes sessions that ended before `before`; returns how many.
    async fn purge_ended(&self, before: Timestamp) -> Result<u64, StoreError>;
}
