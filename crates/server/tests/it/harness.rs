//! Starts the real router over a fresh database on `127.0.0.1:0`.

use std::sync::Arc;

use switchboard_app::secrets::{Keyring, MasterKey};
use switchboard_app::App;
use switchboard_domain::SystemClock;
use switchboard_server::ServerOptions;
use switchboard_store::testing::TestDb;

pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub app: Arc<App>,
    _db: TestDb,
}

impl TestServer {
    pub async fn start(db: TestDb) -> TestServer {
        TestServer::start_with(db, ServerOptions::default()).await
    }

    pub async fn start_with(db: TestDb, options: ServerOptions) -> TestServer {
        TestServer::start_app(db, options, |app| app).await
    }

    /// Starts with the app adjusted by `configure` (e.g. single sign-on providers).
    pub async fn start_app(
        db: TestDb,
        options: ServerOptions,
        configure: impl FnOnce(App) -> App,
    ) -> TestServer {
        let keyring = Keyring::new(MasterKey::generate(), vec![]);
        let app = Arc::new(configure(App::new(
            db.store(),
            Arc::new(SystemClock),
            keyring,
        )));
        app.start_accounting();
        app.start_approvals();
        app.start_fleet();
        app.start_runtime();
        app.start_notifications();
        let router = switchboard_server::router(app.clone(), options);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        app.workers.spawn("http", move |shutdown| async move {
            let _ = switchboard_server::serve(
                listener,
                router,
                shutdown.cancelled_owned(),
                std::time::Duration::from_secs(5),
            )
            .await;
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestServer {
            base,
            client,
            app,
            _db: db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }
}

/// Declares HTTP tests that run once per backend: `async fn name(server: TestServer) {}`.
#[macro_export]
macro_rules! server_tests {
    ($(async fn $name:ident($server:ident : TestServer) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($server: $crate::harness::TestServer) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let db = switchboard_store::testing::TestDb::sqlite().await;
                    run($crate::harness::TestServer::start(db).await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    match switchboard_store::testing::TestDb::postgres().await {
                        Some(db) => run($crate::harness::TestServer::start(db).await).await,
                        None => eprintln!("skipped: TEST_DATABASE_URL is not set"),
                    }
                }
            }
        )*
    };
}

/// The password every test account uses.
pub const PASSWORD: &str = "correct horse battery staple";
/// The setup code the tests configure.
pub const SETUP_CODE: &str = "TEST-SETUP-CODE";

/// How a test request authenticates.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    pub session: Option<String>,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

impl Caller {
    pub fn anonymous() -> Caller {
        Caller::default()
    }

    pub fn key(key: &str) -> Caller {
        Caller {
            bearer: Some(key.to_owned()),
            ..Caller::default()
        }
    }

    pub fn from_login(headers: &reqwest::header::HeaderMap, body: &serde_json::Value) -> Caller {
        let session = headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("sb_session="))
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        Caller {
            session,
            csrf: body["csrf_token"].as_str().map(str::to_owned),
            bearer: None,
        }
    }
}

impl TestServer {
    /// Sends a request as `caller`; returns the status and the JSON body (`null` if none).
    pub async fn send(
        &self,
        caller: &Caller,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let response = self.request(caller, method, path, body).await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    pub async fn request(
        &self,
        caller: &Caller,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(session) = &caller.session {
            request = request.header("cookie", format!("sb_session={session}"));
        }
        if let Some(csrf) = &caller.csrf {
            request = request.header("x-csrf-token", csrf);
        }
        if let Some(key) = &caller.bearer {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// First-boot setup: organisation `ops` with `operator@ops.test` (owner and operator),
    /// signed in.
    pub async fn setup(&self) -> Caller {
        self.app
            .identity
            .prepare_setup(Some(SETUP_CODE))
            .await
            .unwrap();
        let (status, body) = self
            .send(
                &Caller::anonymous(),
                reqwest::Method::POST,
                "/api/v1/setup",
                Some(serde_json::json!({
                    "setup_code": SETUP_CODE,
                    "organization": {"name": "Operators", "slug": "ops"},
                    "owner": {"email": "operator@ops.test", "name": "Olivia", "password": PASSWORD}
                })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        self.login("operator@ops.test", PASSWORD).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Caller {
        let response = self
            .request(
                &Caller::anonymous(),
                reqwest::Method::POST,
                "/api/v1/auth/login",
                Some(serde_json::json!({"email": email, "password": password})),
            )
            .await;
        let status = response.status();
        let headers = response.headers().clone();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, 200, "login {email}: {body}");
        Caller::from_login(&headers, &body)
    }

    /// Accepts an invite link as a new person and returns their session.
    pub async fn join(&self, invite_url: &str, name: &str) -> Caller {
        let token = invite_url.rsplit('/').next().unwrap();
        let response = self
            .request(
                &Caller::anonymous(),
                reqwest::Method::POST,
                "/api/v1/invites/accept",
                Some(serde_json::json!({"token": token, "name": name, "password": PASSWORD})),
            )
            .await;
        let status = response.status();
        let headers = response.headers().clone();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, 200, "accept invite: {body}");
        Caller::from_login(&headers, &body)
    }

    /// Operator creates organisation `slug` and its owner joins through the invite.
    pub async fn org_with_owner(&self, operator: &Caller, slug: &str) -> Caller {
        let (status, body) = self
            .send(
                operator,
                reqwest::Method::POST,
                "/api/v1/organizations",
                Some(serde_json::json!({
                    "name": format!("{slug} Ltd"), "slug": slug,
                    "owner_email": format!("owner@{slug}.test")
                })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        self.join(body["owner_invite_url"].as_str().unwrap(), "Owner")
            .await
    }

    /// An admin of the caller's organisation invites `email` with `role`; they join.
    pub async fn member(&self, admin: &Caller, email: &str, role: &str) -> Caller {
        let (status, body) = self
            .send(
                admin,
                reqwest::Method::POST,
                "/api/v1/invites",
                Some(serde_json::json!({"email": email, "role": role})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        self.join(body["url"].as_str().unwrap(), email).await
    }
}

/// One part of a multipart form: a text field, or a file with its name and type.
pub enum Part<'a> {
    Text(&'a str, &'a str),
    File {
        field: &'a str,
        name: &'a str,
        content_type: &'a str,
        bytes: &'a [u8],
    },
}

impl TestServer {
    /// Posts a multipart form as `caller`; returns the status and the JSON body.
    pub async fn upload(
        &self,
        caller: &Caller,
        path: &str,
        parts: &[Part<'_>],
    ) -> (u16, serde_json::Value) {
        let boundary = "----switchboard-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for part in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match part {
                Part::Text(name, value) => {
                    body.extend_from_slice(
                        format!(
                            "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                        )
                        .as_bytes(),
                    );
                }
                Part::File {
                    field,
                    name,
                    content_type,
                    bytes,
                } => {
                    body.extend_from_slice(
                        format!(
                            "Content-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n\
                             Content-Type: {content_type}\r\n\r\n"
                        )
                        .as_bytes(),
                    );
                    body.extend_from_slice(bytes);
                    body.extend_from_slice(b"\r\n");
                }
            }
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let mut request = self
            .client
            .post(self.url(path))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        if let Some(session) = &caller.session {
            request = request.header("cookie", format!("sb_session={session}"));
        }
        if let Some(csrf) = &caller.csrf {
            request = request.header("x-csrf-token", csrf);
        }
        if let Some(key) = &caller.bearer {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }
}
