//! Portable SQL for [`crate::UserRepo`].

use switchboard_domain::Timestamp;
use uuid::Uuid;

use crate::{StoreError, UserRecord};

pub(crate) const COLUMNS: &str =
    "id, email, name, password_hash, is_operator, status, created_at, updated_at";

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
        })
    }
}

macro_rules! user_repo {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::UserRepo for $db {
            async fn insert(&self, user: &$crate::UserRecord) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO users \
                     (id, email, name, password_hash, is_operator, status, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(user.id.as_uuid())
                .bind(&user.email)
                .bind(&user.name)
                .bind(&user.password_hash)
                .bind(user.is_operator)
                .bind(user.status.as_str())
                .bind(user.created_at)
                .bind(user.updated_at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn get(
                &self,
                id: switchboard_domain::UserId,
            ) -> Result<Option<$crate::UserRecord>, $crate::StoreError> {
                let sql =
                    format!("SELECT {} FROM users WHERE id = $1", $crate::sql::users::COLUMNS);
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
                let sql =
                    format!("SELECT {} FROM users WHERE email = $1", $crate::sql::users::COLUMNS);
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
        }
    };
}
pub(crate) use user_repo;
