//! Fresh databases for tests, on both backends.
//!
//! Every repository and service test runs twice through [`backend_tests!`]: on SQLite
//! always, and on PostgreSQL when `TEST_DATABASE_URL` is set (CI always sets it). Each test
//! gets its own database: a temporary SQLite file, or a new PostgreSQL database created
//! through `TEST_DATABASE_URL` and dropped when the test ends (even when it fails).

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, Connection, Executor};

use crate::{Backend, ConnectOptions, Store};

/// The environment variable naming the PostgreSQL server tests may create databases on.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// A migrated, empty database that is removed when dropped.
pub struct TestDb {
    store: Store,
    url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<PgCleanup>,
}

struct PgCleanup {
    admin_url: String,
    database: String,
}

impl TestDb {
    /// A fresh SQLite database in a temporary directory.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap_or_else(|e| fail(&format!("temp dir: {e}")));
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let store = open(&url).await;
        TestDb {
            store,
            url,
            _dir: Some(dir),
            postgres: None,
        }
    }

    /// A fresh, migrated PostgreSQL database, or `None` when `TEST_DATABASE_URL` is not set.
    pub async fn postgres() -> Option<TestDb> {
        TestDb::create_postgres(true).await
    }

    /// A fresh PostgreSQL database with no tables yet (for migration tests).
    pub async fn postgres_blank() -> Option<TestDb> {
        TestDb::create_postgres(false).await
    }

    async fn create_postgres(migrate: bool) -> Option<TestDb> {
        let admin_url = std::env::var(TEST_DATABASE_URL)
            .ok()
            .filter(|v| !v.is_empty())?;
        let database = format!("sb_test_{}", uuid::Uuid::now_v7().simple());
        let admin = PgConnectOptions::from_str(&admin_url)
            .unwrap_or_else(|e| fail(&format!("{TEST_DATABASE_URL} is not a PostgreSQL URL: {e}")));
        let mut conn = admin
            .connect()
            .await
            .unwrap_or_else(|e| fail(&format!("cannot reach {TEST_DATABASE_URL}: {e}")));
        conn.execute(format!("CREATE DATABASE {database}").as_str())
            .await
            .unwrap_or_else(|e| fail(&format!("cannot create test database: {e}")));
        let _ = conn.close().await;
        let url = admin.database(&database).to_url_lossy().to_string();
        let store = if migrate {
            open(&url).await
        } else {
            Store::connect(&ConnectOptions::new(&url))
                .await
                .unwrap_or_else(|e| fail(&format!("cannot open test database: {e}")))
        };
        Some(TestDb {
            store,
            url,
            _dir: None,
            postgres: Some(PgCleanup {
                admin_url,
                database,
            }),
        })
    }

    /// Both backends that are available here: SQLite always, PostgreSQL when configured.
    pub async fn each() -> Vec<TestDb> {
        let mut dbs = vec![TestDb::sqlite().await];
        dbs.extend(TestDb::postgres().await);
        dbs
    }

    pub fn store(&self) -> Store {
        self.store.clone()
    }

    pub fn backend(&self) -> Backend {
        self.store.backend
    }

    /// The database URL, for tests that start a server process on this database.
    pub fn url(&self) -> &str {
        &self.url
    }
}

async fn open(url: &str) -> Store {
    let store = Store::connect(&ConnectOptions::new(url))
        .await
        .unwrap_or_else(|e| fail(&format!("cannot open test database: {e}")));
    store
        .migrate()
        .await
        .unwrap_or_else(|e| fail(&format!("cannot migrate test database: {e}")));
    store
}

#[allow(
    clippy::panic,
    reason = "test harness: a broken test database fails the test"
)]
fn fail(message: &str) -> ! {
    panic!("{message}")
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(cleanup) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime, so the database is dropped from a thread with
        // a runtime of its own. WITH (FORCE) ends the pool's connections that are still open.
        let handle = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let Ok(options) = PgConnectOptions::from_str(&cleanup.admin_url) else {
                    return;
                };
                if let Ok(mut conn) = options.connect().await {
                    let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", cleanup.database);
                    let _ = conn.execute(sql.as_str()).await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = handle.join();
    }
}

/// Declares tests that run once per backend. Each `async fn name(store: Store) { ... }`
/// becomes a module `name` with the tests `sqlite` and `postgres`; the PostgreSQL one reports
/// itself skipped when `TEST_DATABASE_URL` is not set.
#[macro_export]
macro_rules! backend_tests {
    ($(async fn $name:ident($store:ident : Store) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($store: $crate::Store) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let db = $crate::testing::TestDb::sqlite().await;
                    run(db.store()).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    match $crate::testing::TestDb::postgres().await {
                        Some(db) => run(db.store()).await,
                        None => eprintln!("skipped: {} is not set", $crate::testing::TEST_DATABASE_URL),
                    }
                }
            }
        )*
    };
}

impl TestDb {
    /// Runs raw SQL against the test database, for tests that tamper with rows the way an
    /// attacker with database access would. Returns the number of rows affected.
    pub async fn execute(&self, sql: &str) -> u64 {
        // The same steps on each backend's own connection type.
        macro_rules! run {
            ($options:ty) => {{
                let options =
                    <$options>::from_str(&self.url).unwrap_or_else(|e| fail(&e.to_string()));
                let mut conn = options
                    .connect()
                    .await
                    .unwrap_or_else(|e| fail(&e.to_string()));
                let done = conn
                    .execute(sql)
                    .await
                    .unwrap_or_else(|e| fail(&e.to_string()));
                let _ = conn.close().await;
                done.rows_affected()
            }};
        }
        match self.backend() {
            Backend::Sqlite => run!(sqlx::sqlite::SqliteConnectOptions),
            Backend::Postgres => run!(PgConnectOptions),
        }
    }
}
