//! [`crate::WorkItemRepo`] for both databases.

use sqlx::types::Uuid;
use switchboard_domain::Timestamp;

use crate::workspace::{ActivityRecord, CommentRecord, ItemRecord};

pub(crate) const ITEM_COLUMNS: &str = "id, org_id, kind, number, title, description, category, \
     priority, status, actor_kind, actor_id, created_at, updated_at, resolved_at";
pub(crate) const COMMENT_COLUMNS: &str =
    "id, org_id, item_id, actor_kind, actor_id, author, body, internal, created_at";
pub(crate) const ACTIVITY_COLUMNS: &str = "id, org_id, subject_kind, subject_id, actor_kind, \
     actor_id, action, field, from_value, to_value, at";

/// The filter of a list (`$1` the organisation, `$2` the kind, then status, priority, text).
pub(crate) const ITEM_FILTER: &str = "org_id = $1 AND kind = $2 \
     AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR priority = $4) \
     AND ($5 IS NULL OR LOWER(title) LIKE $5 ESCAPE '\\' \
          OR LOWER(description) LIKE $5 ESCAPE '\\')";

#[derive(sqlx::FromRow)]
pub(crate) struct ItemRow {
    id: Uuid,
    org_id: Uuid,
    kind: String,
    number: i64,
    title: String,
    description: String,
    category: Option<String>,
    priority: String,
    status: String,
    actor_kind: String,
    actor_id: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
    resolved_at: Option<Timestamp>,
}

impl From<ItemRow> for ItemRecord {
    fn from(r: ItemRow) -> Self {
        ItemRecord {
            id: r.id.into(),
            org_id: r.org_id.into(),
            kind: r.kind,
            number: r.number,
            title: r.title,
            description: r.description,
            category: r.category,
            priority: r.priority,
            status: r.status,
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
            resolved_at: r.resolved_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CommentRow {
    id: Uuid,
    org_id: Uuid,
    item_id: Uuid,
    actor_kind: String,
    actor_id: Option<String>,
    author: String,
    body: String,
    internal: bool,
    created_at: Timestamp,
}

impl From<CommentRow> for CommentRecord {
    fn from(r: CommentRow) -> Self {
        CommentRecord {
            id: r.id.into(),
            org_id: r.org_id.into(),
            item_id: r.item_id.into(),
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            author: r.author,
            body: r.body,
            internal: r.internal,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ActivityRow {
    id: Uuid,
    org_id: Uuid,
    subject_kind: String,
    subject_id: Uuid,
    actor_kind: String,
    actor_id: Option<String>,
    action: String,
    field: Option<String>,
    from_value: Option<String>,
    to_value: Option<String>,
    at: Timestamp,
}

impl From<ActivityRow> for ActivityRecord {
    fn from(r: ActivityRow) -> Self {
        ActivityRecord {
            id: r.id.into(),
            org_id: r.org_id.into(),
            subject_kind: r.subject_kind,
            subject_id: r.subject_id,
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            action: r.action,
            field: r.field,
            from_value: r.from_value,
            to_value: r.to_value,
            at: r.at,
        }
    }
}

/// `%words%` for a case-insensitive LIKE, with the pattern characters escaped.
pub(crate) fn like_pattern(text: &str) -> String {
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The error of a compare-and-set update that touched no row, read inside the open
/// transaction `$tx`: `Conflict` if the row of `$table` is there (it changed meanwhile),
/// `NotFound` if not.
macro_rules! stale_or_missing {
    ($tx:ident, $table:literal, $org:expr, $id:expr, $what:literal) => {{
        let found: i64 = sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM ",
            $table,
            " WHERE org_id = $1 AND id = $2"
        ))
        .bind($org)
        .bind($id)
        .fetch_one(&mut *$tx)
        .await
        .map_err($crate::StoreError::from_sqlx)?;
        if found > 0 {
            $crate::StoreError::Conflict(concat!("the ", $what, " was changed meanwhile").into())
        } else {
            $crate::StoreError::NotFound
        }
    }};
}
pub(crate) use stale_or_missing;

/// Inserts activity entries inside the open transaction `$tx`.
macro_rules! insert_activity {
    ($tx:ident, $entries:expr) => {
        for a in $entries {
            let sql = format!(
                "INSERT INTO activity ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                $crate::sql::workspace::ACTIVITY_COLUMNS
            );
            sqlx::query(&sql)
                .bind(a.id.as_uuid())
                .bind(a.org_id.as_uuid())
                .bind(&a.subject_kind)
                .bind(a.subject_id)
                .bind(&a.actor_kind)
                .bind(&a.actor_id)
                .bind(&a.action)
                .bind(&a.field)
                .bind(&a.from_value)
                .bind(&a.to_value)
                .bind(a.at)
                .execute(&mut *$tx)
                .await
                .map_err($crate::StoreError::from_sqlx)?;
        }
    };
}
pub(crate) use insert_activity;

macro_rules! work_item_repo {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::workspace::WorkItemRepo for $db {
            async fn insert(
                &self,
                item: &$crate::workspace::ItemRecord,
                activity: &[$crate::workspace::ActivityRecord],
            ) -> Result<i64, $crate::StoreError> {
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    let result: Result<i64, $crate::StoreError> = async {
                        let mut tx = self
                            .writer()
                            .begin()
                            .await
                            .map_err($crate::StoreError::from_sqlx)?;
                        let sql = format!(
                            "INSERT INTO work_items ({}) SELECT $1, $2, $3, \
                             COALESCE(MAX(number), 0) + 1, $4, $5, $6, $7, $8, $9, $10, $11, \
                             $12, $13 FROM work_items WHERE org_id = $2 AND kind = $3 \
                             RETURNING number",
                            $crate::sql::workspace::ITEM_COLUMNS
                        );
                        let number: i64 = sqlx::query_scalar(&sql)
                            .bind(item.id.as_uuid())
                            .bind(item.org_id.as_uuid())
                            .bind(&item.kind)
                            .bind(&item.title)
                            .bind(&item.description)
                            .bind(&item.category)
                            .bind(&item.priority)
                            .bind(&item.status)
                            .bind(&item.actor_kind)
                            .bind(&item.actor_id)
                            .bind(item.created_at)
                            .bind(item.updated_at)
                            .bind(item.resolved_at)
                            .fetch_one(&mut *tx)
                            .await
                            .map_err($crate::StoreError::from_sqlx)?;
                        $crate::sql::workspace::insert_activity!(tx, activity);
                        tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                        Ok(number)
                    }
                    .await;
                    match result {
                        // Another item of the kind took the number: take the next.
                        Err($crate::StoreError::Conflict(_)) if attempt < 5 => continue,
                        other => return other,
                    }
                }
            }

            async fn get(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::ItemId,
            ) -> Result<Option<$crate::workspace::ItemRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM work_items WHERE org_id = $1 AND id = $2",
                    $crate::sql::workspace::ITEM_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::workspace::ItemRow>(&sql)
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
                filter: &$crate::workspace::ItemFilter,
            ) -> Result<(Vec<$crate::workspace::ItemRecord>, u64), $crate::StoreError> {
                let text = filter
                    .text
                    .as_deref()
                    .map($crate::sql::workspace::like_pattern);
                let sql = format!(
                    "SELECT {} FROM work_items WHERE {} \
                     ORDER BY updated_at DESC, id DESC LIMIT $6 OFFSET $7",
                    $crate::sql::workspace::ITEM_COLUMNS,
                    $crate::sql::workspace::ITEM_FILTER
                );
                let rows = sqlx::query_as::<_, $crate::sql::workspace::ItemRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(&filter.kind)
                    .bind(&filter.status)
                    .bind(&filter.priority)
                    .bind(&text)
                    .bind(i64::from(filter.limit))
                    .bind(i64::from(filter.offset))
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                let sql = format!(
                    "SELECT COUNT(*) FROM work_items WHERE {}",
                    $crate::sql::workspace::ITEM_FILTER
                );
                let total: i64 = sqlx::query_scalar(&sql)
                    .bind(org.as_uuid())
                    .bind(&filter.kind)
                    .bind(&filter.status)
                    .bind(&filter.priority)
                    .bind(&text)
                    .fetch_one(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok((
                    rows.into_iter().map(Into::into).collect(),
                    u64::try_from(total).unwrap_or(0),
                ))
            }

            async fn update(
                &self,
                item: &$crate::workspace::ItemRecord,
                expected: switchboard_domain::Timestamp,
                activity: &[$crate::workspace::ActivityRecord],
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self
                    .writer()
                    .begin()
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                let done = sqlx::query(
                    "UPDATE work_items SET title = $1, description = $2, category = $3, \
                     priority = $4, status = $5, updated_at = $6, resolved_at = $7 \
                     WHERE org_id = $8 AND id = $9 AND updated_at = $10",
                )
                .bind(&item.title)
                .bind(&item.description)
                .bind(&item.category)
                .bind(&item.priority)
                .bind(&item.status)
                .bind(item.updated_at)
                .bind(item.resolved_at)
                .bind(item.org_id.as_uuid())
                .bind(item.id.as_uuid())
                .bind(expected)
                .execute(&mut *tx)
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                if done.rows_affected() == 0 {
                    return Err($crate::sql::workspace::stale_or_missing!(
                        tx,
                        "work_items",
                        item.org_id.as_uuid(),
                        item.id.as_uuid(),
                        "item"
                    ));
                }
                $crate::sql::workspace::insert_activity!(tx, activity);
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn delete(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::ItemId,
                activity: &[$crate::workspace::ActivityRecord],
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self
                    .writer()
                    .begin()
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                sqlx::query("DELETE FROM item_comments WHERE org_id = $1 AND item_id = $2")
                    .bind(org.as_uuid())
                    .bind(id.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                let done = sqlx::query("DELETE FROM work_items WHERE org_id = $1 AND id = $2")
                    .bind(org.as_uuid())
                    .bind(id.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::one_row(done.rows_affected())?;
                $crate::sql::workspace::insert_activity!(tx, activity);
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn add_comment(
                &self,
                c: &$crate::workspace::CommentRecord,
                activity: &[$crate::workspace::ActivityRecord],
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self
                    .writer()
                    .begin()
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                let done = sqlx::query(
                    "UPDATE work_items SET updated_at = $1 WHERE org_id = $2 AND id = $3",
                )
                .bind(c.created_at)
                .bind(c.org_id.as_uuid())
                .bind(c.item_id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::one_row(done.rows_affected())?;
                let sql = format!(
                    "INSERT INTO item_comments ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    $crate::sql::workspace::COMMENT_COLUMNS
                );
                sqlx::query(&sql)
                    .bind(c.id.as_uuid())
                    .bind(c.org_id.as_uuid())
                    .bind(c.item_id.as_uuid())
                    .bind(&c.actor_kind)
                    .bind(&c.actor_id)
                    .bind(&c.author)
                    .bind(&c.body)
                    .bind(c.internal)
                    .bind(c.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::workspace::insert_activity!(tx, activity);
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn comments(
                &self,
                org: switchboard_domain::OrgId,
                item: switchboard_domain::ItemId,
            ) -> Result<Vec<$crate::workspace::CommentRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM item_comments WHERE org_id = $1 AND item_id = $2 \
                     ORDER BY created_at, id",
                    $crate::sql::workspace::COMMENT_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::workspace::CommentRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(item.as_uuid())
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn activity(
                &self,
                org: switchboard_domain::OrgId,
                subject: sqlx::types::Uuid,
            ) -> Result<Vec<$crate::workspace::ActivityRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM activity WHERE org_id = $1 AND subject_id = $2 \
                     ORDER BY at, id",
                    $crate::sql::workspace::ACTIVITY_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::workspace::ActivityRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(subject)
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn counts(
                &self,
                org: switchboard_domain::OrgId,
                kind: &str,
            ) -> Result<Vec<(String, u64)>, $crate::StoreError> {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT status, COUNT(*) FROM work_items WHERE org_id = $1 AND kind = $2 \
                     GROUP BY status ORDER BY status",
                )
                .bind(org.as_uuid())
                .bind(kind)
                .fetch_all(self.reader())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(rows
                    .into_iter()
                    .map(|(s, n)| (s, u64::try_from(n).unwrap_or(0)))
                    .collect())
            }
        }
    };
}

pub(crate) use work_item_repo;
