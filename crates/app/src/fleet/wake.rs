//! Waiting claims: each agent's long-polled claim waits here. A task queued in this process
//! goes straight to the claim that has waited longest among those that may run it (its
//! organisation, its target, an executor for its type): the task is stored already leased to
//! that agent and handed to its claim — one statement instead of an insert and a claim, and
//! no claim woken for nothing. A claim that is gone by then (the agent hung up) hands the task
//! back to the queue. Tasks queued by other hub processes, or put back after a lease ran out,
//! are found by the claims' periodic look (every second) or [`ClaimWaiters::wake_all`]. A
//! new claim looks in the queue before it waits — unless a look found it empty within the
//! last second and no task could have been queued here since.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use switchboard_domain::fleet::{selects, Labels};
use switchboard_domain::{FleetAgentId, OrgId};
use switchboard_store::{FleetAgentRecord, TaskRecord};
use tokio::sync::Notify;
use tokio::time::Instant;

/// How often a waiting claim looks in the queue itself.
pub const LOOK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// What a waiting claim was given.
enum Handed {
    Nothing,
    Task(Box<TaskRecord>),
    /// The agent was revoked while it waited.
    CutOff,
    /// The claim stopped waiting; nothing more can be handed to it.
    Closed,
}

struct Slot {
    notify: Notify,
    handed: Mutex<Handed>,
}

impl Slot {
    fn handed(&self) -> std::sync::MutexGuard<'_, Handed> {
        self.handed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct Waiter {
    id: u64,
    org: OrgId,
    agent: FleetAgentId,
    agent_name: String,
    labels: Labels,
    executors: Vec<String>,
    slot: Arc<Slot>,
}

impl Waiter {
    fn may_run(&self, task: &TaskRecord) -> bool {
        self.org == task.org_id
            && self.executors.contains(&task.kind)
            && match task.target_agent {
                Some(agent) => agent == self.agent,
                None => selects(&task.target_labels, &self.labels),
            }
    }
}

/// The claims waiting in this process, oldest first.
#[derive(Default)]
pub struct ClaimWaiters {
    waiting: Mutex<Vec<Waiter>>,
    next: AtomicU64,
    /// Counts the times a task may have become claimable here without being handed over
    /// (queued with no claim waiting, put back in the queue).
    queued: AtomicU64,
    /// Per agent, the count when its last look in the queue found nothing, and when.
    found_empty: Mutex<std::collections::HashMap<FleetAgentId, (u64, Instant)>>,
}

/// A look in the queue, to report when it found nothing.
#[derive(Clone, Copy, Debug)]
pub struct Look(u64);

impl std::fmt::Debug for ClaimWaiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimWaiters")
            .field("waiting", &self.list().len())
            .finish()
    }
}

/// What ended a claim's wait.
#[derive(Debug)]
pub enum Outcome {
    /// Nothing handed over: look in the queue (again).
    Look,
    /// A task, stored as leased to this agent.
    Task(Box<TaskRecord>),
    /// The agent was revoked meanwhile.
    CutOff,
}

/// A claim's place in the line; leaving the line when dropped.
pub struct Registration<'a> {
    waiters: &'a ClaimWaiters,
    id: u64,
    slot: Arc<Slot>,
}

impl Registration<'_> {
    /// Resolves once a task was handed over or a task this claim may run was queued (at once
    /// if that happened since the registration).
    pub async fn woken(&self) {
        self.slot.notify.notified().await;
    }

    /// Leaves the line and says what was handed over; nothing can be handed after this.
    pub fn close(&self) -> Outcome {
        self.waiters.list().retain(|w| w.id != self.id);
        match std::mem::replace(&mut *self.slot.handed(), Handed::Closed) {
            Handed::Task(task) => Outcome::Task(task),
            Handed::CutOff => Outcome::CutOff,
            Handed::Nothing | Handed::Closed => Outcome::Look,
        }
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        if let Outcome::Task(task) = self.close() {
            // The claim went away (the agent hung up) with a task handed to it: the task's
            // lease runs out and it goes back to the queue.
            tracing::warn!(task = %task.id, "a claim ended with a task handed to it");
        }
    }
}

/// A waiting claim taken out of the line for one task: hand it the task once stored as
/// leased to [`Reserved::agent`], or drop it (the claim then looks in the queue itself).
pub struct Reserved {
    pub agent: FleetAgentId,
    pub agent_name: String,
    slot: Arc<Slot>,
}

impl Reserved {
    /// Hands the stored task over; `Err` with the task when the claim stopped waiting
    /// meanwhile (put the task back in the queue).
    pub fn hand(self, task: TaskRecord) -> Result<(), Box<TaskRecord>> {
        let mut handed = self.slot.handed();
        if !matches!(*handed, Handed::Nothing) {
            return Err(Box::new(task));
        }
        *handed = Handed::Task(Box::new(task));
        drop(handed);
        self.slot.notify.notify_one();
        Ok(())
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        // Not handed anything (or handed and woken already: a second permit is harmless).
        self.slot.notify.notify_one();
    }
}

impl ClaimWaiters {
    fn list(&self) -> std::sync::MutexGuard<'_, Vec<Waiter>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A task may be claimable that no waiting claim was handed (queued with none waiting,
    /// back in the queue): the next claim looks in the queue.
    pub fn may_be_queued(&self) {
        self.queued.fetch_add(1, Ordering::AcqRel);
    }

    /// Starts a look in the queue.
    pub fn look(&self) -> Look {
        Look(self.queued.load(Ordering::Acquire))
    }

    /// The agent's look found nothing: until a task may be queued here, its next claim need
    /// not look again for a second (it waits to be handed a task; tasks queued by other
    /// processes are found by the waiting claims' look every second).
    pub fn found_nothing(&self, agent: FleetAgentId, look: Look) {
        let mut empty = self
            .found_empty
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if self.queued.load(Ordering::Acquire) == look.0 {
            if empty.len() >= 10_000 {
                empty.clear();
            }
            empty.insert(agent, (look.0, Instant::now()));
        }
    }

    /// Whether a new claim of this agent should look in the queue before it waits.
    pub fn worth_looking(&self, agent: FleetAgentId) -> bool {
        let empty = self
            .found_empty
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        !matches!(empty.get(&agent), Some((count, at))
            if *count == self.queued.load(Ordering::Acquire) && at.elapsed() < LOOK_EVERY)
    }

    /// Puts a claim in line; register before looking for a task, so one queued meanwhile
    /// is not missed.
    pub fn register(&self, agent: &FleetAgentRecord, executors: &[String]) -> Registration<'_> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot {
            notify: Notify::new(),
            handed: Mutex::new(Handed::Nothing),
        });
        self.list().push(Waiter {
            id,
            org: agent.org_id,
            agent: agent.id,
            agent_name: agent.name.clone(),
            labels: agent.labels.clone(),
            executors: executors.to_vec(),
            slot: slot.clone(),
        });
        Registration {
            waiters: self,
            id,
            slot,
        }
    }

    /// Takes the claim that has waited longest among those that may run `task` out of the
    /// line; `None` when none waits here.
    pub fn reserve(&self, task: &TaskRecord) -> Option<Reserved> {
        let mut list = self.list();
        let at = list.iter().position(|w| w.may_run(task))?;
        let waiter = list.remove(at);
        Some(Reserved {
            agent: waiter.agent,
            agent_name: waiter.agent_name,
            slot: waiter.slot,
        })
    }

    /// Wakes the claim that has waited longest among those that may run `task` (it looks in
    /// the queue); `false` when none waits here.
    pub fn wake_for(&self, task: &TaskRecord) -> bool {
        // Dropping the reservation wakes the claim.
        self.reserve(task).is_some()
    }

    /// Wakes every waiting claim (after leases ran out and tasks went back to the queue).
    pub fn wake_all(&self) {
        self.may_be_queued();
        for waiter in self.list().drain(..) {
            waiter.slot.notify.notify_one();
        }
    }

    /// Ends the waiting claims of a revoked agent (they answer 401).
    pub fn cut_off(&self, agent: FleetAgentId) {
        self.list().retain(|w| {
            if w.agent != agent {
                return true;
            }
            let mut handed = w.slot.handed();
            if matches!(*handed, Handed::Nothing) {
                *handed = Handed::CutOff;
            }
            drop(handed);
            w.slot.notify.notify_one();
            false
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_domain::{SystemClock, TaskId, Timestamp};

    fn agent(org: OrgId, labels: &[(&str, &str)]) -> FleetAgentRecord {
        FleetAgentRecord {
            id: FleetAgentId::generate(&SystemClock),
            org_id: org,
            name: "a".into(),
            host: "h".into(),
            version: "1".into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            secret_hash: vec![],
            token_id: None,
            revoked_at: None,
            last_seen: None,
            created_at: Timestamp::default(),
        }
    }

    fn task(org: OrgId, kind: &str, labels: &[(&str, &str)]) -> TaskRecord {
        TaskRecord {
            id: TaskId::generate(&SystemClock),
            org_id: org,
            kind: kind.into(),
            payload: "{}".into(),
            target_agent: None,
            target_labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            priority: 0,
            idempotency_key: None,
            status: "queued".into(),
            attempts: 0,
            max_attempts: 3,
            run_after: Timestamp::default(),
            lease_agent: None,
            lease_expires_at: None,
            result: None,
            error: None,
            approval_id: None,
            actor_kind: "system".into(),
            actor_id: None,
            created_at: Timestamp::default(),
            updated_at: Timestamp::default(),
        }
    }

    #[tokio::test]
    async fn a_task_wakes_one_claim_that_may_run_it_the_longest_waiting_first() {
        let (org, other) = (OrgId::generate(&SystemClock), OrgId::generate(&SystemClock));
        let waiters = ClaimWaiters::default();
        let echo = vec!["echo".to_owned()];
        let foreign = agent(other, &[("role", "web")]);
        let db = agent(org, &[("role", "db")]);
        let web1 = agent(org, &[("role", "web")]);
        let web2 = agent(org, &[("role", "web"), ("zone", "a")]);
        let r_foreign = waiters.register(&foreign, &echo);
        let r_db = waiters.register(&db, &echo);
        let r_shell_only = waiters.register(&web1, &["shell".to_owned()]);
        let r_web1 = waiters.register(&web1, &echo);
        let r_web2 = waiters.register(&web2, &echo);

        assert!(waiters.wake_for(&task(org, "echo", &[("role", "web")])));
        // The oldest eligible claim (web1 with echo) got it, at once; no one else did.
        tokio::time::timeout(std::time::Duration::from_secs(1), r_web1.woken())
            .await
            .expect("web1 woken");
        for (name, r) in [
            ("foreign", &r_foreign),
            ("db", &r_db),
            ("shell only", &r_shell_only),
            ("web2", &r_web2),
        ] {
            assert!(
                tokio::time::timeout(std::time::Duration::from_millis(20), r.woken())
                    .await
                    .is_err(),
                "{name} should still wait"
            );
        }
        // The next one goes to web2; then nobody is left for web tasks.
        assert!(waiters.wake_for(&task(org, "echo", &[("role", "web")])));
        tokio::time::timeout(std::time::Duration::from_secs(1), r_web2.woken())
            .await
            .expect("web2 woken");
        assert!(!waiters.wake_for(&task(org, "echo", &[("role", "web")])));
        // A dropped registration leaves the line.
        drop(r_db);
        assert!(!waiters.wake_for(&task(org, "echo", &[("role", "db")])));
        waiters.wake_all();
        tokio::time::timeout(std::time::Duration::from_secs(1), r_foreign.woken())
            .await
            .expect("woken by wake_all");
    }

    #[test]
    fn a_claim_skips_the_queue_only_right_after_its_agent_found_it_empty() {
        let waiters = ClaimWaiters::default();
        let (a, b) = (
            FleetAgentId::generate(&SystemClock),
            FleetAgentId::generate(&SystemClock),
        );
        assert!(waiters.worth_looking(a), "no look yet");
        let look = waiters.look();
        waiters.found_nothing(a, look);
        assert!(!waiters.worth_looking(a));
        assert!(
            waiters.worth_looking(b),
            "another agent may run other tasks"
        );
        waiters.may_be_queued();
        assert!(waiters.worth_looking(a), "a task may be waiting now");
        // A look that began before a task was queued does not count as finding it empty.
        let look = waiters.look();
        waiters.may_be_queued();
        waiters.found_nothing(a, look);
        assert!(waiters.worth_looking(a));
        // Put back in the queue after leases ran out: everyone looks.
        let look = waiters.look();
        waiters.found_nothing(a, look);
        waiters.wake_all();
        assert!(waiters.worth_looking(a));
    }

    #[tokio::test]
    async fn a_task_is_handed_to_a_waiting_claim_exactly_once() {
        let org = OrgId::generate(&SystemClock);
        let waiters = ClaimWaiters::default();
        let echo = vec!["echo".to_owned()];
        let web = agent(org, &[("role", "web")]);
        let t = task(org, "echo", &[("role", "web")]);

        // Handed over: the claim wakes with it.
        let waiting = waiters.register(&web, &echo);
        let reserved = waiters.reserve(&t).expect("a claim waits");
        assert_eq!(reserved.agent, web.id);
        assert!(waiters.reserve(&t).is_none(), "taken out of the line");
        assert!(reserved.hand(t.clone()).is_ok());
        tokio::time::timeout(std::time::Duration::from_secs(1), waiting.woken())
            .await
            .expect("woken with the task");
        assert!(matches!(waiting.close(), Outcome::Task(got) if got.id == t.id));
        assert!(matches!(waiting.close(), Outcome::Look), "only once");

        // The claim ended before the task was stored: the task comes back to be requeued.
        let ending = waiters.register(&web, &echo);
        let reserved = waiters.reserve(&t).expect("a claim waits");
        assert!(matches!(ending.close(), Outcome::Look));
        assert_eq!(reserved.hand(t.clone()).map_err(|t| t.id), Err(t.id));

        // Reserved but not handed (the key was used already): the claim looks for itself.
        let looking = waiters.register(&web, &echo);
        drop(waiters.reserve(&t));
        tokio::time::timeout(std::time::Duration::from_secs(1), looking.woken())
            .await
            .expect("woken to look");
        assert!(matches!(looking.close(), Outcome::Look));

        // A revoked agent's claim ends, and nothing is handed to it afterwards.
        let revoked = waiters.register(&web, &echo);
        let other = agent(org, &[("role", "web")]);
        let still = waiters.register(&other, &echo);
        waiters.cut_off(web.id);
        tokio::time::timeout(std::time::Duration::from_secs(1), revoked.woken())
            .await
            .expect("woken to stop");
        assert!(matches!(revoked.close(), Outcome::CutOff));
        assert_eq!(waiters.reserve(&t).map(|r| r.agent), Some(other.id));
        drop(still);
    }
}
