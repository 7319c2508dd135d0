//! Waking waiting claims: each agent's long-polled claim waits here, and a task queued in
//! this process wakes the one claim that has waited longest among those that may run it (its
//! organisation, its target, an executor for its type) — not every waiting claim, which
//! with a hundred agents would send a hundred claims to the database for one task. A claim
//! woken for a task another took simply waits again; tasks queued by other hub processes are
//! found by the claims' periodic look (every second).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use switchboard_domain::fleet::{selects, Labels};
use switchboard_domain::{FleetAgentId, OrgId};
use switchboard_store::{FleetAgentRecord, TaskRecord};
use tokio::sync::Notify;

struct Waiter {
    id: u64,
    org: OrgId,
    agent: FleetAgentId,
    labels: Labels,
    executors: Vec<String>,
    notify: Arc<Notify>,
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
}

impl std::fmt::Debug for ClaimWaiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimWaiters")
            .field("waiting", &self.list().len())
            .finish()
    }
}

/// A claim's place in the line; leaving the line when dropped.
pub struct Registration<'a> {
    waiters: &'a ClaimWaiters,
    id: u64,
    notify: Arc<Notify>,
}

impl Registration<'_> {
    /// Resolves once a task this claim may run was queued (at once if that happened since
    /// the registration).
    pub async fn woken(&self) {
        self.notify.notified().await;
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.waiters.list().retain(|w| w.id != self.id);
    }
}

impl ClaimWaiters {
    fn list(&self) -> std::sync::MutexGuard<'_, Vec<Waiter>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts a claim in line; register before looking for a task, so one queued meanwhile
    /// is not missed.
    pub fn register(&self, agent: &FleetAgentRecord, executors: &[String]) -> Registration<'_> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let notify = Arc::new(Notify::new());
        self.list().push(Waiter {
            id,
            org: agent.org_id,
            agent: agent.id,
            labels: agent.labels.clone(),
            executors: executors.to_vec(),
            notify: notify.clone(),
        });
        Registration {
            waiters: self,
            id,
            notify,
        }
    }

    /// Wakes the claim that has waited longest among those that may run `task`; `false`
    /// when none waits here.
    pub fn wake_for(&self, task: &TaskRecord) -> bool {
        let mut list = self.list();
        match list.iter().position(|w| w.may_run(task)) {
            Some(at) => {
                // `notify_one` keeps a permit when the claim is not awaiting yet.
                list.remove(at).notify.notify_one();
                true
            }
            None => false,
        }
    }

    /// Wakes every waiting claim (after leases ran out and tasks went back to the queue).
    pub fn wake_all(&self) {
        for waiter in self.list().drain(..) {
            waiter.notify.notify_one();
        }
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
}
