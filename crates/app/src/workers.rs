//! The worker supervisor: the one place background tasks are started, so that every task is
//! known, is told when to stop, and is waited for on shutdown (`clippy.toml` forbids
//! `tokio::spawn` elsewhere).

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Starts background workers and stops them together.
#[derive(Clone, Debug, Default)]
pub struct Supervisor {
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl Supervisor {
    pub fn new() -> Supervisor {
        Supervisor::default()
    }

    /// A token that is cancelled when shutdown begins; workers select on it.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Runs `work` until it finishes or shutdown begins. `work` receives the shutdown token so
    /// it can finish what it is doing (flush a batch, hand back a lease) before returning.
    pub fn spawn<F, Fut>(&self, name: &'static str, work: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let future = work(self.shutdown.clone());
        self.tasks.spawn(async move {
            tracing::debug!(worker = name, "worker started");
            future.await;
            tracing::debug!(worker = name, "worker stopped");
        });
    }

    /// Runs `tick` every `period` until shutdown.
    pub fn spawn_periodic<F, Fut>(&self, name: &'static str, period: Duration, mut tick: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.spawn(name, move |shutdown| async move {
            let mut interval = tokio::time::interval(period);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = interval.tick() => tick().await,
                }
            }
        });
    }

    /// Signals every worker to stop and waits up to `grace` for them. Returns whether all
    /// stopped in time.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.shutdown.cancel();
        self.tasks.close();
        tokio::time::timeout(grace, self.tasks.wait()).await.is_ok()
    }

    /// Number of workers still running.
    pub fn running(&self) -> usize {
        self.tasks.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn workers_finish_their_work_on_shutdown() {
        let supervisor = Supervisor::new();
        let flushed = Arc::new(AtomicUsize::new(0));
        let seen = flushed.clone();
        supervisor.spawn("flusher", move |shutdown| async move {
            shutdown.cancelled().await;
            // Work done after the signal still completes before shutdown returns.
            tokio::time::sleep(Duration::from_millis(20)).await;
            seen.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(supervisor.running(), 1);
        assert!(supervisor.shutdown(Duration::from_secs(5)).await);
        assert_eq!(flushed.load(Ordering::SeqCst), 1);
        assert_eq!(supervisor.running(), 0);
    }

    #[tokio::test]
    async fn periodic_workers_tick_until_shutdown() {
        let supervisor = Supervisor::new();
        let ticks = Arc::new(AtomicUsize::new(0));
        let counter = ticks.clone();
        supervisor.spawn_periodic("ticker", Duration::from_millis(5), move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(supervisor.shutdown(Duration::from_secs(5)).await);
        let after = ticks.load(Ordering::SeqCst);
        assert!(after >= 2, "ticked {after} times");
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(
            ticks.load(Ordering::SeqCst),
            after,
            "no ticks after shutdown"
        );
    }

    #[tokio::test]
    async fn shutdown_reports_workers_that_do_not_stop() {
        let supervisor = Supervisor::new();
        supervisor.spawn("stubborn", |_shutdown| async move {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        });
        assert!(!supervisor.shutdown(Duration::from_millis(20)).await);
    }
}
