use crate::server_tests;

server_tests! {
    async fn healthz_and_readyz_answer(server: TestServer) {
        let live = server.get("/healthz").await;
        assert_eq!(live.status(), 200);
        let body: serde_json::Value = live.json().await.unwrap();
        assert_eq!(body["status"], "ok");

        let ready = server.get("/readyz").await;
        assert_eq!(ready.status(), 200);
        let body: serde_json::Value = ready.json().await.unwrap();
        assert_eq!(body["ready"], true);
        assert_eq!(body["migrations_pending"], 0);
        let expected = match server.app.store.backend {
            switchboard_store::Backend::Sqlite => "SQLite",
            switchboard_store::Backend::Postgres => "PostgreSQL",
        };
        assert_eq!(body["database"], expected);
    }

    async fn readyz_is_503_when_the_database_is_gone(server: TestServer) {
        server.app.store.close().await;
        let ready = server.get("/readyz").await;
        assert_eq!(ready.status(), 503);
        let body: serde_json::Value = ready.json().await.unwrap();
        assert_eq!(body["ready"], false);
        assert_eq!(body["database_reachable"], false);
        // Liveness does not depend on the database.
        assert_eq!(server.get("/healthz").await.status(), 200);
    }

    async fn metrics_count_requests_by_route_and_status(server: TestServer) {
        assert_eq!(server.get("/healthz").await.status(), 200);
        assert_eq!(server.get("/api/v1/nothing-here").await.status(), 404);
        let metrics = server.get("/metrics").await;
        assert_eq!(metrics.status(), 200);
        assert!(metrics.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        let text = metrics.text().await.unwrap();
        assert!(
            text.lines().any(|l| l.starts_with("http_requests_total{")
                && l.contains("route=\"/healthz\"") && l.contains("status=\"200\"")),
            "{text}"
        );
        assert!(
            text.lines().any(|l| l.starts_with("http_requests_total{")
                && l.contains("route=\"unmatched\"") && l.contains("status=\"404\"")),
            "{text}"
        );
        assert!(text.contains("http_request_duration_seconds_bucket{"), "{text}");
    }
}
