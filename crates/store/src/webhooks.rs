//! Organisations' outbound webhooks and the durable queue of deliveries to them.

use switchboard_domain::{DeliveryId, OrgId, SecretId, Timestamp, WebhookId};

use crate::StoreError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookRecord {
    pub id: WebhookId,
    pub org_id: OrgId,
    pub name: String,
    pub url: String,
    /// The sealed signing secret.
    pub secret_id: SecretId,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: DeliveryId,
    pub org_id: OrgId,
    pub webhook_id: WebhookId,
    pub event: String,
    /// The JSON body, exactly as sent (and signed).
    pub body: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Timestamp,
    pub claimed_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
}

#[async_trait::async_trait]
pub trait WebhookRepo: Send + Sync {
    async fn insert(&self, webhook: &WebhookRecord) -> Result<(), StoreError>;
    async fn list(&self, org: OrgId) -> Result<Vec<WebhookRecord>, StoreError>;
    /// Removes a webhook and its queued deliveries; returns it (to delete its secret).
    async fn delete(&self, org: OrgId, id: WebhookId) -> Result<Option<WebhookRecord>, StoreError>;
    async fn get_by_id(&self, id: WebhookId) -> Result<Option<WebhookRecord>, StoreError>;
    async fn enqueue(&self, deliveries: &[DeliveryRecord]) -> Result<(), StoreError>;
    /// Pending deliveries due at `now` and not claimed since `stale`, claimed now.
    async fn claim_due(
        &self,
        now: Timestamp,
        stale: Timestamp,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, StoreError>;
    /// Records an attempt: `status` `delivered`, `failed` or `pending` (retry at `next`);
    /// `error` replaces the last error when there is one (a success keeps the previous).
    async fn attempted(
        &self,
        id: DeliveryId,
        status: &str,
        attempts: i32,
        next: Timestamp,
        error: Option<&str>,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// The latest deliveries of one webhook, newest first.
    async fn deliveries(
        &self,
        org: OrgId,
        webhook: WebhookId,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, StoreError>;
}
