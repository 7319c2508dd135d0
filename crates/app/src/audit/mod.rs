//! The audit log (DESIGN 4.7): append-only events, one SHA-256 hash chain per organisation,
//! details passed through the guard before they are stored, and verification that reports the
//! first broken link.

pub mod chain;

use std::sync::Arc;

use serde::Serialize;
use switchboard_domain::{AuditEventId, Clock, OrgId};
use switchboard_guard::{redact, scanner, Placeholders, Policy};
use switchboard_store::{AuditRecord, Store, StoreError};

/// Who did something.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    User(String),
    ApiKey(String),
    Agent(String),
    /// A virtual key of the AI gateway.
    GatewayKey(String),
    System,
}

impl Actor {
    pub(crate) fn parts(&self) -> (&'static str, Option<String>) {
        match self {
            Actor::User(id) => ("user", Some(id.clone())),
            Actor::ApiKey(id) => ("api_key", Some(id.clone())),
            Actor::Agent(id) => ("agent", Some(id.clone())),
            Actor::GatewayKey(id) => ("gateway_key", Some(id.clone())),
            Actor::System => ("system", None),
        }
    }
}

/// An event to record.
#[derive(Clone, Debug)]
pub struct NewEvent {
    /// The organisation's chain, or [`OrgId::PLATFORM`].
    pub org: OrgId,
    pub actor: Actor,
    /// `auth.login`, `admin.role_change`, `tool.call`, ...
    pub kind: String,
    pub target: Option<String>,
    pub decision: Option<String>,
    pub details: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The first broken link found by [`Audit::verify`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BadLink {
    pub org_id: String,
    pub seq: i64,
    pub id: String,
    pub reason: String,
}

/// The result of verifying one or all chains.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    /// Events checked before the first break (or in all).
    pub checked: u64,
    pub chains: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad: Option<BadLink>,
}

/// Records and verifies audit events.
#[derive(Clone)]
pub struct Audit {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit").finish_non_exhaustive()
    }
}

impl Audit {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Audit {
        Audit { store, clock }
    }

    /// Appends an event to its organisation's chain. Personal data and credentials in the
    /// details are redacted first, so the log never holds a password, key or token.
    pub async fn record(&self, event: NewEvent) -> Result<AuditEventId, AuditError> {
        let record = self.prepare(event);
        // The store fills in seq and prev_hash under the chain's lock and hashes with our rule.
        let stored = self
            .store
            .audit
            .append(record, &chain::GENESIS, &chain::link_hash)
            .await?;
        Ok(stored.id)
    }

    /// The record of an event, ready to be linked into its chain by the store (for writers
    /// that append in batches, such as gateway accounting). Details are guarded here.
    pub fn prepare(&self, event: NewEvent) -> AuditRecord {
        let details = guard_details(&event.details);
        let (actor_kind, actor_id) = event.actor.parts();
        AuditRecord {
            id: AuditEventId::generate(self.clock.as_ref()),
            org_id: event.org,
            seq: 0,
            at: self.clock.now(),
            actor_kind: actor_kind.to_owned(),
            actor_id,
            kind: event.kind,
            target: event.target,
            decision: event.decision,
            details,
            prev_hash: Vec::new(),
            hash: Vec::new(),
        }
    }

    /// Recomputes one chain (or every chain) and reports the first broken link.
    pub async fn verify(&self, org: Option<OrgId>) -> Result<VerifyReport, AuditError> {
        let orgs = match org {
            Some(org) => vec![org],
            None => self.store.audit.chains().await?,
        };
        let mut checked = 0u64;
        for org in &orgs {
            let (mut prev_seq, mut prev_hash) = (0i64, chain::GENESIS.to_vec());
            loop {
                let page = self.store.audit.chain(*org, prev_seq, 500).await?;
                if page.is_empty() {
                    break;
                }
                for record in page {
                    if let Err(broken) = chain::check(prev_seq, &prev_hash, &record) {
                        return Ok(VerifyReport {
                            ok: false,
                            checked,
                            chains: orgs.len() as u64,
                            first_bad: Some(BadLink {
                                org_id: org.to_string(),
                                seq: record.seq,
                                id: record.id.to_string(),
                                reason: broken.describe(),
                            }),
                        });
                    }
                    checked += 1;
                    prev_seq = record.seq;
                    prev_hash = record.hash;
                }
            }
        }
        Ok(VerifyReport {
            ok: true,
            checked,
            chains: orgs.len() as u64,
            first_bad: None,
        })
    }
}

/// Canonical JSON text of the details with every string value passed through the guard.
fn guard_details(details: &serde_json::Value) -> String {
    fn walk(value: &serde_json::Value, placeholders: &mut Placeholders) -> serde_json::Value {
        match value {
            serde_json::Value::String(s) => {
                let policy = Policy::default();
                match redact(scanner(), s, &policy, placeholders) {
                    Ok(r) => serde_json::Value::String(r.text),
                    Err(_) => serde_json::Value::String("[REDACTED]".to_owned()),
                }
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(|v| walk(v, placeholders)).collect())
            }
            serde_json::Value::Object(map) => serde_json::Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), walk(v, placeholders)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    walk(details, &mut Placeholders::new()).to_string()
}
