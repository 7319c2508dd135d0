//! Portable SQL for [`crate::InviteRepo`].

use switchboard_domain::{Role, Timestamp};
use uuid::Uuid;

use crate::invites::InviteRecord;
use crate::StoreError;

pub(crate) const COLUMNS: &str = "id, org_id, email, role, token_hash, created_by, created_at, \
     expires_at, used_at, revoked_at";

#[derive(sqlx::FromRow)]
pub(crate) struct InviteRow {
    id: Uuid,
    org_id: Uuid,
    email: String,
    role: String,
    token_hash: Vec<u8>,
    created_by: Option<Uuid>,
    created_at: Timestamp,
    expires_at: Timestamp,
    used_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
}

impl TryFrom<InviteRow> for InviteRecord {
    type Error = StoreError;
    fn try_from(row: InviteRow) -> Result<Self, StoreError> {
        Ok(InviteRecord {
            id: row.id.into(),
            org_id: row.org_id.into(),
            email: row.email,
            role: row
                .role
                .parse::<Role>()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            token_hash: row.token_hash,
            created_by: row.created_by.map(Into::into),
            created_at: row.created_at,
            expires_at: row.expires_at,
            used_at: row.used_at,
            revoked_at: row.revoked_at,
        })
    }
}

macro_rules! invite_repo {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::invites::InviteRepo for $db {
            async fn insert(
                &self,
                i: &$crate::invites::InviteRecord,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO invites (id, org_id, email, role, token_hash, created_by, \
                     created_at, expires_at, used_at, revoked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(i.id.as_uuid())
                .bind(i.org_id.as_uuid())
                .bind(&i.email)
                .bind(i.role.as_str())
                .bind(&i.token_hash)
                .bind(i.created_by.map(|u| u.as_uuid()))
                .bind(i.created_at)
                .bind(i.expires_at)
                .bind(i.used_at)
                .bind(i.revoked_at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn get_by_token_hash(
                &self,
                hash: &[u8],
            ) -> Result<Option<$crate::invites::InviteRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM invites WHERE token_hash = $1",
                    $crate::sql::invites::COLUMNS
                );
                sqlx::query_as::<_, $crate::sql::invites::InviteRow>(&sql)
                    .bind(hash)
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .map($crate::invites::InviteRecord::try_from)
                    .transpose()
            }

            async fn list_open(
                &self,
                org: switchboard_domain::OrgId,
            ) -> Result<Vec<$crate::invites::InviteRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM invites WHERE org_id = $1 AND used_at IS NULL \
                     AND revoked_at IS NULL ORDER BY id DESC",
                    $crate::sql::invites::COLUMNS
                );
                sqlx::query_as::<_, $crate::sql::invites::InviteRow>(&sql)
                    .bind(org.as_uuid())
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map($crate::invites::InviteRecord::try_from)
                    .collect()
            }

            async fn mark_used(
                &self,
                id: switchboard_domain::InviteId,
                at: switchboard_domain::Timestamp,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE invites SET used_at = $2 \
                     WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL",
                )
                .bind(id.as_uuid())
                .bind(at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(done.rows_affected() == 1)
            }

            async fn revoke(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::InviteId,
                at: switchboard_domain::Timestamp,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE invites SET revoked_at = $3 WHERE org_id = $1 AND id = $2 \
                     AND used_at IS NULL AND revoked_at IS NULL",
                )
                .bind(org.as_uuid())
                .bind(id.as_uuid())
                .bind(at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}
pub(crate) use invite_repo;
