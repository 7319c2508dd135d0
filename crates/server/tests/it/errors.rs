use crate::server_tests;

async fn error_code(response: reqwest::Response) -> String {
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body["error"]["code"].as_str().unwrap().to_owned()
}

server_tests! {
    async fn unknown_api_paths_get_the_json_error_body(server: TestServer) {
        let response = server.get("/api/v1/does-not-exist").await;
        assert_eq!(response.status(), 404);
        assert_eq!(error_code(response).await, "not_found");
    }

    async fn wrong_methods_get_a_json_405(server: TestServer) {
        let response = server.client.delete(server.url("/healthz")).send().await.unwrap();
        assert_eq!(response.status(), 405);
        assert_eq!(error_code(response).await, "method_not_allowed");
    }

    async fn oversized_bodies_are_refused_with_413(server: TestServer) {
        let body = vec![b'x'; 2 * 1024 * 1024];
        let response = server.client.post(server.url("/api/v1/openapi.json"))
            .header("content-type", "application/json")
            .body(body).send().await.unwrap();
        assert_eq!(response.status(), 413);
        assert_eq!(error_code(response).await, "payload_too_large");
    }

    async fn unknown_console_pages_get_the_styled_404(server: TestServer) {
        let response = server.get("/no/such/page").await;
        assert_eq!(response.status(), 404);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let html = response.text().await.unwrap();
        assert!(html.contains("Page not found"), "{html}");
        assert!(html.contains("/assets/app.css?v="), "uses the shared layout");
    }
}
