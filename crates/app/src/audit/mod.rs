//! The audit log (DESIGN 4.7): append-only events, one SHA-256 hash chain per organisation,
//! details passed through the guard before they are stored, and verification that reports the
//! first broken link.

pub mod chain;

use std::sync::Arc;

use serde::Serialize;
use switchboard_domain::{AuditEventId, Clock, OrgId};
use switchboard_guard::{redact, scanner, Placeholders, Policy};
use switchboard_store::{AuditRecord, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

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
    /// The group-commit writer could not store the event.
    #[error("the audit event could not be stored: {0}")]
    Write(String),
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
    /// The group-commit writer's queue, while it runs ([`Audit::start_writer`]).
    writer: Arc<std::sync::Mutex<Option<mpsc::UnboundedSender<Queued>>>>,
}

/// An event waiting for the group-commit writer, and who waits for it to be stored.
struct Queued {
    record: AuditRecord,
    stored: oneshot::Sender<Result<AuditEventId, String>>,
}

/// What the writer answers for one queued event.
type Answer = oneshot::Receiver<Result<AuditEventId, String>>;

/// The most events one group commit writes.
const MAX_GROUP: usize = 256;

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit").finish_non_exhaustive()
    }
}

impl Audit {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Audit {
        Audit {
            store,
            clock,
            writer: Arc::default(),
        }
    }

    /// Appends an event to its organisation's chain and returns once it is stored. Personal
    /// data and credentials in the details are redacted first, so the log never holds a
    /// password, key or token. With the writer running, events recorded at the same time
    /// are stored together (one lock and one commit for the group); without it (or once it
    /// stopped), each is appended on its own.
    pub async fn record(&self, event: NewEvent) -> Result<AuditEventId, AuditError> {
        let ids = self.submit(vec![event]).await?;
        ids.into_iter()
            .next()
            .ok_or_else(|| AuditError::Write("the event was not stored".to_owned()))
    }

    /// Puts events in line for the writer now, in this order (ahead of any recorded later,
    /// and usually in one group commit), and returns what resolves once they are stored.
    pub fn submit(
        &self,
        events: Vec<NewEvent>,
    ) -> impl std::future::Future<Output = Result<Vec<AuditEventId>, AuditError>> + Send + 'static
    {
        let records: Vec<AuditRecord> = events.into_iter().map(|e| self.prepare(e)).collect();
        let queue = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        // Each record with the answer to wait for, or none when it is to be stored here.
        let waiting: Vec<(AuditRecord, Option<Answer>)> = records
            .into_iter()
            .map(|record| {
                let answer = queue.as_ref().and_then(|queue| {
                    let (stored, answer) = oneshot::channel();
                    let queued = Queued {
                        record: record.clone(),
                        stored,
                    };
                    queue.send(queued).ok().map(|()| answer)
                });
                (record, answer)
            })
            .collect();
        let store = self.store.clone();
        async move {
            let mut ids = Vec::with_capacity(waiting.len());
            for (record, answer) in waiting {
                if let Some(answer) = answer {
                    match answer.await {
                        Ok(Ok(id)) => {
                            ids.push(id);
                            continue;
                        }
                        Ok(Err(e)) => return Err(AuditError::Write(e)),
                        // The writer ended without answering (it panicked): store it here.
                        Err(_) => {}
                    }
                }
                // The store fills in seq and prev_hash under the chain's lock and hashes
                // with our rule.
                let stored = store
                    .audit
                    .append(record, &chain::GENESIS, &chain::link_hash)
                    .await?;
                ids.push(stored.id);
            }
            Ok(ids)
        }
    }

    /// Starts the group-commit writer: events recorded while a group is being stored wait
    /// together and go in the next one. Nothing waits for a group to fill, so a lone event
    /// is stored at once. At shutdown it stores what is queued, then events are appended
    /// one by one again.
    pub fn start_writer(&self, workers: &crate::Supervisor) {
        let (queue, mut rx) = mpsc::unbounded_channel::<Queued>();
        *self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(queue);
        let audit = self.clone();
        workers.spawn("audit-writer", move |shutdown| async move {
            loop {
                let first = tokio::select! {
                    queued = rx.recv() => queued,
                    () = shutdown.cancelled() => None,
                };
                let Some(first) = first else { break };
                let mut group = vec![first];
                while group.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(queued) => group.push(queued),
                        Err(_) => break,
                    }
                }
                audit.store_group(group).await;
            }
            // New events go straight to the store from now on; what is queued is stored.
            audit
                .writer
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            rx.close();
            let mut group = Vec::new();
            while let Some(queued) = rx.recv().await {
                group.push(queued);
                if group.len() == MAX_GROUP {
                    audit.store_group(std::mem::take(&mut group)).await;
                }
            }
            if !group.is_empty() {
                audit.store_group(group).await;
            }
        });
    }

    /// Stores one group in one transaction; if that fails, each event on its own (so one
    /// bad event fails only its own caller).
    async fn store_group(&self, group: Vec<Queued>) {
        let records: Vec<AuditRecord> = group.iter().map(|q| q.record.clone()).collect();
        match self
            .store
            .audit
            .append_batch(records, &chain::GENESIS, &chain::link_hash)
            .await
        {
            Ok(stored) => {
                for (queued, record) in group.into_iter().zip(stored) {
                    let _ = queued.stored.send(Ok(record.id));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, events = group.len(), "audit group commit failed; storing one by one");
                for queued in group {
                    let result = self
                        .store
                        .audit
                        .append(queued.record, &chain::GENESIS, &chain::link_hash)
                        .await
                        .map(|r| r.id)
                        .map_err(|e| e.to_string());
                    let _ = queued.stored.send(result);
                }
            }
        }
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

/// Canonical JSON text of the details with every string value passed through the guard,
/// written as it is guarded (no second JSON value is built).
fn guard_details(details: &serde_json::Value) -> String {
    struct Guarded<'a> {
        value: &'a serde_json::Value,
        placeholders: &'a std::cell::RefCell<Placeholders>,
    }
    impl Guarded<'_> {
        fn of<'b>(&'b self, value: &'b serde_json::Value) -> Guarded<'b> {
            Guarded {
                value,
                placeholders: self.placeholders,
            }
        }
    }
    impl Serialize for Guarded<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self.value {
                serde_json::Value::String(text) => {
                    let guarded = redact(
                        scanner(),
                        text,
                        &Policy::default(),
                        &mut self.placeholders.borrow_mut(),
                    );
                    match guarded {
                        Ok(r) => s.serialize_str(&r.text),
                        Err(_) => s.serialize_str("[REDACTED]"),
                    }
                }
                serde_json::Value::Array(items) => s.collect_seq(items.iter().map(|v| self.of(v))),
                serde_json::Value::Object(map) => {
                    s.collect_map(map.iter().map(|(k, v)| (k, self.of(v))))
                }
                other => other.serialize(s),
            }
        }
    }
    let placeholders = std::cell::RefCell::new(Placeholders::new());
    let guarded = Guarded {
        value: details,
        placeholders: &placeholders,
    };
    serde_json::to_string(&guarded).unwrap_or_else(|_| "{}".to_owned())
}

#[cfg(test)]
mod tests {
    use super::guard_details;
    use serde_json::json;

    #[test]
    fn details_are_guarded_string_by_string_into_canonical_text() {
        let details = json!({
            "z": [1, 2.5, null, true, {"who": "ann@example.com"}],
            "a": "ann@example.com wrote to bob@example.com",
            "n": {"deep": ["bob@example.com"], "count": 3},
        });
        assert_eq!(
            guard_details(&details),
            r#"{"a":"[EMAIL_1] wrote to [EMAIL_2]","n":{"count":3,"deep":["[EMAIL_2]"]},"z":[1,2.5,null,true,{"who":"[EMAIL_1]"}]}"#
        );
    }
}
