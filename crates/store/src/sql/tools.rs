//! [`crate::ToolPolicyRepo`] for both databases.

macro_rules! tool_policy_repo {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::tools::ToolPolicyRepo for $db {
            async fn policy(
                &self,
                org: switchboard_domain::OrgId,
            ) -> Result<Option<String>, $crate::StoreError> {
                let row: Option<(String,)> =
                    sqlx::query_as("SELECT policy FROM org_tool_policy WHERE org_id = $1")
                        .bind(org.as_uuid())
                        .fetch_optional(self.reader())
                        .await
                        .map_err($crate::StoreError::from_sqlx)?;
                Ok(row.map(|(p,)| p))
            }

            async fn save_policy(
                &self,
                org: switchboard_domain::OrgId,
                policy: &str,
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO org_tool_policy (org_id, policy, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (org_id) DO UPDATE SET policy = excluded.policy, \
                     updated_at = excluded.updated_at",
                )
                .bind(org.as_uuid())
                .bind(policy)
                .bind(at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }
        }
    };
}

pub(crate) use tool_policy_repo;
