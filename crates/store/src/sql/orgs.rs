//! Portable SQL for [`crate::OrgRepo`].

use switchboard_domain::{OrgStatus, Slug, Timestamp};
use uuid::Uuid;

use crate::{OrgRecord, StoreError};

pub(crate) const COLUMNS: &str =
    "id, slug, name, domain, status, created_at, updated_at, deleted_at, require_totp, allow_sso_signup";

#[derive(sqlx::FromRow)]
pub(crate) struct OrgRow {
    pub(crate) id: Uuid,
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) domain: Option<String>,
    pub(crate) status: String,
    pub(crate) created_at: Timestamp,
    pub(crate) updated_at: Timestamp,
    pub(crate) deleted_at: Option<Timestamp>,
    pub(crate) require_totp: bool,
    pub(crate) allow_sso_signup: bool,
}

impl TryFrom<OrgRow> for OrgRecord {
    type Error = StoreError;
    fn try_from(row: OrgRow) -> Result<Self, StoreError> {
        Ok(OrgRecord {
            id: row.id.into(),
            slug: Slug::parse(&row.slug)
                .map_err(|e| StoreError::Corrupt(format!("organisation slug: {e}")))?,
            name: row.name,
            domain: row.domain,
            status: row
                .status
                .parse::<OrgStatus>()
                .map_err(StoreError::Corrupt)?,
            created_at: row.created_at,
            updated_at: row.updated_at,
            deleted_at: row.deleted_at,
            require_totp: row.require_totp,
            allow_sso_signup: row.allow_sso_signup,
        })
    }
}

/// The `INSERT` of an organisation, bound; `.execute(...)` it on a pool or transaction.
macro_rules! insert_org {
    ($org:expr) => {
        sqlx::query(
            "INSERT INTO organizations \
             (id, slug, name, domain, status, created_at, updated_at, deleted_at, \
             require_totp, allow_sso_signup) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind($org.id.as_uuid())
        .bind($org.slug.as_str())
        .bind(&$org.name)
        .bind(&$org.domain)
        .bind($org.status.as_str())
        .bind($org.created_at)
        .bind($org.updated_at)
        .bind($org.deleted_at)
        .bind($org.require_totp)
        .bind($org.allow_sso_signup)
    };
}
pub(crate) use insert_org;

macro_rules! org_repo {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::OrgRepo for $db {
            async fn insert(&self, org: &$crate::OrgRecord) -> Result<(), $crate::StoreError> {
                $crate::sql::orgs::insert_org!(org)
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn get(
                &self,
                id: switchboard_domain::OrgId,
            ) -> Result<Option<$crate::OrgRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM organizations WHERE id = $1",
                    $crate::sql::orgs::COLUMNS
                );
                sqlx::query_as::<_, $crate::sql::orgs::OrgRow>(&sql)
                    .bind(id.as_uuid())
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .map($crate::OrgRecord::try_from)
                    .transpose()
            }

            async fn get_by_slug(
                &self,
                slug: &str,
            ) -> Result<Option<$crate::OrgRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM organizations WHERE slug = $1",
                    $crate::sql::orgs::COLUMNS
                );
                sqlx::query_as::<_, $crate::sql::orgs::OrgRow>(&sql)
                    .bind(slug)
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .map($crate::OrgRecord::try_from)
                    .transpose()
            }

            async fn list(&self) -> Result<Vec<$crate::OrgRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM organizations ORDER BY id",
                    $crate::sql::orgs::COLUMNS
                );
                sqlx::query_as::<_, $crate::sql::orgs::OrgRow>(&sql)
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map($crate::OrgRecord::try_from)
                    .collect()
            }

            async fn count(&self) -> Result<u64, $crate::StoreError> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organizations")
                    .fetch_one(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::count(n)
            }

            async fn set_status(
                &self,
                id: switchboard_domain::OrgId,
                status: switchboard_domain::OrgStatus,
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                let deleted_at = (status == switchboard_domain::OrgStatus::Deleted).then_some(at);
                let done = sqlx::query(
                    "UPDATE organizations SET status = $2, updated_at = $3, \
                     deleted_at = COALESCE($4, deleted_at) WHERE id = $1",
                )
                .bind(id.as_uuid())
                .bind(status.as_str())
                .bind(at)
                .bind(deleted_at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::NotFound);
                }
                Ok(())
            }

            async fn update_settings(
                &self,
                id: switchboard_domain::OrgId,
                require_totp: bool,
                allow_sso_signup: bool,
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE organizations SET require_totp = $2, allow_sso_signup = $3, \
                     updated_at = $4 WHERE id = $1",
                )
                .bind(id.as_uuid())
                .bind(require_totp)
                .bind(allow_sso_signup)
                .bind(at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::NotFound);
                }
                Ok(())
            }

            async fn member_counts(
                &self,
            ) -> Result<Vec<(switchboard_domain::OrgId, u64)>, $crate::StoreError> {
                let rows: Vec<(uuid::Uuid, i64)> =
                    sqlx::query_as("SELECT org_id, COUNT(*) FROM memberships GROUP BY org_id")
                        .fetch_all(self.reader())
                        .await
                        .map_err($crate::StoreError::from_sqlx)?;
                rows.into_iter()
                    .map(|(id, n)| Ok((id.into(), $crate::sql::count(n)?)))
                    .collect()
            }

            async fn deleted_before(
                &self,
                before: switchboard_domain::Timestamp,
            ) -> Result<Vec<$crate::OrgRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM organizations WHERE status = 'deleted' AND deleted_at < $1 \
                     ORDER BY deleted_at",
                    $crate::sql::orgs::COLUMNS
                );
                sqlx::query_as::<_, $crate::sql::orgs::OrgRow>(&sql)
                    .bind(before)
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(TryInto::try_into)
                    .collect()
            }

            async fn purge(
                &self,
                id: switchboard_domain::OrgId,
            ) -> Result<u64, $crate::StoreError> {
                let mut tx = self
                    .writer()
                    .begin()
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                let status: Option<String> =
                    sqlx::query_scalar("SELECT status FROM organizations WHERE id = $1")
                        .bind(id.as_uuid())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err($crate::StoreError::from_sqlx)?;
                if status.as_deref() != Some("deleted") {
                    return Err($crate::StoreError::NotFound);
                }
                let mut removed = 0;
                sqlx::query("UPDATE sessions SET org_id = NULL WHERE org_id = $1")
                    .bind(id.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                for sql in [
                    "DELETE FROM memberships WHERE org_id = $1",
                    "DELETE FROM api_keys WHERE org_id = $1",
                    "DELETE FROM invites WHERE org_id = $1",
                    "DELETE FROM gateway_keys WHERE org_id = $1",
                    "DELETE FROM usage_records WHERE org_id = $1",
                    "DELETE FROM org_llm_settings WHERE org_id = $1",
                    "DELETE FROM org_llm_providers WHERE org_id = $1",
                    "DELETE FROM org_tool_policy WHERE org_id = $1",
                    "DELETE FROM conversations WHERE org_id = $1",
                    "DELETE FROM agents WHERE org_id = $1",
                    "DELETE FROM item_comments WHERE org_id = $1",
                    "DELETE FROM work_items WHERE org_id = $1",
                    "DELETE FROM activity WHERE org_id = $1",
                    "DELETE FROM milestones WHERE org_id = $1",
                    "DELETE FROM projects WHERE org_id = $1",
                    "DELETE FROM memories WHERE org_id = $1",
                    "DELETE FROM documents WHERE org_id = $1",
                    "DELETE FROM task_events WHERE org_id = $1",
                    "DELETE FROM task_templates WHERE org_id = $1",
                    "DELETE FROM tasks WHERE org_id = $1",
                    "DELETE FROM fleet_agents WHERE org_id = $1",
                    "DELETE FROM registration_tokens WHERE org_id = $1",
                    "DELETE FROM approvals WHERE org_id = $1",
                    "DELETE FROM webhook_deliveries WHERE org_id = $1",
                    "DELETE FROM webhooks WHERE org_id = $1",
                    "DELETE FROM sealed_secrets WHERE org_id = $1",
                    "DELETE FROM audit_events WHERE org_id = $1",
                    "DELETE FROM organizations WHERE id = $1",
                ] {
                    removed += sqlx::query(sql)
                        .bind(id.as_uuid())
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::StoreError::from_sqlx)?
                        .rows_affected();
                }
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(removed)
            }
        }
    };
}
pub(crate) use org_repo;
