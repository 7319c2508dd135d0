//! Identity through the real binary: the setup code is printed, and no password, TOTP
//! secret, API key or session id ever reaches the logs (captured at debug level).

use serde_json::{json, Value};

use crate::hub::{Backend, Hub};

const PASSWORD: &str = "correct horse battery staple";

async fn post(
    client: &reqwest::Client,
    hub: &Hub,
    path: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> reqwest::Response {
    let mut request = client.post(hub.url(path)).json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_logs_and_the_setup_code_is_printed() {
    for backend in Backend::each().await {
        let dir = tempfile::tempdir().unwrap();
        let mut env = backend.env();
        env.push(("SWITCHBOARD_LOG_LEVEL", "debug"));
        let hub = Hub::start(dir.path(), &env);
        let mut lines: Vec<String> = hub.startup.clone();
        let client = reqwest::Client::new();
        let code = setup_code(&hub, &lines);

        let setup = post(
            &client,
            &hub,
            "/api/v1/setup",
            &[],
            json!({
                "setup_code": code,
                "organization": {"name": "Acme", "slug": "acme"},
                "owner": {"email": "ada@acme.test", "name": "Ada", "password": PASSWORD}
            }),
        )
        .await;
        assert_eq!(setup.status(), 201);
        for _ in 0..2 {
            let bad = post(
                &client,
                &hub,
                "/api/v1/auth/login",
                &[],
                json!({"email": "ada@acme.test", "password": "wrong-password-typed"}),
            )
            .await;
            assert_eq!(bad.status(), 401);
        }
        let login = post(
            &client,
            &hub,
            "/api/v1/auth/login",
            &[],
            json!({"email": "ada@acme.test", "password": PASSWORD}),
        )
        .await;
        assert_eq!(login.status(), 200);
        let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
        let session = cookie
            .trim_start_matches("sb_session=")
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let body: Value = login.json().await.unwrap();
        let csrf = body["csrf_token"].as_str().unwrap().to_owned();
        let auth = [
            ("cookie", cookie.split(';').next().unwrap()),
            ("x-csrf-token", csrf.as_str()),
        ];
        let totp: Value = post(&client, &hub, "/api/v1/me/totp", &auth, json!(null))
            .await
            .json()
            .await
            .unwrap();
        let secret = totp["secret"].as_str().unwrap().to_owned();
        let key: Value = post(
            &client,
            &hub,
            "/api/v1/api-keys",
            &auth,
            json!({"name": "ci", "role": "viewer"}),
        )
        .await
        .json()
        .await
        .unwrap();
        let api_key = key["key"].as_str().unwrap().to_owned();
        let me = client
            .get(hub.url("/api/v1/me"))
            .bearer_auth(&api_key)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);

        let (status, rest) = hub.terminate();
        assert_eq!(status, Some(0));
        lines.extend(rest);
        let log = lines.join("\n");
        assert!(
            log.contains("/api/v1/auth/login"),
            "debug request logs were captured"
        );
        for (what, value) in [
            ("password", PASSWORD),
            ("wrong password", "wrong-password-typed"),
            ("session id", session.as_str()),
            ("csrf token", csrf.as_str()),
            ("TOTP secret", secret.as_str()),
            ("API key", api_key.as_str()),
        ] {
            assert!(!log.contains(value), "the {what} appears in the logs");
        }
    }
}

/// The setup code from the start-up line `first-boot setup: ... setup code XXXX-XXXX-XXXX`.
fn setup_code(hub: &Hub, lines: &[String]) -> String {
    let found = lines.iter().find_map(|line| {
        let v: Value = serde_json::from_str(line).ok()?;
        v["setup_code"].as_str().map(str::to_owned)
    });
    found.unwrap_or_else(|| panic!("no setup code printed in {:?}", hub.startup))
}
