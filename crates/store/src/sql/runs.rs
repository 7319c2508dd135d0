//! [`crate::RunRepo`] for both databases.

use sqlx::types::Uuid;
use switchboard_domain::Timestamp;

use crate::runs::{RunEventRecord, RunRecord};

pub(crate) const COLUMNS: &str = "id, org_id, conversation_id, user_id, agent, status, state, \
    waiting_on, error, steps, cancel_requested, created_at, updated_at, claimed_at";

#[derive(sqlx::FromRow)]
pub(crate) struct RunRow {
    id: Uuid,
    org_id: Uuid,
    conversation_id: Uuid,
    user_id: Uuid,
    agent: String,
    status: String,
    state: String,
    waiting_on: Option<Uuid>,
    error: Option<String>,
    steps: i64,
    cancel_requested: bool,
    created_at: Timestamp,
    updated_at: Timestamp,
    claimed_at: Option<Timestamp>,
}

impl From<RunRow> for RunRecord {
    fn from(r: RunRow) -> Self {
        RunRecord {
            id: r.id.into(),
            org_id: r.org_id.into(),
            conversation_id: r.conversation_id.into(),
            user_id: r.user_id.into(),
            agent: r.agent,
            status: r.status,
            state: r.state,
            waiting_on: r.waiting_on.map(Into::into),
            error: r.error,
            steps: r.steps,
            cancel_requested: r.cancel_requested,
            created_at: r.created_at,
            updated_at: r.updated_at,
            claimed_at: r.claimed_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RunEventRow {
    run_id: Uuid,
    org_id: Uuid,
    seq: i64,
    kind: String,
    data: String,
    created_at: Timestamp,
}

impl From<RunEventRow> for RunEventRecord {
    fn from(r: RunEventRow) -> Self {
        RunEventRecord {
            run_id: r.run_id.into(),
            org_id: r.org_id.into(),
            seq: r.seq,
            kind: r.kind,
            data: r.data,
            created_at: r.created_at,
        }
    }
}

/// `UPDATE runs ...` compare-and-set on the status, returning the cancel flag.
macro_rules! save {
    ($pool:expr, $r:expr, $expected:expr) => {
        sqlx::query_scalar(
            "UPDATE runs SET status = $1, state = $2, waiting_on = $3, error = $4, \
             steps = $5, updated_at = $6, claimed_at = $7 \
             WHERE id = $8 AND org_id = $9 AND status = $10 RETURNING cancel_requested",
        )
        .bind(&$r.status)
        .bind(&$r.state)
        .bind($r.waiting_on.map(|a| a.as_uuid()))
        .bind(&$r.error)
        .bind($r.steps)
        .bind($r.updated_at)
        .bind($r.claimed_at)
        .bind($r.id.as_uuid())
        .bind($r.org_id.as_uuid())
        .bind($expected)
        .fetch_optional($pool)
        .await
        .map_err($crate::StoreError::from_sqlx)
    };
}

pub(crate) use save;

macro_rules! run_repo {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::runs::RunRepo for $db {
            async fn insert(&self, r: &$crate::runs::RunRecord) -> Result<(), $crate::StoreError> {
                let sql = format!(
                    "INSERT INTO runs ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                     $11, $12, $13, $14)",
                    $crate::sql::runs::COLUMNS
                );
                sqlx::query(&sql)
                    .bind(r.id.as_uuid())
                    .bind(r.org_id.as_uuid())
                    .bind(r.conversation_id.as_uuid())
                    .bind(r.user_id.as_uuid())
                    .bind(&r.agent)
                    .bind(&r.status)
                    .bind(&r.state)
                    .bind(r.waiting_on.map(|a| a.as_uuid()))
                    .bind(&r.error)
                    .bind(r.steps)
                    .bind(r.cancel_requested)
                    .bind(r.created_at)
                    .bind(r.updated_at)
                    .bind(r.claimed_at)
                    .execute(self.relaxed_writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn get(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::RunId,
            ) -> Result<Option<$crate::runs::RunRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM runs WHERE org_id = $1 AND id = $2",
                    $crate::sql::runs::COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::runs::RunRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(id.as_uuid())
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .map(Into::into))
            }

            async fn for_conversation(
                &self,
                org: switchboard_domain::OrgId,
                conversation: switchboard_domain::ConversationId,
            ) -> Result<Vec<$crate::runs::RunRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM runs WHERE org_id = $1 AND conversation_id = $2 \
                     ORDER BY created_at, id",
                    $crate::sql::runs::COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::runs::RunRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(conversation.as_uuid())
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn save(
                &self,
                r: &$crate::runs::RunRecord,
                expected: &str,
            ) -> Result<Option<bool>, $crate::StoreError> {
                $crate::sql::runs::save!(self.writer(), r, expected)
            }

            async fn checkpoint(
                &self,
                r: &$crate::runs::RunRecord,
                expected: &str,
            ) -> Result<Option<bool>, $crate::StoreError> {
                $crate::sql::runs::save!(self.relaxed_writer(), r, expected)
            }

            async fn request_cancel(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::RunId,
            ) -> Result<Option<$crate::runs::RunRecord>, $crate::StoreError> {
                let sql = format!(
                    "UPDATE runs SET cancel_requested = TRUE WHERE org_id = $1 AND id = $2 \
                     RETURNING {}",
                    $crate::sql::runs::COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::runs::RunRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(id.as_uuid())
                    .fetch_optional(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .map(Into::into))
            }

            async fn claim_resumable(
                &self,
                now: switchboard_domain::Timestamp,
                limit: u32,
            ) -> Result<Vec<$crate::runs::RunRecord>, $crate::StoreError> {
                let sql = format!(
                    "UPDATE runs SET status = 'running', claimed_at = $1, updated_at = $1 \
                     WHERE id IN (SELECT r.id FROM runs r JOIN approvals a ON a.id = r.waiting_on \
                     WHERE r.status = 'waiting_approval' \
                     AND a.status IN ('executed', 'failed', 'denied', 'expired') \
                     ORDER BY r.updated_at LIMIT $2) \
                     AND status = 'waiting_approval' RETURNING {}",
                    $crate::sql::runs::COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::runs::RunRow>(&sql)
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn fail_stale(
                &self,
                stale: switchboard_domain::Timestamp,
                error: &str,
                now: switchboard_domain::Timestamp,
            ) -> Result<Vec<$crate::runs::RunRecord>, $crate::StoreError> {
                let sql = format!(
                    "UPDATE runs SET status = 'failed', error = $1, updated_at = $2 \
                     WHERE status = 'running' AND (claimed_at IS NULL OR claimed_at < $3) \
                     RETURNING {}",
                    $crate::sql::runs::COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::runs::RunRow>(&sql)
                    .bind(error)
                    .bind(now)
                    .bind(stale)
                    .fetch_all(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn append_events(
                &self,
                events: &[$crate::runs::RunEventRecord],
            ) -> Result<(), $crate::StoreError> {
                // One statement per page of events (well under either backend's limit on
                // bound values).
                for page in events.chunks(100) {
                    let rows: Vec<String> = (0..page.len())
                        .map(|i| {
                            let b = i * 6;
                            format!(
                                "(${}, ${}, ${}, ${}, ${}, ${})",
                                b + 1, b + 2, b + 3, b + 4, b + 5, b + 6
                            )
                        })
                        .collect();
                    let sql = format!(
                        "INSERT INTO run_events (run_id, org_id, seq, kind, data, created_at) \
                         VALUES {}",
                        rows.join(", ")
                    );
                    let mut query = sqlx::query(&sql);
                    for e in page {
                        query = query
                            .bind(e.run_id.as_uuid())
                            .bind(e.org_id.as_uuid())
                            .bind(e.seq)
                            .bind(&e.kind)
                            .bind(&e.data)
                            .bind(e.created_at);
                    }
                    query
                        .execute(self.relaxed_writer())
                        .await
                        .map_err($crate::StoreError::from_sqlx)?;
                }
                Ok(())
            }

            async fn last_event_seq(
                &self,
                org: switchboard_domain::OrgId,
                run: switchboard_domain::RunId,
            ) -> Result<i64, $crate::StoreError> {
                sqlx::query_scalar(
                    "SELECT COALESCE(MAX(seq), 0) FROM run_events WHERE org_id = $1 AND run_id = $2",
                )
                .bind(org.as_uuid())
                .bind(run.as_uuid())
                .fetch_one(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)
            }

            async fn events_after(
                &self,
                org: switchboard_domain::OrgId,
                run: switchboard_domain::RunId,
                after: i64,
                limit: u32,
            ) -> Result<Vec<$crate::runs::RunEventRecord>, $crate::StoreError> {
                Ok(sqlx::query_as::<_, $crate::sql::runs::RunEventRow>(
                    "SELECT run_id, org_id, seq, kind, data, created_at FROM run_events \
                     WHERE org_id = $1 AND run_id = $2 AND seq > $3 ORDER BY seq LIMIT $4",
                )
                .bind(org.as_uuid())
                .bind(run.as_uuid())
                .bind(after)
                .bind(i64::from(limit))
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

pub(crate) use run_repo;
