//! [`crate::ApprovalRepo`] for both databases.

use sqlx::types::Uuid;
use switchboard_domain::Timestamp;

use crate::approvals::ApprovalRecord;

pub(crate) const COLUMNS: &str = "id, org_id, tool, arguments, shown_arguments, tier, \
    approver_role, four_eyes, reason, requester_kind, requester_id, status, decided_by, \
    decided_at, decision_reason, result, created_at, expires_at, claimed_at, finished_at";

#[derive(sqlx::FromRow)]
pub(crate) struct ApprovalRow {
    id: Uuid,
    org_id: Uuid,
    tool: String,
    arguments: String,
    shown_arguments: String,
    tier: String,
    approver_role: String,
    four_eyes: bool,
    reason: String,
    requester_kind: String,
    requester_id: String,
    status: String,
    decided_by: Option<String>,
    decided_at: Option<Timestamp>,
    decision_reason: Option<String>,
    result: Option<String>,
    created_at: Timestamp,
    expires_at: Timestamp,
    claimed_at: Option<Timestamp>,
    finished_at: Option<Timestamp>,
}

impl From<ApprovalRow> for ApprovalRecord {
    fn from(r: ApprovalRow) -> Self {
        ApprovalRecord {
            id: r.id.into(),
            org_id: r.org_id.into(),
            tool: r.tool,
            arguments: r.arguments,
            shown_arguments: r.shown_arguments,
            tier: r.tier,
            approver_role: r.approver_role,
            four_eyes: r.four_eyes,
            reason: r.reason,
            requester_kind: r.requester_kind,
            requester_id: r.requester_id,
            status: r.status,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
            decision_reason: r.decision_reason,
            result: r.result,
            created_at: r.created_at,
            expires_at: r.expires_at,
            claimed_at: r.claimed_at,
            finished_at: r.finished_at,
        }
    }
}

macro_rules! approval_repo {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::approvals::ApprovalRepo for $db {
            async fn insert(
                &self,
                a: &$crate::approvals::ApprovalRecord,
            ) -> Result<(), $crate::StoreError> {
                let sql = format!(
                    "INSERT INTO approvals ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                     $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
                    $crate::sql::approvals::COLUMNS
                );
                sqlx::query(&sql)
                    .bind(a.id.as_uuid())
                    .bind(a.org_id.as_uuid())
                    .bind(&a.tool)
                    .bind(&a.arguments)
                    .bind(&a.shown_arguments)
                    .bind(&a.tier)
                    .bind(&a.approver_role)
                    .bind(a.four_eyes)
                    .bind(&a.reason)
                    .bind(&a.requester_kind)
                    .bind(&a.requester_id)
                    .bind(&a.status)
                    .bind(&a.decided_by)
                    .bind(a.decided_at)
                    .bind(&a.decision_reason)
                    .bind(&a.result)
                    .bind(a.created_at)
                    .bind(a.expires_at)
                    .bind(a.claimed_at)
                    .bind(a.finished_at)
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn get(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::ApprovalId,
            ) -> Result<Option<$crate::approvals::ApprovalRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM approvals WHERE org_id = $1 AND id = $2",
                    $crate::sql::approvals::COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::approvals::ApprovalRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(id.as_uuid())
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .map(Into::into))
            }

            async fn list(
                &self,
                org: switchboard_domain::OrgId,
                status: Option<&str>,
                limit: u32,
            ) -> Result<Vec<$crate::approvals::ApprovalRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM approvals WHERE org_id = $1 AND ($2 IS NULL OR status = $2) \
                     ORDER BY created_at DESC, id DESC LIMIT $3",
                    $crate::sql::approvals::COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::approvals::ApprovalRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(status)
                    .bind(i64::from(limit))
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn count_pending(
                &self,
                org: switchboard_domain::OrgId,
                now: switchboard_domain::Timestamp,
            ) -> Result<u64, $crate::StoreError> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM approvals WHERE org_id = $1 AND status = 'pending' \
                     AND expires_at > $2",
                )
                .bind(org.as_uuid())
                .bind(now)
                .fetch_one(self.reader())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::count(n)
            }

            async fn decide(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::ApprovalId,
                d: &$crate::approvals::ApprovalDecision<'_>,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE approvals SET status = $1, decided_by = $2, decision_reason = $3, \
                     decided_at = $4 WHERE org_id = $5 AND id = $6 AND status = 'pending' \
                     AND expires_at > $4",
                )
                .bind(d.status)
                .bind(d.by)
                .bind(d.reason)
                .bind(d.at)
                .bind(org.as_uuid())
                .bind(id.as_uuid())
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(done.rows_affected() == 1)
            }

            async fn expire_due(
                &self,
                now: switchboard_domain::Timestamp,
            ) -> Result<Vec<$crate::approvals::ApprovalRecord>, $crate::StoreError> {
                let sql = format!(
                    "UPDATE approvals SET status = 'expired', decided_at = $1 \
                     WHERE status = 'pending' AND expires_at <= $1 RETURNING {}",
                    $crate::sql::approvals::COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::approvals::ApprovalRow>(&sql)
                    .bind(now)
                    .fetch_all(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn claim_approved(
                &self,
                now: switchboard_domain::Timestamp,
                stale: switchboard_domain::Timestamp,
                limit: u32,
            ) -> Result<Vec<$crate::approvals::ApprovalRecord>, $crate::StoreError> {
                let sql = format!(
                    "UPDATE approvals SET claimed_at = $1 WHERE id IN (SELECT id FROM approvals \
                     WHERE status = 'approved' AND (claimed_at IS NULL OR claimed_at < $2) \
                     ORDER BY decided_at LIMIT $3) \
                     AND status = 'approved' AND (claimed_at IS NULL OR claimed_at < $2) \
                     RETURNING {}",
                    $crate::sql::approvals::COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::approvals::ApprovalRow>(&sql)
                    .bind(now)
                    .bind(stale)
                    .bind(i64::from(limit))
                    .fetch_all(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn finish(
                &self,
                id: switchboard_domain::ApprovalId,
                status: &str,
                result: &str,
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "UPDATE approvals SET status = $1, result = $2, finished_at = $3 \
                     WHERE id = $4 AND status = 'approved'",
                )
                .bind(status)
                .bind(result)
                .bind(at)
                .bind(id.as_uuid())
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }
        }
    };
}

pub(crate) use approval_repo;
