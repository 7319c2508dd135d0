//! The audit log: append-only, one hash chain per organisation. Nothing here updates or
//! deletes a row.

use switchboard_domain::{AuditEventId, OrgId, Timestamp};

use crate::StoreError;

/// One stored audit event. `details` is the canonical JSON text that was hashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: AuditEventId,
    pub org_id: OrgId,
    /// Position in the organisation's chain, from 1.
    pub seq: i64,
    pub at: Timestamp,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub kind: String,
    pub target: Option<String>,
    pub decision: Option<String>,
    pub details: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// The last link of a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: Vec<u8>,
}

/// Computes an event's hash from its `prev_hash` and content (the chain rule lives in `app`).
pub type LinkHasher = dyn Fn(&[u8], &AuditRecord) -> Vec<u8> + Send + Sync;

/// Which events of one chain to list. Every field narrows the result; `None` means any.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Events whose kind starts with this (`auth.` or `auth.login`).
    pub kind_prefix: Option<String>,
    pub actor_id: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Only events with `seq` greater than this (paging cursor).
    pub after_seq: i64,
    /// Only events with `seq` smaller than this (paging backwards, newest first).
    pub before_seq: Option<i64>,
    /// Newest first instead of chain order.
    pub newest_first: bool,
    pub limit: u32,
}

#[async_trait::async_trait]
pub trait AuditRepo: Send + Sync {
    /// Appends `record` as the next link of its organisation's chain. Under a per-chain lock,
    /// the store reads the head, sets `seq` and `prev_hash` (from `genesis` for a new chain),
    /// computes `hash` with `hasher`, and inserts; returns the record as stored. Concurrent
    /// appends to one chain wait for each other, so the chain never forks.
    async fn append(
        &self,
        record: AuditRecord,
        genesis: &[u8],
        hasher: &LinkHasher,
    ) -> Result<AuditRecord, StoreError>;
    /// Appends several records, in order, each as the next link of its organisation's
    /// chain, in one transaction under the chains' locks (a group commit: one lock and one
    /// commit for many events). All or none are stored.
    async fn append_batch(
        &self,
        records: Vec<AuditRecord>,
        genesis: &[u8],
        hasher: &LinkHasher,
    ) -> Result<Vec<AuditRecord>, StoreError>;
    async fn head(&self, org: OrgId) -> Result<Option<ChainHead>, StoreError>;
    /// Up to `limit` events of one chain with `seq > after`, in chain order.
    async fn chain(
        &self,
        org: OrgId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError>;
    /// Events of one chain matching `filter`, in chain order.
    async fn search(
        &self,
        org: OrgId,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditRecord>, StoreError>;
    /// Every organisation that has at least one event.
    async fn chains(&self) -> Result<Vec<OrgId>, StoreError>;
}
