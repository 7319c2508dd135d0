use crate::server_tests;

server_tests! {
    async fn the_overview_renders_with_the_shared_layout(server: TestServer) {
        let response = server.get("/").await;
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        assert!(html.contains("<h1>Overview</h1>"), "{html}");
        assert!(html.contains(r#"aria-current="page""#), "current navigation entry is marked");
        assert!(html.contains("No organisations yet"), "empty state shown on a fresh install");
        assert!(html.contains(r#"data-testid="readiness">Ready"#), "{html}");
        assert!(!html.contains("style="), "no inline styles (strict CSP)");
        assert!(!html.contains("<script>"), "no inline scripts (strict CSP)");
    }

    async fn assets_are_cached_by_content_hash(server: TestServer) {
        let html = server.get("/").await.text().await.unwrap();
        let start = html.find("/assets/app.css?v=").unwrap();
        let url = &html[start..start + html[start..].find('"').unwrap()];
        let css = server.get(url).await;
        assert_eq!(css.status(), 200);
        assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
        assert_eq!(css.headers()["cache-control"], "public, max-age=31536000, immutable");
        let etag = css.headers()["etag"].to_str().unwrap().to_owned();
        assert!(css.text().await.unwrap().contains("--brand"));

        let stale = server.get("/assets/app.css?v=old").await;
        assert_eq!(stale.headers()["cache-control"], "no-cache");

        let again = server.client.get(server.url(url)).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(again.status(), 304);

        assert_eq!(server.get("/assets/nope.js").await.status(), 404);
    }

    async fn flash_messages_show_once(server: TestServer) {
        let response = server.client.get(server.url("/"))
            .header("cookie", "sb_flash=success.Saved%20it").send().await.unwrap();
        let cleared = response.headers().get_all("set-cookie").iter()
            .any(|v| v.to_str().unwrap().starts_with("sb_flash=;"));
        assert!(cleared, "the flash cookie is cleared after showing");
        let html = response.text().await.unwrap();
        assert!(html.contains(r#"class="flash flash-success">Saved it<"#), "{html}");
    }
}
