//! Portable SQL for [`crate::GatewayKeyRepo`], [`crate::UsageRepo`] and
//! [`crate::LlmSettingsRepo`].

use switchboard_domain::Timestamp;
use uuid::Uuid;

use crate::gateway::{GatewayKeyRecord, OrgProviderRecord, UsageRecord, UsageRow};
use crate::StoreError;

pub(crate) const KEY_COLUMNS: &str = "id, org_id, user_id, name, prefix, key_hash, models, rpm, \
     tpm, monthly_budget_usd, cache_ttl_secs, created_by, created_at, expires_at, last_used_at, \
     revoked_at";

#[derive(sqlx::FromRow)]
pub(crate) struct KeyRow {
    id: Uuid,
    org_id: Uuid,
    user_id: Option<Uuid>,
    name: String,
    prefix: String,
    key_hash: Vec<u8>,
    models: String,
    rpm: Option<i64>,
    tpm: Option<i64>,
    monthly_budget_usd: Option<f64>,
    cache_ttl_secs: Option<i64>,
    created_by: Option<Uuid>,
    created_at: Timestamp,
    expires_at: Option<Timestamp>,
    last_used_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
}

fn non_negative<T: TryFrom<i64>>(value: Option<i64>, what: &str) -> Result<Option<T>, StoreError> {
    value
        .map(|v| T::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} = {v}"))))
        .transpose()
}

impl TryFrom<KeyRow> for GatewayKeyRecord {
    type Error = StoreError;
    fn try_from(row: KeyRow) -> Result<Self, StoreError> {
        let models: Vec<String> = serde_json::from_str(&row.models)
            .map_err(|e| StoreError::Corrupt(format!("gateway key models: {e}")))?;
        Ok(GatewayKeyRecord {
            id: row.id.into(),
            org_id: row.org_id.into(),
            user_id: row.user_id.map(Into::into),
            name: row.name,
            prefix: row.prefix,
            key_hash: row.key_hash,
            models,
            rpm: non_negative(row.rpm, "rpm")?,
            tpm: non_negative(row.tpm, "tpm")?,
            monthly_budget_usd: row.monthly_budget_usd,
            cache_ttl_secs: non_negative(row.cache_ttl_secs, "cache_ttl_secs")?,
            created_by: row.created_by.map(Into::into),
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        })
    }
}

pub(crate) fn models_json(models: &[String]) -> String {
    serde_json::Value::from(models.to_vec()).to_string()
}

/// The insert of one usage record, skipped when the id is already stored.
pub(crate) const INSERT_USAGE: &str = "INSERT INTO usage_records (id, org_id, key_id, user_id, \
     at, day, endpoint, model, provider, input_tokens, output_tokens, cost_usd, latency_ms, \
     overhead_ms, status, cached) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
     ON CONFLICT (id) DO NOTHING";

/// The UTC day of a record, stored so both databases group by the same text.
pub(crate) fn day_of(record: &UsageRecord) -> String {
    record.at.format("%Y-%m-%d").to_string()
}

/// Saturating conversion for token counts bound as `BIGINT`.
pub(crate) fn tokens(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

macro_rules! bind_usage {
    ($query:expr, $r:expr) => {
        $query
            .bind($r.id.as_uuid())
            .bind($r.org_id.as_uuid())
            .bind($r.key_id.map(|k| k.as_uuid()))
            .bind($r.user_id.map(|u| u.as_uuid()))
            .bind($r.at)
            .bind($crate::sql::gateway::day_of(&$r))
            .bind(&$r.endpoint)
            .bind(&$r.model)
            .bind(&$r.provider)
            .bind($crate::sql::gateway::tokens($r.input_tokens))
            .bind($crate::sql::gateway::tokens($r.output_tokens))
            .bind($r.cost_usd)
            .bind($r.latency_ms)
            .bind($r.overhead_ms)
            .bind(&$r.status)
            .bind($r.cached)
    };
}
pub(crate) use bind_usage;

/// Inside the open transaction `$tx`: inserts each usage record and, when it was new, links
/// and inserts its audit event (heads are read once per chain and carried along). Commits and
/// evaluates to the number of new records.
macro_rules! record_calls_in_transaction {
    // Evaluates to the number of records inserted and the chains' new heads.
    ($tx:ident, $calls:expr, $genesis:expr, $hasher:expr) => {{
        let mut heads: std::collections::HashMap<uuid::Uuid, (i64, Vec<u8>)> =
            std::collections::HashMap::new();
        let mut inserted = 0u64;
        for (usage, event) in $calls {
            let done = $crate::sql::gateway::bind_usage!(
                sqlx::query($crate::sql::gateway::INSERT_USAGE),
                usage
            )
            .execute(&mut *$tx)
            .await
            .map_err($crate::StoreError::from_sqlx)?;
            if done.rows_affected() == 0 {
                continue;
            }
            inserted += 1;
            $crate::sql::audit::append_link!($tx, heads, event, $genesis, $hasher);
        }
        $tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
        (inserted, heads)
    }};
}
pub(crate) use record_calls_in_transaction;

#[derive(sqlx::FromRow)]
pub(crate) struct SummaryRow {
    pub(crate) grp: Option<String>,
    pub(crate) requests: i64,
    pub(crate) errors: i64,
    pub(crate) input_tokens: i64,
    pub(crate) output_tokens: i64,
    pub(crate) cost_usd: f64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct IdSummaryRow {
    pub(crate) grp: Option<Uuid>,
    pub(crate) requests: i64,
    pub(crate) errors: i64,
    pub(crate) input_tokens: i64,
    pub(crate) output_tokens: i64,
    pub(crate) cost_usd: f64,
}

fn count(n: i64) -> Result<u64, StoreError> {
    crate::sql::count(n)
}

impl TryFrom<SummaryRow> for UsageRow {
    type Error = StoreError;
    fn try_from(r: SummaryRow) -> Result<Self, StoreError> {
        Ok(UsageRow {
            group: r.grp,
            requests: count(r.requests)?,
            errors: count(r.errors)?,
            input_tokens: count(r.input_tokens)?,
            output_tokens: count(r.output_tokens)?,
            cost_usd: r.cost_usd,
        })
    }
}

impl TryFrom<IdSummaryRow> for UsageRow {
    type Error = StoreError;
    fn try_from(r: IdSummaryRow) -> Result<Self, StoreError> {
        SummaryRow {
            grp: r.grp.map(|id| id.to_string()),
            requests: r.requests,
            errors: r.errors,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            cost_usd: r.cost_usd,
        }
        .try_into()
    }
}

/// The summary query grouped by `column` (chosen from a fixed list, never from input).
pub(crate) fn summary_sql(column: &str, all_orgs: bool) -> String {
    let scope = if all_orgs {
        "$1 IS NOT NULL"
    } else {
        "org_id = $1"
    };
    format!(
        "SELECT {column} AS grp, COUNT(*) AS requests, \
         CAST(SUM(CASE WHEN status = 'ok' THEN 0 ELSE 1 END) AS BIGINT) AS errors, \
         CAST(SUM(input_tokens) AS BIGINT) AS input_tokens, \
         CAST(SUM(output_tokens) AS BIGINT) AS output_tokens, \
         CAST(SUM(cost_usd) AS DOUBLE PRECISION) AS cost_usd \
         FROM usage_records WHERE {scope} AND at >= $2 AND at < $3 \
         GROUP BY {column} ORDER BY {column}"
    )
}

pub(crate) const PROVIDER_COLUMNS: &str =
    "org_id, name, kind, base_url, api_key_secret, api_key_env, models, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct ProviderRow {
    org_id: Uuid,
    name: String,
    kind: String,
    base_url: String,
    api_key_secret: Option<Uuid>,
    api_key_env: Option<String>,
    models: String,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<ProviderRow> for OrgProviderRecord {
    fn from(r: ProviderRow) -> Self {
        OrgProviderRecord {
            org_id: r.org_id.into(),
            name: r.name,
            kind: r.kind,
            base_url: r.base_url,
            api_key_secret: r.api_key_secret.map(Into::into),
            api_key_env: r.api_key_env,
            models: r.models,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

macro_rules! gateway_repos {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::gateway::GatewayKeyRepo for $db {
            async fn insert(
                &self,
                k: &$crate::gateway::GatewayKeyRecord,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO gateway_keys (id, org_id, user_id, name, prefix, key_hash, \
                     models, rpm, tpm, monthly_budget_usd, cache_ttl_secs, created_by, \
                     created_at, expires_at, last_used_at, revoked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                )
                .bind(k.id.as_uuid())
                .bind(k.org_id.as_uuid())
                .bind(k.user_id.map(|u| u.as_uuid()))
                .bind(&k.name)
                .bind(&k.prefix)
                .bind(&k.key_hash)
                .bind($crate::sql::gateway::models_json(&k.models))
                .bind(k.rpm.map(i64::from))
                .bind(k.tpm.map($crate::sql::gateway::tokens))
                .bind(k.monthly_budget_usd)
                .bind(k.cache_ttl_secs.map(i64::from))
                .bind(k.created_by.map(|u| u.as_uuid()))
                .bind(k.created_at)
                .bind(k.expires_at)
                .bind(k.last_used_at)
                .bind(k.revoked_at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn get_by_hash(
                &self,
                hash: &[u8],
            ) -> Result<Option<$crate::gateway::GatewayKeyRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM gateway_keys WHERE key_hash = $1",
                    $crate::sql::gateway::KEY_COLUMNS
                );
                sqlx::query_as::<_, $crate::sql::gateway::KeyRow>(&sql)
                    .bind(hash)
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .map($crate::gateway::GatewayKeyRecord::try_from)
                    .transpose()
            }

            async fn list_for_org(
                &self,
                org: switchboard_domain::OrgId,
            ) -> Result<Vec<$crate::gateway::GatewayKeyRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM gateway_keys WHERE org_id = $1 AND revoked_at IS NULL \
                     ORDER BY id DESC",
                    $crate::sql::gateway::KEY_COLUMNS
                );
                sqlx::query_as::<_, $crate::sql::gateway::KeyRow>(&sql)
                    .bind(org.as_uuid())
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map($crate::gateway::GatewayKeyRecord::try_from)
                    .collect()
            }

            async fn revoke(
                &self,
                org: switchboard_domain::OrgId,
                id: switchboard_domain::GatewayKeyId,
                at: switchboard_domain::Timestamp,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE gateway_keys SET revoked_at = $3 \
                     WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL",
                )
                .bind(org.as_uuid())
                .bind(id.as_uuid())
                .bind(at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(done.rows_affected() == 1)
            }

            async fn touch(
                &self,
                id: switchboard_domain::GatewayKeyId,
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query("UPDATE gateway_keys SET last_used_at = $2 WHERE id = $1")
                    .bind(id.as_uuid())
                    .bind(at)
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::gateway::UsageRepo for $db {
            async fn record_calls(
                &self,
                calls: Vec<($crate::gateway::UsageRecord, $crate::AuditRecord)>,
                genesis: &[u8],
                hasher: &$crate::LinkHasher,
            ) -> Result<u64, $crate::StoreError> {
                if calls.is_empty() {
                    return Ok(0);
                }
                self.record_calls_locked(calls, genesis, hasher).await
            }

            async fn key_spend(
                &self,
                key: switchboard_domain::GatewayKeyId,
                since: switchboard_domain::Timestamp,
            ) -> Result<f64, $crate::StoreError> {
                let spent: Option<f64> = sqlx::query_scalar(
                    "SELECT CAST(SUM(cost_usd) AS DOUBLE PRECISION) FROM usage_records \
                     WHERE key_id = $1 AND at >= $2",
                )
                .bind(key.as_uuid())
                .bind(since)
                .fetch_one(self.reader())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(spent.unwrap_or(0.0))
            }

            async fn summary(
                &self,
                q: &$crate::gateway::UsageQuery,
            ) -> Result<Vec<$crate::gateway::UsageRow>, $crate::StoreError> {
                use $crate::gateway::UsageGroup;
                let all = q.org.is_none();
                let org = q.org.map(|o| o.as_uuid()).unwrap_or_else(uuid::Uuid::nil);
                match q.group {
                    UsageGroup::Day | UsageGroup::Model => {
                        let column = if q.group == UsageGroup::Day { "day" } else { "model" };
                        let sql = $crate::sql::gateway::summary_sql(column, all);
                        sqlx::query_as::<_, $crate::sql::gateway::SummaryRow>(&sql)
                            .bind(org)
                            .bind(q.from)
                            .bind(q.to)
                            .fetch_all(self.reader())
                            .await
                            .map_err($crate::StoreError::from_sqlx)?
                            .into_iter()
                            .map(TryInto::try_into)
                            .collect()
                    }
                    UsageGroup::Key | UsageGroup::Org => {
                        let column = if q.group == UsageGroup::Key { "key_id" } else { "org_id" };
                        let sql = $crate::sql::gateway::summary_sql(column, all);
                        sqlx::query_as::<_, $crate::sql::gateway::IdSummaryRow>(&sql)
                            .bind(org)
                            .bind(q.from)
                            .bind(q.to)
                            .fetch_all(self.reader())
                            .await
                            .map_err($crate::StoreError::from_sqlx)?
                            .into_iter()
                            .map(TryInto::try_into)
                            .collect()
                    }
                }
            }

            async fn count(
                &self,
                org: switchboard_domain::OrgId,
            ) -> Result<u64, $crate::StoreError> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM usage_records WHERE org_id = $1")
                    .bind(org.as_uuid())
                    .fetch_one(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::count(n)
            }
        }

        #[async_trait::async_trait]
        impl $crate::gateway::LlmSettingsRepo for $db {
            async fn settings(
                &self,
                org: switchboard_domain::OrgId,
            ) -> Result<$crate::gateway::OrgLlmSettings, $crate::StoreError> {
                let row: Option<(Option<String>, Option<String>, Option<String>)> =
                    sqlx::query_as(
                        "SELECT default_model, guard_policy, embedding_model FROM org_llm_settings \
                         WHERE org_id = $1",
                    )
                    .bind(org.as_uuid())
                    .fetch_optional(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(row
                    .map(|(default_model, guard_policy, embedding_model)| {
                        $crate::gateway::OrgLlmSettings {
                            default_model,
                            guard_policy,
                            embedding_model,
                        }
                    })
                    .unwrap_or_default())
            }

            async fn save_settings(
                &self,
                org: switchboard_domain::OrgId,
                settings: &$crate::gateway::OrgLlmSettings,
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO org_llm_settings (org_id, default_model, guard_policy, \
                     embedding_model, updated_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (org_id) DO UPDATE SET \
                     default_model = excluded.default_model, \
                     guard_policy = excluded.guard_policy, \
                     embedding_model = excluded.embedding_model, updated_at = excluded.updated_at",
                )
                .bind(org.as_uuid())
                .bind(&settings.default_model)
                .bind(&settings.guard_policy)
                .bind(&settings.embedding_model)
                .bind(at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn providers(
                &self,
                org: switchboard_domain::OrgId,
            ) -> Result<Vec<$crate::gateway::OrgProviderRecord>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM org_llm_providers WHERE org_id = $1 ORDER BY name",
                    $crate::sql::gateway::PROVIDER_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::gateway::ProviderRow>(&sql)
                    .bind(org.as_uuid())
                    .fetch_all(self.reader())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn save_provider(
                &self,
                p: &$crate::gateway::OrgProviderRecord,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO org_llm_providers (org_id, name, kind, base_url, api_key_secret, \
                     api_key_env, models, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (org_id, name) DO UPDATE SET kind = excluded.kind, \
                     base_url = excluded.base_url, api_key_secret = excluded.api_key_secret, \
                     api_key_env = excluded.api_key_env, models = excluded.models, \
                     updated_at = excluded.updated_at",
                )
                .bind(p.org_id.as_uuid())
                .bind(&p.name)
                .bind(&p.kind)
                .bind(&p.base_url)
                .bind(p.api_key_secret.map(|s| s.as_uuid()))
                .bind(&p.api_key_env)
                .bind(&p.models)
                .bind(p.created_at)
                .bind(p.updated_at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn delete_provider(
                &self,
                org: switchboard_domain::OrgId,
                name: &str,
            ) -> Result<Option<$crate::gateway::OrgProviderRecord>, $crate::StoreError> {
                let sql = format!(
                    "DELETE FROM org_llm_providers WHERE org_id = $1 AND name = $2 RETURNING {}",
                    $crate::sql::gateway::PROVIDER_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::sql::gateway::ProviderRow>(&sql)
                    .bind(org.as_uuid())
                    .bind(name)
                    .fetch_optional(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?
                    .map(Into::into))
            }
        }
    };
}
pub(crate) use gateway_repos;
