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
use tokio::sync::{broadcast, mpsc, oneshot};

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

/// Writes a run's events. The one process driving a run numbers them; each is handed to
/// this process's followers at once and stored by a writer task (several at a time when they
/// come quickly), so the run does not wait for the database on every event. The closing
/// `done` waits until everything before it is stored.
pub(super) struct Emitter {
    app: App,
    org: OrgId,
    run: RunId,
    text: String,
    text_since: Option<Instant>,
    /// The last seq given out; `None` until read from the database (a run driven before).
    seq: Option<i64>,
    writer: Option<mpsc::UnboundedSender<Write>>,
}

/// What the writer task is handed.
enum Write {
    Event(RunEventRecord),
    /// Answered once everything handed over before it is stored (or a write failed).
    Sync(oneshot::Sender<Result<(), String>>),
}

impl Emitter {
    /// For a run that has events already (or may have): numbering goes on from the last.
    pub(super) fn new(app: &App, org: OrgId, run: RunId) -> Emitter {
        Emitter {
            app: app.clone(),
            org,
            run,
            text: String::new(),
            text_since: None,
            seq: None,
            writer: None,
        }
    }

    /// For a run just created: its first event is 1.
    pub(super) fn fresh(app: &App, org: OrgId, run: RunId) -> Emitter {
        Emitter {
            seq: Some(0),
            ..Emitter::new(app, org, run)
        }
    }

    /// Hands an event (after any text waiting) to the readers and to the writer.
    pub(super) async fn emit(&mut self, kind: &str, data: Value) -> Result<i64, RuntimeError> {
        self.flush().await?;
        self.write(kind, data, false).await
    }

    /// [`Emitter::emit`], returning once this event and all before it are stored; readers
    /// get it then. For the event that closes a drive.
    pub(super) async fn emit_stored(
        &mut self,
        kind: &str,
        data: Value,
    ) -> Result<i64, RuntimeError> {
        self.flush().await?;
        self.write(kind, data, true).await
    }

    async fn write(&mut self, kind: &str, data: Value, stored: bool) -> Result<i64, RuntimeError> {
        let seq = match self.seq {
            Some(seq) => seq + 1,
            None => {
                self.app
                    .store
                    .runs
                    .last_event_seq(self.org, self.run)
                    .await?
                    + 1
            }
        };
        self.seq = Some(seq);
        let record = RunEventRecord {
            run_id: self.run,
            org_id: self.org,
            seq,
            kind: kind.to_owned(),
            data: data.to_string(),
            created_at: self.app.clock.now(),
        };
        let writer = self
            .writer
            .get_or_insert_with(|| spawn_writer(self.app.clone()));
        // A writer that stopped reports it to the next `sync`.
        let _ = writer.send(Write::Event(record));
        if stored {
            self.stored().await?;
        }
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

    async fn stored(&self) -> Result<(), RuntimeError> {
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        let (tx, rx) = oneshot::channel();
        if writer.send(Write::Sync(tx)).is_err() {
            return Err(RuntimeError::Internal("the event writer stopped".into()));
        }
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(RuntimeError::Internal(e)),
            Err(_) => Err(RuntimeError::Internal("the event writer stopped".into())),
        }
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
        self.write("text", serde_json::json!({ "delta": delta }), false)
            .await
            .map(|_| ())
    }
}

/// The task that stores a run's events in order, events that wait together in one
/// statement. It ends when its emitter is dropped and everything handed
/// over is stored. A failed write is logged and reported to the next `Sync` (the run then
/// fails; readers that missed events find the run over, see `RunFollower::run_is_over`).
fn spawn_writer(app: App) -> mpsc::UnboundedSender<Write> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Write>();
    let workers = app.workers.clone();
    // Not stopped by shutdown: it ends when the run's emitter is gone, after the last write.
    workers.spawn("run-events", move |_shutdown| async move {
        let mut failure: Option<String> = None;
        let mut events = Vec::new();
        while let Some(first) = rx.recv().await {
            let mut next = Some(first);
            while let Some(item) = next {
                match item {
                    Write::Event(e) => events.push(e),
                    Write::Sync(s) => {
                        store_events(&app, &mut events, &mut failure).await;
                        let _ = s.send(failure.clone().map_or(Ok(()), Err));
                    }
                }
                next = rx.try_recv().ok();
            }
            store_events(&app, &mut events, &mut failure).await;
        }
    });
    tx
}

async fn store_events(app: &App, events: &mut Vec<RunEventRecord>, failure: &mut Option<String>) {
    if events.is_empty() {
        return;
    }
    if let Err(e) = app.store.runs.append_events(events).await {
        tracing::error!(run = %events[0].run_id, error = %e, "storing run events failed");
        *failure = Some(e.to_string());
    }
    events.clear();
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
    /// The next event; `None` after the `done` that ends the follow, or once the hub is
    /// stopping and nothing is left to send (the client follows on from the last event).
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
            if self.over || self.app.stopping.is_cancelled() {
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
            let update = tokio::select! {
                update = tokio::time::timeout(wait, self.updates.recv()) => update,
                () = self.app.stopping.cancelled() => continue,
            };
            match update {
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
