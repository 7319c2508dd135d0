//! [`crate::AgentRepo`] for both databases.

use sqlx::types::Uuid;
use switchboard_domain::Timestamp;

use crate::agents::AgentRecord;

pub(crate) const COLUMNS: &str = "id, org_id, slug, name, description, instructions, model, \
    max_steps, tools, min_role, skills, template, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct AgentRow {
    id: Uuid,
    org_id: Uuid,
    slug: String,
    name: String,
    description: String,
    instructions: String,
    model: Option<String>,
    max_steps: i64,
    tools: String,
    min_role: String,
    skills: String,
    template: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<AgentRow> for AgentRecord {
    fn from(r: AgentRow) -> Self {
        AgentRecord {
            id: r.id.into(),
            org_id: r.org_id.into(),
            slug: r.slug,
            name: r.name,
            description: r.description,
            instructions: r.instructions,
            model: r.model,
            max_steps: r.max_steps,
            tools: r.tools,
            min_role: r.min_role,
            skills: r.skills,
            template: r.template,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

macro_rules! agent_repo {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::agents::AgentRepo for $db {
            async fn insert(
                &self,
                a: &$crate::agents::AgentRecord,
            ) -> Result<(), $crate::StoreError> {
                let sql = format!(
                    "INSERT INTO agents ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                     $11, $12, $13, $14)",
                    $crate::sql::agents::COLUMNS
                );
                sqlx::query(&sql)
                    .bind(a.id.as_uuid())
                    .bind(a.org_id.as_uuid())
                    .bind(&a.slug)
                    .bind(&a.name)
                    .bind(&a.description)
                    .bind(&a.instructions)
                    .bind(&a.model)
                    .bind(a.max_steps)
                    .bind(&a.tools)
                    .bind(&a.min_role)
                    .bind(&a.skills)
                    .bind(&a.template)
                    .bind(a.created_at)
                    .bind(a.updated_at)
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn get(
                &self,
                org: switchboard_domain::OrgId,
                slug: &str,
            ) -> Result<Option<$crate::agents::AgentRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM agents WHERE org_id = $1 AND slug = $2",
                    $crate::sql::agents::COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::agents::AgentRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(slug)
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .map(Into::into))
            }

            async fn list(
                &self,
                org: switchboard_domain::OrgId,
            ) -> Result<Vec<$crate::agents::AgentRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM agents WHERE org_id = $1 ORDER BY slug",
                    $crate::sql::agents::COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::agents::AgentRow>(&sql)
                    .bind(org.as_uuid())
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn update(
                &self,
                a: &$crate::agents::AgentRecord,
            ) -> Result<(), $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE agents SET name = $1, description = $2, instructions = $3, \
                     model = $4, max_steps = $5, tools = $6, min_role = $7, skills = $8, \
                     template = $9, updated_at = $10 WHERE org_id = $11 AND slug = $12",
                )
                .bind(&a.name)
                .bind(&a.description)
                .bind(&a.instructions)
                .bind(&a.model)
                .bind(a.max_steps)
                .bind(&a.tools)
                .bind(&a.min_role)
                .bind(&a.skills)
                .bind(&a.template)
                .bind(a.updated_at)
                .bind(a.org_id.as_uuid())
                .bind(&a.slug)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::one_row(done.rows_affected())
            }

            async fn delete(
                &self,
                org: switchboard_domain::OrgId,
                slug: &str,
            ) -> Result<(), $crate::StoreError> {
                let done = sqlx::query("DELETE FROM agents WHERE org_id = $1 AND slug = $2")
                    .bind(org.as_uuid())
                    .bind(slug)
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::one_row(done.rows_affected())
            }
        }
    };
}

pub(crate) use agent_repo;
