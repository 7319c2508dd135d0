//! The runs worker, one in every hub process: it resumes runs whose approval request was
//! settled (approved and executed, failed, denied or expired) — the claim is a
//! compare-and-set, so exactly one process resumes each — and marks runs whose process
//! stopped showing life as failed, so none stays "running" forever.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::RuntimeError;
use crate::App;

/// How often the worker looks (it is also woken when an approval is settled here).
const TICK: Duration = Duration::from_millis(300);
/// A running run whose process has not saved it for this long is taken as interrupted.
const STALE: chrono::Duration = chrono::Duration::minutes(10);

impl App {
    /// One pass: claim settled waiting runs (returned to be driven) and fail stale ones.
    pub async fn claim_resumable_runs(
        &self,
    ) -> Result<Vec<switchboard_store::RunRecord>, RuntimeError> {
        let now = self.clock.now();
        for run in self
            .store
            .runs
            .fail_stale(now - STALE, "interrupted: the hub process stopped", now)
            .await?
        {
            let mut emitter = super::events::Emitter::new(self, run.org_id, run.id);
            emitter
                .emit(
                    "error",
                    serde_json::json!({"code": "interrupted",
                        "message": "The hub stopped while the assistant was working."}),
                )
                .await?;
            emitter
                .emit_stored(
                    "done",
                    serde_json::json!({"run_id": run.id.to_string(), "status": "failed"}),
                )
                .await?;
        }
        Ok(self.store.runs.claim_resumable(now, 20).await?)
    }

    /// Starts the runs worker under the supervisor.
    pub fn start_runtime(self: &Arc<App>) {
        let app = self.clone();
        self.workers
            .spawn("runs", move |shutdown: CancellationToken| async move {
                loop {
                    match app.claim_resumable_runs().await {
                        Ok(runs) => {
                            for run in runs {
                                app.start_run(run.org_id, run.id, None);
                            }
                        }
                        Err(e) => tracing::error!(error = %e, "resuming runs failed"),
                    }
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = app.runs_wake.notified() => {}
                        () = tokio::time::sleep(TICK) => {}
                    }
                }
            });
    }
}
