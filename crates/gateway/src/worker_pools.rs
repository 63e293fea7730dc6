//! The HTTP workers' connection pools: one each, a share of `database.pool_size`
//! (a connection's I/O runs on the runtime that opened it, and a pool shared by the
//! single-threaded workers made queries wait for another thread to be woken), and
//! their figures summed for `/metrics`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use store::{PoolStatus, Store};

/// The pools of the HTTP workers, one each (see [`Store::another_pool`]), and their
/// figures together for the metrics endpoint.
#[derive(Debug, Clone)]
pub(crate) struct WorkerPools {
    shared: Store,
    per_worker: usize,
    workers: usize,
    opened: Arc<Mutex<VecDeque<Store>>>,
}

impl WorkerPools {
    pub(crate) fn new(shared: Store, workers: usize, pool_size: usize) -> Self {
        Self {
            shared,
            per_worker: pool_size.div_ceil(workers.max(1)).max(1),
            workers: workers.max(1),
            opened: Arc::default(),
        }
    }

    /// A pool for the worker calling it (a worker's app factory).
    pub(crate) fn open(&self) -> Store {
        let store = self
            .shared
            .another_pool(self.per_worker)
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "no pool of its own for an HTTP worker; it shares one");
                self.shared.clone()
            });
        let mut opened = self.opened.lock().unwrap_or_else(PoisonError::into_inner);
        opened.push_back(store.clone());
        // A restarted worker opens a new pool; the dead worker's is forgotten.
        while opened.len() > self.workers {
            opened.pop_front();
        }
        store
    }

    /// The workers' pools summed.
    pub(crate) fn status(&self) -> PoolStatus {
        let opened = self.opened.lock().unwrap_or_else(PoisonError::into_inner);
        opened
            .iter()
            .map(Store::pool_status)
            .fold(PoolStatus::default(), |sum, s| PoolStatus {
                max_size: sum.max_size + s.max_size,
                size: sum.size + s.size,
                available: sum.available + s.available,
                waiting: sum.waiting + s.waiting,
            })
    }
}
