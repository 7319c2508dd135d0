//! `switchboard-agent`: the small program that runs on a managed server, claims tasks from
//! the hub and runs only what its own local allowlist permits.
//!
//! Depends on `switchboard-protocol` only (no database, no templates), so it stays small.
//! Registration, the task loop and the executors arrive with the fleet capability.

use clap::Parser;

/// The Switchboard server agent. It runs allowlisted maintenance tasks for a Switchboard hub.
#[derive(Debug, Parser)]
#[command(name = "switchboard-agent", version, about, long_about = None, arg_required_else_help = true)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    let _identity = switchboard_protocol::AgentIdentity::current(env!("CARGO_PKG_VERSION"));
}
