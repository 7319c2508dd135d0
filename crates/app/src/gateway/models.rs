//! Which models an organisation can use: the installation's providers (from
//! `switchboard.toml`) plus the organisation's own (API keys sealed in the vault), the
//! organisation's default model (else the installation's) and its guard policy. Built per
//! organisation and cached for [`MODELS_TTL`]; a change through this process clears it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard_domain::{OrgId, Role};
use switchboard_guard::Policy;
use switchboard_llm::catalog::{kind_from_name, Catalog, Model, Provider};
use switchboard_llm::client::{Endpoint, Timeouts};
use switchboard_store::{OrgLlmSettings, OrgProviderRecord};

use super::{Gateway, GatewayError};
use crate::identity::Principal;

/// The guard policy type, for callers that set one.
pub type GuardPolicy = Policy;
pub use switchboard_guard::{Action as GuardAction, Kind as GuardKind};

pub const MODELS_TTL: Duration = Duration::from_secs(5);
const KEY_PURPOSE: &str = "llm.provider_api_key";

/// What one organisation's calls are routed and guarded with.
#[derive(Clone, Debug)]
pub struct OrgModels {
    pub catalog: Catalog,
    pub policy: Policy,
}

pub(super) struct ModelCache {
    installation: Catalog,
    orgs: Mutex<HashMap<OrgId, (Arc<OrgModels>, Instant)>>,
}

impl ModelCache {
    pub(super) fn new(installation: Catalog) -> ModelCache {
        ModelCache {
            installation,
            orgs: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn installation(&self) -> &Catalog {
        &self.installation
    }

    /// The cached models; when due for a refresh, one caller gets `None` and rebuilds them
    /// while the others keep the cached ones (no stampede on expiry).
    fn get(&self, org: OrgId) -> Option<Arc<OrgModels>> {
        let mut orgs = self.orgs.lock().ok()?;
        let (models, at) = orgs.get_mut(&org)?;
        if at.elapsed() < MODELS_TTL {
            return Some(models.clone());
        }
        *at = Instant::now();
        None
    }

    fn put(&self, org: OrgId, models: Arc<OrgModels>) {
        if let Ok(mut orgs) = self.orgs.lock() {
            orgs.insert(org, (models, Instant::now()));
        }
    }

    fn forget(&self, org: OrgId) {
        if let Ok(mut orgs) = self.orgs.lock() {
            orgs.remove(&org);
        }
    }
}

/// A model and its prices, as stored and as entered in the console or API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    pub name: String,
    #[serde(default)]
    pub input_usd_per_mtok: f64,
    #[serde(default)]
    pub output_usd_per_mtok: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<String>,
}

/// A provider an organisation adds or replaces.
#[derive(Clone, Debug)]
pub struct NewProvider {
    pub name: String,
    /// `openai` or `anthropic`.
    pub kind: String,
    pub base_url: String,
    /// The provider's API key, sealed in the vault; `None` keeps the current one (or none).
    pub api_key: Option<String>,
    pub models: Vec<ModelPrice>,
}

/// A provider as shown to admins (never the key).
#[derive(Clone, Debug, Serialize)]
pub struct ProviderView {
    pub name: String,
    pub kind: String,
    pub base_url: String,
    /// `installation` (from the configuration) or `organization`.
    pub scope: &'static str,
    pub has_api_key: bool,
    pub models: Vec<ModelPrice>,
}

/// An organisation's model settings as shown to admins.
#[derive(Clone, Debug, Serialize)]
pub struct ModelSettingsView {
    /// The organisation's own default model, if set.
    pub default_model: Option<String>,
    /// The default that applies (the organisation's, else the installation's).
    pub effective_default_model: Option<String>,
    /// The organisation's own embeddings model, if set.
    pub embedding_model: Option<String>,
    /// The embeddings model that applies (memory recalls by meaning only with one).
    pub effective_embedding_model: Option<String>,
    pub guard_policy: Policy,
    pub providers: Vec<ProviderView>,
}

/// A change to an organisation's settings; `None` fields stay as they are.
#[derive(Clone, Debug, Default)]
pub struct SettingsChange {
    /// `Some(None)` clears the organisation's default (the installation's applies).
    pub default_model: Option<Option<String>>,
    pub guard_policy: Option<Policy>,
    /// `Some(None)` clears the organisation's embeddings model.
    pub embedding_model: Option<Option<String>>,
}

fn model_from(price: &ModelPrice) -> Model {
    Model {
        name: price.name.clone(),
        input_usd_per_mtok: price.input_usd_per_mtok,
        output_usd_per_mtok: price.output_usd_per_mtok,
        fallbacks: price.fallbacks.clone(),
    }
}

fn price_of(model: &Model) -> ModelPrice {
    ModelPrice {
        name: model.name.clone(),
        input_usd_per_mtok: model.input_usd_per_mtok,
        output_usd_per_mtok: model.output_usd_per_mtok,
        fallbacks: model.fallbacks.clone(),
    }
}

impl Gateway {
    /// The models, default and guard policy of an organisation (cached briefly).
    pub async fn org_models(&self, org: OrgId) -> Result<Arc<OrgModels>, GatewayError> {
        if let Some(models) = self.inner.models.get(org) {
            return Ok(models);
        }
        let settings = self.inner.store.llm_settings.settings(org).await?;
        let stored = self.inner.store.llm_settings.providers(org).await?;
        let mut catalog = self.inner.models.installation().clone();
        for record in &stored {
            match self.provider_from(record).await {
                Ok(provider) => catalog.providers.push(provider),
                Err(e) => tracing::warn!(
                    provider = %record.name, error = %e,
                    "skipping an organisation provider that cannot be loaded"
                ),
            }
        }
        if let Some(default) = settings.default_model {
            catalog.default_model = Some(default);
        }
        if let Some(embedding) = settings.embedding_model {
            catalog.embedding_model = Some(embedding);
        }
        let policy = match settings.guard_policy.as_deref() {
            Some(json) => serde_json::from_str(json).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "stored guard policy unreadable; using the default");
                Policy::default()
            }),
            None => Policy::default(),
        };
        let models = Arc::new(OrgModels { catalog, policy });
        self.inner.models.put(org, models.clone());
        Ok(models)
    }

    async fn provider_from(&self, record: &OrgProviderRecord) -> Result<Provider, GatewayError> {
        let kind = kind_from_name(&record.kind)
            .ok_or_else(|| GatewayError::Internal(format!("unknown kind {}", record.kind)))?;
        let prices: Vec<ModelPrice> = serde_json::from_str(&record.models)
            .map_err(|e| GatewayError::Internal(format!("models of {}: {e}", record.name)))?;
        let api_key = match record.api_key_secret {
            Some(id) => {
                let bytes = self
                    .inner
                    .secrets
                    .open(id, Some(record.org_id), KEY_PURPOSE)
                    .await?;
                Some(
                    String::from_utf8(bytes.to_vec())
                        .map_err(|_| GatewayError::Internal("provider key not UTF-8".into()))?,
                )
            }
            None => None,
        };
        Ok(Provider {
            name: record.name.clone(),
            endpoint: Endpoint {
                kind,
                base_url: record.base_url.clone(),
                api_key,
                timeouts: Timeouts::default(),
                retries: 2,
            },
            models: prices.iter().map(model_from).collect(),
        })
    }

    /// The organisation's model settings and every provider it can use.
    pub async fn model_settings(
        &self,
        principal: &Principal,
    ) -> Result<ModelSettingsView, GatewayError> {
        let access = principal.tenant(Role::Admin)?;
        let org = access.org.id;
        let settings = self.inner.store.llm_settings.settings(org).await?;
        let models = self.org_models(org).await?;
        let stored = self.inner.store.llm_settings.providers(org).await?;
        let mut providers: Vec<ProviderView> = self
            .inner
            .models
            .installation()
            .providers
            .iter()
            .map(|p| ProviderView {
                name: p.name.clone(),
                kind: kind_name(p).to_owned(),
                base_url: p.endpoint.base_url.clone(),
                scope: "installation",
                has_api_key: p.endpoint.api_key.is_some(),
                models: p.models.iter().map(price_of).collect(),
            })
            .collect();
        for record in stored {
            providers.push(ProviderView {
                models: serde_json::from_str(&record.models).unwrap_or_default(),
                name: record.name,
                kind: record.kind,
                base_url: record.base_url,
                scope: "organization",
                has_api_key: record.api_key_secret.is_some(),
            });
        }
        Ok(ModelSettingsView {
            default_model: settings.default_model,
            effective_default_model: models.catalog.default_model.clone(),
            embedding_model: settings.embedding_model,
            effective_embedding_model: models.catalog.embedding_model.clone(),
            guard_policy: models.policy.clone(),
            providers,
        })
    }

    /// Changes the organisation's default model and/or guard policy.
    pub async fn update_model_settings(
        &self,
        principal: &Principal,
        change: SettingsChange,
    ) -> Result<(), GatewayError> {
        let access = principal.tenant(Role::Admin)?;
        let org = access.org.id;
        let mut settings = self.inner.store.llm_settings.settings(org).await?;
        if let Some(default) = change.default_model {
            if let Some(id) = &default {
                let models = self.org_models(org).await?;
                if models.catalog.find(id).is_err() {
                    return Err(GatewayError::invalid(
                        "default_model",
                        format!("`{id}` is not a model of this organisation."),
                    ));
                }
            }
            settings.default_model = default;
        }
        if let Some(embedding) = change.embedding_model {
            if let Some(id) = &embedding {
                let models = self.org_models(org).await?;
                if models.catalog.find(id).is_err() {
                    return Err(GatewayError::invalid(
                        "embedding_model",
                        format!("`{id}` is not a model of this organisation."),
                    ));
                }
            }
            settings.embedding_model = embedding;
        }
        if let Some(policy) = &change.guard_policy {
            settings.guard_policy = Some(
                serde_json::to_string(policy).map_err(|e| GatewayError::Internal(e.to_string()))?,
            );
        }
        self.save_settings(org, &settings).await?;
        self.record(
            org,
            principal.actor(),
            "admin.model_settings_changed",
            None,
            json!({
                "default_model": settings.default_model,
                "embedding_model": settings.embedding_model,
                "guard_policy_changed": change.guard_policy.is_some(),
            }),
        )
        .await
    }

    async fn save_settings(
        &self,
        org: OrgId,
        settings: &OrgLlmSettings,
    ) -> Result<(), GatewayError> {
        let now = self.inner.clock.now();
        self.inner
            .store
            .llm_settings
            .save_settings(org, settings, now)
            .await?;
        self.inner.models.forget(org);
        Ok(())
    }

    /// Adds or replaces one of the organisation's own providers.
    pub async fn save_provider(
        &self,
        principal: &Principal,
        new: NewProvider,
    ) -> Result<(), GatewayError> {
        let access = principal.tenant(Role::Admin)?;
        let org = access.org.id;
        let name = new.name.trim().to_owned();
        if self
            .inner
            .models
            .installation()
            .providers
            .iter()
            .any(|p| p.name == name)
        {
            return Err(GatewayError::invalid(
                "name",
                format!("`{name}` is the name of an installation provider; choose another."),
            ));
        }
        let kind = kind_from_name(&new.kind).ok_or_else(|| {
            GatewayError::invalid("kind", "The kind must be `openai` or `anthropic`.")
        })?;
        check_base_url(
            &new.base_url,
            self.inner.options.org_providers_allow_private,
        )?;
        if new.models.is_empty() {
            return Err(GatewayError::invalid("models", "Add at least one model."));
        }
        // Validate names, prices and fallbacks the same way the configuration is validated.
        let mut candidate = self.org_models(org).await?.catalog.clone();
        candidate.providers.retain(|p| p.name != name);
        candidate.providers.push(Provider {
            name: name.clone(),
            endpoint: Endpoint {
                kind,
                base_url: new.base_url.clone(),
                api_key: None,
                timeouts: Timeouts::default(),
                retries: 0,
            },
            models: new.models.iter().map(model_from).collect(),
        });
        candidate
            .validate()
            .map_err(|e| GatewayError::invalid("models", e.to_string()))?;

        let store = &self.inner.store;
        let existing = store
            .llm_settings
            .providers(org)
            .await?
            .into_iter()
            .find(|p| p.name == name);
        let now = self.inner.clock.now();
        let api_key_secret = match (
            &new.api_key,
            existing.as_ref().and_then(|p| p.api_key_secret),
        ) {
            (Some(key), Some(id)) if !key.is_empty() => {
                self.inner
                    .secrets
                    .replace(id, Some(org), KEY_PURPOSE, key.as_bytes())
                    .await?;
                Some(id)
            }
            (Some(key), None) if !key.is_empty() => Some(
                self.inner
                    .secrets
                    .seal(Some(org), KEY_PURPOSE, key.as_bytes())
                    .await?,
            ),
            (_, current) => current,
        };
        let record = OrgProviderRecord {
            org_id: org,
            name: name.clone(),
            kind: new.kind.clone(),
            base_url: new.base_url.clone(),
            api_key_secret,
            api_key_env: None,
            models: serde_json::to_string(&new.models)
                .map_err(|e| GatewayError::Internal(e.to_string()))?,
            created_at: existing.as_ref().map_or(now, |p| p.created_at),
            updated_at: now,
        };
        store.llm_settings.save_provider(&record).await?;
        self.inner.models.forget(org);
        self.record(
            org,
            principal.actor(),
            "admin.model_provider_saved",
            Some(name),
            json!({
                "kind": new.kind, "base_url": new.base_url,
                "models": new.models.iter().map(|m| m.name.clone()).collect::<Vec<_>>(),
                "api_key_changed": new.api_key.as_deref().is_some_and(|k| !k.is_empty()),
            }),
        )
        .await
    }

    /// Removes one of the organisation's own providers and its sealed key.
    pub async fn delete_provider(
        &self,
        principal: &Principal,
        name: &str,
    ) -> Result<(), GatewayError> {
        let access = principal.tenant(Role::Admin)?;
        let org = access.org.id;
        let removed = self
            .inner
            .store
            .llm_settings
            .delete_provider(org, name)
            .await?
            .ok_or(crate::identity::IdentityError::NotFound)?;
        if let Some(secret) = removed.api_key_secret {
            self.inner.store.secrets.delete(secret).await?;
        }
        // A default or embeddings model of the removed provider no longer exists.
        let mut settings = self.inner.store.llm_settings.settings(org).await?;
        let of_removed = |m: &Option<String>| {
            m.as_deref()
                .is_some_and(|m| m.split_once('/').is_some_and(|(p, _)| p == name))
        };
        let (default_gone, embedding_gone) = (
            of_removed(&settings.default_model),
            of_removed(&settings.embedding_model),
        );
        if default_gone {
            settings.default_model = None;
        }
        if embedding_gone {
            settings.embedding_model = None;
        }
        if default_gone || embedding_gone {
            self.save_settings(org, &settings).await?;
        }
        self.inner.models.forget(org);
        self.record(
            org,
            principal.actor(),
            "admin.model_provider_deleted",
            Some(name.to_owned()),
            json!({}),
        )
        .await
    }
}

fn kind_name(provider: &Provider) -> &'static str {
    match provider.endpoint.kind {
        switchboard_llm::client::Kind::Anthropic => "anthropic",
        switchboard_llm::client::Kind::OpenAi => "openai",
    }
}

/// An organisation provider's URL (see [`crate::net::check_tenant_url`]).
fn check_base_url(url: &str, allow_private: bool) -> Result<(), GatewayError> {
    use crate::net::UrlProblem;
    crate::net::check_tenant_url(url, allow_private, &[]).map_err(|p| {
        GatewayError::invalid(
            "base_url",
            match p {
                UrlProblem::NotHttp => "The base URL must start with http:// or https://.",
                UrlProblem::NoHost => "The base URL has no host.",
                UrlProblem::Private => {
                    "Providers on loopback or private addresses can only be added by the \
                     operator (switchboard.toml), or when llm.org_providers_allow_private is on."
                }
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_urls_are_refused_with_the_field_named() {
        assert!(check_base_url("https://api.openai.com/v1", false).is_ok());
        assert!(check_base_url("http://127.0.0.1:9999/v1", true).is_ok());
        match check_base_url("http://10.0.0.5/v1", false) {
            Err(GatewayError::Invalid { field, message }) => {
                assert_eq!(field, "base_url");
                assert!(message.contains("private"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
