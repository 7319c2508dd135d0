//! `switchboard-agent`: the small program that runs on a managed server, claims tasks from
//! the hub and runs only what its own local allowlist permits.
//!
//! Depends on `switchboard-protocol` and a few small crates (no database, no templates, no
//! async runtime), so it stays small: `register` exchanges a registration token for the
//! agent's credentials (kept mode 0600 in the state directory); `run` heartbeats, claims,
//! runs and reports.

use switchboard_agent::{hub, run, state};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use switchboard_protocol::{AgentIdentity, RegisterRequest};

/// The Switchboard server agent. It runs allowlisted maintenance tasks for a Switchboard hub.
#[derive(Debug, Parser)]
#[command(name = "switchboard-agent", version, about, long_about = None, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Enrols this server with a hub using a registration token.
    Register {
        /// The hub's URL, e.g. https://hub.example.com
        #[arg(long)]
        hub: String,
        /// A registration token from the hub's console (Fleet) or API.
        #[arg(long)]
        token: String,
        /// Where the agent keeps its credentials (created, mode 0600 files).
        #[arg(long)]
        state_dir: PathBuf,
        /// The agent's name (default: the host name).
        #[arg(long)]
        name: Option<String>,
        /// Labels that tasks can target, `key=value`; repeat for more.
        #[arg(long = "label")]
        labels: Vec<String>,
    },
    /// Runs tasks from the hub with the executors the config file enables.
    Run {
        #[arg(long)]
        state_dir: PathBuf,
        /// The TOML file that enables executors and sets their allowlists.
        #[arg(long)]
        config: PathBuf,
    },
}

fn say(line: &str) {
    #[allow(
        clippy::print_stderr,
        reason = "the command's answer for the person running it"
    )]
    {
        eprintln!("{line}");
    }
}

fn register(
    hub: &str,
    token: &str,
    state_dir: &std::path::Path,
    name: Option<String>,
    labels: &[String],
) -> Result<(), String> {
    let mut parsed = BTreeMap::new();
    for pair in labels {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("`{pair}`: labels are key=value"))?;
        parsed.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    let host = if host.is_empty() {
        "unknown".to_owned()
    } else {
        host
    };
    let request = RegisterRequest {
        token: token.to_owned(),
        name: name.unwrap_or_else(|| host.clone()),
        host,
        labels: parsed,
        identity: AgentIdentity::current(env!("CARGO_PKG_VERSION")),
    };
    let registered = hub::register(hub, &request).map_err(|e| e.to_string())?;
    let state = state::State {
        hub: hub.trim_end_matches('/').to_owned(),
        agent_id: registered.agent_id.clone(),
        secret: registered.secret,
        organization: registered.organization.clone(),
    };
    state.save(state_dir)?;
    say(&format!(
        "registered as agent {} of {}; credentials in {}",
        registered.agent_id,
        registered.organization,
        state_dir.join("agent.json").display()
    ));
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let done = match cli.command {
        Command::Register {
            hub,
            token,
            state_dir,
            name,
            labels,
        } => register(&hub, &token, &state_dir, name, &labels),
        Command::Run { state_dir, config } => run::run(&state_dir, &config),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(&format!("switchboard-agent: {e}"));
            ExitCode::FAILURE
        }
    }
}
