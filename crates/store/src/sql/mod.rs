//! SQL that reads the same on SQLite and PostgreSQL (`$n` placeholders, `ON CONFLICT`,
//! `RETURNING`). Each file defines a macro that implements one repository trait for a backend
//! type; `sqlite/` and `postgres/` instantiate it. The backend type provides `writer()` and
//! `reader()` pools (one pool on PostgreSQL; a single writer and several readers on SQLite).
//!
//! Rows are decoded into `*Row` structs here and converted to the domain records, so a value
//! the database cannot turn back into a domain value surfaces as `StoreError::Corrupt`.

pub(crate) mod agents;
pub(crate) mod api_keys;
pub(crate) mod approvals;
pub(crate) mod audit;
pub(crate) mod auth_state;
pub(crate) mod conversations;
pub(crate) mod documents;
pub(crate) mod fleet;
pub(crate) mod gateway;
pub(crate) mod invites;
pub(crate) mod memberships;
pub(crate) mod memory;
pub(crate) mod orgs;
pub(crate) mod projects;
pub(crate) mod runs;
pub(crate) mod secrets;
pub(crate) mod sessions;
pub(crate) mod tools;
pub(crate) mod users;
pub(crate) mod webhooks;
pub(crate) mod workspace;

use crate::StoreError;

/// Converts a `COUNT(*)` result, which is never negative.
pub(crate) fn count(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative count {n}")))
}

/// `Ok` when an update touched its row, [`StoreError::NotFound`] when there was none.
pub(crate) fn one_row(affected: u64) -> Result<(), StoreError> {
    if affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
