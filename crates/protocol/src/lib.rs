//! Wire types shared by the hub's agent protocol (`/api/v1/agent/...`) and
//! `switchboard-agent`.
//!
//! Serde types and pure checks only: this crate does no IO and depends on nothing else of ours, so the agent
//! binary stays small.
//!
//! The conversation: `POST /api/v1/agent/register` (a registration token → the agent's id
//! and secret), then, with the headers [`AGENT_ID_HEADER`] and [`AGENT_SECRET_HEADER`]:
//! `POST /api/v1/agent/heartbeat`, `POST /api/v1/agent/claim` (long-poll, at most one task
//! with a lease), `POST /api/v1/agent/tasks/{id}/lease` (extend), `…/events` (progress and
//! log lines) and `…/result`. A result may carry the agent's next claim ([`TaskResult::next`]):
//! the hub records the result first, then waits for the next task as a claim would, and answers
//! both in one round trip. [`payload`] holds the shape of each task type's payload.

pub mod payload;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The header carrying the agent's id.
pub const AGENT_ID_HEADER: &str = "x-switchboard-agent-id";
/// The header carrying the agent's secret.
pub const AGENT_SECRET_HEADER: &str = "x-switchboard-agent-secret";
/// The longest a claim waits for a task, in seconds.
pub const MAX_CLAIM_WAIT_SECS: u64 = 30;

/// Version of the agent protocol. The hub answers agents that speak a version it knows;
/// bump it when a message changes shape incompatibly.
pub const PROTOCOL_VERSION: u32 = 1;

/// What an agent says about itself on every request, so the hub can refuse versions it does
/// not understand with a clear error instead of a decode failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentIdentity {
    pub protocol_version: u32,
    pub agent_version: String,
}

impl AgentIdentity {
    pub fn current(agent_version: &str) -> Self {
        Self {
            protocol_version: PROTOCOL_VERSION,
            agent_version: agent_version.to_owned(),
        }
    }
}

/// `POST /api/v1/agent/register`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRequest {
    pub token: String,
    pub name: String,
    pub host: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub identity: AgentIdentity,
}

/// The answer to a registration: keep the secret (it is shown once).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    pub agent_id: String,
    pub secret: String,
    pub organization: String,
}

/// `POST /api/v1/agent/heartbeat`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub host: String,
    pub identity: AgentIdentity,
}

/// `POST /api/v1/agent/claim`: wait up to `wait_secs` (at most [`MAX_CLAIM_WAIT_SECS`]) for a
/// task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRequest {
    pub wait_secs: u64,
    /// The executors this agent has enabled (the hub offers only tasks it can run).
    #[serde(default)]
    pub executors: Vec<String>,
}

/// A leased task: run it, extend the lease while running, send the result before it ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeasedTask {
    pub id: String,
    /// The executor (`echo`, `shell`, …).
    #[serde(rename = "type")]
    pub kind: String,
    pub payload: serde_json::Value,
    pub attempt: u32,
    /// Seconds until the lease ends unless extended.
    pub lease_secs: u64,
}

/// The answer to a claim: a task, or none within the wait.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimResponse {
    pub task: Option<LeasedTask>,
}

/// `POST /api/v1/agent/tasks/{id}/events`: progress (0–100) and log lines.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskEvents {
    #[serde(default)]
    pub progress: Option<u8>,
    #[serde(default)]
    pub log: Vec<String>,
}

/// `POST /api/v1/agent/tasks/{id}/result`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    pub success: bool,
    /// Structured output of the executor.
    #[serde(default)]
    pub output: serde_json::Value,
    /// Why it failed (with `success: false`).
    #[serde(default)]
    pub error: Option<String>,
    /// The last lines of its log (truncated by the agent).
    #[serde(default)]
    pub log: Vec<String>,
    /// Claim the next task in the same request, once the result is recorded. The answer then
    /// carries `next` (a [`ClaimResponse`]); without it the answer has no `next`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<ClaimRequest>,
}

/// The answer to a result: the task as it now stands (`task`'s fields, flattened) and, when
/// the result asked for it, the next claim's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultResponse {
    /// The task's id and its status now.
    pub id: String,
    pub status: String,
    /// Present when the result carried `next`: a task leased to the agent, or none within the
    /// wait (then claim as usual).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<ClaimResponse>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_wire_shape_is_stable() {
        let json = serde_json::to_string(&AgentIdentity::current("0.1.0")).unwrap();
        assert_eq!(json, r#"{"protocol_version":1,"agent_version":"0.1.0"}"#);
    }

    #[test]
    fn a_leased_task_carries_its_type_under_that_name() {
        let task = LeasedTask {
            id: "t".into(),
            kind: "echo".into(),
            payload: serde_json::json!({"message": "hi"}),
            attempt: 1,
            lease_secs: 30,
        };
        let json = serde_json::to_value(&task).unwrap();
        assert_eq!(json["type"], "echo");
        let back: LeasedTask = serde_json::from_value(json).unwrap();
        assert_eq!(back, task);
        let result: TaskResult = serde_json::from_str(r#"{"success":true}"#).unwrap();
        assert!(result.success && result.log.is_empty() && result.error.is_none());
        assert!(result.next.is_none());
    }

    #[test]
    fn a_result_asks_for_the_next_task_only_when_told() {
        let mut result = TaskResult {
            success: true,
            output: serde_json::Value::Null,
            error: None,
            log: vec![],
            next: None,
        };
        let json = serde_json::to_value(&result).unwrap();
        assert!(json.get("next").is_none(), "{json}");
        result.next = Some(ClaimRequest {
            wait_secs: 5,
            executors: vec!["echo".into()],
        });
        let json = serde_json::to_value(&result).unwrap();
        assert_eq!(json["next"]["wait_secs"], 5);
        let answer: ResultResponse = serde_json::from_str(
            r#"{"id":"t","status":"succeeded","attempts":1,"next":{"task":null}}"#,
        )
        .unwrap();
        assert_eq!(answer.next, Some(ClaimResponse { task: None }));
        let answer: ResultResponse =
            serde_json::from_str(r#"{"id":"t","status":"succeeded"}"#).unwrap();
        assert_eq!(answer.next, None);
    }
}
