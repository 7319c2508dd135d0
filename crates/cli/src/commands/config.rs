//! `switchboard config check` and `switchboard config show`.

use std::path::Path;

use clap::Subcommand;

use crate::config::Overrides;
use crate::wiring;
use crate::Failure;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration (file, environment) and exit: 0 when valid, 2 when not.
    Check,
    /// Print the effective configuration as TOML, with secrets masked.
    Show,
}

pub fn run(file: Option<&Path>, command: ConfigCommand) -> Result<(), Failure> {
    let config = wiring::load_config(file, &Overrides::default())?;
    match command {
        ConfigCommand::Check => println!("configuration is valid"),
        ConfigCommand::Show => print!("{}", config.to_masked_toml()),
    }
    Ok(())
}
