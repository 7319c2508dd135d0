//! Portable SQL for [`crate::AuditRepo`].

use switchboard_domain::Timestamp;
use uuid::Uuid;

use crate::AuditRecord;

pub(crate) const COLUMNS: &str =
    "id, org_id, seq, at, actor_kind, actor_id, kind, target, decision, details, prev_hash, hash";

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: Uuid,
    org_id: Uuid,
    seq: i64,
    at: Timestamp,
    actor_kind: String,
    actor_id: Option<String>,
    kind: String,
    target: Option<String>,
    decision: Option<String>,
    details: String,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

impl From<AuditRow> for AuditRecord {
    fn from(row: AuditRow) -> Self {
        AuditRecord {
            id: row.id.into(),
            org_id: row.org_id.into(),
            seq: row.seq,
            at: row.at,
            actor_kind: row.actor_kind,
            actor_id: row.actor_id,
            kind: row.kind,
            target: row.target,
            decision: row.decision,
            details: row.details,
            prev_hash: row.prev_hash,
            hash: row.hash,
        }
    }
}

/// The insert of one link, shared by both backends' locked appends.
pub(crate) const INSERT: &str = "INSERT INTO audit_events (id, org_id, seq, at, actor_kind, \
     actor_id, kind, target, decision, details, prev_hash, hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// Links per multi-row insert (12 parameters each, well below either database's limit).
pub(crate) const ROWS_PER_INSERT: usize = 200;

/// [`INSERT`] for `rows` links at once.
pub(crate) fn insert_rows(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let n = r * 12;
            let params: Vec<String> = (1..=12).map(|i| format!("${}", n + i)).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO audit_events (id, org_id, seq, at, actor_kind, actor_id, kind, target, \
         decision, details, prev_hash, hash) VALUES {}",
        values.join(", ")
    )
}

/// The head of a chain, read inside the append's transaction.
pub(crate) const HEAD: &str =
    "SELECT seq, hash FROM audit_events WHERE org_id = $1 ORDER BY seq DESC LIMIT 1";

/// Fills in `seq`, `prev_hash` and `hash` from the chain's head.
pub(crate) fn link(
    mut record: AuditRecord,
    head: Option<(i64, Vec<u8>)>,
    genesis: &[u8],
    hasher: &crate::audit::LinkHasher,
) -> AuditRecord {
    let (seq, prev_hash) = head.unwrap_or_else(|| (0, genesis.to_vec()));
    record.seq = seq + 1;
    record.prev_hash = prev_hash;
    record.hash = hasher(&record.prev_hash, &record);
    record
}

/// Binds one link to [`INSERT`].
macro_rules! bind_link {
    ($query:expr, $r:expr) => {
        $query
            .bind($r.id.as_uuid())
            .bind($r.org_id.as_uuid())
            .bind($r.seq)
            .bind($r.at)
            .bind(&$r.actor_kind)
            .bind(&$r.actor_id)
            .bind(&$r.kind)
            .bind(&$r.target)
            .bind(&$r.decision)
            .bind(&$r.details)
            .bind(&$r.prev_hash)
            .bind(&$r.hash)
    };
}
pub(crate) use bind_link;

/// The part of a locked append that is the same on both databases: read the head inside the
/// open transaction `$tx`, link the record, insert it and commit. Evaluates to the stored
/// record.
macro_rules! append_in_transaction {
    ($tx:ident, $record:expr, $genesis:expr, $hasher:expr) => {{
        let head: Option<(i64, Vec<u8>)> = sqlx::query_as($crate::sql::audit::HEAD)
            .bind($record.org_id.as_uuid())
            .fetch_optional(&mut *$tx)
            .await
            .map_err($crate::StoreError::from_sqlx)?;
        let record = $crate::sql::audit::link($record, head, $genesis, $hasher);
        $crate::sql::audit::bind_link!(sqlx::query($crate::sql::audit::INSERT), record)
            .execute(&mut *$tx)
            .await
            .map_err($crate::StoreError::from_sqlx)?;
        $tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
        record
    }};
}
pub(crate) use append_in_transaction;

/// The head of `$org`'s chain: from `$heads` (this transaction's own appends) or read in
/// the open transaction `$tx`.
macro_rules! chain_head {
    ($tx:ident, $heads:ident, $org:expr) => {
        match $heads.get(&$org) {
            Some(head) => Some(head.clone()),
            None => sqlx::query_as::<_, (i64, Vec<u8>)>($crate::sql::audit::HEAD)
                .bind($org)
                .fetch_optional(&mut *$tx)
                .await
                .map_err($crate::StoreError::from_sqlx)?,
        }
    };
}
pub(crate) use chain_head;

/// Links `$event` to its chain's head — from `$heads` (this transaction's own appends) or
/// read in `$tx` — inserts it and records the new head. Evaluates to the stored record.
macro_rules! append_link {
    ($tx:ident, $heads:ident, $event:expr, $genesis:expr, $hasher:expr) => {{
        let event = $event;
        let org = event.org_id.as_uuid();
        let head = $crate::sql::audit::chain_head!($tx, $heads, org);
        let record = $crate::sql::audit::link(event, head, $genesis, $hasher);
        $crate::sql::audit::bind_link!(sqlx::query($crate::sql::audit::INSERT), record)
            .execute(&mut *$tx)
            .await
            .map_err($crate::StoreError::from_sqlx)?;
        $heads.insert(org, (record.seq, record.hash.clone()));
        record
    }};
}
pub(crate) use append_link;

/// A batch of appends in the open transaction `$tx` (the chains' locks taken): each record
/// linked in order to its chain's head (read once per chain), all inserted by one
/// statement, then one commit. Evaluates to the stored records and the chains' new heads.
macro_rules! append_batch_in_transaction {
    ($tx:ident, $records:expr, $genesis:expr, $hasher:expr) => {{
        let mut heads: std::collections::HashMap<uuid::Uuid, (i64, Vec<u8>)> =
            std::collections::HashMap::new();
        let mut stored = Vec::new();
        for event in $records {
            let org = event.org_id.as_uuid();
            let head = $crate::sql::audit::chain_head!($tx, heads, org);
            let record = $crate::sql::audit::link(event, head, $genesis, $hasher);
            heads.insert(org, (record.seq, record.hash.clone()));
            stored.push(record);
        }
        for rows in stored.chunks($crate::sql::audit::ROWS_PER_INSERT) {
            let sql = $crate::sql::audit::insert_rows(rows.len());
            let mut query = sqlx::query(&sql);
            for r in rows {
                query = $crate::sql::audit::bind_link!(query, r);
            }
            query
                .execute(&mut *$tx)
                .await
                .map_err($crate::StoreError::from_sqlx)?;
        }
        $tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
        (stored, heads)
    }};
}
pub(crate) use append_batch_in_transaction;

macro_rules! audit_repo {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::AuditRepo for $db {
            async fn append(
                &self,
                record: $crate::AuditRecord,
                genesis: &[u8],
                hasher: &$crate::audit::LinkHasher,
            ) -> Result<$crate::AuditRecord, $crate::StoreError> {
                self.append_locked(record, genesis, hasher).await
            }

            async fn append_batch(
                &self,
                records: Vec<$crate::AuditRecord>,
                genesis: &[u8],
                hasher: &$crate::audit::LinkHasher,
            ) -> Result<Vec<$crate::AuditRecord>, $crate::StoreError> {
                if records.is_empty() {
                    return Ok(Vec::new());
                }
                self.append_batch_locked(records, genesis, hasher).await
            }

            async fn head(
                &self,
                org: switchboard_domain::OrgId,
            ) -> Result<Option<$crate::audit::ChainHead>, $crate::StoreError> {
                let row: Option<(i64, Vec<u8>)> = sqlx::query_as($crate::sql::audit::HEAD)
                .bind(org.as_uuid())
                .fetch_optional(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(row.map(|(seq, hash)| $crate::audit::ChainHead { seq, hash }))
            }

            async fn chain(
                &self,
                org: switchboard_domain::OrgId,
                after: i64,
                limit: u32,
            ) -> Result<Vec<$crate::AuditRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM audit_events WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                    $crate::sql::audit::COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::audit::AuditRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(after)
                    .bind(i64::from(limit))
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
                filter: &$crate::audit::AuditFilter,
            ) -> Result<Vec<$crate::AuditRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM audit_events WHERE org_id = $1 AND seq > $2 \
                     AND ($3 IS NULL OR substr(kind, 1, length($3)) = $3) \
                     AND ($4 IS NULL OR actor_id = $4) \
                     AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR at < $6) \
                     AND ($8 IS NULL OR seq < $8) \
                     ORDER BY seq {} LIMIT $7",
                    $crate::sql::audit::COLUMNS,
                    if filter.newest_first { "DESC" } else { "ASC" }
                );
                Ok(sqlx::query_as::<_, $crate::sql::audit::AuditRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(filter.after_seq)
                    .bind(filter.kind_prefix.as_deref())
                    .bind(filter.actor_id.as_deref())
                    .bind(filter.since)
                    .bind(filter.until)
                    .bind(i64::from(filter.limit))
                    .bind(filter.before_seq)
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn chains(&self) -> Result<Vec<switchboard_domain::OrgId>, $crate::StoreError> {
                let ids: Vec<uuid::Uuid> =
                    sqlx::query_scalar("SELECT DISTINCT org_id FROM audit_events ORDER BY org_id")
                        .fetch_all(self.reader())
                        .await
                        .map_err($crate::StoreError::from_sqlx)?;
                Ok(ids.into_iter().map(Into::into).collect())
            }
        }
    };
}
pub(crate) use audit_repo;
