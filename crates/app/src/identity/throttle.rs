//! Throttling of guessable secrets: passwords per account and per client address, TOTP codes,
//! setup codes. Failed attempts are stored, so limits hold across restarts and instances.
//! The attempt after the limit is refused without checking the secret at all.

use chrono::Duration;

use super::{Identity, IdentityError};

/// A limit: at most `max_failures` failures of one key inside `window`.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub scope: &'static str,
    pub max_failures: u64,
    pub window: Duration,
}

/// Five wrong passwords (or codes) per account in 15 minutes.
pub const LOGIN_ACCOUNT: Limit = Limit {
    scope: "login-account",
    max_failures: 5,
    window: Duration::minutes(15),
};
/// Thirty failures per client address in 15 minutes (offices share one address).
pub const LOGIN_CLIENT: Limit = Limit {
    scope: "login-client",
    max_failures: 30,
    window: Duration::minutes(15),
};
/// Five wrong setup codes per client address in 15 minutes.
pub const SETUP_CLIENT: Limit = Limit {
    scope: "setup-client",
    max_failures: 5,
    window: Duration::minutes(15),
};

/// Sixty single sign-ons started and not finished per client address in 15 minutes (each
/// start stores a row; a finished sign-in clears the count).
pub const SSO_START_CLIENT: Limit = Limit {
    scope: "sso-start-client",
    max_failures: 60,
    window: Duration::minutes(15),
};

impl Identity {
    /// `Throttled` when `key` has used up its failures under `limit`.
    pub(crate) async fn check_limit(&self, limit: Limit, key: &str) -> Result<(), IdentityError> {
        let since = self.now() - limit.window;
        let failures = self
            .store
            .auth
            .failures_since(limit.scope, key, since)
            .await?;
        if failures >= limit.max_failures {
            return Err(IdentityError::Throttled {
                retry_after_secs: u64::try_from(limit.window.num_seconds()).unwrap_or(900),
            });
        }
        Ok(())
    }

    pub(crate) async fn note_failure(&self, limit: Limit, key: &str) -> Result<(), IdentityError> {
        self.store
            .auth
            .record_failure(limit.scope, key, self.now())
            .await?;
        Ok(())
    }

    /// Deletes failure records older than a day (run periodically).
    pub async fn purge_old_failures(&self) -> Result<u64, IdentityError> {
        Ok(self
            .store
            .auth
            .purge_failures(self.now() - Duration::days(1))
            .await?)
    }
}
