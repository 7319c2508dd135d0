//! `switchboard`: the hub binary. Wiring only — parse the configuration, open the store,
//! build the `app`, start the `server` and the workers. Rules live in `app`.
//!
//! Depends on every hub crate; nothing depends on it.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line program reports to its terminal"
)]

mod commands;
mod config;
mod logging;
mod wiring;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of glibc's malloc: on a busy hub, glibc's allocator took about a fifth
/// of the process's CPU (docs/decisions.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Switchboard: a self-hosted AI operations hub.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about, long_about = None, arg_required_else_help = true)]
struct Cli {
    /// Configuration file (TOML). Default: none; see docs/configuration.md.
    #[arg(long, global = true, env = config::CONFIG_ENV, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the hub: web console, API and background workers.
    Serve(commands::serve::ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(commands::config::ConfigCommand),
    /// Manage the master keys that seal stored secrets.
    #[command(subcommand)]
    Keys(commands::keys::KeysCommand),
    /// Check the tamper-evident audit log.
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
    /// Single sign-on providers: list them, seal their client secrets.
    #[command(subcommand)]
    Sso(commands::sso::SsoCommand),
    /// Find or redact personal data, credentials and prompt injection in standard input.
    #[command(subcommand)]
    Guard(commands::guard::GuardCommand),
}

/// Why a command failed, and so which exit code it ends with.
#[derive(Debug)]
enum Failure {
    /// Bad configuration: exit code 2.
    Config(String),
    /// Anything else: exit code 1.
    Runtime(String),
}

impl From<config::ConfigError> for Failure {
    fn from(e: config::ConfigError) -> Self {
        Failure::Config(e.0)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => commands::serve::run(cli.config.as_deref(), args).await,
            Command::Migrate => commands::migrate::run(cli.config.as_deref()).await,
            Command::Config(command) => commands::config::run(cli.config.as_deref(), command),
            Command::Keys(command) => commands::keys::run(cli.config.as_deref(), command).await,
            Command::Guard(command) => commands::guard::run(command),
            Command::Audit(command) => commands::audit::run(cli.config.as_deref(), command).await,
            Command::Sso(command) => commands::sso::run(cli.config.as_deref(), command).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(message)) => {
            eprintln!("error: invalid configuration: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
