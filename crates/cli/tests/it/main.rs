//! Tests of the `switchboard` binary as an operator uses it: real processes, real databases
//! (SQLite always; PostgreSQL when `TEST_DATABASE_URL` is set), real signals.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed step fails the test"
)]

mod hub;
mod identity;

mod audit;
mod config;
mod guard;
mod keys;
mod migrate;
mod runtime;
mod serve;
