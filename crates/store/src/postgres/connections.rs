//! The hub's PostgreSQL connections: sqlx's pool behind a thin layer that reuses a connection
//! at once when its statement finished cleanly.
//!
//! sqlx 0.8 checks every connection given back to its pool with a ping — a `Sync` message and
//! PostgreSQL's `ReadyForQuery` answer — before anyone may use it again. That is a second round
//! trip for every statement, with a wake-up on both sides, and it shows in no statement log (on
//! the task queue it was a fifth of the work; `docs/benchmarks.md`, tenth sitting). A connection
//! whose statement completed needs no such check: the driver reads every statement's answer
//! through to its `ReadyForQuery` (`fetch_optional` too, so a deferred constraint's error is not
//! left behind), so nothing is owed. This layer keeps those connections in a stack of its own —
//! still checked out of sqlx's pool — and hands them out again directly.
//!
//! Everything else goes back through sqlx's release, ping included: a connection whose statement
//! failed or was cancelled (the ping finds out whether it still works, and closes it if not), a
//! transaction's (the ping flushes a pending `ROLLBACK`), and migrations' and readiness checks'.
//! A connection that waited here longer than [`RECHECK_AFTER`] is pinged before it is used.
//!
//! The layer owns the bound: every lease and transaction holds one of `max` permits, and sqlx's
//! pool has the same size, so a connection taken from sqlx never waits for one parked here.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream};
use futures_util::TryStreamExt as _;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{Connection as _, Describe, Either, Execute, Executor, Postgres, Transaction};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A connection parked longer than this is pinged before it is handed out (as sqlx's own
/// pool does for its idle connections, `pool_options`).
pub(crate) const RECHECK_AFTER: Duration = Duration::from_secs(10);

/// A pool of PostgreSQL connections (cheap to clone) that statements run on as they would on a
/// `PgPool`: `query.execute(&connections)`, `connections.begin()`.
#[derive(Clone)]
pub(crate) struct Connections {
    pool: PgPool,
    permits: Arc<Semaphore>,
    /// How long a statement waits for a connection before it fails (`PoolTimedOut`), as
    /// sqlx's own `acquire_timeout` does.
    wait: Duration,
    parked: Arc<Mutex<Parked>>,
}

/// Connections ready for their next statement, the most recently used last.
#[derive(Default)]
struct Parked {
    idle: Vec<(PoolConnection<Postgres>, Instant)>,
    closed: bool,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections")
            .field("parked", &self.lock().idle.len())
            .field("free", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

/// One connection for one statement (or for migrations): back to the stack with
/// [`Lease::finished`], or through sqlx's release (with its ping) when dropped.
pub(crate) struct Lease {
    conn: PoolConnection<Postgres>,
    parked: Arc<Mutex<Parked>>,
    // Declared after `conn`: the permit is given back only once the connection is.
    permit: OwnedSemaphorePermit,
}

/// `$type` is used as the connection in its field `$field`: `&mut *lease` runs statements.
macro_rules! deref_to_connection {
    ($type:ty, $field:ident) => {
        impl std::ops::Deref for $type {
            type Target = PgConnection;
            fn deref(&self) -> &PgConnection {
                &self.$field
            }
        }

        impl std::ops::DerefMut for $type {
            fn deref_mut(&mut self) -> &mut PgConnection {
                &mut self.$field
            }
        }
    };
}

deref_to_connection!(Lease, conn);

impl Lease {
    /// The statement completed: the connection waits in the stack for the next one.
    fn finished(self) {
        let Lease {
            conn,
            parked,
            permit,
        } = self;
        let mut parked = lock(&parked);
        if parked.closed {
            drop(parked);
            drop(conn);
        } else {
            parked.idle.push((conn, Instant::now()));
            drop(parked);
        }
        drop(permit);
    }
}

/// A transaction on one of the connections (`&mut *tx` runs statements in it). Dropped without
/// [`Tx::commit`], it rolls back.
pub(crate) struct Tx {
    tx: Transaction<'static, Postgres>,
    permit: OwnedSemaphorePermit,
}

deref_to_connection!(Tx, tx);

impl Tx {
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        let Tx { tx, permit } = self;
        let committed = tx.commit().await;
        drop(permit);
        committed
    }
}

fn lock(parked: &Mutex<Parked>) -> MutexGuard<'_, Parked> {
    parked.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Connections {
    /// `pool` must allow `max` connections: this layer never asks it for more. A statement
    /// waits at most `wait` for one of them.
    pub(crate) fn new(pool: PgPool, max: u32, wait: Duration) -> Connections {
        Connections {
            pool,
            permits: Arc::new(Semaphore::new(max as usize)),
            wait,
            parked: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Parked> {
        lock(&self.parked)
    }

    /// A connection: the most recently parked one, or one from sqlx's pool (which opens a new
    /// one when it has none idle). Waits while `max` are in use, at most `wait`.
    pub(crate) async fn acquire(&self) -> Result<Lease, sqlx::Error> {
        let permit = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        loop {
            let parked = self.lock().idle.pop();
            let Some((mut conn, since)) = parked else {
                break;
            };
            if since.elapsed() < RECHECK_AFTER || conn.ping().await.is_ok() {
                return Ok(self.lease(conn, permit));
            }
            // Broken while it waited: sqlx's release closes it.
            drop(conn);
        }
        let conn = self.pool.acquire().await?;
        Ok(self.lease(conn, permit))
    }

    fn lease(&self, conn: PoolConnection<Postgres>, permit: OwnedSemaphorePermit) -> Lease {
        Lease {
            conn,
            parked: self.parked.clone(),
            permit,
        }
    }

    /// Begins a transaction. Its connection goes back through sqlx's release when it ends.
    pub(crate) async fn begin(&self) -> Result<Tx, sqlx::Error> {
        self.begin_transaction(None).await
    }

    /// Begins a transaction with `statement` instead of `BEGIN`.
    pub(crate) async fn begin_with(&self, statement: &'static str) -> Result<Tx, sqlx::Error> {
        self.begin_transaction(Some(statement)).await
    }

    async fn begin_transaction(&self, statement: Option<&'static str>) -> Result<Tx, sqlx::Error> {
        let Lease { conn, permit, .. } = self.acquire().await?;
        // `Transaction::begin` is how `Pool::begin` makes a transaction that owns its pooled
        // connection; it is public, though hidden from sqlx's documentation.
        let tx = Transaction::begin(conn, statement.map(Into::into)).await?;
        Ok(Tx { tx, permit })
    }

    /// Refuses new leases, closes the parked connections and waits for those in use.
    pub(crate) async fn close(&self) {
        self.permits.close();
        let closing = self.pool.close();
        let idle = {
            let mut parked = self.lock();
            parked.closed = true;
            std::mem::take(&mut parked.idle)
        };
        drop(idle);
        closing.await;
    }
}

/// Runs `$call` (a statement on `$conn`, the leased connection) and parks the connection once
/// it completed; a failure or a cancellation leaves it to sqlx's release.
macro_rules! on_a_connection {
    ($connections:expr, |$conn:ident| $call:expr) => {{
        let connections = $connections.clone();
        Box::pin(async move {
            let mut lease = connections.acquire().await?;
            let $conn = &mut *lease;
            let value = $call.await?;
            lease.finished();
            Ok(value)
        })
    }};
}

impl<'p> Executor<'p> for &'_ Connections {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        // Collected before they are yielded, so the connection is back before the caller reads
        // the rows (the store reads whole results; nothing here streams a large one).
        let all: BoxFuture<'e, Result<Vec<_>, sqlx::Error>> =
            on_a_connection!(self, |conn| conn.fetch_many(query).try_collect::<Vec<_>>());
        Box::pin(
            stream::once(all)
                .map_ok(|all| stream::iter(all.into_iter().map(Ok)))
                .try_flatten(),
        )
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        on_a_connection!(self, |conn| conn.fetch_optional(query))
    }

    fn execute<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<PgQueryResult, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        on_a_connection!(self, |conn| conn.execute(query))
    }

    fn fetch_all<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Vec<PgRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        on_a_connection!(self, |conn| conn.fetch_all(query))
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement<'q>, sqlx::Error>>
    where
        'p: 'e,
    {
        on_a_connection!(self, |conn| conn.prepare_with(sql, parameters))
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Postgres>, sqlx::Error>>
    where
        'p: 'e,
    {
        on_a_connection!(self, |conn| conn.describe(sql))
    }
}

#[cfg(test)]
mod tests {
    //! On the server `TEST_DATABASE_URL` names (skipped without it; CI sets it). The tests
    //! create nothing, so they share its database.
    use std::time::Duration;

    use sqlx::postgres::{PgConnection, PgPool};
    use sqlx::Connection as _;

    use super::{Connections, Lease};

    fn url() -> Option<String> {
        std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
    }

    /// Connections at most `max`, with sqlx's pool giving up after half a second (so a wait
    /// on a connection parked here fails the test instead of hanging it).
    fn connections(url: &str, max: u32) -> (Connections, PgPool) {
        let pool = super::super::pool_options()
            .max_connections(max)
            .acquire_timeout(Duration::from_millis(500))
            .connect_lazy(url)
            .unwrap();
        (
            Connections::new(pool.clone(), max, Duration::from_millis(500)),
            pool,
        )
    }

    async fn backend_pid(c: &Connections) -> i32 {
        sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(c)
            .await
            .unwrap()
    }

    /// Waits (up to two seconds) until `check` holds.
    async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
        for _ in 0..200 {
            if check().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("not within two seconds: {what}");
    }

    #[tokio::test]
    async fn a_finished_statements_connection_is_reused_without_going_back_to_sqlx() {
        let Some(url) = url() else { return };
        let (c, pool) = connections(&url, 4);
        let first = backend_pid(&c).await;
        let rows = sqlx::query("SELECT 1").fetch_all(&c).await.unwrap();
        sqlx::query("SELECT 1").execute(&c).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            backend_pid(&c).await,
            first,
            "the same connection each time"
        );
        // sqlx never had it back (its release would have pinged it): still checked out.
        assert_eq!((pool.size(), pool.num_idle()), (1, 0));
        assert_eq!(c.lock().idle.len(), 1);
    }

    #[tokio::test]
    async fn a_late_error_stays_with_its_own_statement() {
        let Some(url) = url() else { return };
        // One connection, so every statement here runs on the same session.
        let (c, _pool) = connections(&url, 1);
        sqlx::query(
            "CREATE TEMP TABLE late (id INT, CONSTRAINT once UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)",
        )
        .execute(&c)
        .await
        .unwrap();
        // The row comes back before the commit checks the constraint and fails: the driver
        // must read on to that error rather than answer with the row and leave the error
        // for whoever uses the connection next.
        let inserted = sqlx::query("INSERT INTO late VALUES (1), (1) RETURNING id")
            .fetch_optional(&c)
            .await;
        assert!(inserted.is_err(), "{inserted:?}");
        let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&c).await.unwrap();
        assert_eq!(one, 1);
    }

    #[tokio::test]
    async fn a_failed_statements_connection_goes_back_through_sqlx() {
        let Some(url) = url() else { return };
        let (c, pool) = connections(&url, 4);
        let pid = backend_pid(&c).await;
        let failed = sqlx::query("SELECT 1 / 0").execute(&c).await;
        assert!(failed.is_err());
        assert_eq!(c.lock().idle.len(), 0, "not parked after an error");
        eventually("sqlx checked it and took it back", async || {
            pool.num_idle() == 1
        })
        .await;
        assert_eq!(
            backend_pid(&c).await,
            pid,
            "it still works, so sqlx kept it"
        );
    }

    #[tokio::test]
    async fn a_transaction_dropped_without_commit_rolls_back_and_frees_its_locks() {
        let Some(url) = url() else { return };
        let (c, _pool) = connections(&url, 4);
        // A lock no other test run takes.
        let key = uuid::Uuid::now_v7().as_u64_pair().1 as i64;
        let mut other = PgConnection::connect(&url).await.unwrap();
        let free = async |other: &mut PgConnection| -> bool {
            sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
                .bind(key)
                .fetch_one(other)
                .await
                .unwrap()
        };
        let locked = async || {
            let mut tx = c.begin().await.unwrap();
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(key)
                .execute(&mut *tx)
                .await
                .unwrap();
            tx
        };

        let tx = locked().await;
        assert!(
            !free(&mut other).await,
            "held while the transaction is open"
        );
        drop(tx);
        eventually("the rollback freed the lock", async || {
            free(&mut other).await
        })
        .await;

        locked().await.commit().await.unwrap();
        assert!(free(&mut other).await, "free as soon as the commit returns");
    }

    #[tokio::test]
    async fn parked_connections_leave_room_for_transactions_and_checks() {
        let Some(url) = url() else { return };
        let (c, pool) = connections(&url, 2);
        // Two statements at once: both connections end up parked, checked out of sqlx.
        let (a, b) = tokio::join!(
            sqlx::query("SELECT pg_sleep(0.05)").execute(&c),
            sqlx::query("SELECT pg_sleep(0.05)").execute(&c),
        );
        a.unwrap();
        b.unwrap();
        assert_eq!(
            (c.lock().idle.len(), pool.size(), pool.num_idle()),
            (2, 2, 0)
        );
        // A transaction, then a connection for a readiness check, each within sqlx's
        // half-second timeout although sqlx itself has no connection to give.
        let mut tx = c.begin().await.unwrap();
        sqlx::query("SELECT 1").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        let mut lease = c.acquire().await.unwrap();
        lease.ping().await.unwrap();
    }

    #[tokio::test]
    async fn at_most_max_connections_are_in_use() {
        let Some(url) = url() else { return };
        let (c, pool) = connections(&url, 1);
        let held: Lease = c.acquire().await.unwrap();
        let second = tokio::time::timeout(Duration::from_millis(200), c.acquire()).await;
        assert!(second.is_err(), "the second waits while the first is held");
        let waiting = c.acquire();
        drop(held);
        let mut second = tokio::time::timeout(Duration::from_secs(2), waiting)
            .await
            .unwrap()
            .unwrap();
        second.ping().await.unwrap();
        assert_eq!(pool.size(), 1);
    }

    #[tokio::test]
    async fn a_statement_that_cannot_get_a_connection_in_time_fails_clearly() {
        let Some(url) = url() else { return };
        let (c, _pool) = connections(&url, 1);
        let _held = c.acquire().await.unwrap();
        let started = std::time::Instant::now();
        let refused = sqlx::query("SELECT 1").execute(&c).await;
        assert!(
            matches!(refused, Err(sqlx::Error::PoolTimedOut)),
            "{refused:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "after the wait allowed, not later"
        );
    }

    #[tokio::test]
    async fn a_connection_the_server_ended_costs_one_statement() {
        let Some(url) = url() else { return };
        let (c, _pool) = connections(&url, 2);
        let pid = backend_pid(&c).await;
        let mut other = PgConnection::connect(&url).await.unwrap();
        let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .fetch_one(&mut other)
            .await
            .unwrap();
        assert!(ended);
        // The parked connection was used a moment ago, so it is not pinged first (as sqlx
        // does not ping a connection that was idle a moment): its statement fails ...
        assert!(sqlx::query("SELECT 1").execute(&c).await.is_err());
        // ... and it is not parked again: the next statement gets a new connection.
        assert_ne!(backend_pid(&c).await, pid);
    }

    #[tokio::test]
    async fn close_ends_parked_connections_and_refuses_new_statements() {
        let Some(url) = url() else { return };
        let (c, pool) = connections(&url, 2);
        backend_pid(&c).await;
        tokio::time::timeout(Duration::from_secs(5), c.close())
            .await
            .unwrap();
        assert!(pool.is_closed());
        assert_eq!(pool.size(), 0);
        assert!(matches!(
            sqlx::query("SELECT 1").execute(&c).await,
            Err(sqlx::Error::PoolClosed)
        ));
    }
}
