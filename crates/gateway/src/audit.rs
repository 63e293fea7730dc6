//! Recording access to personal data without slowing the read path.
//!
//! Handlers hand an entry to [`AuditSink`] (a bounded queue) and answer at once; one
//! writer task drains the queue in batches into the store's hash chain. A full queue
//! makes handlers wait rather than drop an entry; a failed write is retried until it
//! succeeds; on shutdown the writer drains what is queued before it exits.

use std::time::Duration;

use store::{AuditEntry, Store};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

#[derive(Debug, Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<AuditEntry>,
}

/// The writer task; [`AuditWriter::shutdown`] drains the queue and waits for it.
#[derive(Debug)]
pub struct AuditWriter {
    stop: oneshot::Sender<()>,
    task: JoinHandle<u64>,
}

impl AuditSink {
    pub async fn record(&self, entry: AuditEntry) {
        if self.tx.send(entry).await.is_err() {
            // Only after shutdown has closed the queue, when no request is in flight.
            tracing::error!("audit queue closed; entry not recorded");
        }
    }
}

pub fn start(store: Store, capacity: usize, batch_size: usize) -> (AuditSink, AuditWriter) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(write_loop(store, rx, stopped, batch_size.max(1)));
    (AuditSink { tx }, AuditWriter { stop, task })
}

impl AuditWriter {
    /// Stops taking entries, writes every queued one, and returns how many the writer
    /// wrote in its life.
    pub async fn shutdown(self) -> u64 {
        let _ = self.stop.send(());
        self.task.await.unwrap_or(0)
    }
}

async fn write_loop(
    store: Store,
    mut rx: mpsc::Receiver<AuditEntry>,
    mut stopped: oneshot::Receiver<()>,
    batch_size: usize,
) -> u64 {
    let mut written = 0_u64;
    let mut batch = Vec::with_capacity(batch_size);
    let mut stopping = false;
    loop {
        let first = if stopping {
            rx.recv().await
        } else {
            tokio::select! {
                entry = rx.recv() => entry,
                _ = &mut stopped => {
                    // Refuse new entries but keep the queued ones, then drain them.
                    stopping = true;
                    rx.close();
                    rx.recv().await
                }
            }
        };
        let Some(first) = first else { break };
        batch.push(first);
        while batch.len() < batch_size {
            match rx.try_recv() {
                Ok(e) => batch.push(e),
                Err(_) => break,
            }
        }
        let mut backoff = Duration::from_millis(50);
        while let Err(e) = store.append_audit(&batch).await {
            tracing::error!(error = %e, entries = batch.len(), "audit write failed; retrying");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
        written += batch.len() as u64;
        metrics::counter!("audit_entries_written_total").increment(batch.len() as u64);
        batch.clear();
    }
    written
}
