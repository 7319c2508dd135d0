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

/// A session with its user and the organisation it is in: `None` when it has none, or the
/// user is no longer a member there, or the organisation was deleted.
#[derive(Clone, Debug, PartialEq)]
pub struct Caller {
    pub session: SessionRecord,
    pub user: crate::UserRecord,
    pub org: Option<(crate::OrgRecord, switchboard_domain::Role)>,
}

#[async_trait::async_trait]
pub trait SessionRepo: Send + Sync {
    async fn insert(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// Who holds the session with this token hash — the session, its user and its
    /// organisation with the user's role there — in one read.
    async fn caller(&self, hash: &[u8]) -> Result<Option<Caller>, StoreError>;
    async fn touch(&self, id: SessionId, at: Timestamp) -> Result<(), StoreError>;
    async fn set_org(&self, id: SessionId, org: Option<OrgId>) -> Result<(), StoreError>;
    async fn revoke(&self, id: SessionId, at: Timestamp) -> Result<(), StoreError>;
    /// Revokes every live session of a user; returns how many.
    async fn revoke_all_for_user(&self, user: UserId, at: Timestamp) -> Result<u64, StoreError>;
    /// Deletes sessions that ended before `before`; returns how many.
    async fn purge_ended(&self, before: Timestamp) -> Result<u64, StoreError>;
}
