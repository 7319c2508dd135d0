//! Liveness and readiness as the service layer sees them.

use serde::Serialize;
use switchboard_store::Store;

/// What `/readyz` reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReadinessReport {
    pub ready: bool,
    pub database: &'static str,
    pub database_reachable: bool,
    pub migrations_pending: usize,
}

pub async fn readiness(store: &Store) -> ReadinessReport {
    let r = store.readiness().await;
    ReadinessReport {
        ready: r.is_ready(),
        database: store.backend.name(),
        database_reachable: r.reachable,
        migrations_pending: r.migrations_pending,
    }
}

/// What the console's overview page shows about the installation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SystemOverview {
    pub version: &'static str,
    pub readiness: ReadinessReport,
    pub organizations: Option<u64>,
}

pub async fn overview(store: &Store, version: &'static str) -> SystemOverview {
    SystemOverview {
        version,
        readiness: readiness(store).await,
        organizations: store.orgs.count().await.ok(),
    }
}
