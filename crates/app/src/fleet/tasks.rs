//! The task queue: tasks created by people, API keys or the assistant (through the
//! `fleet.run` tool, whose tier follows the task type — so a task that changes a server waits
//! for an admin's approval before it is queued), claimed by agents with a lease they extend,
//! finished with a result, put back with a backoff when a lease runs out (dead after
//! `max_attempts`), cancelled by people. Every move is in the task's history and the audit log.

use std::collections::BTreeMap;

use chrono::Duration;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use switchboard_domain::fleet::{parse_labels, retry_delay_secs, task_tier, Labels, TaskStatus};
use switchboard_domain::{FleetAgentId, OrgId, Role, TaskEventId, TaskId, Tier, Timestamp};
use switchboard_protocol::{
    ClaimResponse, LeasedTask, TaskEvents, TaskResult, MAX_CLAIM_WAIT_SECS,
};
use switchboard_store::{FleetAgentRecord, TaskEventRecord, TaskMove, TaskRecord};

use super::enrol::revoked;
use super::wake::Outcome;
use super::{invalid, FleetError};
use crate::audit::{Actor, NewEvent};
use crate::identity::{IdentityError, Principal};
use crate::tools::{Invoked, ToolError};
use crate::App;

/// How long a lease lasts unless the agent extends it (the default of `fleet.lease_secs`).
pub const LEASE_SECS: i64 = 30;
/// The most a claim waits on the hub (below the HTTP request timeout).
pub const CLAIM_WAIT_CAP_SECS: u64 = 25;
const MAX_PAYLOAD: usize = 64 * 1024;
const MAX_LOG_LINES: usize = 200;
const MAX_LOG_LINE: usize = 2_000;
const MAX_OUTPUT: usize = 256 * 1024;

/// `POST /api/v1/fleet/tasks` (and the `fleet.run` tool's arguments).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub payload: Value,
    pub target: Target,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
}

/// One agent, or every agent carrying these labels (the first to ask runs it).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// Why a task was not queued: its own check (the field named), or the tool layer's answer
/// (denied by policy, not the shape of a task, …).
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error(transparent)]
    Task(#[from] FleetError),
    #[error(transparent)]
    Tool(#[from] ToolError),
}

/// The answer to an agent's result: the task now and, when the result asked for it, the next
/// claim's answer (`switchboard_protocol::ResultResponse` reads it).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FinishedTask {
    #[serde(flatten)]
    pub task: TaskView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<ClaimResponse>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub payload: Value,
    pub target: Value,
    pub priority: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub agent_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskEventView {
    pub at: String,
    pub kind: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub agent_id: Option<String>,
    pub message: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TaskDetail {
    #[serde(flatten)]
    pub task: TaskView,
    pub events: Vec<TaskEventView>,
}

/// A task as checked, ready to store.
struct Checked {
    payload: String,
    target_agent: Option<FleetAgentId>,
    target_labels: Labels,
    max_attempts: i64,
    priority: i64,
    key: Option<String>,
}

fn view(t: &TaskRecord) -> TaskView {
    let target = match t.target_agent {
        Some(a) => json!({"agent_id": a.to_string()}),
        None => json!({"labels": t.target_labels}),
    };
    TaskView {
        id: t.id.to_string(),
        kind: t.kind.clone(),
        status: t.status.clone(),
        attempts: t.attempts,
        max_attempts: t.max_attempts,
        payload: serde_json::from_str(&t.payload).unwrap_or(Value::Null),
        target,
        priority: t.priority,
        result: t
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok()),
        error: t.error.clone(),
        agent_id: t.lease_agent.map(|a| a.to_string()),
        idempotency_key: t.idempotency_key.clone(),
        created_at: t.created_at.to_rfc3339(),
        updated_at: t.updated_at.to_rfc3339(),
    }
}

fn event_view(e: &TaskEventRecord) -> TaskEventView {
    TaskEventView {
        at: e.at.to_rfc3339(),
        kind: e.kind.clone(),
        from: e.from_status.clone(),
        to: e.to_status.clone(),
        agent_id: e.agent_id.map(|a| a.to_string()),
        message: e.message.clone(),
    }
}

/// The tier of a `fleet.run` call: its type's, or for a `composite` the highest of its
/// steps'. Unknown types count as T2 (they are refused when the task is made).
pub fn tier_of_call(arguments: &Value) -> Tier {
    let kind = arguments["type"].as_str().unwrap_or_default();
    if kind == "composite" {
        return arguments["payload"]["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|step| step["type"].as_str().and_then(task_tier))
            .max()
            .unwrap_or(Tier::T2)
            .max(Tier::T2);
    }
    task_tier(kind).unwrap_or(Tier::T2)
}

/// The `fleet.run` check before any approval: the payload in the shape its type's executor
/// reads (`switchboard_protocol::payload`). Unknown types are left to the schema's list.
pub fn payload_problems(arguments: &Value) -> Vec<String> {
    let kind = arguments["type"].as_str().unwrap_or_default();
    // A missing payload reads as an empty one: every field absent.
    match switchboard_protocol::payload::check(kind, &arguments["payload"]) {
        Ok(()) => Vec::new(),
        // The tool's answer lists problems as clauses (it ends the list with its own stop).
        Err(e) => vec![format!("`payload`: {}", e.trim_end_matches('.'))],
    }
}

fn agent_actor(agent: FleetAgentId) -> Actor {
    Actor::Agent(format!("fleet-agent:{agent}"))
}

/// A fleet event about a task for the audit log.
fn fleet_event(
    org: OrgId,
    actor: Actor,
    kind: &str,
    task: &TaskRecord,
    details: Value,
) -> NewEvent {
    NewEvent {
        org,
        actor,
        kind: kind.to_owned(),
        target: Some(task.id.to_string()),
        decision: Some("ok".to_owned()),
        details,
    }
}

/// `fleet.task.leased`: the agent has the task.
fn lease_event(org: OrgId, agent: FleetAgentId, name: &str, task: &TaskRecord) -> NewEvent {
    fleet_event(
        org,
        agent_actor(agent),
        "fleet.task.leased",
        task,
        json!({"agent": name, "attempt": task.attempts}),
    )
}

impl App {
    /// A status entry of a task's history: `(from, to)`.
    fn task_event(
        &self,
        org: OrgId,
        task: TaskId,
        (from, to): (Option<TaskStatus>, TaskStatus),
        agent: Option<FleetAgentId>,
        message: Option<String>,
        at: Timestamp,
    ) -> TaskEventRecord {
        TaskEventRecord {
            id: TaskEventId::generate(self.clock.as_ref()),
            org_id: org,
            task_id: task,
            at,
            kind: "status".to_owned(),
            from_status: from.map(|s| s.as_str().to_owned()),
            to_status: Some(to.as_str().to_owned()),
            agent_id: agent,
            message,
        }
    }

    /// Queues a task (members and up). Approval, when its type needs one, happened before:
    /// call this through the `fleet.run` tool (`App::invoke_tool`) to get the policy.
    pub async fn create_task(
        &self,
        principal: &Principal,
        input: NewTask,
    ) -> Result<(TaskView, bool), FleetError> {
        let org = principal.tenant(Role::Member)?.org.id;
        let Checked {
            payload,
            target_agent,
            target_labels,
            max_attempts,
            priority,
            key,
        } = self.checked_task(org, &input).await?;
        let now = self.clock.now();
        let (actor_kind, actor_id) = principal.actor().parts();
        let mut record = TaskRecord {
            id: TaskId::generate(self.clock.as_ref()),
            org_id: org,
            kind: input.kind,
            payload,
            target_agent,
            target_labels,
            priority,
            idempotency_key: key,
            status: TaskStatus::Queued.as_str().to_owned(),
            attempts: 0,
            max_attempts,
            run_after: now,
            lease_agent: None,
            lease_expires_at: None,
            result: None,
            error: None,
            approval_id: None,
            actor_kind: actor_kind.to_owned(),
            actor_id,
            created_at: now,
            updated_at: now,
        };
        let mut events =
            vec![self.task_event(org, record.id, (None, TaskStatus::Queued), None, None, now)];
        // A claim waiting here that may run it gets it at once: stored leased to its agent.
        let reserved = self.fleet_waiters.reserve(&record);
        if let Some(r) = &reserved {
            record.status = TaskStatus::Leased.as_str().to_owned();
            record.attempts = 1;
            record.lease_agent = Some(r.agent);
            record.lease_expires_at = Some(now + Duration::seconds(self.fleet_lease_secs));
            events.push(self.task_event(
                org,
                record.id,
                (Some(TaskStatus::Queued), TaskStatus::Leased),
                Some(r.agent),
                None,
                now + Duration::microseconds(1),
            ));
        }
        let (stored, new) = self.store.fleet.insert_task(&record, &events).await?;
        if !new {
            // Dropping the reservation sends the claim back to the queue.
            return Ok((view(&stored), false));
        }
        let mut events = vec![fleet_event(
            org,
            principal.actor(),
            "fleet.task.queued",
            &stored,
            json!({"type": stored.kind, "target": view(&stored).target}),
        )];
        let Some(r) = reserved else {
            self.fleet_waiters.may_be_queued();
            self.fleet_audits(events).await?;
            return Ok((view(&stored), true));
        };
        // Stored before the agent has the task: the audit events' commit also makes the
        // task's insert durable (it was written without waiting for the WAL flush).
        events.push(lease_event(org, r.agent, &r.agent_name, &stored));
        self.fleet_audits(events).await?;
        let agent = r.agent;
        if let Err(task) = r.hand(stored.clone()) {
            let queued = self.hand_back(agent, &task).await?;
            return Ok((view(queued.as_ref().unwrap_or(&task)), true));
        }
        Ok((view(&stored), true))
    }

    /// Puts a task leased to `agent` but never handed to it (its claim had ended) back in
    /// the queue, and wakes a claim that may run it.
    async fn hand_back(
        &self,
        agent: FleetAgentId,
        task: &TaskRecord,
    ) -> Result<Option<TaskRecord>, FleetError> {
        let note = "The claim it was meant for had ended.".to_owned();
        let queued = self
            .end_lease(
                task,
                Some(agent),
                TaskStatus::Queued,
                note,
                None,
                self.clock.now(),
            )
            .await?;
        if let Some(queued) = &queued {
            self.fleet_waiters.wake_for(queued);
        }
        Ok(queued)
    }

    /// Ends a lease that did not end with a result: the task goes back to the queue (to run
    /// from `run_after`) or is dead, with `note` in its history and the audit log (and as its
    /// error when `error` is set). `None` if it was not leased by `agent`.
    async fn end_lease(
        &self,
        task: &TaskRecord,
        agent: Option<FleetAgentId>,
        to: TaskStatus,
        note: String,
        error: Option<String>,
        run_after: Timestamp,
    ) -> Result<Option<TaskRecord>, FleetError> {
        let now = self.clock.now();
        let moved = self
            .store
            .fleet
            .move_task(&TaskMove {
                org: task.org_id,
                task: task.id,
                from: &["leased"],
                lease_agent: agent,
                to: to.as_str(),
                at: now,
                result: None,
                error,
                run_after: (to == TaskStatus::Queued).then_some(run_after),
                event: self.task_event(
                    task.org_id,
                    task.id,
                    (Some(TaskStatus::Leased), to),
                    agent,
                    Some(note.clone()),
                    now,
                ),
            })
            .await?;
        let Some(moved) = moved else { return Ok(None) };
        if to == TaskStatus::Queued {
            self.fleet_waiters.may_be_queued();
        }
        let kind = if to == TaskStatus::Dead {
            "dead"
        } else {
            "requeued"
        };
        self.fleet_audit(
            task.org_id,
            Actor::System,
            &format!("fleet.task.{kind}"),
            &task.id.to_string(),
            json!({"attempts": moved.attempts, "error": note}),
        )
        .await?;
        Ok(Some(moved))
    }

    /// Queues a task as people and programs do (the API and the console): through the
    /// governed `fleet.run` tool, whose tier follows the task type — `Invoked::Pending` when
    /// it waits for an approval. The task is checked first, so a bad one is refused with its
    /// field named before any approval is asked for; arguments not in the tool's shape get
    /// the schema's answer, every problem listed.
    pub async fn queue_task(
        &self,
        principal: &Principal,
        arguments: Value,
    ) -> Result<Invoked, QueueError> {
        let shaped = self.tools.get("fleet.run").is_some_and(|tool| {
            crate::tools::schema::validate(&tool.input_schema, &arguments).is_empty()
        });
        if let Ok(task) = serde_json::from_value::<NewTask>(arguments.clone()) {
            if shaped {
                let org = principal
                    .tenant(Role::Member)
                    .map_err(FleetError::from)?
                    .org
                    .id;
                self.checked_task(org, &task).await?;
            }
        }
        Ok(self.invoke_tool(principal, "fleet.run", arguments).await?)
    }

    async fn checked_task(&self, org: OrgId, input: &NewTask) -> Result<Checked, FleetError> {
        let (payload, target_agent, target_labels) = self
            .checked_task_spec(org, &input.kind, &input.payload, &input.target)
            .await?;
        let max_attempts = input.max_attempts.unwrap_or(3);
        if !(1..=10).contains(&max_attempts) {
            return Err(invalid("max_attempts", "`max_attempts` must be 1–10."));
        }
        let priority = input.priority.unwrap_or(0);
        if !(-100..=100).contains(&priority) {
            return Err(invalid("priority", "`priority` must be -100–100."));
        }
        let key = input
            .idempotency_key
            .as_deref()
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty());
        if key.as_ref().is_some_and(|k| k.chars().count() > 200) {
            return Err(invalid(
                "idempotency_key",
                "`idempotency_key` may be at most 200 characters.",
            ));
        }
        Ok(Checked {
            payload,
            target_agent,
            target_labels,
            max_attempts,
            priority,
            key,
        })
    }

    /// A task's type, payload and target checked for the organisation: the payload as stored
    /// (a JSON object in its type's shape, at most 64 KB) and the target (an agent of its own
    /// that is not revoked, or a label selector). The `fleet.run` tool runs the same shape
    /// check (`payload_problems`) for calls that do not come through here first.
    pub(super) async fn checked_task_spec(
        &self,
        org: OrgId,
        kind: &str,
        payload: &Value,
        target: &Target,
    ) -> Result<(String, Option<FleetAgentId>, Labels), FleetError> {
        if task_tier(kind).is_none() {
            let known: Vec<&str> = switchboard_domain::fleet::TASK_TYPES
                .iter()
                .map(|(k, _)| *k)
                .collect();
            return Err(invalid(
                "type",
                format!("`type` is one of {}.", known.join(", ")),
            ));
        }
        let payload = match payload {
            Value::Null => json!({}),
            Value::Object(_) => payload.clone(),
            _ => return Err(invalid("payload", "`payload` is a JSON object.")),
        };
        // The shape the agent's executor reads (what it may do is the agent's own config).
        switchboard_protocol::payload::check(kind, &payload).map_err(|e| invalid("payload", e))?;
        let payload = payload.to_string();
        if payload.len() > MAX_PAYLOAD {
            return Err(invalid("payload", "`payload` may be at most 64 KB."));
        }
        match (&target.agent_id, &target.labels) {
            (Some(id), None) => {
                let agent = self
                    .own_fleet_agent(org, id)
                    .await
                    .map_err(|_| invalid("target", "No such agent in this organisation."))?;
                if agent.revoked_at.is_some() {
                    return Err(invalid("target", "That agent is revoked."));
                }
                Ok((payload, Some(agent.id), Labels::default()))
            }
            (None, Some(labels)) => {
                let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let labels = parse_labels(pairs.iter().map(String::as_str))
                    .map_err(|e| invalid("target", e))?;
                Ok((payload, None, labels))
            }
            _ => Err(invalid(
                "target",
                "`target` is `{\"agent_id\": …}` or `{\"labels\": {…}}`.",
            )),
        }
    }

    /// A task with its history (viewers and up).
    pub async fn fleet_task(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<TaskDetail, FleetError> {
        let org = principal.tenant(Role::Viewer)?.org.id;
        let task = self.own_task(org, id).await?;
        let events = self.store.fleet.task_events(org, task.id).await?;
        Ok(TaskDetail {
            task: view(&task),
            events: events.iter().map(event_view).collect(),
        })
    }

    /// The organisation's most recent tasks (viewers and up), of one status if given.
    pub async fn fleet_tasks(
        &self,
        principal: &Principal,
        status: Option<&str>,
        agent: Option<&str>,
    ) -> Result<Vec<TaskView>, FleetError> {
        let org = principal.tenant(Role::Viewer)?.org.id;
        if let Some(s) = status {
            TaskStatus::parse(s).ok_or_else(|| invalid("status", "Unknown task status."))?;
        }
        let agent = match agent {
            Some(id) => Some(self.own_fleet_agent(org, id).await?.id),
            None => None,
        };
        let tasks = self.store.fleet.tasks(org, status, agent, 100).await?;
        Ok(tasks.iter().map(view).collect())
    }

    /// Cancels a task that has not finished (members and up); a running agent learns it
    /// when it next extends its lease or sends its result.
    pub async fn cancel_task(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<TaskView, FleetError> {
        let org = principal.tenant(Role::Member)?.org.id;
        let task = self.own_task(org, id).await?;
        let from = TaskStatus::parse(&task.status).unwrap_or(TaskStatus::Dead);
        if !from.can_move_to(TaskStatus::Cancelled) {
            return Err(FleetError::Conflict(format!(
                "The task is {} already.",
                task.status
            )));
        }
        let now = self.clock.now();
        let moved = self
            .store
            .fleet
            .move_task(&TaskMove {
                org,
                task: task.id,
                from: &["waiting_approval", "queued", "leased"],
                lease_agent: None,
                to: TaskStatus::Cancelled.as_str(),
                at: now,
                result: None,
                error: None,
                run_after: None,
                event: self.task_event(
                    org,
                    task.id,
                    (Some(from), TaskStatus::Cancelled),
                    None,
                    None,
                    now,
                ),
            })
            .await?;
        let Some(cancelled) = moved else {
            return Err(FleetError::Conflict(
                "The task finished meanwhile.".to_owned(),
            ));
        };
        self.fleet_audit(
            org,
            principal.actor(),
            "fleet.task.cancelled",
            &task.id.to_string(),
            json!({"from": task.status}),
        )
        .await?;
        Ok(view(&cancelled))
    }

    async fn own_task(&self, org: OrgId, id: &str) -> Result<TaskRecord, FleetError> {
        let id: TaskId = id.parse().map_err(|_| IdentityError::NotFound)?;
        self.store
            .fleet
            .task(org, id)
            .await?
            .ok_or_else(|| IdentityError::NotFound.into())
    }

    /// Waits up to `wait_secs` (capped) for a task this agent may run and leases it.
    pub async fn claim_task(
        &self,
        agent: &FleetAgentRecord,
        wait_secs: u64,
        executors: &[String],
    ) -> Result<Option<LeasedTask>, FleetError> {
        // A stopping hub still hands out a queued task but does not wait for one.
        let wait = if self.stopping.is_cancelled() {
            0
        } else {
            wait_secs.min(MAX_CLAIM_WAIT_SECS).min(CLAIM_WAIT_CAP_SECS)
        };
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(wait);
        // A claim right after one that found the queue empty waits to be handed a task.
        let mut skip_look = wait > 0 && !self.fleet_waiters.worth_looking(agent.id);
        loop {
            // Registered before the attempt, so a task queued meanwhile wakes this claim.
            let registration = self.fleet_waiters.register(agent, executors);
            let looked = !skip_look;
            skip_look = false;
            if looked {
                if let Some(task) = self.claim_queued(agent, executors).await? {
                    match registration.close() {
                        // A task was handed over while this claim found one itself.
                        Outcome::Task(handed) => {
                            self.hand_back(agent.id, &handed).await?;
                        }
                        Outcome::CutOff => return Err(revoked()),
                        Outcome::Look => {}
                    }
                    return Ok(Some(self.leased(&task)));
                }
            }
            if tokio::time::Instant::now() < deadline {
                // Tasks queued by another hub process are seen within a second.
                tokio::select! {
                    () = registration.woken() => {}
                    () = tokio::time::sleep(super::wake::LOOK_EVERY) => {}
                    () = tokio::time::sleep_until(deadline) => {}
                    () = self.stopping.cancelled() => {}
                }
            }
            match registration.close() {
                Outcome::Task(task) => return Ok(Some(self.leased(&task))),
                Outcome::CutOff => return Err(revoked()),
                Outcome::Look
                    if self.stopping.is_cancelled()
                        || (looked && tokio::time::Instant::now() >= deadline) =>
                {
                    return Ok(None)
                }
                Outcome::Look => {}
            }
        }
    }

    /// Leases the best queued task this agent may run, if there is one.
    async fn claim_queued(
        &self,
        agent: &FleetAgentRecord,
        executors: &[String],
    ) -> Result<Option<TaskRecord>, FleetError> {
        let look = self.fleet_waiters.look();
        let now = self.clock.now();
        let event = self.task_event(
            agent.org_id,
            TaskId::generate(self.clock.as_ref()),
            (Some(TaskStatus::Queued), TaskStatus::Leased),
            Some(agent.id),
            None,
            now,
        );
        let lease_until = now + Duration::seconds(self.fleet_lease_secs);
        let claimed = self
            .store
            .fleet
            .claim(agent, executors, lease_until, now, event)
            .await?;
        let Some(task) = claimed else {
            self.fleet_waiters.found_nothing(agent.id, look);
            return Ok(None);
        };
        self.fleet_audits(vec![lease_event(
            agent.org_id,
            agent.id,
            &agent.name,
            &task,
        )])
        .await?;
        Ok(Some(task))
    }

    fn leased(&self, task: &TaskRecord) -> LeasedTask {
        LeasedTask {
            id: task.id.to_string(),
            kind: task.kind.clone(),
            payload: serde_json::from_str(&task.payload).unwrap_or(Value::Null),
            attempt: u32::try_from(task.attempts).unwrap_or(u32::MAX),
            lease_secs: self.fleet_lease_secs as u64,
        }
    }

    /// Extends the agent's lease; `Conflict` when the task is no longer its own (expired and
    /// handed on, or cancelled): the agent stops working on it.
    pub async fn extend_task_lease(
        &self,
        agent: &FleetAgentRecord,
        id: &str,
    ) -> Result<u64, FleetError> {
        let task = self.own_task(agent.org_id, id).await?;
        let until = self.clock.now() + Duration::seconds(self.fleet_lease_secs);
        if self
            .store
            .fleet
            .extend_lease(agent.org_id, task.id, agent.id, until)
            .await?
        {
            Ok(self.fleet_lease_secs as u64)
        } else {
            Err(FleetError::Conflict(
                "This task is no longer leased to this agent.".to_owned(),
            ))
        }
    }

    /// Progress and log lines from the agent running the task.
    pub async fn record_task_events(
        &self,
        agent: &FleetAgentRecord,
        id: &str,
        events: TaskEvents,
    ) -> Result<(), FleetError> {
        let task = self.own_task(agent.org_id, id).await?;
        if task.status != TaskStatus::Leased.as_str() || task.lease_agent != Some(agent.id) {
            return Err(FleetError::Conflict(
                "This task is no longer leased to this agent.".to_owned(),
            ));
        }
        let now = self.clock.now();
        let mut records: Vec<TaskEventRecord> = Vec::new();
        // One microsecond apart, so the history keeps the order they came in.
        let entry = |kind: &str, message: String, n: usize| TaskEventRecord {
            id: TaskEventId::generate(self.clock.as_ref()),
            org_id: agent.org_id,
            task_id: task.id,
            at: now + Duration::microseconds(i64::try_from(n).unwrap_or(0)),
            kind: kind.to_owned(),
            from_status: None,
            to_status: None,
            agent_id: Some(agent.id),
            message: Some(message),
        };
        if let Some(p) = events.progress {
            records.push(entry("progress", p.min(100).to_string(), records.len()));
        }
        for line in events.log.into_iter().take(MAX_LOG_LINES) {
            let n = records.len();
            records.push(entry("log", line.chars().take(MAX_LOG_LINE).collect(), n));
        }
        self.store.fleet.append_task_events(&records).await?;
        Ok(())
    }

    /// The agent's result: the task succeeded or failed (once; a late result for a task
    /// handed on or cancelled is refused with `Conflict`). With `next`, the agent's next claim
    /// follows once the result is recorded, saving it a round trip.
    pub async fn finish_task(
        &self,
        agent: &FleetAgentRecord,
        id: &str,
        mut result: TaskResult,
    ) -> Result<FinishedTask, FleetError> {
        let next = result.next.take();
        let task = self.record_result(agent, id, result).await?;
        let Some(claim) = next else {
            return Ok(FinishedTask { task, next: None });
        };
        // The result is kept whatever the claim does: a claim that fails answers "no task",
        // and the agent's own claim that follows meets the failure (a 401 for a revoked agent).
        let next = match self
            .claim_task(agent, claim.wait_secs, &claim.executors)
            .await
        {
            Ok(next) => next,
            Err(e) => {
                tracing::info!(agent = %agent.id, error = %e, "the claim after a result failed");
                None
            }
        };
        Ok(FinishedTask {
            task,
            next: Some(ClaimResponse { task: next }),
        })
    }

    async fn record_result(
        &self,
        agent: &FleetAgentRecord,
        id: &str,
        result: TaskResult,
    ) -> Result<TaskView, FleetError> {
        let task_id: TaskId = id.parse().map_err(|_| IdentityError::NotFound)?;
        let to = if result.success {
            TaskStatus::Succeeded
        } else {
            TaskStatus::Failed
        };
        let log: Vec<String> = result
            .log
            .into_iter()
            .rev()
            .take(MAX_LOG_LINES)
            .rev()
            .map(|l| l.chars().take(MAX_LOG_LINE).collect())
            .collect();
        let mut stored = json!({"output": result.output, "log": log}).to_string();
        if stored.len() > MAX_OUTPUT {
            stored = json!({"output": "(output too large to keep)", "log": log}).to_string();
        }
        let error = result
            .error
            .filter(|_| !result.success)
            .map(|e| e.chars().take(MAX_LOG_LINE).collect::<String>());
        let now = self.clock.now();
        let moved = self
            .store
            .fleet
            .move_task(&TaskMove {
                org: agent.org_id,
                task: task_id,
                from: &["leased"],
                lease_agent: Some(agent.id),
                to: to.as_str(),
                at: now,
                result: Some(stored),
                error: error.clone(),
                run_after: None,
                event: self.task_event(
                    agent.org_id,
                    task_id,
                    (Some(TaskStatus::Leased), to),
                    Some(agent.id),
                    error.clone(),
                    now,
                ),
            })
            .await?;
        let Some(task) = moved else {
            // Not the agent's any more (404 if it never was a task of its organisation).
            self.own_task(agent.org_id, id).await?;
            return Err(FleetError::Conflict(
                "This task is no longer leased to this agent.".to_owned(),
            ));
        };
        self.fleet_audit(
            agent.org_id,
            agent_actor(agent.id),
            &format!("fleet.task.{}", to.as_str()),
            &task.id.to_string(),
            json!({"agent": agent.name, "error": error}),
        )
        .await?;
        Ok(view(&task))
    }

    /// Puts tasks whose lease ran out back in the queue (after a jittered backoff), or marks
    /// them dead when their attempts are used. Returns how many moved.
    pub async fn sweep_expired_leases(&self) -> Result<usize, FleetError> {
        let now = self.clock.now();
        let expired = self.store.fleet.expired_leases(now, 200).await?;
        let mut moved = 0;
        for task in expired {
            let attempts = u32::try_from(task.attempts).unwrap_or(u32::MAX);
            let dead = task.attempts >= task.max_attempts;
            let to = if dead {
                TaskStatus::Dead
            } else {
                TaskStatus::Queued
            };
            let base = retry_delay_secs(attempts) * 1000;
            let jitter = rand::thread_rng().gen_range(0..=base / 5);
            let error = format!(
                "The agent's lease ran out (attempt {} of {}).",
                task.attempts, task.max_attempts
            );
            let run_after = now + Duration::milliseconds(base + jitter);
            let changed = self
                .end_lease(
                    &task,
                    task.lease_agent,
                    to,
                    error.clone(),
                    Some(error),
                    run_after,
                )
                .await?;
            if changed.is_some() {
                moved += 1;
            }
        }
        Ok(moved)
    }

    /// Starts the worker that returns expired leases to the queue (every second).
    pub fn start_fleet(self: &std::sync::Arc<App>) {
        let app = self.clone();
        self.workers
            .spawn("fleet-leases", move |shutdown| async move {
                loop {
                    match app.sweep_expired_leases().await {
                        Ok(n) if n > 0 => app.fleet_waiters.wake_all(),
                        Ok(_) => {}
                        Err(e) => {
                            tracing::error!(error = %e, "returning expired task leases failed")
                        }
                    }
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                    }
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_as_risky_as_its_task_type_or_its_riskiest_step() {
        assert_eq!(tier_of_call(&json!({"type": "echo"})), Tier::T2);
        assert_eq!(tier_of_call(&json!({"type": "shell"})), Tier::T3);
        let steps = json!({"type": "composite", "payload": {"steps": [{"type": "http.check"}, {"type": "compose"}]}});
        assert_eq!(tier_of_call(&steps), Tier::T3);
        let reads = json!({"type": "composite", "payload": {"steps": [{"type": "file.read"}]}});
        assert_eq!(tier_of_call(&reads), Tier::T2);
        assert_eq!(tier_of_call(&json!({})), Tier::T2);
    }
}
