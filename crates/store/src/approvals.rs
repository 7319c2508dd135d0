//! Approval requests for tool calls (DESIGN 4.3). Status changes are compare-and-set, so two
//! approvers, an approver and the expiry sweep, or two executing processes never both win.

use switchboard_domain::{ApprovalId, OrgId, Timestamp};

use crate::StoreError;

#[derive(Clone, Debug, PartialEq)]
pub struct ApprovalRecord {
    pub id: ApprovalId,
    pub org_id: OrgId,
    pub tool: String,
    /// JSON the tool runs with.
    pub arguments: String,
    /// JSON as approvers see it (guarded).
    pub shown_arguments: String,
    pub tier: String,
    pub approver_role: String,
    pub four_eyes: bool,
    pub reason: String,
    /// `user` or `api_key`.
    pub requester_kind: String,
    pub requester_id: String,
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<Timestamp>,
    pub decision_reason: Option<String>,
    /// JSON: the tool's result, or `{"error": ...}`.
    pub result: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub claimed_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

/// A decision on a pending request.
#[derive(Clone, Debug)]
pub struct ApprovalDecision<'a> {
    /// `approved` or `denied`.
    pub status: &'a str,
    pub by: &'a str,
    pub reason: Option<&'a str>,
    pub at: Timestamp,
}

#[async_trait::async_trait]
pub trait ApprovalRepo: Send + Sync {
    async fn insert(&self, approval: &ApprovalRecord) -> Result<(), StoreError>;
    async fn get(&self, org: OrgId, id: ApprovalId) -> Result<Option<ApprovalRecord>, StoreError>;
    /// Newest first; `status` narrows.
    async fn list(
        &self,
        org: OrgId,
        status: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ApprovalRecord>, StoreError>;
    /// How many requests of the organisation wait for a decision (not yet expired).
    async fn count_pending(&self, org: OrgId, now: Timestamp) -> Result<u64, StoreError>;
    /// Decides a request that is still pending and not expired at `decision.at`; `false`
    /// when it was not (someone else decided, or it expired).
    async fn decide(
        &self,
        org: OrgId,
        id: ApprovalId,
        decision: &ApprovalDecision<'_>,
    ) -> Result<bool, StoreError>;
    /// Marks pending requests whose time ran out as `expired`; returns them.
    async fn expire_due(&self, now: Timestamp) -> Result<Vec<ApprovalRecord>, StoreError>;
    /// Approved requests not yet claimed (or claimed before `stale`, by a process that
    /// stopped), claimed now for this process; at most `limit`.
    async fn claim_approved(
        &self,
        now: Timestamp,
        stale: Timestamp,
        limit: u32,
    ) -> Result<Vec<ApprovalRecord>, StoreError>;
    /// Records the outcome of an approved request: `executed` or `failed`, with the result.
    async fn finish(
        &self,
        id: ApprovalId,
        status: &str,
        result: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
}
