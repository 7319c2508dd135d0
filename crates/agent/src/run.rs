//! The agent's loop: heartbeats (every 15 s, on their own thread), long-polled claims, the
//! task run with its lease extended every 10 s (or a third of a shorter lease), the result
//! delivered with the next claim riding on it (one round trip per task) — or kept in the outbox
//! and delivered when the hub is back. Unreachable hub: jittered exponential backoff (1 s …
//! 60 s); after five failures in a row the circuit opens for a minute. SIGTERM/SIGINT: the
//! running task finishes and its result is sent (or kept) before the agent exits.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard_protocol::{
    AgentIdentity, ClaimRequest, Heartbeat, LeasedTask, TaskEvents, TaskResult,
};

use crate::config::Config;
use crate::executors;
use crate::hub::{Hub, HubError};
use crate::state::{Outbox, State};

const HEARTBEAT: Duration = Duration::from_secs(15);
const EXTEND_EVERY: Duration = Duration::from_secs(10);
const CLAIM_WAIT_SECS: u64 = 25;
const MAX_LOG_LINES: usize = 200;

fn log(line: &str) {
    #[allow(
        clippy::print_stderr,
        reason = "the agent logs to stderr for its service manager"
    )]
    {
        eprintln!("switchboard-agent: {line}");
    }
}

fn host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Jittered exponential backoff with a circuit breaker.
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn delay(&mut self) -> Duration {
        self.failures += 1;
        if self.failures >= 5 && self.failures % 5 == 0 {
            log("the hub keeps failing; pausing for a minute");
            return Duration::from_secs(60);
        }
        let base = 1u64 << self.failures.min(6);
        // A random jitter (std's hasher keys are random per instance).
        use std::hash::{BuildHasher as _, Hasher as _};
        let jitter = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
            % 1000;
        Duration::from_millis((base * 1000).min(60_000) + jitter)
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}

/// Sleeps up to `d`, waking early when stopping.
fn pause(d: Duration, stop: &AtomicBool) {
    let until = Instant::now() + d;
    while Instant::now() < until && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100).min(until - Instant::now()));
    }
}

fn deliver_outbox(hub: &Hub, outbox: &Outbox) -> Result<(), HubError> {
    for (task, mut result) in outbox.pending() {
        // A kept result never claims: its answer would come before the loop can run a task.
        result.next = None;
        match hub.result(&task, &result) {
            Ok(_) => {
                log(&format!("delivered the kept result of task {task}"));
                outbox.delivered(&task);
            }
            Err(HubError::Refused(status, why)) => {
                log(&format!(
                    "the hub no longer wants the result of task {task} ({status}: {why})"
                ));
                outbox.delivered(&task);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn execute(hub: &Hub, config: &Config, task: &LeasedTask) -> TaskResult {
    log(&format!(
        "running task {} ({}, attempt {})",
        task.id, task.kind, task.attempt
    ));
    // The lease is extended on its own thread while the executor runs.
    let done = Arc::new(AtomicBool::new(false));
    let extender = {
        let (done, hub, task_id) = (done.clone(), hub.clone(), task.id.clone());
        // A third of the lease, so two extensions may fail before it ends.
        let every = EXTEND_EVERY.min(Duration::from_secs((task.lease_secs / 3).max(1)));
        std::thread::spawn(move || {
            let mut last = Instant::now();
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(200));
                if last.elapsed() >= every {
                    last = Instant::now();
                    if let Err(e) = hub.extend(&task_id) {
                        log(&format!(
                            "could not extend the lease of task {task_id}: {e}"
                        ));
                    }
                }
            }
        })
    };
    let outcome = executors::run(config, &task.kind, &task.payload);
    done.store(true, Ordering::SeqCst);
    let _ = extender.join();
    let log_lines: Vec<String> = outcome
        .log
        .iter()
        .rev()
        .take(MAX_LOG_LINES)
        .rev()
        .cloned()
        .collect();
    if !log_lines.is_empty() {
        let _ = hub.events(
            &task.id,
            &TaskEvents {
                progress: Some(100),
                log: log_lines.clone(),
            },
        );
    }
    TaskResult {
        success: outcome.success,
        output: outcome.output,
        error: outcome.error,
        log: log_lines,
        next: None,
    }
}

pub fn run(state_dir: &Path, config_path: &Path) -> Result<(), String> {
    let state = State::load(state_dir)?;
    let config = Config::load(config_path)?;
    let executors = config.enabled();
    if executors.is_empty() {
        log("no executor is enabled in the configuration; tasks will be refused");
    }
    let outbox = Outbox::new(state_dir).map_err(|e| format!("{}: {e}", state_dir.display()))?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone())
            .map_err(|e| format!("cannot watch for signal {signal}: {e}"))?;
    }
    let identity = AgentIdentity::current(env!("CARGO_PKG_VERSION"));
    // Heartbeats on their own thread, so a long task does not make the agent look gone.
    {
        let (state, stop, identity) = (state.clone(), stop.clone(), identity.clone());
        std::thread::spawn(move || {
            let hub = Hub::new(&state);
            while !stop.load(Ordering::SeqCst) {
                if let Err(e) = hub.heartbeat(&Heartbeat {
                    host: host(),
                    identity: identity.clone(),
                }) {
                    log(&format!("heartbeat: {e}"));
                }
                pause(HEARTBEAT, &stop);
            }
        });
    }
    let hub = Hub::new(&state);
    let mut backoff = Backoff { failures: 0 };
    log(&format!(
        "running for {} with executors: {}",
        state.organization,
        executors.join(", ")
    ));
    // What this agent asks for, alone or riding on a result.
    let claim = ClaimRequest {
        wait_secs: CLAIM_WAIT_SECS,
        executors,
    };
    // The task the hub leased to this agent in its answer to the last result.
    let mut next: Option<LeasedTask> = None;
    // A task already leased is run even when asked to stop (as one claimed just before).
    while next.is_some() || !stop.load(Ordering::SeqCst) {
        let task = match next.take() {
            Some(task) => task,
            None => {
                if let Err(e) = deliver_outbox(&hub, &outbox) {
                    log(&format!("{e}"));
                    pause(backoff.delay(), &stop);
                    continue;
                }
                match hub.claim(&claim) {
                    Ok(Some(task)) => task,
                    Ok(None) => {
                        backoff.reset();
                        continue;
                    }
                    Err(HubError::Refused(401, why)) => {
                        return Err(format!("the hub does not accept this agent: {why}"))
                    }
                    Err(e) => {
                        log(&format!("{e}"));
                        pause(backoff.delay(), &stop);
                        continue;
                    }
                }
            }
        };
        backoff.reset();
        let mut result = execute(&hub, &config, &task);
        // Logged now: the answer to a result with a claim may come only with the next task.
        log(&format!(
            "task {} {}",
            task.id,
            if result.success {
                "succeeded"
            } else {
                "failed"
            }
        ));
        // The next claim rides on the result, unless the agent is stopping.
        result.next = (!stop.load(Ordering::SeqCst)).then(|| claim.clone());
        match hub.result(&task.id, &result) {
            Ok(leased) => next = leased,
            Err(HubError::Refused(status, why)) => log(&format!(
                "the hub refused the result of task {} ({status}: {why})",
                task.id
            )),
            Err(e) => {
                log(&format!(
                    "keeping the result of task {} until the hub is back: {e}",
                    task.id
                ));
                result.next = None;
                if let Err(e) = outbox.keep(&task.id, &result) {
                    log(&format!("could not keep the result: {e}"));
                }
            }
        }
    }
    log("stopping");
    Ok(())
}
