//! Portable SQL for [`crate::SessionRepo`].

use switchboard_domain::Timestamp;
use uuid::Uuid;

use crate::sessions::SessionRecord;
use crate::StoreError;

pub(crate) const COLUMNS: &str =
    "id, token_hash, user_id, org_id, created_at, last_seen_at, expires_at, revoked_at";

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    id: Uuid,
    token_hash: Vec<u8>,
    user_id: Uuid,
    org_id: Option<Uuid>,
    created_at: Timestamp,
    last_seen_at: Timestamp,
    expires_at: Timestamp,
    revoked_at: Option<Timestamp>,
}

impl TryFrom<SessionRow> for SessionRecord {
    type Error = StoreError;
    fn try_from(row: SessionRow) -> Result<Self, StoreError> {
        Ok(SessionRecord {
            id: row.id.into(),
            token_hash: row.token_hash,
            user_id: row.user_id.into(),
            org_id: row.org_id.map(Into::into),
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        })
    }
}

/// A session and its user, read by one join.
#[derive(sqlx::FromRow)]
pub(crate) struct SessionUserRow {
    s_id: Uuid,
    s_token_hash: Vec<u8>,
    s_user_id: Uuid,
    s_org_id: Option<Uuid>,
    s_created_at: Timestamp,
    s_last_seen_at: Timestamp,
    s_expires_at: Timestamp,
    s_revoked_at: Option<Timestamp>,
    #[sqlx(flatten)]
    user: crate::sql::users::UserRow,
}

/// `SELECT` of a session (columns prefixed `s_`) joined with its user, by token hash.
pub(crate) fn with_user_sql() -> String {
    let session: Vec<String> = COLUMNS
        .split(", ")
        .map(|c| format!("s.{c} AS s_{c}"))
        .collect();
    let user: Vec<String> = crate::sql::users::COLUMNS
        .split(',')
        .map(|c| format!("u.{}", c.trim()))
        .collect();
    format!(
        "SELECT {}, {} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
        session.join(", "),
        user.join(", ")
    )
}

impl TryFrom<SessionUserRow> for (SessionRecord, crate::UserRecord) {
    type Error = StoreError;
    fn try_from(row: SessionUserRow) -> Result<Self, StoreError> {
        let session = SessionRow {
            id: row.s_id,
            token_hash: row.s_token_hash,
            user_id: row.s_user_id,
            org_id: row.s_org_id,
            created_at: row.s_created_at,
            last_seen_at: row.s_last_seen_at,
            expires_at: row.s_expires_at,
            revoked_at: row.s_revoked_at,
        };
        Ok((session.try_into()?, row.user.try_into()?))
    }
}

macro_rules! session_repo {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::sessions::SessionRepo for $db {
            async fn insert(
                &self,
                s: &$crate::sessions::SessionRecord,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO sessions (id, token_hash, user_id, org_id, created_at, \
                     last_seen_at, expires_at, revoked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(s.id.as_uuid())
                .bind(&s.token_hash)
                .bind(s.user_id.as_uuid())
                .bind(s.org_id.map(|o| o.as_uuid()))
                .bind(s.created_at)
                .bind(s.last_seen_at)
                .bind(s.expires_at)
                .bind(s.revoked_at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn get_by_token_hash(
                &self,
                hash: &[u8],
            ) -> Result<Option<$crate::sessions::SessionRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM sessions WHERE token_hash = $1",
                    $crate::sql::sessions::COLUMNS
                );
                sqlx::query_as::<_, $crate::sql::sessions::SessionRow>(&sql)
                    .bind(hash)
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .map($crate::sessions::SessionRecord::try_from)
                    .transpose()
            }

            async fn get_with_user(
                &self,
                hash: &[u8],
            ) -> Result<
                Option<($crate::sessions::SessionRecord, $crate::UserRecord)>,
                $crate::StoreError,
            > {
                sqlx::query_as::<_, $crate::sql::sessions::SessionUserRow>(
                    &$crate::sql::sessions::with_user_sql(),
                )
                .bind(hash)
                .fetch_optional(self.reader())
                .await
                .map_err($crate::StoreError::from_sqlx)?
                .map(TryInto::try_into)
                .transpose()
            }

            async fn touch(
                &self,
                id: switchboard_domain::SessionId,
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1")
                    .bind(id.as_uuid())
                    .bind(at)
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn set_org(
                &self,
                id: switchboard_domain::SessionId,
                org: Option<switchboard_domain::OrgId>,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query("UPDATE sessions SET org_id = $2 WHERE id = $1")
                    .bind(id.as_uuid())
                    .bind(org.map(|o| o.as_uuid()))
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn revoke(
                &self,
                id: switchboard_domain::SessionId,
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                )
                .bind(id.as_uuid())
                .bind(at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn revoke_all_for_user(
                &self,
                user: switchboard_domain::UserId,
                at: switchboard_domain::Timestamp,
            ) -> Result<u64, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
                )
                .bind(user.as_uuid())
                .bind(at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(done.rows_affected())
            }

            async fn purge_ended(
                &self,
                before: switchboard_domain::Timestamp,
            ) -> Result<u64, $crate::StoreError> {
                let done =
                    sqlx::query("DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1")
                        .bind(before)
                        .execute(self.writer())
                        .await
                        .map_err($crate::StoreError::from_sqlx)?;
                Ok(done.rows_affected())
            }
        }
    };
}
pub(crate) use session_repo;
