//! The fleet (DESIGN 4.9): registration tokens, server agents, and the task queue with each
//! task's history. Claims are atomic — PostgreSQL `FOR UPDATE SKIP LOCKED`, SQLite
//! `BEGIN IMMEDIATE` + `UPDATE … RETURNING` — so no task is leased twice at once; every
//! status change writes its [`TaskEventRecord`] in the same transaction.

use switchboard_domain::fleet::Labels;
use switchboard_domain::{
    FleetAgentId, OrgId, RegistrationTokenId, TaskEventId, TaskId, TaskTemplateId, Timestamp,
};

use crate::StoreError;

#[derive(Clone, Debug, PartialEq)]
pub struct RegistrationTokenRecord {
    pub id: RegistrationTokenId,
    pub org_id: OrgId,
    pub name: String,
    /// SHA-256 of the token.
    pub token_hash: Vec<u8>,
    pub max_uses: Option<i64>,
    pub uses: i64,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FleetAgentRecord {
    pub id: FleetAgentId,
    pub org_id: OrgId,
    pub name: String,
    pub host: String,
    pub version: String,
    pub labels: Labels,
    /// SHA-256 of the agent's secret.
    pub secret_hash: Vec<u8>,
    pub token_id: Option<RegistrationTokenId>,
    pub revoked_at: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TaskRecord {
    pub id: TaskId,
    pub org_id: OrgId,
    /// The executor that runs it (`echo`, `shell`, …).
    pub kind: String,
    /// JSON.
    pub payload: String,
    pub target_agent: Option<FleetAgentId>,
    pub target_labels: Labels,
    pub priority: i64,
    pub idempotency_key: Option<String>,
    /// A [`switchboard_domain::fleet::TaskStatus`].
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_after: Timestamp,
    /// The agent holding the lease while `leased`; after that the agent that held it last
    /// (who ran it), cleared when the task goes back to the queue.
    pub lease_agent: Option<FleetAgentId>,
    pub lease_expires_at: Option<Timestamp>,
    /// JSON.
    pub result: Option<String>,
    pub error: Option<String>,
    pub approval_id: Option<String>,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TaskEventRecord {
    pub id: TaskEventId,
    pub org_id: OrgId,
    pub task_id: TaskId,
    pub at: Timestamp,
    /// `status`, `progress` or `log`.
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub agent_id: Option<FleetAgentId>,
    pub message: Option<String>,
}

/// A saved task: what to run and where, under a name unique in the organisation.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskTemplateRecord {
    pub id: TaskTemplateId,
    pub org_id: OrgId,
    pub name: String,
    pub kind: String,
    /// JSON object.
    pub payload: String,
    /// JSON: `{"agent_id": …}` or `{"labels": {…}}`.
    pub target: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub created_at: Timestamp,
}

/// A change of a task's status, applied only if the task is still as expected.
#[derive(Clone, Debug)]
pub struct TaskMove<'a> {
    pub org: OrgId,
    pub task: TaskId,
    /// The statuses it may be in now.
    pub from: &'a [&'a str],
    /// When set, the task must be leased by this agent.
    pub lease_agent: Option<FleetAgentId>,
    pub to: &'a str,
    pub at: Timestamp,
    /// `Some` replaces the result / error.
    pub result: Option<String>,
    pub error: Option<String>,
    /// For a return to the queue: when it may run again.
    pub run_after: Option<Timestamp>,
    pub event: TaskEventRecord,
}

#[async_trait::async_trait]
pub trait FleetRepo: Send + Sync {
    async fn insert_token(&self, token: &RegistrationTokenRecord) -> Result<(), StoreError>;
    async fn tokens(&self, org: OrgId) -> Result<Vec<RegistrationTokenRecord>, StoreError>;
    /// Revokes a token; `NotFound` if it is not the organisation's.
    async fn revoke_token(
        &self,
        org: OrgId,
        id: RegistrationTokenId,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Uses the token with this hash, if it is usable at `at` (not revoked, not expired, uses
    /// left), and enrols `agent` into its organisation, at once. `None`: not usable.
    async fn register(
        &self,
        token_hash: &[u8],
        agent: FleetAgentRecord,
        at: Timestamp,
    ) -> Result<Option<FleetAgentRecord>, StoreError>;
    /// An agent by id, whatever its organisation (to check its credentials).
    async fn agent(&self, id: FleetAgentId) -> Result<Option<FleetAgentRecord>, StoreError>;
    /// An agent with its organisation's status (`active`, `suspended`, …), in one read: what
    /// every agent request checks.
    async fn agent_with_org_status(
        &self,
        id: FleetAgentId,
    ) -> Result<Option<(FleetAgentRecord, String)>, StoreError>;
    async fn agents(&self, org: OrgId) -> Result<Vec<FleetAgentRecord>, StoreError>;
    /// Marks the agent seen, with what it reports about itself.
    async fn heartbeat(
        &self,
        id: FleetAgentId,
        host: &str,
        version: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    async fn revoke_agent(
        &self,
        org: OrgId,
        id: FleetAgentId,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Stores a new task with its first events (queued; leased too when it goes straight to
    /// a waiting agent); with an idempotency key already used in the organisation, returns
    /// that task instead (`false`).
    async fn insert_task(
        &self,
        task: &TaskRecord,
        events: &[TaskEventRecord],
    ) -> Result<(TaskRecord, bool), StoreError>;
    async fn task(&self, org: OrgId, id: TaskId) -> Result<Option<TaskRecord>, StoreError>;
    /// The organisation's tasks, newest first (of one status, or for one agent, when given).
    async fn tasks(
        &self,
        org: OrgId,
        status: Option<&str>,
        agent: Option<FleetAgentId>,
        limit: u32,
    ) -> Result<Vec<TaskRecord>, StoreError>;
    /// How many of the organisation's tasks are in each status.
    async fn task_counts(
        &self,
        org: OrgId,
    ) -> Result<std::collections::BTreeMap<String, u64>, StoreError>;
    /// Leases the best queued task this agent may run (targeted at it, or at labels it
    /// carries; of a kind in `executors`; `run_after` passed), until `lease_until`:
    /// `attempts + 1`, status `leased`, with `event` (its task id filled in here). `None`
    /// when there is none.
    async fn claim(
        &self,
        agent: &FleetAgentRecord,
        executors: &[String],
        lease_until: Timestamp,
        at: Timestamp,
        event: TaskEventRecord,
    ) -> Result<Option<TaskRecord>, StoreError>;
    /// Extends the agent's lease of a task; `false` if it no longer holds it.
    async fn extend_lease(
        &self,
        org: OrgId,
        task: TaskId,
        agent: FleetAgentId,
        until: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Applies a move if the task is as expected and returns the task as it is now; `None`
    /// otherwise (nothing changed).
    async fn move_task(&self, change: &TaskMove<'_>) -> Result<Option<TaskRecord>, StoreError>;
    /// Leased tasks whose lease ended before `now`, oldest first.
    async fn expired_leases(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<TaskRecord>, StoreError>;
    /// Adds progress or log entries.
    async fn append_task_events(&self, events: &[TaskEventRecord]) -> Result<(), StoreError>;
    /// Saves a template; `Conflict` when the name is taken in the organisation.
    async fn insert_template(&self, template: &TaskTemplateRecord) -> Result<(), StoreError>;
    /// The organisation's templates by name.
    async fn templates(&self, org: OrgId) -> Result<Vec<TaskTemplateRecord>, StoreError>;
    /// Deletes a template; `NotFound` when it is not the organisation's.
    async fn delete_template(&self, org: OrgId, id: TaskTemplateId) -> Result<(), StoreError>;
    /// A task's history, oldest first.
    async fn task_events(
        &self,
        org: OrgId,
        task: TaskId,
    ) -> Result<Vec<TaskEventRecord>, StoreError>;
}
