use std::sync::Arc;

use serde_json::json;
use switchboard_app::audit::{Actor, Audit, NewEvent};
use switchboard_domain::{OrgId, SystemClock};
use switchboard_store::{ConnectOptions, Store};

use crate::hub::{self, Backend};

#[tokio::test]
async fn audit_verify_passes_then_finds_a_tampered_row() {
    for backend in Backend::each().await {
        let dir = tempfile::tempdir().unwrap();
        assert!(hub::run(dir.path(), &["migrate"], &backend.env())
            .status
            .success());
        let url = match &backend {
            Backend::Sqlite => format!(
                "sqlite://{}",
                dir.path().join("data/switchboard.db").display()
            ),
            Backend::Postgres(db) => db.url().to_owned(),
        };
        let store = Store::connect(&ConnectOptions::new(&url)).await.unwrap();
        let audit = Audit::new(store.clone(), Arc::new(SystemClock));
        let org = OrgId::generate(&SystemClock);
        for i in 0..3 {
            let event = NewEvent {
                org,
                actor: Actor::System,
                kind: "admin.test".into(),
                target: None,
                decision: None,
                details: json!({ "i": i }),
            };
            audit.record(event).await.unwrap();
        }

        let ok = hub::run(dir.path(), &["audit", "verify"], &backend.env());
        assert_eq!(ok.status.code(), Some(0), "{}", hub::stderr(&ok));
        assert!(
            hub::stdout(&ok).contains("audit log intact: 3 events in 1 chain(s)"),
            "{}",
            hub::stdout(&ok)
        );

        let tamper = match &backend {
            Backend::Sqlite => format!(
                "UPDATE audit_events SET details = '{{\"i\":9}}' WHERE seq = 2 AND org_id = X'{}'",
                org.as_uuid().simple()
            ),
            Backend::Postgres(_) => format!(
                "UPDATE audit_events SET details = '{{\"i\":9}}' WHERE seq = 2 AND org_id = '{}'",
                org.as_uuid()
            ),
        };
        match &backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
                sqlx::query(&tamper).execute(&pool).await.unwrap();
                pool.close().await;
            }
            Backend::Postgres(db) => {
                db.execute(&tamper).await;
            }
        }
        store.close().await;

        let broken = hub::run(dir.path(), &["audit", "verify"], &backend.env());
        assert_eq!(broken.status.code(), Some(1), "{}", backend.name());
        let err = hub::stderr(&broken);
        assert!(
            err.contains("at seq 2") && err.contains("hash does not match"),
            "{err}"
        );
    }
}
