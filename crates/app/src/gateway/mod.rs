//! The AI gateway (DESIGN 4.5): the provider layer offered to other software through an
//! OpenAI-compatible endpoint, with virtual keys, limits, budgets, the guard, accounting and
//! audit on every call.
//!
//! Rooms: `keys` (virtual keys `sbk_...` and their short-lived cache), `models` (the
//! installation's providers plus each organisation's own, its default model and guard
//! policy), `limits` (requests/tokens per minute and monthly spend, in memory), `chat` (the
//! per-call pipeline for chat completions and embeddings), `cache` (the optional exact-match
//! response cache), `accounting` (usage records and `ai.call` audit events, written in
//! batches off the request path, flushed on shutdown) and `usage` (summaries for the console
//! and the API).

pub mod accounting;
pub mod cache;
pub mod chat;
pub mod keys;
pub mod limits;
pub mod models;
pub mod usage;

use std::sync::Arc;

use switchboard_domain::Clock;
use switchboard_llm::catalog::Catalog;
use switchboard_llm::client::Client;
use switchboard_store::{Store, StoreError};

use crate::audit::Audit;
use crate::identity::IdentityError;
use crate::secrets::{Secrets, SecretsError};

/// Failures of gateway calls and gateway management. Each maps to one stable public code.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("The gateway key is invalid, revoked or expired.")]
    Unauthorized,
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    ModelNotFound(String),
    #[error("This key may not use the model `{0}`.")]
    ModelNotAllowed(String),
    #[error("Too many {what} for this key; try again in {retry_after_secs} seconds.")]
    RateLimited {
        what: &'static str,
        retry_after_secs: u64,
    },
    #[error("This key has used its monthly budget of {budget_usd:.2} USD.")]
    BudgetExceeded { budget_usd: f64 },
    #[error("The request was blocked by the organisation's guard policy: it contains {0}.")]
    ContentBlocked(String),
    #[error("The model provider failed: {0}")]
    Upstream(String),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for GatewayError {
    fn from(e: StoreError) -> Self {
        GatewayError::Internal(e.to_string())
    }
}

impl From<SecretsError> for GatewayError {
    fn from(e: SecretsError) -> Self {
        GatewayError::Internal(e.to_string())
    }
}

impl GatewayError {
    fn invalid(field: &'static str, message: impl Into<String>) -> GatewayError {
        GatewayError::Invalid {
            field,
            message: message.into(),
        }
    }

    /// The status recorded in usage records for a call that failed with this error.
    pub fn status(&self) -> &'static str {
        match self {
            GatewayError::Unauthorized => "unauthorized",
            GatewayError::Invalid { .. } => "invalid_request",
            GatewayError::ModelNotFound(_) => "model_not_found",
            GatewayError::ModelNotAllowed(_) => "model_not_allowed",
            GatewayError::RateLimited { .. } => "rate_limited",
            GatewayError::BudgetExceeded { .. } => "budget_exceeded",
            GatewayError::ContentBlocked(_) => "content_blocked",
            GatewayError::Upstream(_) => "upstream_error",
            GatewayError::Identity(_) | GatewayError::Internal(_) => "internal",
        }
    }
}

/// Gateway settings chosen by the operator.
#[derive(Clone, Debug, Default)]
pub struct GatewayOptions {
    /// Whether organisations may add providers on loopback, private or link-local addresses
    /// (off by default: an organisation admin could otherwise make the hub call internal
    /// services).
    pub org_providers_allow_private: bool,
}

/// The gateway service. Cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    secrets: Secrets,
    audit: Audit,
    client: Client,
    options: GatewayOptions,
    keys: keys::KeyCache,
    models: models::ModelCache,
    limits: limits::Limits,
    cache: cache::ResponseCache,
    sink: accounting::UsageSink,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").finish_non_exhaustive()
    }
}

impl Gateway {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        secrets: Secrets,
        audit: Audit,
        installation: Catalog,
        options: GatewayOptions,
    ) -> Gateway {
        let sink = accounting::UsageSink::new(store.clone(), audit.clone());
        Gateway {
            inner: Arc::new(Inner {
                client: Client::new(std::time::Duration::from_secs(5)),
                keys: keys::KeyCache::default(),
                models: models::ModelCache::new(installation),
                limits: limits::Limits::default(),
                cache: cache::ResponseCache::default(),
                sink,
                store,
                clock,
                secrets,
                audit,
                options,
            }),
        }
    }

    /// The installation's providers and default model (from the configuration).
    pub fn installation_catalog(&self) -> &Catalog {
        self.inner.models.installation()
    }

    async fn record(
        &self,
        org: switchboard_domain::OrgId,
        actor: crate::audit::Actor,
        kind: &str,
        target: Option<String>,
        details: serde_json::Value,
    ) -> Result<(), GatewayError> {
        self.inner
            .audit
            .record(crate::audit::NewEvent {
                org,
                actor,
                kind: kind.to_owned(),
                target,
                decision: Some("ok".to_owned()),
                details,
            })
            .await
            .map_err(|e| GatewayError::Internal(e.to_string()))?;
        Ok(())
    }

    /// The background writer of usage records (once; `None` after it was taken). Started
    /// by [`crate::App::start_accounting`] under the supervisor, which lets it drain the
    /// queue on shutdown.
    pub fn accounting(&self) -> Option<accounting::UsageWriter> {
        self.inner.sink.writer()
    }
}
