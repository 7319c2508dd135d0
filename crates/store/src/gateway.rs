//! The AI gateway's data: virtual keys (`sbk_...`, only a SHA-256 stored), one usage record per
//! model call (written in batches together with its audit event), and each organisation's own
//! model settings and providers.

use switchboard_domain::{GatewayKeyId, OrgId, SecretId, Timestamp, UsageId, UserId};

use crate::{AuditRecord, LinkHasher, StoreError};

#[derive(Clone, Debug, PartialEq)]
pub struct GatewayKeyRecord {
    pub id: GatewayKeyId,
    pub org_id: OrgId,
    /// The person the key acts for, if any (usage is attributed to them).
    pub user_id: Option<UserId>,
    pub name: String,
    pub prefix: String,
    pub key_hash: Vec<u8>,
    /// Allowed model ids; empty means every model of the organisation.
    pub models: Vec<String>,
    pub rpm: Option<u32>,
    pub tpm: Option<u64>,
    pub monthly_budget_usd: Option<f64>,
    /// Exact-match response cache lifetime; `None` = no cache.
    pub cache_ttl_secs: Option<u32>,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

#[async_trait::async_trait]
pub trait GatewayKeyRepo: Send + Sync {
    async fn insert(&self, key: &GatewayKeyRecord) -> Result<(), StoreError>;
    async fn get_by_hash(&self, hash: &[u8]) -> Result<Option<GatewayKeyRecord>, StoreError>;
    /// An organisation's keys that are not revoked, newest first.
    async fn list_for_org(&self, org: OrgId) -> Result<Vec<GatewayKeyRecord>, StoreError>;
    /// Revokes a live key of this organisation; `false` when there is none.
    async fn revoke(&self, org: OrgId, id: GatewayKeyId, at: Timestamp)
        -> Result<bool, StoreError>;
    async fn touch(&self, id: GatewayKeyId, at: Timestamp) -> Result<(), StoreError>;
}

/// One model call.
#[derive(Clone, Debug, PartialEq)]
pub struct UsageRecord {
    pub id: UsageId,
    pub org_id: OrgId,
    pub key_id: Option<GatewayKeyId>,
    pub user_id: Option<UserId>,
    pub at: Timestamp,
    /// `chat` or `embeddings`.
    pub endpoint: String,
    /// The model id the client asked for (`<provider>/<model>`).
    pub model: String,
    /// The route that answered (`<provider>/<model>`), if any did.
    pub provider: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub latency_ms: f64,
    pub overhead_ms: f64,
    /// `ok` or the error code the client received.
    pub status: String,
    pub cached: bool,
}

/// How usage is grouped in a summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsageGroup {
    Day,
    Model,
    Key,
    Org,
}

/// Which usage a summary covers: one organisation (or all, for operators), `[from, to)`.
#[derive(Clone, Debug)]
pub struct UsageQuery {
    pub org: Option<OrgId>,
    pub from: Timestamp,
    pub to: Timestamp,
    pub group: UsageGroup,
}

/// One group of a summary. `group` is the day (`YYYY-MM-DD`), model id, key id or
/// organisation id; `None` for calls without a key.
#[derive(Clone, Debug, PartialEq)]
pub struct UsageRow {
    pub group: Option<String>,
    pub requests: u64,
    pub errors: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
}

#[async_trait::async_trait]
pub trait UsageRepo: Send + Sync {
    /// Stores a batch of calls, each with its audit event, in one transaction: a usage record
    /// whose id is already stored is skipped together with its event (a retried batch never
    /// doubles anything). Returns how many calls were new.
    async fn record_calls(
        &self,
        calls: Vec<(UsageRecord, AuditRecord)>,
        genesis: &[u8],
        hasher: &LinkHasher,
    ) -> Result<u64, StoreError>;
    /// Money spent by one key since `since`.
    async fn key_spend(&self, key: GatewayKeyId, since: Timestamp) -> Result<f64, StoreError>;
    async fn summary(&self, query: &UsageQuery) -> Result<Vec<UsageRow>, StoreError>;
    /// How many usage records an organisation has (tests and the parity check).
    async fn count(&self, org: OrgId) -> Result<u64, StoreError>;
}

/// An organisation's own model settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrgLlmSettings {
    pub default_model: Option<String>,
    /// The guard policy as JSON (`switchboard_guard::Policy`); `None` = the default policy.
    pub guard_policy: Option<String>,
    /// The organisation's own embeddings model; `None` = the installation's (if any).
    pub embedding_model: Option<String>,
}

/// A provider an organisation added.
#[derive(Clone, Debug, PartialEq)]
pub struct OrgProviderRecord {
    pub org_id: OrgId,
    pub name: String,
    /// `openai` or `anthropic`.
    pub kind: String,
    pub base_url: String,
    pub api_key_secret: Option<SecretId>,
    pub api_key_env: Option<String>,
    /// The models and prices as JSON.
    pub models: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[async_trait::async_trait]
pub trait LlmSettingsRepo: Send + Sync {
    async fn settings(&self, org: OrgId) -> Result<OrgLlmSettings, StoreError>;
    async fn save_settings(
        &self,
        org: OrgId,
        settings: &OrgLlmSettings,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    async fn providers(&self, org: OrgId) -> Result<Vec<OrgProviderRecord>, StoreError>;
    /// Inserts or replaces the provider of that name.
    async fn save_provider(&self, provider: &OrgProviderRecord) -> Result<(), StoreError>;
    /// Removes a provider; returns it (so its sealed key can be deleted) or `None`.
    async fn delete_provider(
        &self,
        org: OrgId,
        name: &str,
    ) -> Result<Option<OrgProviderRecord>, StoreError>;
}
