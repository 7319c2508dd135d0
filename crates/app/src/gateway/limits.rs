//! Per-key limits, kept in memory on the hot path:
//!
//! - requests per minute: a token bucket holding `rpm` requests, refilled at `rpm / 60` per
//!   second, so a burst of `rpm` passes and the next one waits (`Retry-After` says how long);
//! - tokens per minute: a bucket of `tpm` tokens; a call is let in while the bucket is
//!   positive and its real token count is taken out when it ends (so one large call may
//!   overdraw it, and later calls wait until it refills);
//! - monthly budget: the key's spend this calendar month (UTC), read from the usage records
//!   at most every [`SPEND_REFRESH`] and increased by every call's cost as it finishes.
//!
//! Limits are per hub process; replicas behind a load balancer each apply them (see
//! `docs/gateway.md`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{Datelike, TimeZone, Utc};
use switchboard_domain::{GatewayKeyId, Timestamp};
use switchboard_store::GatewayKeyRecord;

use super::GatewayError;

/// How often a key's monthly spend is read again from the database.
pub const SPEND_REFRESH: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug)]
struct Bucket {
    level: f64,
    at: Instant,
}

impl Bucket {
    fn full(capacity: f64, now: Instant) -> Bucket {
        Bucket {
            level: capacity,
            at: now,
        }
    }

    fn refill(&mut self, capacity: f64, now: Instant) {
        let per_sec = capacity / 60.0;
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.level = (self.level + elapsed * per_sec).min(capacity);
        self.at = now;
    }

    /// Seconds until the level reaches `needed` (at least one).
    fn wait_secs(&self, capacity: f64, needed: f64) -> u64 {
        let per_sec = capacity / 60.0;
        (((needed - self.level) / per_sec).ceil() as u64).max(1)
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct KeyBuckets {
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
}

#[derive(Clone, Copy, Debug)]
struct Spend {
    month: Timestamp,
    usd: f64,
    read_at: Instant,
}

#[derive(Default)]
pub(super) struct Limits {
    buckets: Mutex<HashMap<GatewayKeyId, KeyBuckets>>,
    spend: Mutex<HashMap<GatewayKeyId, Spend>>,
}

/// The first instant of the calendar month (UTC) that `now` is in.
pub fn month_start(now: Timestamp) -> Timestamp {
    Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
}

impl Limits {
    /// Takes one request from the key's per-minute allowance, and checks its token
    /// allowance is not used up.
    pub(super) fn admit(&self, key: &GatewayKeyRecord, now: Instant) -> Result<(), GatewayError> {
        if key.rpm.is_none() && key.tpm.is_none() {
            return Ok(());
        }
        let mut all = self
            .buckets
            .lock()
            .map_err(|_| GatewayError::Internal("limits lock poisoned".into()))?;
        let entry = all.entry(key.id).or_default();
        if let Some(tpm) = key.tpm {
            let capacity = tpm as f64;
            let bucket = entry
                .tokens
                .get_or_insert_with(|| Bucket::full(capacity, now));
            bucket.refill(capacity, now);
            if bucket.level < 1.0 {
                return Err(GatewayError::RateLimited {
                    what: "tokens",
                    retry_after_secs: bucket.wait_secs(capacity, 1.0),
                });
            }
        }
        if let Some(rpm) = key.rpm {
            let capacity = f64::from(rpm);
            let bucket = entry
                .requests
                .get_or_insert_with(|| Bucket::full(capacity, now));
            bucket.refill(capacity, now);
            if bucket.level < 1.0 {
                return Err(GatewayError::RateLimited {
                    what: "requests",
                    retry_after_secs: bucket.wait_secs(capacity, 1.0),
                });
            }
            bucket.level -= 1.0;
        }
        Ok(())
    }

    /// Takes a finished call's tokens out of the key's per-minute token allowance.
    pub(super) fn charge_tokens(&self, key: &GatewayKeyRecord, tokens: u64, now: Instant) {
        let Some(tpm) = key.tpm else { return };
        if let Ok(mut all) = self.buckets.lock() {
            let capacity = tpm as f64;
            let entry = all.entry(key.id).or_default();
            let bucket = entry
                .tokens
                .get_or_insert_with(|| Bucket::full(capacity, now));
            bucket.refill(capacity, now);
            bucket.level -= tokens as f64;
        }
    }

    /// The key's known spend this month. When it is due to be read again, the first caller
    /// gets `None` (and reads the database) while the others keep the known value meanwhile.
    pub(super) fn cached_spend(&self, key: GatewayKeyId, month: Timestamp) -> Option<f64> {
        let mut all = self.spend.lock().ok()?;
        let spend = all.get_mut(&key)?;
        if spend.month != month {
            return None;
        }
        if spend.read_at.elapsed() >= SPEND_REFRESH {
            spend.read_at = Instant::now();
            return None;
        }
        Some(spend.usd)
    }

    /// Stores the spend just read from the database.
    pub(super) fn set_spend(&self, key: GatewayKeyId, month: Timestamp, usd: f64) {
        if let Ok(mut all) = self.spend.lock() {
            all.insert(
                key,
                Spend {
                    month,
                    usd,
                    read_at: Instant::now(),
                },
            );
        }
    }

    /// Adds a finished call's cost to the key's spend this month.
    pub(super) fn add_spend(&self, key: GatewayKeyId, month: Timestamp, usd: f64) {
        if let Ok(mut all) = self.spend.lock() {
            if let Some(spend) = all.get_mut(&key) {
                if spend.month == month {
                    spend.usd += usd;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_domain::{Clock, ManualClock, OrgId};

    fn key(rpm: Option<u32>, tpm: Option<u64>) -> GatewayKeyRecord {
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 5, 17, 12, 0, 0).unwrap());
        GatewayKeyRecord {
            id: GatewayKeyId::generate(&clock),
            org_id: OrgId::generate(&clock),
            user_id: None,
            name: "k".into(),
            prefix: "sbk_".into(),
            key_hash: vec![],
            models: vec![],
            rpm,
            tpm,
            monthly_budget_usd: None,
            cache_ttl_secs: None,
            created_by: None,
            created_at: clock.now(),
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn the_request_after_rpm_waits_and_refills_over_time() {
        let limits = Limits::default();
        let k = key(Some(3), None);
        let t0 = Instant::now();
        for _ in 0..3 {
            limits.admit(&k, t0).unwrap();
        }
        match limits.admit(&k, t0) {
            Err(GatewayError::RateLimited {
                what: "requests",
                retry_after_secs,
            }) => assert_eq!(retry_after_secs, 20, "one request per 20 s at 3 rpm"),
            other => panic!("expected rate_limited, got {other:?}"),
        }
        assert!(limits.admit(&k, t0 + Duration::from_secs(20)).is_ok());
        assert!(limits.admit(&k, t0 + Duration::from_secs(21)).is_err());
        // Another key has its own allowance; a key without limits is never limited.
        assert!(limits.admit(&key(Some(3), None), t0).is_ok());
        for _ in 0..100 {
            assert!(limits.admit(&key(None, None), t0).is_ok());
        }
    }

    #[test]
    fn token_limits_apply_after_a_call_used_them() {
        let limits = Limits::default();
        let k = key(None, Some(600));
        let t0 = Instant::now();
        limits.admit(&k, t0).unwrap();
        limits.charge_tokens(&k, 900, t0);
        match limits.admit(&k, t0) {
            Err(GatewayError::RateLimited {
                what: "tokens",
                retry_after_secs,
            }) => {
                assert_eq!(
                    retry_after_secs, 31,
                    "300 tokens of debt + 1 at 10 tokens/s"
                );
            }
            other => panic!("expected rate_limited, got {other:?}"),
        }
        assert!(limits.admit(&k, t0 + Duration::from_secs(31)).is_ok());
    }

    #[test]
    fn spend_is_per_month_and_grows_with_calls() {
        let limits = Limits::default();
        let k = key(None, None);
        let may = month_start(Utc.with_ymd_and_hms(2026, 5, 17, 12, 0, 0).unwrap());
        assert_eq!(may, Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap());
        assert_eq!(limits.cached_spend(k.id, may), None);
        limits.set_spend(k.id, may, 1.5);
        limits.add_spend(k.id, may, 0.25);
        assert_eq!(limits.cached_spend(k.id, may), Some(1.75));
        let june = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        assert_eq!(
            limits.cached_spend(k.id, june),
            None,
            "a new month reads again"
        );
    }
}
