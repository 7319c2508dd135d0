//! HTTP tests of the real router on a random loopback port, on SQLite and (when
//! `TEST_DATABASE_URL` is set) PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed step fails the test"
)]

mod harness;

mod api_docs;
mod authz;
mod console;
mod documents;
mod errors;
mod fake_idp;
mod fleet;
mod gateway;
mod health;
mod identity;
mod layers;
mod mail;
mod runtime;
mod sso;
mod tools;
mod webhooks;
mod workspace;
