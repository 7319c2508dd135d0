//! The Switchboard server agent as a library: its configuration (the local allowlist), the
//! executors, the hub client, the run loop and the state directory. The `switchboard-agent`
//! binary (`main.rs`) is its command line; the fuzz targets (`fuzz/`) drive the executors'
//! payload parsers through it.

pub mod config;
pub mod executors;
pub mod hub;
pub mod run;
pub mod state;
