//! The machinery around a page's transaction: the writes that go beside it, each on
//! a task and a connection of its own, and the clock that times the page's steps.

use store::{SideWriter, Store, StoreError};

use crate::SyncError;

/// Times the steps of one page's write, for `sync::timing=debug` logs: where a
/// page's time goes is the first question when a sync is slow.
pub(super) struct StepClock {
    last: std::time::Instant,
    pub(super) laps: Vec<(&'static str, u128)>,
}

impl StepClock {
    pub(super) fn start() -> Self {
        Self {
            last: std::time::Instant::now(),
            laps: Vec::new(),
        }
    }
    pub(super) fn lap(&mut self, step: &'static str) {
        let now = std::time::Instant::now();
        self.laps.push((step, (now - self.last).as_micros()));
        self.last = now;
    }
}

/// Writes that need no record version and are safe to land before the page does (raw
/// records, source reports and identifiers, keyed by source id: written again if the
/// page is): each on a task and a connection of its own, so neither their client-side
/// work (serialising JSON) nor their statements hold up the page's transaction.
pub(super) struct Beside {
    store: Store,
    tasks: Vec<tokio::task::JoinHandle<Result<(), StoreError>>>,
}

impl Beside {
    pub(super) fn new(store: &Store) -> Self {
        Self {
            store: store.clone(),
            tasks: Vec::new(),
        }
    }

    pub(super) fn spawn<F>(&mut self, write: impl FnOnce(SideWriter) -> F + Send + 'static)
    where
        F: std::future::Future<Output = Result<(), StoreError>> + Send + 'static,
    {
        let store = self.store.clone();
        self.tasks.push(tokio::spawn(async move {
            write(store.side_writer().await?).await
        }));
    }

    pub(super) async fn finish(self) -> Result<(), SyncError> {
        let mut outcome = Ok(());
        for task in self.tasks {
            let done = match task.await {
                Ok(done) => done.map_err(SyncError::from),
                Err(e) => Err(SyncError::Task(e.to_string())),
            };
            if outcome.is_ok() {
                outcome = done;
            }
        }
        outcome
    }
}
