//! `switchboard migrate`: apply pending migrations. Running it again changes nothing.

use std::path::Path;

use crate::config::Overrides;
use crate::wiring;
use crate::Failure;

pub async fn run(file: Option<&Path>) -> Result<(), Failure> {
    let config = wiring::load_config(file, &Overrides::default())?;
    let (store, report) = wiring::open_store(&config).await?;
    store.close().await;
    if report.applied.is_empty() {
        println!(
            "database is up to date ({} migrations applied)",
            report.known
        );
    } else {
        let versions: Vec<String> = report.applied.iter().map(i64::to_string).collect();
        println!(
            "applied {} migration(s): {}",
            report.applied.len(),
            versions.join(", ")
        );
    }
    Ok(())
}
