//! [`crate::ConversationRepo`] for both databases.

use sqlx::types::Uuid;
use switchboard_domain::Timestamp;

use crate::conversations::{ConversationRecord, MessageRecord};

pub(crate) const COLUMNS: &str = "id, org_id, user_id, title, agent, created_at, updated_at";
pub(crate) const MESSAGE_COLUMNS: &str =
    "id, conversation_id, org_id, seq, role, body, run_id, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct ConversationRow {
    id: Uuid,
    org_id: Uuid,
    user_id: Uuid,
    title: String,
    agent: String,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<ConversationRow> for ConversationRecord {
    fn from(r: ConversationRow) -> Self {
        ConversationRecord {
            id: r.id.into(),
            org_id: r.org_id.into(),
            user_id: r.user_id.into(),
            title: r.title,
            agent: r.agent,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRow {
    id: Uuid,
    conversation_id: Uuid,
    org_id: Uuid,
    seq: i64,
    role: String,
    body: String,
    run_id: Option<Uuid>,
    created_at: Timestamp,
}

impl From<MessageRow> for MessageRecord {
    fn from(r: MessageRow) -> Self {
        MessageRecord {
            id: r.id.into(),
            conversation_id: r.conversation_id.into(),
            org_id: r.org_id.into(),
            seq: r.seq,
            role: r.role,
            body: r.body,
            run_id: r.run_id.map(Into::into),
            created_at: r.created_at,
        }
    }
}

macro_rules! conversation_repo {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::conversations::ConversationRepo for $db {
            async fn insert(
                &self,
                c: &$crate::conversations::ConversationRecord,
            ) -> Result<(), $crate::StoreError> {
                let sql = format!(
                    "INSERT INTO conversations ({}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    $crate::sql::conversations::COLUMNS
                );
                sqlx::query(&sql)
                    .bind(c.id.as_uuid())
                    .bind(c.org_id.as_uuid())
                    .bind(c.user_id.as_uuid())
                    .bind(&c.title)
                    .bind(&c.agent)
                    .bind(c.created_at)
                    .bind(c.updated_at)
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn get(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::ConversationId,
            ) -> Result<Option<$crate::conversations::ConversationRecord>, $crate::StoreError>
            {
                let sql = format!(
                    "SELECT {} FROM conversations WHERE org_id = $1 AND id = $2",
                    $crate::sql::conversations::COLUMNS
                );
                Ok(
                    sqlx::query_as::<_, $crate::sql::conversations::ConversationRow>(&sql)
                        .bind(org.as_uuid())
                        .bind(id.as_uuid())
                        .fetch_optional(self.reader())
                        .await
                        .map_err($crate::StoreError::from_sqlx)?
                        .map(Into::into),
                )
            }

            async fn list(
                &self,
                org: switchboard_domain::OrgId,
                user: switchboard_domain::UserId,
                limit: u32,
            ) -> Result<Vec<$crate::conversations::ConversationRecord>, $crate::StoreError>
            {
                let sql = format!(
                    "SELECT {} FROM conversations WHERE org_id = $1 AND user_id = $2 \
                     ORDER BY updated_at DESC, id DESC LIMIT $3",
                    $crate::sql::conversations::COLUMNS
                );
                Ok(
                    sqlx::query_as::<_, $crate::sql::conversations::ConversationRow>(&sql)
                        .bind(org.as_uuid())
                        .bind(user.as_uuid())
                        .bind(i64::from(limit))
                        .fetch_all(self.reader())
                        .await
                        .map_err($crate::StoreError::from_sqlx)?
                        .into_iter()
                        .map(Into::into)
                        .collect(),
                )
            }

            async fn rename(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::ConversationId,
                title: &str,
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE conversations SET title = $1, updated_at = $2 \
                     WHERE org_id = $3 AND id = $4",
                )
                .bind(title)
                .bind(at)
                .bind(org.as_uuid())
                .bind(id.as_uuid())
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::one_row(done.rows_affected())
            }

            async fn touch(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::ConversationId,
                title: &str,
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "UPDATE conversations SET title = $1, updated_at = $2 \
                     WHERE org_id = $3 AND id = $4",
                )
                .bind(title)
                .bind(at)
                .bind(org.as_uuid())
                .bind(id.as_uuid())
                .execute(self.relaxed_writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn delete(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::ConversationId,
            ) -> Result<(), $crate::StoreError> {
                let done = sqlx::query("DELETE FROM conversations WHERE org_id = $1 AND id = $2")
                    .bind(org.as_uuid())
                    .bind(id.as_uuid())
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::one_row(done.rows_affected())
            }

            async fn append_message(
                &self,
                m: &$crate::conversations::MessageRecord,
            ) -> Result<i64, $crate::StoreError> {
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    let result: Result<i64, _> = sqlx::query_scalar(
                        "INSERT INTO messages (id, conversation_id, org_id, seq, role, body, \
                         run_id, created_at) SELECT $1, $2, $3, COALESCE(MAX(seq), 0) + 1, $4, \
                         $5, $6, $7 FROM messages WHERE conversation_id = $2 RETURNING seq",
                    )
                    .bind(m.id.as_uuid())
                    .bind(m.conversation_id.as_uuid())
                    .bind(m.org_id.as_uuid())
                    .bind(&m.role)
                    .bind(&m.body)
                    .bind(m.run_id.map(|r| r.as_uuid()))
                    .bind(m.created_at)
                    .fetch_one(self.relaxed_writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx);
                    match result {
                        Err($crate::StoreError::Conflict(_)) if attempt < 5 => continue,
                        Err(e) => return Err(e),
                        Ok(seq) => return Ok(seq),
                    }
                }
            }

            async fn messages(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::ConversationId,
            ) -> Result<Vec<$crate::conversations::MessageRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM messages WHERE org_id = $1 AND conversation_id = $2 \
                     ORDER BY seq",
                    $crate::sql::conversations::MESSAGE_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::conversations::MessageRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(id.as_uuid())
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }
        }
    };
}

pub(crate) use conversation_repo;
