//! [`crate::FleetRepo`] for both databases; the claim differs (`$claim`: the statement;
//! `$begin`: how its transaction starts — `BEGIN IMMEDIATE` on SQLite; `$probe`: a read-only
//! look for a candidate first, on SQLite, so an empty claim never takes the write lock), and
//! so does how a move writes its history entry (`$inline_events`: on PostgreSQL in the same
//! statement, one round trip; on SQLite in a transaction around the two statements).

use sqlx::types::Uuid;
use switchboard_domain::fleet::Labels;
use switchboard_domain::Timestamp;

use crate::fleet::{
    FleetAgentRecord, RegistrationTokenRecord, TaskEventRecord, TaskRecord, TaskTemplateRecord,
};
use crate::StoreError;

pub(crate) const TOKEN_COLUMNS: &str = "id, org_id, name, token_hash, max_uses, uses, \
     expires_at, revoked_at, actor_kind, actor_id, created_at";
pub(crate) const AGENT_COLUMNS: &str = "id, org_id, name, host, version, labels, secret_hash, \
     token_id, revoked_at, last_seen, created_at";
pub(crate) const TASK_COLUMNS: &str = "id, org_id, kind, payload, target_agent, target_labels, \
     priority, idempotency_key, status, attempts, max_attempts, run_after, lease_agent, \
     lease_expires_at, result, error, approval_id, actor_kind, actor_id, created_at, updated_at";
pub(crate) const EVENT_COLUMNS: &str =
    "id, org_id, task_id, at, kind, from_status, to_status, agent_id, message";

pub(crate) const TEMPLATE_COLUMNS: &str =
    "id, org_id, name, kind, payload, target, actor_kind, actor_id, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct TemplateRow {
    id: Uuid,
    org_id: Uuid,
    name: String,
    kind: String,
    payload: String,
    target: String,
    actor_kind: String,
    actor_id: Option<String>,
    created_at: Timestamp,
}

impl From<TemplateRow> for TaskTemplateRecord {
    fn from(r: TemplateRow) -> Self {
        TaskTemplateRecord {
            id: r.id.into(),
            org_id: r.org_id.into(),
            name: r.name,
            kind: r.kind,
            payload: r.payload,
            target: r.target,
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            created_at: r.created_at,
        }
    }
}

/// Labels as stored: a JSON object, keys sorted.
pub(crate) fn labels_json(labels: &Labels) -> String {
    serde_json::to_string(labels).unwrap_or_else(|_| "{}".to_owned())
}

fn labels_from(json: &str) -> Result<Labels, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("labels: {e}")))
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    id: Uuid,
    org_id: Uuid,
    name: String,
    token_hash: Vec<u8>,
    max_uses: Option<i64>,
    uses: i64,
    expires_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
    actor_kind: String,
    actor_id: Option<String>,
    created_at: Timestamp,
}

impl From<TokenRow> for RegistrationTokenRecord {
    fn from(r: TokenRow) -> Self {
        RegistrationTokenRecord {
            id: r.id.into(),
            org_id: r.org_id.into(),
            name: r.name,
            token_hash: r.token_hash,
            max_uses: r.max_uses,
            uses: r.uses,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AgentRow {
    id: Uuid,
    org_id: Uuid,
    name: String,
    host: String,
    version: String,
    labels: String,
    secret_hash: Vec<u8>,
    token_id: Option<Uuid>,
    revoked_at: Option<Timestamp>,
    last_seen: Option<Timestamp>,
    created_at: Timestamp,
}

impl TryFrom<AgentRow> for FleetAgentRecord {
    type Error = StoreError;
    fn try_from(r: AgentRow) -> Result<Self, StoreError> {
        Ok(FleetAgentRecord {
            id: r.id.into(),
            org_id: r.org_id.into(),
            name: r.name,
            host: r.host,
            version: r.version,
            labels: labels_from(&r.labels)?,
            secret_hash: r.secret_hash,
            token_id: r.token_id.map(Into::into),
            revoked_at: r.revoked_at,
            last_seen: r.last_seen,
            created_at: r.created_at,
        })
    }
}

/// An agent row with its organisation's status.
#[derive(sqlx::FromRow)]
pub(crate) struct AgentOrgRow {
    #[sqlx(flatten)]
    pub(crate) agent: AgentRow,
    pub(crate) org_status: String,
}

/// [`AGENT_COLUMNS`] of the table aliased `a`.
pub(crate) fn agent_columns_of_a() -> String {
    AGENT_COLUMNS
        .split(", ")
        .map(|c| format!("a.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(sqlx::FromRow)]
pub(crate) struct TaskRow {
    id: Uuid,
    org_id: Uuid,
    kind: String,
    payload: String,
    target_agent: Option<Uuid>,
    target_labels: String,
    priority: i64,
    idempotency_key: Option<String>,
    status: String,
    attempts: i64,
    max_attempts: i64,
    run_after: Timestamp,
    lease_agent: Option<Uuid>,
    lease_expires_at: Option<Timestamp>,
    result: Option<String>,
    error: Option<String>,
    approval_id: Option<String>,
    actor_kind: String,
    actor_id: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl TryFrom<TaskRow> for TaskRecord {
    type Error = StoreError;
    fn try_from(r: TaskRow) -> Result<Self, StoreError> {
        Ok(TaskRecord {
            id: r.id.into(),
            org_id: r.org_id.into(),
            kind: r.kind,
            payload: r.payload,
            target_agent: r.target_agent.map(Into::into),
            target_labels: labels_from(&r.target_labels)?,
            priority: r.priority,
            idempotency_key: r.idempotency_key,
            status: r.status,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            run_after: r.run_after,
            lease_agent: r.lease_agent.map(Into::into),
            lease_expires_at: r.lease_expires_at,
            result: r.result,
            error: r.error,
            approval_id: r.approval_id,
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    id: Uuid,
    org_id: Uuid,
    task_id: Uuid,
    at: Timestamp,
    kind: String,
    from_status: Option<String>,
    to_status: Option<String>,
    agent_id: Option<Uuid>,
    message: Option<String>,
}

impl From<EventRow> for TaskEventRecord {
    fn from(r: EventRow) -> Self {
        TaskEventRecord {
            id: r.id.into(),
            org_id: r.org_id.into(),
            task_id: r.task_id.into(),
            at: r.at,
            kind: r.kind,
            from_status: r.from_status,
            to_status: r.to_status,
            agent_id: r.agent_id.map(Into::into),
            message: r.message,
        }
    }
}

pub(crate) fn tasks_from(rows: Vec<TaskRow>) -> Result<Vec<TaskRecord>, StoreError> {
    rows.into_iter().map(TryInto::try_into).collect()
}

/// Inserts task events inside the open transaction `$tx` (or through a pool).
macro_rules! insert_task_events {
    ($executor:expr, $events:expr) => {
        for e in $events {
            let sql = format!(
                "INSERT INTO task_events ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                $crate::sql::fleet::EVENT_COLUMNS
            );
            sqlx::query(&sql)
                .bind(e.id.as_uuid())
                .bind(e.org_id.as_uuid())
                .bind(e.task_id.as_uuid())
                .bind(e.at)
                .bind(&e.kind)
                .bind(&e.from_status)
                .bind(&e.to_status)
                .bind(e.agent_id.map(|a| a.as_uuid()))
                .bind(&e.message)
                .execute($executor)
                .await
                .map_err($crate::StoreError::from_sqlx)?;
        }
    };
}
pub(crate) use insert_task_events;

/// `statement` (ending `RETURNING {TASK_COLUMNS}`) with the status event of the row it
/// returns inserted by the same statement — PostgreSQL's data-modifying `WITH` — so a move
/// and its history entry take one round trip and are atomic without a transaction. The
/// event's fields are the parameters `$first` … `$first + 6` (see [`bind_event!`]).
pub(crate) fn with_event(statement: &str, first: usize) -> String {
    with_events(statement, first, 1)
}

/// [`with_event`] with `count` events, each binding seven parameters after the previous.
pub(crate) fn with_events(statement: &str, first: usize, count: usize) -> String {
    let inserts: Vec<String> = (0..count)
        .map(|n| {
            let p: Vec<String> = (first + 7 * n..first + 7 * n + 7)
                .map(|n| format!("${n}"))
                .collect();
            format!(
                "e{n} AS (INSERT INTO task_events ({EVENT_COLUMNS}) \
                 SELECT {}, org_id, id, {}, {}, {}, {}, {}, {} FROM t)",
                p[0], p[1], p[2], p[3], p[4], p[5], p[6]
            )
        })
        .collect();
    format!(
        "WITH t AS ({statement}), {} SELECT {TASK_COLUMNS} FROM t",
        inserts.join(", ")
    )
}

/// Binds an event's fields for [`with_event`] (its task is the row the statement returns).
macro_rules! bind_event {
    ($query:expr, $e:expr) => {
        $query
            .bind($e.id.as_uuid())
            .bind($e.at)
            .bind(&$e.kind)
            .bind(&$e.from_status)
            .bind(&$e.to_status)
            .bind($e.agent_id.map(|a| a.as_uuid()))
            .bind(&$e.message)
    };
}
pub(crate) use bind_event;

/// Marks the organisation's row `$id` of `$table` revoked at `$at` (the first revocation
/// counts); `NotFound` if there is none.
macro_rules! revoke {
    ($db:ident, $table:literal, $org:expr, $id:expr, $at:expr) => {{
        let done = sqlx::query(concat!(
            "UPDATE ",
            $table,
            " SET revoked_at = COALESCE(revoked_at, $1) WHERE org_id = $2 AND id = $3"
        ))
        .bind($at)
        .bind($org.as_uuid())
        .bind($id.as_uuid())
        .execute($db.writer())
        .await
        .map_err($crate::StoreError::from_sqlx)?;
        $crate::sql::one_row(done.rows_affected())
    }};
}
pub(crate) use revoke;

/// Task inserts, claims and moves on PostgreSQL are written through the relaxed writer
/// (`synchronous_commit = off`): the service follows each with an audit event it waits for,
/// a synchronous commit that flushes the WAL past them, before anyone is told (the person
/// who queued it, the agent that claimed it or sent its result). A crash in between loses
/// only a change nobody was told about (the agent sends its result again).
///
/// `$db`; `$begin` — the statement that starts a claim's transaction; `$claim` — the claim:
/// `$1` organisation, `$2` agent id, `$3` the agent's labels (JSON), `$4` now, `$5` lease
/// end, `$6` the kinds it runs (JSON array), returning the task's columns (`{columns}`).
macro_rules! fleet_repo {
    ($db:ty, $begin:literal, $claim:expr, $probe:expr, $inline_events:literal) => {
        #[async_trait::async_trait]
        impl $crate::fleet::FleetRepo for $db {
            async fn insert_token(
                &self,
                t: &$crate::fleet::RegistrationTokenRecord,
            ) -> Result<(), $crate::StoreError> {
                let sql = format!(
                    "INSERT INTO registration_tokens ({}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    $crate::sql::fleet::TOKEN_COLUMNS
                );
                sqlx::query(&sql)
                    .bind(t.id.as_uuid())
                    .bind(t.org_id.as_uuid())
                    .bind(&t.name)
                    .bind(&t.token_hash)
                    .bind(t.max_uses)
                    .bind(t.uses)
                    .bind(t.expires_at)
                    .bind(t.revoked_at)
                    .bind(&t.actor_kind)
                    .bind(&t.actor_id)
                    .bind(t.created_at)
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn tokens(
                &self,
                org: switchboard_domain::OrgId,
            ) -> Result<Vec<$crate::fleet::RegistrationTokenRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM registration_tokens WHERE org_id = $1 \
                     ORDER BY created_at DESC, id DESC",
                    $crate::sql::fleet::TOKEN_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::fleet::TokenRow>(&sql)
                    .bind(org.as_uuid())
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn revoke_token(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::RegistrationTokenId,
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                $crate::sql::fleet::revoke!(self, "registration_tokens", org, id, at)
            }

            async fn register(
                &self,
                token_hash: &[u8],
                mut agent: $crate::fleet::FleetAgentRecord,
                at: switchboard_domain::Timestamp,
            ) -> Result<Option<$crate::fleet::FleetAgentRecord>, $crate::StoreError> {
                let mut tx = self.writer().begin().await.map_err($crate::StoreError::from_sqlx)?;
                let used: Option<(sqlx::types::Uuid, sqlx::types::Uuid)> = sqlx::query_as(
                    "UPDATE registration_tokens SET uses = uses + 1 WHERE token_hash = $1 \
                     AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) \
                     AND (max_uses IS NULL OR uses < max_uses) RETURNING id, org_id",
                )
                .bind(token_hash)
                .bind(at)
                .fetch_optional(&mut *tx)
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                let Some((token, org)) = used else {
                    return Ok(None);
                };
                agent.org_id = org.into();
                agent.token_id = Some(token.into());
                let sql = format!(
                    "INSERT INTO fleet_agents ({}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    $crate::sql::fleet::AGENT_COLUMNS
                );
                sqlx::query(&sql)
                    .bind(agent.id.as_uuid())
                    .bind(agent.org_id.as_uuid())
                    .bind(&agent.name)
                    .bind(&agent.host)
                    .bind(&agent.version)
                    .bind($crate::sql::fleet::labels_json(&agent.labels))
                    .bind(&agent.secret_hash)
                    .bind(agent.token_id.map(|t| t.as_uuid()))
                    .bind(agent.revoked_at)
                    .bind(agent.last_seen)
                    .bind(agent.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(Some(agent))
            }

            async fn agent(
                &self,
                id: switchboard_domain::FleetAgentId,
            ) -> Result<Option<$crate::fleet::FleetAgentRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM fleet_agents WHERE id = $1",
                    $crate::sql::fleet::AGENT_COLUMNS
                );
                sqlx::query_as::<_, $crate::sql::fleet::AgentRow>(&sql)
                    .bind(id.as_uuid())
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .map(TryInto::try_into)
                    .transpose()
            }

            async fn agent_with_org_status(
                &self,
                id: switchboard_domain::FleetAgentId,
            ) -> Result<Option<($crate::fleet::FleetAgentRecord, String)>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {}, o.status AS org_status FROM fleet_agents a \
                     JOIN organizations o ON o.id = a.org_id WHERE a.id = $1",
                    $crate::sql::fleet::agent_columns_of_a()
                );
                let Some(row) = sqlx::query_as::<_, $crate::sql::fleet::AgentOrgRow>(&sql)
                    .bind(id.as_uuid())
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                else {
                    return Ok(None);
                };
                Ok(Some((row.agent.try_into()?, row.org_status)))
            }

            async fn agents(
                &self,
                org: switchboard_domain::OrgId,
            ) -> Result<Vec<$crate::fleet::FleetAgentRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM fleet_agents WHERE org_id = $1 ORDER BY name, id",
                    $crate::sql::fleet::AGENT_COLUMNS
                );
                sqlx::query_as::<_, $crate::sql::fleet::AgentRow>(&sql)
                    .bind(org.as_uuid())
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(TryInto::try_into)
                    .collect()
            }

            async fn heartbeat(
                &self,
                id: switchboard_domain::FleetAgentId,
                host: &str,
                version: &str,
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE fleet_agents SET host = $1, version = $2, last_seen = $3 \
                     WHERE id = $4 AND revoked_at IS NULL",
                )
                .bind(host)
                .bind(version)
                .bind(at)
                .bind(id.as_uuid())
                .execute(self.relaxed_writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::one_row(done.rows_affected())
            }

            async fn revoke_agent(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::FleetAgentId,
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                $crate::sql::fleet::revoke!(self, "fleet_agents", org, id, at)
            }

            async fn insert_task(
                &self,
                t: &$crate::fleet::TaskRecord,
                events: &[$crate::fleet::TaskEventRecord],
            ) -> Result<($crate::fleet::TaskRecord, bool), $crate::StoreError> {
                let insert = format!(
                    "INSERT INTO tasks ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                     $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) \
                     ON CONFLICT (org_id, idempotency_key) DO NOTHING RETURNING {}",
                    $crate::sql::fleet::TASK_COLUMNS,
                    $crate::sql::fleet::TASK_COLUMNS
                );
                let sql = if $inline_events {
                    $crate::sql::fleet::with_events(&insert, 22, events.len())
                } else {
                    insert
                };
                let query = sqlx::query_as::<_, $crate::sql::fleet::TaskRow>(&sql)
                    .bind(t.id.as_uuid())
                    .bind(t.org_id.as_uuid())
                    .bind(&t.kind)
                    .bind(&t.payload)
                    .bind(t.target_agent.map(|a| a.as_uuid()))
                    .bind($crate::sql::fleet::labels_json(&t.target_labels))
                    .bind(t.priority)
                    .bind(&t.idempotency_key)
                    .bind(&t.status)
                    .bind(t.attempts)
                    .bind(t.max_attempts)
                    .bind(t.run_after)
                    .bind(t.lease_agent.map(|a| a.as_uuid()))
                    .bind(t.lease_expires_at)
                    .bind(&t.result)
                    .bind(&t.error)
                    .bind(&t.approval_id)
                    .bind(&t.actor_kind)
                    .bind(&t.actor_id)
                    .bind(t.created_at)
                    .bind(t.updated_at);
                let inserted = if $inline_events {
                    let mut query = query;
                    for event in events {
                        query = $crate::sql::fleet::bind_event!(query, event);
                    }
                    query
                        .fetch_optional(self.relaxed_writer())
                        .await
                        .map_err($crate::StoreError::from_sqlx)?
                        .is_some()
                } else {
                    let mut tx =
                        self.writer().begin().await.map_err($crate::StoreError::from_sqlx)?;
                    let row = query
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err($crate::StoreError::from_sqlx)?;
                    if row.is_some() {
                        $crate::sql::fleet::insert_task_events!(&mut *tx, events);
                        tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                    }
                    row.is_some()
                };
                if inserted {
                    return Ok((t.clone(), true));
                }
                // The key was used: that task (committed, or its insert would not have waited).
                let sql = format!(
                    "SELECT {} FROM tasks WHERE org_id = $1 AND idempotency_key = $2",
                    $crate::sql::fleet::TASK_COLUMNS
                );
                let existing = sqlx::query_as::<_, $crate::sql::fleet::TaskRow>(&sql)
                    .bind(t.org_id.as_uuid())
                    .bind(&t.idempotency_key)
                    .fetch_one(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok((existing.try_into()?, false))
            }

            async fn task(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::TaskId,
            ) -> Result<Option<$crate::fleet::TaskRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM tasks WHERE org_id = $1 AND id = $2",
                    $crate::sql::fleet::TASK_COLUMNS
                );
                sqlx::query_as::<_, $crate::sql::fleet::TaskRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(id.as_uuid())
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .map(TryInto::try_into)
                    .transpose()
            }

            async fn tasks(
                &self,
                org: switchboard_domain::OrgId,
                status: Option<&str>,
                agent: Option<switchboard_domain::FleetAgentId>,
                limit: u32,
            ) -> Result<Vec<$crate::fleet::TaskRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM tasks WHERE org_id = $1 AND ($2 IS NULL OR status = $2) \
                     AND ($3 IS NULL OR lease_agent = $3 OR target_agent = $3) \
                     ORDER BY created_at DESC, id DESC LIMIT {}",
                    $crate::sql::fleet::TASK_COLUMNS,
                    limit
                );
                $crate::sql::fleet::tasks_from(
                    sqlx::query_as::<_, $crate::sql::fleet::TaskRow>(&sql)
                        .bind(org.as_uuid())
                        .bind(status)
                        .bind(agent.map(|a| a.as_uuid()))
                        .fetch_all(self.reader())
                        .await
                        .map_err($crate::StoreError::from_sqlx)?,
                )
            }

            async fn insert_template(
                &self,
                t: &$crate::fleet::TaskTemplateRecord,
            ) -> Result<(), $crate::StoreError> {
                let sql = format!(
                    "INSERT INTO task_templates ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    $crate::sql::fleet::TEMPLATE_COLUMNS
                );
                sqlx::query(&sql)
                    .bind(t.id.as_uuid())
                    .bind(t.org_id.as_uuid())
                    .bind(&t.name)
                    .bind(&t.kind)
                    .bind(&t.payload)
                    .bind(&t.target)
                    .bind(&t.actor_kind)
                    .bind(&t.actor_id)
                    .bind(t.created_at)
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn templates(
                &self,
                org: switchboard_domain::OrgId,
            ) -> Result<Vec<$crate::fleet::TaskTemplateRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM task_templates WHERE org_id = $1 ORDER BY name, id",
                    $crate::sql::fleet::TEMPLATE_COLUMNS
                );
                let rows = sqlx::query_as::<_, $crate::sql::fleet::TemplateRow>(&sql)
                    .bind(org.as_uuid())
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn delete_template(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::TaskTemplateId,
            ) -> Result<(), $crate::StoreError> {
                let done = sqlx::query("DELETE FROM task_templates WHERE org_id = $1 AND id = $2")
                    .bind(org.as_uuid())
                    .bind(id.as_uuid())
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::NotFound);
                }
                Ok(())
            }

            async fn task_counts(
                &self,
                org: switchboard_domain::OrgId,
            ) -> Result<std::collections::BTreeMap<String, u64>, $crate::StoreError> {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT status, COUNT(*) FROM tasks WHERE org_id = $1 GROUP BY status",
                )
                .bind(org.as_uuid())
                .fetch_all(self.reader())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(rows
                    .into_iter()
                    .map(|(status, n)| (status, u64::try_from(n).unwrap_or(0)))
                    .collect())
            }

            async fn claim(
                &self,
                agent: &$crate::fleet::FleetAgentRecord,
                executors: &[String],
                lease_until: switchboard_domain::Timestamp,
                at: switchboard_domain::Timestamp,
                mut event: $crate::fleet::TaskEventRecord,
            ) -> Result<Option<$crate::fleet::TaskRecord>, $crate::StoreError> {
                let executors_json =
                    serde_json::to_string(executors).unwrap_or_else(|_| "[]".to_owned());
                if let Some(probe) = $probe {
                    let found: Option<(sqlx::types::Uuid,)> = sqlx::query_as(probe)
                        .bind(agent.org_id.as_uuid())
                        .bind(agent.id.as_uuid())
                        .bind($crate::sql::fleet::labels_json(&agent.labels))
                        .bind(at)
                        .bind(lease_until)
                        .bind(&executors_json)
                        .fetch_optional(self.reader())
                        .await
                        .map_err($crate::StoreError::from_sqlx)?;
                    if found.is_none() {
                        return Ok(None);
                    }
                }
                let claim = $claim.replace("{columns}", $crate::sql::fleet::TASK_COLUMNS);
                let sql = if $inline_events {
                    $crate::sql::fleet::with_event(&claim, 7)
                } else {
                    claim
                };
                let query = sqlx::query_as::<_, $crate::sql::fleet::TaskRow>(&sql)
                    .bind(agent.org_id.as_uuid())
                    .bind(agent.id.as_uuid())
                    .bind($crate::sql::fleet::labels_json(&agent.labels))
                    .bind(at)
                    .bind(lease_until)
                    .bind(&executors_json);
                if $inline_events {
                    let row = $crate::sql::fleet::bind_event!(query, event)
                        .fetch_optional(self.relaxed_writer())
                        .await
                        .map_err($crate::StoreError::from_sqlx)?;
                    return row.map(TryInto::try_into).transpose();
                }
                let mut tx = self
                    .writer()
                    .begin_with($begin)
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                let Some(row) = query
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                else {
                    return Ok(None);
                };
                let task: $crate::fleet::TaskRecord = row.try_into()?;
                event.task_id = task.id;
                $crate::sql::fleet::insert_task_events!(&mut *tx, std::slice::from_ref(&event));
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(Some(task))
            }

            async fn extend_lease(
                &self,
                org: switchboard_domain::OrgId,
                task: switchboard_domain::TaskId,
                agent: switchboard_domain::FleetAgentId,
                until: switchboard_domain::Timestamp,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE tasks SET lease_expires_at = $1 WHERE org_id = $2 AND id = $3 \
                     AND status = 'leased' AND lease_agent = $4",
                )
                .bind(until)
                .bind(org.as_uuid())
                .bind(task.as_uuid())
                .bind(agent.as_uuid())
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(done.rows_affected() == 1)
            }

            // The row is found by its id alone: the other conditions sit in `( … ) IS TRUE`,
            // which no index serves, so a plan made while the table was small (and kept by
            // the connection) cannot scan an organisation's tasks by another index instead.
            async fn move_task(
                &self,
                m: &$crate::fleet::TaskMove<'_>,
            ) -> Result<Option<$crate::fleet::TaskRecord>, $crate::StoreError> {
                if m.from.is_empty() {
                    return Ok(None);
                }
                let from = $crate::sql::memory::placeholders(9, m.from.len());
                let update = format!(
                    "UPDATE tasks SET status = $1, updated_at = $2, \
                     result = COALESCE($3, result), error = COALESCE($4, error), \
                     run_after = COALESCE($5, run_after), \
                     lease_agent = CASE WHEN $1 = 'queued' THEN NULL ELSE lease_agent END, \
                     lease_expires_at = CASE WHEN $1 = 'leased' THEN lease_expires_at ELSE NULL END \
                     WHERE id = $7 AND (org_id = $6 AND ($8 IS NULL OR lease_agent = $8) \
                     AND status IN ({from})) IS TRUE RETURNING {}",
                    $crate::sql::fleet::TASK_COLUMNS
                );
                let sql = if $inline_events {
                    $crate::sql::fleet::with_event(&update, 9 + m.from.len())
                } else {
                    update
                };
                let mut query = sqlx::query_as::<_, $crate::sql::fleet::TaskRow>(&sql)
                    .bind(m.to)
                    .bind(m.at)
                    .bind(&m.result)
                    .bind(&m.error)
                    .bind(m.run_after)
                    .bind(m.org.as_uuid())
                    .bind(m.task.as_uuid())
                    .bind(m.lease_agent.map(|a| a.as_uuid()));
                for s in m.from {
                    query = query.bind(*s);
                }
                if $inline_events {
                    let row = $crate::sql::fleet::bind_event!(query, m.event)
                        .fetch_optional(self.relaxed_writer())
                        .await
                        .map_err($crate::StoreError::from_sqlx)?;
                    return row.map(TryInto::try_into).transpose();
                }
                let mut tx = self.writer().begin().await.map_err($crate::StoreError::from_sqlx)?;
                let Some(row) = query
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                else {
                    return Ok(None);
                };
                $crate::sql::fleet::insert_task_events!(&mut *tx, std::slice::from_ref(&m.event));
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(Some(row.try_into()?))
            }

            async fn expired_leases(
                &self,
                now: switchboard_domain::Timestamp,
                limit: u32,
            ) -> Result<Vec<$crate::fleet::TaskRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM tasks WHERE status = 'leased' AND lease_expires_at < $1 \
                     ORDER BY lease_expires_at, id LIMIT {}",
                    $crate::sql::fleet::TASK_COLUMNS,
                    limit
                );
                $crate::sql::fleet::tasks_from(
                    sqlx::query_as::<_, $crate::sql::fleet::TaskRow>(&sql)
                        .bind(now)
                        .fetch_all(self.reader())
                        .await
                        .map_err($crate::StoreError::from_sqlx)?,
                )
            }

            async fn append_task_events(
                &self,
                events: &[$crate::fleet::TaskEventRecord],
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.writer().begin().await.map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::fleet::insert_task_events!(&mut *tx, events);
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn task_events(
                &self,
                org: switchboard_domain::OrgId,
                task: switchboard_domain::TaskId,
            ) -> Result<Vec<$crate::fleet::TaskEventRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM task_events WHERE org_id = $1 AND task_id = $2 \
                     ORDER BY at, id",
                    $crate::sql::fleet::EVENT_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::fleet::EventRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(task.as_uuid())
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }
        }
    };
}

pub(crate) use fleet_repo;
