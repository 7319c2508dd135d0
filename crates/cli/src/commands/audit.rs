//! `switchboard audit verify`: recompute every audit hash chain and report the first break.

use std::path::Path;

use clap::Subcommand;

use crate::config::Overrides;
use crate::{wiring, Failure};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute every organisation's audit hash chain; exit 1 at the first broken link.
    Verify,
}

pub async fn run(file: Option<&Path>, command: AuditCommand) -> Result<(), Failure> {
    let AuditCommand::Verify = command;
    let config = wiring::load_config(file, &Overrides::default())?;
    let (store, _) = wiring::open_store(&config).await?;
    let audit = switchboard_app::audit::Audit::new(
        store.clone(),
        std::sync::Arc::new(switchboard_domain::SystemClock),
    );
    let report = audit
        .verify(None)
        .await
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    store.close().await;
    match report.first_bad {
        None => {
            println!("audit log intact: {} events in {} chain(s)", report.checked, report.chains);
            Ok(())
        }
        Some(bad) => Err(Failure::Runtime(format!(
            "audit log broken in organisation {} at seq {} (event {}): {}; {} events checked before it",
            bad.org_id, bad.seq, bad.id, bad.reason, report.checked
        ))),
    }
}
