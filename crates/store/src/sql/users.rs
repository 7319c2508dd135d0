//! Portable SQL for [`crate::UserRepo`].

use switchboard_domain::Timestamp;
use uuid::Uuid;

use crate::{StoreError, UserRecord};

pub(crate) const COLUMNS: &str =
    "id, email, name, password_hash, is_operator, status, created_at, updated_at, \
     totp_secret_id, totp_enabled_at, totp_last_step";

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    email: String,
    name: String,
    password_hash: Option<String>,
    is_operator: bool,
    status: String,
    created_at: Timestamp,
    updated_at: Timestamp,
    totp_secret_id: Option<Uuid>,
    totp_enabled_at: Option<Timestamp>,
    totp_last_step: Option<i64>,
}

impl TryFrom<UserRow> for UserRecord {
    type Error = StoreError;
    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        Ok(UserRecord {
            id: row.id.into(),
            email: row.email,
            name: row.name,
            password_hash: row.password_hash,
            is_operator: row.is_operator,
            status: row.status.parse()?,
            created_at: row.created_at,
            updated_at: row.updated_at,
            totp_secret_id: row.totp_secret_id.map(Into::into),
            totp_enabled_at: row.totp_enabled_at,
            totp_last_step: row.totp_last_step,
        })
    }
}

/// The `INSERT` of a user, bound; `.execute(...)` it on a pool or transaction.
macro_rules! insert_user {
    ($user:expr) => {
        sqlx::query(
            "INSERT INTO users \
             (id, email, name, password_hash, is_operator, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind($user.id.as_uuid())
        .bind(&$user.email)
        .bind(&$user.name)
        .bind(&$user.password_hash)
        .bind($user.is_operator)
        .bind($user.status.as_str())
        .bind($user.created_at)
        .bind($user.updated_at)
    };
}
pub(crate) use insert_user;

macro_rules! user_repo {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::UserRepo for $db {
            async fn insert(&self, user: &$crate::UserRecord) -> Result<(), $crate::StoreError> {
                $crate::sql::users::insert_user!(user)
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn get(
                &self,
                id: switchboard_domain::UserId,
            ) -> Result<Option<$crate::UserRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM users WHERE id = $1",
                    $crate::sql::users::COLUMNS
                );
                sqlx::query_as::<_, $crate::sql::users::UserRow>(&sql)
                    .bind(id.as_uuid())
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .map($crate::UserRecord::try_from)
                    .transpose()
            }

            async fn get_by_email(
                &self,
                email: &str,
            ) -> Result<Option<$crate::UserRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM users WHERE email = $1",
                    $crate::sql::users::COLUMNS
                );
                sqlx::query_as::<_, $crate::sql::users::UserRow>(&sql)
                    .bind(email)
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .map($crate::UserRecord::try_from)
                    .transpose()
            }

            async fn count(&self) -> Result<u64, $crate::StoreError> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
                    .fetch_one(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::count(n)
            }

            async fn set_password(
                &self,
                id: switchboard_domain::UserId,
                password_hash: &str,
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1",
                )
                .bind(id.as_uuid())
                .bind(password_hash)
                .bind(at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::one_row(done.rows_affected())
            }

            async fn set_totp(
                &self,
                id: switchboard_domain::UserId,
                secret: Option<switchboard_domain::SecretId>,
                enabled_at: Option<switchboard_domain::Timestamp>,
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE users SET totp_secret_id = $2, totp_enabled_at = $3, \
                     totp_last_step = NULL, updated_at = $4 WHERE id = $1",
                )
                .bind(id.as_uuid())
                .bind(secret.map(|s| s.as_uuid()))
                .bind(enabled_at)
                .bind(at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::one_row(done.rows_affected())
            }

            async fn accept_totp_step(
                &self,
                id: switchboard_domain::UserId,
                step: i64,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE users SET totp_last_step = $2 WHERE id = $1 \
                     AND (totp_last_step IS NULL OR totp_last_step < $2)",
                )
                .bind(id.as_uuid())
                .bind(step)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(done.rows_affected() == 1)
            }

            async fn replace_backup_codes(
                &self,
                id: switchboard_domain::UserId,
                hashes: &[Vec<u8>],
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self
                    .writer()
                    .begin()
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                sqlx::query("DELETE FROM backup_codes WHERE user_id = $1")
                    .bind(id.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                for hash in hashes {
                    sqlx::query("INSERT INTO backup_codes (user_id, code_hash) VALUES ($1, $2)")
                        .bind(id.as_uuid())
                        .bind(hash)
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::StoreError::from_sqlx)?;
                }
                tx.commit().await.map_err($crate::StoreError::from_sqlx)
            }

            async fn use_backup_code(
                &self,
                id: switchboard_domain::UserId,
                hash: &[u8],
                at: switchboard_domain::Timestamp,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE backup_codes SET used_at = $3 \
                     WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
                )
                .bind(id.as_uuid())
                .bind(hash)
                .bind(at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(done.rows_affected() == 1)
            }

            async fn unused_backup_codes(
                &self,
                id: switchboard_domain::UserId,
            ) -> Result<u64, $crate::StoreError> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM backup_codes WHERE user_id = $1 AND used_at IS NULL",
                )
                .bind(id.as_uuid())
                .fetch_one(self.reader())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::count(n)
            }
        }
    };
}
pub(crate) use user_repo;
