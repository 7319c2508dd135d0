//! Building the application from the configuration: load it, open and migrate the store,
//! load the master keys. Shared by the subcommands.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use switchboard_app::secrets::{self, KeySource, Keyring, KeyringOrigin};
use switchboard_app::App;
use switchboard_domain::SystemClock;
use switchboard_store::{ConnectOptions, MigrationReport, Store};
use zeroize::Zeroizing;

use crate::config::{self, Config, Overrides};
use crate::Failure;

pub fn load_config(file: Option<&Path>, overrides: &Overrides) -> Result<Config, Failure> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    Ok(config::load(file, &env, overrides)?)
}

/// Opens the database (creating the data directory for SQLite) and applies migrations.
pub async fn open_store(config: &Config) -> Result<(Store, MigrationReport), Failure> {
    let url = config.database_url();
    if url.starts_with("sqlite:") {
        create_data_dir(&config.data_dir)?;
    }
    let options = ConnectOptions {
        url,
        max_connections: config.database.max_connections,
        connect_timeout: Duration::from_secs(config.database.connect_timeout_secs),
    };
    let store = Store::connect(&options)
        .await
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    let report = store
        .migrate()
        .await
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    Ok((store, report))
}

pub fn key_source(config: &Config) -> KeySource {
    match &config.secrets.master_key {
        Some(value) => KeySource::Env(Zeroizing::new(value.clone())),
        None => KeySource::File(config.master_key_file()),
    }
}

pub async fn load_keys(
    config: &Config,
    store: &Store,
) -> Result<(Keyring, KeyringOrigin), Failure> {
    if let KeySource::File(path) = key_source(config) {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_data_dir(parent)?;
        }
    }
    secrets::load_keyring(&key_source(config), store)
        .await
        .map_err(|e| Failure::Runtime(e.to_string()))
}

/// The application, with the single sign-on providers and outgoing mail of the
/// configuration.
pub fn build_app(config: &Config, store: Store, keyring: Keyring) -> Result<Arc<App>, Failure> {
    let providers = config.sso_providers()?;
    let mut app = App::new(store, Arc::new(SystemClock), keyring)
        .with_sso(providers)
        .map_err(|e| Failure::Config(e.to_string()))?;
    let catalog = config.llm_catalog(&|name| std::env::var(name).ok())?;
    app = app.with_llm(
        catalog,
        switchboard_app::gateway::GatewayOptions {
            org_providers_allow_private: config.llm.org_providers_allow_private,
        },
    );
    app = app.with_webhook_allow_hosts(config.notify.webhook_allow_hosts.clone());
    let ttl = i64::try_from(config.approvals.ttl_secs).unwrap_or(i64::MAX);
    app = app.with_document_max_bytes(config.documents.max_upload_bytes);
    app = app.with_fleet_timing(
        i64::try_from(config.fleet.offline_after_secs).unwrap_or(i64::MAX),
        i64::try_from(config.fleet.lease_secs).unwrap_or(i64::MAX),
    );
    app = app.with_approval_ttl(switchboard_app::tools::approvals::ttl_seconds(ttl));
    if let (Some(smtp), Some(public_url)) = (config.smtp_settings()?, &config.public_url) {
        app = app.with_mail(switchboard_app::identity::OutgoingMail {
            mailer: switchboard_app::mail::Mailer::new(smtp),
            public_url: public_url.clone(),
        });
    }
    Ok(Arc::new(app))
}

/// Creates the data directory, readable by the owner only.
fn create_data_dir(dir: &Path) -> Result<(), Failure> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| {
        Failure::Runtime(format!(
            "cannot create the data directory {}: {e}",
            dir.display()
        ))
    })
}
