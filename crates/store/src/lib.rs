//! Switchboard's storage: one repository trait per aggregate, implemented for SQLite and for
//! PostgreSQL with concrete sqlx drivers, plus the embedded migrations for each.
//!
//! Depends on `domain` only. This crate owns all SQL: nothing above it writes a query. It
//! saves what it is given; ids, timestamps and hashes are made by the `app` layer.
//!
//! Layout: the trait and record types of each aggregate live in a file named after it
//! (`orgs.rs`, `secrets.rs`, ...). SQL that is the same on both databases lives once in
//! `sql/` as a macro instantiated by `sqlite/` and `postgres/`; SQL that must differ (queue
//! claims, full-text search) is written in those backend folders directly.

pub mod agents;
pub mod api_keys;
pub mod approvals;
pub mod audit;
pub mod auth_state;
pub mod conversations;
pub mod documents;
mod error;
pub mod fleet;
pub mod gateway;
pub mod invites;
pub mod memberships;
pub mod memory;
mod migrations;
pub mod orgs;
mod postgres;
pub mod projects;
pub mod runs;
pub mod secrets;
pub mod sessions;
mod sql;
mod sqlite;
pub mod tools;
pub mod users;
pub mod webhooks;
pub mod workspace;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use agents::{AgentRecord, AgentRepo};
pub use api_keys::{ApiKeyRecord, ApiKeyRepo};
pub use audit::{AuditFilter, AuditRecord, AuditRepo, ChainHead, LinkHasher};
pub use auth_state::{AuthStateRepo, SetupCodeRecord, SsoLoginRecord, SsoSignup};
pub use conversations::{ConversationRecord, ConversationRepo, MessageRecord};
pub use documents::{DocumentHit, DocumentQuery, DocumentRecord, DocumentRepo};
pub use error::StoreError;
pub use fleet::{
    FleetAgentRecord, FleetRepo, RegistrationTokenRecord, TaskEventRecord, TaskMove, TaskRecord,
    TaskTemplateRecord,
};
pub use gateway::{
    GatewayKeyRecord, GatewayKeyRepo, LlmSettingsRepo, OrgLlmSettings, OrgProviderRecord,
    UsageGroup, UsageQuery, UsageRecord, UsageRepo, UsageRow,
};
pub use invites::{InviteRecord, InviteRepo};
pub use memberships::{MembershipRecord, MembershipRepo, OwnerGuarded};
pub use memory::{MemoryHit, MemoryRecord, MemoryRepo};
pub use orgs::{OrgRecord, OrgRepo};
pub use projects::{MilestoneRecord, ProjectRecord, ProjectRepo};
pub use runs::{RunEventRecord, RunRecord, RunRepo};
pub use secrets::{SealedRecord, SecretRepo, WrappedKey};
pub use sessions::{Caller as SessionCaller, SessionRecord, SessionRepo};
pub use users::{UserRecord, UserRepo, UserStatus};
pub use workspace::{ActivityRecord, CommentRecord, ItemFilter, ItemRecord, WorkItemRepo};

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a `DATABASE_URL` names, or `None` for an unsupported scheme.
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How to open the database.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub url: String,
    /// Pool size (PostgreSQL) or reader pool size (SQLite; writes use one connection).
    pub max_connections: u32,
    /// How long to wait for a connection before giving up with a clear error.
    pub connect_timeout: Duration,
}

impl ConnectOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 8,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// What `migrate` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this call (empty when the database was already up to date).
    pub applied: Vec<i64>,
    /// Number of migrations embedded in this binary.
    pub known: usize,
}

/// Whether the database answers and carries every migration this binary knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readiness {
    pub reachable: bool,
    pub migrations_pending: usize,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.reachable && self.migrations_pending == 0
    }
}

/// Operations on the database itself, as opposed to an aggregate.
#[async_trait::async_trait]
pub trait Maintenance: Send + Sync {
    /// Applies pending migrations; safe to run any number of times.
    async fn migrate(&self) -> Result<MigrationReport, StoreError>;
    /// Checks the database answers and is fully migrated.
    async fn readiness(&self) -> Readiness;
    /// Closes every connection (graceful shutdown).
    async fn close(&self);
}

/// The repositories of one database, chosen at startup from the URL.
#[derive(Clone)]
pub struct Store {
    pub backend: Backend,
    pub maintenance: Arc<dyn Maintenance>,
    pub orgs: Arc<dyn OrgRepo>,
    pub users: Arc<dyn UserRepo>,
    pub memberships: Arc<dyn MembershipRepo>,
    pub secrets: Arc<dyn SecretRepo>,
    pub audit: Arc<dyn AuditRepo>,
    pub sessions: Arc<dyn SessionRepo>,
    pub api_keys: Arc<dyn ApiKeyRepo>,
    pub invites: Arc<dyn InviteRepo>,
    pub auth: Arc<dyn AuthStateRepo>,
    pub gateway_keys: Arc<dyn GatewayKeyRepo>,
    pub usage: Arc<dyn UsageRepo>,
    pub llm_settings: Arc<dyn LlmSettingsRepo>,
    pub tool_policy: Arc<dyn tools::ToolPolicyRepo>,
    pub approvals: Arc<dyn approvals::ApprovalRepo>,
    pub webhooks: Arc<dyn webhooks::WebhookRepo>,
    pub agents: Arc<dyn agents::AgentRepo>,
    pub conversations: Arc<dyn conversations::ConversationRepo>,
    pub runs: Arc<dyn runs::RunRepo>,
    pub items: Arc<dyn workspace::WorkItemRepo>,
    pub projects: Arc<dyn projects::ProjectRepo>,
    pub memory: Arc<dyn memory::MemoryRepo>,
    pub documents: Arc<dyn documents::DocumentRepo>,
    pub fleet: Arc<dyn fleet::FleetRepo>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects to the database named by `options.url` (`sqlite://...` or `postgres://...`).
    /// Does not migrate; call [`Store::migrate`].
    pub async fn connect(options: &ConnectOptions) -> Result<Store, StoreError> {
        match Backend::from_url(&options.url) {
            Some(Backend::Sqlite) => sqlite::connect(options).await,
            Some(Backend::Postgres) => postgres::connect(options).await,
            None => Err(StoreError::UnsupportedUrl),
        }
    }

    pub async fn migrate(&self) -> Result<MigrationReport, StoreError> {
        self.maintenance.migrate().await
    }

    pub async fn readiness(&self) -> Readiness {
        self.maintenance.readiness().await
    }

    pub async fn close(&self) {
        self.maintenance.close().await
    }
}

/// A database URL with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_are_chosen_by_scheme() {
        assert_eq!(
            Backend::from_url("sqlite://./data/x.db"),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::from_url("mysql://u@h/db"), None);
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://sb:hunter2@db:5432/sb"),
            "postgres://sb:***@db:5432/sb"
        );
        assert_eq!(redact_url("postgres://sb@db/sb"), "postgres://sb@db/sb");
        assert_eq!(
            redact_url("sqlite://./data/switchboard.db"),
            "sqlite://./data/switchboard.db"
        );
    }
}
