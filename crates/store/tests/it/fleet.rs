use chrono::Duration;
use switchboard_domain::fleet::{parse_labels, Labels};
use switchboard_domain::{
    Clock, FleetAgentId, ManualClock, OrgId, RegistrationTokenId, TaskEventId, TaskId,
};
use switchboard_store::{
    backend_tests, FleetAgentRecord, RegistrationTokenRecord, StoreError, TaskEventRecord,
    TaskMove, TaskRecord,
};

use crate::clock;
use crate::memberships::add_org;

fn token(
    clock: &ManualClock,
    org: OrgId,
    hash: &[u8],
    max_uses: Option<i64>,
) -> RegistrationTokenRecord {
    RegistrationTokenRecord {
        id: RegistrationTokenId::generate(clock),
        org_id: org,
        name: "servers".into(),
        token_hash: hash.to_vec(),
        max_uses,
        uses: 0,
        expires_at: Some(clock.now() + Duration::hours(1)),
        revoked_at: None,
        actor_kind: "user".into(),
        actor_id: None,
        created_at: clock.now(),
    }
}

fn agent(clock: &ManualClock, name: &str, labels: &[&str]) -> FleetAgentRecord {
    FleetAgentRecord {
        id: FleetAgentId::generate(clock),
        org_id: OrgId::generate(clock),
        name: name.into(),
        host: format!("{name}.local"),
        version: "0.1.0".into(),
        labels: parse_labels(labels.iter().copied()).unwrap(),
        secret_hash: vec![7; 32],
        token_id: None,
        revoked_at: None,
        last_seen: None,
        created_at: clock.now(),
    }
}

fn task(
    clock: &ManualClock,
    org: OrgId,
    key: Option<&str>,
    target_agent: Option<FleetAgentId>,
    labels: Labels,
    priority: i64,
) -> TaskRecord {
    TaskRecord {
        id: TaskId::generate(clock),
        org_id: org,
        kind: "echo".into(),
        payload: r#"{"message":"hi"}"#.into(),
        target_agent,
        target_labels: labels,
        priority,
        idempotency_key: key.map(str::to_owned),
        status: "queued".into(),
        attempts: 0,
        max_attempts: 3,
        run_after: clock.now(),
        lease_agent: None,
        lease_expires_at: None,
        result: None,
        error: None,
        approval_id: None,
        actor_kind: "user".into(),
        actor_id: None,
        created_at: clock.now(),
        updated_at: clock.now(),
    }
}

fn event(clock: &ManualClock, t: &TaskRecord, from: Option<&str>, to: &str) -> TaskEventRecord {
    TaskEventRecord {
        id: TaskEventId::generate(clock),
        org_id: t.org_id,
        task_id: t.id,
        at: clock.now(),
        kind: "status".into(),
        from_status: from.map(str::to_owned),
        to_status: Some(to.into()),
        agent_id: None,
        message: None,
    }
}

fn claim_event(clock: &ManualClock, a: &FleetAgentRecord) -> TaskEventRecord {
    TaskEventRecord {
        id: TaskEventId::generate(clock),
        org_id: a.org_id,
        task_id: TaskId::generate(clock),
        at: clock.now(),
        kind: "status".into(),
        from_status: Some("queued".into()),
        to_status: Some("leased".into()),
        agent_id: Some(a.id),
        message: None,
    }
}

async fn enrol(
    store: &switchboard_store::Store,
    clock: &ManualClock,
    org: OrgId,
    name: &str,
    labels: &[&str],
) -> FleetAgentRecord {
    let hash = format!("hash-of-{name}");
    store
        .fleet
        .insert_token(&token(clock, org, hash.as_bytes(), Some(1)))
        .await
        .unwrap();
    store
        .fleet
        .register(hash.as_bytes(), agent(clock, name, labels), clock.now())
        .await
        .unwrap()
        .unwrap()
}

/// Claims with every kind of executor enabled.
trait ClaimAll {
    async fn claim_all(
        &self,
        agent: &FleetAgentRecord,
        lease: switchboard_domain::Timestamp,
        at: switchboard_domain::Timestamp,
        event: TaskEventRecord,
    ) -> Result<Option<TaskRecord>, StoreError>;
}

impl ClaimAll for std::sync::Arc<dyn switchboard_store::FleetRepo> {
    async fn claim_all(
        &self,
        agent: &FleetAgentRecord,
        lease: switchboard_domain::Timestamp,
        at: switchboard_domain::Timestamp,
        event: TaskEventRecord,
    ) -> Result<Option<TaskRecord>, StoreError> {
        self.claim(
            agent,
            &["echo".to_owned(), "shell".to_owned()],
            lease,
            at,
            event,
        )
        .await
    }
}

backend_tests! {
    async fn tokens_enrol_agents_only_while_usable(store: Store) {
        let clock = clock();
        let org = add_org(&store, &clock, "acme").await;
        store.fleet.insert_token(&token(&clock, org, b"twice", Some(2))).await.unwrap();
        for name in ["web-1", "web-2"] {
            let a = store.fleet.register(b"twice", agent(&clock, name, &["env=prod"]), clock.now()).await.unwrap().unwrap();
            assert_eq!(a.org_id, org, "the token decides the organisation");
            assert_eq!(store.fleet.agent(a.id).await.unwrap().as_ref(), Some(&a));
        }
        assert!(store.fleet.register(b"twice", agent(&clock, "web-3", &[]), clock.now()).await.unwrap().is_none(), "no uses left");
        assert!(store.fleet.register(b"unknown", agent(&clock, "x", &[]), clock.now()).await.unwrap().is_none());
        let expiring = token(&clock, org, b"expiring", None);
        store.fleet.insert_token(&expiring).await.unwrap();
        let later = clock.now() + Duration::hours(2);
        assert!(store.fleet.register(b"expiring", agent(&clock, "late", &[]), later).await.unwrap().is_none(), "expired");
        store.fleet.revoke_token(org, expiring.id, clock.now()).await.unwrap();
        assert!(store.fleet.register(b"expiring", agent(&clock, "x", &[]), clock.now()).await.unwrap().is_none(), "revoked");
        let tokens = store.fleet.tokens(org).await.unwrap();
        assert_eq!(tokens.iter().map(|t| t.uses).sum::<i64>(), 2);
        let other = add_org(&store, &clock, "globex").await;
        assert!(matches!(store.fleet.revoke_token(other, expiring.id, clock.now()).await, Err(StoreError::NotFound)));

        let agents = store.fleet.agents(org).await.unwrap();
        assert_eq!(agents.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["web-1", "web-2"]);
        clock.advance(Duration::seconds(5));
        store.fleet.heartbeat(agents[0].id, "web-1.example", "0.2.0", clock.now()).await.unwrap();
        let seen = store.fleet.agent(agents[0].id).await.unwrap().unwrap();
        assert_eq!((seen.last_seen, seen.version.as_str(), seen.host.as_str()), (Some(clock.now()), "0.2.0", "web-1.example"));
        store.fleet.revoke_agent(org, agents[0].id, clock.now()).await.unwrap();
        assert!(store.fleet.agent(agents[0].id).await.unwrap().unwrap().revoked_at.is_some());
        assert!(matches!(store.fleet.heartbeat(agents[0].id, "h", "v", clock.now()).await, Err(StoreError::NotFound)), "a revoked agent is not seen");
    }

    async fn tasks_are_claimed_once_by_agents_that_may_run_them(store: Store) {
        let clock = clock();
        let org = add_org(&store, &clock, "acme").await;
        let other = add_org(&store, &clock, "globex").await;
        let web = enrol(&store, &clock, org, "web", &["env=prod", "role=web"]).await;
        let db = enrol(&store, &clock, org, "db", &["env=prod", "role=db"]).await;
        let outsider = enrol(&store, &clock, other, "theirs", &["env=prod", "role=web"]).await;

        // The same idempotency key twice: one task.
        let first = task(&clock, org, Some("deploy-42"), None, parse_labels(["role=web"]).unwrap(), 0);
        let (stored, new) = store.fleet.insert_task(&first, &[event(&clock, &first, None, "queued")]).await.unwrap();
        assert!(new);
        let again = task(&clock, org, Some("deploy-42"), None, Labels::new(), 0);
        let (same, new) = store.fleet.insert_task(&again, &[event(&clock, &again, None, "queued")]).await.unwrap();
        assert!(!new);
        assert_eq!(same.id, stored.id);
        let for_db = task(&clock, org, None, Some(db.id), Labels::new(), 0);
        store.fleet.insert_task(&for_db, &[event(&clock, &for_db, None, "queued")]).await.unwrap();
        clock.advance(Duration::seconds(1));
        let urgent = task(&clock, org, None, None, Labels::new(), 10);
        store.fleet.insert_task(&urgent, &[event(&clock, &urgent, None, "queued")]).await.unwrap();
        let mut later = task(&clock, org, None, None, Labels::new(), 99);
        later.run_after = clock.now() + Duration::minutes(5);
        store.fleet.insert_task(&later, &[event(&clock, &later, None, "queued")]).await.unwrap();

        let lease = clock.now() + Duration::seconds(30);
        assert!(store.fleet.claim(&web, &["shell".to_owned()], lease, clock.now(), claim_event(&clock, &web)).await.unwrap().is_none(),
            "an agent without the echo executor is offered no echo task");
        assert!(store.fleet.claim_all(&outsider, lease, clock.now(), claim_event(&clock, &outsider)).await.unwrap().is_none(),
            "another organisation's agent claims nothing");
        // Highest priority first (the one not yet due waits); then what the labels select.
        let got = store.fleet.claim_all(&web, lease, clock.now(), claim_event(&clock, &web)).await.unwrap().unwrap();
        assert_eq!((got.id, got.status.as_str(), got.attempts, got.lease_agent), (urgent.id, "leased", 1, Some(web.id)));
        let got = store.fleet.claim_all(&web, lease, clock.now(), claim_event(&clock, &web)).await.unwrap().unwrap();
        assert_eq!(got.id, first.id);
        assert!(store.fleet.claim_all(&web, lease, clock.now(), claim_event(&clock, &web)).await.unwrap().is_none(),
            "the db agent's task is not for web");
        let got = store.fleet.claim_all(&db, lease, clock.now(), claim_event(&clock, &db)).await.unwrap().unwrap();
        assert_eq!(got.id, for_db.id);

        // Only the holder extends or finishes; a finished task does not move again.
        clock.advance(Duration::seconds(1));
        assert!(store.fleet.extend_lease(org, first.id, web.id, lease + Duration::seconds(30)).await.unwrap());
        assert!(!store.fleet.extend_lease(org, first.id, db.id, lease).await.unwrap());
        let finish = |agent: FleetAgentId, to: &'static str| TaskMove {
            org, task: first.id, from: &["leased"], lease_agent: Some(agent), to, at: clock.now(),
            result: Some(r#"{"ok":true}"#.into()), error: None, run_after: None,
            event: event(&clock, &first, Some("leased"), to),
        };
        assert!(store.fleet.move_task(&finish(db.id, "succeeded")).await.unwrap().is_none(), "not the holder");
        let done = store.fleet.move_task(&finish(web.id, "succeeded")).await.unwrap().expect("moved");
        // The agent that ran it stays on the task (the lease itself ends).
        assert_eq!((done.status.as_str(), done.lease_agent, done.lease_expires_at), ("succeeded", Some(web.id), None));
        assert!(store.fleet.move_task(&finish(web.id, "failed")).await.unwrap().is_none(), "finished once");
        let done = store.fleet.task(org, first.id).await.unwrap().unwrap();
        assert_eq!((done.status.as_str(), done.result.as_deref(), done.lease_agent), ("succeeded", Some(r#"{"ok":true}"#), Some(web.id)));
        let ran_by_web: Vec<_> = store.fleet.tasks(org, Some("succeeded"), Some(web.id), 10).await.unwrap().iter().map(|t| t.id).collect();
        assert_eq!(ran_by_web, vec![first.id], "an agent's tasks include those it ran");
        assert!(store.fleet.tasks(org, Some("succeeded"), Some(db.id), 10).await.unwrap().is_empty());
        assert!(store.fleet.task(other, first.id).await.unwrap().is_none());
        let history: Vec<String> = store.fleet.task_events(org, first.id).await.unwrap().iter()
            .map(|e| format!("{}→{}", e.from_status.as_deref().unwrap_or("-"), e.to_status.as_deref().unwrap_or("-"))).collect();
        assert_eq!(history, ["-→queued", "queued→leased", "leased→succeeded"]);

        // An expired lease is found, and goes back to the queue with a wait.
        let expired = store.fleet.expired_leases(lease + Duration::seconds(1), 10).await.unwrap();
        assert_eq!(expired.iter().map(|t| t.id).collect::<Vec<_>>(), vec![for_db.id, urgent.id], "by lease end, then id");
        let back = TaskMove {
            org, task: urgent.id, from: &["leased"], lease_agent: Some(web.id), to: "queued", at: clock.now(),
            result: None, error: Some("lease expired".into()), run_after: Some(clock.now() + Duration::seconds(5)),
            event: event(&clock, &urgent, Some("leased"), "queued"),
        };
        assert!(store.fleet.move_task(&back).await.unwrap().is_some());
        let requeued = store.fleet.task(org, urgent.id).await.unwrap().unwrap();
        assert_eq!((requeued.status.as_str(), requeued.lease_agent, requeued.attempts), ("queued", None, 1));
        assert!(store.fleet.claim_all(&web, lease, clock.now(), claim_event(&clock, &web)).await.unwrap().is_none(), "waits its backoff");
        clock.advance(Duration::seconds(6));
        let retried = store.fleet.claim_all(&web, lease, clock.now(), claim_event(&clock, &web)).await.unwrap().unwrap();
        assert_eq!((retried.id, retried.attempts), (urgent.id, 2));
        assert_eq!(store.fleet.tasks(org, Some("leased"), None, 10).await.unwrap().len(), 2);
    }

    async fn concurrent_claims_never_lease_a_task_twice(store: Store) {
        let clock = clock();
        let org = add_org(&store, &clock, "acme").await;
        let mut agents = Vec::new();
        for i in 0..8 {
            agents.push(enrol(&store, &clock, org, &format!("a{i}"), &[]).await);
        }
        let mut ids = std::collections::HashSet::new();
        for _ in 0..40 {
            let t = task(&clock, org, None, None, Labels::new(), 0);
            store.fleet.insert_task(&t, &[event(&clock, &t, None, "queued")]).await.unwrap();
            ids.insert(t.id);
        }
        let lease = clock.now() + Duration::seconds(30);
        let now = clock.now();
        let mut workers = Vec::new();
        for a in agents {
            let store = store.clone();
            let ev = claim_event(&clock, &a);
            // Real parallel claimers (each its own task on the runtime's threads).
            #[allow(clippy::disallowed_methods, reason = "a test's own claimers, joined below")]
            let worker = tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let mut e = ev.clone();
                    e.id = TaskEventId::generate(&switchboard_domain::SystemClock);
                    match store.fleet.claim_all(&a, lease, now, e).await.unwrap() {
                        Some(t) => mine.push(t.id),
                        None => break,
                    }
                }
                mine
            });
            workers.push(worker);
        }
        let mut claimed = Vec::new();
        for w in workers {
            claimed.extend(w.await.unwrap());
        }
        let unique: std::collections::HashSet<_> = claimed.iter().copied().collect();
        assert_eq!(claimed.len(), 40, "every task claimed");
        assert_eq!(unique, ids, "each exactly once");
    }
}
