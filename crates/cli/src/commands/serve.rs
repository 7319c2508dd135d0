//! `switchboard serve`: open the store, load the keys, start the HTTP server and the workers,
//! and shut everything down cleanly on SIGINT or SIGTERM.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use switchboard_app::secrets::KeyringOrigin;
use switchboard_server::ServerOptions;

use crate::config::Overrides;
use crate::{logging, wiring, Failure};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [env: SWITCHBOARD_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Directory for the SQLite database and the master key file
    /// [env: SWITCHBOARD_DATA_DIR] [default: ./data]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

pub async fn run(file: Option<&Path>, args: ServeArgs) -> Result<(), Failure> {
    let overrides = Overrides {
        listen: args.listen,
        data_dir: args.data_dir,
    };
    let config = wiring::load_config(file, &overrides)?;
    logging::init(&config.log);

    let shutdown = shutdown_signal()?;
    let (store, report) = wiring::open_store(&config).await?;
    if !report.applied.is_empty() {
        tracing::info!(applied = report.applied.len(), "database migrated");
    }
    let (keyring, origin) = wiring::load_keys(&config, &store).await?;
    if origin == KeyringOrigin::Created {
        tracing::warn!(
            path = %config.master_key_file().display(),
            "created a new master key file; back it up: sealed data cannot be read without it"
        );
    }
    let app = wiring::build_app(&config, store.clone(), keyring)?;
    start_workers(&app);

    let options = ServerOptions {
        body_limit_bytes: config.http.body_limit_bytes,
        request_timeout: Duration::from_secs(config.http.request_timeout_secs),
        tls: config.tls(),
        public_url: config.public_url.clone(),
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| Failure::Runtime(format!("cannot listen on {}: {e}", config.listen)))?;
    let router = switchboard_server::router(app.clone(), options);
    let console = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.listen));
    tracing::info!(
        database = store.backend.name(),
        console = %console,
        "switchboard {} starting",
        app.version
    );
    announce_setup(&app, &console).await?;
    // Requests waiting for something to happen answer as soon as the signal comes; the
    // others get the grace period to finish, then the workers get it again.
    let grace = Duration::from_secs(config.http.shutdown_grace_secs);
    let stopping = app.clone();
    let shutdown = async move {
        shutdown.await;
        stopping.begin_stop();
    };
    switchboard_server::serve(listener, router, shutdown, grace)
        .await
        .map_err(|e| Failure::Runtime(format!("server error: {e}")))?;

    tracing::info!("shutting down: waiting for background workers");
    if !app.workers.shutdown(grace).await {
        tracing::warn!("some workers did not stop within {} s", grace.as_secs());
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// While no organisation exists, stores a one-time setup code and prints it next to the
/// console URL (or says that `SWITCHBOARD_SETUP_CODE` set it).
async fn announce_setup(app: &switchboard_app::App, console: &str) -> Result<(), Failure> {
    use switchboard_app::identity::setup::SetupState;
    let given = std::env::var(crate::config::SETUP_CODE_ENV).ok();
    let state = app
        .identity
        .prepare_setup(given.as_deref())
        .await
        .map_err(|e| Failure::Runtime(format!("cannot prepare first-boot setup: {e}")))?;
    let url = format!("{}/setup", console.trim_end_matches('/'));
    match state {
        SetupState::Done => {}
        SetupState::Open { code: Some(code) } => tracing::warn!(
            setup_url = %url,
            setup_code = %code,
            "first-boot setup: open {url} and enter the setup code {code}"
        ),
        SetupState::Open { code: None } => tracing::warn!(
            setup_url = %url,
            "first-boot setup: open {url} and enter the code from {}",
            crate::config::SETUP_CODE_ENV
        ),
    }
    Ok(())
}

fn start_workers(app: &std::sync::Arc<switchboard_app::App>) {
    app.start_accounting();
    app.start_approvals();
    app.start_fleet();
    app.start_runtime();
    app.start_notifications();
    let identity = app.identity.clone();
    app.workers
        .spawn_periodic("identity-upkeep", Duration::from_secs(3600), move || {
            let identity = identity.clone();
            async move {
                if let Err(e) = identity.purge_sessions().await {
                    tracing::warn!(error = %e, "could not purge ended sessions");
                }
                if let Err(e) = identity.purge_old_failures().await {
                    tracing::warn!(error = %e, "could not purge old sign-in failures");
                }
                if let Err(e) = identity.purge_sso_logins().await {
                    tracing::warn!(error = %e, "could not purge abandoned single sign-ons");
                }
                let retention = switchboard_app::identity::orgs::DELETED_RETENTION_DAYS;
                if let Err(e) = identity.purge_deleted_orgs(retention).await {
                    tracing::warn!(error = %e, "could not purge deleted organisations");
                }
            }
        });
    // Histograms are drained into the exporter periodically, so memory stays bounded between
    // scrapes.
    app.workers
        .spawn_periodic("metrics-upkeep", Duration::from_secs(5), || async {
            if let Some(handle) = switchboard_server::middleware::metrics::handle() {
                handle.run_upkeep();
            }
        });
}

/// Registers SIGINT and SIGTERM handlers now (so a signal that arrives right after the
/// "listening on" line is not fatal) and returns a future that resolves on either.
#[cfg(unix)]
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, Failure> {
    use tokio::signal::unix::{signal, SignalKind};
    let register = |kind: SignalKind| {
        signal(kind).map_err(|e| Failure::Runtime(format!("cannot install signal handler: {e}")))
    };
    let mut interrupt = register(SignalKind::interrupt())?;
    let mut terminate = register(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("received SIGINT"),
            _ = terminate.recv() => tracing::info!("received SIGTERM"),
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, Failure> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("received Ctrl-C");
    })
}
