//! The sync runs a `serve` process makes: every `sync.interval_seconds`, and those
//! started through `POST /v1/sync/{ministry}`. They run on the process's main runtime
//! (not an HTTP worker's, which ends with the worker), and a shutdown stops them after
//! the page each is writing: their runs are closed as `interrupted`, not left `running`.

use std::sync::Arc;
use std::time::Duration;

use schema::Ministry;
use sync::{RunSummary, SyncEngine, SyncError};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::Error;

/// The process's sync engine and the tasks running it.
#[derive(Debug, Clone)]
pub struct Syncs {
    engine: Arc<SyncEngine>,
    runtime: tokio::runtime::Handle,
    tasks: TaskTracker,
    stopping: CancellationToken,
}

impl Syncs {
    /// Runs on the runtime of the caller (call it from the process's main runtime).
    pub fn new(engine: SyncEngine) -> Self {
        Self {
            engine: Arc::new(engine),
            runtime: tokio::runtime::Handle::current(),
            tasks: TaskTracker::new(),
            stopping: CancellationToken::new(),
        }
    }

    /// Syncs every configured ministry every `every` until stopped. Another replica
    /// syncing a source at the same moment makes this one skip it.
    pub fn spawn_periodic(&self, every: Duration) {
        let engine = Arc::clone(&self.engine);
        let stopping = self.stopping.clone();
        self.tasks.spawn_on(
            async move {
                let mut tick = tokio::time::interval(every);
                // A sync longer than the interval is followed by one `every` later, not
                // by a burst of the ticks it missed.
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        biased;
                        () = stopping.cancelled() => return,
                        _ = tick.tick() => {}
                    }
                    for (ministry, result) in engine.sync_all(false, &sync::Silent).await {
                        record(ministry, &result);
                    }
                }
            },
            &self.runtime,
        );
    }

    /// Starts a run of `ministry` in the background: [`Error::SourceNotConfigured`]
    /// when it has no source, [`Error::SyncInProgress`] when a process is syncing it.
    /// The lock is taken before this answers, so "started" means started: no other run
    /// can take the source in between.
    pub async fn start(&self, ministry: Ministry, full: bool) -> Result<(), Error> {
        let (answer, started) = tokio::sync::oneshot::channel();
        let engine = Arc::clone(&self.engine);
        // The lock's session must live on this runtime, as long as the run.
        self.tasks.spawn_on(
            async move {
                let run = match engine.start_run(ministry, full).await {
                    Ok(run) => run,
                    Err(e) => {
                        let _ = answer.send(Err(Error::from(e)));
                        return;
                    }
                };
                let _ = answer.send(Ok(()));
                record(ministry, &engine.run_locked(run, &sync::Silent).await);
            },
            &self.runtime,
        );
        started.await.unwrap_or_else(|_| {
            Err(Error::Io(std::io::Error::other(
                "the sync task ended before it answered",
            )))
        })
    }

    /// Stops the runs (each after the page it is writing) and waits until they ended.
    pub async fn shutdown(&self) {
        self.stop();
        self.tasks.close();
        self.tasks.wait().await;
    }

    /// Stops the runs without waiting (at a shutdown signal, while requests drain).
    pub fn stop(&self) {
        self.stopping.cancel();
        self.engine.stop();
    }
}

/// Logs a run's outcome and counts it (`sync_runs_total{ministry, outcome}`), so each
/// replica shows whether it ran a source or found another replica running it.
fn record(ministry: Ministry, result: &Result<RunSummary, SyncError>) {
    let outcome = match result {
        Ok(s) => {
            tracing::info!(%ministry, run = s.run_id, fetched = s.totals.fetched, updated = s.totals.updated,
                                not_yet_available = ?s.not_published, "synced");
            "succeeded"
        }
        Err(SyncError::Busy(_)) => {
            tracing::info!(%ministry, "another process is syncing this source; skipped");
            "busy"
        }
        Err(SyncError::Interrupted(_)) => {
            tracing::info!(%ministry, "sync stopped by the shutdown; resumes at the next run");
            "interrupted"
        }
        Err(SyncError::NotConfigured(_)) => return,
        Err(e) => {
            tracing::warn!(%ministry, error = %e, "sync failed");
            "failed"
        }
    };
    metrics::counter!("sync_runs_total", "ministry" => ministry.as_str(), "outcome" => outcome)
        .increment(1);
}
