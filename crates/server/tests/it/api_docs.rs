use crate::server_tests;

/// Fills `{param}` segments so a templated path can be requested.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                "00000000-0000-7000-8000-000000000000"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

server_tests! {
    async fn the_spec_is_openapi_3_1_and_lists_the_api(server: TestServer) {
        let spec: serde_json::Value = server.get("/api/v1/openapi.json").await.json().await.unwrap();
        assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"), "{}", spec["openapi"]);
        let paths = spec["paths"].as_object().unwrap();
        for expected in ["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"] {
            assert!(paths.contains_key(expected), "{expected} missing from the spec");
        }
        assert!(spec["components"]["schemas"]["ErrorBody"].is_object());
    }

    async fn every_route_in_the_spec_is_served(server: TestServer) {
        // The router falls back to a 404 `not_found` for paths it does not know; no documented
        // operation may land there.
        let spec: serde_json::Value = server.get("/api/v1/openapi.json").await.json().await.unwrap();
        let mut checked = 0;
        for (path, item) in spec["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let response = server.client.request(method.clone(), server.url(&concrete(path)))
                    .send().await.unwrap();
                let status = response.status();
                let routed = status != 404 && status != 405;
                assert!(routed, "{method} {path} is documented but not routed ({status})");
                checked += 1;
            }
        }
        assert!(checked >= 4, "only {checked} operations checked");
    }
}
