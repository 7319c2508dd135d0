//! One file per subcommand.

pub mod audit;
pub mod config;
pub mod guard;
pub mod keys;
pub mod migrate;
pub mod serve;
pub mod sso;
