//! [`crate::ProjectRepo`] for both databases.

use sqlx::types::Uuid;
use switchboard_domain::Timestamp;

use crate::projects::{MilestoneRecord, ProjectRecord};

pub(crate) const COLUMNS: &str = "id, org_id, name, description, status, start_date, due_date, \
     actor_kind, actor_id, created_at, updated_at";
pub(crate) const MILESTONE_COLUMNS: &str = "id, org_id, project_id, title, status, progress, \
     due_date, position, created_at, updated_at";
/// `$1` the organisation, `$2` the status, `$3` the words.
pub(crate) const FILTER: &str = "org_id = $1 AND ($2 IS NULL OR status = $2) \
     AND ($3 IS NULL OR LOWER(name) LIKE $3 ESCAPE '\\' \
          OR LOWER(description) LIKE $3 ESCAPE '\\')";

#[derive(sqlx::FromRow)]
pub(crate) struct ProjectRow {
    id: Uuid,
    org_id: Uuid,
    name: String,
    description: String,
    status: String,
    start_date: Option<String>,
    due_date: Option<String>,
    actor_kind: String,
    actor_id: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<ProjectRow> for ProjectRecord {
    fn from(r: ProjectRow) -> Self {
        ProjectRecord {
            id: r.id.into(),
            org_id: r.org_id.into(),
            name: r.name,
            description: r.description,
            status: r.status,
            start_date: r.start_date,
            due_date: r.due_date,
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MilestoneRow {
    id: Uuid,
    org_id: Uuid,
    project_id: Uuid,
    title: String,
    status: String,
    progress: i64,
    due_date: Option<String>,
    position: i64,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<MilestoneRow> for MilestoneRecord {
    fn from(r: MilestoneRow) -> Self {
        MilestoneRecord {
            id: r.id.into(),
            org_id: r.org_id.into(),
            project_id: r.project_id.into(),
            title: r.title,
            status: r.status,
            progress: r.progress,
            due_date: r.due_date,
            position: r.position,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Marks a project changed at `$at` inside `$tx`; `NotFound` when it is not there.
macro_rules! touch_project {
    ($tx:ident, $org:expr, $project:expr, $at:expr) => {{
        let done = sqlx::query("UPDATE projects SET updated_at = $1 WHERE org_id = $2 AND id = $3")
            .bind($at)
            .bind($org)
            .bind($project)
            .execute(&mut *$tx)
            .await
            .map_err($crate::StoreError::from_sqlx)?;
        $crate::sql::one_row(done.rows_affected())?;
    }};
}
pub(crate) use touch_project;

macro_rules! project_repo {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::projects::ProjectRepo for $db {
            async fn insert(
                &self,
                p: &$crate::projects::ProjectRecord,
                activity: &[$crate::workspace::ActivityRecord],
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.writer().begin().await.map_err($crate::StoreError::from_sqlx)?;
                let sql = format!(
                    "INSERT INTO projects ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    $crate::sql::projects::COLUMNS
                );
                sqlx::query(&sql)
                    .bind(p.id.as_uuid())
                    .bind(p.org_id.as_uuid())
                    .bind(&p.name)
                    .bind(&p.description)
                    .bind(&p.status)
                    .bind(&p.start_date)
                    .bind(&p.due_date)
                    .bind(&p.actor_kind)
                    .bind(&p.actor_id)
                    .bind(p.created_at)
                    .bind(p.updated_at)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::workspace::insert_activity!(tx, activity);
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn get(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::ProjectId,
            ) -> Result<Option<$crate::projects::ProjectRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM projects WHERE org_id = $1 AND id = $2",
                    $crate::sql::projects::COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::projects::ProjectRow>(&sql)
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
                text: Option<&str>,
                limit: u32,
                offset: u32,
            ) -> Result<(Vec<$crate::projects::ProjectRecord>, u64), $crate::StoreError> {
                let text = text.map($crate::sql::workspace::like_pattern);
                let sql = format!(
                    "SELECT {} FROM projects WHERE {} ORDER BY updated_at DESC, id DESC \
                     LIMIT $4 OFFSET $5",
                    $crate::sql::projects::COLUMNS,
                    $crate::sql::projects::FILTER
                );
                let rows = sqlx::query_as::<_, $crate::sql::projects::ProjectRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(status)
                    .bind(&text)
                    .bind(i64::from(limit))
                    .bind(i64::from(offset))
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                let sql = format!(
                    "SELECT COUNT(*) FROM projects WHERE {}",
                    $crate::sql::projects::FILTER
                );
                let total: i64 = sqlx::query_scalar(&sql)
                    .bind(org.as_uuid())
                    .bind(status)
                    .bind(&text)
                    .fetch_one(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok((rows.into_iter().map(Into::into).collect(), u64::try_from(total).unwrap_or(0)))
            }

            async fn update(
                &self,
                p: &$crate::projects::ProjectRecord,
                expected: switchboard_domain::Timestamp,
                activity: &[$crate::workspace::ActivityRecord],
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.writer().begin().await.map_err($crate::StoreError::from_sqlx)?;
                let done = sqlx::query(
                    "UPDATE projects SET name = $1, description = $2, status = $3, \
                     start_date = $4, due_date = $5, updated_at = $6 \
                     WHERE org_id = $7 AND id = $8 AND updated_at = $9",
                )
                .bind(&p.name)
                .bind(&p.description)
                .bind(&p.status)
                .bind(&p.start_date)
                .bind(&p.due_date)
                .bind(p.updated_at)
                .bind(p.org_id.as_uuid())
                .bind(p.id.as_uuid())
                .bind(expected)
                .execute(&mut *tx)
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                if done.rows_affected() == 0 {
                    return Err($crate::sql::workspace::stale_or_missing!(
                        tx,
                        "projects",
                        p.org_id.as_uuid(),
                        p.id.as_uuid(),
                        "project"
                    ));
                }
                $crate::sql::workspace::insert_activity!(tx, activity);
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn delete(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::ProjectId,
                activity: &[$crate::workspace::ActivityRecord],
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.writer().begin().await.map_err($crate::StoreError::from_sqlx)?;
                sqlx::query("DELETE FROM milestones WHERE org_id = $1 AND project_id = $2")
                    .bind(org.as_uuid())
                    .bind(id.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                let done = sqlx::query("DELETE FROM projects WHERE org_id = $1 AND id = $2")
                    .bind(org.as_uuid())
                    .bind(id.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::one_row(done.rows_affected())?;
                $crate::sql::workspace::insert_activity!(tx, activity);
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn milestones(
                &self,
                org: switchboard_domain::OrgId,
                project: switchboard_domain::ProjectId,
            ) -> Result<Vec<$crate::projects::MilestoneRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM milestones WHERE org_id = $1 AND project_id = $2 \
                     ORDER BY position, created_at, id",
                    $crate::sql::projects::MILESTONE_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::projects::MilestoneRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(project.as_uuid())
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn add_milestone(
                &self,
                m: &$crate::projects::MilestoneRecord,
                activity: &[$crate::workspace::ActivityRecord],
            ) -> Result<i64, $crate::StoreError> {
                let mut tx = self.writer().begin().await.map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::projects::touch_project!(tx, m.org_id.as_uuid(), m.project_id.as_uuid(), m.created_at);
                let sql = format!(
                    "INSERT INTO milestones ({}) SELECT $1, $2, $3, $4, $5, $6, $7, \
                     COALESCE(MAX(position), 0) + 1, $8, $9 FROM milestones WHERE project_id = $3 \
                     RETURNING position",
                    $crate::sql::projects::MILESTONE_COLUMNS
                );
                let position: i64 = sqlx::query_scalar(&sql)
                    .bind(m.id.as_uuid())
                    .bind(m.org_id.as_uuid())
                    .bind(m.project_id.as_uuid())
                    .bind(&m.title)
                    .bind(&m.status)
                    .bind(m.progress)
                    .bind(&m.due_date)
                    .bind(m.created_at)
                    .bind(m.updated_at)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::workspace::insert_activity!(tx, activity);
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(position)
            }

            async fn update_milestone(
                &self,
                m: &$crate::projects::MilestoneRecord,
                activity: &[$crate::workspace::ActivityRecord],
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.writer().begin().await.map_err($crate::StoreError::from_sqlx)?;
                let done = sqlx::query(
                    "UPDATE milestones SET title = $1, status = $2, progress = $3, due_date = $4, \
                     position = $5, updated_at = $6 WHERE org_id = $7 AND project_id = $8 AND id = $9",
                )
                .bind(&m.title)
                .bind(&m.status)
                .bind(m.progress)
                .bind(&m.due_date)
                .bind(m.position)
                .bind(m.updated_at)
                .bind(m.org_id.as_uuid())
                .bind(m.project_id.as_uuid())
                .bind(m.id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::one_row(done.rows_affected())?;
                $crate::sql::projects::touch_project!(tx, m.org_id.as_uuid(), m.project_id.as_uuid(), m.updated_at);
                $crate::sql::workspace::insert_activity!(tx, activity);
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn delete_milestone(
                &self,
                org: switchboard_domain::OrgId,
                project: switchboard_domain::ProjectId,
                id: switchboard_domain::MilestoneId,
                activity: &[$crate::workspace::ActivityRecord],
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.writer().begin().await.map_err($crate::StoreError::from_sqlx)?;
                let done = sqlx::query(
                    "DELETE FROM milestones WHERE org_id = $1 AND project_id = $2 AND id = $3",
                )
                .bind(org.as_uuid())
                .bind(project.as_uuid())
                .bind(id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::one_row(done.rows_affected())?;
                $crate::sql::workspace::insert_activity!(tx, activity);
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }
        }
    };
}

pub(crate) use project_repo;
