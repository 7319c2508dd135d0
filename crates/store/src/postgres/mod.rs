//! PostgreSQL backend: one pool shared by reads and writes. Used when `DATABASE_URL` is a
//! `postgres://` URL; several hub replicas can share one database.

use std::str::FromStr;
use std::sync::Arc;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::Connection as _;

use crate::{ConnectOptions, MigrationReport, Readiness, Store, StoreError};

static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/postgres");

#[derive(Clone)]
pub(crate) struct PgDb {
    pool: PgPool,
    /// Connections with `synchronous_commit = off`: a commit returns before its WAL is
    /// flushed. For the many small writes of a run in progress (events, messages,
    /// checkpoints); the next synchronous commit (any other write) flushes them too.
    relaxed: PgPool,
}

impl PgDb {
    pub(crate) fn writer(&self) -> &PgPool {
        &self.pool
    }

    /// See [`PgDb::relaxed`]: for writes a later durable write makes durable.
    pub(crate) fn relaxed_writer(&self) -> &PgPool {
        &self.relaxed
    }

    pub(crate) fn reader(&self) -> &PgPool {
        &self.pool
    }
}

/// A connection is checked with a ping only when it sat idle for a while: one the pool used
/// moments ago is alive or fails its next query (and is dropped), while a ping before every
/// statement doubled the round trips of a busy hub.
fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > std::time::Duration::from_secs(10) {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

pub(crate) async fn connect(options: &ConnectOptions) -> Result<Store, StoreError> {
    let connect_error = |e: sqlx::Error| StoreError::Connect {
        url: crate::redact_url(&options.url),
        reason: e.to_string(),
    };
    let connect_options = PgConnectOptions::from_str(&options.url)
        .map_err(connect_error)?
        .application_name("switchboard");
    // One direct connection first: a pool that cannot connect only reports a timeout, while
    // this reports the cause ("connection refused", "password authentication failed").
    let probe = tokio::time::timeout(
        options.connect_timeout,
        PgConnection::connect_with(&connect_options),
    )
    .await
    .map_err(|_| StoreError::Connect {
        url: crate::redact_url(&options.url),
        reason: format!("no answer within {} s", options.connect_timeout.as_secs()),
    })?
    .map_err(connect_error)?;
    let _ = probe.close().await;
    let relaxed = pool_options()
        .max_connections((options.max_connections / 2).max(2))
        .min_connections(0)
        .acquire_timeout(options.connect_timeout)
        .connect_lazy_with(
            connect_options
                .clone()
                .options([("synchronous_commit", "off")]),
        );
    let pool = pool_options()
        .max_connections(options.max_connections.max(1))
        .acquire_timeout(options.connect_timeout)
        .connect_with(connect_options)
        .await
        .map_err(connect_error)?;
    let db = Arc::new(PgDb { pool, relaxed });
    Ok(Store {
        backend: crate::Backend::Postgres,
        maintenance: db.clone(),
        orgs: db.clone(),
        users: db.clone(),
        memberships: db.clone(),
        secrets: db.clone(),
        audit: db.clone(),
        sessions: db.clone(),
        api_keys: db.clone(),
        invites: db.clone(),
        auth: db.clone(),
        gateway_keys: db.clone(),
        usage: db.clone(),
        llm_settings: db.clone(),
        tool_policy: db.clone(),
        approvals: db.clone(),
        webhooks: db.clone(),
        agents: db.clone(),
        conversations: db.clone(),
        runs: db,
    })
}

crate::sql::orgs::org_repo!(PgDb);
crate::sql::users::user_repo!(PgDb);
crate::sql::memberships::membership_repo!(PgDb);
crate::sql::secrets::secret_repo!(PgDb);
crate::sql::audit::audit_repo!(PgDb);
crate::sql::sessions::session_repo!(PgDb);
crate::sql::api_keys::api_key_repo!(PgDb);
crate::sql::invites::invite_repo!(PgDb);
crate::sql::auth_state::auth_state_repo!(PgDb);
crate::sql::gateway::gateway_repos!(PgDb);
crate::sql::tools::tool_policy_repo!(PgDb);
crate::sql::approvals::approval_repo!(PgDb);
crate::sql::webhooks::webhook_repo!(PgDb);
crate::sql::agents::agent_repo!(PgDb);
crate::sql::conversations::conversation_repo!(PgDb);
crate::sql::runs::run_repo!(PgDb);

impl PgDb {
    /// A batch of usage records with their audit events in one transaction, holding the audit
    /// chain lock of every organisation in the batch (taken in a fixed order, so two batches
    /// cannot deadlock).
    async fn record_calls_locked(
        &self,
        calls: Vec<(crate::UsageRecord, crate::AuditRecord)>,
        genesis: &[u8],
        hasher: &crate::audit::LinkHasher,
    ) -> Result<u64, StoreError> {
        let mut orgs: Vec<String> = calls.iter().map(|(_, e)| e.org_id.to_string()).collect();
        orgs.sort();
        orgs.dedup();
        let mut tx = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
        for org in orgs {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7301))")
                .bind(format!("audit:{org}"))
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?;
        }
        Ok(crate::sql::gateway::record_calls_in_transaction!(
            tx, calls, genesis, hasher
        ))
    }

    /// A transaction-scoped advisory lock per organisation serialises appends to one chain
    /// across every replica; other chains proceed in parallel.
    async fn append_locked(
        &self,
        record: crate::AuditRecord,
        genesis: &[u8],
        hasher: &crate::audit::LinkHasher,
    ) -> Result<crate::AuditRecord, StoreError> {
        let mut tx = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7301))")
            .bind(format!("audit:{}", record.org_id))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(crate::sql::audit::append_in_transaction!(
            tx, record, genesis, hasher
        ))
    }
}

#[async_trait::async_trait]
impl crate::Maintenance for PgDb {
    async fn migrate(&self) -> Result<MigrationReport, StoreError> {
        crate::migrations::run(&MIGRATOR, &self.pool).await
    }

    async fn readiness(&self) -> Readiness {
        crate::migrations::readiness(&MIGRATOR, &self.pool).await
    }

    async fn close(&self) {
        self.relaxed.close().await;
        self.pool.close().await;
    }
}
