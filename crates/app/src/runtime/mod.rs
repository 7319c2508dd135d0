//! The assistant runtime (DESIGN 4.4): conversations, and runs that answer a message by
//! calling the model and the governed tools in a loop. A run is persisted at every step —
//! its state, the conversation's messages and every event the client sees — so a run that
//! waits for an approval holds nothing in memory: when the request is settled, whichever
//! hub process claims it first resumes it (`resume.rs`).
//!
//! Rooms: `agents` (system and organisation agents, skills), `transcript` (stored turns and
//! the model's view of them), `events` (the run's event stream and its followers),
//! `run_loop` (one run, step by step), `conversations` (the person's conversations and the
//! message that starts a run), `resume` (the worker that resumes and cleans up runs).

pub mod agents;
mod conversations;
pub mod events;
mod resume;
mod run_loop;
pub mod transcript;

use serde::Serialize;

use crate::identity::IdentityError;

pub use agents::{Agent, AgentInput, Skill};
pub use conversations::{ConversationView, MessageView, RunView};
pub use events::{Followed, Published, RunEvent, RunFollower};

/// Why a runtime request could not be done.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// Bad input; `field` names the offending field.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<switchboard_store::StoreError> for RuntimeError {
    fn from(e: switchboard_store::StoreError) -> Self {
        match e {
            switchboard_store::StoreError::NotFound => {
                RuntimeError::Identity(IdentityError::NotFound)
            }
            other => RuntimeError::Internal(other.to_string()),
        }
    }
}

/// How a run ended or paused, as the `done` event reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Done {
    pub run_id: String,
    pub status: String,
}

/// Tool names travel to providers with `.` written as `__` (neither wire format allows dots).
pub(crate) fn wire_name(tool: &str) -> String {
    tool.replace('.', "__")
}

pub(crate) fn tool_name(wire: &str) -> String {
    wire.replace("__", ".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_survive_the_wire() {
        for name in [
            "audit.search",
            "workspace.list_tickets",
            "delegate_to_systems",
        ] {
            let wire = wire_name(name);
            assert!(wire
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
            assert_eq!(tool_name(&wire), name);
        }
    }
}
