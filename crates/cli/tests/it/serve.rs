use crate::hub::{self, Backend, Hub};

#[tokio::test]
async fn a_fresh_directory_starts_with_no_configuration() {
    for backend in Backend::each().await {
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::start(dir.path(), &backend.env());
        let client = reqwest::Client::new();

        let health = client.get(hub.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200, "{}", backend.name());
        let ready = client.get(hub.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200, "{}", backend.name());
        let body: serde_json::Value = ready.json().await.unwrap();
        assert_eq!(body["database"], backend.name());
        let metrics = client
            .get(hub.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(metrics.contains("http_requests_total"), "{metrics}");
        let page = client.get(hub.url("/")).send().await.unwrap();
        assert_eq!(page.status(), 200);

        let data = dir.path().join("data");
        let key = data.join("master.key");
        assert!(key.is_file(), "master key created");
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            data.join("switchboard.db").is_file(),
            matches!(backend, Backend::Sqlite)
        );

        let (code, lines) = hub.terminate();
        assert_eq!(code, Some(0), "clean exit on SIGTERM ({})", backend.name());
        assert!(lines.iter().any(|l| l.contains("\"stopped\"")), "{lines:?}");
    }
}

#[test]
fn unreachable_postgres_fails_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = hub::run(
        dir.path(),
        &["serve", "--listen", "127.0.0.1:0"],
        &[(
            "DATABASE_URL",
            "postgres://switchboard:pw@127.0.0.1:1/switchboard",
        )],
    );
    assert_eq!(output.status.code(), Some(1));
    let err = hub::stderr(&output);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        err.starts_with(
            "error: cannot open the database at postgres://switchboard:***@127.0.0.1:1/switchboard"
        ),
        "{err}"
    );
    assert!(err.contains("refused"), "says why: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace") && !err.contains(":pw@"),
        "{err}"
    );
}

#[test]
fn a_busy_port_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = hub::run(dir.path(), &["serve", "--listen", &addr], &[]);
    assert_eq!(output.status.code(), Some(1));
    let err = hub::stderr(&output);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
}

/// A hub with server agents stops at once: their claims, which wait up to 25 s for a task,
/// answer "no task" when the stop begins instead of holding it up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_does_not_wait_for_agents_claims() {
    use serde_json::{json, Value};
    use std::time::{Duration, Instant};
    for backend in Backend::each().await {
        let dir = tempfile::tempdir().unwrap();
        let mut env = backend.env();
        env.push(("SWITCHBOARD_SETUP_CODE", "STOP-TEST-CODE"));
        let hub = Hub::start(dir.path(), &env);
        let me = hub::set_up(&hub, "STOP-TEST-CODE", backend.name()).await;
        let token: Value = me
            .send(
                &hub.base,
                reqwest::Method::POST,
                "/api/v1/fleet/registration-tokens",
                Some(json!({"name": "web"})),
            )
            .await
            .json()
            .await
            .unwrap();
        let enrolled: Value = me
            .client
            .post(hub.url("/api/v1/agent/register"))
            .json(&json!({"token": token["token"], "name": "web-1", "host": "web-1.test",
                "labels": {"role": "web"}, "identity": {"protocol_version": 1, "agent_version": "0.1.0"}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let claim = me
            .client
            .post(hub.url("/api/v1/agent/claim"))
            .header(
                "x-switchboard-agent-id",
                enrolled["agent_id"].as_str().unwrap(),
            )
            .header(
                "x-switchboard-agent-secret",
                enrolled["secret"].as_str().unwrap(),
            )
            .json(&json!({"wait_secs": 25, "executors": ["echo"]}))
            .send();
        let started = Instant::now();
        let (answer, ()) = tokio::join!(claim, async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            hub.send_term();
        });
        let answer = answer.unwrap();
        assert_eq!(answer.status(), 200, "{}", backend.name());
        let answer: Value = answer.json().await.unwrap();
        assert_eq!(answer["task"], Value::Null, "{}: {answer}", backend.name());
        let (code, lines) = hub.terminate();
        assert_eq!(code, Some(0), "{}", backend.name());
        assert!(lines.iter().any(|l| l.contains("\"stopped\"")), "{lines:?}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}: stopped in {:?}, not after the claim's 25 s",
            backend.name(),
            started.elapsed()
        );
    }
}
