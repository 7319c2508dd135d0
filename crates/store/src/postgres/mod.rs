//! PostgreSQL backend: one pool shared by reads and writes (and a smaller one for writes
//! that need not wait for their WAL flush), each behind [`connections::Connections`]. Used
//! when `DATABASE_URL` is a `postgres://` URL; several hub replicas can share one database.

mod connections;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::Connection as _;

use crate::{ConnectOptions, MigrationReport, Readiness, Store, StoreError};
use connections::Connections;

static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/postgres");

/// Audit chain heads by organisation: (seq, hash).
type Heads = std::collections::HashMap<uuid::Uuid, (i64, Vec<u8>)>;

#[derive(Clone)]
pub(crate) struct PgDb {
    pool: Connections,
    /// Connections with `synchronous_commit = off`: a commit returns before its WAL is
    /// flushed. For the many small writes of a run in progress (events, messages,
    /// checkpoints); the next synchronous commit (any other write) flushes them too.
    relaxed: Connections,
    /// The last link this process wrote to each organisation's audit chain: an append tries
    /// the next seq straight away, and reads the head only when another process (or a purge)
    /// moved it (see `append_locked`).
    heads: Arc<std::sync::Mutex<Heads>>,
}

impl PgDb {
    pub(crate) fn writer(&self) -> &Connections {
        &self.pool
    }

    /// See [`PgDb::relaxed`]: for writes a later durable write makes durable.
    pub(crate) fn relaxed_writer(&self) -> &Connections {
        &self.relaxed
    }

    pub(crate) fn reader(&self) -> &Connections {
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
    let relaxed_max = (options.max_connections / 2).max(2);
    let relaxed = pool_options()
        .max_connections(relaxed_max)
        .min_connections(0)
        .acquire_timeout(options.connect_timeout)
        .connect_lazy_with(
            connect_options
                .clone()
                .options([("synchronous_commit", "off")]),
        );
    let max = options.max_connections.max(1);
    let pool = pool_options()
        .max_connections(max)
        .acquire_timeout(options.connect_timeout)
        .connect_with(connect_options)
        .await
        .map_err(connect_error)?;
    let db = Arc::new(PgDb {
        pool: Connections::new(pool, max, options.connect_timeout),
        relaxed: Connections::new(relaxed, relaxed_max, options.connect_timeout),
        heads: Arc::default(),
    });
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
        items: db.clone(),
        projects: db.clone(),
        memory: db.clone(),
        documents: db.clone(),
        fleet: db.clone(),
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
crate::sql::workspace::work_item_repo!(PgDb);
crate::sql::projects::project_repo!(PgDb);
crate::sql::fleet::fleet_repo!(
    PgDb,
    "BEGIN",
    "UPDATE tasks SET status = 'leased', lease_agent = $2, lease_expires_at = $5, \
     attempts = attempts + 1, updated_at = $4 \
     WHERE id = (SELECT t.id FROM tasks t WHERE t.org_id = $1 AND t.status = 'queued' \
     AND t.run_after <= $4 AND $6::jsonb ? t.kind AND (t.target_agent = $2 \
     OR (t.target_agent IS NULL AND t.target_labels::jsonb <@ $3::jsonb)) \
     ORDER BY t.priority DESC, t.run_after, t.id LIMIT 1 FOR UPDATE SKIP LOCKED) \
     RETURNING {columns}",
    None::<&str>,
    true
);
crate::sql::documents::document_repo!(
    PgDb,
    "WITH hits AS (SELECT d.id, ts_rank(d.search, to_tsquery('english', $2), 1)::float8 AS score \
     FROM documents d WHERE d.org_id = $1 AND d.search @@ to_tsquery('english', $2) \
     AND ($3::text IS NULL OR d.tags LIKE $3 ESCAPE '\\') \
     ORDER BY score DESC, d.created_at DESC LIMIT {limit}) \
     SELECT {columns}, h.score, ts_headline('english', d.body, to_tsquery('english', $2), \
     'StartSel=\u{27E6}, StopSel=\u{27E7}, MaxWords=30, MinWords=12, MaxFragments=2, \
     FragmentDelimiter=\" … \"') AS snippet \
     FROM hits h JOIN documents d ON d.id = h.id ORDER BY h.score DESC, d.created_at DESC",
    tsquery
);
crate::sql::memory::memory_repo!(
    PgDb,
    "ts_rank(m.search, to_tsquery('english', $2))::float8 AS score FROM memories m \
     WHERE m.search @@ to_tsquery('english', $2) AND m.org_id = $1 AND m.scope_key IN ({scopes})",
    tsquery
);

/// A `to_tsquery` matching any of the words (letters and digits only, so nothing is syntax).
fn tsquery(words: &[String]) -> String {
    words.join(" | ")
}

/// Runs `$body` (which ends by committing `$tx` and evaluates to `(value, heads)`) in a
/// transaction holding the advisory lock of each organisation's audit chain in `$orgs`,
/// taken in one order so two writers never deadlock; retried when an optimistic single
/// append (see `append_locked`) got in first. Remembers the new heads; evaluates to the value.
macro_rules! under_chain_locks {
    ($self:ident, $orgs:expr, $tx:ident => $body:expr) => {{
        let mut orgs: Vec<String> = $orgs.map(|o| o.to_string()).collect();
        orgs.sort();
        orgs.dedup();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = async {
                let mut $tx = $self.pool.begin().await.map_err(StoreError::from_sqlx)?;
                for org in &orgs {
                    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7301))")
                        .bind(format!("audit:{org}"))
                        .execute(&mut *$tx)
                        .await
                        .map_err(StoreError::from_sqlx)?;
                }
                Ok($body)
            }
            .await;
            match result {
                Err(StoreError::Conflict(_)) if attempt < 10 => continue,
                Ok((value, heads)) => {
                    let mut known = $self.heads();
                    for (org, (seq, hash)) in heads {
                        if known.get(&org).is_none_or(|(s, _)| *s < seq) {
                            known.insert(org, (seq, hash));
                        }
                    }
                    break Ok(value);
                }
                Err(e) => break Err(e),
            }
        }
    }};
}

impl PgDb {
    /// A batch of usage records with their audit events in one transaction, holding the audit
    /// chain lock of every organisation in the batch (taken in a fixed order, so two batches
    /// cannot deadlock); tried again at once when a lock-free single append took a seq first.
    async fn record_calls_locked(
        &self,
        calls: Vec<(crate::UsageRecord, crate::AuditRecord)>,
        genesis: &[u8],
        hasher: &crate::audit::LinkHasher,
    ) -> Result<u64, StoreError> {
        let orgs = calls.iter().map(|(_, e)| e.org_id);
        under_chain_locks!(self, orgs, tx => {
            let calls = calls.clone();
            crate::sql::gateway::record_calls_in_transaction!(tx, calls, genesis, hasher)
        })
    }

    /// A batch of links. First optimistically, like a single append: when this process
    /// knows the head of every chain in the batch (it wrote the last link), the batch is
    /// linked to those heads and inserted by one statement — atomic on its own, and refused
    /// whole by `UNIQUE (org_id, seq)` if another writer moved a head meanwhile. Otherwise, or
    /// after a collision, under the advisory locks of every chain it touches.
    async fn append_batch_locked(
        &self,
        records: Vec<crate::AuditRecord>,
        genesis: &[u8],
        hasher: &crate::audit::LinkHasher,
    ) -> Result<Vec<crate::AuditRecord>, StoreError> {
        if records.len() <= crate::sql::audit::ROWS_PER_INSERT {
            let mut heads: HashMap<uuid::Uuid, (i64, Vec<u8>)> = HashMap::new();
            let known = records.iter().all(|r| {
                let org = r.org_id.as_uuid();
                heads.contains_key(&org)
                    || self
                        .known_head(org)
                        .is_some_and(|h| heads.insert(org, h).is_none())
            });
            if known {
                let linked: Vec<crate::AuditRecord> = records
                    .iter()
                    .map(|r| {
                        let org = r.org_id.as_uuid();
                        let record = crate::sql::audit::link(
                            r.clone(),
                            heads.get(&org).cloned(),
                            genesis,
                            hasher,
                        );
                        heads.insert(org, (record.seq, record.hash.clone()));
                        record
                    })
                    .collect();
                match insert_links(&linked)
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)
                {
                    Ok(_) => {
                        for r in &linked {
                            self.remember_head(r.org_id.as_uuid(), r);
                        }
                        return Ok(linked);
                    }
                    Err(StoreError::Conflict(_)) => {
                        for org in heads.keys() {
                            self.forget_head(*org);
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        let orgs = records.iter().map(|e| e.org_id);
        under_chain_locks!(self, orgs, tx => {
            let records = records.clone();
            crate::sql::audit::append_batch_in_transaction!(tx, records, genesis, hasher)
        })
    }

    /// Appends one link to an organisation's chain. First optimistically, in one or two
    /// statements: link to the head this process last wrote (or read it), insert the next
    /// seq — the `UNIQUE (org_id, seq)` constraint refuses a link whose head moved meanwhile,
    /// and the append reads the head again. When appends to one chain keep colliding, a
    /// transaction-scoped advisory lock per organisation serialises them across every
    /// replica (other chains proceed in parallel).
    async fn append_locked(
        &self,
        record: crate::AuditRecord,
        genesis: &[u8],
        hasher: &crate::audit::LinkHasher,
    ) -> Result<crate::AuditRecord, StoreError> {
        const OPTIMISTIC: usize = 3;
        const LOCKED: usize = 10;
        let org = record.org_id.as_uuid();
        for _ in 0..OPTIMISTIC {
            let known = self.known_head(org);
            let head = match known {
                Some(head) => Some(head),
                None => sqlx::query_as(crate::sql::audit::HEAD)
                    .bind(org)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?,
            };
            let linked = crate::sql::audit::link(record.clone(), head, genesis, hasher);
            match crate::sql::audit::bind_link!(sqlx::query(crate::sql::audit::INSERT), linked)
                .execute(&self.pool)
                .await
                .map_err(StoreError::from_sqlx)
            {
                Ok(_) => {
                    self.remember_head(org, &linked);
                    return Ok(linked);
                }
                Err(StoreError::Conflict(_)) => self.forget_head(org),
                Err(e) => return Err(e),
            }
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = async {
                let mut tx = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7301))")
                    .bind(format!("audit:{}", record.org_id))
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                Ok(crate::sql::audit::append_in_transaction!(
                    tx,
                    record.clone(),
                    genesis,
                    hasher
                ))
            }
            .await;
            match result {
                // An optimistic append (which takes no lock) got in first.
                Err(StoreError::Conflict(_)) if attempt < LOCKED => continue,
                Ok(linked) => {
                    self.remember_head(org, &linked);
                    return Ok(linked);
                }
                other => return other,
            }
        }
    }

    fn heads(&self) -> std::sync::MutexGuard<'_, Heads> {
        self.heads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn known_head(&self, org: uuid::Uuid) -> Option<(i64, Vec<u8>)> {
        self.heads().get(&org).cloned()
    }

    fn remember_head(&self, org: uuid::Uuid, link: &crate::AuditRecord) {
        let mut heads = self.heads();
        // Another task of this process may have written a later link already.
        if heads.get(&org).is_none_or(|(seq, _)| *seq < link.seq) {
            heads.insert(org, (link.seq, link.hash.clone()));
        }
    }

    fn forget_head(&self, org: uuid::Uuid) {
        self.heads().remove(&org);
    }
}

#[async_trait::async_trait]
impl crate::Maintenance for PgDb {
    async fn migrate(&self) -> Result<MigrationReport, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(StoreError::from_sqlx)?;
        crate::migrations::run::<sqlx::Postgres>(&MIGRATOR, &mut conn).await
    }

    async fn readiness(&self) -> Readiness {
        let mut conn = self.pool.acquire().await.ok();
        crate::migrations::readiness::<sqlx::Postgres>(&MIGRATOR, conn.as_deref_mut()).await
    }

    async fn close(&self) {
        self.relaxed.close().await;
        self.pool.close().await;
    }
}

/// One statement inserting any number of audit links, the same statement whatever their
/// number (arrays through `UNNEST`), so it is prepared once per connection instead of once
/// per group size.
fn insert_links(
    links: &[crate::AuditRecord],
) -> sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments> {
    let column = |f: fn(&crate::AuditRecord) -> Option<String>| -> Vec<Option<String>> {
        links.iter().map(f).collect()
    };
    sqlx::query(
        "INSERT INTO audit_events (id, org_id, seq, at, actor_kind, actor_id, kind, target, \
         decision, details, prev_hash, hash) \
         SELECT id, org_id, seq, at, actor_kind, actor_id, kind, target, decision, \
         details, prev_hash, hash FROM UNNEST($1::uuid[], $2::uuid[], $3::bigint[], \
         $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], \
         $10::text[], $11::bytea[], $12::bytea[]) AS l(id, org_id, seq, at, actor_kind, \
         actor_id, kind, target, decision, details, prev_hash, hash)",
    )
    .bind(links.iter().map(|r| r.id.as_uuid()).collect::<Vec<_>>())
    .bind(links.iter().map(|r| r.org_id.as_uuid()).collect::<Vec<_>>())
    .bind(links.iter().map(|r| r.seq).collect::<Vec<_>>())
    .bind(links.iter().map(|r| r.at).collect::<Vec<_>>())
    .bind(column(|r| Some(r.actor_kind.clone())))
    .bind(column(|r| r.actor_id.clone()))
    .bind(column(|r| Some(r.kind.clone())))
    .bind(column(|r| r.target.clone()))
    .bind(column(|r| r.decision.clone()))
    .bind(column(|r| Some(r.details.clone())))
    .bind(
        links
            .iter()
            .map(|r| r.prev_hash.clone())
            .collect::<Vec<_>>(),
    )
    .bind(links.iter().map(|r| r.hash.clone()).collect::<Vec<_>>())
}
