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
        let keyring = Keyring::new(MasterKey::generate(), vec![]);
        let app = Arc::new(App::new(db.store(), Arc::new(SystemClock), keyring));
        let router = switchboard_server::router(app.clone(), options);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        app.workers.spawn("http", move |shutdown| async move {
            let _ = switchboard_server::serve(listener, router, shutdown.cancelled_owned()).await;
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
