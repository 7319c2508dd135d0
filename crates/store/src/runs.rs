//! Assistant runs and their event streams (DESIGN 4.4). A run's `state` is the runtime's own
//! JSON (what it needs to resume); status changes are compare-and-set on the expected status,
//! so two processes never both resume or finish a run.

use switchboard_domain::{ApprovalId, ConversationId, OrgId, RunId, Timestamp, UserId};

use crate::StoreError;

#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    pub id: RunId,
    pub org_id: OrgId,
    pub conversation_id: ConversationId,
    pub user_id: UserId,
    pub agent: String,
    pub status: String,
    pub state: String,
    /// The approval request the run waits for.
    pub waiting_on: Option<ApprovalId>,
    pub error: Option<String>,
    pub steps: i64,
    pub cancel_requested: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// When the process working on the run last showed it was alive.
    pub claimed_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RunEventRecord {
    pub run_id: RunId,
    pub org_id: OrgId,
    /// From 1 within the run; the SSE event id.
    pub seq: i64,
    pub kind: String,
    /// JSON.
    pub data: String,
    pub created_at: Timestamp,
}

#[async_trait::async_trait]
pub trait RunRepo: Send + Sync {
    /// Stores a new run. Like the other writes of a run in progress ([`RunRepo::checkpoint`],
    /// [`RunRepo::append_events`]), it may return before it is durable on PostgreSQL: the next
    /// durable write (the run's [`RunRepo::save`] when it stops or waits) makes it so.
    async fn insert(&self, run: &RunRecord) -> Result<(), StoreError>;
    async fn get(&self, org: OrgId, id: RunId) -> Result<Option<RunRecord>, StoreError>;
    /// Runs of a conversation, oldest first.
    async fn for_conversation(
        &self,
        org: OrgId,
        conversation: ConversationId,
    ) -> Result<Vec<RunRecord>, StoreError>;
    /// Saves `run` (status, state, waiting_on, error, steps, updated_at, claimed_at) if its
    /// stored status is still `expected`: `Some(cancel_requested)` as stored, so a running
    /// run learns of a cancellation with its checkpoint; `None` when the status had changed.
    async fn save(&self, run: &RunRecord, expected: &str) -> Result<Option<bool>, StoreError>;
    /// [`RunRepo::save`] for a run in progress (not yet durable on return, see `insert`).
    async fn checkpoint(&self, run: &RunRecord, expected: &str)
        -> Result<Option<bool>, StoreError>;
    /// Marks a run for cancellation; returns the run as stored afterwards.
    async fn request_cancel(&self, org: OrgId, id: RunId) -> Result<Option<RunRecord>, StoreError>;
    /// Runs waiting for an approval that is now settled (`executed`, `failed`, `denied`,
    /// `expired`), or waiting and asked to cancel: moved to `running` and claimed at `now`
    /// for this process; at most `limit`.
    async fn claim_resumable(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<RunRecord>, StoreError>;
    /// Running runs whose process stopped showing life before `stale`: marked `failed`
    /// with `error`; returns them.
    async fn fail_stale(
        &self,
        stale: Timestamp,
        error: &str,
        now: Timestamp,
    ) -> Result<Vec<RunRecord>, StoreError>;
    /// Appends events with the seqs they carry (the one process driving a run numbers its
    /// events; a seq already stored is a conflict). Not yet durable on return (see `insert`).
    async fn append_events(&self, events: &[RunEventRecord]) -> Result<(), StoreError>;
    /// The run's last event seq (0 when it has none).
    async fn last_event_seq(&self, org: OrgId, run: RunId) -> Result<i64, StoreError>;
    /// Events with `seq > after`, in order, at most `limit`.
    async fn events_after(
        &self,
        org: OrgId,
        run: RunId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<RunEventRecord>, StoreError>;
}
