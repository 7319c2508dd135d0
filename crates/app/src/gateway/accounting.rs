//! Accounting: every gateway call becomes one usage record and one `ai.call` audit event.
//! Calls hand their record to an in-memory queue and return at once; one writer task stores
//! the queue in batches (one transaction per batch, usage and audit together, retried until
//! it succeeds) and, on shutdown, drains the queue before it stops — so a graceful stop loses
//! nothing and a retried batch never doubles anything (records are keyed by id).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchboard_store::{Store, UsageRecord};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::audit::{chain, Audit, NewEvent};

/// How long the writer gathers records before it writes a batch.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(50);
/// The most records written in one transaction.
pub const MAX_BATCH: usize = 2_000;

/// One call to store.
#[derive(Clone, Debug)]
pub struct CallRecord {
    pub usage: UsageRecord,
    pub event: NewEvent,
}

#[derive(Default, Debug)]
struct Counters {
    queued: AtomicU64,
    written: AtomicU64,
}

pub(super) struct UsageSink {
    tx: mpsc::UnboundedSender<CallRecord>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<CallRecord>>>,
    counters: Arc<Counters>,
    store: Store,
    audit: Audit,
}

impl UsageSink {
    pub(super) fn new(store: Store, audit: Audit) -> UsageSink {
        let (tx, rx) = mpsc::unbounded_channel();
        UsageSink {
            tx,
            rx: Mutex::new(Some(rx)),
            counters: Arc::default(),
            store,
            audit,
        }
    }

    /// Queues a record (never blocks; callable from `Drop`).
    pub(super) fn send(&self, record: CallRecord) {
        self.counters.queued.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(record).is_err() {
            tracing::error!("usage writer is gone; a usage record was not stored");
        }
    }

    /// Records queued but not yet stored.
    pub(super) fn pending(&self) -> u64 {
        let queued = self.counters.queued.load(Ordering::SeqCst);
        queued.saturating_sub(self.counters.written.load(Ordering::SeqCst))
    }

    /// The writer; `None` once it was taken.
    pub(super) fn writer(&self) -> Option<UsageWriter> {
        let rx = self.rx.lock().ok()?.take()?;
        Some(UsageWriter {
            rx,
            counters: self.counters.clone(),
            store: self.store.clone(),
            audit: self.audit.clone(),
        })
    }
}

/// The task that stores queued usage records.
pub struct UsageWriter {
    rx: mpsc::UnboundedReceiver<CallRecord>,
    counters: Arc<Counters>,
    store: Store,
    audit: Audit,
}

impl UsageWriter {
    /// Writes batches until `shutdown`, then drains the queue and returns.
    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            let first = tokio::select! {
                item = self.rx.recv() => match item {
                    Some(item) => item,
                    None => break,
                },
                _ = shutdown.cancelled() => break,
            };
            let mut batch = vec![first];
            tokio::select! {
                _ = tokio::time::sleep(FLUSH_INTERVAL) => {}
                _ = shutdown.cancelled() => {}
            }
            while batch.len() < MAX_BATCH {
                match self.rx.try_recv() {
                    Ok(item) => batch.push(item),
                    Err(_) => break,
                }
            }
            self.write(batch, &shutdown).await;
        }
        // Shutdown: everything still queued is written before the task ends.
        loop {
            let mut batch = Vec::new();
            while batch.len() < MAX_BATCH {
                match self.rx.try_recv() {
                    Ok(item) => batch.push(item),
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                break;
            }
            self.write(batch, &shutdown).await;
        }
    }

    /// Stores one batch, retrying with backoff; after shutdown began, gives up after a few
    /// attempts (and says how many records were lost).
    async fn write(&self, batch: Vec<CallRecord>, shutdown: &CancellationToken) {
        let n = batch.len() as u64;
        let calls: Vec<_> = batch
            .into_iter()
            .map(|c| (c.usage, self.audit.prepare(c.event)))
            .collect();
        let mut wait = Duration::from_millis(100);
        let mut failures_after_shutdown = 0;
        loop {
            match self
                .store
                .usage
                .record_calls(calls.clone(), &chain::GENESIS, &chain::link_hash)
                .await
            {
                Ok(_) => {
                    self.counters.written.fetch_add(n, Ordering::SeqCst);
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, records = n, "could not store usage records; retrying");
                    if shutdown.is_cancelled() {
                        failures_after_shutdown += 1;
                        if failures_after_shutdown >= 5 {
                            tracing::error!(records = n, "usage records lost at shutdown");
                            self.counters.written.fetch_add(n, Ordering::SeqCst);
                            return;
                        }
                    }
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}
