//! Portable SQL for [`crate::SecretRepo`].

use switchboard_domain::Timestamp;
use uuid::Uuid;

use crate::{SealedRecord, WrappedKey};

pub(crate) const COLUMNS: &str =
    "id, org_id, purpose, key_id, wrapped_key, nonce, ciphertext, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct SealedRow {
    id: Uuid,
    org_id: Option<Uuid>,
    purpose: String,
    key_id: String,
    wrapped_key: Vec<u8>,
    nonce: Vec<u8>,
    ciphertext: Vec<u8>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<SealedRow> for SealedRecord {
    fn from(row: SealedRow) -> Self {
        SealedRecord {
            id: row.id.into(),
            org_id: row.org_id.map(Into::into),
            purpose: row.purpose,
            key_id: row.key_id,
            wrapped_key: row.wrapped_key,
            nonce: row.nonce,
            ciphertext: row.ciphertext,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct WrappedKeyRow {
    id: Uuid,
    org_id: Option<Uuid>,
    purpose: String,
    key_id: String,
    wrapped_key: Vec<u8>,
}

impl From<WrappedKeyRow> for WrappedKey {
    fn from(row: WrappedKeyRow) -> Self {
        WrappedKey {
            id: row.id.into(),
            org_id: row.org_id.map(Into::into),
            purpose: row.purpose,
            key_id: row.key_id,
            wrapped_key: row.wrapped_key,
        }
    }
}

/// Inserts a sealed record through `$executor` (a pool or an open transaction).
macro_rules! insert_sealed {
    ($executor:expr, $r:expr) => {
        sqlx::query(
            "INSERT INTO sealed_secrets (id, org_id, purpose, key_id, wrapped_key, \
             nonce, ciphertext, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind($r.id.as_uuid())
        .bind($r.org_id.map(|id| id.as_uuid()))
        .bind(&$r.purpose)
        .bind(&$r.key_id)
        .bind(&$r.wrapped_key)
        .bind(&$r.nonce)
        .bind(&$r.ciphertext)
        .bind($r.created_at)
        .bind($r.updated_at)
        .execute($executor)
        .await
        .map_err($crate::StoreError::from_sqlx)?
    };
}
pub(crate) use insert_sealed;

macro_rules! secret_repo {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::SecretRepo for $db {
            async fn insert(&self, r: &$crate::SealedRecord) -> Result<(), $crate::StoreError> {
                $crate::sql::secrets::insert_sealed!(self.writer(), r);
                Ok(())
            }

            async fn get(
                &self,
                id: switchboard_domain::SecretId,
            ) -> Result<Option<$crate::SealedRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM sealed_secrets WHERE id = $1",
                    $crate::sql::secrets::COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::secrets::SealedRow>(&sql)
                    .bind(id.as_uuid())
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .map(Into::into))
            }

            async fn replace(&self, r: &$crate::SealedRecord) -> Result<(), $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE sealed_secrets SET key_id = $2, wrapped_key = $3, nonce = $4, \
                     ciphertext = $5, updated_at = $6 WHERE id = $1",
                )
                .bind(r.id.as_uuid())
                .bind(&r.key_id)
                .bind(&r.wrapped_key)
                .bind(&r.nonce)
                .bind(&r.ciphertext)
                .bind(r.updated_at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::NotFound);
                }
                Ok(())
            }

            async fn delete(
                &self,
                id: switchboard_domain::SecretId,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query("DELETE FROM sealed_secrets WHERE id = $1")
                    .bind(id.as_uuid())
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn count(&self) -> Result<u64, $crate::StoreError> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sealed_secrets")
                    .fetch_one(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::count(n)
            }

            async fn key_ids_in_use(&self) -> Result<Vec<String>, $crate::StoreError> {
                sqlx::query_scalar("SELECT DISTINCT key_id FROM sealed_secrets ORDER BY key_id")
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)
            }

            async fn keys_not_wrapped_by(
                &self,
                current_key_id: &str,
                limit: u32,
            ) -> Result<Vec<$crate::WrappedKey>, $crate::StoreError> {
                Ok(sqlx::query_as::<_, $crate::sql::secrets::WrappedKeyRow>(
                    "SELECT id, org_id, purpose, key_id, wrapped_key FROM sealed_secrets \
                     WHERE key_id <> $1 ORDER BY id LIMIT $2",
                )
                .bind(current_key_id)
                .bind(i64::from(limit))
                .fetch_all(self.reader())
                .await
                .map_err($crate::StoreError::from_sqlx)?
                .into_iter()
                .map(Into::into)
                .collect())
            }

            async fn first_wrapped_by(
                &self,
                key_id: &str,
            ) -> Result<Option<$crate::WrappedKey>, $crate::StoreError> {
                Ok(sqlx::query_as::<_, $crate::sql::secrets::WrappedKeyRow>(
                    "SELECT id, org_id, purpose, key_id, wrapped_key FROM sealed_secrets \
                     WHERE key_id = $1 ORDER BY id LIMIT 1",
                )
                .bind(key_id)
                .fetch_optional(self.reader())
                .await
                .map_err($crate::StoreError::from_sqlx)?
                .map(Into::into))
            }

            async fn rewrap(
                &self,
                id: switchboard_domain::SecretId,
                old_key_id: &str,
                new_key_id: &str,
                wrapped_key: &[u8],
                at: switchboard_domain::Timestamp,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE sealed_secrets SET key_id = $3, wrapped_key = $4, updated_at = $5 \
                     WHERE id = $1 AND key_id = $2",
                )
                .bind(id.as_uuid())
                .bind(old_key_id)
                .bind(new_key_id)
                .bind(wrapped_key)
                .bind(at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}
pub(crate) use secret_repo;
