//! `switchboard sso`: list the configured single sign-on providers and seal their client
//! secrets in the vault.

use std::io::Read as _;
use std::path::Path;

use clap::Subcommand;
use zeroize::Zeroizing;

use crate::config::Overrides;
use crate::{wiring, Failure};

#[derive(Debug, Subcommand)]
pub enum SsoCommand {
    /// List the providers of the configuration and whether their client secret is set.
    List,
    /// Seal a provider's client secret in the vault, read from standard input
    /// (e.g. `printf %s "$SECRET" | switchboard sso set-secret authentik`).
    SetSecret {
        /// The provider's `id` in `[[sso.providers]]`.
        provider: String,
    },
}

pub async fn run(file: Option<&Path>, command: SsoCommand) -> Result<(), Failure> {
    let config = wiring::load_config(file, &Overrides::default())?;
    let (store, _) = wiring::open_store(&config).await?;
    let (keyring, _) = wiring::load_keys(&config, &store).await?;
    let app = wiring::build_app(&config, store.clone(), keyring)?;
    let result = match command {
        SsoCommand::List => list(&app).await,
        SsoCommand::SetSecret { provider } => set_secret(&app, &provider).await,
    };
    store.close().await;
    result
}

async fn list(app: &switchboard_app::App) -> Result<(), Failure> {
    let buttons = app.identity.sso_buttons();
    if buttons.is_empty() {
        println!("no single sign-on providers configured (see docs/identity.md)");
    }
    for button in buttons {
        let secret = app
            .identity
            .sso_secret_is_set(&button.id)
            .await
            .map_err(|e| Failure::Runtime(e.to_string()))?;
        let secret = if secret {
            "client secret set"
        } else {
            "no client secret (public client)"
        };
        println!("{}\t{}\t{secret}", button.id, button.name);
    }
    Ok(())
}

async fn set_secret(app: &switchboard_app::App, provider: &str) -> Result<(), Failure> {
    let mut secret = Zeroizing::new(String::new());
    std::io::stdin().read_to_string(&mut secret).map_err(|e| {
        Failure::Runtime(format!("cannot read the secret from standard input: {e}"))
    })?;
    app.identity
        .set_sso_client_secret(provider, &secret)
        .await
        .map_err(|e| match e {
            switchboard_app::identity::IdentityError::NotFound => Failure::Runtime(format!(
                "no provider `{provider}` in the configuration's [[sso.providers]]"
            )),
            other => Failure::Runtime(other.to_string()),
        })?;
    println!("sealed the client secret of `{provider}`");
    Ok(())
}
