//! The hub's agent protocol over HTTP (blocking, `ureq`): every request carries the agent's
//! id and secret; errors say whether trying again can help.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use switchboard_protocol::{
    ClaimRequest, ClaimResponse, Heartbeat, LeasedTask, RegisterRequest, Registered,
    ResultResponse, TaskEvents, TaskResult, AGENT_ID_HEADER, AGENT_SECRET_HEADER,
};

use crate::state::State;

#[derive(Debug)]
pub enum HubError {
    /// The hub refused for good (401: revoked or unknown; 409: the task is not ours).
    Refused(u16, String),
    /// The hub could not be reached or failed; try again later.
    Unavailable(String),
}

impl std::fmt::Display for HubError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HubError::Refused(status, why) => write!(f, "the hub refused ({status}): {why}"),
            HubError::Unavailable(why) => write!(f, "the hub is not reachable: {why}"),
        }
    }
}

#[derive(Clone)]
pub struct Hub {
    agent: ureq::Agent,
    base: String,
    id: String,
    secret: String,
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(10))
        .timeout(timeout)
        .build()
}

fn failed(e: ureq::Error) -> HubError {
    match e {
        ureq::Error::Status(status, response) if status < 500 && status != 429 => {
            let body: serde_json::Value = response.into_json().unwrap_or_default();
            let message = body["error"]["message"]
                .as_str()
                .unwrap_or("refused")
                .to_owned();
            HubError::Refused(status, message)
        }
        ureq::Error::Status(status, _) => HubError::Unavailable(format!("status {status}")),
        ureq::Error::Transport(t) => HubError::Unavailable(t.to_string()),
    }
}

/// Registers with a token; no credentials yet.
pub fn register(hub: &str, request: &RegisterRequest) -> Result<Registered, HubError> {
    let url = format!("{}/api/v1/agent/register", hub.trim_end_matches('/'));
    agent(Duration::from_secs(30))
        .post(&url)
        .send_json(request)
        .map_err(failed)?
        .into_json()
        .map_err(|e| HubError::Unavailable(e.to_string()))
}

impl Hub {
    pub fn new(state: &State) -> Hub {
        Hub {
            // Long enough for a long-polled claim.
            agent: agent(Duration::from_secs(45)),
            base: state.hub.trim_end_matches('/').to_owned(),
            id: state.agent_id.clone(),
            secret: state.secret.clone(),
        }
    }

    fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<Option<R>, HubError> {
        let response = self
            .agent
            .post(&format!("{}{path}", self.base))
            .set(AGENT_ID_HEADER, &self.id)
            .set(AGENT_SECRET_HEADER, &self.secret)
            .send_json(body)
            .map_err(failed)?;
        if response.status() == 204 {
            return Ok(None);
        }
        response
            .into_json()
            .map(Some)
            .map_err(|e| HubError::Unavailable(e.to_string()))
    }

    pub fn heartbeat(&self, beat: &Heartbeat) -> Result<(), HubError> {
        self.post::<_, serde_json::Value>("/api/v1/agent/heartbeat", beat)
            .map(|_| ())
    }

    pub fn claim(&self, request: &ClaimRequest) -> Result<Option<LeasedTask>, HubError> {
        Ok(self
            .post::<_, ClaimResponse>("/api/v1/agent/claim", request)?
            .and_then(|r| r.task))
    }

    pub fn extend(&self, task: &str) -> Result<(), HubError> {
        self.post::<_, serde_json::Value>(
            &format!("/api/v1/agent/tasks/{task}/lease"),
            &serde_json::json!({}),
        )
        .map(|_| ())
    }

    pub fn events(&self, task: &str, events: &TaskEvents) -> Result<(), HubError> {
        self.post::<_, serde_json::Value>(&format!("/api/v1/agent/tasks/{task}/events"), events)
            .map(|_| ())
    }

    /// Sends a result; with `result.next`, the next task leased to this agent (if one came
    /// within the wait).
    pub fn result(&self, task: &str, result: &TaskResult) -> Result<Option<LeasedTask>, HubError> {
        Ok(self
            .post::<_, ResultResponse>(&format!("/api/v1/agent/tasks/{task}/result"), result)?
            .and_then(|r| r.next)
            .and_then(|n| n.task))
    }
}
