//! Switchboard's application services: the rules of the product.
//!
//! Depends on `domain`, `store`, `guard` and `llm`. Handlers in `server` call exactly one
//! service here per request; services decide policy, generate ids, timestamps and hashes, and
//! talk to repositories. Nothing in this crate knows about HTTP.
//!
//! Rooms: `audit` (the hash-chained audit log), `secrets` (sealing and master keys),
//! `identity` (tenancy, sign-in, keys), `gateway` (the OpenAI-compatible AI gateway: virtual
//! keys, limits, budgets, guard, accounting), `mail` (outgoing SMTP), `health` (readiness), `workers` (the supervisor that owns every background task), `tools` (the registry, policy
//! and approvals), `notify` (webhooks) and `runtime` (agents, conversations, runs). `workspace` holds the business data and `fleet` the servers' agents and their tasks.

pub mod audit;
pub mod cache;
pub mod fleet;
pub mod gateway;
pub mod health;
pub mod identity;
pub mod mail;
pub mod memory;
pub mod net;
pub mod notify;
pub mod runtime;
pub mod secrets;
pub mod tools;
pub mod workers;
pub mod workspace;

use std::sync::Arc;

use switchboard_domain::Clock;
use switchboard_store::Store;

pub use secrets::Secrets;
pub use workers::Supervisor;

/// Everything the services need, built once at startup by the `cli` wiring.
#[derive(Clone, Debug)]
pub struct App {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub secrets: Secrets,
    pub audit: audit::Audit,
    pub identity: identity::Identity,
    pub gateway: gateway::Gateway,
    pub workers: Supervisor,
    /// Every tool (DESIGN 4.2); calls go through [`App::invoke_tool`].
    pub tools: std::sync::Arc<tools::Registry>,
    /// How long an approval request waits for a decision.
    pub approval_ttl: chrono::Duration,
    /// Wakes the approvals worker when a request is decided in this process.
    pub approvals_wake: std::sync::Arc<tokio::sync::Notify>,
    /// Loopback or private hosts webhooks may still call (the operator's allowlist).
    pub webhook_allow_hosts: Vec<String>,
    /// Wakes the webhook worker when deliveries are queued in this process.
    pub notify_wake: std::sync::Arc<tokio::sync::Notify>,
    /// Every run event stored in this process, handed to its followers at once (followers
    /// in other processes read the database).
    pub run_events: std::sync::Arc<tokio::sync::broadcast::Sender<runtime::Published>>,
    /// Wakes the runs worker when an approval is settled in this process.
    pub runs_wake: std::sync::Arc<tokio::sync::Notify>,
    /// The largest document upload, in bytes.
    pub document_max_bytes: usize,
    /// A server agent silent for longer than this is offline.
    pub fleet_offline_after: chrono::Duration,
    /// How long a task's lease lasts unless its agent extends it, in seconds.
    pub fleet_lease_secs: i64,
    /// The task claims waiting in this process, woken one per task queued here.
    pub fleet_waiters: std::sync::Arc<fleet::ClaimWaiters>,
    /// Server agents' credentials as last read, with their organisation's status.
    pub(crate) agent_credentials: std::sync::Arc<
        cache::TtlCache<
            switchboard_domain::FleetAgentId,
            (switchboard_store::FleetAgentRecord, String),
        >,
    >,
    /// Organisations' tool policies as last read.
    pub(crate) tool_policies:
        std::sync::Arc<cache::TtlCache<switchboard_domain::OrgId, switchboard_domain::OrgPolicy>>,
    /// Cancelled when the hub begins to stop ([`App::begin_stop`]): requests that would wait
    /// for something to happen — an agent's claim, a run's event stream — answer at once, so
    /// the in-flight requests a stop waits for are only those doing work.
    pub stopping: tokio_util::sync::CancellationToken,
    pub version: &'static str,
}

impl App {
    pub fn new(store: Store, clock: Arc<dyn Clock>, keyring: secrets::Keyring) -> App {
        let secrets = Secrets::new(store.clone(), clock.clone(), keyring);
        let audit = audit::Audit::new(store.clone(), clock.clone());
        let identity =
            identity::Identity::new(store.clone(), clock.clone(), secrets.clone(), audit.clone());
        let gateway = gateway::Gateway::new(
            store.clone(),
            clock.clone(),
            secrets.clone(),
            audit.clone(),
            switchboard_llm::catalog::Catalog::default(),
            gateway::GatewayOptions::default(),
        );
        App {
            identity,
            gateway,
            store,
            clock,
            secrets,
            audit,
            workers: Supervisor::new(),
            tools: std::sync::Arc::new(tools::Registry::default()),
            approval_ttl: tools::approvals::DEFAULT_TTL,
            approvals_wake: std::sync::Arc::new(tokio::sync::Notify::new()),
            webhook_allow_hosts: Vec::new(),
            notify_wake: std::sync::Arc::new(tokio::sync::Notify::new()),
            run_events: std::sync::Arc::new(tokio::sync::broadcast::channel(1024).0),
            runs_wake: std::sync::Arc::new(tokio::sync::Notify::new()),
            document_max_bytes: workspace::DEFAULT_DOCUMENT_MAX_BYTES,
            fleet_offline_after: chrono::Duration::seconds(fleet::DEFAULT_OFFLINE_AFTER_SECS),
            fleet_lease_secs: fleet::LEASE_SECS,
            fleet_waiters: std::sync::Arc::default(),
            agent_credentials: std::sync::Arc::default(),
            tool_policies: std::sync::Arc::default(),
            stopping: tokio_util::sync::CancellationToken::new(),
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    /// The hub is stopping: a waiting claim answers "no task" (the agent asks again, of this
    /// hub once it is back or of another replica) and a run's event stream ends (the client
    /// reconnects with `Last-Event-ID`). Requests that do work finish as usual.
    pub fn begin_stop(&self) {
        self.stopping.cancel();
    }

    /// Sets the single sign-on providers from the configuration.
    pub fn with_sso(
        mut self,
        providers: Vec<identity::sso::SsoProvider>,
    ) -> Result<App, identity::sso::ProviderError> {
        self.identity = self.identity.with_sso(providers)?;
        Ok(self)
    }

    /// Sets the installation's model providers and gateway options (replaces the gateway;
    /// call before [`App::start_accounting`]).
    pub fn with_llm(
        mut self,
        catalog: switchboard_llm::catalog::Catalog,
        options: gateway::GatewayOptions,
    ) -> App {
        self.gateway = gateway::Gateway::new(
            self.store.clone(),
            self.clock.clone(),
            self.secrets.clone(),
            self.audit.clone(),
            catalog,
            options,
        );
        self
    }

    /// Starts the writers under the supervisor (each drained on shutdown): audit events in
    /// group commits, and gateway usage records.
    pub fn start_accounting(&self) {
        self.audit.start_writer(&self.workers);
        if let Some(writer) = self.gateway.accounting() {
            self.workers
                .spawn("usage-writer", move |shutdown| writer.run(shutdown));
        }
    }

    /// Sets how long approval requests wait for a decision (default one hour).
    pub fn with_approval_ttl(mut self, ttl: chrono::Duration) -> App {
        self.approval_ttl = ttl;
        self
    }

    /// Sets when a silent agent counts as offline (default 90 s) and how long a task's
    /// lease lasts unless extended (default 30 s; agents extend at a third of it).
    pub fn with_fleet_timing(mut self, offline_after_secs: i64, lease_secs: i64) -> App {
        self.fleet_offline_after = chrono::Duration::seconds(offline_after_secs);
        self.fleet_lease_secs = lease_secs;
        self
    }

    /// Sets the largest document upload (default 20 MiB).
    pub fn with_document_max_bytes(mut self, bytes: usize) -> App {
        self.document_max_bytes = bytes;
        self
    }

    /// Lets webhooks call these loopback or private hosts (e.g. an internal chat server).
    pub fn with_webhook_allow_hosts(mut self, hosts: Vec<String>) -> App {
        self.webhook_allow_hosts = hosts;
        self
    }

    /// Sends invites (and later notifications) by email.
    pub fn with_mail(mut self, mail: identity::OutgoingMail) -> App {
        self.identity = self.identity.with_mail(mail);
        self
    }

    pub async fn overview(&self) -> health::SystemOverview {
        health::overview(&self.store, self.version).await
    }

    pub async fn readiness(&self) -> health::ReadinessReport {
        health::readiness(&self.store).await
    }
}

/// The stored records services return, re-exported so the HTTP layer needs no `store`
/// dependency.
pub mod records {
    pub use switchboard_store::{
        ApiKeyRecord, AuditFilter, AuditRecord, GatewayKeyRecord, InviteRecord, OrgRecord,
        UsageGroup, UsageRow, UserRecord,
    };
}
