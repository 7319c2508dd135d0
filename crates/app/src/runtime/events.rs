//! A run's event stream — `text`, `tool_call`, `tool_result`, `approval_required`,
//! `approval_resolved`, `error`, `done` — stored in order (the sequence number is the SSE
//! event id) and followed by any number of readers in any process. Text deltas are gathered
//! for a few milliseconds into one event, so a fast model does not cost a write per token.
//! Readers in the process that writes get each event handed over as it is stored; the
//! database is read to catch up, after a gap, and for runs another process drives.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use switchboard_domain::{OrgId, RunId, RunStatus};
use switchboard_store::RunEventRecord;
use tokio::sync::broadcast;

use super::RuntimeError;
use crate::identity::Principal;
use crate::App;

/// Text is held back at most this long, or until this many bytes have gathered.
const TEXT_FLUSH_AFTER: Duration = Duration::from_millis(40);
const TEXT_FLUSH_BYTES: usize = 64;
/// Readers look again at least this often (for events written by another process).
const POLL: Duration = Duration::from_millis(400);
/// A reader with nothing to send says so this often (an SSE comment keeps proxies open).
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// One event as clients receive it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunEvent {
    pub seq: i64,
    pub event: String,
    pub data: Value,
}

impl From<RunEventRecord> for RunEvent {
    fn from(r: RunEventRecord) -> Self {
        RunEvent {
            seq: r.seq,
            event: r.kind,
            data: serde_json::from_str(&r.data).unwrap_or(Value::Null),
        }
    }
}

/// An event as handed to this process's followers.
pub type Published = (RunId, RunEvent);

/// Writes a run's events.
pub(super) struct Emitter {
    app: App,
    org: OrgId,
    run: RunId,
    text: String,
    text_since: Option<Instant>,
}

impl Emitter {
    pub(super) fn new(app: &App, org: OrgId, run: RunId) -> Emitter {
        Emitter {
            app: app.clone(),
            org,
            run,
            text: String::new(),
            text_since: None,
        }
    }

    /// Stores an event (after any text waiting) and wakes the readers.
    pub(super) async fn emit(&mut self, kind: &str, data: Value) -> Result<i64, RuntimeError> {
        self.flush().await?;
        self.write(kind, data).await
    }

    async fn write(&self, kind: &str, data: Value) -> Result<i64, RuntimeError> {
        let seq = self
            .app
            .store
            .runs
            .append_event(&RunEventRecord {
                run_id: self.run,
                org_id: self.org,
                seq: 0,
                kind: kind.to_owned(),
                data: data.to_string(),
                created_at: self.app.clock.now(),
            })
            .await?;
        // No follower listening is fine.
        let _ = self.app.run_events.send((
            self.run,
            RunEvent {
                seq,
                event: kind.to_owned(),
                data,
            },
        ));
        Ok(seq)
    }

    /// Adds answer text; written once enough has gathered.
    pub(super) async fn text(&mut self, delta: &str) -> Result<(), RuntimeError> {
        if delta.is_empty() {
            return Ok(());
        }
        self.text.push_str(delta);
        let since = *self.text_since.get_or_insert_with(Instant::now);
        if self.text.len() >= TEXT_FLUSH_BYTES || since.elapsed() >= TEXT_FLUSH_AFTER {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes the text gathered so far.
    pub(super) async fn flush(&mut self) -> Result<(), RuntimeError> {
        self.text_since = None;
        if self.text.is_empty() {
            return Ok(());
        }
        let delta = std::mem::take(&mut self.text);
        self.write("text", serde_json::json!({ "delta": delta }))
            .await
            .map(|_| ())
    }
}

/// What a follower yields.
#[derive(Clone, Debug, PartialEq)]
pub enum Followed {
    Event(RunEvent),
    /// Nothing new for a while; the run goes on.
    KeepAlive,
}

/// Reads a run's events from a point on, waiting for new ones, until the run's `done`
/// (the first one, or — with `until_final` — one whose status is final).
pub struct RunFollower {
    app: App,
    org: OrgId,
    run: RunId,
    after: i64,
    until_final: bool,
    updates: broadcast::Receiver<Published>,
    /// The database was read since the last gap: what follows arrives in order here.
    synced: bool,
    /// When the database was last read (it is read again after `POLL` in any case, for
    /// events another process stores).
    read_at: Instant,
    buffered: std::collections::VecDeque<RunEvent>,
    over: bool,
}

impl RunFollower {
    /// The next event; `None` after the `done` that ends the follow.
    pub async fn next(&mut self) -> Option<Followed> {
        let started = Instant::now();
        loop {
            if let Some(event) = self.buffered.pop_front() {
                self.after = event.seq;
                if event.event == "done" {
                    let status = event.data["status"].as_str().unwrap_or_default();
                    let final_status = RunStatus::parse(status).is_none_or(RunStatus::is_final);
                    if !self.until_final || final_status {
                        self.over = true;
                        self.buffered.clear();
                    }
                }
                return Some(Followed::Event(event));
            }
            if self.over {
                return None;
            }
            if !self.synced || self.read_at.elapsed() >= POLL {
                self.read_at = Instant::now();
                match self
                    .app
                    .store
                    .runs
                    .events_after(self.org, self.run, self.after, 200)
                    .await
                {
                    Ok(events) => {
                        // Fewer than a page: everything after this arrives as it is stored.
                        self.synced = events.len() < 200;
                        if !events.is_empty() {
                            self.buffered.extend(events.into_iter().map(RunEvent::from));
                            continue;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "reading run events failed"),
                }
            }
            if started.elapsed() >= KEEP_ALIVE {
                return Some(Followed::KeepAlive);
            }
            let wait = POLL.saturating_sub(self.read_at.elapsed());
            match tokio::time::timeout(wait, self.updates.recv()).await {
                Ok(Ok((run, event))) if run == self.run => {
                    if event.seq == self.after + 1 && self.synced {
                        self.buffered.push_back(event);
                    } else if event.seq > self.after {
                        self.synced = false;
                    }
                }
                Ok(Ok(_)) => {}
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => self.synced = false,
                Ok(Err(broadcast::error::RecvError::Closed)) => {
                    tokio::time::sleep(POLL).await;
                    self.synced = false;
                }
                // Quiet here: another process may be driving the run.
                Err(_) => {
                    if self.run_is_over().await {
                        // Ended without a `done` this reader can see (its write was lost
                        // with a database crash): nothing more will come.
                        self.over = true;
                    }
                }
            }
        }
    }
}

impl RunFollower {
    /// For a follower made before its run wrote anything: nothing to catch up on.
    pub(super) fn listening_from_the_start(&mut self) {
        self.synced = true;
    }

    /// The run has a final status and no events after the last one read.
    async fn run_is_over(&self) -> bool {
        let final_status = matches!(
            self.app.store.runs.get(self.org, self.run).await,
            Ok(Some(r)) if RunStatus::parse(&r.status).is_some_and(RunStatus::is_final)
        );
        final_status
            && matches!(
                self.app.store.runs.events_after(self.org, self.run, self.after, 1).await,
                Ok(events) if events.is_empty()
            )
    }
}

impl App {
    /// Follows a run of the caller's organisation from after event `after`.
    pub async fn follow_run(
        &self,
        principal: &Principal,
        run: RunId,
        after: i64,
        until_final: bool,
    ) -> Result<RunFollower, RuntimeError> {
        let record = self.own_run(principal, run).await?;
        let org = record.org_id;
        Ok(self.follower(org, run, after, until_final))
    }

    pub(super) fn follower(
        &self,
        org: OrgId,
        run: RunId,
        after: i64,
        until_final: bool,
    ) -> RunFollower {
        RunFollower {
            app: self.clone(),
            org,
            run,
            after: after.max(0),
            until_final,
            updates: self.run_events.subscribe(),
            synced: false,
            read_at: Instant::now(),
            buffered: std::collections::VecDeque::new(),
            over: false,
        }
    }
}
