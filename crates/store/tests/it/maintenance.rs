use switchboard_store::backend_tests;

backend_tests! {
    async fn migrate_is_idempotent_and_ready(store: Store) {
        // The harness already migrated: a second run applies nothing.
        let report = store.migrate().await.unwrap();
        assert!(report.applied.is_empty(), "{report:?}");
        assert!(report.known >= 1);
        let readiness = store.readiness().await;
        assert!(readiness.is_ready(), "{readiness:?}");
    }

    async fn a_closed_store_is_not_ready(store: Store) {
        store.close().await;
        let readiness = store.readiness().await;
        assert!(!readiness.reachable);
        assert!(!readiness.is_ready());
    }
}
