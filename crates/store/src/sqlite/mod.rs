//! SQLite backend: WAL mode, a busy timeout, one writer connection and a pool of readers.
//! A single writer serialises writes inside the process, so SQLite never answers "busy" to
//! one of our own writes; readers proceed in parallel under WAL.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::{ConnectOptions, MigrationReport, Readiness, Store, StoreError};

static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");

#[derive(Clone)]
pub(crate) struct SqliteDb {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteDb {
    pub(crate) fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    pub(crate) fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// The writer: SQLite's WAL with `synchronous = NORMAL` already returns before syncing.
    pub(crate) fn relaxed_writer(&self) -> &SqlitePool {
        &self.writer
    }
}

pub(crate) async fn connect(options: &ConnectOptions) -> Result<Store, StoreError> {
    let connect_error = |e: sqlx::Error| StoreError::Connect {
        url: crate::redact_url(&options.url),
        reason: e.to_string(),
    };
    let base = SqliteConnectOptions::from_str(&options.url)
        .map_err(connect_error)?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true);
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(options.connect_timeout)
        .connect_with(base.clone().create_if_missing(true))
        .await
        .map_err(connect_error)?;
    let reader = SqlitePoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .min_connections(0)
        .acquire_timeout(options.connect_timeout)
        .connect_with(base.read_only(true))
        .await
        .map_err(connect_error)?;
    let db = Arc::new(SqliteDb { writer, reader });
    Ok(Store {
        backend: crate::Backend::Sqlite,
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
        items: db.clone(),
        projects: db.clone(),
        memory: db.clone(),
        documents: db.clone(),
        fleet: db.clone(),
        conversations: db.clone(),
        runs: db,
    })
}

crate::sql::orgs::org_repo!(SqliteDb);
crate::sql::users::user_repo!(SqliteDb);
crate::sql::memberships::membership_repo!(SqliteDb);
crate::sql::secrets::secret_repo!(SqliteDb);
crate::sql::audit::audit_repo!(SqliteDb);
crate::sql::sessions::session_repo!(SqliteDb);
crate::sql::api_keys::api_key_repo!(SqliteDb);
crate::sql::invites::invite_repo!(SqliteDb);
crate::sql::auth_state::auth_state_repo!(SqliteDb);
crate::sql::gateway::gateway_repos!(SqliteDb);
crate::sql::tools::tool_policy_repo!(SqliteDb);
crate::sql::approvals::approval_repo!(SqliteDb);
crate::sql::webhooks::webhook_repo!(SqliteDb);
crate::sql::agents::agent_repo!(SqliteDb);
crate::sql::conversations::conversation_repo!(SqliteDb);
crate::sql::runs::run_repo!(SqliteDb);
crate::sql::workspace::work_item_repo!(SqliteDb);
crate::sql::projects::project_repo!(SqliteDb);
/// The task an agent would claim (see [`crate::FleetRepo::claim`]): looked for on a reader
/// first, so a claim that finds nothing never takes the write lock.
const CLAIM_CANDIDATE: &str = "SELECT t.id FROM tasks t WHERE t.org_id = $1 \
     AND t.status = 'queued' AND t.run_after <= $4 AND t.kind IN (SELECT value FROM json_each($6)) \
     AND (t.target_agent = $2 OR (t.target_agent IS NULL AND NOT EXISTS \
     (SELECT 1 FROM json_each(t.target_labels) s WHERE NOT EXISTS \
     (SELECT 1 FROM json_each($3) a WHERE a.key = s.key AND a.value = s.value)))) \
     ORDER BY t.priority DESC, t.run_after, t.id LIMIT 1";
crate::sql::fleet::fleet_repo!(
    SqliteDb,
    "BEGIN IMMEDIATE",
    format!(
        "UPDATE tasks SET status = 'leased', lease_agent = $2, lease_expires_at = $5, \
         attempts = attempts + 1, updated_at = $4 WHERE id = ({CLAIM_CANDIDATE}) \
         RETURNING {{columns}}"
    ),
    Some(CLAIM_CANDIDATE),
    false
);
crate::sql::documents::document_repo!(
    SqliteDb,
    "SELECT {columns}, -bm25(documents_fts, 4.0, 2.0, 1.0) AS score, \
     snippet(documents_fts, 2, '\u{27E6}', '\u{27E7}', ' … ', 24) AS snippet \
     FROM documents_fts JOIN documents d ON d.rowid = documents_fts.rowid \
     WHERE documents_fts MATCH $2 AND d.org_id = $1 \
     AND ($3 IS NULL OR d.tags LIKE $3 ESCAPE '\\') \
     ORDER BY score DESC, d.created_at DESC LIMIT {limit}",
    fts5_query
);
crate::sql::memory::memory_repo!(
    SqliteDb,
    "-bm25(memories_fts) AS score FROM memories_fts f JOIN memories m ON m.rowid = f.rowid \
     WHERE memories_fts MATCH $2 AND m.org_id = $1 AND m.scope_key IN ({scopes})",
    fts5_query
);

/// An FTS5 query matching any of the words (each quoted, so nothing is syntax).
fn fts5_query(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(" OR ")
}

impl SqliteDb {
    /// A batch of audit links under one `BEGIN IMMEDIATE`.
    async fn append_batch_locked(
        &self,
        records: Vec<crate::AuditRecord>,
        genesis: &[u8],
        hasher: &crate::audit::LinkHasher,
    ) -> Result<Vec<crate::AuditRecord>, StoreError> {
        use sqlx::Connection as _;
        let mut conn = self.writer.acquire().await.map_err(StoreError::from_sqlx)?;
        let mut tx = conn
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::from_sqlx)?;
        let (stored, _) =
            crate::sql::audit::append_batch_in_transaction!(tx, records, genesis, hasher);
        Ok(stored)
    }

    /// A batch of usage records with their audit events under one `BEGIN IMMEDIATE`.
    async fn record_calls_locked(
        &self,
        calls: Vec<(crate::UsageRecord, crate::AuditRecord)>,
        genesis: &[u8],
        hasher: &crate::audit::LinkHasher,
    ) -> Result<u64, StoreError> {
        use sqlx::Connection as _;
        let mut conn = self.writer.acquire().await.map_err(StoreError::from_sqlx)?;
        let mut tx = conn
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(crate::sql::gateway::record_calls_in_transaction!(tx, calls, genesis, hasher).0)
    }

    /// `BEGIN IMMEDIATE` takes SQLite's write lock up front, so no other writer (in this or
    /// another process) can append between reading the head and inserting.
    async fn append_locked(
        &self,
        record: crate::AuditRecord,
        genesis: &[u8],
        hasher: &crate::audit::LinkHasher,
    ) -> Result<crate::AuditRecord, StoreError> {
        use sqlx::Connection as _;
        let mut conn = self.writer.acquire().await.map_err(StoreError::from_sqlx)?;
        let mut tx = conn
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(crate::sql::audit::append_in_transaction!(
            tx, record, genesis, hasher
        ))
    }
}

#[async_trait::async_trait]
impl crate::Maintenance for SqliteDb {
    async fn migrate(&self) -> Result<MigrationReport, StoreError> {
        let mut conn = self.writer.acquire().await.map_err(StoreError::from_sqlx)?;
        crate::migrations::run::<sqlx::Sqlite>(&MIGRATOR, &mut conn).await
    }

    async fn readiness(&self) -> Readiness {
        let mut conn = self.reader.acquire().await.ok();
        crate::migrations::readiness::<sqlx::Sqlite>(&MIGRATOR, conn.as_deref_mut()).await
    }

    async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}
