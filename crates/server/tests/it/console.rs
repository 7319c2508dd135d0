use crate::harness::{Caller, TestServer, PASSWORD, SETUP_CODE};
use crate::server_tests;

async fn page(server: &TestServer, caller: &Caller, path: &str) -> reqwest::Response {
    server
        .request(caller, reqwest::Method::GET, path, None)
        .await
}

fn location(response: &reqwest::Response) -> &str {
    response.headers()["location"].to_str().unwrap()
}

server_tests! {
    async fn a_fresh_install_leads_to_setup_then_sign_in(server: TestServer) {
        server.app.identity.prepare_setup(Some(SETUP_CODE)).await.unwrap();
        let anon = Caller::anonymous();
        let response = page(&server, &anon, "/").await;
        assert_eq!((response.status().as_u16(), location(&response)), (303, "/setup"));
        assert_eq!(page(&server, &anon, "/setup").await.status(), 200);
        let form = [("setup_code", SETUP_CODE), ("org_name", "Acme"), ("org_slug", "acme"),
            ("name", "Ada"), ("email", "ada@acme.test"), ("password", PASSWORD)];
        let done = server.client.post(server.url("/setup")).form(&form).send().await.unwrap();
        assert_eq!((done.status().as_u16(), location(&done)), (303, "/login"));
        // The wizard is gone for good.
        assert_eq!(page(&server, &anon, "/setup").await.status(), 404);
        let response = page(&server, &anon, "/").await;
        assert_eq!(location(&response), "/login");
        let login = server.client.post(server.url("/login"))
            .form(&[("email", "ada@acme.test"), ("password", PASSWORD)]).send().await.unwrap();
        assert_eq!((login.status().as_u16(), location(&login)), (303, "/"));
        let cookie = login.headers()["set-cookie"].to_str().unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    }

    async fn the_overview_renders_with_the_shared_layout(server: TestServer) {
        let operator = server.setup().await;
        let response = page(&server, &operator, "/").await;
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        assert!(html.contains("<h1>Overview</h1>"), "{html}");
        assert!(html.contains(r#"aria-current="page""#), "current navigation entry is marked");
        assert!(html.contains(r#"<span class="stat-value">1</span>"#), "one organisation: {html}");
        assert!(html.contains(r#"data-testid="readiness">Ready"#), "{html}");
        assert!(html.contains(r#"href="/operator""#), "operators see the organisations screen");
        assert!(!html.contains("style="), "no inline styles (strict CSP)");
        assert!(!html.contains("<script>"), "no inline scripts (strict CSP)");
    }

    async fn console_forms_need_the_csrf_token(server: TestServer) {
        let operator = server.setup().await;
        let cookie = format!("sb_session={}", operator.session.clone().unwrap());
        let forged = server.client.post(server.url("/keys")).header("cookie", &cookie)
            .form(&[("csrf", "forged"), ("name", "x"), ("role", "viewer")]).send().await.unwrap();
        assert_eq!(forged.status(), 403);
        let real = server.client.post(server.url("/keys")).header("cookie", &cookie)
            .form(&[("csrf", operator.csrf.clone().unwrap().as_str()), ("name", "x"), ("role", "viewer")])
            .send().await.unwrap();
        assert_eq!(real.status(), 200);
        assert!(real.text().await.unwrap().contains(r#"data-testid="new-key">sb_"#));
    }

    async fn assets_are_cached_by_content_hash(server: TestServer) {
        server.setup().await;
        let html = server.get("/login").await.text().await.unwrap();
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
        server.setup().await;
        let response = server.client.get(server.url("/login"))
            .header("cookie", "sb_flash=success.Saved%20it").send().await.unwrap();
        let cleared = response.headers().get_all("set-cookie").iter()
            .any(|v| v.to_str().unwrap().starts_with("sb_flash=;"));
        assert!(cleared, "the flash cookie is cleared after showing");
        let html = response.text().await.unwrap();
        assert!(html.contains(r#"class="flash flash-success">Saved it<"#), "{html}");
    }
}
