use std::sync::Arc;

use serde_json::json;
use switchboard_app::audit::{Actor, Audit, NewEvent};
use switchboard_domain::{OrgId, SystemClock};
use switchboard_store::testing::TestDb;

fn event(org: OrgId, kind: &str, details: serde_json::Value) -> NewEvent {
    NewEvent {
        org,
        actor: Actor::User("u-1".into()),
        kind: kind.into(),
        target: Some("session".into()),
        decision: Some("ok".into()),
        details,
    }
}

async fn each(run: impl AsyncFn(TestDb)) {
    for db in TestDb::each().await {
        run(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chains_verify_and_tampering_is_found() {
    each(async |db: TestDb| {
        let audit = Audit::new(db.store(), Arc::new(SystemClock));
        let (a, b) = (OrgId::generate(&SystemClock), OrgId::generate(&SystemClock));
        for i in 0..5 {
            audit
                .record(event(a, "auth.login", json!({"attempt": i})))
                .await
                .unwrap();
            audit
                .record(event(b, "admin.role_change", json!({"role": "admin"})))
                .await
                .unwrap();
        }
        audit
            .record(event(OrgId::PLATFORM, "auth.login_failed", json!({})))
            .await
            .unwrap();
        let report = audit.verify(None).await.unwrap();
        assert!(report.ok, "{report:?}");
        assert_eq!((report.checked, report.chains), (11, 3));

        // Edit one row directly in the database, as someone with database access could.
        let changed = db
            .execute(&format!(
                "UPDATE audit_events SET decision = 'denied' WHERE org_id = {} AND seq = 3",
                uuid_literal(&db, a)
            ))
            .await;
        assert_eq!(changed, 1);
        let report = audit.verify(None).await.unwrap();
        assert!(!report.ok);
        let bad = report.first_bad.unwrap();
        assert_eq!((bad.org_id.as_str(), bad.seq), (a.to_string().as_str(), 3));
        assert!(bad.reason.contains("hash"), "{}", bad.reason);
        assert!(
            audit.verify(Some(b)).await.unwrap().ok,
            "other chains are unaffected"
        );

        // Deleting a row is found too.
        db.execute(&format!(
            "DELETE FROM audit_events WHERE org_id = {} AND seq = 2",
            uuid_literal(&db, b)
        ))
        .await;
        let bad = audit.verify(Some(b)).await.unwrap().first_bad.unwrap();
        assert_eq!(bad.seq, 3);
        assert!(bad.reason.contains("gap"), "{}", bad.reason);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_keep_one_unbroken_chain() {
    each(async |db: TestDb| {
        let audit = Audit::new(db.store(), Arc::new(SystemClock));
        let org = OrgId::generate(&SystemClock);
        let write = |w: u32| {
            let audit = audit.clone();
            async move {
                for i in 0..10 {
                    audit
                        .record(event(org, "tool.call", json!({"writer": w, "i": i})))
                        .await
                        .unwrap();
                }
            }
        };
        // Four writers interleave on the chain's head; conflicts are retried.
        tokio::join!(write(0), write(1), write(2), write(3));
        let report = audit.verify(Some(org)).await.unwrap();
        assert!(report.ok, "{report:?}");
        assert_eq!(report.checked, 40);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_details() {
    each(async |db: TestDb| {
        let audit = Audit::new(db.store(), Arc::new(SystemClock));
        let org = OrgId::generate(&SystemClock);
        audit
            .record(event(
                org,
                "auth.login_failed",
                json!({
                    "email": "jane@example.com",
                    "note": "tried password=Summer2024! with key AKIAIOSFODNN7EXAMPLE",
                    "nested": ["ip 203.0.113.9"],
                }),
            ))
            .await
            .unwrap();
        let stored = &db.store().audit.chain(org, 0, 10).await.unwrap()[0];
        for secret in [
            "jane@example.com",
            "Summer2024!",
            "AKIAIOSFODNN7EXAMPLE",
            "203.0.113.9",
        ] {
            assert!(
                !stored.details.contains(secret),
                "{secret} leaked: {}",
                stored.details
            );
        }
        assert!(
            stored.details.contains("[EMAIL_1]") && stored.details.contains("[PASSWORD_1]"),
            "{}",
            stored.details
        );
        assert!(audit.verify(Some(org)).await.unwrap().ok);
    })
    .await;
}

fn uuid_literal(db: &TestDb, org: OrgId) -> String {
    match db.backend() {
        switchboard_store::Backend::Sqlite => format!("X'{}'", org.as_uuid().simple()),
        switchboard_store::Backend::Postgres => format!("'{}'", org.as_uuid()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_and_usage_batches_keep_one_unbroken_chain() {
    use switchboard_app::audit::chain::{link_hash, GENESIS};
    use switchboard_domain::{Clock, OrgStatus, Slug, UsageId};
    use switchboard_store::{ConnectOptions, OrgRecord, Store, UsageRecord};

    each(async |db: TestDb| {
        // Two hub processes on one database: each has its own store (and its own idea of
        // where the chain's head is), and usage batches are written between single events.
        let second = Store::connect(&ConnectOptions::new(db.url()))
            .await
            .unwrap();
        let replicas = [db.store(), second];
        let org = OrgId::generate(&SystemClock);
        let now = SystemClock.now();
        db.store()
            .orgs
            .insert(&OrgRecord {
                id: org,
                slug: Slug::parse("acme").unwrap(),
                name: "Acme".into(),
                domain: None,
                status: OrgStatus::Active,
                created_at: now,
                updated_at: now,
                deleted_at: None,
                require_totp: false,
                allow_sso_signup: false,
            })
            .await
            .unwrap();
        let single = |store: Store, w: u32| async move {
            let audit = Audit::new(store, Arc::new(SystemClock));
            for i in 0..12 {
                audit
                    .record(event(org, "tool.call", json!({"writer": w, "i": i})))
                    .await
                    .unwrap();
            }
        };
        let batches = |store: Store| async move {
            let audit = Audit::new(store.clone(), Arc::new(SystemClock));
            for _ in 0..4 {
                let calls: Vec<_> = (0..3)
                    .map(|_| {
                        let usage = UsageRecord {
                            id: UsageId::generate(&SystemClock),
                            org_id: org,
                            key_id: None,
                            user_id: None,
                            at: SystemClock.now(),
                            endpoint: "chat".into(),
                            model: "local/a".into(),
                            provider: Some("local".into()),
                            input_tokens: 1,
                            output_tokens: 1,
                            cost_usd: 0.0,
                            latency_ms: 1.0,
                            overhead_ms: 0.1,
                            status: "ok".into(),
                            cached: false,
                        };
                        (usage, audit.prepare(event(org, "ai.call", json!({}))))
                    })
                    .collect();
                assert_eq!(
                    store
                        .usage
                        .record_calls(calls, &GENESIS, &link_hash)
                        .await
                        .unwrap(),
                    3
                );
            }
        };
        let [a, b] = replicas;
        tokio::join!(
            single(a.clone(), 0),
            single(a.clone(), 1),
            single(b.clone(), 2),
            single(b.clone(), 3),
            batches(a.clone()),
            batches(b.clone()),
        );
        // And a replica whose remembered head is stale by now still links correctly.
        single(a.clone(), 4).await;
        let report = Audit::new(a, Arc::new(SystemClock))
            .verify(Some(org))
            .await
            .unwrap();
        assert!(report.ok, "{report:?}");
        assert_eq!(report.checked, 4 * 12 + 2 * 4 * 3 + 12);
        b.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commits_keep_order_and_one_unbroken_chain_beside_single_appends() {
    use switchboard_app::Supervisor;
    use switchboard_store::{ConnectOptions, Store};

    each(async |db: TestDb| {
        // Two hub processes: each with its group-commit writer, and one more appending alone.
        let second = Store::connect(&ConnectOptions::new(db.url()))
            .await
            .unwrap();
        let (workers_a, workers_b) = (Supervisor::new(), Supervisor::new());
        let grouped_a = Audit::new(db.store(), Arc::new(SystemClock));
        grouped_a.start_writer(&workers_a);
        let grouped_b = Audit::new(second.clone(), Arc::new(SystemClock));
        grouped_b.start_writer(&workers_b);
        let alone = Audit::new(second, Arc::new(SystemClock));
        let (org, other) = (OrgId::generate(&SystemClock), OrgId::generate(&SystemClock));
        let write = |audit: Audit, w: u32| async move {
            let mut ids = Vec::new();
            for i in 0..15 {
                let to = if i % 3 == 0 { other } else { org };
                ids.push(
                    audit
                        .record(event(to, "tool.call", json!({"writer": w, "i": i})))
                        .await
                        .unwrap(),
                );
            }
            ids
        };
        let (a1, a2, a3, b1, b2, c) = tokio::join!(
            write(grouped_a.clone(), 0),
            write(grouped_a.clone(), 1),
            write(grouped_a.clone(), 2),
            write(grouped_b.clone(), 3),
            write(grouped_b.clone(), 4),
            write(alone.clone(), 5),
        );
        let report = alone.verify(None).await.unwrap();
        assert!(report.ok, "{report:?}");
        assert_eq!(report.checked, 90);
        // Each writer's events are in the chains in the order it recorded them.
        let chain = db.store().audit.chain(org, 0, 500).await.unwrap();
        for (w, ids) in [a1, a2, a3, b1, b2, c].into_iter().enumerate() {
            let positions: Vec<usize> = ids
                .iter()
                .filter_map(|id| chain.iter().position(|r| r.id == *id))
                .collect();
            assert_eq!(positions.len(), 10, "writer {w}: its events in this chain");
            assert!(
                positions.windows(2).all(|p| p[0] < p[1]),
                "writer {w} in order"
            );
        }
        // After shutdown the writers are gone and events are appended one by one again.
        workers_a.shutdown(std::time::Duration::from_secs(5)).await;
        workers_b.shutdown(std::time::Duration::from_secs(5)).await;
        grouped_a
            .record(event(org, "after.shutdown", json!({})))
            .await
            .unwrap();
        assert_eq!(alone.verify(Some(org)).await.unwrap().checked, 61);
    })
    .await;
}
