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
