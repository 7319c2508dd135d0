//! The assistant's memory (DESIGN 4.8): facts per organisation and scope, stored once per
//! scope by content hash, found again by full text (FTS5 on SQLite, `tsvector` on
//! PostgreSQL), ranked.

use switchboard_domain::{MemoryId, OrgId, Timestamp, UserId};

use crate::StoreError;

#[derive(Clone, Debug, PartialEq)]
pub struct MemoryRecord {
    pub id: MemoryId,
    pub org_id: OrgId,
    /// `org` for organisation-wide facts, the user's id for one person's.
    pub scope_key: String,
    pub user_id: Option<UserId>,
    pub content: String,
    /// SHA-256 of the normalised content.
    pub content_hash: Vec<u8>,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub created_at: Timestamp,
}

/// A memory found by a search, with its rank (higher is better).
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryHit {
    pub memory: MemoryRecord,
    pub score: f64,
}

#[async_trait::async_trait]
pub trait MemoryRepo: Send + Sync {
    /// Stores a memory, or returns the one already stored with the same content in the same
    /// scope (`false`: it was there).
    async fn remember(&self, memory: &MemoryRecord) -> Result<(MemoryRecord, bool), StoreError>;
    async fn get(&self, org: OrgId, id: MemoryId) -> Result<Option<MemoryRecord>, StoreError>;
    /// Memories of these scopes, newest first.
    async fn list(
        &self,
        org: OrgId,
        scopes: &[String],
        limit: u32,
    ) -> Result<Vec<MemoryRecord>, StoreError>;
    /// Memories of these scopes matching any of `terms` (plain words), best first.
    async fn search(
        &self,
        org: OrgId,
        scopes: &[String],
        terms: &[String],
        limit: u32,
    ) -> Result<Vec<MemoryHit>, StoreError>;
    /// Forgets a memory; `NotFound` if it is not there.
    async fn forget(&self, org: OrgId, id: MemoryId) -> Result<(), StoreError>;
    /// Keeps a memory's vector from embeddings model `model` (little-endian f32s).
    async fn set_embedding(
        &self,
        org: OrgId,
        id: MemoryId,
        model: &str,
        vector: &[u8],
    ) -> Result<(), StoreError>;
    /// Up to `limit` memories of these scopes with a vector from `model`, newest first.
    async fn with_embeddings(
        &self,
        org: OrgId,
        scopes: &[String],
        model: &str,
        limit: u32,
    ) -> Result<Vec<(MemoryRecord, Vec<u8>)>, StoreError>;
}
