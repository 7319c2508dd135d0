//! Sealed (envelope-encrypted) values. The store keeps ciphertext only; sealing and opening
//! happen in `app::secrets`.

use switchboard_domain::{OrgId, SecretId, Timestamp};

use crate::StoreError;

/// One sealed value: the value's ciphertext and its data key, itself wrapped by the master
/// key `key_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedRecord {
    pub id: SecretId,
    /// `None` for installation-wide secrets.
    pub org_id: Option<OrgId>,
    /// What the value is for (e.g. `provider.api_key`); bound into the associated data.
    pub purpose: String,
    pub key_id: String,
    pub wrapped_key: Vec<u8>,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A data key as it is stored, for master-key rotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedKey {
    pub id: SecretId,
    pub org_id: Option<OrgId>,
    pub purpose: String,
    pub key_id: String,
    pub wrapped_key: Vec<u8>,
}

#[async_trait::async_trait]
pub trait SecretRepo: Send + Sync {
    async fn insert(&self, record: &SealedRecord) -> Result<(), StoreError>;
    async fn get(&self, id: SecretId) -> Result<Option<SealedRecord>, StoreError>;
    /// Replaces the value of an existing secret (new data key, nonce and ciphertext).
    async fn replace(&self, record: &SealedRecord) -> Result<(), StoreError>;
    async fn delete(&self, id: SecretId) -> Result<(), StoreError>;
    async fn count(&self) -> Result<u64, StoreError>;
    /// The distinct master-key ids that wrap at least one stored data key.
    async fn key_ids_in_use(&self) -> Result<Vec<String>, StoreError>;
    /// Up to `limit` data keys wrapped by a master key other than `current_key_id`.
    async fn keys_not_wrapped_by(
        &self,
        current_key_id: &str,
        limit: u32,
    ) -> Result<Vec<WrappedKey>, StoreError>;
    /// One data key wrapped by `key_id`, if any (to prove a master key opens stored data).
    async fn first_wrapped_by(&self, key_id: &str) -> Result<Option<WrappedKey>, StoreError>;
    /// Replaces one data key's wrapping, only if it is still wrapped by `old_key_id`.
    /// Returns whether a row changed.
    async fn rewrap(
        &self,
        id: SecretId,
        old_key_id: &str,
        new_key_id: &str,
        wrapped_key: &[u8],
        at: Timestamp,
    ) -> Result<bool, StoreError>;
}
