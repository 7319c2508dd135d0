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

/// A session, its user and the organisation the session is in (if the user is still a
/// member and it is not deleted), read by one join.
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
    m_role: Option<String>,
    o_id: Option<Uuid>,
    o_slug: Option<String>,
    o_name: Option<String>,
    o_domain: Option<String>,
    o_status: Option<String>,
    o_created_at: Option<Timestamp>,
    o_updated_at: Option<Timestamp>,
    o_deleted_at: Option<Timestamp>,
    o_require_totp: Option<bool>,
    o_allow_sso_signup: Option<bool>,
}

/// The `SELECT` behind [`SessionUserRow`], by token hash (made once: every signed-in request
/// runs it).
pub(crate) fn caller_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(build_caller_sql);
    &SQL
}

fn build_caller_sql() -> String {
    let prefixed = |table: &str, columns: &str, alias: bool| -> String {
        columns
            .split(',')
            .map(str::trim)
            .map(|c| {
                if alias {
                    format!("{table}.{c} AS {table}_{c}")
                } else {
                    format!("{table}.{c}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "SELECT {}, {}, m.role AS m_role, {} FROM sessions s JOIN users u ON u.id = s.user_id \
         LEFT JOIN memberships m ON m.user_id = s.user_id AND m.org_id = s.org_id \
         LEFT JOIN organizations o ON o.id = m.org_id AND o.status <> 'deleted' \
         WHERE s.token_hash = $1",
        prefixed("s", COLUMNS, true),
        prefixed("u", crate::sql::users::COLUMNS, false),
        prefixed("o", crate::sql::orgs::COLUMNS, true),
    )
}

impl TryFrom<SessionUserRow> for crate::sessions::Caller {
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
        let org = match (row.m_role, row.o_id, row.o_slug, row.o_name, row.o_status) {
            (Some(role), Some(id), Some(slug), Some(name), Some(status)) => {
                let corrupt = || StoreError::Corrupt("organisation row without a value".into());
                let org = crate::sql::orgs::OrgRow {
                    id,
                    slug,
                    name,
                    domain: row.o_domain,
                    status,
                    created_at: row.o_created_at.ok_or_else(corrupt)?,
                    updated_at: row.o_updated_at.ok_or_else(corrupt)?,
                    deleted_at: row.o_deleted_at,
                    require_totp: row.o_require_totp.ok_or_else(corrupt)?,
                    allow_sso_signup: row.o_allow_sso_signup.ok_or_else(corrupt)?,
                };
                let role = role
                    .parse::<switchboard_domain::Role>()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Some((crate::OrgRecord::try_from(org)?, role))
            }
            _ => None,
        };
        Ok(crate::sessions::Caller {
            session: session.try_into()?,
            user: row.user.try_into()?,
            org,
        })
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

            async fn caller(
                &self,
                hash: &[u8],
            ) -> Result<Option<$crate::sessions::Caller>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::sql::sessions::SessionUserRow>(
                    $crate::sql::sessions::caller_sql(),
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
