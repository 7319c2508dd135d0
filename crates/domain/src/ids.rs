//! Typed identifiers. Every id is a UUIDv7 whose time part comes from the [`Clock`], so ids
//! sort by creation time in both databases and tests with a fixed clock stay ordered.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clock::Clock;

/// Makes a UUIDv7 stamped with the clock's current time (random low bits).
pub fn new_v7(clock: &dyn Clock) -> Uuid {
    let now = clock.now();
    let secs = u64::try_from(now.timestamp()).unwrap_or(0);
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, secs, now.timestamp_subsec_nanos());
    Uuid::new_v7(ts)
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new id, time-ordered by the given clock.
            pub fn generate(clock: &dyn Clock) -> Self {
                Self(new_v7(clock))
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

typed_id!(
    /// An organisation (tenant).
    OrgId
);
impl OrgId {
    /// The installation-wide audit chain (events that belong to no organisation, such as a
    /// failed login for an unknown email).
    pub const PLATFORM: OrgId = OrgId(Uuid::nil());
}

typed_id!(
    /// A person who can sign in.
    UserId
);
typed_id!(
    /// A browser session.
    SessionId
);
typed_id!(
    /// An API key (`sb_...`).
    ApiKeyId
);
typed_id!(
    /// One event in an organisation's audit chain.
    AuditEventId
);
typed_id!(
    /// A sealed (encrypted) secret value.
    SecretId
);
typed_id!(
    /// An invitation to join an organisation.
    InviteId
);
typed_id!(
    /// A virtual key of the AI gateway (`sbk_...`).
    GatewayKeyId
);
typed_id!(
    /// One recorded model call.
    UsageId
);
typed_id!(
    /// A request for a human to approve one tool call.
    ApprovalId
);
typed_id!(
    /// An organisation's outbound webhook.
    WebhookId
);
typed_id!(
    /// One event to deliver to one webhook.
    DeliveryId
);
typed_id!(
    /// A conversation with the assistant.
    ConversationId
);
typed_id!(
    /// One message of a conversation (a user turn, an assistant turn, a tool result).
    MessageId
);
typed_id!(
    /// One run of the assistant: answering one user message, tool calls included.
    RunId
);
typed_id!(
    /// An organisation's own agent (AI persona).
    AgentId
);
typed_id!(
    /// A request or a ticket of an organisation's workspace.
    ItemId
);
typed_id!(
    /// A comment on a request or ticket.
    CommentId
);
typed_id!(
    /// One entry of the workspace's activity log.
    ActivityId
);
typed_id!(
    /// A project of an organisation's workspace.
    ProjectId
);
typed_id!(
    /// A milestone of a project.
    MilestoneId
);
typed_id!(
    /// A fact the assistant remembers.
    MemoryId
);
typed_id!(
    /// A document in an organisation's library.
    DocumentId
);
typed_id!(
    /// A token that enrols servers' agents into an organisation's fleet.
    RegistrationTokenId
);
typed_id!(
    /// A server agent of an organisation's fleet (not an AI agent: see [`AgentId`]).
    FleetAgentId
);
typed_id!(
    /// A task for the fleet.
    TaskId
);
typed_id!(
    /// One entry of a task's history.
    TaskEventId
);
typed_id!(
    /// A saved fleet task (type, payload and target) to run again from the console.
    TaskTemplateId
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use chrono::{Duration, TimeZone, Utc};

    #[test]
    fn ids_are_v7_and_ordered_by_clock_time() {
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap());
        let first = OrgId::generate(&clock);
        clock.advance(Duration::milliseconds(5));
        let second = OrgId::generate(&clock);
        assert_eq!(first.0.get_version_num(), 7);
        assert!(first < second, "later ids sort after earlier ones");
        let (secs, _) = first.0.get_timestamp().unwrap().to_unix();
        assert_eq!(secs, 1_777_593_600);
    }

    #[test]
    fn ids_round_trip_through_text() {
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap());
        let id = UserId::generate(&clock);
        assert_eq!(id.to_string().parse::<UserId>().unwrap(), id);
        assert!("not-a-uuid".parse::<UserId>().is_err());
    }
}
