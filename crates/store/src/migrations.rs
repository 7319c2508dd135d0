//! Running the embedded migrations and checking that a database carries all of them.
//! The SQL lives in `migrations/sqlite` and `migrations/postgres` at the repository root.

use std::collections::HashSet;

use sqlx::migrate::{Migrate, Migrator};
use sqlx::{Connection, Database, Pool};

use crate::{MigrationReport, Readiness, StoreError};

async fn applied_versions<DB>(pool: &Pool<DB>) -> Result<HashSet<i64>, sqlx::Error>
where
    DB: Database,
    DB::Connection: Migrate,
{
    let mut conn = pool.acquire().await?;
    let applied = conn.list_applied_migrations().await?;
    Ok(applied.into_iter().map(|m| m.version).collect())
}

fn up_versions(migrator: &Migrator) -> impl Iterator<Item = i64> + '_ {
    migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| m.version)
}

/// Applies every pending migration and reports which ones it applied.
pub(crate) async fn run<DB>(
    migrator: &Migrator,
    pool: &Pool<DB>,
) -> Result<MigrationReport, StoreError>
where
    DB: Database,
    DB::Connection: Migrate,
{
    let before = {
        let mut conn = pool.acquire().await.map_err(StoreError::from_sqlx)?;
        conn.ensure_migrations_table()
            .await
            .map_err(|e| StoreError::Migrate(e.to_string()))?;
        drop(conn);
        applied_versions(pool)
            .await
            .map_err(StoreError::from_sqlx)?
    };
    migrator
        .run(pool)
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

/// Whether the database answers and has every embedded migration applied.
pub(crate) async fn readiness<DB>(migrator: &Migrator, pool: &Pool<DB>) -> Readiness
where
    DB: Database,
    DB::Connection: Migrate,
{
    let reachable = match pool.acquire().await {
        Ok(mut conn) => conn.ping().await.is_ok(),
        Err(_) => false,
    };
    if !reachable {
        return Readiness {
            reachable,
            migrations_pending: up_versions(migrator).count(),
        };
    }
    // A database without the migrations table has nothing applied yet.
    let applied = applied_versions(pool).await.unwrap_or_default();
    let migrations_pending = up_versions(migrator)
        .filter(|v| !applied.contains(v))
        .count();
    Readiness {
        reachable,
        migrations_pending,
    }
}
