//! Wire types shared by the hub's agent protocol (`/api/v1/agent/...`) and
//! `switchboard-agent`.
//!
//! Serde types only: this crate does no IO and depends on nothing else of ours, so the agent
//! binary stays small. The fleet capability fills in the message types.

use serde::{Deserialize, Serialize};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_wire_shape_is_stable() {
        let json = serde_json::to_string(&AgentIdentity::current("0.1.0")).unwrap();
        assert_eq!(json, r#"{"protocol_version":1,"agent_version":"0.1.0"}"#);
    }
}
