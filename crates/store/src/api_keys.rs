//! API keys (`sb_...`): bound to one organisation with a role ceiling. Only a SHA-256 of the
//! key is stored, with a short prefix to recognise it in lists.

use switchboard_domain::{ApiKeyId, OrgId, Role, Timestamp, UserId};

use crate::StoreError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub org_id: OrgId,
    pub name: String,
    /// The first characters of the key (`sb_` + a few), safe to show.
    pub prefix: String,
    pub key_hash: Vec<u8>,
    pub role: Role,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

#[async_trait::async_trait]
pub trait ApiKeyRepo: Send + Sync {
    async fn insert(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    async fn get_by_hash(&self, hash: &[u8]) -> Result<Option<ApiKeyRecord>, StoreError>;
    /// An organisation's keys that are not revoked, newest first.
    async fn list_for_org(&self, org: OrgId) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Revokes a live key of this organisation; `false` when there is none.
    async fn revoke(&self, org: OrgId, id: ApiKeyId, at: Timestamp) -> Result<bool, StoreError>;
    async fn touch(&self, id: ApiKeyId, at: Timestamp) -> Result<(), StoreError>;
}
