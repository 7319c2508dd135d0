//! Usage summaries for the console and `GET /api/v1/usage`: an organisation's calls grouped
//! by day, model or key (its admins), or every organisation's (platform operators).

use switchboard_domain::{Role, Timestamp};
use switchboard_store::{UsageGroup, UsageQuery, UsageRow};

use super::{Gateway, GatewayError};
use crate::identity::{IdentityError, Principal};

/// The longest period one summary covers.
pub const MAX_DAYS: i64 = 366;

/// How long a summary waits for this process's queued usage records to be stored, so a
/// call that already returned is counted (read-your-writes; the writer flushes every 50 ms).
const READ_YOUR_WRITES: std::time::Duration = std::time::Duration::from_secs(2);

fn check_period(from: Timestamp, to: Timestamp) -> Result<(), GatewayError> {
    if to <= from {
        return Err(GatewayError::invalid("to", "`to` must be after `from`."));
    }
    if (to - from).num_days() > MAX_DAYS {
        return Err(GatewayError::invalid(
            "from",
            format!("A summary covers at most {MAX_DAYS} days."),
        ));
    }
    Ok(())
}

impl Gateway {
    /// The current organisation's usage in `[from, to)`.
    pub async fn usage_summary(
        &self,
        principal: &Principal,
        from: Timestamp,
        to: Timestamp,
        group: UsageGroup,
    ) -> Result<Vec<UsageRow>, GatewayError> {
        let access = principal.tenant(Role::Admin)?;
        check_period(from, to)?;
        if group == UsageGroup::Org {
            return Err(GatewayError::invalid(
                "group_by",
                "Group by day, model or key.",
            ));
        }
        let query = UsageQuery {
            org: Some(access.org.id),
            from,
            to,
            group,
        };
        self.flush_usage(READ_YOUR_WRITES).await;
        Ok(self.inner.store.usage.summary(&query).await?)
    }

    /// Every organisation's usage in `[from, to)` (platform operators only).
    pub async fn platform_usage(
        &self,
        principal: &Principal,
        from: Timestamp,
        to: Timestamp,
        group: UsageGroup,
    ) -> Result<Vec<UsageRow>, GatewayError> {
        if !principal.is_operator() {
            return Err(IdentityError::Forbidden("Only platform operators may do this.").into());
        }
        check_period(from, to)?;
        let query = UsageQuery {
            org: None,
            from,
            to,
            group,
        };
        self.flush_usage(READ_YOUR_WRITES).await;
        Ok(self.inner.store.usage.summary(&query).await?)
    }

    /// Usage records still waiting to be written (0 once everything is stored).
    pub fn pending_usage(&self) -> u64 {
        self.inner.sink.pending()
    }

    /// Waits until every queued usage record is stored, or `limit` passes; returns whether
    /// the queue is empty.
    pub async fn flush_usage(&self, limit: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.pending_usage() > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        true
    }
}
