use crate::server_tests;

server_tests! {
    async fn security_headers_are_on_every_response(server: TestServer) {
        for path in ["/", "/healthz", "/api/v1/nope", "/missing"] {
            let response = server.get(path).await;
            let h = response.headers();
            let csp = h["content-security-policy"].to_str().unwrap();
            assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'self'"), "{path}: {csp}");
            assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
            assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
            assert_eq!(h["referrer-policy"], "same-origin", "{path}");
            assert_eq!(h["x-frame-options"], "SAMEORIGIN", "{path}");
            assert!(h.get("strict-transport-security").is_none(), "no HSTS without TLS");
        }
    }

    async fn request_ids_are_made_or_echoed(server: TestServer) {
        let made = server.get("/healthz").await;
        let id = made.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 7);

        let echoed = server.client.get(server.url("/healthz"))
            .header("x-request-id", "trace-abc_123").send().await.unwrap();
        assert_eq!(echoed.headers()["x-request-id"], "trace-abc_123");

        let odd = server.client.get(server.url("/healthz"))
            .header("x-request-id", "evil\"id with spaces").send().await.unwrap();
        let replaced = odd.headers()["x-request-id"].to_str().unwrap();
        assert!(uuid::Uuid::parse_str(replaced).is_ok(), "{replaced}");
    }

    async fn responses_are_compressed_when_asked(server: TestServer) {
        let response = server.client.get(server.url("/api/v1/openapi.json"))
            .header("accept-encoding", "gzip").send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-encoding"], "gzip");
    }
}

#[tokio::test]
async fn hsts_is_sent_when_served_over_tls() {
    let db = switchboard_store::testing::TestDb::sqlite().await;
    let options = switchboard_server::ServerOptions {
        tls: true,
        ..Default::default()
    };
    let server = crate::harness::TestServer::start_with(db, options).await;
    let response = server.get("/healthz").await;
    assert!(response.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .contains("max-age="));
}

#[tokio::test]
#[allow(
    clippy::disallowed_methods,
    reason = "a test-only slow route outside the API"
)]
async fn graceful_shutdown_lets_in_flight_requests_finish() {
    use std::time::{Duration, Instant};
    let router = axum::Router::new().route(
        "/slow",
        axum::routing::get(|| async {
            tokio::time::sleep(Duration::from_millis(400)).await;
            "done"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slow", listener.local_addr().unwrap());
    let supervisor = switchboard_app::Supervisor::new();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<Instant>();
    supervisor.spawn("http", move |_| async move {
        let shutdown = async move {
            let _ = stop_rx.await;
        };
        switchboard_server::serve(listener, router, shutdown, Duration::from_secs(5))
            .await
            .unwrap();
        let _ = done_tx.send(Instant::now());
    });
    let request = reqwest::get(url);
    let stop = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop_tx.send(()).unwrap();
    };
    let (response, ()) = tokio::join!(request, stop);
    let answered_at = Instant::now();
    let response = response.expect("the in-flight request is answered, not cut off");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "done");
    let stopped_at = done_rx.await.unwrap();
    assert!(
        stopped_at + Duration::from_millis(50) >= answered_at,
        "server stopped after answering"
    );
    assert!(supervisor.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
#[allow(
    clippy::disallowed_methods,
    reason = "a test-only stuck route outside the API"
)]
async fn a_request_that_outlives_the_grace_period_does_not_hold_up_the_stop() {
    use std::time::{Duration, Instant};
    let router = axum::Router::new().route(
        "/stuck",
        axum::routing::get(|| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            "late"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/stuck", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = switchboard_server::serve(
        listener,
        router,
        async move {
            let _ = stop_rx.await;
        },
        Duration::from_millis(500),
    );
    let stop = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let signalled = Instant::now();
        stop_tx.send(()).unwrap();
        signalled
    };
    let server_side =
        async { tokio::join!(tokio::time::timeout(Duration::from_secs(10), server), stop) };
    let (served, signalled) = tokio::select! {
        stopped = server_side => stopped,
        _ = reqwest::get(url) => panic!("the stuck request was answered"),
    };
    served.expect("the server stops").unwrap();
    let took = signalled.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(5),
        "stopped once the grace period ended: {took:?}"
    );
}
