//! Service tests against real databases (SQLite always; PostgreSQL when `TEST_DATABASE_URL`
//! is set).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed step fails the test"
)]

mod audit;
mod secrets;
