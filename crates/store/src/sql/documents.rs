//! [`crate::DocumentRepo`] for both databases; only the full-text search differs (`$search`
//! and `$query` of each backend).

use sqlx::types::Uuid;
use switchboard_domain::Timestamp;

use crate::documents::{DocumentHit, DocumentRecord};

pub(crate) const COLUMNS: &str = "d.id, d.org_id, d.name, d.content_type, d.format, d.size, \
     d.sha256, d.tags, d.text_note, d.file_id, d.actor_kind, d.actor_id, d.created_at, \
     d.updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct DocumentRow {
    id: Uuid,
    org_id: Uuid,
    name: String,
    content_type: String,
    format: String,
    size: i64,
    sha256: Vec<u8>,
    tags: String,
    text_note: Option<String>,
    file_id: Uuid,
    actor_kind: String,
    actor_id: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<DocumentRow> for DocumentRecord {
    fn from(r: DocumentRow) -> Self {
        DocumentRecord {
            id: r.id.into(),
            org_id: r.org_id.into(),
            name: r.name,
            content_type: r.content_type,
            format: r.format,
            size: r.size,
            sha256: r.sha256,
            tags: r.tags.split_whitespace().map(str::to_owned).collect(),
            text_note: r.text_note,
            file_id: r.file_id.into(),
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct HitRow {
    #[sqlx(flatten)]
    document: DocumentRow,
    snippet: Option<String>,
    score: f64,
}

impl From<HitRow> for DocumentHit {
    fn from(r: HitRow) -> Self {
        DocumentHit {
            document: r.document.into(),
            snippet: r.snippet.unwrap_or_default(),
            score: r.score,
        }
    }
}

/// Tags as stored: space-separated with a space at each end (so `% tag %` finds one).
pub(crate) fn stored_tags(tags: &[String]) -> String {
    format!(" {} ", tags.join(" "))
}

/// The LIKE pattern of documents carrying `tag` (tags hold no pattern characters but `_`).
pub(crate) fn tag_pattern(tag: Option<&str>) -> Option<String> {
    tag.map(|t| format!("% {} %", t.replace('\\', "\\\\").replace('_', "\\_")))
}

/// `$db`, and the backend's search: `$search` — a whole query with `{columns}` and `{limit}`
/// to fill, `$1` the organisation, `$2` the match query, `$3` the tag pattern (or NULL),
/// giving `score` and `snippet`; `$query` — fn(&[String]) -> String, the match query.
macro_rules! document_repo {
    ($db:ty, $search:expr, $query:path) => {
        #[async_trait::async_trait]
        impl $crate::documents::DocumentRepo for $db {
            async fn insert(
                &self,
                d: &$crate::documents::DocumentRecord,
                text: &str,
                file: &$crate::SealedRecord,
                activity: &[$crate::workspace::ActivityRecord],
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.writer().begin().await.map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::secrets::insert_sealed!(&mut *tx, file);
                sqlx::query(
                    "INSERT INTO documents (id, org_id, name, content_type, format, size, sha256, \
                     tags, body, text_note, file_id, actor_kind, actor_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                )
                .bind(d.id.as_uuid())
                .bind(d.org_id.as_uuid())
                .bind(&d.name)
                .bind(&d.content_type)
                .bind(&d.format)
                .bind(d.size)
                .bind(&d.sha256)
                .bind($crate::sql::documents::stored_tags(&d.tags))
                .bind(text)
                .bind(&d.text_note)
                .bind(d.file_id.as_uuid())
                .bind(&d.actor_kind)
                .bind(&d.actor_id)
                .bind(d.created_at)
                .bind(d.updated_at)
                .execute(&mut *tx)
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::workspace::insert_activity!(tx, activity);
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn get(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::DocumentId,
            ) -> Result<Option<$crate::documents::DocumentRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM documents d WHERE d.org_id = $1 AND d.id = $2",
                    $crate::sql::documents::COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::documents::DocumentRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(id.as_uuid())
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .map(Into::into))
            }

            async fn text(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::DocumentId,
            ) -> Result<Option<String>, $crate::StoreError> {
                sqlx::query_scalar("SELECT body FROM documents WHERE org_id = $1 AND id = $2")
                    .bind(org.as_uuid())
                    .bind(id.as_uuid())
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)
            }

            async fn list(
                &self,
                org: switchboard_domain::OrgId,
                q: &$crate::documents::DocumentQuery,
            ) -> Result<(Vec<$crate::documents::DocumentRecord>, u64), $crate::StoreError> {
                let filter = "d.org_id = $1 AND ($2 IS NULL OR d.tags LIKE $2 ESCAPE '\\')";
                let tag = $crate::sql::documents::tag_pattern(q.tag.as_deref());
                let sql = format!(
                    "SELECT {} FROM documents d WHERE {filter} \
                     ORDER BY d.created_at DESC, d.id DESC LIMIT {} OFFSET {}",
                    $crate::sql::documents::COLUMNS,
                    q.limit,
                    q.offset
                );
                let rows = sqlx::query_as::<_, $crate::sql::documents::DocumentRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(&tag)
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                let total: i64 =
                    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM documents d WHERE {filter}"))
                        .bind(org.as_uuid())
                        .bind(&tag)
                        .fetch_one(self.reader())
                        .await
                        .map_err($crate::StoreError::from_sqlx)?;
                Ok((
                    rows.into_iter().map(Into::into).collect(),
                    u64::try_from(total).unwrap_or(0),
                ))
            }

            async fn search(
                &self,
                org: switchboard_domain::OrgId,
                terms: &[String],
                tag: Option<&str>,
                limit: u32,
            ) -> Result<Vec<$crate::documents::DocumentHit>, $crate::StoreError> {
                let words = $crate::sql::memory::words(terms);
                if words.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = $search
                    .replace("{columns}", $crate::sql::documents::COLUMNS)
                    .replace("{limit}", &limit.to_string());
                Ok(sqlx::query_as::<_, $crate::sql::documents::HitRow>(&sql)
                    .bind(org.as_uuid())
                    .bind($query(&words))
                    .bind($crate::sql::documents::tag_pattern(tag))
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn set_tags(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::DocumentId,
                tags: &[String],
                expected: switchboard_domain::Timestamp,
                at: switchboard_domain::Timestamp,
                activity: &[$crate::workspace::ActivityRecord],
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.writer().begin().await.map_err($crate::StoreError::from_sqlx)?;
                let done = sqlx::query(
                    "UPDATE documents SET tags = $1, updated_at = $2 \
                     WHERE org_id = $3 AND id = $4 AND updated_at = $5",
                )
                .bind($crate::sql::documents::stored_tags(tags))
                .bind(at)
                .bind(org.as_uuid())
                .bind(id.as_uuid())
                .bind(expected)
                .execute(&mut *tx)
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                if done.rows_affected() == 0 {
                    return Err($crate::sql::workspace::stale_or_missing!(
                        tx,
                        "documents",
                        org.as_uuid(),
                        id.as_uuid(),
                        "document"
                    ));
                }
                $crate::sql::workspace::insert_activity!(tx, activity);
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn delete(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::DocumentId,
                activity: &[$crate::workspace::ActivityRecord],
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.writer().begin().await.map_err($crate::StoreError::from_sqlx)?;
                let file: Option<sqlx::types::Uuid> = sqlx::query_scalar(
                    "DELETE FROM documents WHERE org_id = $1 AND id = $2 RETURNING file_id",
                )
                .bind(org.as_uuid())
                .bind(id.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                let file = file.ok_or($crate::StoreError::NotFound)?;
                sqlx::query("DELETE FROM sealed_secrets WHERE org_id = $1 AND id = $2")
                    .bind(org.as_uuid())
                    .bind(file)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::workspace::insert_activity!(tx, activity);
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }
        }
    };
}

pub(crate) use document_repo;
