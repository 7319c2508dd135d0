//! Portable SQL for [`crate::MembershipRepo`].

use switchboard_domain::{Role, Timestamp, UserId};
use uuid::Uuid;

use crate::{MembershipRecord, StoreError};

pub(crate) const COLUMNS: &str = "org_id, user_id, role, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct MembershipRow {
    org_id: Uuid,
    user_id: Uuid,
    role: String,
    created_at: Timestamp,
}

/// A membership joined with its organisation (see `orgs_of_user`).
#[derive(sqlx::FromRow)]
pub(crate) struct MemberOrgRow {
    #[sqlx(flatten)]
    org: crate::sql::orgs::OrgRow,
    member_role: String,
    member_since: Timestamp,
}

/// A membership joined with its user (see `users_of_org`).
#[derive(sqlx::FromRow)]
pub(crate) struct MemberUserRow {
    #[sqlx(flatten)]
    user: crate::sql::users::UserRow,
    member_role: String,
    member_since: Timestamp,
}

impl MemberUserRow {
    pub(crate) fn into_pair(
        self,
        org: switchboard_domain::OrgId,
    ) -> Result<(MembershipRecord, crate::UserRecord), StoreError> {
        let user = crate::UserRecord::try_from(self.user)?;
        let membership = MembershipRecord {
            org_id: org,
            user_id: user.id,
            role: self
                .member_role
                .parse::<Role>()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            created_at: self.member_since,
        };
        Ok((membership, user))
    }
}

impl MemberOrgRow {
    pub(crate) fn into_pair(
        self,
        user: UserId,
    ) -> Result<(MembershipRecord, crate::OrgRecord), StoreError> {
        let org = crate::OrgRecord::try_from(self.org)?;
        let membership = MembershipRecord {
            org_id: org.id,
            user_id: user,
            role: self
                .member_role
                .parse::<Role>()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            created_at: self.member_since,
        };
        Ok((membership, org))
    }
}

impl TryFrom<MembershipRow> for MembershipRecord {
    type Error = StoreError;
    fn try_from(row: MembershipRow) -> Result<Self, StoreError> {
        Ok(MembershipRecord {
            org_id: row.org_id.into(),
            user_id: row.user_id.into(),
            role: row
                .role
                .parse::<Role>()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            created_at: row.created_at,
        })
    }
}

macro_rules! membership_repo {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::MembershipRepo for $db {
            async fn upsert(&self, m: &$crate::MembershipRecord) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO memberships (org_id, user_id, role, created_at) \
                     VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role",
                )
                .bind(m.org_id.as_uuid())
                .bind(m.user_id.as_uuid())
                .bind(m.role.as_str())
                .bind(m.created_at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn get(
                &self,
                org: switchboard_domain::OrgId,
                user: switchboard_domain::UserId,
            ) -> Result<Option<$crate::MembershipRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM memberships WHERE org_id = $1 AND user_id = $2",
                    $crate::sql::memberships::COLUMNS
                );
                sqlx::query_as::<_, $crate::sql::memberships::MembershipRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(user.as_uuid())
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .map($crate::MembershipRecord::try_from)
                    .transpose()
            }

            async fn list_for_user(
                &self,
                user: switchboard_domain::UserId,
            ) -> Result<Vec<$crate::MembershipRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM memberships WHERE user_id = $1 ORDER BY created_at, org_id",
                    $crate::sql::memberships::COLUMNS
                );
                sqlx::query_as::<_, $crate::sql::memberships::MembershipRow>(&sql)
                    .bind(user.as_uuid())
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map($crate::MembershipRecord::try_from)
                    .collect()
            }

            async fn orgs_of_user(
                &self,
                user: switchboard_domain::UserId,
            ) -> Result<Vec<($crate::MembershipRecord, $crate::OrgRecord)>, $crate::StoreError>
            {
                let columns: Vec<String> = $crate::sql::orgs::COLUMNS
                    .split(", ")
                    .map(|c| format!("o.{c}"))
                    .collect();
                let sql = format!(
                    "SELECT {}, m.role AS member_role, m.created_at AS member_since \
                     FROM memberships m JOIN organizations o ON o.id = m.org_id \
                     WHERE m.user_id = $1 AND o.status <> 'deleted' \
                     ORDER BY m.created_at, m.org_id",
                    columns.join(", ")
                );
                sqlx::query_as::<_, $crate::sql::memberships::MemberOrgRow>(&sql)
                    .bind(user.as_uuid())
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(|row| row.into_pair(user))
                    .collect()
            }

            async fn users_of_org(
                &self,
                org: switchboard_domain::OrgId,
            ) -> Result<Vec<($crate::MembershipRecord, $crate::UserRecord)>, $crate::StoreError>
            {
                let columns: Vec<String> = $crate::sql::users::COLUMNS
                    .split(',')
                    .map(|c| format!("u.{}", c.trim()))
                    .collect();
                let sql = format!(
                    "SELECT {}, m.role AS member_role, m.created_at AS member_since \
                     FROM memberships m JOIN users u ON u.id = m.user_id \
                     WHERE m.org_id = $1 ORDER BY m.created_at, m.user_id",
                    columns.join(", ")
                );
                sqlx::query_as::<_, $crate::sql::memberships::MemberUserRow>(&sql)
                    .bind(org.as_uuid())
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(|row| row.into_pair(org))
                    .collect()
            }

            async fn list_for_org(
                &self,
                org: switchboard_domain::OrgId,
            ) -> Result<Vec<$crate::MembershipRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM memberships WHERE org_id = $1 ORDER BY created_at, user_id",
                    $crate::sql::memberships::COLUMNS
                );
                sqlx::query_as::<_, $crate::sql::memberships::MembershipRow>(&sql)
                    .bind(org.as_uuid())
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map($crate::MembershipRecord::try_from)
                    .collect()
            }

            async fn change_role(
                &self,
                org: switchboard_domain::OrgId,
                user: switchboard_domain::UserId,
                role: switchboard_domain::Role,
            ) -> Result<$crate::memberships::OwnerGuarded, $crate::StoreError> {
                // One statement: the owner count is read under the same write as the change.
                let done = sqlx::query(
                    "UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2 \
                     AND ($3 = 'owner' OR role <> 'owner' OR \
                     (SELECT COUNT(*) FROM memberships m \
                      WHERE m.org_id = $1 AND m.role = 'owner') > 1)",
                )
                .bind(org.as_uuid())
                .bind(user.as_uuid())
                .bind(role.as_str())
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                self.owner_guarded(org, user, done.rows_affected()).await
            }

            async fn remove(
                &self,
                org: switchboard_domain::OrgId,
                user: switchboard_domain::UserId,
            ) -> Result<$crate::memberships::OwnerGuarded, $crate::StoreError> {
                let done = sqlx::query(
                    "DELETE FROM memberships WHERE org_id = $1 AND user_id = $2 \
                     AND (role <> 'owner' OR \
                     (SELECT COUNT(*) FROM memberships m \
                      WHERE m.org_id = $1 AND m.role = 'owner') > 1)",
                )
                .bind(org.as_uuid())
                .bind(user.as_uuid())
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                self.owner_guarded(org, user, done.rows_affected()).await
            }
        }

        impl $db {
            async fn owner_guarded(
                &self,
                org: switchboard_domain::OrgId,
                user: switchboard_domain::UserId,
                affected: u64,
            ) -> Result<$crate::memberships::OwnerGuarded, $crate::StoreError> {
                use $crate::memberships::OwnerGuarded;
                if affected > 0 {
                    return Ok(OwnerGuarded::Done);
                }
                let exists = $crate::MembershipRepo::get(self, org, user)
                    .await?
                    .is_some();
                Ok(if exists {
                    OwnerGuarded::LastOwner
                } else {
                    OwnerGuarded::NotFound
                })
            }
        }
    };
}
pub(crate) use membership_repo;
