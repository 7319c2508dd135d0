//! Virtual keys: `sbk_` + 43 random characters, shown once, stored as SHA-256, bound to one
//! organisation (and optionally one member), with allowed models, per-minute limits, a monthly
//! budget, an optional response cache and an expiry. A resolved key is cached for a few
//! seconds so the hot path does not read the database on every call; revoking through this
//! process takes effect at once, elsewhere within [`KEY_CACHE_TTL`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_domain::{GatewayKeyId, OrgStatus, Role, Timestamp, UserId};
use switchboard_store::GatewayKeyRecord;

use super::{Gateway, GatewayError};
use crate::identity::{clean_name, token, Principal};

pub const KEY_PREFIX: &str = "sbk_";
const SHOWN_PREFIX: usize = 11;
/// How long a resolved key is trusted before it is read again.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);
/// Longest response-cache lifetime a key may ask for (one day).
pub const MAX_CACHE_TTL_SECS: u32 = 86_400;

/// What a new key may do.
#[derive(Clone, Debug, Default)]
pub struct NewKey {
    pub name: String,
    /// Allowed model ids; empty = every model of the organisation.
    pub models: Vec<String>,
    pub rpm: Option<u32>,
    pub tpm: Option<u64>,
    pub monthly_budget_usd: Option<f64>,
    pub expires_at: Option<Timestamp>,
    /// The member the key acts for (usage is attributed to them).
    pub user_id: Option<UserId>,
    pub cache_ttl_secs: Option<u32>,
}

/// A key just created: `key` is shown once and never again.
#[derive(Clone, Debug)]
pub struct CreatedKey {
    pub record: GatewayKeyRecord,
    pub key: String,
}

/// Resolved keys by hash, with when they were read.
type Entries = HashMap<Vec<u8>, (Arc<GatewayKeyRecord>, Instant)>;

#[derive(Default)]
pub(super) struct KeyCache {
    entries: Mutex<Entries>,
}

impl KeyCache {
    /// The cached key. When it is due for a refresh, the first caller gets `None` (and reads
    /// the database) while everyone else keeps using the cached record until it is replaced,
    /// so an expiry never sends every concurrent call to the database at once.
    fn get(&self, hash: &[u8]) -> Option<Arc<GatewayKeyRecord>> {
        let mut entries = self.entries.lock().ok()?;
        let (record, at) = entries.get_mut(hash)?;
        if at.elapsed() < KEY_CACHE_TTL {
            return Some(record.clone());
        }
        *at = Instant::now();
        None
    }

    fn forget_hash(&self, hash: &[u8]) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(hash);
        }
    }

    fn put(&self, hash: Vec<u8>, record: Arc<GatewayKeyRecord>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() > 10_000 {
                entries.retain(|_, (_, at)| at.elapsed() < KEY_CACHE_TTL);
            }
            entries.insert(hash, (record, Instant::now()));
        }
    }

    fn forget(&self, id: GatewayKeyId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (record, _)| record.id != id);
        }
    }
}

impl Gateway {
    pub async fn create_key(
        &self,
        principal: &Principal,
        new: NewKey,
    ) -> Result<CreatedKey, GatewayError> {
        let access = principal.tenant(Role::Admin)?;
        let org = access.org.id;
        let name = clean_name("name", &new.name)?;
        let models = self.org_models(org).await?;
        for model in &new.models {
            if models.catalog.find(model).is_err() {
                return Err(GatewayError::invalid(
                    "models",
                    format!("`{model}` is not a model of this organisation."),
                ));
            }
        }
        if new.rpm == Some(0) || new.tpm == Some(0) {
            return Err(GatewayError::invalid(
                "rpm",
                "Limits must be at least 1 (leave them out for no limit).",
            ));
        }
        if new
            .monthly_budget_usd
            .is_some_and(|b| !b.is_finite() || b < 0.0)
        {
            return Err(GatewayError::invalid(
                "monthly_budget_usd",
                "The budget must be a number of US dollars ≥ 0.",
            ));
        }
        if new
            .cache_ttl_secs
            .is_some_and(|t| t == 0 || t > MAX_CACHE_TTL_SECS)
        {
            return Err(GatewayError::invalid(
                "cache_ttl_secs",
                format!("The cache lifetime must be 1 to {MAX_CACHE_TTL_SECS} seconds."),
            ));
        }
        let now = self.inner.clock.now();
        if new.expires_at.is_some_and(|at| at <= now) {
            return Err(GatewayError::invalid(
                "expires_at",
                "The expiry must be in the future.",
            ));
        }
        if let Some(user) = new.user_id {
            if self.inner.store.memberships.get(org, user).await?.is_none() {
                return Err(GatewayError::invalid(
                    "user_id",
                    "The key's user must be a member of this organisation.",
                ));
            }
        }
        let key = format!("{KEY_PREFIX}{}", token::random_token());
        let record = GatewayKeyRecord {
            id: GatewayKeyId::generate(self.inner.clock.as_ref()),
            org_id: org,
            user_id: new.user_id,
            name,
            prefix: key.chars().take(SHOWN_PREFIX).collect(),
            key_hash: token::digest(&key),
            models: new.models,
            rpm: new.rpm,
            tpm: new.tpm,
            monthly_budget_usd: new.monthly_budget_usd,
            cache_ttl_secs: new.cache_ttl_secs,
            created_by: principal.user_id(),
            created_at: now,
            expires_at: new.expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        self.inner.store.gateway_keys.insert(&record).await?;
        self.record(
            org,
            principal.actor(),
            "admin.gateway_key_created",
            Some(record.id.to_string()),
            json!({
                "name": record.name, "prefix": record.prefix, "models": record.models,
                "rpm": record.rpm, "tpm": record.tpm,
                "monthly_budget_usd": record.monthly_budget_usd,
            }),
        )
        .await?;
        Ok(CreatedKey { record, key })
    }

    pub async fn list_keys(
        &self,
        principal: &Principal,
    ) -> Result<Vec<GatewayKeyRecord>, GatewayError> {
        let access = principal.tenant(Role::Admin)?;
        Ok(self
            .inner
            .store
            .gateway_keys
            .list_for_org(access.org.id)
            .await?)
    }

    /// Revokes a key of the caller's organisation; another organisation's key is `NotFound`.
    pub async fn revoke_key(
        &self,
        principal: &Principal,
        id: GatewayKeyId,
    ) -> Result<(), GatewayError> {
        let access = principal.tenant(Role::Admin)?;
        let now = self.inner.clock.now();
        if !self
            .inner
            .store
            .gateway_keys
            .revoke(access.org.id, id, now)
            .await?
        {
            return Err(crate::identity::IdentityError::NotFound.into());
        }
        self.inner.keys.forget(id);
        self.record(
            access.org.id,
            principal.actor(),
            "admin.gateway_key_revoked",
            Some(id.to_string()),
            json!({}),
        )
        .await
    }

    /// The live key behind a bearer token, or `Unauthorized`.
    pub(super) async fn authenticate(
        &self,
        bearer: &str,
    ) -> Result<Arc<GatewayKeyRecord>, GatewayError> {
        if !bearer.starts_with(KEY_PREFIX) {
            return Err(GatewayError::Unauthorized);
        }
        let hash = token::digest(bearer);
        let record = match self.inner.keys.get(&hash) {
            Some(record) => record,
            None => {
                let store = &self.inner.store;
                let Some(record) = store.gateway_keys.get_by_hash(&hash).await? else {
                    self.inner.keys.forget_hash(&hash);
                    return Err(GatewayError::Unauthorized);
                };
                let org_active = store
                    .orgs
                    .get(record.org_id)
                    .await?
                    .is_some_and(|o| o.status == OrgStatus::Active);
                if !org_active {
                    self.inner.keys.forget_hash(&hash);
                    return Err(GatewayError::Unauthorized);
                }
                let now = self.inner.clock.now();
                if record.revoked_at.is_none()
                    && record
                        .last_used_at
                        .is_none_or(|at| (now - at).num_seconds() >= 60)
                {
                    store.gateway_keys.touch(record.id, now).await?;
                }
                let record = Arc::new(record);
                self.inner.keys.put(hash, record.clone());
                record
            }
        };
        let now = self.inner.clock.now();
        if record.revoked_at.is_some() || record.expires_at.is_some_and(|at| at <= now) {
            return Err(GatewayError::Unauthorized);
        }
        Ok(record)
    }
}
