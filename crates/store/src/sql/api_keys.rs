//! Portable SQL for [`crate::ApiKeyRepo`].

use switchboard_domain::{Role, Timestamp};
use uuid::Uuid;

use crate::api_keys::ApiKeyRecord;
use crate::StoreError;

pub(crate) const COLUMNS: &str = "id, org_id, name, prefix, key_hash, role, created_by, \
     created_at, expires_at, last_used_at, revoked_at";

#[derive(sqlx::FromRow)]
pub(crate) struct ApiKeyRow {
    id: Uuid,
    org_id: Uuid,
    name: String,
    prefix: String,
    key_hash: Vec<u8>,
    role: String,
    created_by: Option<Uuid>,
    created_at: Timestamp,
    expires_at: Option<Timestamp>,
    last_used_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
}

impl TryFrom<ApiKeyRow> for ApiKeyRecord {
    type Error = StoreError;
    fn try_from(row: ApiKeyRow) -> Result<Self, StoreError> {
        Ok(ApiKeyRecord {
            id: row.id.into(),
            org_id: row.org_id.into(),
            name: row.name,
            prefix: row.prefix,
            key_hash: row.key_hash,
            role: row
                .role
                .parse::<Role>()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            created_by: row.created_by.map(Into::into),
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        })
    }
}

macro_rules! api_key_repo {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::api_keys::ApiKeyRepo for $db {
            async fn insert(
                &self,
                k: &$crate::api_keys::ApiKeyRecord,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO api_keys (id, org_id, name, prefix, key_hash, role, created_by, \
                     created_at, expires_at, last_used_at, revoked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(k.id.as_uuid())
                .bind(k.org_id.as_uuid())
                .bind(&k.name)
                .bind(&k.prefix)
                .bind(&k.key_hash)
                .bind(k.role.as_str())
                .bind(k.created_by.map(|u| u.as_uuid()))
                .bind(k.created_at)
                .bind(k.expires_at)
                .bind(k.last_used_at)
                .bind(k.revoked_at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn get_by_hash(
                &self,
                hash: &[u8],
            ) -> Result<Option<$crate::api_keys::ApiKeyRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM api_keys WHERE key_hash = $1",
                    $crate::sql::api_keys::COLUMNS
                );
                sqlx::query_as::<_, $crate::sql::api_keys::ApiKeyRow>(&sql)
                    .bind(hash)
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .map($crate::api_keys::ApiKeyRecord::try_from)
                    .transpose()
            }

            async fn list_for_org(
                &self,
                org: switchboard_domain::OrgId,
            ) -> Result<Vec<$crate::api_keys::ApiKeyRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM api_keys WHERE org_id = $1 AND revoked_at IS NULL \
                     ORDER BY id DESC",
                    $crate::sql::api_keys::COLUMNS
                );
                sqlx::query_as::<_, $crate::sql::api_keys::ApiKeyRow>(&sql)
                    .bind(org.as_uuid())
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map($crate::api_keys::ApiKeyRecord::try_from)
                    .collect()
            }

            async fn revoke(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::ApiKeyId,
                at: switchboard_domain::Timestamp,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE api_keys SET revoked_at = $3 \
                     WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL",
                )
                .bind(org.as_uuid())
                .bind(id.as_uuid())
                .bind(at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(done.rows_affected() == 1)
            }

            async fn touch(
                &self,
                id: switchboard_domain::ApiKeyId,
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
                    .bind(id.as_uuid())
                    .bind(at)
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }
        }
    };
}
pub(crate) use api_key_repo;
