//! `switchboard keys rotate`: add a new master key and re-wrap every data key under it.

use std::path::Path;
use std::sync::Arc;

use clap::Subcommand;
use switchboard_app::secrets::{keyring, KeySource, MasterKey, MASTER_KEY_ENV};
use switchboard_app::Secrets;
use switchboard_domain::SystemClock;

use crate::config::Overrides;
use crate::wiring;
use crate::Failure;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a new master key, make it the one that seals, and re-wrap every stored data
    /// key under it. Older keys stay in the key file so an interrupted run can be repeated.
    Rotate,
}

pub async fn run(file: Option<&Path>, command: KeysCommand) -> Result<(), Failure> {
    let KeysCommand::Rotate = command;
    let config = wiring::load_config(file, &Overrides::default())?;
    let (store, _) = wiring::open_store(&config).await?;
    let (keyring, _) = wiring::load_keys(&config, &store).await?;
    let old_id = keyring.active().id().to_owned();
    let new_key = MasterKey::generate();
    let new_id = new_key.id().to_owned();
    let new_b64 = new_key.to_base64();
    let rotated = keyring.with_new_active(new_key);

    let source = wiring::key_source(&config);
    if let KeySource::File(path) = &source {
        // The new key is on disk before any data depends on it.
        keyring::write_key_file(path, &rotated).map_err(|e| Failure::Runtime(e.to_string()))?;
    }
    let secrets = Secrets::new(store.clone(), Arc::new(SystemClock), rotated);
    let report = secrets
        .rewrap_all()
        .await
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    store.close().await;

    println!(
        "rotated master key {old_id} -> {new_id}; re-wrapped {} data key(s)",
        report.rewrapped
    );
    match source {
        KeySource::File(path) => println!("key file updated: {}", path.display()),
        KeySource::Env(_) => {
            println!("the master key comes from {MASTER_KEY_ENV}; set it to the new key:");
            println!("{MASTER_KEY_ENV}={}", new_b64.as_str());
        }
    }
    Ok(())
}
