//! Recording access to personal data without slowing the read path.
//!
//! Handlers hand an entry to [`AuditSink`] (a bounded queue) and answer at once; one
//! writer task drains the queue in batches into the store's hash chain. A batch waits up
//! to `max_delay` for company after its first entry: every batch is a transaction with
//! its own commit (a WAL flush), and under load that flush, not the rows, was most of
//! the read path's database cost. A full queue makes handlers wait rather than drop an
//! entry; a failed write is retried until it succeeds; on shutdown the writer drains
//! what is queued at once, without waiting, before it exits.
//!
//! With a checkpoint key, the writer also anchors the chain: every `every` (when the
//! chain grew and no replica did so lately) and once more after the final drain, it
//! stores a checkpoint of the head signed with the key (see `store`'s audit module).
//! Without one it warns at start: a cut tail would then go unnoticed.

use std::time::Duration;

use store::{AuditEntry, CheckpointKey, Store};
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
    /// A sink whose queue the test reads itself, with no writer behind it.
    #[cfg(test)]
    pub(crate) fn for_tests(capacity: usize) -> (Self, mpsc::Receiver<AuditEntry>) {
        let (tx, rx) = mpsc::channel(capacity);
        (Self { tx }, rx)
    }

    pub async fn record(&self, entry: AuditEntry) {
        if self.tx.send(entry).await.is_err() {
            // Only after shutdown has closed the queue, when no request is in flight.
            tracing::error!("audit queue closed; entry not recorded");
        }
    }
}

/// How the writer groups entries into transactions.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    /// Entries the queue holds before handlers wait.
    pub capacity: usize,
    /// Most entries in one transaction.
    pub batch_size: usize,
    /// Longest a batch's first entry waits for others before the batch is written.
    pub max_delay: Duration,
}

/// How the writer anchors the chain.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    pub key: CheckpointKey,
    /// How often to checkpoint a chain that grew; zero: only at shutdown.
    pub every: Duration,
}

pub fn start(
    store: Store,
    batching: Batching,
    checkpoints: Option<Checkpoints>,
) -> (AuditSink, AuditWriter) {
    let (tx, rx) = mpsc::channel(batching.capacity.max(1));
    let (stop, stopped) = oneshot::channel();
    let batching = Batching {
        batch_size: batching.batch_size.max(1),
        ..batching
    };
    if checkpoints.is_none() {
        tracing::warn!(
            "audit.checkpoint_key is not set (GATEWAY__AUDIT__CHECKPOINT_KEY): the audit chain \
             gets no signed checkpoints, so deleting its newest entries would go unnoticed"
        );
    }
    let task = tokio::spawn(write_loop(store, rx, stopped, batching, checkpoints));
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
    batching: Batching,
    checkpoints: Option<Checkpoints>,
) -> u64 {
    let batch_size = batching.batch_size;
    let mut written = 0_u64;
    let mut batch = Vec::with_capacity(batch_size);
    let mut stopping = false;
    let mut tick = checkpoints
        .as_ref()
        .filter(|c| !c.every.is_zero())
        .map(|c| {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + c.every, c.every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick
        });
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
                () = next_tick(&mut tick) => {
                    if let Some(c) = &checkpoints {
                        // Another replica's checkpoint younger than half the interval
                        // will do: replicas then take about one per interval between them.
                        checkpoint(&store, &c.key, c.every / 2).await;
                    }
                    continue;
                }
            }
        };
        let Some(first) = first else { break };
        batch.push(first);
        take_queued(&mut rx, &mut batch, batch_size);
        if batch.len() < batch_size && !stopping && !batching.max_delay.is_zero() {
            // Sleep rather than wake for every entry; what queued meanwhile joins.
            tokio::select! {
                () = tokio::time::sleep(batching.max_delay) => {}
                _ = &mut stopped => {
                    stopping = true;
                    rx.close();
                }
            }
            take_queued(&mut rx, &mut batch, batch_size);
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
    if let Some(c) = &checkpoints {
        // The head after the final drain, so every entry this writer wrote is anchored.
        // A few tries only: shutdown must not hang on a database that is gone.
        for attempt in 1..=3 {
            if checkpoint(&store, &c.key, Duration::ZERO).await {
                break;
            }
            if attempt < 3 {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    written
}

/// Waits for the next tick, or forever without a ticker.
async fn next_tick(tick: &mut Option<tokio::time::Interval>) {
    match tick {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Checkpoints the chain's head; false if that failed (logged).
async fn checkpoint(store: &Store, key: &CheckpointKey, min_age: Duration) -> bool {
    match store.checkpoint_audit(key, min_age).await {
        Ok(Some(cp)) => {
            tracing::debug!(entry = cp.seq, hash = %cp.hash, "audit chain checkpointed");
            metrics::counter!("audit_checkpoints_written_total").increment(1);
            true
        }
        Ok(None) => true,
        Err(e) => {
            tracing::error!(error = %e, "audit checkpoint failed");
            false
        }
    }
}

fn take_queued(rx: &mut mpsc::Receiver<AuditEntry>, batch: &mut Vec<AuditEntry>, limit: usize) {
    while batch.len() < limit {
        match rx.try_recv() {
            Ok(e) => batch.push(e),
            Err(_) => break,
        }
    }
}
