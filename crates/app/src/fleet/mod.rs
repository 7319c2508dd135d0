//! The fleet (DESIGN 4.9): servers' agents enrolled with registration tokens (`enrol.rs`),
//! seen by their heartbeats, cut off by revocation. Admins manage tokens and agents; the
//! agents speak the protocol of `switchboard_protocol` with their own credentials.

mod enrol;
mod tasks;
mod templates;
mod wake;

pub use enrol::{AgentView, NewToken, TokenView, DEFAULT_OFFLINE_AFTER_SECS};
/// A server agent as the store keeps it (what an authenticated agent request carries).
pub use switchboard_store::FleetAgentRecord as FleetAgent;
pub use tasks::{
    payload_problems, tier_of_call, FinishedTask, NewTask, QueueError, Target, TaskDetail,
    TaskEventView, TaskView, CLAIM_WAIT_CAP_SECS, LEASE_SECS,
};
pub use templates::{NewTemplate, TemplateView};
pub use wake::{ClaimWaiters, Registration};

use crate::identity::IdentityError;

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// Bad input; `field` names the offending field.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The agent's credentials (or the registration token) are not accepted.
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<switchboard_store::StoreError> for FleetError {
    fn from(e: switchboard_store::StoreError) -> Self {
        match e {
            switchboard_store::StoreError::NotFound => {
                FleetError::Identity(IdentityError::NotFound)
            }
            switchboard_store::StoreError::Conflict(what) => FleetError::Conflict(what),
            other => FleetError::Internal(other.to_string()),
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> FleetError {
    FleetError::Invalid {
        field,
        message: message.into(),
    }
}
