//! [`crate::WebhookRepo`] for both databases.

use sqlx::types::Uuid;
use switchboard_domain::Timestamp;

use crate::webhooks::{DeliveryRecord, WebhookRecord};

pub(crate) const HOOK_COLUMNS: &str = "id, org_id, name, url, secret_id, created_at";
pub(crate) const DELIVERY_COLUMNS: &str = "id, org_id, webhook_id, event, body, status, \
    attempts, next_attempt_at, claimed_at, last_error, created_at, delivered_at";

#[derive(sqlx::FromRow)]
pub(crate) struct HookRow {
    id: Uuid,
    org_id: Uuid,
    name: String,
    url: String,
    secret_id: Uuid,
    created_at: Timestamp,
}

impl From<HookRow> for WebhookRecord {
    fn from(r: HookRow) -> Self {
        WebhookRecord {
            id: r.id.into(),
            org_id: r.org_id.into(),
            name: r.name,
            url: r.url,
            secret_id: r.secret_id.into(),
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    id: Uuid,
    org_id: Uuid,
    webhook_id: Uuid,
    event: String,
    body: String,
    status: String,
    attempts: i32,
    next_attempt_at: Timestamp,
    claimed_at: Option<Timestamp>,
    last_error: Option<String>,
    created_at: Timestamp,
    delivered_at: Option<Timestamp>,
}

impl From<DeliveryRow> for DeliveryRecord {
    fn from(r: DeliveryRow) -> Self {
        DeliveryRecord {
            id: r.id.into(),
            org_id: r.org_id.into(),
            webhook_id: r.webhook_id.into(),
            event: r.event,
            body: r.body,
            status: r.status,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            claimed_at: r.claimed_at,
            last_error: r.last_error,
            created_at: r.created_at,
            delivered_at: r.delivered_at,
        }
    }
}

macro_rules! webhook_repo {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::webhooks::WebhookRepo for $db {
            async fn insert(
                &self,
                w: &$crate::webhooks::WebhookRecord,
            ) -> Result<(), $crate::StoreError> {
                let sql = format!(
                    "INSERT INTO webhooks ({}) VALUES ($1, $2, $3, $4, $5, $6)",
                    $crate::sql::webhooks::HOOK_COLUMNS
                );
                sqlx::query(&sql)
                    .bind(w.id.as_uuid())
                    .bind(w.org_id.as_uuid())
                    .bind(&w.name)
                    .bind(&w.url)
                    .bind(w.secret_id.as_uuid())
                    .bind(w.created_at)
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn list(
                &self,
                org: switchboard_domain::OrgId,
            ) -> Result<Vec<$crate::webhooks::WebhookRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM webhooks WHERE org_id = $1 ORDER BY created_at, id",
                    $crate::sql::webhooks::HOOK_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::webhooks::HookRow>(&sql)
                    .bind(org.as_uuid())
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn get_by_id(
                &self,
                id: switchboard_domain::WebhookId,
            ) -> Result<Option<$crate::webhooks::WebhookRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM webhooks WHERE id = $1",
                    $crate::sql::webhooks::HOOK_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::webhooks::HookRow>(&sql)
                    .bind(id.as_uuid())
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .map(Into::into))
            }

            async fn delete(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::WebhookId,
            ) -> Result<Option<$crate::webhooks::WebhookRecord>, $crate::StoreError> {
                let mut tx = self
                    .writer()
                    .begin()
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                let sql = format!(
                    "DELETE FROM webhooks WHERE org_id = $1 AND id = $2 RETURNING {}",
                    $crate::sql::webhooks::HOOK_COLUMNS
                );
                let gone = sqlx::query_as::<_, $crate::sql::webhooks::HookRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(id.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
                    .bind(id.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(gone.map(Into::into))
            }

            async fn enqueue(
                &self,
                deliveries: &[$crate::webhooks::DeliveryRecord],
            ) -> Result<(), $crate::StoreError> {
                let sql = format!(
                    "INSERT INTO webhook_deliveries ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, \
                     $8, $9, $10, $11, $12)",
                    $crate::sql::webhooks::DELIVERY_COLUMNS
                );
                let mut tx = self
                    .writer()
                    .begin()
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                for d in deliveries {
                    sqlx::query(&sql)
                        .bind(d.id.as_uuid())
                        .bind(d.org_id.as_uuid())
                        .bind(d.webhook_id.as_uuid())
                        .bind(&d.event)
                        .bind(&d.body)
                        .bind(&d.status)
                        .bind(d.attempts)
                        .bind(d.next_attempt_at)
                        .bind(d.claimed_at)
                        .bind(&d.last_error)
                        .bind(d.created_at)
                        .bind(d.delivered_at)
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::StoreError::from_sqlx)?;
                }
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn claim_due(
                &self,
                now: switchboard_domain::Timestamp,
                stale: switchboard_domain::Timestamp,
                limit: u32,
            ) -> Result<Vec<$crate::webhooks::DeliveryRecord>, $crate::StoreError> {
                let sql = format!(
                    "UPDATE webhook_deliveries SET claimed_at = $1 WHERE id IN (SELECT id FROM \
                     webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 \
                     AND (claimed_at IS NULL OR claimed_at < $2) ORDER BY next_attempt_at \
                     LIMIT $3) AND status = 'pending' \
                     AND (claimed_at IS NULL OR claimed_at < $2) RETURNING {}",
                    $crate::sql::webhooks::DELIVERY_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::webhooks::DeliveryRow>(&sql)
                    .bind(now)
                    .bind(stale)
                    .bind(i64::from(limit))
                    .fetch_all(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn attempted(
                &self,
                id: switchboard_domain::DeliveryId,
                status: &str,
                attempts: i32,
                next: switchboard_domain::Timestamp,
                error: Option<&str>,
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "UPDATE webhook_deliveries SET status = $1, attempts = $2, \
                     next_attempt_at = $3, last_error = COALESCE($4, last_error), claimed_at = NULL, \
                     delivered_at = CASE WHEN $1 = 'delivered' THEN $5 ELSE delivered_at END \
                     WHERE id = $6",
                )
                .bind(status)
                .bind(attempts)
                .bind(next)
                .bind(error)
                .bind(at)
                .bind(id.as_uuid())
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn deliveries(
                &self,
                org: switchboard_domain::OrgId,
                webhook: switchboard_domain::WebhookId,
                limit: u32,
            ) -> Result<Vec<$crate::webhooks::DeliveryRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM webhook_deliveries WHERE org_id = $1 AND webhook_id = $2 \
                     ORDER BY created_at DESC, id DESC LIMIT $3",
                    $crate::sql::webhooks::DELIVERY_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::webhooks::DeliveryRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(webhook.as_uuid())
                    .bind(i64::from(limit))
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

pub(crate) use webhook_repo;
