//! Running the embedded migrations and checking that a database carries all of them.
//! The SQL lives in `migrations/sqlite` and `migrations/postgres` at the repository root.

use std::collections::HashSet;

use sqlx::migrate::{Migrate, Migrator};
use sqlx::{Connection, Database};

use crate::{MigrationReport, Readiness, StoreError};

async fn applied_versions<DB>(conn: &mut DB::Connection) -> Result<HashSet<i64>, sqlx::Error>
where
    DB: Database,
    DB::Connection: Migrate,
{
    let applied = conn.list_applied_migrations().await?;
    Ok(applied.into_iter().map(|m| m.version).collect())
}

fn up_versions(migrator: &Migrator) -> impl Iterator<Item = i64> + '_ {
    migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| m.version)
}

/// Applies every pending migration on `conn` and reports which ones it applied.
pub(crate) async fn run<DB>(
    migrator: &Migrator,
    conn: &mut DB::Connection,
) -> Result<MigrationReport, StoreError>
where
    DB: Database,
    DB::Connection: Migrate,
{
    conn.ensure_migrations_table()
        .await
        .map_err(|e| StoreError::Migrate(e.to_string()))?;
    let before = applied_versions::<DB>(conn)
        .await
        .map_err(StoreError::from_sqlx)?;
    migrator
        .run_direct(conn)
        .await
        .map_err(|e| StoreError::Migrate(e.to_string()))?;
    let applied = up_versions(migrator)
        .filter(|v| !before.contains(v))
        .collect();
    Ok(MigrationReport {
        applied,
        known: up_versions(migrator).count(),
    })
}

/// Whether the database answers (`conn` is the connection the caller could get, if any) and
/// has every embedded migration applied.
pub(crate) async fn readiness<DB>(
    migrator: &Migrator,
    conn: Option<&mut DB::Connection>,
) -> Readiness
where
    DB: Database,
    DB::Connection: Migrate,
{
    let unreachable = || Readiness {
        reachable: false,
        migrations_pending: up_versions(migrator).count(),
    };
    let Some(conn) = conn else {
        return unreachable();
    };
    if conn.ping().await.is_err() {
        return unreachable();
    }
    // A database without the migrations table has nothing applied yet.
    let applied = applied_versions::<DB>(conn).await.unwrap_or_default();
    let migrations_pending = up_versions(migrator)
        .filter(|v| !applied.contains(v))
        .count();
    Readiness {
        reachable: true,
        migrations_pending,
    }
}
