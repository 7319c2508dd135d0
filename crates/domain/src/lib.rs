//! Switchboard's domain vocabulary: typed ids (UUIDv7), the [`Clock`], roles, organisation
//! states and the rules that are pure functions of them.
//!
//! This crate does no IO and depends on no other Switchboard crate. Everything above it
//! (`store`, `app`, `server`, `cli`) speaks in these types.

pub mod clock;
pub mod fleet;
pub mod ids;
pub mod org;
pub mod policy;
pub mod role;
pub mod run;
pub mod workspace;

pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use ids::{
    ActivityId, AgentId, ApiKeyId, ApprovalId, AuditEventId, CommentId, ConversationId, DeliveryId,
    DocumentId, FleetAgentId, GatewayKeyId, InviteId, ItemId, MemoryId, MessageId, MilestoneId,
    OrgId, ProjectId, RegistrationTokenId, RunId, SecretId, SessionId, TaskEventId, TaskId,
    TaskTemplateId, UsageId, UserId, WebhookId,
};
pub use org::{OrgStatus, Slug, SlugError, TransitionError};
pub use policy::{ApprovalStatus, Decision, Effect, OrgPolicy, Rule, Tier, ToolSettings};
pub use role::{Role, RoleParseError};
pub use run::RunStatus;
pub use workspace::{ItemKind, Priority};
