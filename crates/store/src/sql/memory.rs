//! [`crate::MemoryRepo`] for both databases; only the full-text part differs (`search_sql`
//! and `match_query` of each backend).

use sqlx::types::Uuid;
use switchboard_domain::Timestamp;

use crate::memory::MemoryRecord;

pub(crate) const COLUMNS: &str = "m.id, m.org_id, m.scope_key, m.user_id, m.content, \
     m.content_hash, m.actor_kind, m.actor_id, m.created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct MemoryRow {
    id: Uuid,
    org_id: Uuid,
    scope_key: String,
    user_id: Option<Uuid>,
    content: String,
    content_hash: Vec<u8>,
    actor_kind: String,
    actor_id: Option<String>,
    created_at: Timestamp,
}

impl From<MemoryRow> for MemoryRecord {
    fn from(r: MemoryRow) -> Self {
        MemoryRecord {
            id: r.id.into(),
            org_id: r.org_id.into(),
            scope_key: r.scope_key,
            user_id: r.user_id.map(Into::into),
            content: r.content,
            content_hash: r.content_hash,
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct VectorRow {
    #[sqlx(flatten)]
    memory: MemoryRow,
    embedding: Vec<u8>,
}

impl From<VectorRow> for (MemoryRecord, Vec<u8>) {
    fn from(r: VectorRow) -> Self {
        (r.memory.into(), r.embedding)
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct HitRow {
    #[sqlx(flatten)]
    memory: MemoryRow,
    score: f64,
}

impl From<HitRow> for crate::memory::MemoryHit {
    fn from(r: HitRow) -> Self {
        crate::memory::MemoryHit {
            memory: r.memory.into(),
            score: r.score,
        }
    }
}

/// `$first, $first+1, …` for `n` values.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Words that say nothing about what is searched for (English function words). SQLite's
/// tokenizer keeps them, so leaving them in a query would match nearly everything;
/// PostgreSQL's `english` configuration drops them anyway.
const STOPWORDS: &[&str] = &[
    "a", "about", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from",
    "has", "have", "how", "i", "if", "in", "is", "it", "its", "me", "my", "of", "on", "or", "our",
    "should", "so", "that", "the", "their", "there", "this", "to", "us", "was", "we", "what",
    "when", "where", "which", "who", "why", "will", "with", "you", "your",
];

/// The words of `terms`, letters and digits only (whatever else a person typed), without
/// stopwords — unless nothing else is left.
pub(crate) fn words(terms: &[String]) -> Vec<String> {
    let all: Vec<String> = terms
        .iter()
        .flat_map(|t| {
            t.split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
        })
        .take(32)
        .collect();
    let meaningful: Vec<String> = all
        .iter()
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .cloned()
        .collect();
    if meaningful.is_empty() {
        all
    } else {
        meaningful
    }
}

/// `$db`, and the backend's full-text pieces: `$search` — the FROM/WHERE of a search with
/// `$1` the organisation, `$2` the match query, `{scopes}` the scope placeholders, and a
/// `score` column; `$query` — fn(&[String]) -> String, the match query for the words.
macro_rules! memory_repo {
    ($db:ty, $search:expr, $query:path) => {
        #[async_trait::async_trait]
        impl $crate::memory::MemoryRepo for $db {
            async fn remember(
                &self,
                m: &$crate::memory::MemoryRecord,
            ) -> Result<($crate::memory::MemoryRecord, bool), $crate::StoreError> {
                let done = sqlx::query(
                    "INSERT INTO memories (id, org_id, scope_key, user_id, content, content_hash, \
                     actor_kind, actor_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (org_id, scope_key, content_hash) DO NOTHING",
                )
                .bind(m.id.as_uuid())
                .bind(m.org_id.as_uuid())
                .bind(&m.scope_key)
                .bind(m.user_id.map(|u| u.as_uuid()))
                .bind(&m.content)
                .bind(&m.content_hash)
                .bind(&m.actor_kind)
                .bind(&m.actor_id)
                .bind(m.created_at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                if done.rows_affected() == 1 {
                    return Ok((m.clone(), true));
                }
                let sql = format!(
                    "SELECT {} FROM memories m WHERE m.org_id = $1 AND m.scope_key = $2 \
                     AND m.content_hash = $3",
                    $crate::sql::memory::COLUMNS
                );
                let existing = sqlx::query_as::<_, $crate::sql::memory::MemoryRow>(&sql)
                    .bind(m.org_id.as_uuid())
                    .bind(&m.scope_key)
                    .bind(&m.content_hash)
                    .fetch_one(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok((existing.into(), false))
            }

            async fn get(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::MemoryId,
            ) -> Result<Option<$crate::memory::MemoryRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM memories m WHERE m.org_id = $1 AND m.id = $2",
                    $crate::sql::memory::COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::memory::MemoryRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(id.as_uuid())
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .map(Into::into))
            }

            async fn list(
                &self,
                org: switchboard_domain::OrgId,
                scopes: &[String],
                limit: u32,
            ) -> Result<Vec<$crate::memory::MemoryRecord>, $crate::StoreError> {
                if scopes.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "SELECT {} FROM memories m WHERE m.org_id = $1 AND m.scope_key IN ({}) \
                     ORDER BY m.created_at DESC, m.id DESC LIMIT {}",
                    $crate::sql::memory::COLUMNS,
                    $crate::sql::memory::placeholders(2, scopes.len()),
                    limit
                );
                let mut query =
                    sqlx::query_as::<_, $crate::sql::memory::MemoryRow>(&sql).bind(org.as_uuid());
                for s in scopes {
                    query = query.bind(s);
                }
                Ok(query
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn search(
                &self,
                org: switchboard_domain::OrgId,
                scopes: &[String],
                terms: &[String],
                limit: u32,
            ) -> Result<Vec<$crate::memory::MemoryHit>, $crate::StoreError> {
                let words = $crate::sql::memory::words(terms);
                if scopes.is_empty() || words.is_empty() {
                    return Ok(Vec::new());
                }
                let from = $search.replace(
                    "{scopes}",
                    &$crate::sql::memory::placeholders(3, scopes.len()),
                );
                let sql = format!(
                    "SELECT {}, {from} ORDER BY score DESC, m.created_at DESC LIMIT {}",
                    $crate::sql::memory::COLUMNS,
                    limit
                );
                let mut query = sqlx::query_as::<_, $crate::sql::memory::HitRow>(&sql)
                    .bind(org.as_uuid())
                    .bind($query(&words));
                for s in scopes {
                    query = query.bind(s);
                }
                Ok(query
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn forget(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::MemoryId,
            ) -> Result<(), $crate::StoreError> {
                let done = sqlx::query("DELETE FROM memories WHERE org_id = $1 AND id = $2")
                    .bind(org.as_uuid())
                    .bind(id.as_uuid())
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::one_row(done.rows_affected())
            }

            async fn set_embedding(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::MemoryId,
                model: &str,
                vector: &[u8],
            ) -> Result<(), $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE memories SET embedding = $1, embedding_model = $2 \
                     WHERE org_id = $3 AND id = $4",
                )
                .bind(vector)
                .bind(model)
                .bind(org.as_uuid())
                .bind(id.as_uuid())
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::one_row(done.rows_affected())
            }

            async fn with_embeddings(
                &self,
                org: switchboard_domain::OrgId,
                scopes: &[String],
                model: &str,
                limit: u32,
            ) -> Result<Vec<($crate::memory::MemoryRecord, Vec<u8>)>, $crate::StoreError> {
                if scopes.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "SELECT {}, m.embedding FROM memories m WHERE m.org_id = $1 \
                     AND m.embedding_model = $2 AND m.embedding IS NOT NULL \
                     AND m.scope_key IN ({}) ORDER BY m.created_at DESC, m.id DESC LIMIT {}",
                    $crate::sql::memory::COLUMNS,
                    $crate::sql::memory::placeholders(3, scopes.len()),
                    limit
                );
                let mut query = sqlx::query_as::<_, $crate::sql::memory::VectorRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(model);
                for s in scopes {
                    query = query.bind(s);
                }
                Ok(query
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

pub(crate) use memory_repo;

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn queries_keep_their_meaningful_words() {
        let w = |q: &str| words(&[q.to_owned()]);
        assert_eq!(
            w("How long do we keep INVOICES?"),
            ["long", "keep", "invoices"]
        );
        assert_eq!(w("\"NAS\" OR (backups*)"), ["nas", "backups"]);
        assert_eq!(
            w("the who"),
            ["the", "who"],
            "only stopwords: searched as typed"
        );
        assert!(w("?!").is_empty());
    }
}
