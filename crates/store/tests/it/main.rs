//! Repository tests. Every test runs on SQLite and, when `TEST_DATABASE_URL` is set, on
//! PostgreSQL, each in a fresh database (see `switchboard_store::testing`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed step fails the test"
)]

mod documents;
mod fleet;
mod gateway;
mod identity;
mod maintenance;
mod memberships;
mod memory;
mod orgs;
mod projects;
mod runtime;
mod secrets;
mod users;
mod workspace;

use chrono::{TimeZone, Utc};
use switchboard_domain::{Clock, ManualClock, Timestamp};

/// A fixed clock so records compare equal after a round trip.
pub fn clock() -> ManualClock {
    ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 14, 15, 9, 26).unwrap())
}

pub fn at(clock: &ManualClock) -> Timestamp {
    clock.now()
}
